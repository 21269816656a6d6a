"""The `krs` tracer: synth functions in, signal IR (docs/signal-ir.md) out. No engine needed."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from krach import repl
from krach import signal as krs

# ---- the seed's synths (seed.py takes them from examples/five_minute_beat.py) -------

from seed import bass, hat, kick, reverb_fx  # noqa: E402




def verb(inp: krs.Signal) -> krs.Signal:
    room = krs.control("room", 0.6, 0.0, 1.0)
    return krs.reverb(inp, room)


# ---- helpers -----------------------------------------------------------------------


def check_ir(ir: dict) -> None:
    """The contract's structural rules: order, forward refs only from mem, no dead or duplicate nodes."""
    nodes = ir["nodes"]
    assert ir["krach_ir"] == 1
    assert 1 <= len(ir["outputs"]) <= 8
    for i, node in enumerate(nodes):
        for j in node.get("in", []):
            assert isinstance(j, int) and 0 <= j < len(nodes)
            if node["op"] != "mem":
                assert j < i, f"node {i} ({node['op']}) points forward to {j}"
        if node["op"] == "input":
            assert node["index"] < ir["inputs"]
        if node["op"] == "control":
            assert node["index"] < len(ir["controls"])
    # Feedback mems (pointing forward) are distinct loops even when they look alike.
    keys = [json.dumps(n, sort_keys=True) for i, n in enumerate(nodes) if n["op"] != "mem" or n["in"][0] < i]
    assert len(keys) == len(set(keys)), "duplicate nodes"
    live, todo = set(), list(ir["outputs"])
    while todo:
        i = todo.pop()
        if i not in live:
            live.add(i)
            todo.extend(nodes[i].get("in", []))
    assert live == set(range(len(nodes))), f"dead nodes: {set(range(len(nodes))) - live}"
    json.dumps(ir, allow_nan=False)  # sendable as is


def traced(fn) -> dict:
    ir = krs.trace(fn)
    check_ir(ir)
    return ir


def ops(ir: dict) -> list[str]:
    return [n["op"] for n in ir["nodes"]]


def out(ir: dict, channel: int = 0) -> dict:
    return ir["nodes"][ir["outputs"][channel]]


# ---- the seed's synths --------------------------------------------------------------


def test_kick_ir_exactly():
    assert krs.trace(kick) == {
        "krach_ir": 1,
        "inputs": 0,
        "controls": [{"name": "gate", "init": 0.0, "lo": 0.0, "hi": 1.0, "step": 0.0}],
        "nodes": [
            {"op": "const", "value": 55.0},
            {"op": "const", "value": 0.001},
            {"op": "const", "value": 0.25},
            {"op": "const", "value": 0.0},
            {"op": "const", "value": 0.05},
            {"op": "control", "index": 0},
            {"op": "adsr", "in": [1, 2, 3, 4, 5]},
            {"op": "const", "value": 200.0},
            {"op": "mul", "in": [6, 7]},
            {"op": "add", "in": [0, 8]},
            {"op": "sine_osc", "in": [9]},
            {"op": "mul", "in": [10, 6]},
            {"op": "const", "value": 0.9},
            {"op": "mul", "in": [11, 12]},
        ],
        "outputs": [13],
    }
    check_ir(krs.trace(kick))


def test_hat_ir_structure():
    ir = traced(hat)
    nodes = ir["nodes"]
    assert ir["inputs"] == 0 and [c["name"] for c in ir["controls"]] == ["gate"]
    (hp,) = [n for n in nodes if n["op"] == "highpass"]
    assert hp["order"] == 2
    noise, cutoff = (nodes[i] for i in hp["in"])
    assert noise["op"] == "white_noise" and isinstance(noise["seed"], int)
    assert cutoff == {"op": "const", "value": 8000.0}
    top = out(ir)
    assert top["op"] == "mul" and nodes[top["in"][1]] == {"op": "const", "value": 0.5}
    assert ops(ir).count("adsr") == 1


