"""Mixing, end to end: gain, mute, solo and hush on nodes and on groups
(``drums/kick`` and ``drums/hat`` are the group ``drums``), and polyphonic
chords — measured in what the real engine renders offline.

Steady sines on a grid of whole hertz are measured one by one with a DFT at
their frequency over one second (`session_support.amplitude`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import rms
from krach.errors import KrachError
from krach.pattern import note
from session_support import SR, amplitude, burst, fresh, keyed, render, tone, verb

KICK, HAT, BASS = 200, 3000, 100  # Hz


def _band(kr) -> None:
    """drums/kick (200 Hz) and drums/hat (3 kHz) in the group drums, and bass (100 Hz)."""
    kr.node("drums/kick", tone, freq=float(KICK))
    kr.node("drums/hat", tone, freq=float(HAT))
    kr.node("bass", tone, freq=float(BASS))


def _levels(kr, tmp_path: Path) -> dict[int, float]:
    """Render 0.5 s for the smoothed gain, mute and solo changes to settle, then 1 s;
    the amplitude of each tone, to 1e-4."""
    render(kr, tmp_path / "settle.wav", frames=SR // 2)
    x = render(kr, tmp_path / "x.wav", frames=SR)
    return {f: round(amplitude(x, f), 4) for f in (KICK, HAT, BASS)}


def test_gain_mute_and_solo_act_on_a_group(start_engine, tmp_path: Path):
    """``kr.gain("drums", g)``, ``kr.mute("drums")`` and ``kr.solo("drums")`` act on
    drums/kick and drums/hat together and leave bass alone.

    Measured amplitudes, to 1e-4 (each tone 0.5 × gain 0.5 = 0.25): all 0.25;
    drums at gain 0.1 → 0.05, 0.05, bass 0.25; muted → 0, 0, 0.25; unmuted
    and soloed → 0.05, 0.05, 0; unsoloed → 0.05, 0.05, 0.25. (Gain, mute and
    solo move with a one-pole of 20 ms time constant: 50 ms after a change
    the gain is still 0.6 % off, hence the 0.5 s to settle.)
    """
    kr = fresh(start_engine)
    _band(kr)
    assert _levels(kr, tmp_path) == {KICK: 0.25, HAT: 0.25, BASS: 0.25}
    assert kr.gain("drums", 0.1) == pytest.approx(0.1)
    assert kr.gain("drums/kick") == pytest.approx(0.1) and kr.gain("drums/hat") == pytest.approx(0.1)
    assert kr["bass"].gain == 0.5
    assert _levels(kr, tmp_path) == {KICK: 0.05, HAT: 0.05, BASS: 0.25}
    kr.mute("drums")
    assert _levels(kr, tmp_path) == {KICK: 0.0, HAT: 0.0, BASS: 0.25}
    kr.unmute("drums")
    kr.solo("drums")
    assert _levels(kr, tmp_path) == {KICK: 0.05, HAT: 0.05, BASS: 0.0}
    kr.unsolo()
    assert _levels(kr, tmp_path) == {KICK: 0.05, HAT: 0.05, BASS: 0.25}
    state = {n["name"]: (n["muted"], n["soloed"]) for n in kr.state()["nodes"]}
    assert state == {"drums/kick": (False, False), "drums/hat": (False, False), "bass": (False, False)}


def test_hush_on_a_group_stops_its_patterns_only(start_engine, tmp_path: Path):
    """``kr.hush("drums")`` stops the patterns of drums/kick and drums/hat (also one on
    a control) and releases their gates; bass plays on.

    Measured over 1 s from 0.5 s after the hush (the gate's 20 ms release is
    over): kick 0.0002 and hat 6e-7 (what is left is the bass notes' spectral
    spread), against 0.205 before; bass as loud as before (0.205).
    """
    kr = fresh(start_engine)
    for name, f in (("drums/kick", KICK), ("drums/hat", HAT), ("bass", BASS)):
        node = kr.node(name, keyed, freq=float(f))
        node @ (kr.hit() * 4)
    kr["drums/hat"] @ ("freq", kr.sine(2999.99, 3000.01))
    before = render(kr, tmp_path / "a.wav", cycles=1)
    kr.hush("drums")
    assert [p["target"] for p in kr.state()["patterns"]] == ["bass"]
    assert set(kr.patterns) == {"bass"}
    render(kr, tmp_path / "settle.wav", frames=SR // 2)  # the 20 ms release
    x = render(kr, tmp_path / "b.wav", frames=SR)
    assert amplitude(before, KICK) > 0.1 and amplitude(before, HAT) > 0.1
    assert amplitude(x, KICK) < 1e-3 and amplitude(x, HAT) < 1e-3
    assert amplitude(x, BASS) == pytest.approx(amplitude(before, BASS), rel=0.01)


def test_a_group_name_that_names_nothing_lists_the_nodes(offline_session):
    kr = offline_session
    _band(kr)
    for call in (lambda: kr.mute("drum"), lambda: kr.gain("drumz", 0.3), lambda: kr.solo("nope")):
        with pytest.raises(KrachError) as err:
            call()
        assert err.value.code == "unknown_node"
        assert "drums/kick" in err.value.message and "bass" in err.value.message


def test_mute_and_solo_change_what_is_heard(start_engine, tmp_path: Path):
    """RMS of the mix: a muted node is silent; a soloed node keeps the reverb it feeds
    while the other sources go silent; mute wins over solo.

    Two 0.25-amplitude sines: the mix has RMS 0.25; lead muted: 0.1768. With bass
    sent into a reverb (level 0.5) the 100 Hz component is bass plus its
    reverb: 0.3038 instead of 0.25; bass soloed: lead is gone (3e-10) and the
    100 Hz component is still 0.3038 — the reverb is heard. Bass muted too:
    RMS 0.00009 two seconds later (the reverb's tail only).
    """
    kr = fresh(start_engine)
    kr.node("lead", tone, freq=float(HAT))
    bass = kr.node("bass", tone, freq=float(BASS))
    fx = kr.node("verb", verb, gain=1.0)
    assert rms(render(kr, tmp_path / "a.wav", frames=SR)) == pytest.approx(0.25, rel=1e-4)
    kr.mute("lead")
    render(kr, tmp_path / "s.wav", frames=SR // 2)
    assert rms(render(kr, tmp_path / "b.wav", frames=SR)) == pytest.approx(0.25 / np.sqrt(2), rel=1e-4)
    kr.unmute("lead")
    bass >> (fx, 0.5)
    render(kr, tmp_path / "s.wav", frames=2 * SR)  # the reverb fills up
    x = render(kr, tmp_path / "c.wav", frames=SR)
    assert amplitude(x, BASS) > 0.26, "the reverb adds to the bass"
    kr.solo(bass)
    render(kr, tmp_path / "s.wav", frames=SR // 2)
    y = render(kr, tmp_path / "d.wav", frames=SR)
    assert amplitude(y, HAT) < 1e-6, "lead is silent while bass is soloed"
    assert amplitude(y, BASS) == pytest.approx(amplitude(x, BASS), rel=1e-3), "bass and its reverb are heard"
    kr.mute("bass")
    render(kr, tmp_path / "s.wav", frames=2 * SR)
    z = render(kr, tmp_path / "e.wav", frames=SR)
    assert rms(z) < 0.01


def test_a_burst_into_a_muted_node_sends_nothing(start_engine, tmp_path: Path):
    """Muting a source silences its sends too: its burst leaves no reverb tail."""
    kr = fresh(start_engine)
    src = kr.node("src", burst, gain=1.0)
    fx = kr.node("verb", verb, gain=1.0)
    src >> fx
    src.mute()
    render(kr, tmp_path / "s.wav", frames=SR // 2)
    src["gate"] = 1
    render(kr, tmp_path / "a.wav", frames=SR // 10)
    src["gate"] = 0
    x = render(kr, tmp_path / "b.wav", frames=SR)
    assert np.max(np.abs(x)) < 1e-9, "nothing reaches the reverb (the mute's one-pole is at -200 dB)"


PITCHES = {"A4": 440.0, "C5": 523.2511306, "E5": 659.2551138}


def _chord_spectrum(kr, tmp_path: Path, count: int, pattern) -> dict[str, float]:
    kr.node("keys", keyed, count=count)
    kr["keys"] @ pattern
    render(kr, tmp_path / "a.wav", cycles=1)
    x = render(kr, tmp_path / "b.wav", frames=SR // 2)  # inside the second chord's sustain
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return {name: float(spec[np.argmin(np.abs(freqs - f))] / spec.max()) for name, f in PITCHES.items()}


@pytest.mark.parametrize("form", ["note", "bar"])
def test_a_polyphonic_node_plays_a_whole_chord(start_engine, tmp_path: Path, form: str):
    """``kr.node(..., count=3)`` with ``kr.note("A4", "C5", "E5")`` (or the same chord
    written ``note | note | note``) sounds all three pitches: the FFT of half a
    second of the held chord has its peaks at 440, 523.25 and 659.26 Hz within
    1 dB of each other (measured: C5 and E5 at -0.8 dB of A4, the Hann window's
    bin offsets). With one voice only one pitch sounds (measured: the last one,
    E5; A4 and C5 are 115 dB down).
    """
    chord = note("A4", "C5", "E5") if form == "note" else note("A4") | note("C5") | note("E5")
    kr = fresh(start_engine)
    levels = _chord_spectrum(kr, tmp_path, 3, chord)
    assert all(v > 10 ** (-1 / 20) for v in levels.values()), levels
    mono = _chord_spectrum(fresh(start_engine), tmp_path, 1, chord)
    assert sorted(mono.values())[1] < 10 ** (-40 / 20), mono
