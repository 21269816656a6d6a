"""krp patterns through the real engine: the events it computes, `krach query`,
and `krach render` with waits.

Every expectation here is written out by hand from the semantics in
docs/pattern-ir.md (TidalCycles/Strudel), not computed by Python code that
imitates the engine.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import REPO, child_env, read_sound
from krach import KrachError, Session
from krach import pattern as krp
from krach.events import Event

KRACH = str(REPO / "bin" / "krach")
A2, D3, E2 = 45, 50, 40  # MIDI numbers


@pytest.fixture
def kr(offline_session: Session) -> Session:
    return offline_session


def wholes(events: list[Event]) -> list[tuple[F, F] | None]:
    return [e.whole for e in events]


def onsets(events: list[Event]) -> list[F]:
    return [e.whole[0] for e in events if e.whole is not None]


def arcs(*pairs: tuple[object, object]) -> list[tuple[F, F]]:
    return [(F(str(a)), F(str(b))) for a, b in pairs]


def midis(events: list[Event]) -> list[float]:
    return [e.value["midi"] for e in events]


# ---------------------------------------------------------------------------
# The seed's patterns
# ---------------------------------------------------------------------------


def test_seed_kick_is_four_quarter_hits(kr: Session):
    events = kr.events(kr.hit() * 4, 0, 1)
    assert wholes(events) == arcs((0, "1/4"), ("1/4", "1/2"), ("1/2", "3/4"), ("3/4", 1))
    assert all(e.value == {"gate": 1} and e.part == e.whole for e in events)


def test_seed_hats_are_on_the_off_eighths(kr: Session):
    events = kr.events((kr.rest() + kr.hit()) * 4, 0, 1)
    assert wholes(events) == arcs(("1/8", "1/4"), ("3/8", "1/2"), ("5/8", "3/4"), ("7/8", 1))


def test_seed_bass_line_spans_two_cycles(kr: Session):
    events = kr.events(kr.seq("A2", "D3", None, "E2").over(2), 0, 2)
    assert wholes(events) == arcs((0, "1/2"), ("1/2", 1), ("3/2", 2))
    assert [e.label for e in events] == ["A2", "D3", "E2"]
    assert midis(events) == [A2, D3, E2]
    assert events[0].value["freq"] == pytest.approx(110.0)  # A2: two octaves under A4 = 440
    # the same line in mini-notation, as `bass @ "A2 D3 ~ E2"` plays it (in one cycle)
    mini = kr.events("A2 D3 ~ E2", 0, 1)
    assert wholes(mini) == arcs((0, "1/4"), ("1/4", "1/2"), ("3/4", 1))
    assert midis(mini) == [A2, D3, E2]


def test_seed_cutoff_sweep_is_a_slow_sine(kr: Session):
    # one period over 4 cycles, sampled at the middle of the queried span: from the
    # middle (1100) rising to the top at cycle 1 and the bottom at cycle 3
    sweep = kr.sine(200, 2000).over(4)
    (top,) = kr.events(sweep, 0, 2)
    assert top.whole is None and top.part == (0, 2)
    assert top.value["value"] == pytest.approx(2000)
    (bottom,) = kr.events(sweep, 2, 4)
    assert bottom.value["value"] == pytest.approx(200)
    (middle,) = kr.events(sweep, "7/4", "9/4")
    assert middle.value["value"] == pytest.approx(1100)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def test_note_forms_and_chords(kr: Session):
    chord = kr.events(kr.note("C4", "E4", "G4", vel=0.5, cutoff=1200), 0, 1)
    assert wholes(chord) == arcs((0, 1), (0, 1), (0, 1))
    assert midis(chord) == [60, 64, 67]
    assert all(e.value["vel"] == 0.5 and e.value["cutoff"] == 1200 for e in chord)
    (hz,) = kr.events(kr.note(110.0), 0, 1)
    assert hz.value == {"freq": 110.0}
    (midi,) = kr.events(kr.note(69), 0, 1)
    assert midi.value["freq"] == pytest.approx(440.0) and midi.value["midi"] == 69
    (sharp, flat) = kr.events(kr.seq("C#4", "Db4"), 0, 1)
    assert sharp.value["midi"] == flat.value["midi"] == 61


def test_seq_with_patterns_numbers_and_rests(kr: Session):
    events = kr.events(kr.seq(kr.hit() * 2, 45, None, 110.0), 0, 1)
    assert wholes(events) == arcs((0, "1/8"), ("1/8", "1/4"), ("1/4", "1/2"), ("3/4", 1))
    assert events[2].value["midi"] == 45 and events[3].value == {"freq": 110.0}


def test_hit_param(kr: Session):
    assert [e.value for e in kr.events(kr.hit("trig") * 2, 0, 1)] == [{"trig": 1}, {"trig": 1}]


def test_mini_pattern(kr: Session):
    events = kr.events(kr.p("x ~ [x x]"), 0, 1)
    assert wholes(events) == arcs((0, "1/3"), ("2/3", "5/6"), ("5/6", 1))
    assert [e.label for e in events] == ["x", "x", "x"]


@pytest.mark.parametrize("shape, span, value", [
    ("ramp", (0, "1/4"), 1.0),        # middle 1/8 of a 0..8 rise
    ("ramp", ("1/2", 1), 6.0),
    ("ramp_down", (0, "1/4"), 7.0),
    ("tri", (0, "1/2"), 4.0),         # middle 1/4: half-way up
    ("tri", ("1/2", 1), 4.0),
    ("square", (0, "1/2"), 0.0),
    ("square", ("1/2", 1), 8.0),
    ("sine", (0, "1/2"), 8.0),        # middle 1/4: the top
])
def test_continuous_shapes(kr: Session, shape, span, value):
    (event,) = kr.events(getattr(kr, shape)(0, 8), *span)
    assert event.whole is None and event.value["value"] == pytest.approx(value)


def test_exp_is_geometric(kr: Session):
    (event,) = kr.events(kr.exp(100, 1600), 0, 1)
    assert event.value["value"] == pytest.approx(400)  # half-way: the geometric mean


def test_rand_stays_in_range_and_is_repeatable(kr: Session):
    first = [kr.events(kr.rand(2, 3, seed=5), F(i, 8), F(i + 1, 8))[0].value["value"] for i in range(8)]
    again = [kr.events(kr.rand(2, 3, seed=5), F(i, 8), F(i + 1, 8))[0].value["value"] for i in range(8)]
    assert first == again and all(2 <= v <= 3 for v in first) and len(set(first)) > 1


# ---------------------------------------------------------------------------
# Combinators and operators
# ---------------------------------------------------------------------------


def test_cat_takes_turns_per_cycle(kr: Session):
    events = kr.events(kr.cat(kr.hit(), kr.note("A2"), None), 0, 4)
    assert wholes(events) == arcs((0, 1), (1, 2), (3, 4))
    assert [e.label for e in events][1] == "A2" and events[2].value == {"gate": 1}


def test_stack_and_or_layer(kr: Session):
    for layered in (kr.stack(kr.hit(), kr.note("A2")), kr.hit() | kr.note("A2")):
        events = kr.events(layered, 0, 1)
        assert wholes(events) == arcs((0, 1), (0, 1))
        assert events[0].value == {"gate": 1} and events[1].value["midi"] == A2


def test_plus_chains_are_equal_steps(kr: Session):
    events = kr.events(kr.hit() + kr.rest() + kr.note("A2"), 0, 1)
    assert wholes(events) == arcs((0, "1/3"), ("2/3", 1))


def test_struct_takes_the_rhythm_and_samples_the_melody(kr: Session):
    events = kr.events(kr.struct("x ~ x x", kr.seq("A2", "E2")), 0, 1)
    assert wholes(events) == arcs((0, "1/4"), ("1/2", "3/4"), ("3/4", 1))
    assert midis(events) == [A2, E2, E2]


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


def test_fast_slow_over(kr: Session):
    assert onsets(kr.events(kr.hit().fast(3), 0, 1)) == [0, F(1, 3), F(2, 3)]
    assert onsets(kr.events(kr.hit().fast("3/2"), 0, 2)) == [0, F(2, 3), F(4, 3)]
    (fragment,) = kr.events(kr.hit().slow(2), 0, 1)
    assert fragment.whole == (0, 2) and fragment.part == (0, 1) and fragment.is_fragment
    assert kr.events(kr.hit().over(2), 0, 1) == [fragment]


def test_shift(kr: Session):
    late, early = kr.hit().shift("1/4"), kr.hit().shift(-0.25)
    assert [(e.whole, e.part) for e in kr.events(late, 0, 1)] == [
        ((F(-3, 4), F(1, 4)), (0, F(1, 4))), ((F(1, 4), F(5, 4)), (F(1, 4), 1))]
    assert [e.whole for e in kr.events(early, 0, 1)] == arcs(("-1/4", "3/4"), ("3/4", "7/4"))


def test_reverse(kr: Session):
    events = kr.events(kr.seq("A2", "D3", None, "E2").reverse(), 0, 1)
    assert wholes(events) == arcs((0, "1/4"), ("1/2", "3/4"), ("3/4", 1))
    assert midis(events) == [E2, D3, A2]


def test_every_applies_its_function_in_the_right_cycles(kr: Session):
    doubled = kr.hit().every(2, lambda p: p.fast(2))
    assert onsets(kr.events(doubled, 0, 4)) == [0, F(1, 2), 1, 2, F(5, 2), 3]
    offset = kr.hit().every(3, lambda p: p.fast(2), offset=1)
    assert onsets(kr.events(offset, 0, 3)) == [0, 1, F(3, 2), 2]
    nested = kr.hit().every(2, lambda p: p.every(3, lambda q: q.fast(2)))
    assert onsets(kr.events(nested, 0, 7)) == [0, F(1, 2), 1, 2, 3, 4, 5, 6, F(13, 2)]


def test_spread_is_euclidean(kr: Session):
    assert onsets(kr.events(kr.hit().spread(3, 8), 0, 1)) == [0, F(3, 8), F(6, 8)]
    assert all(e.whole[1] - e.whole[0] == F(1, 8) for e in kr.events(kr.hit().spread(3, 8), 0, 1))
    rotated = onsets(kr.events(kr.hit().spread(3, 8, rotation=1), 0, 1))
    assert rotated == onsets(kr.events("x(3,8,1)", 0, 1)), "the same as mini-notation"
    assert onsets(kr.events(kr.hit().spread(5, 8), 0, 1)) == [0, F(2, 8), F(3, 8), F(5, 8), F(6, 8)]


def test_mask(kr: Session):
    masked = kr.events((kr.hit() * 8).mask("1 0 x ."), 0, 1)
    assert onsets(masked) == [0, F(1, 8), F(1, 2), F(5, 8)]
    assert onsets(kr.events((kr.hit() * 4).mask(kr.hit() + kr.rest()), 0, 1)) == [0, F(1, 4)]


def test_swing_moves_the_off_steps(kr: Session):
    # grid 8: in each pair of eighths the boundary moves from 1/2 to 3/4 of the pair
    events = kr.events((kr.hit() * 8).swing(0.75), 0, F(1, 2))
    assert wholes(events) == arcs((0, "3/16"), ("3/16", "1/4"), ("1/4", "7/16"), ("7/16", "1/2"))
    straight = kr.events((kr.hit() * 8).swing(0.5), 0, 1)
    assert onsets(straight) == [F(i, 8) for i in range(8)]


def test_thin_and_sometimes_are_deterministic_choices(kr: Session):
    base = kr.hit() * 16
    every_event = kr.events(base, 0, 1)
    assert kr.events(base.thin(0), 0, 1) == every_event
    assert kr.events(base.thin(1), 0, 1) == []
    half = kr.events(base.thin(0.5, seed=1), 0, 1)
    assert set(onsets(half)) < set(onsets(every_event)) and half
    assert kr.events(base.thin(0.5, seed=1), 0, 1) == half, "the same every time"
    shifted = kr.events(base.sometimes(1, lambda p: p.shift("1/32")), 0, 1)
    assert shifted[0].whole == (F(-1, 32), F(1, 32)) and shifted[0].part == (0, F(1, 32))
    assert onsets(shifted)[1:3] == [F(1, 32), F(3, 32)]
    assert kr.events(base.sometimes(0, lambda p: p.shift("1/32")), 0, 1) == every_event


# ---------------------------------------------------------------------------
# Errors from the engine, and playing
# ---------------------------------------------------------------------------


def test_bad_mini_notation_points_at_the_column(kr: Session):
    with pytest.raises(KrachError) as info:
        kr.events("x [", 0, 1)
    assert info.value.code == "bad_mini" and "column 3" in info.value.message and "^" in info.value.message


def test_play_on_an_unknown_node_names_it(kr: Session):
    with pytest.raises(KrachError, match="unknown node 'nope'"):
        kr.play("nope", kr.hit())
    assert kr.pattern("nope") is None


def test_pattern_events_uses_the_session_set_by_the_namespace(kr: Session):
    from krach import repl

    previous = krp.use_session(None)
    try:
        repl.namespace(kr)
        assert onsets((krp.hit() * 2).events()) == [0, F(1, 2)]
    finally:
        krp.use_session(previous)


def test_show_draws_the_seed_bass_line(kr: Session, capsys):
    kr.show(kr.seq("A2", "D3", None, "E2").over(2), cycles=2, width=16)
    assert capsys.readouterr().out.splitlines() == [
        "    0       1",
        "A2  x===............",
        "D3  ....x===........",
        "E2  ............x===",
    ]


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(engine_bin: str, engine_home: Path) -> dict[str, str]:
    return child_env(engine_home, KRACH_ENGINE=engine_bin)


def krach(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KRACH, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_krach_query_text(cli_env):
    result = krach(cli_env, "query", "x ~ [x x]")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[0, 1/3)    x  gate=1",
        "[2/3, 5/6)  x  gate=1",
        "[5/6, 1)    x  gate=1",
    ]
    result = krach(cli_env, "query", "A2/2", "--from", "1", "--to", "3/2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[0, 2) part [1, 3/2)  A2  freq=110 midi=45"]


def test_krach_query_json(cli_env):
    result = krach(cli_env, "query", "x ~ x", "--to", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"whole": ["0", "1/3"], "part": ["0", "1/3"], "value": {"gate": 1}},
        {"whole": ["2/3", "1"], "part": ["2/3", "1"], "value": {"gate": 1}},
        {"whole": ["1", "4/3"], "part": ["1", "4/3"], "value": {"gate": 1}},
        {"whole": ["5/3", "2"], "part": ["5/3", "2"], "value": {"gate": 1}},
    ]


def test_krach_query_errors(cli_env):
    result = krach(cli_env, "query", "x [")
    assert result.returncode == 1 and "column 3" in result.stderr and "^" in result.stderr
    result = krach(cli_env, "query", "x", "--from", "2", "--to", "1")
    assert result.returncode == 2 and "must be after" in result.stderr
    result = krach(cli_env, "query", "x", "--to", "abc")
    assert result.returncode == 2 and "not a time" in result.stderr


GATE_SESSION = """\
def tone() -> krs.Signal:
    return krs.control("gate", 0.0, 0.0, 1.0) * 0.5

