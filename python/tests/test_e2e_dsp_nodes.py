"""Synth nodes, end to end: envelopes at exact samples, feedback and tables,
control smoothing, hot swaps, compile errors, the seed's synths and
determinism — traced by `kr.node`, played by the real engine offline at
48 kHz and measured in the files it writes.

Timing is exact: in an offline engine ``render(frames=n)`` advances exactly n
frames and a command sent between two renders takes effect at the first sample
of the next one (see `Take`). A node's default gain is 0.5, a power of two, so
dividing the output by it gives the synth's own samples bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import SAMPLE_RATE, Take, dominant_frequency, energy_fraction, read_sound, rms
from krach import signal as krs
from krach.errors import KrachError
from krach.session import Session

SR = SAMPLE_RATE
GAIN = 0.5  # the default node gain


# ---- ADSR through the engine -----------------------------------------------------------


def test_adsr_segments_end_on_time(offline_session, tmp_path: Path):
    """adsr(5.2 ms, 31.1 ms, 0.3, 45.7 ms) with the gate raised at sample 1000 and
    dropped at sample 6000: every segment is the exact line the spec describes
    and ends within 1 sample of its set time; the sustain is exactly 0.3.

    Set ends (in samples after their start): attack 249.6, decay 1492.8,
    release 2193.6. Measured: attack peak at +250, first sustain sample at
    +1743 from the onset (249.6 + 1492.8 = 1742.4), first zero at +2194 after
    the gate falls; all segment samples within 1e-6 of the ideal lines.
    """
    a, d, s, r = (float(np.float32(v)) for v in (0.0052, 0.0311, 0.3, 0.0457))

    def env():
        gate = krs.control("gate", 0.0, 0.0, 1.0)
        return krs.adsr(0.0052, 0.0311, 0.3, 0.0457, gate)

    kr = offline_session
    kr.node("env", env)
    take = Take(kr, tmp_path)
    take.render(1000)
    on = take.position
    kr.set("env/gate", 1)
    take.render(5000)
    off = take.position
    kr.set("env/gate", 0)
    take.render(4000)
    x = take.mono() / GAIN

    assert np.all(x[:on] == 0.0), "silent before the gate"
    # Attack: from 0 at the onset sample, 1/(a*sr) per sample.
    m = np.arange(0, 250)
    assert np.max(np.abs(x[on + m] - m / (a * SR))) < 1e-6
    peak = on + int(np.argmax(x[on:off]))
    assert abs((peak - on) - a * SR) <= 1.0, f"attack ends at +{peak - on}, set {a * SR:.1f}"
    # Decay: the line from 1 at on + a*sr down to the sustain level.
    t = np.arange(on + 250, on + 1742) - on - a * SR
    assert np.max(np.abs(x[on + 250:on + 1742] - (1 - t * (1 - s) / (d * SR)))) < 1e-6
    sustain_start = on + int(np.argmax(x[on:off] == np.float32(s)))
    assert abs((sustain_start - on) - (a + d) * SR) <= 1.0, (
        f"decay ends at +{sustain_start - on}, set {(a + d) * SR:.1f}")
    # Sustain: exactly the level, up to and including the sample the gate falls.
    assert np.all(x[sustain_start:off + 1] == np.float32(s))
    # Release: from the sustain level at the falling sample, linearly to 0.
    k = np.arange(0, 2193)
    assert np.max(np.abs(x[off + k] - s * (1 - k / (r * SR)))) < 1e-6
    end = off + int(np.argmax(x[off:] == 0.0))
    assert abs((end - off) - r * SR) <= 1.0, f"release ends at +{end - off}, set {r * SR:.1f}"
    assert np.all(x[end:] == 0.0)


def test_adsr_release_during_attack_starts_from_the_current_level(offline_session, tmp_path):
    """Gate up for 100 samples only: the attack stops at 100/249.6 and the release
    falls from there to 0 in the release time (2193.6 samples)."""
    a, r = float(np.float32(0.0052)), float(np.float32(0.0457))

    def env():
        gate = krs.control("gate", 0.0, 0.0, 1.0)
        return krs.adsr(0.0052, 0.0311, 0.3, 0.0457, gate)

    kr = offline_session
    kr.node("env", env)
    take = Take(kr, tmp_path)
    take.render(500)
    kr.set("env/gate", 1)
    take.render(100)
    kr.set("env/gate", 0)
    take.render(3000)
    x = take.mono() / GAIN
    level = 100 / (a * SR)
    assert x[600] == pytest.approx(level, abs=1e-6)
    assert np.max(x) == pytest.approx(level, abs=1e-6)
    end = 600 + int(np.argmax(x[600:] == 0.0))
    assert abs((end - 600) - r * SR) <= 1.0


def test_back_to_back_gates_retrigger(offline_session, tmp_path: Path):
    """A gate set to 1 while already 1 still starts a note: the engine drops the
    gate for one sample, so the envelope releases for that sample and attacks
    again from where it was.

    adsr(10 ms, 20 ms, 0.5, 30 ms), onsets at samples 1000 and 4000 (sustaining
    at 0.5 by then). Measured: the second attack starts at sample 4001 from
    0.49965, peaks at 4241 (set: 4001 + 0.50035 * 480 = 4241.2) at 0.99965, and
    is back at sustain at 5202 (set 5201.2).
    """

    def env():
        gate = krs.control("gate", 0.0, 0.0, 1.0)
        return krs.adsr(0.01, 0.02, 0.5, 0.03, gate)

    kr = offline_session
    kr.node("env", env)
    take = Take(kr, tmp_path)
    take.render(1000)
    kr.set("env/gate", 1)
    take.render(3000)
    again = take.position
    kr.set("env/gate", 1)
    take.render(3000)
    x = take.mono() / GAIN

    assert np.all(x[2440:again] == 0.5), "sustaining before the second note"
    # The one-sample dip: release for one sample, then the attack from there.
    assert x[again] == 0.5
    start = 0.5 - 0.5 / (0.03 * SR)
    assert x[again + 1] == pytest.approx(start, abs=1e-6)
    assert x[again + 2] - x[again + 1] == pytest.approx(1 / (0.01 * SR), abs=1e-6)
    seg = x[again:again + 1000]
    peak = again + int(np.argmax(seg))
    expected_peak = again + 1 + (1 - start) * 0.01 * SR
    assert abs(peak - expected_peak) <= 1.0, f"second peak at {peak}, set {expected_peak:.1f}"
    assert x[peak] > 0.999, f"the second note peaks at {x[peak]}"
    back = peak + int(np.argmax(x[peak:] == 0.5))
    assert abs(back - (expected_peak + 0.02 * SR)) <= 1.0
    assert np.all(x[back:] == 0.5)


# ---- feedback and tables -----------------------------------------------------------------


def test_feedback_counter_is_exact_over_a_million_samples(offline_session, tmp_path: Path):
    """y = krs.feedback(lambda y: y + 1) counts 1, 2, 3, ... with no error for 10^6
    samples. It leaves the node split into exact float parts: left = (y mod 1024)
    / 2048, right = floor(y / 1024) / 2048 (both below 0.5, so no limiter)."""

    def counter():
        y = krs.feedback(lambda prev: prev + 1)
        return (y % 1024) / 2048, krs.floor(y / 1024) / 2048

    kr = offline_session
    kr.node("count", counter, gain=1.0)
    take = Take(kr, tmp_path)
    take.render(10 ** 6)
    data = take.sound()
    y = data[:, 0] * 2048 + data[:, 1] * 2048 * 1024
    expected = np.arange(1, 10 ** 6 + 1, dtype=np.float64)
    wrong = np.flatnonzero(y != expected)
    assert wrong.size == 0, f"the counter is off from sample {wrong[0]}: {y[wrong[0]]}"


def test_rwtable_looper_records_and_plays_back_bit_exactly(offline_session, tmp_path: Path):
    """A 0.1 s looper: while the gate is up (from sample 0), white noise is written
    at the running position and read back at once; when the gate falls (at
    exactly sample 4800), writes go to a spare slot and the loop plays on: every
    later sample is the recorded one, bit for bit, three times round."""
    size = 4800

    def looper():
        recording = krs.control("gate", 0.0, 0.0, 1.0)
        index = krs.feedback(lambda prev: prev + 1) - 1  # 0, 1, 2, ...
        pos = index % size
        source = krs.white_noise(5) * 0.5
        out = krs.rwtable(size + 1, krs.select2(recording, size, pos), source, pos)
        return source, out

    kr = offline_session
    kr.node("loop", looper, gain=1.0)
    kr.set("loop/gate", 1)
    take = Take(kr, tmp_path)
    take.render(size)
    kr.set("loop/gate", 0)
    take.render(3 * size)
    source, out = take.sound()[:, 0], take.sound()[:, 1]
    assert rms(source) > 0.2
    assert np.array_equal(out[:size], source[:size]), "recording reads back what it wrote"
    for turn in range(1, 4):
        loop = out[turn * size:(turn + 1) * size]
        assert np.array_equal(loop, source[:size]), f"turn {turn} differs from the recording"
    assert not np.array_equal(source[size:2 * size], source[:size]), "the noise itself goes on"


def test_gate_starting_high_is_high_from_the_first_sample(offline_session, tmp_path: Path):
    """A gate control whose init is 1 reads 1 from the node's first sample, so an
    envelope on it starts at sample 0 (env.c: a gate already high at the first
    sample is an onset). The one-sample retrigger dip is for a gate *set* to 1
    while it is 1, not for the node's creation."""

    def held():
        gate = krs.control("gate", 1.0, 0.0, 1.0)
        return gate, krs.adsr(0.0, 0.1, 0.5, 0.1, gate)

    kr = offline_session
    kr.node("held", held)
    take = Take(kr, tmp_path)
    data = take.render(8) / GAIN
    assert np.all(data[:, 0] == 1.0), f"gate samples {data[:, 0]}"
    assert data[0, 1] == 1.0, f"envelope samples {data[:, 1]}: the onset is late"


