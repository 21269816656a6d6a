"""Pattern builders, bound as ``krp`` (every builder is also ``kr.<name>``).

A pattern says what happens when, in cycles (one cycle = one bar). It is built
here as an immutable tree and sent to the engine as JSON, the *pattern IR*
(docs/pattern-ir.md). The engine alone gives a pattern its meaning: it
parses mini-notation, resolves note names, and answers "which events fall in
this span?". Nothing in this module computes an event.

    kr.hit() * 4                        # four gate hits per cycle
    (kr.rest() + kr.hit()) * 4          # off-beats: [~ x] four times
    kr.seq("A2", "D3", None, "E2").over(2)
    kr.sine(200, 2000).over(4)          # a continuous sweep for a control
    kr.p("x . x x").every(4, lambda p: p.fast(2))

Builders: `hit`, `note`, `seq`, `rest`, `p` (mini-notation), the continuous
shapes `sine tri ramp ramp_down square exp rand`, the combinators `cat`,
`stack`, `struct`, and `from_ir` (a pattern given as IR data, as
``kr.export`` writes one it has no expression for). Operators: ``a + b`` (one after the other, equal shares of
the cycle; ``a + b + c`` gives thirds), ``a | b`` (layered), ``p * n`` and
``n * p`` (n times in the cycle). Methods: `Pattern.over`, `fast`, `slow`,
`shift`, `reverse`, `every`, `spread`, `thin`, `mask`, `sometimes`, `swing`.
A plain string where a pattern is expected is mini-notation; ``None`` in a
sequence is a rest.

Times (factors, shifts, spans) are exact: give ints, `fractions.Fraction`,
strings such as ``"1/3"``, or floats. A float is sent as it is when its exact
value is a fraction with a power-of-two denominator of at most 2**20 (``0.25``);
any other float becomes the nearest fraction with a denominator of at most
1 000 000 (``0.1`` is sent as ``"1/10"``).

To look at a pattern, `Pattern.events` and `Pattern.show` ask an engine
(`kr.events` and `kr.show` do the same through a given session); see
`use_session`.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import numbers
import re
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, Union

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "BUILDERS",
    "Pattern",
    "cat",
    "current_session",
    "exp",
    "from_ir",
    "hit",
    "note",
    "p",
    "ramp",
    "ramp_down",
    "rand",
    "rest",
    "seq",
    "sine",
    "square",
    "stack",
    "struct",
    "time_json",
    "tri",
    "use_session",
    "wire_fields",
]

IR = dict[str, Any]
TimeLike = Union[int, float, Fraction, str]
"""What a time may be given as: int, float, `Fraction`, or a string ``"n/d"``."""
PatternLike = Union["Pattern", str, None]
"""Where a pattern is expected: a `Pattern`, a mini-notation string, or None (a rest)."""

SHAPES = ("sine", "tri", "ramp", "ramp_down", "square", "exp", "rand")
"""The continuous shapes (op ``signal``)."""

MAX_DENOMINATOR = 1_000_000
"""A non-dyadic float time becomes the nearest fraction with at most this denominator."""
MAX_DYADIC = 1 << 20
"""A float time is sent as a float when its exact denominator is at most this."""
_INT64 = (1 << 63) - 1
_UINT64 = (1 << 64) - 1
_NOTE_NAME = re.compile(r"[A-Ga-g][#sbf]*-?[0-9]+\Z")
_PITCH_KEYS = ("note", "freq")

# Operator precedence of a pattern's repr, to know when to add parentheses.
_OR, _ADD, _MUL, _ATOM = 1, 2, 3, 4


# ---------------------------------------------------------------------------
# Pattern
# ---------------------------------------------------------------------------


class Pattern:
    """An immutable pattern: a tree that becomes pattern IR with `ir`.

    Patterns are made by the builders (`hit`, `seq`, `p`, ...), operators
    and methods, never by hand. Two patterns are equal when their IR is.
    ``repr`` gives the expression that builds the pattern.
    """

    __slots__ = ("_ir", "_expr", "_prec", "_free", "_chain")

    _ir: IR
    _expr: str
    _prec: int
    _free: frozenset[int]
    _chain: tuple[str, tuple[Pattern, ...]] | None

    def __init__(self, ir: IR, expr: str, prec: int = _ATOM, free: frozenset[int] = frozenset(),
                 chain: tuple[str, tuple[Pattern, ...]] | None = None) -> None:
        object.__setattr__(self, "_ir", ir)
        object.__setattr__(self, "_expr", expr)
        object.__setattr__(self, "_prec", prec)
        object.__setattr__(self, "_free", free)   # placeholders (`self`) not yet bound
        object.__setattr__(self, "_chain", chain)  # the parts of an `a + b + ...` or `a | b | ...`

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Pattern is immutable; build a new one with methods and operators")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Pattern is immutable")

    def ir(self) -> IR:
        """The pattern IR (docs/pattern-ir.md): a fresh JSON-ready dict."""
        return copy.deepcopy(self._ir)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pattern):
            return NotImplemented
        return self._ir == other._ir

    def __hash__(self) -> int:
        return hash(json.dumps(self._ir, sort_keys=True))

    def __repr__(self) -> str:
        return self._expr

    # -- operators ---------------------------------------------------------

    def __add__(self, other: object) -> Pattern:
        """``a + b``: `a` then `b`, each an equal share of one cycle."""
        return _chain("+", self, _operand(other, "+"))

    def __radd__(self, other: object) -> Pattern:
        return _chain("+", _operand(other, "+"), self)

    def __or__(self, other: object) -> Pattern:
        """``a | b``: `a` and `b` at the same time (a stack)."""
        return _chain("|", self, _operand(other, "|"))

    def __ror__(self, other: object) -> Pattern:
        return _chain("|", _operand(other, "|"), self)

    def __mul__(self, n: object) -> Pattern:
        """``p * n``: `p` repeated `n` times in one cycle (the same as ``p.fast(n)``)."""
        if isinstance(n, (Pattern, str)):
            raise TypeError(f"pattern * n: n must be a number (how many times per cycle), not {_typename(n)}")
        factor = _positive_time(n, "pattern * n", "n")
        return Pattern({"op": "fast", "factor": factor, "arg": self._ir},
                       f"{_wrap(self, _MUL)} * {n!r}", _MUL, self._free)

    def __rmul__(self, n: object) -> Pattern:
        return self.__mul__(n)

    # -- time --------------------------------------------------------------

    def fast(self, n: TimeLike) -> Pattern:
        """Play `n` times as fast: ``p.fast(2)`` fits two cycles of `p` in one."""
        factor = _positive_time(n, "Pattern.fast", "n")
        return self._wrap_op({"op": "fast", "factor": factor}, f"fast({n!r})")

    def slow(self, n: TimeLike) -> Pattern:
        """Play `n` times as slow: one cycle of `p` lasts `n` cycles."""
        factor = _positive_time(n, "Pattern.slow", "n")
        return self._wrap_op({"op": "slow", "factor": factor}, f"slow({n!r})")

    def over(self, n: TimeLike) -> Pattern:
        """Stretch the pattern over `n` cycles (the same as `slow`)."""
        factor = _positive_time(n, "Pattern.over", "n")
        return self._wrap_op({"op": "slow", "factor": factor}, f"over({n!r})")

    def shift(self, t: TimeLike) -> Pattern:
        """Move the pattern `t` cycles later (earlier when `t` is negative)."""
        by = time_json(t, "Pattern.shift", "t")
        return self._wrap_op({"op": "shift", "by": by}, f"shift({t!r})")

    def reverse(self) -> Pattern:
        """Play each cycle backwards."""
        return self._wrap_op({"op": "rev"}, "reverse()")

    def swing(self, amount: TimeLike = 0.67, grid: int = 8) -> Pattern:
        """Swing: in each pair of `grid` steps per cycle the middle moves from 1/2 to `amount`.

        `amount` is 0.5 (straight) to 0.99, exact like a time (0.67 is sent as
        ``"67/100"``; ``"2/3"`` is a true triplet feel). `grid` 8 swings eighth
        notes in 4/4.
        """
        ratio = to_fraction(amount, "Pattern.swing", "amount")
        if not Fraction(1, 2) <= ratio <= Fraction(99, 100):
            raise ValueError(f"Pattern.swing: 'amount' is {amount!r}; it must be 0.5 to 0.99")
        amount_json = time_json(amount, "Pattern.swing", "amount")
        steps = _int(grid, "Pattern.swing", "grid", 1)
        shown = ([] if amount == 0.67 else [repr(amount)]) + ([] if grid == 8 else [f"grid={grid!r}"])
        return self._wrap_op({"op": "swing", "amount": amount_json, "grid": steps},
                             f"swing({', '.join(shown)})")

    # -- structure ---------------------------------------------------------

    def every(self, n: int, fn: Callable[[Pattern], PatternLike], offset: int = 0) -> Pattern:
        """Apply `fn` in one cycle of every `n` (cycles where ``(cycle - offset) % n == 0``).

        `fn` is a function from a pattern to a pattern, e.g.
        ``lambda p: p.fast(2)``. It is called once, here, with a placeholder
        standing for this pattern; what it builds travels to the engine as IR.
        """
        count = _int(n, "Pattern.every", "n", 1)
        shift = _int(offset, "Pattern.every", "offset")
        then, expr = _transform(fn, "Pattern.every")
        args = f"{n!r}, {expr}" + (f", offset={offset!r}" if offset else "")
        return self._wrap_op({"op": "every", "n": count, "offset": shift, "then": then._ir},
                             f"every({args})")

    def sometimes(self, prob: float, fn: Callable[[Pattern], PatternLike], seed: int = 0) -> Pattern:
        """Apply `fn` to each event with probability `prob` (0-1), the same way every time for a `seed`."""
        chance = _number(prob, "Pattern.sometimes", "prob", 0.0, 1.0)
        key = _seed(seed, "Pattern.sometimes")
        then, expr = _transform(fn, "Pattern.sometimes")
        args = f"{prob!r}, {expr}" + (f", seed={seed!r}" if seed else "")
        return self._wrap_op({"op": "sometimes", "prob": chance, "seed": key, "then": then._ir},
                             f"sometimes({args})")

    def spread(self, k: int, n: int, rotation: int = 0) -> Pattern:
        """Euclidean rhythm: `k` hits spread as evenly as possible over `n` steps.

        The pattern plays where the rhythm has a hit and is silent elsewhere:
        ``kr.hit().spread(3, 8)`` is the tresillo (steps 0, 3, 6). `rotation`
        turns the rhythm by that many steps (as mini-notation ``x(3,8,1)``
        does). A negative `k` plays the steps the rhythm for ``-k`` leaves out.
        """
        steps = _int(n, "Pattern.spread", "n", 1)
        hits = _int(k, "Pattern.spread", "k", -steps, steps)
        turn = _int(rotation, "Pattern.spread", "rotation")
        args = f"{k!r}, {n!r}" + (f", rotation={rotation!r}" if rotation else "")
        return self._wrap_op({"op": "euclid", "k": hits, "n": steps, "rotation": turn}, f"spread({args})")

    def thin(self, prob: float, seed: int = 0) -> Pattern:
        """Drop each event with probability `prob` (0-1), the same way every time for a `seed`."""
        chance = _number(prob, "Pattern.thin", "prob", 0.0, 1.0)
        key = _seed(seed, "Pattern.thin")
        args = f"{prob!r}" + (f", seed={seed!r}" if seed else "")
        return self._wrap_op({"op": "degrade", "prob": chance, "seed": key}, f"thin({args})")

    def mask(self, mask: Pattern | str) -> Pattern:
        """Keep only the parts where `mask` is true: ``p.mask("1 0 x .")`` (1 or x keeps, 0 . - ~ drop)."""
        if mask is None:
            raise TypeError("Pattern.mask: 'mask' must be a pattern or a mini-notation string like '1 0 x .'")
        m = _coerce(mask, "Pattern.mask", "mask")
        return Pattern({"op": "mask", "mask": m._ir, "arg": self._ir},
                       f"{_wrap(self, _ATOM)}.mask({_arg_repr(mask, m)})", _ATOM, self._free | m._free)

    # -- looking -----------------------------------------------------------

    def events(self, a: TimeLike = 0, b: TimeLike = 1, *, session: Querier | None = None) -> list[Event]:
        """The events in cycles ``[a, b)``, as the engine computes them.

        Uses `session` (a ``kr`` object), else the default session (see
        `use_session`; the REPL and ``krach render`` set it).
        """
        from .events import query

        return query(_session(session, "Pattern.events"), self, a, b)

    def show(self, cycles: TimeLike = 1, width: int = 64, *, session: Querier | None = None) -> None:
        """Print a small timeline of the first `cycles` cycles, `width` characters wide."""
        from .events import show

        show(_session(session, "Pattern.show"), self, cycles, width)

    # -- helpers -----------------------------------------------------------

    def _wrap_op(self, fields: IR, call: str) -> Pattern:
        ir = {**fields, "arg": self._ir}
        return Pattern(ir, f"{_wrap(self, _ATOM)}.{call}", _ATOM, self._free)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def hit(param: str = "gate") -> Pattern:
    """One trigger per cycle: `param` (default ``gate``) set to 1 at the onset.

    ``kr.hit() * 4`` is four on the floor.
    """
    name = _param_name(param, "krp.hit", "param")
    return _atom({name: 1}, "kr.hit()" if param == "gate" else f"kr.hit({param!r})")


def note(*pitches: str | int | float, vel: float = 1.0, **params: float) -> Pattern:
    """A note once per cycle; several pitches make a chord (played together).

    A pitch is a note name (``"A2"``, ``"C#4"``, ``"Bb3"``; ``C4`` is MIDI 60),
    a MIDI number (an int) or a frequency in Hz (a float). `vel` (0-1) is
    sent as the ``vel`` value when it is not 1; other keywords are control
    values the note carries: ``note("A2", cutoff=1200)``.
    """
    if not pitches:
        raise TypeError("krp.note: give at least one pitch, e.g. note('A2'), note(45) or note(110.0)")
    extra: dict[str, Any] = {}
    velocity = _number(vel, "krp.note", "vel", 0.0, 1.0)
    if velocity != 1:
        extra["vel"] = velocity
    for key, value in params.items():
        if key in _PITCH_KEYS:
            raise ValueError(f"krp.note: give the pitch as an argument, not as '{key}='")
        extra[_param_name(key, "krp.note", key)] = _number(value, "krp.note", key)
    atoms = [_atom({**_pitch(pitch, "krp.note"), **extra}, "") for pitch in pitches]
    shown = [repr(pitch) for pitch in pitches]
    if vel != 1.0:
        shown.append(f"vel={vel!r}")
    shown += [f"{key}={value!r}" for key, value in params.items()]
    expr = f"kr.note({', '.join(shown)})"
    if len(atoms) == 1:
        return Pattern(atoms[0]._ir, expr)
    return Pattern({"op": "stack", "args": [a._ir for a in atoms]}, expr)


def seq(*items: str | int | float | Pattern | None) -> Pattern:
    """A sequence in one cycle, each item an equal share: ``seq("A2", "D3", None, "E2")``.

    An item is a note name, a MIDI number (int), a frequency (float), ``None``
    (a rest) or any pattern (``note(...)``, ``hit()``, ``seq(...)``). Use
    ``.over(n)`` to spread the sequence over n cycles.
    """
    if not items:
        raise TypeError("krp.seq: give at least one item, e.g. seq('A2', None, 'E2')")
    parts: list[Pattern] = []
    for i, item in enumerate(items):
        if item is None:
            parts.append(rest())
        elif isinstance(item, Pattern):
            parts.append(item)
        elif isinstance(item, (str, numbers.Real)) and not isinstance(item, bool):
            parts.append(_atom(_pitch(item, "krp.seq", f"item {i}"), ""))
        else:
            raise TypeError(
                f"krp.seq: item {i} must be a note name, a MIDI number, Hz, None (a rest) or a "
                f"pattern, got {_typename(item)}"
            )
    expr = f"kr.seq({', '.join(repr(item) for item in items)})"
    return _node("seq", parts, expr)


def rest() -> Pattern:
    """Silence for one step: ``kr.rest() + kr.hit()`` is an off-beat."""
    return Pattern({"op": "silence"}, "kr.rest()")


def p(text: str) -> Pattern:
    """A pattern in mini-notation (TidalCycles style), parsed by the engine: ``p("bd [~ x]*2")``.

    Syntax errors are reported by the engine, with the column, when the
    pattern is played or queried.
    """
    if not isinstance(text, str):
        raise TypeError(f"krp.p: the mini-notation must be a string, got {_typename(text)}")
    return Pattern({"op": "mini", "text": text}, f"kr.p({text!r})")


def from_ir(ir: IR) -> Pattern:
    """A pattern from pattern IR given as data (docs/pattern-ir.md).

    ``kr.export`` writes ``krp.from_ir({...})`` for a playing pattern whose
    builder expression this session does not know (one started by another
    client, or before ``kr.pull``). The IR is copied; the engine validates it
    when the pattern is played or queried.
    """
    if not isinstance(ir, dict) or not isinstance(ir.get("op"), str):
        raise TypeError(f"krp.from_ir: the IR must be a dict with an 'op' (docs/pattern-ir.md), got {ir!r:.80}")
    data = copy.deepcopy(ir)
    return Pattern(data, f"krp.from_ir({data!r})")


def _shape(shape: str) -> Callable[..., Pattern]:
    def build(lo: float = 0.0, hi: float = 1.0) -> Pattern:
        where = f"krp.{shape}"
        ir: IR = {"op": "signal", "shape": shape, "lo": _number(lo, where, "lo"),
                  "hi": _number(hi, where, "hi")}
        return Pattern(ir, f"kr.{shape}({lo!r}, {hi!r})")

    build.__name__ = build.__qualname__ = shape
    return build


sine = _shape("sine")
sine.__doc__ = """A continuous sine from `lo` to `hi` and back, one period per cycle (starts at the middle, rising)."""
tri = _shape("tri")
tri.__doc__ = """A continuous triangle: `lo` up to `hi` and back down, one period per cycle."""
ramp = _shape("ramp")
ramp.__doc__ = """A continuous rising ramp from `lo` to `hi`, once per cycle."""
ramp_down = _shape("ramp_down")
ramp_down.__doc__ = """A continuous falling ramp from `hi` to `lo`, once per cycle."""
square = _shape("square")
square.__doc__ = """A continuous square: `lo` for the first half of each cycle, `hi` for the second."""
exp = _shape("exp")
exp.__doc__ = """A continuous exponential ramp from `lo` to `hi`, once per cycle (for frequencies)."""


def rand(lo: float = 0.0, hi: float = 1.0, seed: int = 0) -> Pattern:
    """Continuous random values between `lo` and `hi`, the same every time for a `seed`."""
    ir: IR = {"op": "signal", "shape": "rand", "lo": _number(lo, "krp.rand", "lo"),
              "hi": _number(hi, "krp.rand", "hi"), "seed": _seed(seed, "krp.rand")}
    suffix = f", seed={seed!r}" if seed else ""
    return Pattern(ir, f"kr.rand({lo!r}, {hi!r}{suffix})")


def cat(*patterns: PatternLike) -> Pattern:
    """One pattern per cycle, in turn: ``cat(a, b)`` plays `a` in even cycles, `b` in odd ones."""
    return _combine("cat", patterns, "krp.cat")


def stack(*patterns: PatternLike) -> Pattern:
    """All the patterns at once (the same as ``a | b | ...``)."""
    return _combine("stack", patterns, "krp.stack")


def struct(rhythm: Pattern | str, melody: PatternLike) -> Pattern:
    """The rhythm of `rhythm` with the values of `melody`: ``struct("x ~ x x", seq("A2", "E2"))``.

    Each event of `rhythm` takes the value `melody` has at its onset.
    """
    r = _coerce(rhythm, "krp.struct", "rhythm")
    m = _coerce(melody, "krp.struct", "melody")
    return Pattern({"op": "struct", "rhythm": r._ir, "arg": m._ir},
                   f"kr.struct({_arg_repr(rhythm, r)}, {_arg_repr(melody, m)})",
                   _ATOM, r._free | m._free)


BUILDERS: tuple[str, ...] = (
    "hit", "note", "seq", "rest", "p", "sine", "tri", "ramp", "ramp_down", "square", "exp",
    "rand", "cat", "stack", "struct",
)
"""The builders, also reachable as ``kr.<name>``."""


# ---------------------------------------------------------------------------
# The default session (for Pattern.events and Pattern.show)
# ---------------------------------------------------------------------------


class Querier(Protocol):
    """What `Pattern.events` needs: something with ``request`` (a `krach.Session`)."""

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]: ...


_default_session: Querier | None = None


def use_session(session: Querier | None) -> Querier | None:
    """Make `session` the one `Pattern.events` and `Pattern.show` ask; return the previous one.

    The REPL and ``krach render`` call this with their ``kr``; ``None`` clears it.
    """
    global _default_session
    previous, _default_session = _default_session, session
    return previous


def current_session() -> Querier | None:
    """The session set by `use_session`, or None."""
    return _default_session


def _session(session: Querier | None, where: str) -> Querier:
    chosen = session if session is not None else _default_session
    if chosen is None:
        raise RuntimeError(
            f"{where}: no engine session to ask; use kr.events(pattern) / kr.show(pattern), "
            f"pass session=kr, or call krp.use_session(kr) once"
        )
    return chosen


def wire_fields(pattern: Pattern | str, where: str) -> dict[str, Any]:
    """The request fields that carry a pattern: ``{"mini": text}`` for a string, else ``{"pattern": IR}``."""
    if isinstance(pattern, str):
        return {"mini": pattern}
    if not isinstance(pattern, Pattern):
        raise TypeError(f"{where}: expected a pattern or a mini-notation string, got {_typename(pattern)}")
    if pattern._free:
        raise ValueError(
            f"{where}: this is the placeholder an every()/sometimes() function is given "
            f"(or built from it); play the pattern every()/sometimes() returns"
        )
    return {"pattern": pattern.ir()}


# ---------------------------------------------------------------------------
# Times and values
# ---------------------------------------------------------------------------


def time_json(value: object, where: str = "time", arg: str = "t") -> int | float | str:
    """`value` as a pattern-IR time: an int, a dyadic float, or a string ``"n/d"``.

    Accepts ints, `Fraction` (and any rational), floats and strings such as
    ``"1/3"`` or ``"0.25"``. Raises `TypeError`/`ValueError` naming `where`
    and `arg` for anything else, for non-finite floats, and for values whose
    numerator or denominator does not fit in 64 bits.
    """
    frac = to_fraction(value, where, arg)
    if isinstance(value, float) and 1 < Fraction(value).denominator <= MAX_DYADIC:
        return value  # exactly dyadic: the engine reads it exactly
    if frac.denominator == 1:
        return int(frac)
    return f"{frac.numerator}/{frac.denominator}"


def to_fraction(value: object, where: str = "time", arg: str = "t") -> Fraction:
    """`value` (int, rational, float, ``"n/d"`` string) as an exact `Fraction`; see `time_json`."""
    if isinstance(value, bool):
        raise TypeError(f"{where}: '{arg}' must be a number of cycles, got a bool")
    if isinstance(value, numbers.Rational):
        frac = Fraction(value.numerator, value.denominator)
    elif isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{where}: '{arg}' is {number}; it must be a finite number of cycles")
        frac = Fraction(number)
        if frac.denominator > MAX_DYADIC:
            frac = frac.limit_denominator(MAX_DENOMINATOR)
            if frac == 0 and number != 0:
                raise ValueError(f"{where}: '{arg}' is {number}; it is too small for exact time "
                                 f"(write a fraction such as '1/10000000')")
    elif isinstance(value, str):
        try:
            frac = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"{where}: '{arg}' is {value!r}; a time is a number or a fraction like '1/3'"
            ) from None
    else:
        raise TypeError(
            f"{where}: '{arg}' must be a number of cycles (int, Fraction, float or '1/3'), "
            f"got {_typename(value)}"
        )
    if abs(frac.numerator) > _INT64 or frac.denominator > _INT64:
        raise ValueError(f"{where}: '{arg}' is {value!r}; it does not fit in 64-bit exact time")
    return frac


def _positive_time(value: object, where: str, arg: str) -> int | float | str:
    result = time_json(value, where, arg)
    if to_fraction(value, where, arg) <= 0:
        raise ValueError(f"{where}: '{arg}' is {value!r}; it must be greater than 0")
    return result


def _number(value: object, where: str, arg: str, lo: float | None = None,
            hi: float | None = None) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: '{arg}' must be a number, got {_typename(value)}")
    number = value if isinstance(value, (int, float)) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"{where}: '{arg}' is {number}; it must be a finite number")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ValueError(f"{where}: '{arg}' is {number}; it must be {lo:g} to {hi:g}")
    return int(number) if isinstance(number, numbers.Integral) else float(number)


def _int(value: object, where: str, arg: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: '{arg}' must be a whole number, got {_typename(value)}")
    number = int(value)
    if lo is not None and number < lo:
        limit = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"{where}: '{arg}' is {number}; it must be {limit}")
    if hi is not None and number > hi:
        limit = f"{lo} to {hi}" if lo is not None else f"at most {hi}"
        raise ValueError(f"{where}: '{arg}' is {number}; it must be {limit}")
    if abs(number) > _INT64:
        raise ValueError(f"{where}: '{arg}' is {number}; it does not fit in 64 bits")
    return number


def _seed(value: object, where: str) -> int:
    return _int(value, where, "seed", 0, _UINT64)


def _param_name(name: object, where: str, arg: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{where}: '{arg}' must be a control name like 'gate' or 'cutoff', got {name!r}")
    return name


def _pitch(pitch: object, where: str, arg: str = "pitch") -> IR:
    """An atom value for a pitch: note name → note, int → MIDI note, float → freq."""
    if isinstance(pitch, str):
        if not _NOTE_NAME.match(pitch):
            hint = f"; for mini-notation use kr.p({pitch!r})" if " " in pitch.strip() else ""
            raise ValueError(
                f"{where}: {arg} {pitch!r} is not a note name (a letter A-G, then # s b f, then "
                f"an octave, e.g. 'A2', 'C#4', 'Bb3'){hint}"
            )
        return {"note": pitch}
    if isinstance(pitch, bool) or not isinstance(pitch, numbers.Real):
        raise TypeError(
            f"{where}: {arg} must be a note name ('A2'), a MIDI number (int) or Hz (float), "
            f"got {_typename(pitch)}"
        )
    if isinstance(pitch, numbers.Integral):
        return {"note": int(pitch)}
    freq = float(pitch)
    if not math.isfinite(freq) or freq <= 0:
        raise ValueError(f"{where}: {arg} is {freq} Hz; a frequency must be above 0")
    return {"freq": freq}


# ---------------------------------------------------------------------------
# Building helpers
# ---------------------------------------------------------------------------


def _atom(value: IR, expr: str) -> Pattern:
    return Pattern({"op": "atom", "value": value}, expr)


def _typename(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _wrap(pattern: Pattern, prec: int) -> str:
    """The pattern's expression, in parentheses when it binds looser than `prec`."""
    return pattern._expr if pattern._prec >= prec else f"({pattern._expr})"


