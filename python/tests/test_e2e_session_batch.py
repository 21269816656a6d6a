"""``with kr.batch():`` and ``with kr.transition(bars=n):``, end to end.

A batch is one engine ``batch`` command: all or nothing, applied at one block
boundary; a transition turns values set inside it into engine fades. Measured
in what the real engine renders offline (session_support.py: 240 BPM, one bar
is one second).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from e2e_support import Conn, dominant_frequency, read_sound
from krach import signal as krs
from krach.errors import KrachError
from krach.session import Session
from krach.signal import Dsp
from session_support import BAR, SR, amplitude, envelope, fresh, keyed, render, tone, verb


def dc_quarter() -> krs.Signal:
    return krs.control("level", 0.25, 0.0, 1.0) + 0.0


def dc_eighth() -> krs.Signal:
    return krs.control("level", 0.125, 0.0, 1.0) + 0.0


# ---- batch ----------------------------------------------------------------------------


def test_a_batch_is_one_engine_command_and_its_nodes_start_on_one_sample(start_engine, tmp_path: Path):
    """Two synths made in one batch (after 1000 samples of silence) start on the same
    sample: their constant outputs (0.25 and 0.125 at gain 1) sum to 0.375 on the
    very first sample that is not silent. While the block runs, a second
    client sees none of it; afterwards it sees everything.

    Measured: sample 1000 is 0.375. (Offline, separate commands sent between
    two renders start together too; the next test shows the difference on a
    live engine.)
    """
    engine = start_engine("--offline")
    kr = Session(engine.client())
    render(kr, tmp_path / "a.wav", frames=1000)
    with Conn(engine.socket) as other, kr.batch():
        a = kr.node("a", dc_quarter, gain=1.0)
        b = kr.node("b", dc_eighth, gain=1.0)
        a >> kr.node("fx", verb, gain=0.0)
        kr.mute(b)
        kr.unmute(b)
        assert other.ask(cmd="nodes")["nodes"] == [], "nothing is sent before the block ends"
    x = render(kr, tmp_path / "b.wav", frames=1000)
    assert x[0] == 0.375
    assert np.all(x == 0.375)
    assert [n["name"] for n in kr.nodes] == ["a", "b", "fx"]
    assert kr.routing == [{"src": "a", "dst": "fx", "port": "in0", "level": 1.0, "send": True}]
    kr.close()


def test_on_a_live_engine_a_batch_starts_its_nodes_on_one_sample(start_engine, tmp_path: Path):
    """On a real-time engine (null backend, recorded with ``record``), separate commands
    may land in different audio blocks; the nodes of one batch never do. Twenty
    times over, two synths made in one batch (constant 0.25 and 0.125) start on
    one sample: the first non-silent sample is 0.375, and each batch's removal
    ends both on one sample, so the recording holds only 0 and 0.375.

    Measured: 20 of 20 onsets are 0.375. The same loop with two separate
    ``kr.node`` calls split 9 onsets of 30 (the first node alone for a block).
    """
    kr = Session(start_engine("--backend", "null").client())
    take = tmp_path / "live.wav"
    kr.request("record", path=str(take))
    time.sleep(0.05)
    for _ in range(20):
        with kr.batch():
            kr.node("a", dc_quarter, gain=1.0)
            kr.node("b", dc_eighth, gain=1.0)
        time.sleep(0.05)
        with kr.batch():
            kr.remove("a")
            kr.remove("b")
        time.sleep(0.05)
    kr.request("record_stop")
    x = read_sound(take)[0][:, 0]
    values = set(np.unique(x).tolist())
    assert values == {0.0, 0.375}, f"values in the recording: {sorted(values)[:10]}"
    x = np.concatenate([[0.0], x])  # an onset on the first recorded sample counts too
    onsets = np.flatnonzero((x[1:] != 0) & (x[:-1] == 0)) + 1
    assert len(onsets) == 20 and np.all(x[onsets] == 0.375)
    kr.close()


def _snapshot(kr) -> dict:
    state = kr.state()
    return {"state": state, "dsps": dict(kr._dsps), "patterns": dict(kr.patterns)}


@pytest.mark.parametrize("bad", ["port", "synth", "control", "group"])
def test_a_batch_with_one_bad_command_changes_nothing(offline_session, bad: str):
    """One bad command — a route into a source, a synth that does not compile, an
    unknown control, a mute of a name that is no node or group — and the whole
    batch is refused with a `KrachError` naming the command; the engine's state
    and this session's view are exactly as before, and the handles made inside
    name nodes that do not exist."""
    kr = offline_session
    kr.node("x", tone)
    kr["x"] @ (kr.hit() * 2)
    before = _snapshot(kr)
    with pytest.raises(KrachError) as err:
        with kr.batch():
            a = kr.node("a", tone, gain=0.3)
            kr.node("fx", verb)
            a >> "fx"
            kr.gain("x", 0.2)
            a @ kr.hit()
            if bad == "port":
                a >> "x"
            elif bad == "synth":
                kr.node("broken", krs.from_ir({"krach_ir": 1, "inputs": 0, "controls": [],
                                               "nodes": [{"op": "no_such_op"}], "outputs": [0]}))
            elif bad == "control":
                kr.set("a/nope", 1.0)
            else:
                kr.mute("drums")
    assert "nothing was changed" in err.value.message
    assert err.value.message.startswith("batch command 4")  # the pattern waits for the batch
    assert _snapshot(kr) == before
    with pytest.raises(KrachError) as missing:
        kr["a"]["freq"]
    assert missing.value.code == "unknown_node"


def test_handles_and_patterns_made_in_a_batch_work_afterwards(start_engine, tmp_path: Path):
    """A `Node` made inside a batch works as usual afterwards; a pattern played on it
    inside the batch (before the engine has the node) starts right after the
    batch; controls and gains set inside are applied with it."""
    kr = fresh(start_engine)
    with kr.batch():
        k = kr.node("k", keyed, freq=440.0)
        k @ (kr.hit() * 4)
        kr["k"]["freq"] = 660.0  # kr["k"] knows a node made earlier in the batch
        k.gain = 0.25
    assert k.dsp is not None and k.dsp.name == "keyed"
    assert k["freq"] == 660.0 and k.gain == 0.25
    assert kr.pattern("k") == kr.hit() * 4
    assert [p["target"] for p in kr.state()["patterns"]] == ["k"]
    x = render(kr, tmp_path / "a.wav", frames=SR)
    assert dominant_frequency(x[4800:14400], SR) == pytest.approx(660.0, abs=0.5)
    k["freq"] = 330.0
    y = render(kr, tmp_path / "b.wav", frames=SR)
    assert dominant_frequency(y[4800:12000], SR) == pytest.approx(330.0, abs=0.5)


def test_an_exception_inside_a_batch_sends_nothing(offline_session):
    kr = offline_session
    with pytest.raises(ZeroDivisionError):
        with kr.batch():
            kr.node("a", tone)
            kr.tempo = 99
            1 / 0
    assert kr.nodes == [] and kr.tempo == 120.0
    kr.node("b", tone)  # the session is usable again
    assert [n["name"] for n in kr.nodes] == ["b"]


def test_batches_and_transitions_do_not_nest(offline_session):
    """A batch in a batch, a transition in a transition, and either in the other raise
    `RuntimeError`; nothing of an outer batch is sent (a transition sends its fades
    as they are made)."""
    kr = offline_session
    kr.node("t", tone)
    for inner in (kr.batch, kr.transition):
        with pytest.raises(RuntimeError, match="inside kr.batch"):
            with kr.batch():
                kr.gain("t", 0.1)
                with inner():
                    pass
    assert kr.gain("t") == 0.5
    for inner in (kr.transition, kr.batch):
        with pytest.raises(RuntimeError, match="inside kr.transition"):
            with kr.transition(bars=1):
                with inner():
                    pass
    assert kr.state()["automations"] == []
    with pytest.raises(RuntimeError, match="kr.render inside kr.batch"):
        with kr.batch():
            kr.render(frames=10)
    with pytest.raises(RuntimeError, match="kr.recall inside kr.batch"):
        with kr.batch():
            kr.recall("x")


# ---- transition -------------------------------------------------------------------------


def test_a_transition_turns_a_gain_into_a_fade_over_its_bars(start_engine, tmp_path: Path):
    """``with kr.transition(bars=2): kr.gain("t", 0.1)`` moves the gain from 0.5 to 0.1
    in a straight line over two bars (2 s at 240 BPM), then holds it.

    A 1 kHz tone of amplitude 0.5: its peak in each 10 ms window follows
    0.25 - 0.2 t / 2 s. The engine's gain smoothing (a 20 ms one-pole) trails
    the line by 0.1/s × 20 ms = 0.002. Measured: largest deviation from the
    line 0.0021; 0.05 (±2e-6) from 2.1 s on.
    """
    kr = fresh(start_engine)
    kr.node("t", tone, freq=1000.0)
    with kr.transition(bars=2):
        assert kr.gain("t", 0.1) == 0.1
    assert kr.state()["automations"] == [{"target": "t/gain", "shape": "fade", "bars": "2", "value": 0.1}]
    x = render(kr, tmp_path / "a.wav", frames=3 * BAR)
    peaks = envelope(x, 480)
    t = np.arange(len(peaks)) * 480 / SR
    line = np.where(t < 2.0, 0.25 - 0.2 * t / 2.0, 0.05)
    assert np.max(np.abs(peaks - line)) < 0.0025
    assert np.all(np.abs(peaks[t > 2.1] - 0.05) < 1e-5)


def test_a_transition_fades_controls_groups_and_node_gains(start_engine, tmp_path: Path):
    """Inside one transition (1 bar): ``node["freq"] = 880`` glides from 440 Hz,
    ``kr.set("drums/gain", ...)`` and a group gain fade, and ``gate`` still jumps.

    Measured: the tone is at 445 Hz over the first 50 ms, 652.8 Hz half a bar
    in (the line's 660 Hz less the 15 ms control smoothing's lag of 6.6 Hz),
    880 Hz after the bar; the keyed voice sounds within 10 ms of the
    change; the group is silent after the bar.
    """
    kr = fresh(start_engine)
    glide = kr.node("glide", tone, freq=440.0, gain=0.25)
    kr.node("drums/a", tone, freq=2000.0, gain=0.5)
    kr.node("drums/b", tone, freq=3000.0, gain=0.5)
    key = kr.node("key", keyed, freq=1500.0)
    with kr.transition(bars=1):
        glide["freq"] = 880.0
        kr.gain("drums", 0.0)
        key["gate"] = 1.0
    autos = {a["target"]: a["value"] for a in kr.state()["automations"]}
    assert autos == {"glide/freq": 880.0, "drums/a/gain": 0.0, "drums/b/gain": 0.0}
    x = render(kr, tmp_path / "a.wav", frames=2 * BAR)
    lowpassed = np.convolve(x, np.ones(24) / 24, mode="same")  # keep the glide, drop 1.5-3 kHz
    assert 440.0 <= dominant_frequency(lowpassed[:2400], SR) < 450.0
    lag = 440.0 * 0.015  # the control's 15 ms smoothing trails the line (440 Hz per second)
    assert dominant_frequency(lowpassed[SR // 2 - 1200:SR // 2 + 1200], SR) == pytest.approx(660.0 - lag, abs=1.0)
    assert dominant_frequency(lowpassed[SR + 2400:SR + 7200], SR) == pytest.approx(880.0, abs=0.5)
    assert amplitude(x[:480], 1500) > 0.05, "the gate jumps"
    late = x[BAR + SR // 4:]  # the gain smoothing has caught up with the fade
    assert amplitude(late, 2000) < 1e-6 and amplitude(late, 3000) < 1e-6
    assert kr.gain("drums/a") == 0.0


def test_a_transition_value_outside_the_range_is_clamped_with_a_warning(offline_session):
    kr = offline_session
    kr.node("t", tone)
    with kr.transition(bars=1), pytest.warns(UserWarning, match="clamped to 4000"):
        kr["t/freq"] = 9000.0
    assert kr.state()["automations"][0]["value"] == 4000.0
    with kr.transition(bars=1), pytest.raises(ValueError):
        kr.gain("t", 5.0)
    with pytest.raises(ValueError):
        with kr.transition(bars=0):
            pass


@pytest.mark.parametrize("bad, code", [
    ({"gain": 9}, "bad_value"),
    ({"gain": "loud"}, "bad_type"),
    ({"controls": {"nope": 1}}, "unknown_control"),
    ({"controls": {"freq": "x"}}, "bad_type"),
    ({"controls": [1]}, "bad_type"),
])
def test_a_bad_node_set_value_stops_the_whole_batch(offline_engine, bad, code):
    """The dry run checks node_set's gain and controls too: a bad value in the
    second command leaves the first one undone ("nothing was changed")."""
    ir = Dsp(lambda: krs.sine_osc(krs.control("freq", 440, 20, 2000)) * 0.1).ir
    client = offline_engine.client()
    with pytest.raises(KrachError) as err:
        client.request("batch", commands=[{"cmd": "node_set", "name": "a", "ir": ir},
                                          {"cmd": "node_set", "name": "b", "ir": ir, **bad}])
    assert err.value.code == code and "nothing was changed" in str(err.value)
    assert client.request("status")["nodes"] == []
