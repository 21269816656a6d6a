"""Filters and reverb, end to end: synths traced by `kr.node`, played by the real
engine offline at 48 kHz, measured in the files it writes.

Filter responses are measured with sines: each synth plays a handful of sines
(on the grid sr/N, so that an N-sample window holds whole periods of every
one) into the filter and returns the dry mix on the left and the filtered mix
on the right. After the filter has settled, the ratio of each sine's amplitude
right/left is the filter's gain at that frequency (docs/signal-ir.md gives the
exact response to compare with).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import (SAMPLE_RATE, Take, band_limited, rms, schroeder_t60,
                         tone_amplitude)
from krach import signal as krs

SR = SAMPLE_RATE
WINDOW = 9600          # the analysis window: 0.2 s, a 5 Hz grid
DB_TOLERANCE = 0.2
FLOOR_DB = -90.0       # gains below this are float noise, not a response to check


def db(x: float) -> float:
    return 20.0 * float(np.log10(x))


def on_grid(freq: float) -> float:
    """`freq` rounded to the analysis grid (multiples of sr / WINDOW = 5 Hz)."""
    step = SR / WINDOW
    return float(round(freq / step) * step)


def measure_gains(kr, tmp_path: Path, freqs: list[float], filt, settle: float = 0.3) -> np.ndarray:
    """|H(f)| of `filt` (a function of a signal) at each of `freqs`, by sines.

    The dry sum of sines peaks at 0.8, so nothing reaches the safety limiter.
    """

    def synth():
        x = sum(krs.sine_osc(f) for f in freqs) * (0.8 / len(freqs))
        return x, filt(x)

    kr.node("filt", synth, gain=1.0)
    take = Take(kr, tmp_path)
    take.render(int(settle * SR))
    data = take.render(WINDOW)
    kr.remove("filt")
    dry, wet = data[:, 0], data[:, 1]
    return np.array([tone_amplitude(wet, f) / tone_amplitude(dry, f) for f in freqs])


# ---- Butterworth lowpass and highpass ----------------------------------------------------


def butterworth(f: np.ndarray, fc: float, order: int, highpass: bool) -> np.ndarray:
    """The digital Butterworth magnitude of docs/signal-ir.md (bilinear, prewarped at fc)."""
    ratio = np.tan(np.pi * f / SR) / np.tan(np.pi * fc / SR)
    if highpass:
        ratio = 1.0 / ratio
    return 1.0 / np.sqrt(1.0 + ratio ** (2 * order))


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 8])
def test_butterworth_magnitude(offline_session, tmp_path: Path, kind: str, order: int):
    """krs.lowpass / krs.highpass at fc = 100, 1000, 5000, 12000 Hz match the
    Butterworth |H| within 0.2 dB at 5 to 9 frequencies each (fc/4 ... 4 fc;
    order 8 skips gains below -90 dB, which are float noise).

    Measured: the worst error over all orders and cutoffs is 0.00025 dB.
    """
    make = krs.lowpass if kind == "lowpass" else krs.highpass
    report = []
    for fc in (100.0, 1000.0, 5000.0, 12000.0):
        freqs = sorted({on_grid(fc * r) for r in (0.25, 0.5, 0.65, 0.8, 1.0, 1.25, 1.5, 2.0, 4.0)
                        if 20.0 <= fc * r <= 20000.0})
        ideal = butterworth(np.array(freqs), fc, order, kind == "highpass")
        kept = [i for i, h in enumerate(ideal) if db(h) > FLOOR_DB]
        assert len(kept) >= 5
        gains = measure_gains(offline_session, tmp_path, freqs,
                              lambda x: make(x, fc, order))
        errors = [db(gains[i]) - db(ideal[i]) for i in kept]
        report.append((fc, [freqs[i] for i in kept], np.round(errors, 4)))
        assert max(abs(e) for e in errors) < DB_TOLERANCE, (
            f"{kind} order {order} at {fc} Hz: dB errors {report[-1]}")
        # The cutoff itself: -3.01 dB, whatever the order.
        at_fc = gains[freqs.index(on_grid(fc))]
        assert db(at_fc) == pytest.approx(-3.0103, abs=DB_TOLERANCE)


# ---- bandpass and resonant (RBJ biquads) --------------------------------------------------


def rbj(f: np.ndarray, f0: float, q: float, kind: str) -> np.ndarray:
    """|H| of the RBJ cookbook band-pass (constant 0 dB peak) or low-pass at f0, q."""
    w0 = 2 * np.pi * f0 / SR
    alpha = np.sin(w0) / (2 * q)
    cw = np.cos(w0)
    b = [alpha, 0.0, -alpha] if kind == "bandpass" else [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
    a = [1 + alpha, -2 * cw, 1 - alpha]
    z = np.exp(-2j * np.pi * np.asarray(f) / SR)
    return np.abs((b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z))


@pytest.mark.parametrize("kind", ["bandpass", "resonant"])
@pytest.mark.parametrize("f0, q", [(200.0, 2.0), (1000.0, 5.0), (5000.0, 10.0), (3000.0, 0.707)])
def test_bandpass_and_resonant_response(offline_session, tmp_path: Path, kind: str, f0: float,
                                        q: float):
    """bandpass is 0 dB at `freq`, resonant is `q` (20 log q dB) at its cutoff, and both
    follow the RBJ response within 0.2 dB from f0/4 to 4 f0.

    Measured: every error below 0.00001 dB; e.g. resonant(5 kHz, q 10) is
    +20.00 dB at 5 kHz, +17.04 dB at 4750 Hz, +16.30 dB at 5250 Hz.
    """
    freqs = sorted({on_grid(f0 * r) for r in (0.25, 0.5, 0.9, 0.95, 1.0, 1.05, 1.1, 2.0, 4.0)
                    if f0 * r < 20000.0})
    # Scale the resonant output so that its peak (about q) stays below full scale.
    scale = 0.9 / q if kind == "resonant" and q > 1 else 1.0
    if kind == "bandpass":
        gains = measure_gains(offline_session, tmp_path, freqs, lambda x: krs.bandpass(x, f0, q))
    else:
        gains = measure_gains(offline_session, tmp_path, freqs,
                              lambda x: krs.resonant(x, f0, q) * scale)
    gains = gains / scale
    errors = np.array([db(g) for g in gains]) - np.array([db(h) for h in rbj(freqs, f0, q, kind)])
    assert np.max(np.abs(errors)) < DB_TOLERANCE, f"{kind} {f0} Hz q {q}: dB errors {errors}"
    at_f0 = gains[freqs.index(f0)]
    expected = 1.0 if kind == "bandpass" else q
    assert db(at_f0) == pytest.approx(db(expected), abs=DB_TOLERANCE)


def peak_frequency(h: np.ndarray, freqs: np.ndarray) -> float:
    k = int(np.argmax(h))
    a, b, c = np.log(h[k - 1:k + 2])
    return float(freqs[k] + 0.5 * (a - c) / (a - 2 * b + c) * (freqs[1] - freqs[0]))


@pytest.mark.parametrize("kind, f0, q", [("bandpass", 1000.0, 5.0), ("bandpass", 3333.0, 20.0),
                                         ("resonant", 1000.0, 5.0), ("resonant", 3333.0, 20.0)])
def test_resonance_peaks_at_the_set_frequency(offline_session, tmp_path: Path, kind: str,
                                              f0: float, q: float):
    """White noise through the filter: the peak of |H| (cross-spectrum / input
    spectrum, 4 s, 8192-point segments) lies at the set frequency.

    bandpass peaks exactly at f0; the resonant lowpass at f0 * sqrt(1 - 1/(2 q^2))
    (its analog peak, a hair below f0 for high q). Both within 0.5 % of f0.
    """
    scale = 0.4 / q if kind == "resonant" else 1.0

    def synth():
        x = krs.white_noise(11) * 0.2
        y = krs.bandpass(x, f0, q) if kind == "bandpass" else krs.resonant(x, f0, q) * scale
        return x, y

    kr = offline_session
    kr.node("noise", synth, gain=1.0)
    take = Take(kr, tmp_path)
    data = take.render(4 * SR)
    seg = 8192
    window = np.hanning(seg)
    sxx = np.zeros(seg // 2 + 1)
    sxy = np.zeros(seg // 2 + 1, dtype=complex)
    for start in range(0, len(data) - seg, seg // 2):
        fx = np.fft.rfft(data[start:start + seg, 0] * window)
        fy = np.fft.rfft(data[start:start + seg, 1] * window)
        sxx += np.abs(fx) ** 2
        sxy += np.conj(fx) * fy
    h = np.abs(sxy) / sxx / scale
    freqs = np.fft.rfftfreq(seg, 1.0 / SR)
    peak = peak_frequency(h, freqs)
    expected = f0 if kind == "bandpass" else f0 * np.sqrt(1 - 1 / (2 * q * q))
    assert abs(peak - expected) < 0.005 * f0, f"{kind} set to {f0} Hz peaks at {peak:.1f} Hz"
    peak_gain = float(np.max(h))
    want = 1.0 if kind == "bandpass" else q
    assert db(peak_gain) == pytest.approx(db(want), abs=1.0), f"peak gain {db(peak_gain):.2f} dB"


# ---- reverb ----------------------------------------------------------------------------------


def impulse_response(kr, tmp_path: Path, room: float, damping: float, seconds: float = 4.0):
    """The reverb's response to one full-scale sample (krs.trigger of a constant 1:
    1 at sample 0, then 0)."""
    kr.node("verb", lambda: krs.reverb(krs.trigger(1.0), room, damping), gain=1.0)
    take = Take(kr, tmp_path, f"ir-{room}-{damping}")
    take.render(int(seconds * SR))
    kr.remove("verb")
    return take.mono()


def freeverb_t60(room: float) -> float:
    """T60 of Freeverb's combs at the mean comb length: 60 dB / (-20 log10 g per pass)."""
    g = 0.7 + 0.28 * room
    mean_len = np.mean([1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617]) * SR / 44100
    return float(3.0 * mean_len / SR / -np.log10(g))


