"""Acceptance: the seed's five-minute beat (examples/five_minute_beat.py, exactly
as the getting-started guide writes it), rendered by `krach render` for 8 bars
at 128 BPM, 48 kHz, sounds as the guide says.

Each part is rendered alone by a wrapper session that runs the example and then
solos one node (a soloed bass keeps the reverb it feeds); renders are
deterministic, so the parts are the same notes as in the full mix. A solo
fades the other nodes out with the documented 20 ms one-pole (docs/routing.md),
exactly silent only some 13 300 samples later; where a part must be alone from
sample 0 (the hat, whose first note is at 11 250), the other patterns are
hushed too, before anything is rendered."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from math import ceil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import REPO, child_env

KRACH = str(REPO / "bin" / "krach")
SEED = REPO / "examples" / "five_minute_beat.py"
SR = 48000
BEAT = 22500        # samples per beat at 128 BPM
BAR = 4 * BEAT


def render(engine_bin: str, home: Path, tmp: Path, name: str, extra: str = "",
           bars: int = 8) -> np.ndarray:
    session = tmp / f"{name}.py"
    session.write_text(f"exec(open({str(SEED)!r}).read())\n{extra}\n")
    out = tmp / f"{name}.wav"
    result = subprocess.run([KRACH, "render", str(session), "-o", str(out), "--bars", str(bars)],
                            env=child_env(home, KRACH_ENGINE=engine_bin), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(out, dtype="float32")
    assert rate == SR
    return audio


def onsets(mono: np.ndarray) -> list[int]:
    """First non-zero sample after at least 1000 samples of exact silence."""
    loud = np.flatnonzero(mono != 0.0)
    if len(loud) == 0:
        return []
    starts = [int(loud[0])]
    gaps = np.flatnonzero(np.diff(loud) > 1000)
    starts += [int(loud[i + 1]) for i in gaps]
    return starts


def pitch(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 20))
    return float(np.argmax(spectrum)) * SR / (1 << 20)


@pytest.fixture(scope="module")
def parts(engine_bin, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed")
    home = tmp / "home"
    home.mkdir()
    return {
        "mix": render(engine_bin, home, tmp, "mix"),
        "mix_again": render(engine_bin, home, tmp, "mix_again"),
        "kick": render(engine_bin, home, tmp, "kick", 'kr.solo("kick")'),
        "hat": render(engine_bin, home, tmp, "hat", 'kr.solo("hat")\nkr.hush("kick")\nkr.hush("bass")'),
        "bass": render(engine_bin, home, tmp, "bass", 'kr.solo("bass")'),
        "bass_dry": render(engine_bin, home, tmp, "bass_dry", 'kr.solo("bass"); kr.mute("verb")'),
        "faster": render(engine_bin, home, tmp, "faster",
                         'kr.solo("kick")\nkr.wait(bars=4)\nkr.tempo = 140'),
    }


def test_the_mix_is_clean_and_repeatable(parts):
    mix = parts["mix"]
    assert mix.shape == (8 * BAR, 2)
    assert np.all(np.isfinite(mix)) and np.max(np.abs(mix)) <= 1.0
    assert np.sqrt(np.mean(mix ** 2)) > 0.01
    assert np.array_equal(mix, parts["mix_again"])


def test_kick_on_every_beat(parts):
    # The envelope starts from 0 on the gate's sample, so sound begins one sample later.
    assert onsets(parts["kick"][:, 0]) == [k * BEAT + 1 for k in range(32)]


def test_kick_pitch_falls_from_255_toward_55_hz(parts):
    kick = parts["kick"][:, 0]
    assert 200 < pitch(kick[1:960]) < 260        # first 20 ms
    assert 50 < pitch(kick[9600:12000]) < 80     # 200-250 ms


def test_hats_on_the_off_beats(parts):
    hat = parts["hat"][:, 0]
    assert onsets(hat) == [k * BEAT + BEAT // 2 + 1 for k in range(32)]
    spectrum = np.abs(np.fft.rfft(hat)) ** 2
    freqs = np.fft.rfftfreq(len(hat), 1 / SR)
    assert spectrum[freqs > 8000].sum() / spectrum.sum() > 0.8


def test_bass_plays_a2_d3_e2_over_two_cycles(parts):
    bass = parts["bass_dry"][:, 0]
    for cycle in (0, 2, 4, 6):        # the line repeats every 2 bars
        start = cycle * BAR
        a2 = bass[start + 2000:start + 40000]
        d3 = bass[start + BAR // 2 + 2000:start + BAR - 5000]
        e2 = bass[start + BAR + BAR // 2 + 2000:start + 2 * BAR - 5000]
        assert pitch(a2) == pytest.approx(110.0, abs=1.0)
        assert pitch(d3) == pytest.approx(146.83, abs=1.0)
        assert pitch(e2) == pytest.approx(82.41, abs=1.0)
        rest = bass[start + BAR + 8000:start + BAR + BAR // 2]
        assert np.max(np.abs(rest)) < 1e-6        # the rest is silent (after the release)


def test_the_cutoff_sweep_moves_the_spectral_centroid_over_four_cycles(parts):
    bass = parts["bass_dry"][:, 0]
    frame = 4800
    centroids, times = [], []
    freqs = np.fft.rfftfreq(frame, 1 / SR)
    for start in range(0, len(bass) - frame, frame):
        x = bass[start:start + frame]
        if np.sqrt(np.mean(x ** 2)) < 1e-3:
            continue
        spectrum = np.abs(np.fft.rfft(x * np.hanning(frame)))
        centroids.append(float((freqs * spectrum).sum() / spectrum.sum()))
        times.append((start + frame / 2) / (4 * BAR))   # in units of the 4-bar period
    # sine(200, 2000).over(4): a pattern's sine is (1 + sin 2πx)/2 (docs/pattern-ir.md),
    # not the 0.5 - 0.5·cos of kr.mod's "sine" shape.
    cutoff = 1100 + 900 * np.sin(2 * np.pi * np.array(times))
    # The centroid follows the cutoff (the note changes move it too, so loosely).
    assert np.corrcoef(centroids, cutoff)[0, 1] > 0.6


def test_a_reverb_tail_follows_the_bass_notes(parts):
    wet, dry = parts["bass"][:, 0], parts["bass_dry"][:, 0]
    # 200 ms into the rest after D3 (the release is over, only the reverb rings).
    tail = slice(BAR + 10000, BAR + 20000)
    assert np.max(np.abs(dry[tail])) < 1e-6
    assert np.sqrt(np.mean(wet[tail] ** 2)) > 1e-4


def test_tempo_140_after_four_bars_keeps_exact_onsets(parts):
    kick = parts["faster"][:, 0]
    # Bars 0-3 at 128 BPM; from sample 360000 (bar 4) at 140 BPM: a beat is
    # 60·48000/140 = 20571.43 samples, and a note sounds at the first sample at
    # or after its exact time.
    beat_140 = Fraction(60 * SR, 140)
    want = [k * BEAT + 1 for k in range(16)]
    want += [4 * BAR + ceil(j * beat_140) + 1 for j in range(16)]
    # --bars 8 ends on the first sample of bar 8: 4 bars at 128, 4 at 140.
    assert len(kick) == 4 * BAR + ceil(16 * beat_140) == 689_143, f"{len(kick)} frames"
    got = onsets(kick)
    assert got[:len(want)] == want