def _coerce(value: object, where: str, arg: str) -> Pattern:
    """A pattern where one is expected: strings are mini-notation, None is a rest."""
    if isinstance(value, Pattern):
        return value
    if isinstance(value, str):
        return p(value)
    if value is None:
        return rest()
    raise TypeError(
        f"{where}: '{arg}' must be a pattern or a mini-notation string, got {_typename(value)}"
    )


def _arg_repr(given: object, pattern: Pattern) -> str:
    return repr(given) if isinstance(given, str) or given is None else pattern._expr


def _operand(value: object, op: str) -> Pattern:
    if isinstance(value, (Pattern, str)) or value is None:
        return _coerce(value, f"pattern {op} ...", "operand")
    raise TypeError(
        f"pattern {op} {_typename(value)}: both sides of {op} must be patterns or mini-notation "
        f"strings" + ("; to repeat a pattern n times use pattern * n" if op == "+" else "")
    )


def _node(op: str, parts: Iterable[Pattern], expr: str, prec: int = _ATOM,
          chain: tuple[str, tuple[Pattern, ...]] | None = None) -> Pattern:
    parts = tuple(parts)
    free = frozenset().union(*(part._free for part in parts))
    return Pattern({"op": op, "args": [part._ir for part in parts]}, expr, prec, free, chain)