t = kr.node("t", tone, gain=1.0)
t @ ((kr.rest() + kr.hit()) * 4)
kr.wait(bars=1)
t @ None
kr.wait(seconds=0.5)
"""


def test_krach_render_waits_and_bars(cli_env, tmp_path: Path):
    """Waits render in order; the file is then filled to exactly --bars at --tempo."""
    session = tmp_path / "gates.py"
    session.write_text(GATE_SESSION)
    out = tmp_path / "gates.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--bars", "2", "--tempo", "120")
    assert result.returncode == 0, result.stderr
    assert "2 bars" in result.stdout
    data, sr = read_sound(out)
    x = data[:, 0]
    bar = 2 * sr  # 4 beats at 120 BPM
    assert len(x) == 2 * bar
    on = np.abs(x) > 0.25
    edges = list(np.flatnonzero(np.diff(on.astype(int))) + 1)
    eighth = bar // 8
    assert edges == [eighth * i for i in range(1, 9)], "gates on the off-eighths of bar 1, then hushed"
    assert not on[bar:].any()


def test_krach_render_seconds_with_waits(cli_env, tmp_path: Path):
    session = tmp_path / "gates.py"
    session.write_text(GATE_SESSION)
    out = tmp_path / "gates.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--seconds", "3.25")
    assert result.returncode == 0, result.stderr
    assert sf.info(str(out)).frames == 156000


def test_krach_render_only_waits(cli_env, tmp_path: Path):
    session = tmp_path / "gates.py"
    session.write_text(GATE_SESSION)
    out = tmp_path / "gates.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out))
    assert result.returncode == 0, result.stderr
    # one bar at the default 120 BPM, then half a second
    assert sf.info(str(out)).frames == 2 * 48000 + 24000


def test_krach_render_waits_past_the_length_warn(cli_env, tmp_path: Path):
    session = tmp_path / "long.py"
    session.write_text("kr.wait(bars=3)\n")
    out = tmp_path / "long.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--bars", "2")
    assert result.returncode == 0 and "warning" in result.stderr and "past --bars 2" in result.stderr
    assert sf.info(str(out)).frames == 3 * 2 * 48000


def test_krach_render_a_failure_after_a_wait_leaves_no_file(cli_env, tmp_path: Path):
    session = tmp_path / "bad.py"
    session.write_text("kr.wait(bars=1)\nundefined_thing\n")
    out = tmp_path / "bad.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--bars", "2")
    assert result.returncode == 1 and "NameError" in result.stderr and "line 2" in result.stderr
    assert not out.exists()


def test_krach_render_waits_need_an_appendable_format(cli_env, tmp_path: Path):
    session = tmp_path / "waits.py"
    session.write_text("kr.wait(bars=1)\n")
    result = krach(cli_env, "render", str(session), "-o", str(tmp_path / "x.flac"), "--bars", "2")
    assert result.returncode == 1 and ".wav or .aiff" in result.stderr
    ok = krach(cli_env, "render", str(session), "-o", str(tmp_path / "y.flac"), "--bars", "1")
    assert ok.returncode == 0, ok.stderr
    assert sf.info(str(tmp_path / "y.flac")).frames == 96000