def test_bass_ir_structure():
    ir = traced(bass)
    nodes = ir["nodes"]
    assert ir["controls"] == [
        {"name": "freq", "init": 55.0, "lo": 20.0, "hi": 800.0, "step": 0.0},
        {"name": "gate", "init": 0.0, "lo": 0.0, "hi": 1.0, "step": 0.0},
        {"name": "cutoff", "init": 800.0, "lo": 100.0, "hi": 4000.0, "step": 0.0},
    ]
    (lp,) = [n for n in nodes if n["op"] == "lowpass"]
    saw, cutoff = (nodes[i] for i in lp["in"])
    assert lp["order"] == 2 and cutoff == {"op": "control", "index": 2}
    assert saw["op"] == "saw" and nodes[saw["in"][0]] == {"op": "control", "index": 0}
    (env,) = [n for n in nodes if n["op"] == "adsr"]
    assert nodes[env["in"][4]] == {"op": "control", "index": 1}
    assert [nodes[i]["value"] for i in env["in"][:4]] == [0.005, 0.15, 0.3, 0.08]


@pytest.mark.parametrize("fx, room, scaled", [(reverb_fx, 0.7, True), (verb, 0.6, False)])
def test_reverb_effect_has_one_input(fx, room, scaled):
    ir = traced(fx)
    nodes = ir["nodes"]
    assert ir["inputs"] == 1 and ir["controls"][0]["init"] == room
    (rv,) = [n for n in nodes if n["op"] == "reverb"]
    x, r, damping = (nodes[i] for i in rv["in"])
    assert x == {"op": "input", "index": 0}
    assert r == {"op": "control", "index": 0}
    assert damping == {"op": "const", "value": 0.5}
    assert (out(ir)["op"] == "mul") == scaled


def test_two_input_effect():
    def mix(a: krs.Signal, b: krs.Signal) -> krs.Signal:
        return a * 0.5 + b * 0.25

    ir = traced(mix)
    assert ir["inputs"] == 2
    assert {"op": "input", "index": 0} in ir["nodes"] and {"op": "input", "index": 1} in ir["nodes"]


def test_dsp_holds_function_name_source_and_shape():
    dsp = krs.Dsp(bass)
    assert dsp.fn is bass and dsp.name == "bass"
    assert dsp.source is not None and dsp.source.startswith("def bass()")
    assert (dsp.inputs, dsp.outputs) == (0, 1)
    assert [c.name for c in dsp.controls] == ["freq", "gate", "cutoff"]
    assert dsp.control("cutoff") == krs.Control("cutoff", 800.0, 100.0, 4000.0)
    assert dsp.control("nope") is None
    assert dsp.ir == krs.trace(bass)
    assert "bass" in repr(dsp) and "cutoff" in repr(dsp)
    assert isinstance(type(dsp).__dict__["faust"], property)  # see test_e2e_faust_export.py
    assert dsp.session is None  # kr.dsp(fn) binds the session that will write it


def test_repl_binds_this_module_as_krs():
    assert repl.namespace(None)["krs"] is krs  # type: ignore[arg-type]


# ---- operators ----------------------------------------------------------------------


BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("floordiv", lambda a, b: a // b),
    ("mod", lambda a, b: a % b),
    ("pow", lambda a, b: a**b),
    ("lt", lambda a, b: a < b),
    ("le", lambda a, b: a <= b),
    ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b),
    ("eq", lambda a, b: a == b),
    ("ne", lambda a, b: a != b),
]


@pytest.mark.parametrize("op, apply", BINARY)
def test_binary_operators_between_signals(op, apply):
    a, b = krs.saw(1.0), krs.sine_osc(2.0)
    sig = apply(a, b)
    assert isinstance(sig, krs.Signal) and sig.op == op and sig.args == (a, b)


@pytest.mark.parametrize("op, apply", BINARY)
def test_numbers_mix_on_either_side(op, apply):
    s = krs.saw(1.0)
    right = apply(s, 3)
    assert right.op == op and right.args[0] is s
    assert right.args[1].op == "const" and right.args[1].attrs["value"] == 3.0
    left = apply(3, s)
    assert isinstance(left, krs.Signal)
    if op in ("add", "sub", "mul", "div", "floordiv", "mod", "pow"):  # reflected: 3 stays first
        assert left.op == op and left.args[1] is s and left.args[0].attrs["value"] == 3.0
    else:  # Python swaps a comparison: 3 < s is s > 3
        mirror = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}[op]
        assert left.op == mirror and left.args[0] is s and left.args[1].attrs["value"] == 3.0


def test_reflected_ops_in_ir_keep_operand_order():
    ir = traced(lambda: 1.0 - krs.phasor(2.0))
    nodes = ir["nodes"]
    sub = out(ir)
    assert sub["op"] == "sub"
    assert nodes[sub["in"][0]] == {"op": "const", "value": 1.0}
    assert nodes[sub["in"][1]]["op"] == "phasor"