def _chain(op: str, left: Pattern, right: Pattern) -> Pattern:
    """``a + b`` / ``a | b``, flattening chains made by the same operator."""
    parts: list[Pattern] = []
    for side in (left, right):
        if side._chain is not None and side._chain[0] == op:
            parts.extend(side._chain[1])
        else:
            parts.append(side)
    prec = _ADD if op == "+" else _OR
    expr = f" {op} ".join(_wrap(part, prec + 1) if part._chain is None or part._chain[0] != op
                          else part._expr for part in parts)
    return _node("seq" if op == "+" else "stack", parts, expr, prec, (op, tuple(parts)))


def _combine(op: str, patterns: tuple[PatternLike, ...], where: str) -> Pattern:
    if not patterns:
        raise TypeError(f"{where}: give at least one pattern")
    parts = [_coerce(item, where, f"pattern {i}") for i, item in enumerate(patterns)]
    shown = ", ".join(_arg_repr(given, part) for given, part in zip(patterns, parts))
    return _node(op, parts, f"kr.{op}({shown})")


_placeholders = itertools.count(1)


def _transform(fn: object, where: str) -> tuple[Pattern, str]:
    """Run `fn` once on a ``self`` placeholder; return the pattern it built and its lambda repr."""
    if isinstance(fn, (Pattern, str)) or not callable(fn):
        raise TypeError(
            f"{where}: 'fn' must be a function from a pattern to a pattern, e.g. "
            f"lambda p: p.fast(2); got {_typename(fn)}"
        )
    token = next(_placeholders)
    placeholder = Pattern({"op": "self"}, "p", _ATOM, frozenset({token}))
    result = fn(placeholder)
    if not isinstance(result, (Pattern, str)) and result is not None:
        raise TypeError(f"{where}: 'fn' must return a pattern, but it returned {_typename(result)}")
    then = _coerce(result, where, "fn's result")
    if then._free - {token}:
        raise ValueError(
            f"{where}: 'fn' uses the pattern of an outer every()/sometimes() inside this one; "
            f"use the argument this function is given"
        )
    return then, f"lambda p: {then._expr}"