# ---- smoothing, swaps and errors --------------------------------------------------------------


def test_control_jump_is_smoothed(offline_session, tmp_path: Path):
    """A DC level control jumped 0 -> 1 at sample 1000 rises as a 15 ms one-pole:
    no sample step above 1/720 of the jump (the first, largest one), and 63.2 %
    reached after 720 samples. A gate control in the same synth jumps at once.

    Measured: largest step 0.0013879 of the jump (1 - exp(-1/720) = 0.0013879);
    after 720 samples 0.632121 (1 - 1/e = 0.632121).
    """

    def levels():
        return krs.control("level", 0.0, 0.0, 1.0), krs.control("gate", 0.0, 0.0, 1.0)

    kr = offline_session
    kr.node("dc", levels)
    take = Take(kr, tmp_path)
    take.render(1000)
    kr.set("dc/level", 1.0)
    kr.set("dc/gate", 1.0)
    take.render(SR // 5)
    data = take.sound() / GAIN
    level, gate = data[:, 0], data[:, 1]
    steps = np.abs(np.diff(level))
    first = 1 - np.exp(-1 / (0.015 * SR))
    assert np.max(steps) <= first * 1.001 + 1e-7, f"largest step {np.max(steps):.6f}"
    assert np.all(level[:1000] == 0.0) and level[1000] > 0
    assert level[1000 + 719] == pytest.approx(1 - np.exp(-1), abs=2e-4)
    assert level[-1] == pytest.approx(1.0, abs=1e-3)
    assert np.all(gate[:1000] == 0.0) and np.all(gate[1000:] == 1.0), "a gate is never smoothed"


def tone() -> krs.Signal:
    freq = krs.control("freq", 440.0, 20.0, 2000.0)
    return krs.sine_osc(freq) * 0.5


def tone_fifth_up() -> krs.Signal:
    freq = krs.control("freq", 440.0, 20.0, 2000.0)
    return krs.sine_osc(freq * 1.5) * 0.5


def test_swap_crossfades_without_a_click_and_keeps_controls(offline_session, tmp_path: Path):
    """kr.node again with a changed function: a 523 Hz sine becomes 784.5 Hz
    (the same freq control, times 1.5). Across the swap no sample step is larger
    than the new sine's own largest step (+2 %), and no second difference
    (curvature: where a click shows) larger than either sine's own (+10 %); the
    freq control keeps its value 523.

    Measured: largest step across the swap 0.025661 (the 784.5 Hz sine's own:
    0.025673); switching without a fade would have stepped up to 0.5.
    """
    kr = offline_session
    node = kr.node("tone", tone)
    node["freq"] = 523.0
    take = Take(kr, tmp_path)
    take.render(12345)  # the freq glide is long over
    swap = take.position
    kr.node("tone", tone_fifth_up)
    take.render(SR // 2)
    x = take.mono()
    assert node["freq"] == 523.0
    assert kr.nodes[0]["controls"][0]["value"] == 523.0

    fade = int(0.02 * SR)
    around = slice(swap - 480, swap + fade + 480)
    old, new = slice(swap - 7000, swap - 1000), slice(swap + fade + 2000, len(x) - 10)
    step = np.abs(np.diff(x))
    curve = np.abs(np.diff(x, 2))
    assert np.max(step[around]) <= 1.02 * np.max(step[new]), (
        f"step across the swap {np.max(step[around]):.6f}, "
        f"the new sine's own {np.max(step[new]):.6f}")
    assert np.max(curve[around]) <= 1.10 * max(np.max(curve[old]), np.max(curve[new])), (
        f"curvature across the swap {np.max(curve[around]):.6f}")
    # Before: 523 Hz; after the fade: 784.5 Hz, at the same level.
    assert abs(dominant_frequency(x[swap - 9600:swap], SR) - 523.0) < 0.5
    assert abs(dominant_frequency(x[swap + fade:], SR) - 784.5) < 0.5
    assert rms(x[swap + fade:]) == pytest.approx(0.25 / np.sqrt(2), rel=0.01)


def ramp() -> krs.Signal:
    return krs.phasor(3.0) * 0.5


def ramp_changed() -> krs.Signal:
    return krs.wrap(krs.phasor(3.0), 0.0, 1.0) * 0.5  # the same values, another program


def test_unchanged_function_keeps_state(start_engine, tmp_path: Path):
    """node_set with the same function again: kept_state, no crossfade, the phasor
    keeps its phase — the output is sample-identical to an engine where the node
    was never set again. A changed program (here a wrap that changes no value) is
    a new instance whose phasor restarts at 0, crossfaded in."""
    renders = []
    for case in ("again", "once", "changed"):
        with Session(start_engine("--offline").client()) as kr:
            reply = kr.request("node_set", name="ramp", ir=kr.dsp(ramp).ir)
            assert reply["created"] is True and reply["kept_state"] is False
            take = Take(kr, tmp_path, case)
            take.render(10000)
            if case == "again":
                reply = kr.request("node_set", name="ramp", ir=kr.dsp(ramp).ir)
                assert reply["created"] is False and reply["kept_state"] is True
            elif case == "changed":
                reply = kr.request("node_set", name="ramp", ir=kr.dsp(ramp_changed).ir)
                assert reply["created"] is False and reply["kept_state"] is False
            take.render(10000)
            renders.append(take.mono())
    again, once, changed = renders
    assert np.array_equal(again, once), "re-setting an unchanged synth must not touch its sound"
    n = np.arange(20000)
    assert np.max(np.abs(again / (0.5 * GAIN) - (n * 3.0 / SR) % 1.0)) < 1e-6, "one continuous ramp"
    assert np.array_equal(changed[:10000], once[:10000])
    assert np.max(np.abs(changed[10000:] - once[10000:])) > 0.05, "a changed program starts afresh"


def broken_faust() -> krs.Signal:
    return krs.faust_expr("_ : fi.lowpass(3, 800", krs.saw(110.0)) * 0.5


def broken_table() -> krs.Signal:
    index = krs.phasor(2.0) * 4
    # An empty table cannot be written with krs.rdtable (it checks); built by hand
    # it reaches the engine, whose compiler must refuse it.
    return krs.Signal("rdtable", (index,), {"table": ()})


def broken_trace() -> krs.Signal:
    return krs.lowpass(krs.saw(110.0), 800.0, order=12)


def test_failed_swaps_leave_the_sound_untouched(start_engine, tmp_path: Path):
    """A synth the engine cannot compile (a FAUST expression: this engine is built
    without libfaust, and the expression is broken anyway; an empty table) raises
    KrachError (bad_ir) naming the op; one that fails to trace raises at once.
    The old sound plays on, sample-identical to an engine that saw no attempt."""
    renders = []
    for attempt in (True, False):
        with Session(start_engine("--offline").client()) as kr:
            node = kr.node("tone", tone)
            node["freq"] = 330.0
            take = Take(kr, tmp_path, f"attempt-{attempt}")
            take.render(10000)
            if attempt:
                with pytest.raises(KrachError) as err:
                    kr.node("tone", broken_faust)
                assert err.value.code == "bad_ir" and "faust" in err.value.message.lower()
                with pytest.raises(KrachError) as err:
                    kr.node("tone", broken_table)
                assert err.value.code == "bad_ir"
                assert "rdtable" in err.value.message and "table" in err.value.message
                with pytest.raises(ValueError, match="order"):
                    kr.node("tone", broken_trace)
                assert node["freq"] == 330.0
                assert [c["name"] for c in kr.nodes[0]["controls"]] == ["freq"]
            take.render(10000)
            renders.append(take.mono())
    assert np.array_equal(renders[0], renders[1])
    assert abs(dominant_frequency(renders[0], SR) - 330.0) < 0.5


# ---- the seed's synths (seed.py takes them from examples/five_minute_beat.py) ---------------

from seed import bass, hat, kick, reverb_fx  # noqa: E402




def test_seed_synths_compile_with_their_controls(offline_session):
    kr = offline_session
    kr.node("kick", kick, gain=0.8)
    kr.node("hat", hat, gain=0.5)
    kr.node("bass", bass, gain=0.3)
    kr.node("verb", reverb_fx, gain=0.3)
    nodes = {n["name"]: n for n in kr.nodes}
    shape = {name: (n["inputs"], n["outputs"], [c["name"] for c in n["controls"]], n["gain"])
             for name, n in nodes.items()}
    assert shape == {
        "kick": (0, 1, ["gate"], pytest.approx(0.8)),
        "hat": (0, 1, ["gate"], pytest.approx(0.5)),
        "bass": (0, 1, ["freq", "gate", "cutoff"], pytest.approx(0.3)),
        "verb": (1, 1, ["room"], pytest.approx(0.3)),
    }


def test_seed_kick_pitch_falls(offline_session, tmp_path: Path):
    """The kick's pitch is 55 + 200 * env: from about 255 Hz at the onset down
    toward 55 Hz over the 250 ms decay, and then it is silent.

    Measured: first cycle (2.2-6.1 ms) 252.5 Hz; 40 ms short-time FFT peaks
    within 1.1 Hz of 55 + 200 * env at 20, 40, ... 220 ms (239.95 Hz at 20 ms,
    80.86 Hz at 220 ms).
    """
    kr = offline_session
    node = kr.node("kick", kick, gain=0.8)
    take = Take(kr, tmp_path)
    take.render(480)
    onset = take.position
    node["gate"] = 1
    take.render(SR // 2)
    x = take.mono()[onset:]
    # The first cycle: between the first two rising zero crossings after the onset
    # (interpolated linearly between samples).
    rising = np.flatnonzero((x[1:] > 0) & (x[:-1] <= 0)) + 1
    at = [c - 1 + x[c - 1] / (x[c - 1] - x[c]) for c in rising[:2]]
    first_cycle = SR / (at[1] - at[0])
    assert 250.0 < first_cycle < 256.0, f"first cycle at {first_cycle:.1f} Hz"
    track = []
    for centre in range(960, int(0.22 * SR) + 1, 960):
        t = centre / SR
        expected = 55.0 + 200.0 * (1 - (t - 0.001) / 0.25)
        measured = dominant_frequency(x[centre - 960:centre + 960], SR)
        track.append((round(t * 1000), round(measured, 2), round(expected, 2)))
        assert abs(measured - expected) < 2.0, f"kick pitch track (ms, Hz, expected): {track}"
    assert track[0][1] > 235 and track[-1][1] < 85
    # Silent once the envelope has decayed (1 ms + 250 ms).
    assert np.all(x[int(0.2515 * SR):] == 0.0)


def test_seed_hat_is_bright(offline_session, tmp_path: Path):
    """The hat's energy is mostly above 8 kHz (measured: 94 %), and it is over after
    its 41 ms envelope."""
    kr = offline_session
    node = kr.node("hat", hat, gain=0.5)
    take = Take(kr, tmp_path)
    take.render(480)
    node["gate"] = 1
    take.render(SR // 10)
    x = take.mono()[480:]
    assert rms(x[:int(0.04 * SR)]) > 0.02
    fraction = energy_fraction(x, 8000.0)
    assert fraction > 0.9, f"only {fraction:.1%} of the hat's energy is above 8 kHz"
    assert np.all(x[int(0.0415 * SR):] == 0.0)


def test_seed_bass_follows_freq(offline_session, tmp_path: Path):
    """bass with freq 110 then 220: the FFT fundamental follows (within 0.5 Hz;
    measured errors 0.0001 and 0.0002 Hz)."""
    kr = offline_session
    node = kr.node("bass", bass, gain=0.3)
    take = Take(kr, tmp_path)
    for freq in (110.0, 220.0):
        node["freq"] = freq
        node["gate"] = 1
        take.render(SR // 10)  # attack, decay and the freq glide
        x = take.render(SR // 2)[:, 0]
        measured = dominant_frequency(x, SR)
        assert abs(measured - freq) < 0.5, f"bass at {freq} Hz sounds at {measured:.3f} Hz"
        assert rms(x) > 0.01
        node["gate"] = 0
        take.render(SR // 5)


def test_seed_reverb_lengthens_the_tail(offline_session, tmp_path: Path):
    """A synth composing the seed's functions, ``lambda: reverb_fx(bass())``, against
    the bass alone: 300-400 ms after the gate falls the bass is silent (its
    release is 80 ms) while the reverb still rings.

    Measured: bass tail exactly 0; reverb tail RMS 0.0074, -6.8 dB from its level
    while the note was held.
    """
    kr = offline_session
    tails = {}
    for name, fn in (("dry", bass), ("wet", lambda: reverb_fx(bass()))):
        node = kr.node(name, fn, gain=0.3, freq=110.0)
        take = Take(kr, tmp_path, name)
        node["gate"] = 1
        held = take.render(SR // 2)[:, 0]
        node["gate"] = 0
        after = take.render(SR)[:, 0]
        kr.remove(name)
        tails[name] = (rms(held), rms(after[int(0.3 * SR):int(0.4 * SR)]))
    assert tails["dry"][0] > 0.01 and tails["dry"][1] == 0.0
    held, tail = tails["wet"]
    assert tail > 1e-3 and tail > held * 10 ** (-20 / 20), f"reverb tail {tail}, held {held}"


# ---- determinism -----------------------------------------------------------------------------


def perform(kr: Session, path: Path) -> None:
    """A short, fixed piece: the seed's synths, gates at exact samples, one file."""
    k = kr.node("kick", kick, gain=0.8)
    h = kr.node("hat", hat, gain=0.5)
    b = kr.node("bass", bass, gain=0.3)
    w = kr.node("wet", lambda: reverb_fx(bass()), gain=0.3, freq=82.5)
    kr.render(path, frames=1000)
    beat = SR // 4
    for i, note in enumerate((110.0, 146.8, 110.0, 164.8, 98.0, 110.0, 130.8, 82.4)):
        b["freq"] = note
        w["freq"] = note * 2
        for n, on in ((k, i % 2 == 0), (h, i % 2 == 1), (b, True), (w, i % 3 == 0)):
            if on:
                n["gate"] = 1
        kr.render(path, frames=beat // 2 + 17 * i, append=True)
        for n in (k, h, b, w):
            n["gate"] = 0
        kr.render(path, frames=beat // 2, append=True)
    b["cutoff"] = 3000.0
    kr.render(path, frames=SR, append=True)


def wav_chunks(data: bytes) -> dict[str, tuple[int, int]]:
    """{chunk id: (offset of its body, body size)} of a RIFF/WAVE file."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    chunks, at = {}, 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4:at + 8], "little")
        chunks[data[at:at + 4].decode("ascii", "replace")] = (at + 8, size)
        at += 8 + size + (size & 1)
    return chunks


def without_peak_timestamp(data: bytes) -> bytes:
    """`data` with the timestamp of libsndfile's PEAK chunk (if any) zeroed."""
    peak = wav_chunks(data).get("PEAK")
    if peak is None:
        return data
    at = peak[0] + 4  # PEAK body: version (4 bytes), timestamp (4 bytes), peaks
    return data[:at] + bytes(4) + data[at + 4:]


def render_twice(start_engine, tmp_path: Path) -> list[Path]:
    paths = []
    for run in range(2):
        path = tmp_path / f"run{run}.wav"
        with Session(start_engine("--offline").client()) as kr:
            perform(kr, path)
        paths.append(path)
    return paths


def test_two_engines_render_bit_identical_files(start_engine, tmp_path: Path):
    """The same session in two engines: the same bytes, header and samples (apart
    from a wall-clock timestamp; see the next test)."""
    first, second = (p.read_bytes() for p in render_twice(start_engine, tmp_path))
    assert len(first) > 100_000
    assert without_peak_timestamp(first) == without_peak_timestamp(second), (
        "the same session must give the same bytes")
    data, _ = read_sound(tmp_path / "run0.wav")
    assert rms(data[:, 0]) > 0.01 and np.max(np.abs(data)) < 1.0


def test_rendered_files_carry_no_wall_clock_time(offline_session, tmp_path: Path):
    """A render is reproducible to the byte only if the file holds no time of
    writing: libsndfile's PEAK chunk (float WAV) stores one unless it is turned
    off (SFC_SET_ADD_PEAK_CHUNK) or its timestamp is 0."""
    path = tmp_path / "t.wav"
    offline_session.node("tone", tone)
    offline_session.render(path, frames=1000)
    data = path.read_bytes()
    peak = wav_chunks(data).get("PEAK")
    if peak is not None:
        stamp = int.from_bytes(data[peak[0] + 4:peak[0] + 8], "little")
        assert stamp == 0, (
            f"the PEAK chunk holds the wall-clock time {stamp}: two renders of the same "
            f"session differ in bytes 60-63 when they are written in different seconds")