def test_unary_operators_and_builtins():
    s = krs.saw(1.0)
    assert (-s).op == "neg" and (-s).args == (s,)
    assert +s is s
    assert abs(s).op == "abs"
    assert round(s).op == "round"
    assert math.floor(s).op == "floor" and math.ceil(s).op == "ceil"
    with pytest.raises(TypeError, match="ndigits"):
        round(s, 2)
    with pytest.raises(TypeError, match="modulo"):
        pow(s, 2, 3)


def test_number_types_become_float_consts():
    s = krs.saw(1.0)
    for number in (2, 2.0, True, Fraction(1, 4)):
        assert isinstance((s * number).args[1].attrs["value"], float)


def test_equality_with_non_numbers_is_identity_and_signals_hash_by_identity():
    s = krs.saw(1.0)
    assert (s == "x") is False and (s != None) is True  # noqa: E711
    t = krs.saw(1.0)
    assert len({s, t, s}) == 2
    assert {s: 1}[s] == 1


def test_signals_are_immutable():
    s = krs.saw(1.0)
    with pytest.raises(AttributeError, match="immutable"):
        s.op = "sine_osc"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.attrs["x"] = 1  # type: ignore[index]


def test_operators_refuse_other_types_and_non_finite_numbers():
    s = krs.saw(1.0)
    with pytest.raises(TypeError):
        s + "1"  # noqa: B018
    with pytest.raises(TypeError):
        [1] * s  # noqa: B018
    with pytest.raises(ValueError, match="finite"):
        s * math.inf  # noqa: B018
    with pytest.raises(ValueError, match="finite"):
        math.nan + s  # noqa: B018


# ---- what a symbolic value cannot do ----------------------------------------------------


def test_if_on_a_signal_explains_select2():
    def gated() -> krs.Signal:
        gate = krs.control("gate", 0.0, 0.0, 1.0)
        if gate > 0.5:
            return krs.saw(110.0)
        return krs.saw(55.0)

    with pytest.raises(TypeError, match=r"krs\.select2\(cond, a, b\)") as info:
        krs.trace(gated)
    assert "`if`" in str(info.value)
    assert any("gated()" in note for note in info.value.__notes__)


def test_and_not_and_chained_comparisons_raise():
    s = krs.saw(1.0)
    for attempt in (lambda: s and 1, lambda: not s, lambda: 0 < s < 1, lambda: bool(s)):
        with pytest.raises(TypeError, match="select2"):
            attempt()


def test_numeric_conversions_len_and_iteration_raise():
    s = krs.saw(1.0)
    for attempt, hint in [
        (lambda: float(s), "krs.sin"),
        (lambda: int(s), "krs.sin"),
        (lambda: math.sin(s), "krs.sin"),
        (lambda: [0, 1][s], "index"),
        (lambda: len(s), "one channel"),
        (lambda: list(s), "tuple"),
    ]:
        with pytest.raises(TypeError, match=hint):
            attempt()
    with pytest.raises(TypeError, match="unpacked"):
        left, right = s


# ---- primitives ---------------------------------------------------------------------


S = krs.saw(1.0)  # a stand-in signal argument

