"""Scenes and pull, end to end: ``kr.save``, ``kr.recall`` (also inside
``kr.transition``), ``kr.scenes``, and ``kr.pull`` from a second client —
measured in what the real engine renders offline (session_support.py:
240 BPM, one bar is one second).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import dominant_frequency
from krach import pattern as krp
from krach.errors import KrachError
from krach.session import Session
from session_support import BAR, SR, amplitude, burst, envelope, fresh, keyed, render, tone, verb

LEAD, PAD, KEYS, BELL, LEAD2 = 440, 220, 1500, 880, 330  # Hz


def _levels(kr, tmp_path: Path) -> dict[int, float]:
    """Three seconds to settle (smoothed gains, mutes and controls; the reverb fills up),
    then one bar: the amplitude of each frequency."""
    render(kr, tmp_path / "settle.wav", frames=3 * SR)
    x = render(kr, tmp_path / "x.wav", frames=BAR)
    return {f: amplitude(x, f) for f in (LEAD, PAD, KEYS, BELL, LEAD2)}


def _comparable(state: dict) -> dict:
    """A state without what a recall does not restore exactly (the order nodes were made in)."""
    return {
        "bpm": state["bpm"], "beats": state["beats"], "master": state["master"],
        "nodes": sorted(state["nodes"], key=lambda n: n["name"]),
        "routes": sorted(state["routes"], key=lambda r: (r["src"], r["dst"])),
        "patterns": sorted(state["patterns"], key=lambda p: p["target"]),
        "automations": state["automations"],
    }


def test_recall_brings_back_a_saved_scene(start_engine, tmp_path: Path):
    """Two scenes that sound different; recalling each restores its state exactly and
    its sound to within 0.5 %.

    verse: lead 440 Hz, pad 220 Hz sent into a reverb, keys 1.5 kHz playing hits.
    chorus: lead quieter and at 330 Hz, no pad, a bell at 880 Hz, keys muted,
    tempo 180, master 0.8, a mod on the reverb's room. Measured amplitudes
    (440, 220, 1500, 880, 330 Hz): verse 0.25, 0.123, 0.205, 0, 0; chorus 0, 0,
    0, 0.2, 0.06; verse again equal to the first within 0.5 %, chorus again
    likewise.
    """
    kr = fresh(start_engine)
    lead = kr.node("lead", tone, freq=float(LEAD))
    pad = kr.node("pad", tone, freq=float(PAD), gain=0.25)
    fx = kr.node("verb", verb, gain=0.5)
    keys = kr.node("keys", keyed, freq=float(KEYS))
    pad >> (fx, 0.5)
    keys @ (kr.hit() * 4)
    render(kr, tmp_path / "warm.wav", cycles=1)
    kr.save("verse")
    verse_state = kr.state()
    verse = _levels(kr, tmp_path)

    lead["freq"] = float(LEAD2)
    lead.gain = 0.15
    kr.remove("pad")
    kr.node("bell", tone, freq=float(BELL))
    kr.mute("keys")
    kr.tempo = 180
    kr.master = 0.8
    kr.mod("verb/room", "square", lo=0.2, hi=0.9, bars=1)
    kr.save("chorus")
    chorus_state = kr.state()
    chorus = _levels(kr, tmp_path)
    assert sorted(kr.scenes) == ["chorus", "verse"]

    assert verse[LEAD] > 0.2 and verse[PAD] > 0.05 and verse[KEYS] > 0.1 and verse[BELL] < 1e-3
    assert chorus[LEAD] < 1e-3 and chorus[PAD] < 1e-3 and chorus[KEYS] < 1e-3
    assert chorus[BELL] > 0.05 and chorus[LEAD2] > 0.02

    for name, state, levels in (("verse", verse_state, verse), ("chorus", chorus_state, chorus),
                                ("verse", verse_state, verse)):
        kr.recall(name)
        assert _comparable(kr.state()) == _comparable(state)
        again = _levels(kr, tmp_path)
        for f, want in levels.items():
            assert again[f] == pytest.approx(want, rel=0.005, abs=1e-4), f"{name}: {f} Hz"
    assert kr.pattern("keys") == kr.hit() * 4, "the mirror follows the recall"
    assert kr["lead"].dsp is not None and kr["lead"].dsp.name == "tone"


def test_recalling_the_scene_that_plays_changes_nothing(start_engine, tmp_path: Path):
    """Recalling, during a reverb tail, the scene that is playing keeps every node
    running: the tail goes on sample for sample as without the recall, and the
    patterns are not restarted."""
    def run(recall: bool) -> np.ndarray:
        kr = fresh(start_engine)
        src = kr.node("src", burst, gain=1.0)
        kr.node("keys", keyed, freq=float(KEYS))
        src >> kr.node("verb", verb, gain=1.0)
        kr["keys"] @ kr.seq("A4", None, "E5")
        kr.save("now")
        src["gate"] = 1
        parts = [render(kr, tmp_path / "a.wav", frames=SR // 10)]
        src["gate"] = 0
        parts.append(render(kr, tmp_path / "b.wav", frames=SR // 2))
        if recall:
            kr.recall("now")
        parts.append(render(kr, tmp_path / "c.wav", frames=SR))
        return np.concatenate(parts)

    assert np.array_equal(run(True), run(False))


def test_recall_inside_a_transition_fades_gains_and_controls(start_engine, tmp_path: Path):
    """``with kr.transition(bars=2): kr.recall("quiet")``: the lead's gain fades from
    0.5 to 0.1 over two bars, its frequency glides, a node new in the scene
    fades in from silence; nothing jumps.

    Measured (10 ms peaks): the lead's envelope is within 0.0022 of the line
    0.25 → 0.05 over 2 s (the gain smoothing's lag); the new node (3 kHz, gain
    0.5) is at 0.1236 after one bar, about half its level of 0.25; the glide
    from 1000 to 1500 Hz is at 1246 Hz half-way (the control smoothing's lag).
    """
    kr = fresh(start_engine)
    lead = kr.node("lead", tone, freq=1000.0, gain=0.1)
    kr.node("new", tone, freq=3000.0, gain=0.5)
    lead["freq"] = 1500.0
    kr.save("quiet")
    kr.remove("new")
    lead.gain = 0.5
    lead["freq"] = 1000.0
    kr.save("loud")
    render(kr, tmp_path / "settle.wav", frames=SR // 2)
    with kr.transition(bars=2):
        kr.recall("quiet")
    autos = {a["target"]: a["value"] for a in kr.state()["automations"]}
    # A new node's gain is kept as a 32-bit float by the engine (0.1 -> 0.10000000149).
    assert autos == {"lead/gain": pytest.approx(0.1), "lead/freq": 1500.0, "new/gain": 0.5}
    x = render(kr, tmp_path / "x.wav", frames=3 * BAR)
    t = np.arange(3 * BAR) / SR
    # Separate the two tones: the lead (1000 -> 1500 Hz) below 2 kHz, the new node at 3 kHz.
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    low = np.fft.irfft(np.where(freqs < 2200, spec, 0), len(x))
    high = np.fft.irfft(np.where(freqs > 2600, spec, 0), len(x))
    lead_env = envelope(low, 480)[5:-5]
    tw = t[::480][5:len(lead_env) + 5]
    line = np.where(tw < 2.0, 0.25 - 0.2 * tw / 2.0, 0.05)
    assert np.max(np.abs(lead_env - line)) < 0.003
    assert envelope(high, 480)[100] == pytest.approx(0.125, abs=0.003)
    mid = dominant_frequency(low[BAR - 1200:BAR + 1200], SR)
    assert mid == pytest.approx(1250.0, abs=10.0)


@pytest.mark.parametrize("mover", ["mod", "pattern"])
def test_recall_ends_an_automation_at_the_scene_value(start_engine, tmp_path: Path, mover: str):
    """A mod (or a pattern on the control) added after the scene was saved is ended by
    the recall, and its control goes back to the scene's value (the engine alone
    would leave it where the mod or pattern left it).

    Measured: the tone is at about 1500 Hz when recalled half-way through a ramp
    from 1000 to 2000 Hz, and at 440.0 Hz after the recall.
    """
    kr = fresh(start_engine)
    t = kr.node("t", tone, freq=440.0)
    kr.save("plain")
    if mover == "mod":
        kr.mod("t/freq", "ramp", lo=1000, hi=2000, bars=1)
    else:
        t @ ("freq", kr.ramp(1000, 2000))
    render(kr, tmp_path / "a.wav", frames=BAR + BAR // 2)
    kr.recall("plain")
    assert kr.state()["automations"] == [] and kr.state()["patterns"] == []
    x = render(kr, tmp_path / "b.wav", frames=SR)
    assert dominant_frequency(x[SR // 2:], SR) == pytest.approx(440.0, abs=0.1)
    assert t["freq"] == 440.0


def test_recall_makes_audio_inputs_and_warns_about_test_tones(offline_session):
    """An audio input node of the scene is made again (channel, gain, its send); a test
    tone cannot be (the engine's state does not hold its frequency): the recall
    warns and goes on."""
    kr = offline_session
    kr.request("input_add", name="mic", channel=1, gain=0.3)
    kr.tone("beep", 880.0, 0.1)
    kr.node("verb", verb)
    kr.connect("mic", "verb", level=0.5)
    kr.save("with mic")
    kr.remove("mic")
    kr.remove("beep")
    kr.node("mic", tone)  # the name now taken by a synth
    with pytest.warns(UserWarning, match="'beep' is a tone"):
        kr.recall("with mic")
    nodes = {n["name"]: n for n in kr.state()["nodes"]}
    assert set(nodes) == {"mic", "verb"}
    assert nodes["mic"]["kind"] == "input" and nodes["mic"]["channel"] == 1
    assert nodes["mic"]["gain"] == pytest.approx(0.3)
    assert kr.routing == [{"src": "mic", "dst": "verb", "port": "in0", "level": 0.5, "send": True}]
    assert "mic" not in kr._dsps


def test_an_unknown_scene_says_how_to_save_one(offline_session):
    kr = offline_session
    with pytest.raises(KrachError) as err:
        kr.recall("bridge")
    assert err.value.code == "unknown_scene"
    assert 'kr.save("bridge")' in err.value.message
    assert kr.scenes == []


def test_a_second_client_pulls_the_session(start_engine, tmp_path: Path):
    """A second client (or a restarted REPL) sees the session after ``kr.pull()``:
    nodes by name with their synths, patterns (built from the engine's IR, equal
    to the first client's), routes; it can change them, and its export
    recreates the session bit for bit on a fresh engine."""
    engine = start_engine("--offline")
    one = Session(engine.client())
    one.tempo = 240
    keys = one.node("keys", keyed, freq=float(KEYS))
    fx = one.node("verb", verb, gain=0.3)
    keys >> (fx, 0.5)
    pattern = keys @ krp.seq("A4", None, "C5", "E5").every(2, lambda p: p.fast(2))
    keys @ ("freq", one.sine(1400, 1600).over(2))

    two = Session(engine.client())
    assert two.pattern("keys") is None and two.patterns == {}
    state = two.pull()
    assert [n["name"] for n in state["nodes"]] == ["keys", "verb"]
    assert two.pattern("keys") == pattern
    assert set(two.patterns) == {"keys", "keys/freq"}
    assert two["keys"].dsp is not None and two["keys"].dsp.ir == keys.dsp.ir
    assert two["keys"].dsp.fn is None, "a synth the second client did not trace comes from the IR"
    assert two["keys/gate"] == 0.0
    assert two.routing == one.routing

    exported = two.export(tmp_path / "pulled.py")
    original = render(one, tmp_path / "one.wav", cycles=4)
    fresh_kr = Session(start_engine("--offline").client())
    fresh_kr.load(exported)
    copy = render(fresh_kr, tmp_path / "copy.wav", cycles=4)
    assert np.flatnonzero(original != copy).tolist()[:1] == []

    two["verb"]["room"] = 0.5  # and it can change what the first client made
    assert one["verb/room"] == 0.5

