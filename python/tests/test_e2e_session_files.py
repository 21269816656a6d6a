"""Session files, end to end: ``kr.export`` writes a readable Python file that
recreates the session; ``kr.load`` runs it (or a hand-written one, such as
the getting-started guide's). The proof is the sound: an export loaded into a
fresh engine renders, offline, exactly the samples the original renders.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from e2e_support import Conn
from krach import pattern as krp
from krach import signal as krs
from krach.session import Session
from session_support import SR, keyed, render_both, ring, tone, verb

# The getting-started guide's synths: the one copy, examples/five_minute_beat.py
# (seed.py loads it under its own file name, so kr.export finds their source).
from seed import bass, hat, kick, reverb_fx


def bell() -> krs.Signal:
    """Uses the math module: the export imports it."""
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(440.0 * math.sqrt(2.0)) * krs.adsr(0.001, 0.3, 0.0, 0.1, gate) * 0.3


DETUNE = 1.003


def _partial(freq: krs.Signal) -> krs.Signal:
    return krs.saw(freq * DETUNE)


def pad() -> krs.Signal:
    """Needs a helper and a constant of this module: its source alone is not enough,
    so the export writes its IR instead."""
    freq = krs.control("freq", 220.0, 20.0, 2000.0)
    return krs.lowpass(_partial(freq) + krs.saw(freq), 1200.0) * 0.1


def lfo() -> krs.Signal:
    return krs.sine_osc(3.0) * 0.5 + 0.5


def _build(kr: Session, engine_socket: str) -> None:
    """A session using everything an export has to write."""
    with kr.batch():
        k = kr.node("drums/kick", kick, gain=0.8)
        h = kr.node("drums/hat", hat, gain=0.5)
        b = kr.node("bass", bass, gain=0.3, cutoff=1200.0)
        fx = kr.node("verb", reverb_fx, gain=0.3)
        keys = kr.node("keys", keyed, count=3, gain=0.2)
        kr.node("bell", bell, gain=0.7)
        kr.node("pad", pad, gain=0.4, freq=110.0)
        kr.node("lfo", lfo, gain=0.0)
        kr.node("ring", ring, gain=0.25)
        b >> (fx, 0.4)
        keys >> fx
        kr.connect("pad", "ring")
        kr.connect("lfo", "ring", port="in1")
        kr.mute("bell")
    kr.tempo = 133.5
    kr.meter = 3
    kr.master = 0.8
    k @ (kr.hit() * 3)
    h @ (kr.rest() + kr.hit()).fast(3).every(2, lambda p: p.fast(2))
    b @ "A2 D3 ~ E2"
    b @ ("cutoff", kr.sine(200, 2000).over(4))
    keys.play(kr.note("A4", "C5", "E5") + kr.rest(), from_zero=True)
    kr.mod("verb/room", "tri", lo=0.3, hi=0.9, bars=2)
    kr.mod("pad/freq", "sine", lo=100.0, hi=140.0, bars="1/3")
    # A node and two patterns made by another client: this session has no Python for them.
    with Conn(engine_socket) as other:
        ir = krs.trace(tone)
        assert other.ask(cmd="node_set", name="drone", ir=ir, gain=0.05, controls={"freq": 330.0})["ok"]
        assert other.ask(cmd="play", target="drone/freq", pattern=krp.seq(300.0, 360.0).ir())["ok"]
        assert other.ask(cmd="play", target="bell", mini="A4 [~ E5]")["ok"]


def test_export_then_load_renders_the_same_samples(start_engine, tmp_path: Path):
    """Export a rich session (groups, a polyphonic node, sends and a port wire, a
    mute, controls, non-integer tempo, meter 3, master, patterns as Python and as
    mini-notation, from_zero, automations, a synth that imports math, one that
    needs a helper, and a node and patterns made by another client), load the
    file into a fresh engine: 8 bars of both are identical, sample for sample
    (about 10 s, both channels)."""
    engine = start_engine("--offline")
    kr = Session(engine.client())
    _build(kr, engine.socket)
    path = kr.export(tmp_path / "my_session.py")
    original = render_both(kr, tmp_path / "original.wav", cycles=8)

    copy = Session(start_engine("--offline").client())
    names = copy.load(path)
    assert "kick" in names and "pad" in names
    again = render_both(copy, tmp_path / "copy.wav", cycles=8)
    assert original.shape == again.shape and original.shape[0] > 9 * SR
    assert np.max(np.abs(original)) > 0.1
    assert np.flatnonzero(original != again).tolist()[:1] == []
    assert copy.state()["patterns"] == kr.state()["patterns"]


def test_an_export_is_readable_python(start_engine, tmp_path: Path):
    """The file shows the session as it was written: function sources, `import math`,
    pattern expressions, ``kr.batch()``, the mini-notation, and data only where
    there is no Python (a synth needing a helper, another client's node and
    pattern)."""
    engine = start_engine("--offline")
    kr = Session(engine.client())
    _build(kr, engine.socket)
    text = kr.export(tmp_path / "s.py").read_text()
    compile(text, "s.py", "exec")
    for expected in [
        "import math",
        "def kick() -> krs.Signal:",
        "def reverb_fx(inp: krs.Signal) -> krs.Signal:",
        "pad = krs.from_ir(",
        "drone = krs.from_ir(",
        "kr.tempo = 133.5",
        "kr.meter = 3",
        "kr.master = 0.8",
        "with kr.batch():",
        "    kr.node('drums/kick', kick, gain=0.8)",
        "    kr.node('bass', bass, gain=0.3, cutoff=1200.0)",
        "    kr.node('keys', keyed, gain=0.2, count=3)",
        "    kr.connect('bass', 'verb', level=0.4)",
        "    kr.connect('lfo', 'ring', port='in1')",
        "    kr.mute('bell')",
        "kr.play('drums/kick', kr.hit() * 3)",
        "kr.play('drums/hat', (kr.rest() + kr.hit()).fast(3).every(2, lambda p: p.fast(2)))",
        "kr.play('bass', 'A2 D3 ~ E2')",
        "kr.play('bass/cutoff', kr.sine(200, 2000).over(4))",
        "kr.play('keys', kr.note('A4', 'C5', 'E5') + kr.rest(), from_zero=True)",
        "kr.play('drone/freq', krp.from_ir(",
        "kr.play('bell', 'A4 [~ E5]')",
        "kr.mod('verb/room', 'tri', lo=0.3, hi=0.9, bars=2)",
        "kr.mod('pad/freq', 'sine', lo=100.0, hi=140.0, bars='1/3')",
    ]:
        assert expected in text, f"missing: {expected}\n---\n{text}"
    defined = [line.split("(")[0][4:] for line in text.splitlines() if line.startswith("def ")]
    assert defined == ["kick", "hat", "bass", "reverb_fx", "keyed", "bell", "lfo", "ring"]


def test_a_solo_a_finished_fade_and_an_input_survive_the_round_trip(start_engine, tmp_path: Path):
    """Solo, a fade that has ended (its target value is the node's gain) and an audio
    input node (silent offline) are written too; the copy has the same nodes."""
    engine = start_engine("--offline")
    kr = Session(engine.client())
    kr.request("input_add", name="mic", channel=1, gain=0.3)
    kr.node("a", tone, freq=300.0)
    kr.node("b", tone, freq=500.0)
    kr.node("fx", verb, gain=0.5)
    kr.connect("a", "fx", level=0.5)
    kr.fade("b/gain", 0.25, bars="1/8")
    kr.render(cycles=1)
    kr.solo("a")
    path = kr.export(tmp_path / "solo.py")
    text = path.read_text()
    # The fade is over: it is written as where it ended, not as a fade to replay.
    assert "kr.solo('a')" in text and "kr.fade(" not in text
    assert "kr.node('b', tone, gain=0.25, freq=500.0)" in text
    assert "kr.input('mic', channel=1, gain=0.3)" in text
    copy = Session(start_engine("--offline").client())
    copy.load(path)
    assert _nodes(copy) == _nodes(kr)


from seed import SOURCE as SEED  # noqa: E402  (the example file, exactly the guide's beat)

LIVE = '''\
kr.mod("bass/cutoff", "sine", lo=200, hi=2000, bars=4) # sine LFO
kr.mod("verb/room", "ramp", lo=0.2, hi=0.9, bars=8) # linear ramp
kr.mod("hat/gain", "square", lo=0.0, hi=0.5, bars=2) # on/off
kr.mute("kick") # silence the kick
kr.unmute("kick") # bring it back
kr.fade("bass/gain", 0.0, bars=4) # fade bass out over 4 bars
kr.solo("bass") # mute everything except bass
kr.unsolo() # unmute all
kr.hush("kick") # stop kick pattern (node stays, can replay)
kr.stop() # stop all patterns
# Save to a reloadable Python file
kr.export("my_session.py")
# Later, in a new REPL session:
kr.load("my_session.py")
'''


def test_the_getting_started_lines_run_as_written(start_engine, tmp_path: Path, monkeypatch):
    """The guide's 5-minute beat and its live-performance and saving lines, run by
    ``kr.load`` from a hand-written file exactly as printed: the graph is built in
    one batch with the send, the patterns play, and the session it exports
    loads again."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "beat.py").write_text(SEED)
    (tmp_path / "live.py").write_text(LIVE)
    kr = Session(start_engine("--offline").client())
    ns = kr.load("beat.py")
    assert ns["k"].name == "kick" and ns["verb"].name == "verb"
    state = kr.state()
    assert [n["name"] for n in state["nodes"]] == ["kick", "hat", "bass", "verb"]
    assert state["routes"] == [{"src": "bass", "dst": "verb", "port": "in0", "level": 0.4, "send": True}]
    assert {p["target"] for p in state["patterns"]} == {"kick", "hat", "bass", "bass/cutoff"}
    assert state["bpm"] == 128
    x = render_both(kr, tmp_path / "beat.wav", cycles=2)
    assert np.max(np.abs(x)) > 0.1
    kr.load("live.py")
    assert (tmp_path / "my_session.py").is_file()
    text = (tmp_path / "my_session.py").read_text()
    assert "def reverb_fx(inp: krs.Signal) -> krs.Signal:" in text
    assert kr.state()["patterns"] == []
    later = Session(start_engine("--offline").client())
    later.load(tmp_path / "my_session.py")
    assert _nodes(later) == _nodes(kr)
    assert later.routing == kr.routing


def _nodes(kr: Session) -> list[dict]:
    """The engine's nodes with their gains as 32-bit floats: the engine keeps a new
    node's gain as a float (0.8 -> 0.800000011920929) and a replaced one's as given."""
    return [{**n, "gain": float(np.float32(n["gain"]))} for n in kr.state()["nodes"]]


def test_load_reports_the_file_s_own_errors(offline_session, tmp_path: Path):
    kr = offline_session
    (tmp_path / "bad.py").write_text(textwrap.dedent("""\
        kr.tempo = 100
        kr.node("x", undefined_synth)
        """))
    with pytest.raises(NameError, match="undefined_synth"):
        kr.load(tmp_path / "bad.py")
    assert kr.tempo == 100