# krs call -> (op, number of signal inputs, attributes)
PRIMITIVES = [
    (lambda: krs.sine_osc(S), "sine_osc", 1, {}),
    (lambda: krs.saw(S), "saw", 1, {}),
    (lambda: krs.square(S), "square", 2, {}),
    (lambda: krs.triangle(S), "triangle", 1, {}),
    (lambda: krs.pulse(S), "pulse", 2, {}),
    (lambda: krs.phasor(S), "phasor", 1, {}),
    (lambda: krs.lfo(S, "tri"), "lfo", 1, {"shape": "tri"}),
    (lambda: krs.lfo(S), "lfo", 1, {"shape": "sine"}),
    (lambda: krs.white_noise(7), "white_noise", 0, {"seed": 7}),
    (lambda: krs.pink_noise(8), "pink_noise", 0, {"seed": 8}),
    (lambda: krs.wavetable([0.0, 1.0, 0.0, -1.0], S), "wavetable", 1, {"table": (0.0, 1.0, 0.0, -1.0)}),
    (lambda: krs.lowpass(S, 100), "lowpass", 2, {"order": 2}),
    (lambda: krs.highpass(S, 100, order=4), "highpass", 2, {"order": 4}),
    (lambda: krs.bandpass(S, 100), "bandpass", 3, {}),
    (lambda: krs.resonant(S, 100), "resonant", 3, {}),
    (lambda: krs.onepole(S, 100), "onepole", 2, {}),
    (lambda: krs.dcblock(S), "dcblock", 1, {}),
    (lambda: krs.smooth(S), "smooth", 2, {}),
    (lambda: krs.adsr(0.1, 0.1, 0.5, 0.1, S), "adsr", 5, {}),
    (lambda: krs.ar(0.1, 0.1, S), "ar", 3, {}),
    (lambda: krs.decay(S, 0.5), "decay", 2, {}),
    (lambda: krs.trigger(S), "trigger", 1, {}),
    (lambda: krs.latch(S, S), "latch", 2, {}),
    (lambda: krs.delay(S, 0.5), "delay", 2, {"max_time": 1.0}),
    (lambda: krs.echo(S, 0.3), "echo", 3, {"max_time": 2.0}),
    (lambda: krs.reverb(S), "reverb", 3, {}),
    (lambda: krs.chorus(S), "chorus", 3, {}),
    (lambda: krs.flanger(S), "flanger", 4, {}),
    (lambda: krs.rdtable([1, 2, 3], S), "rdtable", 1, {"table": (1.0, 2.0, 3.0)}),
    (lambda: krs.rwtable(16, S, S, S), "rwtable", 3, {"size": 16, "init": 0.0}),
    (lambda: krs.mem(S), "mem", 1, {}),
    (lambda: krs.unit_delay(S), "mem", 1, {}),
    (lambda: krs.select2(S, 0, 1), "select2", 3, {}),
    (lambda: krs.sr(), "sr", 0, {}),
    (lambda: krs.sample_rate(), "sr", 0, {}),
    (lambda: krs.clip(S, -1, 1), "clip", 3, {}),
    (lambda: krs.lerp(S, 0, 1), "lerp", 3, {}),
    (lambda: krs.wrap(S), "wrap", 3, {}),
    (lambda: krs.db_to_linear(S), "db_to_linear", 1, {}),
    (lambda: krs.linear_to_db(S), "linear_to_db", 1, {}),
    (lambda: krs.midi_to_freq(S), "midi_to_freq", 1, {}),
    (lambda: krs.freq_to_midi(S), "freq_to_midi", 1, {}),
    (lambda: krs.faust_expr("_ : fi.dcblocker", S), "faust_expr", 1, {"code": "_ : fi.dcblocker"}),
] + [
    (lambda f=f: f(S), op, 1, {})
    for f, op in [(krs.sin, "sin"), (krs.cos, "cos"), (krs.tan, "tan"), (krs.asin, "asin"),
                  (krs.acos, "acos"), (krs.atan, "atan"), (krs.exp, "exp"), (krs.log, "log"),
                  (krs.log10, "log10"), (krs.sqrt, "sqrt"), (krs.abs_, "abs"), (krs.floor, "floor"),
                  (krs.ceil, "ceil"), (krs.round_, "round")]
] + [
    (lambda f=f: f(S, 2), op, 2, {})
    for f, op in [(krs.min_, "min"), (krs.max_, "max"), (krs.pow_, "pow"), (krs.fmod, "fmod"),
                  (krs.remainder, "remainder"), (krs.atan2, "atan2")]
]


@pytest.mark.parametrize("make, op, arity, attrs", PRIMITIVES, ids=[p[1] for p in PRIMITIVES])
def test_primitive_op_arity_and_attributes(make, op, arity, attrs):
    sig = make()
    assert sig.op == op and len(sig.args) == arity and dict(sig.attrs) == attrs
    assert traced(lambda: make())  # serialises and passes the structural checks


def test_spec_primitives_all_exist():
    names = """sine_osc saw square triangle pulse phasor lfo white_noise pink_noise lowpass highpass
    bandpass resonant onepole dcblock adsr ar decay trigger latch reverb echo chorus flanger delay mem
    unit_delay feedback select2 sr sample_rate rdtable rwtable wavetable clip lerp wrap smooth
    db_to_linear linear_to_db midi_to_freq freq_to_midi pan sin cos tan asin acos atan exp log log10
    sqrt abs_ floor ceil round_ min_ max_ pow_ fmod remainder atan2 faust_expr control""".split()
    assert [n for n in names if not callable(getattr(krs, n, None))] == []
    assert set(names) <= set(krs.__all__)


