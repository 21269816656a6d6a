"""krp (krach.pattern) and the pattern side of kr, without an engine.

The pattern IR is checked as exact dicts against docs/pattern-ir.md; the
session's requests (play, hush, tempo, wait, ...) against a fake client that
records them and answers like docs/protocol.md says the engine does. What the
patterns *mean* is the engine's business and is tested end to end in
test_e2e_patterns.py.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from krach import KrachError, Session
from krach import pattern as krp
from krach import repl
from krach.cli import build_parser
from krach.events import Event, format_events, timeline
from krach.pattern import Pattern

HIT = {"op": "atom", "value": {"gate": 1}}
REST = {"op": "silence"}


def atom(**value: Any) -> dict[str, Any]:
    return {"op": "atom", "value": value}


def mini(text: str) -> dict[str, Any]:
    return {"op": "mini", "text": text}


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def test_hit_and_rest():
    assert krp.hit().ir() == HIT
    assert krp.hit("trig").ir() == atom(trig=1)
    assert krp.rest().ir() == REST


def test_note_pitches():
    assert krp.note("A2").ir() == atom(note="A2")
    assert krp.note("C#4").ir() == atom(note="C#4")
    assert krp.note("Bb-1").ir() == atom(note="Bb-1")
    assert krp.note(45).ir() == atom(note=45)
    assert krp.note(110.0).ir() == atom(freq=110.0)
    assert krp.note(Fraction(441, 2)).ir() == atom(freq=220.5)  # only ints are MIDI numbers


def test_note_velocity_and_params():
    assert krp.note("A2", vel=1.0).ir() == atom(note="A2")  # the default is not sent
    assert krp.note("A2", vel=0.5).ir() == atom(note="A2", vel=0.5)
    assert krp.note("A2", cutoff=1200, room=0.5).ir() == atom(note="A2", cutoff=1200, room=0.5)


def test_note_chord_is_a_stack_of_atoms():
    assert krp.note("C4", "E4", "G4", vel=0.8).ir() == {
        "op": "stack",
        "args": [atom(note="C4", vel=0.8), atom(note="E4", vel=0.8), atom(note="G4", vel=0.8)],
    }


def test_seq_items():
    assert krp.seq("A2", "D3", None, "E2").ir() == {
        "op": "seq", "args": [atom(note="A2"), atom(note="D3"), REST, atom(note="E2")]}
    assert krp.seq(45, 110.0, krp.note("C4", "E4"), krp.hit()).ir() == {
        "op": "seq",
        "args": [atom(note=45), atom(freq=110.0),
                 {"op": "stack", "args": [atom(note="C4"), atom(note="E4")]}, HIT],
    }
    assert krp.seq("A2").ir() == {"op": "seq", "args": [atom(note="A2")]}


def test_mini():
    assert krp.p("x ~ [x x]").ir() == mini("x ~ [x x]")


@pytest.mark.parametrize("shape", ["sine", "tri", "ramp", "ramp_down", "square", "exp"])
def test_continuous_shapes(shape: str):
    build = getattr(krp, shape)
    assert build(200, 2000).ir() == {"op": "signal", "shape": shape, "lo": 200, "hi": 2000}
    assert build().ir() == {"op": "signal", "shape": shape, "lo": 0.0, "hi": 1.0}
    assert build(0.5, Fraction(3, 4)).ir()["hi"] == 0.75


def test_rand_has_a_seed():
    assert krp.rand(1, 2).ir() == {"op": "signal", "shape": "rand", "lo": 1, "hi": 2, "seed": 0}
    assert krp.rand(0, 1, seed=7).ir()["seed"] == 7


def test_cat_stack_struct():
    a, b = krp.hit(), krp.note("A2")
    assert krp.cat(a, b, None).ir() == {"op": "cat", "args": [HIT, atom(note="A2"), REST]}
    assert krp.stack(a, "x ~").ir() == {"op": "stack", "args": [HIT, mini("x ~")]}
    assert krp.struct("x ~ x x", krp.seq("A2", "E2")).ir() == {
        "op": "struct", "rhythm": mini("x ~ x x"),
        "arg": {"op": "seq", "args": [atom(note="A2"), atom(note="E2")]},
    }
    assert krp.struct(krp.hit() * 2, "A2 E2").ir() == {
        "op": "struct", "rhythm": {"op": "fast", "factor": 2, "arg": HIT}, "arg": mini("A2 E2")}


# ---------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------


def test_plus_is_a_sequence_of_equal_shares():
    assert (krp.rest() + krp.hit()).ir() == {"op": "seq", "args": [REST, HIT]}
    # chains are flat: a + b + c is thirds, whatever the grouping
    flat = {"op": "seq", "args": [HIT, REST, atom(note="A2")]}
    assert (krp.hit() + krp.rest() + krp.note("A2")).ir() == flat
    assert (krp.hit() + (krp.rest() + krp.note("A2"))).ir() == flat
    # ... but an explicit seq, or a pattern made from a chain, stays one step
    assert (krp.seq("A2", "E2") + krp.hit()).ir() == {
        "op": "seq", "args": [{"op": "seq", "args": [atom(note="A2"), atom(note="E2")]}, HIT]}
    assert ((krp.hit() + krp.rest()).fast(1) + krp.hit())._ir["args"][1] == HIT


def test_plus_and_or_take_mini_strings_and_none():
    assert (krp.hit() + "x ~").ir() == {"op": "seq", "args": [HIT, mini("x ~")]}
    assert ("x ~" + krp.hit()).ir() == {"op": "seq", "args": [mini("x ~"), HIT]}
    assert (krp.hit() + None).ir() == {"op": "seq", "args": [HIT, REST]}
    assert ("A2" | krp.hit()).ir() == {"op": "stack", "args": [mini("A2"), HIT]}


def test_or_is_a_stack():
    assert (krp.hit() | krp.note("A2") | krp.rest()).ir() == {
        "op": "stack", "args": [HIT, atom(note="A2"), REST]}
    mixed = (krp.hit() | krp.rest()) + krp.hit()
    assert mixed.ir() == {"op": "seq", "args": [{"op": "stack", "args": [HIT, REST]}, HIT]}


def test_times_is_fast():
    assert (krp.hit() * 4).ir() == {"op": "fast", "factor": 4, "arg": HIT}
    assert (4 * krp.hit()).ir() == (krp.hit() * 4).ir()
    assert (krp.hit() * Fraction(3, 2)).ir() == {"op": "fast", "factor": "3/2", "arg": HIT}
    assert (krp.hit() * 0.5).ir()["factor"] == 0.5


def test_operator_errors():
    with pytest.raises(TypeError, match=r"pattern \+ int.*pattern \* n"):
        krp.hit() + 4
    with pytest.raises(TypeError, match=r"pattern \| float"):
        krp.hit() | 1.5
    with pytest.raises(TypeError, match="n must be a number"):
        krp.hit() * krp.hit()
    with pytest.raises(TypeError, match="n must be a number"):
        krp.hit() * "4"
    with pytest.raises(ValueError, match=r"pattern \* n: 'n' is 0; it must be greater than 0"):
        krp.hit() * 0
    with pytest.raises(ValueError, match="greater than 0"):
        -2 * krp.hit()


# ---------------------------------------------------------------------------
# The seed's lines
# ---------------------------------------------------------------------------


def test_seed_kick_four_on_the_floor():
    assert (krp.hit() * 4).ir() == {"op": "fast", "factor": 4, "arg": HIT}


def test_seed_offbeat_hats_are_four_rest_hit_pairs():
    assert ((krp.rest() + krp.hit()) * 4).ir() == {
        "op": "fast", "factor": 4, "arg": {"op": "seq", "args": [REST, HIT]}}


def test_seed_bass_line_over_two_cycles():
    assert krp.seq("A2", "D3", None, "E2").over(2).ir() == {
        "op": "slow", "factor": 2,
        "arg": {"op": "seq", "args": [atom(note="A2"), atom(note="D3"), REST, atom(note="E2")]},
    }


def test_seed_cutoff_sweep():
    assert krp.sine(200, 2000).over(4).ir() == {
        "op": "slow", "factor": 4, "arg": {"op": "signal", "shape": "sine", "lo": 200, "hi": 2000}}


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


def test_time_methods():
    h = krp.hit()
    assert h.fast(2).ir() == {"op": "fast", "factor": 2, "arg": HIT}
    assert h.slow(3).ir() == {"op": "slow", "factor": 3, "arg": HIT}
    assert h.over(3).ir() == h.slow(3).ir()
    assert h.shift("1/4").ir() == {"op": "shift", "by": "1/4", "arg": HIT}
    assert h.shift(-0.5).ir() == {"op": "shift", "by": -0.5, "arg": HIT}
    assert h.reverse().ir() == {"op": "rev", "arg": HIT}
    assert h.swing().ir() == {"op": "swing", "amount": "67/100", "grid": 8, "arg": HIT}
    assert h.swing(0.75, 4).ir() == {"op": "swing", "amount": 0.75, "grid": 4, "arg": HIT}
    assert h.swing("2/3").ir()["amount"] == "2/3"


def test_structure_methods():
    h = krp.hit()
    assert h.spread(3, 8).ir() == {"op": "euclid", "k": 3, "n": 8, "rotation": 0, "arg": HIT}
    assert h.spread(5, 8, rotation=2).ir()["rotation"] == 2
    assert h.spread(-3, 8).ir()["k"] == -3
    assert h.thin(0.25).ir() == {"op": "degrade", "prob": 0.25, "seed": 0, "arg": HIT}
    assert h.thin(0.5, seed=3).ir()["seed"] == 3
    assert h.mask("1 0 x .").ir() == {"op": "mask", "mask": mini("1 0 x ."), "arg": HIT}
    assert h.mask(krp.hit() + krp.rest()).ir() == {
        "op": "mask", "mask": {"op": "seq", "args": [HIT, REST]}, "arg": HIT}


def test_every_builds_then_with_a_self_placeholder():
    calls: list[Pattern] = []

    def double(p: Pattern) -> Pattern:
        calls.append(p)
        return p.fast(2)

    base = krp.p("x . x x")
    result = base.every(4, double)
    assert len(calls) == 1 and calls[0].ir() == {"op": "self"}, "fn runs once, on the placeholder"
    assert result.ir() == {
        "op": "every", "n": 4, "offset": 0,
        "then": {"op": "fast", "factor": 2, "arg": {"op": "self"}},
        "arg": mini("x . x x"),
    }
    assert base.every(3, lambda p: p.reverse() + "x", offset=1).ir() == {
        "op": "every", "n": 3, "offset": 1,
        "then": {"op": "seq", "args": [{"op": "rev", "arg": {"op": "self"}}, mini("x")]},
        "arg": mini("x . x x"),
    }
    assert base.every(2, lambda p: "x*8").ir()["then"] == mini("x*8")


def test_sometimes_and_nested_transforms():
    h = krp.hit() * 4
    assert h.sometimes(0.5, lambda p: p.shift("1/8"), seed=2).ir() == {
        "op": "sometimes", "prob": 0.5, "seed": 2,
        "then": {"op": "shift", "by": "1/8", "arg": {"op": "self"}},
        "arg": {"op": "fast", "factor": 4, "arg": HIT},
    }
    nested = h.every(2, lambda p: p.every(3, lambda q: q.fast(2)))
    assert nested.ir()["then"] == {
        "op": "every", "n": 3, "offset": 0,
        "then": {"op": "fast", "factor": 2, "arg": {"op": "self"}}, "arg": {"op": "self"}}
    with pytest.raises(ValueError, match="outer every"):
        h.every(2, lambda p: krp.hit().every(3, lambda q: p))


def test_the_placeholder_cannot_be_played():
    leaked: list[Pattern] = []
    krp.hit().every(2, lambda p: leaked.append(p) or p)  # type: ignore[func-returns-value]
    with pytest.raises(ValueError, match="placeholder"):
        krp.wire_fields(leaked[0] + krp.hit(), "kr.play")


def test_transform_errors():
    with pytest.raises(TypeError, match="Pattern.every: 'fn' must be a function"):
        krp.hit().every(2, krp.hit())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Pattern.every: 'fn' must return a pattern, but it returned int"):
        krp.hit().every(2, lambda p: 3)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="Pattern.every: 'n' is 0; it must be at least 1"):
        krp.hit().every(0, lambda p: p)
    with pytest.raises(TypeError, match="Pattern.every: 'n' must be a whole number, got float"):
        krp.hit().every(2.0, lambda p: p)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Pattern.sometimes: 'prob' is 1.5; it must be 0 to 1"):
        krp.hit().sometimes(1.5, lambda p: p)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: krp.note(), TypeError, "krp.note: give at least one pitch"),
    (lambda: krp.note("H2"), ValueError, "krp.note: pitch 'H2' is not a note name"),
    (lambda: krp.note(-5.0), ValueError, "krp.note: pitch is -5.0 Hz"),
    (lambda: krp.note(True), TypeError, "krp.note: pitch must be a note name"),
    (lambda: krp.note("A2", vel=2), ValueError, "krp.note: 'vel' is 2; it must be 0 to 1"),
    (lambda: krp.note("A2", freq=100), ValueError, "give the pitch as an argument"),
    (lambda: krp.note("A2", cutoff="x"), TypeError, "krp.note: 'cutoff' must be a number"),
    (lambda: krp.note("A2", cutoff=math.nan), ValueError, "'cutoff' is nan"),
    (lambda: krp.seq(), TypeError, "krp.seq: give at least one item"),
    (lambda: krp.seq("A2 D3"), ValueError, r"kr.p\('A2 D3'\)"),
    (lambda: krp.seq("A2", [1, 2]), TypeError, "krp.seq: item 1 must be"),
    (lambda: krp.hit("bad name"), ValueError, "krp.hit: 'param' must be a control name"),
    (lambda: krp.p(3), TypeError, "krp.p: the mini-notation must be a string"),
    (lambda: krp.sine("low", 3), TypeError, "krp.sine: 'lo' must be a number"),
    (lambda: krp.rand(0, 1, seed=-1), ValueError, "krp.rand: 'seed' is -1"),
    (lambda: krp.cat(), TypeError, "krp.cat: give at least one pattern"),
    (lambda: krp.stack(krp.hit(), 3), TypeError, "krp.stack: 'pattern 1' must be a pattern"),
    (lambda: krp.struct(3, "x"), TypeError, "krp.struct: 'rhythm' must be a pattern"),
    (lambda: krp.hit().fast(0), ValueError, "Pattern.fast: 'n' is 0; it must be greater than 0"),
    (lambda: krp.hit().slow(-1), ValueError, "Pattern.slow: 'n' is -1"),
    (lambda: krp.hit().over("x"), ValueError, "Pattern.over: 'n' is 'x'; a time is a number"),
    (lambda: krp.hit().fast(math.inf), ValueError, "Pattern.fast: 'n' is inf"),
    (lambda: krp.hit().fast(None), TypeError, "Pattern.fast: 'n' must be a number of cycles"),
    (lambda: krp.hit().shift(True), TypeError, "Pattern.shift: 't' must be a number of cycles"),
    (lambda: krp.hit().spread(9, 8), ValueError, "Pattern.spread: 'k' is 9; it must be -8 to 8"),
    (lambda: krp.hit().spread(3, 0), ValueError, "Pattern.spread: 'n' is 0"),
    (lambda: krp.hit().spread(3, 8, 1.5), TypeError, "Pattern.spread: 'rotation' must be a whole number"),
    (lambda: krp.hit().thin(-0.1), ValueError, "Pattern.thin: 'prob' is -0.1"),
    (lambda: krp.hit().mask(None), TypeError, "Pattern.mask: 'mask' must be a pattern"),
    (lambda: krp.hit().mask(5), TypeError, "Pattern.mask: 'mask' must be a pattern"),
    (lambda: krp.hit().swing(0.3), ValueError, "Pattern.swing: 'amount' is 0.3; it must be 0.5 to 0.99"),
    (lambda: krp.hit().swing(0.6, 0), ValueError, "Pattern.swing: 'grid' is 0"),
])
def test_validation_errors_name_the_method_and_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------
# Exact time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("given, sent", [
    (3, 3), (-2, -2), (2.0, 2), (0.25, 0.25), (-0.375, -0.375), (2 ** -20, 2 ** -20),
    (0.1, "1/10"), (1 / 3, "1/3"), (2 / 3, "2/3"), (0.67, "67/100"), (3 * 2 ** -20, 3 * 2 ** -20),
    (Fraction(1, 3), "1/3"), (Fraction(4, 2), 2), ("1/3", "1/3"), ("2/4", "1/2"), ("3", 3),
    (" 0.5 ", "1/2"),
])
def test_time_conversion_is_exact(given, sent):
    assert krp.time_json(given) == sent
    assert krp.hit().fast(given).ir()["factor"] == sent if Fraction(str(given).strip()) > 0 else True


def test_time_limits():
    with pytest.raises(ValueError, match="64-bit"):
        krp.time_json(Fraction(1, 2 ** 64))
    with pytest.raises(ValueError, match="too small"):
        krp.time_json(2 ** -21)
    with pytest.raises(ValueError, match="'t' is '1/0'"):
        krp.time_json("1/0")


# ---------------------------------------------------------------------------
# The Pattern object
# ---------------------------------------------------------------------------


def test_patterns_are_immutable_values():
    a = krp.seq("A2", None)
    with pytest.raises(AttributeError, match="immutable"):
        a._ir = {}  # type: ignore[misc]
    ir = a.ir()
    ir["args"].clear()
    assert len(a.ir()["args"]) == 2, "ir() hands out a copy"
    assert a == krp.seq("A2", None) and hash(a) == hash(krp.seq("A2", None))
    assert a != krp.seq("A2") and (a == "A2 ~") is False
    assert json.loads(json.dumps(a.ir())) == a.ir()


@pytest.mark.parametrize("expr", [
    "kr.hit() * 4",
    "(kr.rest() + kr.hit()) * 4",
    "kr.seq('A2', 'D3', None, 'E2').over(2)",
    "kr.sine(200, 2000).over(4)",
    "kr.hit() + kr.rest() + kr.note('A2')",
    "(kr.hit() | kr.rest()) + kr.hit()",
    "kr.hit() | kr.rest() + kr.hit()",
    "(kr.hit() + kr.rest()).fast(2)",
    "kr.note('C4', 'E4', vel=0.5, cutoff=1200)",
    "kr.hit('trig')",
    "kr.rand(0, 1, seed=3)",
    "kr.p('x ~ x').every(4, lambda p: p.fast(2))",
    "kr.p('x ~ x').every(4, lambda p: p.reverse() + kr.p('x'), offset=1)",
    "kr.hit().sometimes(0.5, lambda p: p.shift('1/8'), seed=2)",
    "kr.hit().spread(3, 8, rotation=1).thin(0.25).swing(0.6, grid=4)",
    "kr.hit().swing()",
    "kr.hit().swing('2/3')",
    "kr.hit().mask('1 0 x .')",
    "kr.cat(kr.hit(), 'x ~', None)",
    "kr.struct('x ~ x', kr.seq('A2', 'E2'))",
    "kr.seq(kr.hit() * 2, 45, 110.0)",
])
def test_repr_is_the_builder_expression(expr: str):
    built = eval(expr, {"kr": krp})
    assert repr(built) == expr
    assert eval(repr(built), {"kr": krp}) == built


def test_repr_of_mini_operands():
    assert repr(krp.hit() + "x ~") == "kr.hit() + kr.p('x ~')"
    assert repr(4 * krp.hit()) == "kr.hit() * 4"


# ---------------------------------------------------------------------------
# Session: a fake engine
# ---------------------------------------------------------------------------


class FakeEngine:
    """Records requests; answers like docs/protocol.md, with a toy offline clock.

    The clock is a cycle counter moved by ``render`` (``cycles`` or
    ``seconds``/``frames`` at 120 BPM 4/4, 48 kHz: one cycle = 96000 frames).
    """

    address = "fake"
    SR = 48000
    FRAMES_PER_CYCLE = 96000

    def __init__(self, backend: str = "offline") -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.backend = backend
        self.position = 0
        self.events: list[dict[str, Any]] = []
        self.queries: list[list[dict[str, Any]]] = []  # answers to successive queries, if given
        self.files: dict[str, int] = {}

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        self.sent.append((cmd, fields))
        if cmd == "status":
            return {"ok": True, "backend": self.backend, "sample_rate": self.SR}
        if cmd in ("tempo", "meter"):
            return {"ok": True, "bpm": fields.get("bpm", 120), "beats": fields.get("beats", 4)}
        if cmd == "transport":
            cycle = Fraction(self.position, self.FRAMES_PER_CYCLE)
            return {"ok": True, "sample": self.position, "cycle": str(cycle), "bpm": 120, "beats": 4}
        if cmd == "render":
            if "cycles" in fields:
                frames = math.ceil(Fraction(fields["cycles"]) * self.FRAMES_PER_CYCLE)
            elif "seconds" in fields:
                frames = round(fields["seconds"] * self.SR)
            else:
                frames = fields["frames"]
            self.position += frames
            if "path" in fields:
                path = fields["path"]
                if fields.get("append"):
                    assert path in self.files, "append to a file that was never started"
                    self.files[path] += frames
                else:
                    self.files[path] = frames
            return {"ok": True, "frames": frames, "position": self.position, **fields}
        if cmd == "query":
            return {"ok": True, "events": self.queries.pop(0) if self.queries else self.events}
        if cmd == "hush":
            return {"ok": True, "hushed": [fields["target"]]}
        if cmd == "play":
            return {"ok": True, "target": fields["target"], "start": "1", "tag": 1}
        return {"ok": True, **fields}

    def close(self) -> None:
        pass

    def last(self, cmd: str) -> dict[str, Any]:
        return [fields for c, fields in self.sent if c == cmd][-1]


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def kr(fake: FakeEngine) -> Session:
    return Session(fake)  # type: ignore[arg-type]


def test_every_builder_is_reachable_as_kr_name(kr: Session):
    for name in krp.BUILDERS:
        assert getattr(kr, name) is getattr(krp, name), name
    assert kr.hit() * 4 == krp.hit() * 4
    assert "krp" in repl.namespace(kr) and repl.namespace(kr)["krp"] is krp


def test_node_at_pattern_plays_it(kr: Session, fake: FakeEngine):
    k = _node(kr, "kick")
    pattern = k @ (kr.hit() * 4)
    assert fake.sent[-1] == ("play", {"target": "kick", "pattern": (krp.hit() * 4).ir()})
    assert pattern == krp.hit() * 4, "@ returns the pattern"
    assert kr.pattern("kick") == pattern and k.pattern == pattern


def test_node_at_mini_sends_mini(kr: Session, fake: FakeEngine):
    bass = _node(kr, "bass")
    result = bass @ "A2 D3 ~ E2"
    assert fake.sent[-1] == ("play", {"target": "bass", "mini": "A2 D3 ~ E2"})
    assert result == krp.p("A2 D3 ~ E2") and kr.pattern("bass") == krp.p("A2 D3 ~ E2")


def test_node_at_control_tuple_plays_on_the_control(kr: Session, fake: FakeEngine):
    b = _node(kr, "bass")
    b @ ("cutoff", kr.sine(200, 2000).over(4))
    assert fake.sent[-1] == ("play", {"target": "bass/cutoff",
                                      "pattern": krp.sine(200, 2000).over(4).ir()})
    b @ ("cutoff", "200 400")
    assert fake.sent[-1] == ("play", {"target": "bass/cutoff", "mini": "200 400"})
    assert kr.pattern("bass/cutoff") == krp.p("200 400")
    with pytest.raises(TypeError, match=r"bass @ \(\.\.\.\): write \(control, pattern\)"):
        b @ ("cutoff",)


def test_node_at_none_hushes(kr: Session, fake: FakeEngine):
    b = _node(kr, "bass")
    b @ kr.seq("A2")
    b @ ("cutoff", kr.sine())
    assert (b @ None) is None
    assert fake.sent[-1] == ("hush", {"target": "bass"})
    assert kr.pattern("bass") is None and kr.pattern("bass/cutoff") is None


def test_play_options(kr: Session, fake: FakeEngine):
    kr.play("bass", kr.seq("A2", None), from_zero=True)
    assert fake.sent[-1] == ("play", {"target": "bass", "pattern": krp.seq("A2", None).ir(),
                                      "from_zero": True})
    played = kr.play("hat", "x*8", swing=0.6)
    assert fake.sent[-1] == ("play", {"target": "hat", "pattern": {
        "op": "swing", "amount": "3/5", "grid": 8, "arg": mini("x*8")}})
    assert played == krp.p("x*8").swing(0.6) == kr.pattern("hat")
    assert kr.play("hat", None) is None and fake.sent[-1] == ("hush", {"target": "hat"})
    with pytest.raises(TypeError, match="kr.play: the pattern must be"):
        kr.play("bass", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="kr.play: the target"):
        kr.play("", "x")


def test_a_failed_play_keeps_the_mirror(kr: Session, fake: FakeEngine):
    kr.play("bass", "A2")

    def refuse(cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        raise KrachError("unknown_node", "unknown node 'bass'; known nodes: none")

    fake.request = refuse  # type: ignore[method-assign]
    with pytest.raises(KrachError, match="unknown node"):
        kr.play("bass", "E2")
    assert kr.pattern("bass") == krp.p("A2")


def test_hush_groups_and_stop(kr: Session, fake: FakeEngine):
    for target in ("drums/kick", "drums/hat", "drums/hat/cutoff", "drumsolo", "bass"):
        kr.play(target, "x")
    kr.hush("drums")
    assert fake.sent[-1] == ("hush", {"target": "drums"})
    assert set(kr.patterns) == {"drumsolo", "bass"}
    kr.stop()
    assert fake.sent[-1] == ("stop", {}) and kr.patterns == {}


def test_tempo_and_meter(kr: Session, fake: FakeEngine):
    kr.tempo = 128
    assert fake.sent[-1] == ("tempo", {"bpm": 128})
    assert kr.tempo == 120.0 and fake.sent[-1] == ("tempo", {})
    kr.meter = 3
    assert fake.sent[-1] == ("meter", {"beats": 3})
    assert kr.meter == 4
    with pytest.raises(TypeError, match="kr.tempo"):
        kr.tempo = "fast"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="kr.tempo"):
        kr.tempo = math.nan
    with pytest.raises(TypeError, match="kr.meter"):
        kr.meter = 3.5  # type: ignore[assignment]


def test_mod_and_fade(kr: Session, fake: FakeEngine):
    kr.mod("bass/cutoff", "sine", lo=200, hi=2000, bars=4)
    assert fake.sent[-1] == ("mod", {"target": "bass/cutoff", "shape": "sine", "lo": 200,
                                     "hi": 2000, "bars": 4})
    kr.fade("bass/gain", 0.0, bars=Fraction(1, 2))
    assert fake.sent[-1] == ("fade", {"target": "bass/gain", "value": 0.0, "bars": "1/2"})
    with pytest.raises(ValueError, match="kr.mod: shape 'saw'"):
        kr.mod("bass/cutoff", "saw", 0, 1, 1)
    with pytest.raises(ValueError, match="'node/control'"):
        kr.fade("bass", 0, 1)
    with pytest.raises(ValueError, match="kr.fade: 'bars' is 0"):
        kr.fade("bass/gain", 0, 0)


def test_wait_on_an_offline_engine_renders_without_a_file(kr: Session, fake: FakeEngine):
    kr.wait(bars=2)
    assert fake.last("render") == {"cycles": 2}
    kr.wait(seconds=0.5)
    assert fake.last("render") == {"seconds": 0.5}
    kr.wait(bars=Fraction(1, 3))
    assert fake.last("render") == {"cycles": "1/3"}
    assert [c for c, _ in fake.sent].count("status") == 1, "the backend is asked once"


def test_wait_goes_to_the_render_sink(kr: Session, fake: FakeEngine):
    spans: list[dict[str, Any]] = []
    kr.render_sink = lambda span: spans.append(dict(span))
    kr.wait(bars=4)
    kr.wait(seconds=1.5)
    assert spans == [{"cycles": 4}, {"seconds": 1.5}]
    assert not any(c == "render" for c, _ in fake.sent)


def test_wait_on_a_live_engine_sleeps(monkeypatch):
    fake = FakeEngine(backend="null")
    kr = Session(fake)  # type: ignore[arg-type]
    slept: list[float] = []
    monkeypatch.setattr("krach.session.time.sleep", slept.append)
    kr.wait(bars=2)  # 2 bars of 4 beats at 120 BPM
    kr.wait(seconds=0.25)
    assert slept == [4.0, 0.25]
    assert not any(c == "render" for c, _ in fake.sent)


def test_wait_errors(kr: Session):
    with pytest.raises(TypeError, match="kr.wait: give bars=N or seconds=S"):
        kr.wait()
    with pytest.raises(TypeError, match="one of them"):
        kr.wait(bars=1, seconds=1)
    with pytest.raises(ValueError, match="kr.wait: 'bars' is -1"):
        kr.wait(bars=-1)
    with pytest.raises(ValueError, match="kr.wait: 'seconds'"):
        kr.wait(seconds=-1)


def test_render_cycles_field(kr: Session, fake: FakeEngine, tmp_path: Path):
    kr.render(tmp_path / "a.wav", cycles=Fraction(5, 2))
    assert fake.last("render") == {"path": str(tmp_path / "a.wav"), "cycles": "5/2"}


def _node(kr: Session, name: str):
    from krach import Node

    return Node(kr, name)


# ---------------------------------------------------------------------------
# Looking at patterns (through the fake engine)
# ---------------------------------------------------------------------------

QUARTERS = [
    {"whole": [f"{i}/4", f"{i + 1}/4"], "part": [f"{i}/4", f"{i + 1}/4"], "value": {"gate": 1},
     "label": "x"}
    for i in range(4)
]


def test_events_sends_query_and_reads_exact_times(kr: Session, fake: FakeEngine):
    fake.events = QUARTERS
    events = kr.events(kr.hit() * 4, 0, 1)
    assert fake.sent[-1] == ("query", {"pattern": (krp.hit() * 4).ir(), "from": 0, "to": 1})
    assert [e.whole for e in events] == [(Fraction(i, 4), Fraction(i + 1, 4)) for i in range(4)]
    assert events[0].value == {"gate": 1} and events[0].label == "x"
    assert events[0].has_onset and not events[0].is_fragment
    kr.events("x ~", "1/2", 2.5)
    assert fake.sent[-1] == ("query", {"mini": "x ~", "from": "1/2", "to": 2.5})
    with pytest.raises(ValueError, match="'b' must be after 'a'"):
        kr.events("x", 1, 1)


def test_pattern_events_uses_the_default_session(kr: Session, fake: FakeEngine):
    previous = krp.use_session(None)
    try:
        with pytest.raises(RuntimeError, match="kr.events"):
            krp.hit().events()
        repl.namespace(kr)  # the REPL and session files set it
        assert krp.current_session() is kr
        fake.events = QUARTERS[:1]
        assert len(krp.hit().events(0, "1/4")) == 1
        other = FakeEngine()
        krp.hit().events(session=other)  # type: ignore[arg-type]
        assert other.sent[-1][0] == "query"
    finally:
        krp.use_session(previous)


def test_event_json_and_text():
    frag = Event.from_json({"whole": [0, "1/2"], "part": ["1/4", 0.5], "value": {"freq": 110.0}})
    assert frag.is_fragment and not frag.has_onset
    assert frag.to_json() == {"whole": ["0", "1/2"], "part": ["1/4", "1/2"], "value": {"freq": 110.0}}
    cont = Event.from_json({"part": [0, 1], "value": {"cutoff": 1100.0}})
    assert cont.whole is None and cont.to_json()["whole"] is None
    lines = format_events([Event.from_json(QUARTERS[0]), frag, cont])
    assert lines == [
        "[0, 1/4)                  x  gate=1",
        "[0, 1/2) part [1/4, 1/2)     freq=110",
        "~ part [0, 1)                cutoff=1100",
    ]


def test_event_name_leaves_out_a_label_that_repeats_the_value():
    hit = {"whole": [0, 1], "part": [0, 1], "value": {"gate": 1.0}}
    assert Event.from_json({**hit, "label": "1"}).name is None
    assert str(Event.from_json({**hit, "label": "1"})) == "[0, 1)  gate=1"
    assert Event.from_json({**hit, "label": "x"}).name == "x"
    note = {"whole": [0, 1], "part": [0, 1], "value": {"freq": 110.0, "midi": 45.0}, "label": "A2"}
    assert Event.from_json(note).name == "A2"
    assert timeline([Event.from_json({**hit, "label": "1"})], 1, 8).splitlines()[1] == "gate=1  x======="


def test_timeline_draws_onsets_and_lengths():
    events = [Event.from_json(e) for e in QUARTERS]
    long_note = Event.from_json({"whole": ["1/2", 1], "part": ["1/2", 1], "value": {"freq": 110.0},
                                 "label": "A2"})
    text = timeline([*events, long_note], 1, 16)
    assert text.splitlines() == [
        "    0",
        "x   x===x===x===x===",
        "A2  ........x=======",
    ]
    assert timeline(events, 2, 16).splitlines() == [
        "   0       1",
        "x  x=x=x=x=........",
    ]
    short = Event.from_json({"whole": ["1/16", "1/8"], "part": ["1/16", "1/8"], "value": {"gate": 1}})
    assert timeline([short], 1, 8).splitlines()[1] == "gate=1  x......."
    assert timeline([], 1, 16) == "(no events)"


def test_show_prints_a_timeline_and_samples_continuous_patterns(kr: Session, fake: FakeEngine):
    fake.events = QUARTERS
    out = io.StringIO()
    with redirect_stdout(out):
        kr.show(kr.hit() * 4, width=8)
    assert out.getvalue().splitlines() == ["   0", "x  x=x=x=x="]
    # a continuous pattern: one whole-less sample per query, then one query per column
    fake.queries = [[{"part": [0, 1], "value": {"v": 0.5}}]] + [
        [{"part": [f"{i}/8", f"{i + 1}/8"], "value": {"v": float(i)}}] for i in range(8)]
    out = io.StringIO()
    with redirect_stdout(out):
        kr.show(kr.ramp(0, 8), width=8)
    assert out.getvalue().splitlines()[1] == "v 0..7  ▁▂▃▄▅▆▇█"
    starts = [f["from"] for c, f in fake.sent if c == "query"][-8:]
    assert [Fraction(str(t)) for t in starts] == [Fraction(i, 8) for i in range(8)]


# ---------------------------------------------------------------------------
# CLI arguments
# ---------------------------------------------------------------------------


def test_cli_query_and_render_arguments():
    parser = build_parser()
    args = parser.parse_args(["query", "x ~ x", "--from", "1/2", "--to", "2", "--json"])
    assert (args.mini, args.begin, args.end, args.json) == ("x ~ x", Fraction(1, 2), 2, True)
    args = parser.parse_args(["render", "s.py", "-o", "o.wav", "--bars", "8", "--tempo", "128"])
    assert (args.bars, args.seconds, args.tempo) == (8, None, 128.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "s.py", "-o", "o.wav", "--bars", "8", "--seconds", "2"])
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "s.py", "-o", "o.wav", "--tempo", "0"])
