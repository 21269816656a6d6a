"""Timing you can hear: the seed's bass line and filter sweep, retriggered
envelopes, chords and voices, hush and stop, and the audio-thread automation
(`kr.mod`, `kr.fade`) — the real engine, offline at 48 kHz.

The companion of test_e2e_timing.py (the grid, tempo changes, swing, pattern
starts, JACK); the helpers are in timing_support.py. Synths that must show a
value exactly put it on a channel of their own (a gate times 0.25, a control
divided by a constant), so the sound of the other channel can be analysed
while the value is read sample by sample.
"""

from __future__ import annotations

import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from e2e_support import Take, dominant_frequency
from krach import signal as krs
from krach.session import Session
from timing_support import (
    SR,
    TransportModel,
    applied,
    band_energy,
    gate_times,
    spectral_peak_near,
    tags,
    transport,
)

A2, D3, E2 = 110.0, 146.83238, 82.40689  # Hz (A4 = 440)
CYCLE_128 = 90_000  # samples per cycle at 128 BPM


@pytest.fixture
def kr(start_engine) -> Session:
    engine = start_engine("--offline", "--record-events")
    kr = Session(engine.client())
    kr.engine = engine  # for the log
    yield kr
    kr.close()


def seed_bass() -> krs.Signal:
    """The bass of the seed's getting-started page, verbatim."""
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    env = krs.adsr(0.005, 0.15, 0.3, 0.08, gate)
    return krs.lowpass(krs.saw(freq), cutoff) * env * 0.55


def first_nonzero(x: np.ndarray, start: int) -> int:
    return start + int(np.argmax(np.abs(x[start:]) > 0))


# ---- 4. the seed's bass line: pitches at their times ---------------------------------------


def test_seed_bass_line_plays_its_pitches_at_their_times(kr: Session, tmp_path: Path):
    """b @ seq("A2", "D3", None, "E2").over(2) at 128 BPM, bass gain 0.3 as in
    the seed: notes of half a cycle (45 000 samples). Over 4 cycles: A2 on
    [0, 45 000), D3 on [45 000, 90 000), silence, E2 on [135 000, 180 000), and
    again from 180 000. Each note's pitch (FFT of the note after its 15 ms glide)
    is its note's within 0.25 Hz; a note after silence starts on its exact
    sample (the envelope's first non-zero sample is the one after the onset:
    the onset sample shows the level the attack starts from, 0); the rest is
    exactly silent once D3's 80 ms release is over."""
    b = kr.node("bass", seed_bass, gain=0.3)
    kr.tempo = 128
    b @ kr.seq("A2", "D3", None, "E2").over(2)
    take = Take(kr, tmp_path)
    take.render(4 * CYCLE_128)
    x = take.mono()
    half = CYCLE_128 // 2
    notes = [(0, A2), (1, D3), (3, E2), (4, A2), (5, D3), (7, E2)]
    for step, pitch in notes:
        seg = x[step * half + 7200:(step + 1) * half - 480]  # 150 ms in, to 10 ms before the end
        got = dominant_frequency(seg, SR)
        assert abs(got - pitch) < 0.25, f"note {step}: {got:.3f} Hz, expected {pitch:.3f} Hz"
    assert np.all(x[:1] == 0) and first_nonzero(x, 0) == 1, "A2 starts on sample 0"
    release = round(0.08 * SR)
    for rest in (2, 6):  # the silent half-cycles
        lo, hi = rest * half, (rest + 1) * half
        end = lo + int(np.flatnonzero(x[lo:hi] != 0)[-1]) + 1
        assert abs(end - (lo + release)) <= 2, f"D3 released until {end}, expected {lo + release}"
        assert np.all(x[end:hi] == 0.0), "silent until E2"
        assert first_nonzero(x, end) == hi + 1, f"E2 starts on sample {hi}"
    ons, _ = gate_times(applied(kr), tags(kr)["bass"], gate_index=1)
    assert ons == [k * half for k in (0, 1, 3, 4, 5, 7)]


# ---- 5. the seed's cutoff sweep -------------------------------------------------------------


def cutoff_probe() -> tuple[krs.Signal, krs.Signal]:
    """Left: the cutoff control / 8000 (its exact smoothed value); right: 0.5."""
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    return cutoff / 8000.0, krs.control("gate", 0.0, 0.0, 1.0) * 0.0 + 0.5


