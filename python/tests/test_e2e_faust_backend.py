"""The FAUST backend through the engine: `krs.faust_expr` nodes, synths compiled
with ``backend="faust"`` behind the same node interface (controls, gates,
voices, crossfaded swaps), and the compile cache. The same IR is played by both
backends offline and compared sample by sample (the C differential tests in
engine/tests/test_faust_diff.c cover every primitive; here the seed's synths go
through the whole engine)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import seed
from e2e_support import SAMPLE_RATE, Take, dominant_frequency, rms
from krach import signal as krs
from krach.errors import KrachError
from krach.session import Session

SR = SAMPLE_RATE


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    noise = np.sum((reference - other) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(reference ** 2) / noise)


def render_both(kr: Session, tmp_path: Path, synth, drive, frames: int, inputs: bool = False):
    """Play `synth` on a native and a FAUST node side by side (each alone on
    the master in turn would need two engines; instead each gets its own
    render) and return (native, faust) mono signals."""
    out = []
    for backend in ("native", "faust"):
        kr.node("x", synth, backend=backend, gain=1.0)
        take = Take(kr, tmp_path, name=backend)
        drive(kr, take, frames)
        out.append(take.mono())
        kr.remove("x")
    return out


def gate_every(period: int, length: int):
    def drive(kr: Session, take: Take, frames: int) -> None:
        done = 0
        while done < frames:
            kr.set("x/gate", 1)
            take.render(length)
            kr.set("x/gate", 0)
            take.render(period - length)
            done += period
    return drive


def notes_every_block(kr: Session, take: Take, frames: int) -> None:
    """The engine's worst case for agreement: a new note (freq, and a gate raised
    again while high) on every 256-frame block, from the very first sample."""
    notes = (110.0, 146.83, 110.0, 82.41)
    for block in range(frames // 256):
        kr.set("x/freq", notes[block // 24 % 4])
        kr.set("x/gate", 1 if block % 12 < 9 else 0)
        take.render(256)


@pytest.mark.parametrize("name, synth, drive, floor_db", [
    ("kick", seed.kick, gate_every(12000, 3000), 60.0),
    ("hat", seed.hat, gate_every(6000, 1000), None),   # white noise: spectrum, below
    ("bass", seed.bass, gate_every(12000, 9000), 60.0),
    ("bass, a note every block", seed.bass, notes_every_block, 60.0),
])
def test_seed_synths_sound_the_same_on_both_backends(offline_session, tmp_path: Path, name, synth, drive,
                                                     floor_db):
    native, faust = render_both(offline_session, tmp_path, synth, drive, SR)
    assert rms(native) > 0.01 and rms(faust) > 0.01
    if floor_db is not None:
        assert snr_db(native, faust) >= floor_db, f"{name}: {snr_db(native, faust):.1f} dB"
    else:
        # Different noise generators: the same envelope and spectral balance.
        def bands(x: np.ndarray) -> np.ndarray:
            spectrum = np.abs(np.fft.rfft(x)) ** 2
            freqs = np.fft.rfftfreq(len(x), 1 / SR)
            edges = 1000 * 2.0 ** np.arange(0, 5)  # octaves, 1-16 kHz (1 s of noise: ±0.5 dB)
            return np.array([spectrum[(freqs >= lo) & (freqs < hi)].sum()
                             for lo, hi in zip(edges[:-1], edges[1:]) if hi < SR / 2])
        level = 10 * np.log10(bands(faust) / bands(native))
        assert np.all(np.abs(level) < 1.5), level
        # The envelope: power in 5 ms windows, averaged over the 8 hits.
        def envelope(x: np.ndarray) -> np.ndarray:
            hits = x[: 8 * 6000].reshape(8, 6000) ** 2
            return hits.reshape(8, 25, 240).mean(axis=(0, 2))
        env_n, env_f = envelope(native), envelope(faust)
        loud = env_n > 0.01 * env_n.max()
        assert np.all(np.abs(10 * np.log10(env_f[loud] / env_n[loud])) < 1.0)


def test_the_reverb_decays_alike_on_both_backends(offline_session, tmp_path: Path):
    def verb():
        burst = krs.white_noise(seed=3) * krs.ar(0.0, 0.01, krs.control("gate", 0, 0, 1))
        return seed.reverb_fx(burst)

    native, faust = render_both(offline_session, tmp_path, verb, gate_every(2 * SR, 480), 2 * SR)

    def t60(x: np.ndarray) -> float:
        energy = np.cumsum((x ** 2)[::-1])[::-1]
        db = 10 * np.log10(energy / energy[0] + 1e-30)
        start, end = np.argmax(db < -5), np.argmax(db < -25)
        return 3 * (end - start) / SR

    assert t60(faust) == pytest.approx(t60(native), rel=0.15)


def test_a_faust_expr_node_compiles_through_faust(offline_session, tmp_path: Path):
    def dark_saw():
        cutoff = krs.control("cutoff", 500, 100, 4000)
        return krs.faust_expr("fi.lowpass(4, {1}, {0})", krs.saw(110), cutoff) * 0.5

    kr = offline_session
    node = kr.node("dark", dark_saw)
    reply = kr.request("nodes")["nodes"][0]
    assert reply["name"] == "dark"
    take = Take(kr, tmp_path)
    low = take.render(SR // 2)[:, 0]
    node["cutoff"] = 4000
    take.render(4800)
    high = take.render(SR // 2)[:, 0]
    assert abs(dominant_frequency(low, SR) - 110) < 2

    def above(x: np.ndarray, f: float) -> float:
        spectrum = np.abs(np.fft.rfft(x)) ** 2
        return float(spectrum[np.fft.rfftfreq(len(x), 1 / SR) > f].sum() / spectrum.sum())

    assert above(high, 1500) > 20 * above(low, 1500), "the FAUST filter follows the krach control"


def test_faust_errors_in_an_expression_are_reported_and_the_old_sound_stays(offline_session, tmp_path: Path):
    kr = offline_session
    kr.node("s", lambda: krs.sine_osc(440) * 0.5)
    with pytest.raises(KrachError) as err:
        kr.node("s", lambda: krs.faust_expr("_ : no_such_function", krs.saw(110)))
    assert err.value.code == "bad_ir" and "no_such_function" in str(err.value)
    x = Take(kr, tmp_path).render(SR // 4)[:, 0]
    assert abs(dominant_frequency(x, SR) - 440) < 2


def test_recompiling_the_same_synth_hits_the_cache(offline_session):
    kr = offline_session
    before = kr.request("status")["faust"]["cache"]
    kr.node("a", seed.bass, backend="faust")
    kr.node("b", seed.bass, backend="faust")
    kr.node("a", seed.bass, backend="faust", cutoff=900)
    after = kr.request("status")["faust"]["cache"]
    assert after["misses"] - before["misses"] == 1
    assert after["hits"] - before["hits"] == 2
    assert after["last_compile_ms"] > 0


def test_swapping_backends_crossfades_without_a_click(offline_session, tmp_path: Path):
    """The same sine on the native backend, then swapped to FAUST mid-note: the
    crossfade sums two equal signals, so the output stays a clean sine."""
    def sine():
        return krs.sine_osc(krs.control("freq", 330, 20, 2000)) * 0.5

    kr = offline_session
    kr.node("s", sine, backend="native")
    take = Take(kr, tmp_path)
    take.render(2400)
    kr.node("s", sine, backend="faust")
    take.render(4800)
    x = take.mono()
    # Every sample is on one sine of constant amplitude: its second difference is
    # -(2 pi f / sr)^2 times itself, so the residual is tiny (a click would not be).
    w = 2 * np.pi * 330 / SR
    residual = x[2:] - 2 * np.cos(w) * x[1:-1] + x[:-2]
    assert np.max(np.abs(residual)) < 1e-3 * 0.25


def test_polyphonic_faust_backend_plays_a_chord(offline_session, tmp_path: Path):
    kr = offline_session
    kr.node("keys", seed.bass, backend="faust", count=3)
    kr.play("keys", kr.note("A2", "C#3", "E3"))
    x = Take(kr, tmp_path).render(SR)[:, 0]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    for f in (110.0, 138.59, 164.81):
        band = (freqs > f - 2) & (freqs < f + 2)
        assert spectrum[band].max() > 0.1 * spectrum.max(), f


def test_patterns_keep_time_while_libfaust_compiles(start_engine, tmp_path: Path):
    """A libfaust compile takes longer than the scheduler's 100 ms lookahead; the
    engine keeps scheduling while it runs, so a pattern on a real-time clock
    loses no event to it."""
    engine = start_engine("--backend", "null")
    with Session(engine.client(timeout=60)) as kr:
        kr.tempo = 240
        kr.node("tick", lambda: krs.decay(krs.control("gate", 0, 0, 1), 0.01) * krs.sine_osc(1000))
        kr.play("tick", kr.hit() * 16)
        time.sleep(0.5)
        before = kr.request("status")
        for k in range(3):  # three different programs: three compiles
            expr = f"_ : re.mono_freeverb(0.5, 0.5, 0.5, {k + 1}) : fi.lowpass(8, 2000)"
            kr.node(f"f{k}", lambda: krs.faust_expr(expr, krs.saw(110)))
        time.sleep(0.3)
        after = kr.request("status")
        assert after["faust"]["cache"]["misses"] - before["faust"]["cache"]["misses"] == 3
        assert after["faust"]["cache"]["last_compile_ms"] > 0
        assert after["late_events"] == before["late_events"], "no event came late during the compiles"
        assert after["dropped_events"] == before["dropped_events"]
