"""DSP primitives for writing synths and effects, bound as ``krs``.

A synth is a plain Python function that builds a signal from these
primitives and returns it::

    def bass() -> krs.Signal:
        freq = krs.control("freq", 55.0, 20.0, 800.0)
        gate = krs.control("gate", 0.0, 0.0, 1.0)
        env = krs.adsr(0.005, 0.15, 0.3, 0.08, gate)
        return krs.lowpass(krs.saw(freq), 800.0) * env * 0.5

An effect is the same with audio-input parameters (``def fx(inp: krs.Signal)``):
each positional parameter is one input (ports ``in0``, ``in1``, ...).

The function is run **once**, by `trace`, with symbolic signals: every
primitive and operator returns a `Signal`, a node of a graph, not a number.
That graph becomes the *signal IR* (docs/signal-ir.md) that the engine
compiles and runs sample by sample. Two consequences for the musician:

- Python control flow runs at trace time. ``if``, ``and``, ``while`` cannot
  look at a signal's value (there is none yet); choose per sample with
  ``krs.select2(cond, a, b)``. Loops and helper functions that *build* a graph
  are fine.
- Numbers mix freely with signals (``0.5 * osc``) and become constants.

Returning a tuple of signals makes a multi-channel node (``krs.pan`` returns a
``(left, right)`` pair). Times are in seconds, frequencies in Hz, gains linear.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
import itertools
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn, Protocol, Union

IR_VERSION = 1
MAX_INPUTS = 8
"""At most this many audio inputs."""
MAX_CHANNELS = 2
"""At most this many output channels (mono or stereo)."""
MAX_WAVETABLE = 32768
MAX_RDTABLE = 32768
MAX_RWTABLE = 1 << 24
MAX_DELAY_TIME = 60.0
MAX_ORDER = 8
MAX_SEED = (1 << 32) - 1
LFO_SHAPES = ("sine", "tri", "saw", "square")
RESERVED_CONTROLS = ("gain", "count")
"""Control names taken by `kr.node` keywords and ``"name/gain"`` paths."""

_CONTROL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_PLACEHOLDER = re.compile(r"\{(\d+)\}")


# ---------------------------------------------------------------------------
# Signal
# ---------------------------------------------------------------------------


class Signal:
    """One node of a signal graph: an operation applied to other signals.

    ``op`` names the IR operation (``"lowpass"``, ``"add"``, ...), ``args`` are
    the input signals in the IR's order and ``attrs`` the operation's
    attributes (``order``, ``seed``, ...). Signals are immutable and are
    made by the ``krs`` functions and operators, not constructed by hand.

    Arithmetic ``+ - * / // % **``, unary ``-``, ``abs()``, ``round()``,
    ``math.floor()``/``math.ceil()`` and comparisons ``< <= > >= == !=`` all
    give new signals; comparisons are 1 where true and 0 where false. A signal
    has no value at trace time, so ``bool()``, ``float()``, ``int()``,
    ``len()`` and iteration raise `TypeError`.
    """

    __slots__ = ("op", "args", "attrs")

    op: str
    args: tuple[Signal, ...]
    attrs: Mapping[str, Any]

    def __init__(self, op: str, args: tuple[Signal, ...] = (), attrs: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "args", tuple(args))
        object.__setattr__(self, "attrs", MappingProxyType(dict(attrs or {})))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("a Signal is immutable; build a new one with krs functions and operators")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("a Signal is immutable")

    # `==` builds a signal, so hashing must not use it: a Signal is hashed by identity.
    __hash__ = object.__hash__

    # -- arithmetic --------------------------------------------------------

    def __add__(self, other: object) -> Signal:
        return _binop("add", "+", self, other)

    def __radd__(self, other: object) -> Signal:
        return _binop("add", "+", other, self)

    def __sub__(self, other: object) -> Signal:
        return _binop("sub", "-", self, other)

    def __rsub__(self, other: object) -> Signal:
        return _binop("sub", "-", other, self)

    def __mul__(self, other: object) -> Signal:
        return _binop("mul", "*", self, other)

    def __rmul__(self, other: object) -> Signal:
        return _binop("mul", "*", other, self)

    def __truediv__(self, other: object) -> Signal:
        return _binop("div", "/", self, other)

    def __rtruediv__(self, other: object) -> Signal:
        return _binop("div", "/", other, self)

    def __floordiv__(self, other: object) -> Signal:
        return _binop("floordiv", "//", self, other)

    def __rfloordiv__(self, other: object) -> Signal:
        return _binop("floordiv", "//", other, self)

    def __mod__(self, other: object) -> Signal:
        return _binop("mod", "%", self, other)

    def __rmod__(self, other: object) -> Signal:
        return _binop("mod", "%", other, self)

    def __pow__(self, other: object, modulo: object = None) -> Signal:
        if modulo is not None:
            raise TypeError("pow() with a modulo is not defined for signals")
        return _binop("pow", "**", self, other)

    def __rpow__(self, other: object) -> Signal:
        return _binop("pow", "**", other, self)

    def __neg__(self) -> Signal:
        return Signal("neg", (self,))

    def __pos__(self) -> Signal:
        return self

    def __abs__(self) -> Signal:
        return Signal("abs", (self,))

    def __round__(self, ndigits: object = None) -> Signal:
        if ndigits is not None:
            raise TypeError("round(signal, ndigits) is not supported; round(signal) rounds to an integer")
        return Signal("round", (self,))

    def __floor__(self) -> Signal:
        return Signal("floor", (self,))

    def __ceil__(self) -> Signal:
        return Signal("ceil", (self,))

    # -- comparisons (signals of 0 and 1) -----------------------------------

    def __lt__(self, other: object) -> Signal:
        return _binop("lt", "<", self, other)

    def __le__(self, other: object) -> Signal:
        return _binop("le", "<=", self, other)

    def __gt__(self, other: object) -> Signal:
        return _binop("gt", ">", self, other)

    def __ge__(self, other: object) -> Signal:
        return _binop("ge", ">=", self, other)

    def __eq__(self, other: object) -> Signal:  # type: ignore[override]
        return _binop("eq", "==", self, other)

    def __ne__(self, other: object) -> Signal:  # type: ignore[override]
        return _binop("ne", "!=", self, other)

    # -- what a symbolic value cannot do -------------------------------------

    def __bool__(self) -> NoReturn:
        raise TypeError(
            "a Signal has no truth value: the synth function runs once, at trace time, "
            "so Python's `if`, `and`, `or`, `not` and `while` cannot depend on a signal. "
            "Choose per sample with krs.select2(cond, a, b) (a where cond is 0, b elsewhere)"
        )

    def __float__(self) -> NoReturn:
        _no_number("float()")

    def __int__(self) -> NoReturn:
        _no_number("int()")

    def __index__(self) -> NoReturn:
        _no_number("using a Signal as an index or count")

    def __complex__(self) -> NoReturn:
        _no_number("complex()")

    def __len__(self) -> NoReturn:
        raise TypeError(
            "a Signal is one channel and has no len(); a multi-channel result is a tuple of signals"
        )

    def __iter__(self) -> NoReturn:
        raise TypeError(
            "a Signal is one channel and cannot be iterated or unpacked; "
            "a multi-channel result is a tuple of signals, e.g. krs.pan(x, 0.0) gives (left, right)"
        )

    def __repr__(self) -> str:
        if self.op in ("const", "input", "control"):
            return f"<Signal {_describe(self)}>"
        shown = [_describe(a) for a in self.args]
        shown += [f"{k}={_short(v)}" for k, v in self.attrs.items()]
        return f"<Signal {self.op}({', '.join(shown)})>"


SignalLike = Union[Signal, float, int]
"""A `Signal`, or a number that stands for a constant signal."""


class _FeedbackMem(Signal):
    """The ``mem`` that closes a `feedback` loop: its argument is set after the loop body exists."""

    __slots__ = ()

    def _close(self, value: Signal) -> None:
        object.__setattr__(self, "args", (value,))


def _no_number(what: str) -> NoReturn:
    raise TypeError(
        f"{what}: a Signal has no numeric value while the synth is traced (it is a new "
        f"number every sample). Use krs functions instead of math.* and float(): "
        f"krs.sin, krs.exp, krs.floor, krs.min_, ..."
    )


def _short(value: Any) -> str:
    if isinstance(value, tuple):
        return f"<table of {len(value)}>"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _describe(sig: Signal) -> str:
    if sig.op == "const":
        return f"{sig.attrs['value']:g}"
    if sig.op == "input":
        return f"input {sig.attrs['index']}"
    if sig.op == "control":
        return f"control {sig.attrs['control'].name!r}"
    return sig.op


def _typename(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, Signal)


def _const(value: float) -> Signal:
    return Signal("const", (), {"value": value})


def _as_signal(value: object, where: str, arg: str) -> Signal:
    """`value` as a Signal (numbers become constants), or an error naming `where` and `arg`."""
    if isinstance(value, Signal):
        return value
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            raise ValueError(f"{where}: argument '{arg}' is {number}; it must be a finite number")
        return _const(number)
    raise TypeError(f"{where}: argument '{arg}' must be a Signal or a number, got {_typename(value)}")


def _binop(op: str, symbol: str, a: object, b: object) -> Signal:
    if not (isinstance(a, Signal) or _is_number(a)) or not (isinstance(b, Signal) or _is_number(b)):
        return NotImplemented
    where = f"the {symbol} operator"
    return Signal(op, (_as_signal(a, where, "left"), _as_signal(b, where, "right")))


def _node(name: str, op: str, attrs: Mapping[str, Any] | None = None, **args: object) -> Signal:
    """The signal `op` of `args` (named as in ``krs.<name>``'s signature, in IR order)."""
    where = f"krs.{name}"
    return Signal(op, tuple(_as_signal(v, where, k) for k, v in args.items()), attrs)


# -- attribute checks ---------------------------------------------------------


def _int_attr(value: object, where: str, arg: str, lo: int, hi: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"krs.{where}: '{arg}' must be an integer from {lo} to {hi}, got {_typename(value)}")
    number = int(value)
    if not lo <= number <= hi:
        raise ValueError(f"krs.{where}: '{arg}' is {number}; it must be {lo} to {hi}")
    return number


def _num_attr(value: object, where: str, arg: str) -> float:
    if not _is_number(value):
        raise TypeError(f"krs.{where}: '{arg}' must be a number, got {_typename(value)}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"krs.{where}: '{arg}' is {number}; it must be a finite number")
    return number


def _table(values: object, where: str, limit: int) -> tuple[float, ...]:
    if isinstance(values, (str, bytes, Signal, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"krs.{where}: 'table' must be a sequence of numbers, got {_typename(values)}")
    table = []
    for i, value in enumerate(values):
        if not _is_number(value):
            raise TypeError(f"krs.{where}: table item {i} must be a number, got {_typename(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"krs.{where}: table item {i} is {number}; every item must be finite")
        table.append(number)
    if not 1 <= len(table) <= limit:
        raise ValueError(f"krs.{where}: the table has {len(table)} numbers; it must have 1 to {limit}")
    return tuple(table)


def _max_time(value: object, time: object, where: str) -> float:
    limit = _num_attr(value, where, "max_time")
    if not 0.0 < limit <= MAX_DELAY_TIME:
        raise ValueError(f"krs.{where}: 'max_time' is {limit:g} s; it must be above 0 and at most {MAX_DELAY_TIME:g} s")
    if _is_number(time) and float(time) > limit:  # type: ignore[arg-type]
        raise ValueError(
            f"krs.{where}: 'time' is {float(time):g} s, longer than max_time {limit:g} s; "  # type: ignore[arg-type]
            f"pass max_time={float(time):g} or more"  # type: ignore[arg-type]
        )
    return limit


# ---------------------------------------------------------------------------
# Controls and tracing state
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """A named, automatable parameter of a synth: see `control`."""

    name: str
    init: float
    lo: float
    hi: float
    step: float = 0.0

    def ir(self) -> dict[str, Any]:
        """This control as an entry of the IR's ``controls`` list."""
        return {"name": self.name, "init": self.init, "lo": self.lo, "hi": self.hi, "step": self.step}

    def __str__(self) -> str:
        step = f", step={self.step:g}" if self.step else ""
        return f"control({self.name!r}, {self.init:g}, {self.lo:g}, {self.hi:g}{step})"


class _Trace:
    """What one `trace` collects while the synth function runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.controls: dict[str, Control] = {}
        self.noises = itertools.count()


_current: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar("krach_trace", default=None)
_untraced_noises = itertools.count()


def _declare(controls: dict[str, Control], ctl: Control) -> None:
    known = controls.get(ctl.name)
    if known is None:
        controls[ctl.name] = ctl
    elif known != ctl:
        raise ValueError(
            f"krs.control: {ctl.name!r} is declared twice with different parameters, "
            f"{known} and {ctl}; declare it once and reuse the signal, or give the second another name"
        )


def control(name: str, init: float, lo: float, hi: float, step: float = 0.0) -> Signal:
    """A named, automatable parameter: ``krs.control("cutoff", 800.0, 100.0, 4000.0)``.

    `init` is the starting value and must lie in ``[lo, hi]``; values sent
    later are clamped to that range. `step` (0 = continuous) is a hint for
    user interfaces. A control named ``gate`` is a trigger (1 = on, 0 = off)
    and jumps; every other control is smoothed so that changes never click.
    ``freq`` is set by note patterns. Names are identifiers (letters, digits,
    ``_``; at most 63 characters); ``gain`` and ``count`` are taken by the node
    itself. Declaring the same name twice in one synth is fine when the
    parameters are identical, and an error otherwise.
    """
    if not isinstance(name, str):
        raise TypeError(f"krs.control: the name must be a string, got {_typename(name)}")
    if not _CONTROL_NAME.match(name):
        raise ValueError(
            f"krs.control: bad name {name!r}: use letters, digits and _ (not starting with a digit), "
            f"1 to 63 characters"
        )
    if name in RESERVED_CONTROLS:
        raise ValueError(
            f"krs.control: the name {name!r} is taken by the node itself (kr.node(..., {name}=...)); "
            f"call the control something else, e.g. 'level'"
        )
    values = {}
    for arg, value in (("init", init), ("lo", lo), ("hi", hi), ("step", step)):
        if not _is_number(value):
            raise TypeError(f"krs.control({name!r}): '{arg}' must be a number, got {_typename(value)}")
        values[arg] = float(value)  # type: ignore[arg-type]
        if not math.isfinite(values[arg]):
            raise ValueError(f"krs.control({name!r}): '{arg}' is {values[arg]}; it must be a finite number")
    ctl = Control(name, values["init"], values["lo"], values["hi"], values["step"])
    if ctl.lo > ctl.hi:
        raise ValueError(f"krs.control({name!r}): lo {ctl.lo:g} is above hi {ctl.hi:g}; swap them")
    if not ctl.lo <= ctl.init <= ctl.hi:
        raise ValueError(
            f"krs.control({name!r}): init {ctl.init:g} is outside [{ctl.lo:g}, {ctl.hi:g}]; "
            f"the starting value must lie in the range"
        )
    if ctl.step < 0:
        raise ValueError(f"krs.control({name!r}): step {ctl.step:g} is negative; use 0 (continuous) or more")
    trace_state = _current.get()
    if trace_state is not None:
        _declare(trace_state.controls, ctl)
    return Signal("control", (), {"control": ctl})


def _seed(value: object, where: str) -> int:
    if value is not None:
        return _int_attr(value, where, "seed", 0, MAX_SEED)
    trace_state = _current.get()
    count = next(trace_state.noises if trace_state is not None else _untraced_noises)
    # Spread the counter over 32 bits (Knuth's multiplicative hash), so that the
    # automatic seeds of one synth differ and rarely meet small hand-picked seeds.
    return ((count + 1) * 2654435761) & MAX_SEED


# ---------------------------------------------------------------------------
# Primitives: sources and structure
# ---------------------------------------------------------------------------


def sr() -> Signal:
    """The sample rate in Hz, as a signal."""
    return Signal("sr")


sample_rate = sr


def mem(x: SignalLike) -> Signal:
    """`x` one sample ago (0 at the start): a one-sample delay."""
    return _node("mem", "mem", x=x)


unit_delay = mem


def feedback(fn: Callable[[Signal], SignalLike]) -> Signal:
    """A feedback loop: ``y = fn(mem(y))``; returns ``y``.

    `fn` receives the loop's output one sample ago and returns its new value.
    A one-pole lowpass::

        y = krs.feedback(lambda prev: prev + (x - prev) * 0.1)
    """
    if not callable(fn):
        raise TypeError(f"krs.feedback: expected a function of one signal, got {_typename(fn)}")
    loop = _FeedbackMem("mem")
    result = fn(loop)
    if isinstance(result, (tuple, list)):
        raise TypeError(
            f"krs.feedback: the function must return one Signal (the loop's new value), got {_typename(result)}"
        )
    value = _as_signal(result, "krs.feedback", "the function's result")
    loop._close(value)
    return value


def select2(s: SignalLike, a: SignalLike, b: SignalLike) -> Signal:
    """Per sample: `a` where `s` is 0, else `b`. The signal-world ``if``."""
    return _node("select2", "select2", s=s, a=a, b=b)


def faust_expr(template: str, *inputs: SignalLike) -> Signal:
    """A FAUST expression as one signal: compiled through FAUST when it is installed.

    ``{0}``, ``{1}``, ... in `template` stand for `inputs`:
    ``krs.faust_expr("fi.lowpass(3, {1}, {0})", x, cutoff)``. A template
    without placeholders is a FAUST block diagram that takes the inputs in
    order: ``krs.faust_expr("_ : fi.dcblocker", x)``. It must have one output.
    The engine's native compiler refuses this op with an error naming the
    package to install. FAUST controls are not smoothed: apply ``si.smoo``.
    """
    if not isinstance(template, str):
        raise TypeError(f"krs.faust_expr: the template must be a string, got {_typename(template)}")
    if not template.strip():
        raise ValueError("krs.faust_expr: the template is empty")
    args = tuple(_as_signal(x, "krs.faust_expr", f"inputs[{i}]") for i, x in enumerate(inputs))
    used = {int(m.group(1)) for m in _PLACEHOLDER.finditer(template)}
    code = template
    if used:
        if max(used) >= len(args):
            raise ValueError(
                f"krs.faust_expr: the template uses {{{max(used)}}} but {len(args)} input(s) were given"
            )
        names = [f"krach_in{i}" for i in range(len(args))]
        body = _PLACEHOLDER.sub(lambda m: names[int(m.group(1))], template)
        # A lambda abstraction is a FAUST expression with one input per parameter.
        code = f"\\({', '.join(names)}).({body})"
    return Signal("faust_expr", args, {"code": code})


# ---------------------------------------------------------------------------
# Oscillators and noise
# ---------------------------------------------------------------------------


def sine_osc(freq: SignalLike) -> Signal:
    """A sine wave at `freq` Hz, -1..1."""
    return _node("sine_osc", "sine_osc", freq=freq)


def saw(freq: SignalLike) -> Signal:
    """A band-limited sawtooth at `freq` Hz, -1..1."""
    return _node("saw", "saw", freq=freq)


def square(freq: SignalLike, duty: SignalLike = 0.5) -> Signal:
    """A band-limited square wave at `freq` Hz; `duty` (0..1) is the high share of each cycle."""
    return _node("square", "square", freq=freq, duty=duty)


def triangle(freq: SignalLike) -> Signal:
    """A band-limited triangle wave at `freq` Hz, -1..1."""
    return _node("triangle", "triangle", freq=freq)


def pulse(freq: SignalLike, width: SignalLike = 0.25) -> Signal:
    """A band-limited rectangular pulse at `freq` Hz; `width` (0..1) is the pulse's share of a cycle."""
    return _node("pulse", "pulse", freq=freq, width=width)


def phasor(freq: SignalLike) -> Signal:
    """A 0..1 ramp repeating at `freq` Hz (naive: for control signals and table lookups)."""
    return _node("phasor", "phasor", freq=freq)


def lfo(freq: SignalLike, shape: str = "sine") -> Signal:
    """A -1..1 low-frequency oscillator; `shape` is ``sine``, ``tri``, ``saw`` or ``square``."""
    if shape not in LFO_SHAPES:
        raise ValueError(f"krs.lfo: shape {shape!r} is not one of {', '.join(LFO_SHAPES)}")
    return _node("lfo", "lfo", {"shape": shape}, freq=freq)


def white_noise(seed: int | None = None) -> Signal:
    """White noise, -1..1, the same every time for a given `seed` (0..2**32-1).

    Without a seed each call in a synth gets its own, so two noises differ,
    and tracing the synth again gives the same seeds.
    """
    return Signal("white_noise", (), {"seed": _seed(seed, "white_noise")})


def pink_noise(seed: int | None = None) -> Signal:
    """Pink noise (-3 dB/octave), about -1..1; `seed` as for `white_noise`."""
    return Signal("pink_noise", (), {"seed": _seed(seed, "pink_noise")})


def wavetable(table: Iterable[float], freq: SignalLike) -> Signal:
    """An oscillator reading `table` (1 to 32768 numbers) once per cycle at `freq` Hz, interpolated."""
    return _node("wavetable", "wavetable", {"table": _table(table, "wavetable", MAX_WAVETABLE)}, freq=freq)


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def lowpass(x: SignalLike, cutoff: SignalLike, order: int = 2) -> Signal:
    """Butterworth lowpass of `x` at `cutoff` Hz; `order` 1..8 (6 dB/octave each)."""
    return _node("lowpass", "lowpass", {"order": _int_attr(order, "lowpass", "order", 1, MAX_ORDER)},
                 x=x, cutoff=cutoff)


def highpass(x: SignalLike, cutoff: SignalLike, order: int = 2) -> Signal:
    """Butterworth highpass of `x` at `cutoff` Hz; `order` 1..8."""
    return _node("highpass", "highpass", {"order": _int_attr(order, "highpass", "order", 1, MAX_ORDER)},
                 x=x, cutoff=cutoff)


def bandpass(x: SignalLike, freq: SignalLike, q: SignalLike = 1.0) -> Signal:
    """A 2-pole band-pass of `x` around `freq` Hz, 0 dB at the peak; higher `q` is narrower."""
    return _node("bandpass", "bandpass", x=x, freq=freq, q=q)


def resonant(x: SignalLike, cutoff: SignalLike, q: SignalLike = 0.707) -> Signal:
    """A resonant 2-pole lowpass of `x`; `q` above 0.707 peaks at `cutoff`."""
    return _node("resonant", "resonant", x=x, cutoff=cutoff, q=q)


def onepole(x: SignalLike, cutoff: SignalLike) -> Signal:
    """A gentle one-pole lowpass of `x` at `cutoff` Hz."""
    return _node("onepole", "onepole", x=x, cutoff=cutoff)


def dcblock(x: SignalLike) -> Signal:
    """`x` without its DC offset."""
    return _node("dcblock", "dcblock", x=x)


def smooth(x: SignalLike, time: SignalLike = 0.015) -> Signal:
    """`x` smoothed by a one-pole with time constant `time` seconds (removes zipper noise)."""
    return _node("smooth", "smooth", x=x, time=time)


# ---------------------------------------------------------------------------
# Envelopes and events
# ---------------------------------------------------------------------------


def adsr(attack: SignalLike, decay: SignalLike, sustain: SignalLike, release: SignalLike,
         gate: SignalLike) -> Signal:
    """An attack-decay-sustain-release envelope, 0..1, driven by `gate`.

    Times are in seconds, `sustain` is a level (0..1). Every rising gate
    restarts the attack from the current level; the release starts when the
    gate falls.
    """
    return _node("adsr", "adsr", attack=attack, decay=decay, sustain=sustain, release=release, gate=gate)


def ar(attack: SignalLike, release: SignalLike, gate: SignalLike) -> Signal:
    """An attack-release envelope: rises in `attack` s on a rising `gate`, then falls in `release` s."""
    return _node("ar", "ar", attack=attack, release=release, gate=gate)


def decay(trig: SignalLike, time: SignalLike) -> Signal:
    """Jumps to 1 on each rising edge of `trig`, then falls by 60 dB in `time` seconds."""
    return _node("decay", "decay", trig=trig, time=time)


def trigger(x: SignalLike) -> Signal:
    """1 on the sample where `x` rises above 0, else 0."""
    return _node("trigger", "trigger", x=x)


def latch(x: SignalLike, trig: SignalLike) -> Signal:
    """`x` sampled at each rising edge of `trig`, held in between."""
    return _node("latch", "latch", x=x, trig=trig)


# ---------------------------------------------------------------------------
# Delays, effects and tables
# ---------------------------------------------------------------------------


def delay(x: SignalLike, time: SignalLike, max_time: float = 1.0) -> Signal:
    """`x` delayed by `time` seconds (fractional, interpolated); `time` may not exceed `max_time` (≤ 60 s)."""
    attrs = {"max_time": _max_time(max_time, time, "delay")}
    return _node("delay", "delay", attrs, x=x, time=time)


def echo(x: SignalLike, time: SignalLike, feedback: SignalLike = 0.5, max_time: float = 2.0) -> Signal:
    """A feedback delay: repeats of `x` every `time` seconds, each `feedback` times the last."""
    attrs = {"max_time": _max_time(max_time, time, "echo")}
    return _node("echo", "echo", attrs, x=x, time=time, feedback=feedback)


def reverb(x: SignalLike, room: SignalLike = 0.5, damping: SignalLike = 0.5) -> Signal:
    """A Freeverb reverb of `x`: `room` (0..1) is its size, `damping` (0..1) darkens the tail."""
    return _node("reverb", "reverb", x=x, room=room, damping=damping)


def chorus(x: SignalLike, rate: SignalLike = 0.5, depth: SignalLike = 0.5) -> Signal:
    """A chorus: `x` through a delay modulated at `rate` Hz; `depth` 0..1."""
    return _node("chorus", "chorus", x=x, rate=rate, depth=depth)


def flanger(x: SignalLike, rate: SignalLike = 0.2, depth: SignalLike = 0.5,
            feedback: SignalLike = 0.5) -> Signal:
    """A flanger: a short delay modulated at `rate` Hz, with `feedback`; `depth` 0..1."""
    return _node("flanger", "flanger", x=x, rate=rate, depth=depth, feedback=feedback)


def rdtable(table: Iterable[float], index: SignalLike) -> Signal:
    """``table[index]`` per sample: `index` is truncated to an integer and clamped to the table."""
    return _node("rdtable", "rdtable", {"table": _table(table, "rdtable", MAX_RDTABLE)}, index=index)


def rwtable(size: int, windex: SignalLike, wvalue: SignalLike, rindex: SignalLike,
            init: float = 0.0) -> Signal:
    """A table of `size` numbers (all `init` at first): each sample writes `wvalue` at `windex`,
    then reads at `rindex`. Indices wrap around the table."""
    attrs = {"size": _int_attr(size, "rwtable", "size", 1, MAX_RWTABLE), "init": _num_attr(init, "rwtable", "init")}
    return _node("rwtable", "rwtable", attrs, windex=windex, wvalue=wvalue, rindex=rindex)


# ---------------------------------------------------------------------------
# Shaping, mixing and conversions
# ---------------------------------------------------------------------------


def clip(x: SignalLike, lo: SignalLike, hi: SignalLike) -> Signal:
    """`x` limited to ``[lo, hi]``."""
    return _node("clip", "clip", x=x, lo=lo, hi=hi)


def lerp(a: SignalLike, b: SignalLike, t: SignalLike) -> Signal:
    """``a + (b - a) * t``: `a` at t = 0, `b` at t = 1."""
    return _node("lerp", "lerp", a=a, b=b, t=t)


def wrap(x: SignalLike, lo: SignalLike = 0.0, hi: SignalLike = 1.0) -> Signal:
    """`x` wrapped into ``[lo, hi)``."""
    return _node("wrap", "wrap", x=x, lo=lo, hi=hi)


def db_to_linear(x: SignalLike) -> Signal:
    """Decibels to a linear gain: ``10 ** (x / 20)``."""
    return _node("db_to_linear", "db_to_linear", x=x)


def linear_to_db(x: SignalLike) -> Signal:
    """A linear gain to decibels: ``20 * log10(x)`` (silence gives -1000 dB)."""
    return _node("linear_to_db", "linear_to_db", x=x)


def midi_to_freq(x: SignalLike) -> Signal:
    """A MIDI note number to Hz: ``440 * 2 ** ((x - 69) / 12)``."""
    return _node("midi_to_freq", "midi_to_freq", x=x)


def freq_to_midi(x: SignalLike) -> Signal:
    """Hz to a (fractional) MIDI note number."""
    return _node("freq_to_midi", "freq_to_midi", x=x)


def pan(x: SignalLike, pos: SignalLike) -> tuple[Signal, Signal]:
    """`x` placed in the stereo field: returns ``(left, right)``.

    `pos` runs from -1 (left) through 0 (centre, both at -3 dB) to 1
    (right); equal-power: the gains are the cosine and sine of
    ``(pos + 1) * pi / 4``. A signal `pos` is clipped to -1..1.
    """
    sig = _as_signal(x, "krs.pan", "x")
    if _is_number(pos):
        where = float(pos)  # type: ignore[arg-type]
        if not -1.0 <= where <= 1.0:
            raise ValueError(f"krs.pan: 'pos' is {where:g}; it must be -1 (left) to 1 (right)")
        angle = (where + 1.0) * math.pi / 4.0
        return sig * math.cos(angle), sig * math.sin(angle)
    angle_sig = (clip(_as_signal(pos, "krs.pan", "pos"), -1.0, 1.0) + 1.0) * (math.pi / 4.0)
    return sig * cos(angle_sig), sig * sin(angle_sig)


# ---------------------------------------------------------------------------
# Math (C semantics on 32-bit floats; see docs/signal-ir.md)
# ---------------------------------------------------------------------------


def _unary(name: str, op: str, doc: str) -> Callable[[SignalLike], Signal]:
    def fn(x: SignalLike) -> Signal:
        return _node(name, op, x=x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _binary(name: str, op: str, doc: str) -> Callable[[SignalLike, SignalLike], Signal]:
    def fn(a: SignalLike, b: SignalLike) -> Signal:
        return _node(name, op, a=a, b=b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


sin = _unary("sin", "sin", "Sine of `x` (radians).")
cos = _unary("cos", "cos", "Cosine of `x` (radians).")
tan = _unary("tan", "tan", "Tangent of `x` (radians).")
asin = _unary("asin", "asin", "Arc sine of `x`, in radians.")
acos = _unary("acos", "acos", "Arc cosine of `x`, in radians.")
atan = _unary("atan", "atan", "Arc tangent of `x`, in radians.")
exp = _unary("exp", "exp", "``e ** x``.")
log = _unary("log", "log", "Natural logarithm of `x`.")
log10 = _unary("log10", "log10", "Base-10 logarithm of `x`.")
sqrt = _unary("sqrt", "sqrt", "Square root of `x`.")
abs_ = _unary("abs_", "abs", "Absolute value of `x` (same as ``abs(x)``).")
floor = _unary("floor", "floor", "`x` rounded down to an integer.")
ceil = _unary("ceil", "ceil", "`x` rounded up to an integer.")
round_ = _unary("round_", "round", "`x` rounded to the nearest integer, halves away from zero.")
min_ = _binary("min_", "min", "The smaller of `a` and `b`, per sample.")
max_ = _binary("max_", "max", "The larger of `a` and `b`, per sample.")
pow_ = _binary("pow_", "pow", "``a ** b``.")
fmod = _binary("fmod", "fmod", "C's ``fmod(a, b)``: remainder with the sign of `a` (``%`` has the sign of `b`).")
remainder = _binary("remainder", "remainder", "C's ``remainder(a, b)``: ``a - b * round_half_even(a / b)``.")
atan2 = _binary("atan2", "atan2", "Angle of the point (`b`, `a`), i.e. ``atan(a / b)`` in the right quadrant.")


# ---------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------


def _function_name(fn: object) -> str:
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def _input_count(fn: Callable[..., Any], name: str) -> int:
    """The number of audio inputs of `fn`: its positional parameters, which may have no defaults."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"cannot read the parameters of {name}; pass a Python function") from None
    count = 0
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if p.default is not p.empty:
                raise TypeError(
                    f"{name}(): parameter '{p.name}' has a default value, but every parameter of a synth "
                    f"function is an audio input (a Signal). For a setting, use "
                    f"krs.control({p.name!r}, init, lo, hi) inside the function"
                )
            count += 1
            if count > MAX_INPUTS:
                raise TypeError(
                    f"{name}() has more than {MAX_INPUTS} parameters; a synth takes at most "
                    f"{MAX_INPUTS} audio inputs"
                )
        else:
            kind = {p.KEYWORD_ONLY: "keyword-only parameter", p.VAR_POSITIONAL: "*parameter",
                    p.VAR_KEYWORD: "**parameter"}[p.kind]
            raise TypeError(
                f"{name}(): {kind} '{p.name}' is not allowed: the parameters of a synth function "
                f"are its audio inputs, one positional parameter each. For a setting, use krs.control(...)"
            )
    return count


def _outputs(result: object, name: str) -> list[Signal]:
    hint = "a synth function returns a Signal (mono) or a tuple of Signals (one per channel)"
    if result is None:
        raise TypeError(f"{name}() returned None; {hint}. Did you forget `return`?")
    channels = list(result) if isinstance(result, (tuple, list)) else [result]
    if not 1 <= len(channels) <= MAX_CHANNELS:
        raise ValueError(f"{name}() returned {len(channels)} channels; {hint}, 1 to {MAX_CHANNELS} of them")
    outputs = []
    for i, channel in enumerate(channels):
        if not (isinstance(channel, Signal) or _is_number(channel)):
            if isinstance(result, (tuple, list)):
                raise TypeError(f"{name}() returned a {_typename(result)} whose item {i} is "
                                f"{_typename(channel)}; {hint}")
            raise TypeError(f"{name}() returned {_typename(channel)}; {hint}")
        outputs.append(_as_signal(channel, f"{name}()", f"output {i}"))
    return outputs


class _Builder:
    """Serialises a graph: topological order, no dead code, identical nodes merged."""

    def __init__(self, name: str, inputs: int, controls: dict[str, Control]) -> None:
        self.name = name
        self.inputs = inputs
        self.controls = dict(controls)
        self.control_index = {n: i for i, n in enumerate(self.controls)}
        self.nodes: list[dict[str, Any]] = []
        self.by_key: dict[tuple[Any, ...], int] = {}
        self.by_sig: dict[int, int] = {}  # id(signal) -> node index
        self.open_loops: list[tuple[int, _FeedbackMem]] = []

    def index(self, root: Signal) -> int:
        """The node index of `root`, adding it and what it needs (iteratively: graphs can be deep)."""
        stack: list[tuple[Signal, bool]] = [(root, False)]
        while stack:
            sig, ready = stack.pop()
            if id(sig) in self.by_sig:
                continue
            if isinstance(sig, _FeedbackMem):
                # A leaf for now; its argument is filled in by `close_loops`, possibly forward.
                self.by_sig[id(sig)] = len(self.nodes)
                self.open_loops.append((len(self.nodes), sig))
                self.nodes.append({"op": "mem", "in": [None]})
            elif ready:
                self.by_sig[id(sig)] = self._add(sig, [self.by_sig[id(a)] for a in sig.args])
            else:
                stack.append((sig, True))
                stack.extend((a, False) for a in reversed(sig.args) if id(a) not in self.by_sig)
        return self.by_sig[id(root)]

    def close_loops(self) -> None:
        while self.open_loops:
            at, loop = self.open_loops.pop(0)
            if not loop.args:
                raise RuntimeError(f"{self.name}(): a krs.feedback loop was used before it was closed")
            self.nodes[at]["in"] = [self.index(loop.args[0])]

    def _add(self, sig: Signal, ins: list[int]) -> int:
        node: dict[str, Any] = {"op": sig.op}
        if sig.op == "const":
            value = sig.attrs["value"]
            key: tuple[Any, ...] = ("const", value, math.copysign(1.0, value))
            node["value"] = value
        elif sig.op == "input":
            index = sig.attrs["index"]
            if index >= self.inputs:
                raise ValueError(
                    f"{self.name}(): uses audio input {index}, but the function has {self.inputs} "
                    f"input parameter(s) (a signal from another synth's trace?)"
                )
            key = ("input", index)
            node["index"] = index
        elif sig.op == "control":
            ctl: Control = sig.attrs["control"]
            _declare(self.controls, ctl)  # a control made outside this trace joins here
            index = self.control_index.setdefault(ctl.name, len(self.control_index))
            key = ("control", index)
            node["index"] = index
        else:
            key = (sig.op, tuple(ins), tuple(sorted(sig.attrs.items())))
            if ins:
                node["in"] = ins
            node.update((k, list(v) if isinstance(v, tuple) else v) for k, v in sig.attrs.items())
        found = self.by_key.get(key)
        if found is not None:
            return found
        self.by_key[key] = len(self.nodes)
        self.nodes.append(node)
        return len(self.nodes) - 1


def trace(fn: Callable[..., Any]) -> dict[str, Any]:
    """Run the synth function `fn` once with symbolic inputs; return its signal IR.

    Each positional parameter of `fn` is an audio input; the result is a
    Signal (mono) or a tuple of 1 to 8 Signals or numbers (one per channel).
    The IR (docs/signal-ir.md) lists only the nodes the outputs depend on,
    each distinct node once, in an order where every node follows its inputs
    (only a `feedback` loop's ``mem`` may point forward). Tracing the same
    function again gives the same IR. An exception raised inside `fn` comes
    out unchanged, with a note naming the function.
    """
    if not callable(fn):
        raise TypeError(f"expected a synth function, got {_typename(fn)}")
    name = _function_name(fn)
    inputs = _input_count(fn, name)
    state = _Trace(name)
    token = _current.set(state)
    try:
        try:
            result = fn(*(Signal("input", (), {"index": i}) for i in range(inputs)))
        except Exception as err:
            err.add_note(f"(raised while tracing the synth function {name}(); krach runs it once with symbolic signals)")
            raise
    finally:
        _current.reset(token)
    outputs = _outputs(result, name)
    builder = _Builder(name, inputs, state.controls)
    out_indices = [builder.index(sig) for sig in outputs]
    builder.close_loops()
    return {
        "krach_ir": IR_VERSION,
        "inputs": inputs,
        "controls": [ctl.ir() for ctl in builder.controls.values()],
        "nodes": builder.nodes,
        "outputs": out_indices,
    }


class Dsp:
    """A traced synth function: what `kr.dsp(fn)` returns and `kr.node` accepts.

    ``ir`` is the signal IR (treat it as read-only), ``inputs`` the number of
    audio inputs, ``outputs`` the number of channels and ``controls`` the
    declared `Control` s in order. ``source`` is the function's source text
    when Python can find it (``None`` for functions typed into a plain
    console), kept so a session can be exported.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn: Callable[..., Any] | None = fn
        self.name = _function_name(fn)
        self.ir: dict[str, Any] = trace(fn)
        self.session: _Requester | None = None
        try:
            self.source: str | None = inspect.getsource(fn)
        except (OSError, TypeError):
            self.source = None

    @classmethod
    def from_ir(cls, ir: Mapping[str, Any], name: str = "from_ir") -> Dsp:
        """A `Dsp` for signal IR given as data; see the module function `from_ir`."""
        dsp = cls.__new__(cls)
        dsp.fn = None
        dsp.name = name
        dsp.ir = _checked_ir(ir, name)
        dsp.source = None
        dsp.session = None
        return dsp

    @property
    def inputs(self) -> int:
        return int(self.ir["inputs"])

    @property
    def outputs(self) -> int:
        return len(self.ir["outputs"])

    @property
    def controls(self) -> tuple[Control, ...]:
        return tuple(Control(**c) for c in self.ir["controls"])

    def control(self, name: str) -> Control | None:
        """The control called `name`, or None."""
        return next((c for c in self.controls if c.name == name), None)

    @property
    def faust(self) -> str:
        """This synth as a FAUST program (docs/faust.md#export), written by the engine.

        The session's engine writes it when this `Dsp` came from ``kr.dsp``;
        otherwise the engine binary does (``krach-engine --faust-export -``).
        The program compiles with ``faust -double``. Raises `KrachError`
        ``bad_ir`` for an IR the engine refuses.
        """
        if self.session is not None:
            return str(self.session.request("faust_export", ir=self.ir)["faust"])
        return _faust_export_offline(self.ir)

    def __repr__(self) -> str:
        names = " ".join(c.name for c in self.controls) or "none"
        return f"<Dsp {self.name}: {self.inputs} in, {self.outputs} out, controls: {names}>"


class _Requester(Protocol):
    """What `Dsp.faust` needs of a session: one protocol request."""

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]: ...


def _faust_export_offline(ir: Mapping[str, Any]) -> str:
    """The FAUST program for `ir`, from the engine binary run once (no audio)."""
    import json
    import subprocess

    from .engine import find_engine
    from .errors import KrachError

    proc = subprocess.run([find_engine(), "--faust-export", "-"], input=json.dumps(ir),
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        message = proc.stderr.strip().removeprefix("krach-engine: -: ")
        raise KrachError("bad_ir", message or f"krach-engine --faust-export failed ({proc.returncode})")
    return proc.stdout


def from_ir(ir: Mapping[str, Any], name: str = "from_ir") -> Dsp:
    """A `Dsp` made from signal IR given as data, for ``kr.node`` like a traced function.

    ``kr.export`` writes this for a node whose synth function this session
    does not have (a node made by another client, or before ``kr.pull``)::

        pad = krs.from_ir({"krach_ir": 1, "inputs": 0, "controls": [],
                           "nodes": [{"op": "const", "value": 220.0},
                                     {"op": "saw", "in": [0]}],
                           "outputs": [1]}, name="pad")
        kr.node("pad", pad, gain=0.3)

    The IR (docs/signal-ir.md) is copied and its outline checked here; the
    engine validates the rest when the node is made. `name` is what error
    messages and ``repr`` call it.
    """
    return Dsp.from_ir(ir, name)


def _checked_ir(ir: object, name: str) -> dict[str, Any]:
    """A deep copy of `ir` after checking its outline (the engine checks the graph)."""
    where = f"krs.from_ir({name!r})"
    if not isinstance(ir, Mapping):
        raise TypeError(f"{where}: the IR must be a dict (docs/signal-ir.md), got {_typename(ir)}")
    if ir.get("krach_ir") != IR_VERSION:
        raise ValueError(f"{where}: 'krach_ir' must be {IR_VERSION}, got {ir.get('krach_ir')!r}")
    fields = {"inputs": int, "controls": list, "nodes": list, "outputs": list}
    for key, kind in fields.items():
        if not isinstance(ir.get(key), kind) or isinstance(ir.get(key), bool):
            raise TypeError(f"{where}: field '{key}' must be a {kind.__name__}, got {_typename(ir.get(key))}")
    for i, ctl in enumerate(ir["controls"]):
        if not isinstance(ctl, Mapping) or not {"name", "init", "lo", "hi"} <= ctl.keys():
            raise ValueError(f"{where}: controls[{i}] needs 'name', 'init', 'lo' and 'hi'")
    copied: dict[str, Any] = copy.deepcopy(dict(ir))
    return copied


__all__ = [
    "Control", "Dsp", "Signal", "SignalLike", "trace", "control", "from_ir",
    "sine_osc", "saw", "square", "triangle", "pulse", "phasor", "lfo", "white_noise", "pink_noise",
    "wavetable", "lowpass", "highpass", "bandpass", "resonant", "onepole", "dcblock", "smooth",
    "adsr", "ar", "decay", "trigger", "latch", "delay", "echo", "reverb", "chorus", "flanger",
    "rdtable", "rwtable", "mem", "unit_delay", "feedback", "select2", "sr", "sample_rate",
    "clip", "lerp", "wrap", "db_to_linear", "linear_to_db", "midi_to_freq", "freq_to_midi", "pan",
    "sin", "cos", "tan", "asin", "acos", "atan", "exp", "log", "log10", "sqrt", "abs_", "floor",
    "ceil", "round_", "min_", "max_", "pow_", "fmod", "remainder", "atan2", "faust_expr",
]