def smoothed(targets: dict[int, float], n: int, start: float, tau: float,
             eps: float = 0.0, dtype=np.float64) -> np.ndarray:
    """A one-pole smoother (time constant `tau` s) following `targets`
    ({sample: new target}), from `start`: the engine's control and gain smoothing."""
    coef = dtype(math.exp(-1.0 / (tau * SR)))
    out = np.empty(n)
    v, target = dtype(start), dtype(start)
    for i in range(n):
        if i in targets:
            target = dtype(targets[i])
        v = dtype(target + (v - target) * coef)
        if abs(v - target) <= eps:
            v = target
        out[i] = v
    return out


def test_cutoff_sine_over_4_cycles_sweeps_smoothly(kr: Session, tmp_path: Path):
    """b @ ("cutoff", sine(200, 2000).over(4)) at 128 BPM on the seed's bass,
    holding A2. The engine samples the sine every 256 samples (at the middle of
    each 256-sample span) and the control glides there in 15 ms. A probe with
    the same control, playing the same pattern, shows that exactly (within
    0.05 Hz of a simulation of that rule); the bass's spectral centroid (10 ms
    hops, 4096-sample windows) follows the sine without a jump between
    consecutive frames. Measured: the centroid spans 125-241 Hz (a lowpassed
    saw at 110 Hz keeps most power in its fundamental), rank correlation with
    the expected cutoff 0.999998, correlation with its log 0.9985, largest
    step between frames 0.99 Hz (limits: 0.999, 0.99, 5 Hz)."""
    b = kr.node("bass", seed_bass, gain=0.3, freq=A2, gate=1.0)
    probe = kr.node("probe", cutoff_probe, gain=1.0)
    kr.tempo = 128
    sweep = kr.sine(200, 2000).over(4)
    b @ ("cutoff", sweep)
    probe @ ("cutoff", sweep)
    take = Take(kr, tmp_path)
    n = 8 * CYCLE_128
    take.render(n)
    data = take.sound()
    # The bass is mono (both channels); the probe is stereo: right = bass + 0.5.
    bass = data[:, 1] - 0.5
    probe_cutoff = (data[:, 0] - bass) * 8000.0

    def sine_at(c: F) -> float:
        return 200 + 1800 * (1 + math.sin(2 * math.pi * float(c) / 4)) / 2

    model = TransportModel(128)
    targets = {g: sine_at((model.cycle_at(g) + model.cycle_at(g + 256)) / 2) for g in range(0, n, 256)}
    # The first value arrives before the node's first sample: the control
    # starts there (nothing to glide from); later ones glide.
    expected = smoothed(targets, n, targets[0], 0.015, eps=1e-6 * 3900)
    err = np.max(np.abs(probe_cutoff - expected))
    assert err < 0.05, f"the probe's cutoff is {err:.4f} Hz off the rule"

    hop, win = 480, 4096
    starts = range(0, n - win, hop)
    freqs = np.fft.rfftfreq(win, 1 / SR)
    window = np.hanning(win)
    centroid = np.array([
        np.sum(freqs * p) / np.sum(p)
        for p in (np.abs(np.fft.rfft(bass[s:s + win] * window)) ** 2 for s in starts)])
    want = np.array([expected[s + win // 2] for s in starts])
    ranks = float(np.corrcoef(np.argsort(np.argsort(centroid)), np.argsort(np.argsort(want)))[0, 1])
    corr = float(np.corrcoef(centroid, np.log(want))[0, 1])
    steps = np.abs(np.diff(centroid))
    assert centroid.max() - centroid.min() > 100, f"the centroid moves {np.ptp(centroid):.1f} Hz only"
    assert ranks > 0.999, f"centroid vs cutoff: rank correlation {ranks:.5f}"
    assert corr > 0.99, f"centroid vs log cutoff: correlation {corr:.4f}"
    assert np.max(steps) < 5.0, f"largest centroid step between 10 ms frames: {np.max(steps):.2f} Hz"


# ---- 7. retriggers, chords, voices ----------------------------------------------------------


def env_probe() -> tuple[krs.Signal, krs.Signal]:
    """Left: an ADSR (5 ms, 50 ms, 0.3, 50 ms) · 0.5; right: the gate · 0.25."""
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.adsr(0.005, 0.05, 0.3, 0.05, gate) * 0.5, gate * 0.25


def test_back_to_back_notes_each_restart_the_envelope(kr: Session, tmp_path: Path):
    """"x x x x" at 120 BPM: four notes of 24 000 samples, each ending where the
    next starts. Each must attack again: the envelope reaches its peak (1)
    within 5 ms (+ 2 samples) of every onset — the gate falls on the sample
    before the onset and rises on it — after sitting at the sustain level
    (0.3) before it."""
    kr.node("env", env_probe, gain=1.0)
    kr["env"] @ "x x x x"
    take = Take(kr, tmp_path)
    take.render(2 * 96_000)
    env = take.sound()[:, 0] / 0.5
    onsets = [24_000 * k for k in range(8)]
    attacks = [s for s in onsets if env[s:s + 242].max() >= 0.999]
    assert attacks == onsets, f"the envelope attacks at {attacks} only, of {onsets}"
    for s in onsets[1:]:
        assert np.all(np.abs(env[s - 1000:s] - 0.3) < 1e-6), "sustaining before the next note"


def test_the_seed_bass_line_articulates_d3(kr: Session, tmp_path: Path):
    """In the seed's line D3 follows A2 without a gap: its envelope must attack
    again (peak 1 instead of the sustain 0.3, measured as the bass's
    amplitude 5-10 ms after each onset versus 5-10 ms before it)."""
    b = kr.node("bass", seed_bass, gain=0.3)
    kr.tempo = 128
    b @ kr.seq("A2", "D3", None, "E2").over(2)
    take = Take(kr, tmp_path)
    take.render(2 * CYCLE_128)
    x = take.mono()
    s = CYCLE_128 // 2  # D3
    before = np.max(np.abs(x[s - 480:s - 240]))
    after = np.max(np.abs(x[s + 240:s + 480]))
    assert after > 2.0 * before, (f"D3 does not attack: peak {after:.4f} after its onset, "
                                  f"{before:.4f} before")


def chord_probe() -> tuple[krs.Signal, krs.Signal]:
    """Left: a sine at `freq` while the gate is up (0.2); right: the gate · 0.25."""
    freq = krs.control("freq", 440.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(freq) * gate * 0.2, gate * 0.25


def test_a_chord_on_three_voices_sounds_all_three_pitches(kr: Session, tmp_path: Path):
    """note("A4", "C#5", "E5") + rest on a count=3 node: three voices up from
    exactly sample 0 to 48 000 (the gate channel sums to 3 · 0.25), and the
    FFT of the chord holds A4, C#5 and E5 within 0.5 Hz, each with about a
    third of the energy."""
    kr.node("keys", chord_probe, gain=1.0, count=3)
    kr["keys"] @ (kr.note("A4", "C#5", "E5") + kr.rest())
    take = Take(kr, tmp_path)
    take.render(96_000)
    data = take.sound()
    voices = data[:, 1] / 0.25
    assert np.all(voices[:48_000] == 3.0) and np.all(voices[48_000:] == 0.0), np.unique(voices)
    chord = data[4_800:48_000 - 480, 0]
    for pitch in (440.0, 554.36526, 659.25511):
        got = spectral_peak_near(chord, pitch)
        assert abs(got - pitch) < 0.5, f"{pitch:.2f} Hz heard at {got:.2f} Hz"
        assert 0.25 < band_energy(chord, pitch) < 0.42, f"{pitch:.2f} Hz: share {band_energy(chord, pitch):.3f}"


def test_a_chord_on_one_voice_is_reported_once(kr: Session, tmp_path: Path):
    """The same chord on a one-voice node: one note sounds (the last, E5), and
    the engine log says once that the chord needs more voices."""
    kr.node("solo", chord_probe, gain=1.0)
    kr["solo"] @ kr.note("A4", "C#5", "E5")
    take = Take(kr, tmp_path)
    take.render(3 * 96_000)
    data = take.sound()
    assert np.max(data[:, 1]) == 0.25, "one voice"
    assert abs(dominant_frequency(data[4_800:90_000, 0], SR) - 659.25511) < 0.5
    log = kr.engine.log_path.read_text()
    warning = "solo: a chord needs more voices than the node's 1"
    assert log.count(warning) == 1, log[-2000:]
    assert "kr.node(..., count=N)" in log


@pytest.mark.parametrize("count", [2, 1])
def test_overlapping_notes_release_at_their_own_ends(kr: Session, tmp_path: Path, count):
    """Fifths of a 120 BPM cycle (19 200 samples): A3 on [0, 3/5) and C4 on
    [2/5, 4/5) — A3 is longer than the gap to C4. On two voices each releases
    at its own end (the gate channel counts 1, 2, 1, 0 voices). On one voice C4
    takes the voice at 2/5: A3's gate falls one sample early (on 2/5 - 1) so
    that C4's rises on its own sample, A3's end at 3/5 must not cut it, and
    the gate falls at 4/5 — nothing stuck. Checked sample by sample."""
    kr.node("pad", chord_probe, gain=1.0, count=count)
    kr["pad"] @ kr.stack(kr.p("A3@3 ~ ~"), kr.p("~ ~ C4@2 ~"))
    take = Take(kr, tmp_path)
    take.render(2 * 96_000)
    voices = take.sound()[:, 1] / 0.25
    step = 19_200
    want = np.zeros(96_000)
    if count == 2:
        for k, n in enumerate([1, 1, 2, 1, 0]):
            want[k * step:(k + 1) * step] = n
    else:
        want[:4 * step] = 1
        want[2 * step - 1] = 0  # A3 leaves the voice a sample before C4's onset
    want = np.tile(want, 2)
    wrong = np.flatnonzero(voices != want)
    assert len(wrong) == 0, (
        f"{len(wrong)} samples off, from {wrong[:1]}: voices {voices[wrong[:5]]}, expected {want[wrong[:5]]}")


# ---- 8. hush, stop, mod, fade ----------------------------------------------------------------


def test_hush_stops_the_pattern_and_releases_the_gate(kr: Session, tmp_path: Path):
    """A note held for 4 cycles (hit().over(4)) is hushed at sample 150 000: its
    gate falls on that very sample, the envelope releases to exactly 0 within
    its 50 ms (2 400 samples, +1), and nothing plays after."""
    kr.node("env", env_probe, gain=1.0)
    kr["env"] @ kr.hit().over(4)
    take = Take(kr, tmp_path)
    take.render(150_000)
    kr.hush("env")
    assert transport(kr)["patterns"] == []
    take.render(3 * 96_000)
    data = take.sound()
    gate, env = data[:, 1] / 0.25, data[:, 0] / 0.5
    assert np.all(gate[:150_000] == 1.0) and np.all(gate[150_000:] == 0.0)
    end = 150_000 + int(np.argmax(env[150_000:] == 0.0))
    assert abs(end - (150_000 + 2_400)) <= 1, f"released to 0 at {end}"
    assert np.all(env[end:] == 0.0)


def test_stop_hushes_every_pattern_and_automation(kr: Session, tmp_path: Path):
    """Two nodes with patterns and a mod on one: kr.stop() at 100 000 drops
    their gates there, ends the mod (its control glides back to its set value,
    800 Hz, the value kr["b/cutoff"] reports) and leaves nothing playing."""
    kr.node("a", chord_probe, gain=1.0)
    kr.node("b", cutoff_probe, gain=1.0)
    kr["a"] @ kr.hit().over(2)
    kr["b"] @ "x*16"
    kr.mod("b/cutoff", "sine", lo=200, hi=2000, bars=1)
    take = Take(kr, tmp_path)
    take.render(100_000)
    kr.stop()
    t = transport(kr)
    assert t["patterns"] == [] and t["automations"] == []
    take.render(96_000)
    data = take.sound()
    gate_a = data[:, 1] - 0.5  # b adds 0.5 to the right channel
    assert np.all(gate_a[:100_000] == 0.25) and np.all(gate_a[100_000:] == 0.0)
    cutoff = data[:, 0] * 8000  # a's sine is silent after the stop: the left is b's cutoff
    back = cutoff[100_000 + 20 * 720:]   # twenty time constants of the 15 ms glide
    assert np.max(np.abs(back - 800.0)) < 1e-3, f"the cutoff is at {back[0]:.3f} Hz, not 800"
    assert kr["b/cutoff"] == 800.0


def slice_starts(take: Take) -> list[int]:
    """Where the offline engine evaluates automations: every 128 frames from the
    start of each render call (chunks of 1024, slices of at most 128)."""
    starts, pos = [], 0
    for part in take.parts:
        starts.extend(range(pos, pos + len(part), 128))
        pos += len(part)
    return starts


def test_mod_follows_a_tempo_change_and_hush_ends_it(kr: Session, tmp_path: Path):
    """kr.mod("bass/cutoff", "sine", lo=200, hi=2000, bars=4) from cycle 0 at 128
    BPM: lo at cycles 0, 4, 8 …, hi at 2, 6 …. At cycle 4 the tempo becomes 140,
    and the period (4 bars) shortens with it: 360 000 → 329 142 6/7 samples.
    The control's value (a probe channel) matches the rule — the shape at the
    exact cycle of every 128-frame slice start, through the 15 ms smoother —
    within 0.05 Hz; its peaks lie on cycles 2, 6 and 10 (plus the smoother's
    lag). hush("bass/cutoff") at cycle 11 ends it: the control glides back to
    its set value (800 Hz)."""
    kr.node("bass", cutoff_probe, gain=1.0)
    kr.tempo = 128
    model = TransportModel(128)
    kr.mod("bass/cutoff", "sine", lo=200, hi=2000, bars=4)
    take = Take(kr, tmp_path)
    take.render(4 * CYCLE_128)
    kr.tempo = 140
    model.change(take.position, 140)
    take.render(model.sample_at(11) - take.position)
    hushed = take.position
    kr.hush("bass/cutoff")
    assert transport(kr)["automations"] == []
    take.render(96_000)
    cutoff = take.sound()[:, 0] * 8000
    n = len(cutoff)

    def shape(s: int) -> float:
        return 200 + 1800 * (0.5 - 0.5 * math.cos(2 * math.pi * float(model.cycle_at(s)) / 4))

    targets = {s: shape(s) for s in slice_starts(take) if s < hushed}
    # The first value arrives before the node's first sample: the control
    # starts there (nothing to glide from); later ones glide.
    expected = smoothed(targets, n, targets[0], 0.015, eps=1e-6 * 3900)
    err = np.abs(cutoff - expected)
    assert np.max(err[:hushed]) < 0.05, f"{np.max(err[:hushed]):.4f} Hz off at {int(np.argmax(err))}"
    for cycle in (2, 6, 10):
        top = model.sample_at(cycle)
        lo, hi = top - 30_000, top + 30_000
        peak = lo + int(np.argmax(cutoff[lo:hi]))
        assert 0 <= peak - top <= 2_000, f"the peak of cycle {cycle} is at {peak}, the cycle at {top}"
    back = cutoff[hushed + 20 * 720:]
    assert np.max(np.abs(back - 800.0)) < 1e-3, f"after the hush the cutoff is {back[0]:.4f} Hz"


def test_fade_reaches_zero_at_four_bars(kr: Session, tmp_path: Path):
    """kr.fade("bass/gain", 0.0, bars=4) from gain 1 at sample 1 024 at 128 BPM:
    a straight line to 0 at 1 024 + 360 000, stepped every 128 frames and
    smoothed by the gain's 20 ms one-pole. The node's output (a constant 0.5
    times its gain) matches that rule within 1e-6; the gain's target is 0 from
    the first slice at or after the end (within 128 samples), and the sound
    is below 1e-5 from 10 time constants later. hush("bass") then leaves the
    gain where it is."""
    kr.node("bass", cutoff_probe, gain=1.0)
    kr.tempo = 128
    take = Take(kr, tmp_path)
    take.render(1024)
    start = take.position
    kr.fade("bass/gain", 0.0, bars=4)
    end = start + 4 * CYCLE_128
    take.render(4 * CYCLE_128 + 20_000)
    kr.hush("bass")
    take.render(10_000)
    level = take.sound()[:, 1] / 0.5
    n = len(level)
    starts = [s for s in slice_starts(take) if s >= start]
    targets = {s: max(0.0, 1.0 - (s - start) / (4 * CYCLE_128)) for s in starts}
    expected = smoothed(targets, n, 1.0, 0.02, dtype=np.float32)
    err = np.abs(level - expected)
    assert np.max(err) < 1e-6, f"{np.max(err):.2e} off the fade at sample {int(np.argmax(err))}"
    zero_from = min(s for s in starts if s >= end)
    assert zero_from - end < 128 and targets[zero_from] == 0.0
    assert level[end - 1] > 0 and np.all(level[zero_from + 10 * 960:] < 1e-5)
    assert np.all(level[:start] == 1.0)