def test_argument_order_follows_the_ir():
    x, t, fb = krs.saw(1.0), krs.phasor(1.0), krs.sine_osc(1.0)
    assert krs.echo(x, t, fb).args == (x, t, fb)
    assert krs.square(x, duty=fb).args == (x, fb)
    e = krs.adsr(0.1, 0.2, 0.3, 0.4, x)
    assert [a.attrs.get("value") for a in e.args[:4]] == [0.1, 0.2, 0.3, 0.4] and e.args[4] is x
    rw = krs.rwtable(8, x, t, fb, init=0.5)
    assert rw.args == (x, t, fb) and rw.attrs["init"] == 0.5


def test_wrong_argument_type_names_primitive_and_argument():
    with pytest.raises(TypeError) as info:
        krs.lowpass(krs.saw(1.0), "800")
    assert str(info.value) == "krs.lowpass: argument 'cutoff' must be a Signal or a number, got str"
    with pytest.raises(TypeError, match=r"krs\.adsr: argument 'gate' must be a Signal or a number, got None"):
        krs.adsr(0.1, 0.1, 0.5, 0.1, None)
    with pytest.raises(TypeError, match=r"krs\.min_: argument 'b'"):
        krs.min_(1.0, [2.0])
    with pytest.raises(ValueError, match=r"krs\.sine_osc: argument 'freq' is inf"):
        krs.sine_osc(math.inf)