def test_reverb_impulse_response_decays_and_grows_with_room(offline_session, tmp_path: Path):
    """The impulse response decays (Schroeder T60) and a larger room rings longer:
    T60 within 10 % of Freeverb's comb decay.

    Measured (damping 0): room 0.2 -> T60 0.80 s (combs: 0.77 s), room 0.5 ->
    1.28 s (1.23 s), room 0.9 -> 4.54 s (4.37 s). The response starts at the
    first comb's delay (1215 samples) and peaks near 0.07.
    """
    t60s = []
    for room in (0.2, 0.5, 0.9):
        x = impulse_response(offline_session, tmp_path, room, 0.0,
                             seconds=5.0 if room > 0.8 else 3.0)
        first = int(np.flatnonzero(x)[0])
        assert first == round(1116 * SR / 44100), f"the response starts at sample {first}"
        assert 0.03 < np.max(np.abs(x)) < 0.2
        t60 = schroeder_t60(x)
        t60s.append(t60)
        assert t60 == pytest.approx(freeverb_t60(room), rel=0.10), (
            f"room {room}: T60 {t60:.3f} s, combs give {freeverb_t60(room):.3f} s")
        # It decays: the last half second is at least 25 dB below the first.
        early, late = rms(x[first:first + SR // 2]), rms(x[-SR // 2:])
        assert late < early * 10 ** (-25 / 20)
    assert t60s[0] < t60s[1] < t60s[2], f"T60 by room: {t60s}"


def test_reverb_damping_shortens_the_high_frequencies(offline_session, tmp_path: Path):
    """damping 1 against 0 (room 0.5): the 4-10 kHz band dies at least 40 % faster,
    the 200-1000 Hz band within 10 % as slowly.

    Measured: HF T60 1.29 s -> 0.57 s; LF T60 1.33 s -> 1.31 s.
    """
    bright = impulse_response(offline_session, tmp_path, 0.5, 0.0)
    dark = impulse_response(offline_session, tmp_path, 0.5, 1.0)
    hf = [schroeder_t60(band_limited(x, 4000, 10000)) for x in (bright, dark)]
    lf = [schroeder_t60(band_limited(x, 200, 1000)) for x in (bright, dark)]
    assert hf[1] < 0.6 * hf[0], f"HF T60 {hf[0]:.3f} s -> {hf[1]:.3f} s with damping"
    assert lf[1] > 0.9 * lf[0], f"LF T60 {lf[0]:.3f} s -> {lf[1]:.3f} s with damping"
    assert schroeder_t60(dark) < schroeder_t60(bright)


def test_reverb_passes_no_dc(offline_session, tmp_path: Path):
    """The impulse response sums to (nearly) 0, and a DC offset on the input changes
    nothing once the step has rung out (room 0.5: from 2 s on).

    Measured: response sum 1e-7 against a sum of magnitudes of 36; the mean of
    the output after 2 s differs by 1e-6 with and without 0.5 of DC, while its
    RMS is 0.070 (white noise of RMS 0.144 in: about 6 dB down, as documented).
    """
    kr = offline_session
    x = impulse_response(kr, tmp_path, 0.5, 0.5)
    assert abs(np.sum(x)) < 1e-4 * np.sum(np.abs(x))

    def tail(offset: float) -> np.ndarray:
        kr.node("verb", lambda: krs.reverb(krs.white_noise(7) * 0.25 + offset, 0.5, 0.5),
                gain=1.0)
        take = Take(kr, tmp_path, f"dc-{offset}")
        take.render(4 * SR)
        kr.remove("verb")
        return take.mono()[2 * SR:]

    with_dc, without = tail(0.5), tail(0.0)
    assert abs(np.mean(with_dc) - np.mean(without)) < 1e-4
    assert abs(np.mean(with_dc)) < 0.01 * rms(with_dc)
    # The documented level: white noise at room 0.5 comes out about 6 dB down.
    level = db(rms(without) / (0.25 / np.sqrt(3)))
    assert level == pytest.approx(-6.0, abs=1.5)