@pytest.mark.parametrize("attempt, error, message", [
    (lambda: krs.lowpass(S, 100, order=0), ValueError, "'order' is 0; it must be 1 to 8"),
    (lambda: krs.highpass(S, 100, order=9), ValueError, "must be 1 to 8"),
    (lambda: krs.lowpass(S, 100, order=2.0), TypeError, "'order' must be an integer"),
    (lambda: krs.lfo(S, "triangle"), ValueError, "sine, tri, saw, square"),
    (lambda: krs.white_noise(-1), ValueError, "'seed' is -1"),
    (lambda: krs.pink_noise("a"), TypeError, "'seed' must be an integer"),
    (lambda: krs.wavetable([], S), ValueError, "1 to 32768"),
    (lambda: krs.wavetable([0.0] * 65537, S), ValueError, "has 65537 numbers"),
    (lambda: krs.rdtable([0.0, math.nan], S), ValueError, "table item 1 is nan"),
    (lambda: krs.rdtable("abc", S), TypeError, "sequence of numbers"),
    (lambda: krs.rdtable([1, "2"], S), TypeError, "table item 1 must be a number"),
    (lambda: krs.rwtable(0, S, S, S), ValueError, "'size' is 0"),
    (lambda: krs.rwtable(2**24 + 1, S, S, S), ValueError, "'size'"),
    (lambda: krs.delay(S, 1.5), ValueError, "pass max_time=1.5"),
    (lambda: krs.delay(S, 0.1, max_time=61), ValueError, "at most 60"),
    (lambda: krs.echo(S, 0.1, max_time=0), ValueError, "above 0"),
    (lambda: krs.pan(S, 1.5), ValueError, "-1 .*to 1"),
    (lambda: krs.faust_expr("", S), ValueError, "empty"),
    (lambda: krs.faust_expr(3, S), TypeError, "string"),
    (lambda: krs.faust_expr("{0} + {2}", S, S), ValueError, r"\{2\} but 2 input"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_attribute_validation(attempt, error, message):
    with pytest.raises(error, match=message):
        attempt()


def test_tables_accept_any_iterable_of_numbers():
    sig = krs.rdtable(range(4), S)
    assert sig.attrs["table"] == (0.0, 1.0, 2.0, 3.0)
    assert krs.wavetable((math.sin(i) for i in range(8)), 100).attrs["table"][1] == math.sin(1)
    ir = traced(lambda: krs.rdtable([1, 2], krs.phasor(1.0) * 2))
    assert [n["table"] for n in ir["nodes"] if n["op"] == "rdtable"] == [[1.0, 2.0]]


# ---- controls -----------------------------------------------------------------------


def test_control_signal_and_step():
    ir = traced(lambda: krs.saw(krs.control("note", 60, 0, 127, step=1)))
    assert ir["controls"] == [{"name": "note", "init": 60.0, "lo": 0.0, "hi": 127.0, "step": 1.0}]
    assert {"op": "control", "index": 0} in ir["nodes"]


@pytest.mark.parametrize("args, error, message", [
    (("cutoff", 5000, 100, 4000), ValueError, r"init 5000 is outside \[100, 4000\]"),
    (("cutoff", 800, 4000, 100), ValueError, "lo 4000 is above hi 100"),
    (("cutoff", math.nan, 0, 1), ValueError, "'init' is nan"),
    (("cutoff", 0, 0, math.inf), ValueError, "'hi' is inf"),
    (("cutoff", 0, 0, 1, -1), ValueError, "step -1 is negative"),
    (("cutoff", "0", 0, 1), TypeError, "'init' must be a number"),
    (("", 0, 0, 1), ValueError, "bad name"),
    (("two words", 0, 0, 1), ValueError, "bad name"),
    (("1st", 0, 0, 1), ValueError, "bad name"),
    (("bass/cutoff", 0, 0, 1), ValueError, "bad name"),
    (("x" * 64, 0, 0, 1), ValueError, "bad name"),
    ((3, 0, 0, 1), TypeError, "name must be a string"),
    (("gain", 0, 0, 1), ValueError, "taken by the node"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_control_validation(args, error, message):
    with pytest.raises(error, match=message):
        krs.control(*args)


def test_same_control_twice_with_identical_parameters_is_one_control():
    def synth() -> krs.Signal:
        a = krs.control("cutoff", 800, 100, 4000)
        b = krs.control("cutoff", 800.0, 100.0, 4000.0)
        return krs.lowpass(krs.saw(110), a) + krs.onepole(krs.saw(110), b)

    ir = traced(synth)
    assert len(ir["controls"]) == 1 and ops(ir).count("control") == 1


def test_same_control_twice_with_different_parameters_names_both():
    def synth() -> krs.Signal:
        a = krs.control("cutoff", 800, 100, 4000)
        b = krs.control("cutoff", 500, 100, 4000)
        return a + b

    with pytest.raises(ValueError) as info:
        krs.trace(synth)
    assert "control('cutoff', 800, 100, 4000)" in str(info.value)
    assert "control('cutoff', 500, 100, 4000)" in str(info.value)


def test_controls_are_collected_per_trace():
    def one() -> krs.Signal:
        return krs.saw(krs.control("freq", 100, 20, 800))

    def two() -> krs.Signal:
        return krs.saw(krs.control("freq", 200, 20, 800))  # same name, other synth: fine

    assert traced(one)["controls"][0]["init"] == 100.0
    assert traced(two)["controls"][0]["init"] == 200.0
    assert traced(one)["controls"][0]["init"] == 100.0


def test_unused_controls_stay_declared():
    def synth() -> krs.Signal:
        krs.control("spare", 0.5, 0, 1)
        return krs.saw(krs.control("freq", 100, 20, 800))

    ir = traced(synth)
    assert [c["name"] for c in ir["controls"]] == ["spare", "freq"]
    assert {"op": "control", "index": 1} in ir["nodes"]
    assert {"op": "control", "index": 0} not in ir["nodes"]


def test_control_made_outside_a_trace_joins_the_synth_that_uses_it():
    shared = krs.control("depth", 0.3, 0, 1)
    ir = traced(lambda: krs.saw(110) * shared)
    assert ir["controls"] == [{"name": "depth", "init": 0.3, "lo": 0.0, "hi": 1.0, "step": 0.0}]


# ---- graph shape: dedup, dead code, determinism, loops ----------------------------------


def test_identical_nodes_are_merged_and_unused_ones_dropped():
    def synth() -> krs.Signal:
        krs.saw(999.0) * 3  # built, never used
        a = krs.saw(110.0)
        b = krs.saw(110.0)  # identical to a
        return (a + b) * 0.5 + krs.mem(a) + krs.mem(b)

    ir = traced(synth)
    assert ops(ir).count("saw") == 1 and ops(ir).count("mem") == 1
    assert {"op": "const", "value": 999.0} not in ir["nodes"]
    consts = [n["value"] for n in ir["nodes"] if n["op"] == "const"]
    assert sorted(consts) == [0.5, 110.0]
    add = next(n for n in ir["nodes"] if n["op"] == "add")
    assert add["in"][0] == add["in"][1]


def test_negative_zero_is_its_own_const():
    ir = traced(lambda: krs.saw(110) * 0.0 + krs.saw(110) * -0.0)
    assert ops(ir).count("const") == 3


def test_tracing_is_deterministic():
    def synth() -> tuple[krs.Signal, krs.Signal]:
        n = krs.white_noise() + krs.pink_noise() + krs.white_noise()
        y = krs.feedback(lambda prev: krs.lowpass(n + prev * 0.3, 2000))
        return krs.pan(y, krs.lfo(0.1))

    first = json.dumps(krs.trace(synth))
    assert all(json.dumps(krs.trace(synth)) == first for _ in range(3))
    assert json.dumps(krs.trace(hat)) == json.dumps(krs.trace(hat))


def test_noise_seeds_are_distinct_within_a_synth_and_stable_across_traces():
    def synth() -> krs.Signal:
        return krs.white_noise() - krs.white_noise() + krs.pink_noise()

    ir = traced(synth)
    seeds = [n["seed"] for n in ir["nodes"] if "seed" in n]
    assert len(seeds) == 3 and len(set(seeds)) == 3
    assert [n["seed"] for n in krs.trace(synth)["nodes"] if "seed" in n] == seeds
    assert all(0 <= s < 2**32 for s in seeds)
    # An explicit seed is kept; the same explicit seed twice is the same noise.
    ir = traced(lambda: krs.white_noise(seed=5) + krs.white_noise(seed=5))
    assert [n for n in ir["nodes"] if n["op"] == "white_noise"] == [{"op": "white_noise", "seed": 5}]


def test_feedback_closes_a_loop_through_one_forward_mem():
    def synth() -> krs.Signal:
        x = krs.saw(110.0)
        return krs.feedback(lambda prev: prev + (x - prev) * 0.1)

    ir = traced(synth)
    nodes = ir["nodes"]
    forward = [(i, n) for i, n in enumerate(nodes) if any(j >= i for j in n.get("in", []))]
    assert len(forward) == 1
    at, mem = forward[0]
    assert mem["op"] == "mem" and mem["in"] == [ir["outputs"][0]]
    assert out(ir)["op"] == "add" and out(ir)["in"][0] == at


def test_feedback_with_delay_and_nested_loops():
    def synth(inp: krs.Signal) -> krs.Signal:
        outer = krs.feedback(lambda a: krs.delay(inp + a * 0.5, 0.25)
                             + krs.feedback(lambda b: b * 0.9 + a * 0.1))
        return outer

    ir = traced(synth)
    mems = [i for i, n in enumerate(ir["nodes"]) if n["op"] == "mem"]
    assert len(mems) == 2


def test_feedback_errors():
    with pytest.raises(TypeError, match="one Signal"):
        krs.feedback(lambda prev: (prev, prev))
    with pytest.raises(TypeError, match="expected a function"):
        krs.feedback(3)  # type: ignore[arg-type]


def test_a_mem_of_itself_is_allowed():
    ir = traced(lambda: krs.feedback(lambda prev: prev))
    assert ir["nodes"] == [{"op": "mem", "in": [0]}] and ir["outputs"] == [0]


def test_deep_graphs_do_not_hit_the_recursion_limit():
    def synth() -> krs.Signal:
        y = krs.saw(55.0)
        for i in range(5000):
            y = y * 0.999 + i
        return y

    assert len(traced(synth)["nodes"]) > 10000


# ---- outputs and channels ---------------------------------------------------------------


def test_stereo_via_pan():
    def stereo() -> tuple[krs.Signal, krs.Signal]:
        pos = krs.control("pos", 0.0, -1.0, 1.0)
        return krs.pan(krs.saw(110.0), pos)

    ir = traced(stereo)
    assert len(ir["outputs"]) == 2
    assert {"cos", "sin", "clip"} <= set(ops(ir))
    left, right = out(ir, 0), out(ir, 1)
    assert left["op"] == right["op"] == "mul" and left["in"][0] == right["in"][0]


def test_pan_with_a_number_is_equal_power():
    left, right = krs.pan(krs.saw(1.0), -1.0)
    assert left.args[1].attrs["value"] == 1.0 and abs(right.args[1].attrs["value"]) < 1e-15
    left, right = krs.pan(krs.saw(1.0), 0.0)
    assert left.args[1].attrs["value"] == pytest.approx(math.sqrt(0.5))
    assert right.args[1].attrs["value"] == pytest.approx(math.sqrt(0.5))


def test_numbers_and_lists_as_outputs():
    ir = traced(lambda: [krs.saw(1.0), 0.0])
    assert len(ir["outputs"]) == 2 and out(ir, 1) == {"op": "const", "value": 0.0}
    assert traced(lambda: 0.25)["nodes"] == [{"op": "const", "value": 0.25}]
    ir = traced(lambda: (krs.saw(100.0), krs.saw(200.0)))
    assert len(ir["outputs"]) == 2


@pytest.mark.parametrize("result, message", [
    (None, "returned None.*forget `return`"),
    ((), "returned 0 channels"),
    (tuple(range(3)), "returned 3 channels"),
    ("saw", "returned str"),
    ((1.0, "x"), "item 1 is str"),
])
def test_bad_results(result, message):
    def synth():
        return result

    with pytest.raises((TypeError, ValueError), match=message) as info:
        krs.trace(synth)
    assert "synth()" in str(info.value)


def test_same_output_twice_is_one_node():
    ir = traced(lambda: (krs.saw(1.0),) * 2)
    assert ir["outputs"][0] == ir["outputs"][1]


# ---- the synth function's signature and errors ---------------------------------------------


def test_parameter_with_default_is_an_error():
    def fx(inp: krs.Signal, room=0.5) -> krs.Signal:
        return krs.reverb(inp, room)

    with pytest.raises(TypeError, match=r"fx\(\): parameter 'room' has a default value.*krs.control\('room'"):
        krs.trace(fx)


@pytest.mark.parametrize("fn, kind", [
    (lambda inp, *, room: inp, "keyword-only parameter 'room'"),
    (lambda *inps: inps[0], r"\*parameter 'inps'"),
    (lambda **kw: 0.0, r"\*\*parameter 'kw'"),
])
def test_other_parameter_kinds_are_errors(fn, kind):
    with pytest.raises(TypeError, match=kind):
        krs.trace(fn)


def test_at_most_eight_inputs():
    assert traced(lambda a, b, c, d, e, f, g, h: a + b + c + d + e + f + g + h)["inputs"] == 8
    with pytest.raises(TypeError, match="at most 8 audio inputs"):
        krs.trace(lambda a, b, c, d, e, f, g, h, i: a)


def test_non_function_is_refused():
    with pytest.raises(TypeError, match="expected a synth function, got int"):
        krs.trace(3)  # type: ignore[arg-type]


def test_exception_inside_the_function_gets_a_note():
    def broken() -> krs.Signal:
        return krs.lowpass(krs.saw(110.0), "bright")

    with pytest.raises(TypeError, match="krs.lowpass: argument 'cutoff'") as info:
        krs.trace(broken)
    assert any("broken()" in note for note in info.value.__notes__)


def test_input_from_another_trace_is_an_error():
    leaked = []

    def fx(a: krs.Signal, b: krs.Signal) -> krs.Signal:
        leaked.append(b)
        return a

    krs.trace(fx)
    with pytest.raises(ValueError, match="input 1"):
        krs.trace(lambda x: x + leaked[0])


def test_primitives_work_outside_a_trace():
    sig = krs.lowpass(krs.white_noise(), 500) * krs.control("amp", 0.5, 0, 1)
    assert "mul" in repr(sig) and "lowpass" in repr(sig)
    assert repr(krs.control("amp", 0.5, 0, 1)) == "<Signal control 'amp'>"
    assert traced(lambda: sig)["controls"][0]["name"] == "amp"


# ---- faust_expr -------------------------------------------------------------------------


def test_faust_expr_ir():
    def synth(inp: krs.Signal) -> krs.Signal:
        cutoff = krs.control("cutoff", 1000, 50, 8000)
        return krs.faust_expr("fi.lowpass(3, {1}, {0})", inp, cutoff)

    ir = traced(synth)
    fx = out(ir)
    assert fx["op"] == "faust_expr"
    assert fx["code"] == "\\(krach_in0, krach_in1).(fi.lowpass(3, krach_in1, krach_in0))"
    assert [ir["nodes"][i] for i in fx["in"]] == [{"op": "input", "index": 0}, {"op": "control", "index": 0}]


def test_faust_expr_without_placeholders_is_a_block_diagram_as_is():
    ir = traced(lambda: krs.faust_expr("no.noise : fi.lowpass(2, 400)"))
    assert ir["nodes"] == [{"op": "faust_expr", "code": "no.noise : fi.lowpass(2, 400)"}]
    sig = krs.faust_expr("_ * 0.5", krs.saw(1.0))
    assert sig.attrs["code"] == "_ * 0.5" and len(sig.args) == 1
