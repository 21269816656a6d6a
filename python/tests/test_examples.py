"""Every example renders, and does what its comment says."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import REPO, child_env

KRACH = str(REPO / "bin" / "krach")
EXAMPLES = REPO / "examples"


def render(engine_bin: str, home: Path, tmp: Path, example: str, bars: int) -> np.ndarray:
    out = tmp / f"{example}.wav"
    result = subprocess.run([KRACH, "render", str(EXAMPLES / f"{example}.py"), "-o", str(out),
                             "--bars", str(bars)],
                            env=child_env(home, KRACH_ENGINE=engine_bin), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    audio, _ = sf.read(out, dtype="float32")
    assert np.all(np.isfinite(audio)) and np.max(np.abs(audio)) <= 1.0
    return audio[:, 0]


def centroid(x: np.ndarray, above: float, sr: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    keep = freqs > above
    return float((freqs[keep] * spectrum[keep]).sum() / spectrum[keep].sum())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def test_every_example_is_covered():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == [
        "acid_jam", "chord_pad", "drum_kit", "five_minute_beat", "looper"]


def test_five_minute_beat(engine_bin, home, tmp_path):
    x = render(engine_bin, home, tmp_path, "five_minute_beat", 2)
    assert len(x) == 2 * 90000 and np.sqrt(np.mean(x ** 2)) > 0.01


def test_acid_jam_switches_scenes_after_eight_bars(engine_bin, home, tmp_path):
    x = render(engine_bin, home, tmp_path, "acid_jam", 16)
    bar = 90000
    sparse, full = x[4 * bar:8 * bar], x[12 * bar:16 * bar]
    # "full" sweeps the filter higher (500-3500 Hz instead of 300-900 Hz):
    # the acid line's brightness (its spectral centroid above the kick) rises.
    assert centroid(full, 150) > 1.3 * centroid(sparse, 150)


def test_drum_kit_group_gain_and_swing(engine_bin, home, tmp_path):
    x = render(engine_bin, home, tmp_path, "drum_kit", 8)
    bar = 48000 * 60 * 4 // 96
    loud, quiet = x[2 * bar:4 * bar], x[4 * bar:6 * bar]
    # kr.gain("drums", 0.6) after four bars turns the whole kit down.
    assert np.sqrt(np.mean(quiet ** 2)) < 0.8 * np.sqrt(np.mean(loud ** 2))


def test_chord_pad_sounds_four_notes(engine_bin, home, tmp_path):
    x = render(engine_bin, home, tmp_path, "chord_pad", 2)
    chord = x[int(0.6 * 48000):int(2.8 * 48000)]    # inside the first bar (A3 C4 E4 G4)
    spectrum = np.abs(np.fft.rfft(chord * np.hanning(len(chord))))
    freqs = np.fft.rfftfreq(len(chord), 1 / 48000)
    for hz in (220.0, 261.63, 329.63, 392.0):
        near = (freqs > hz * 0.99) & (freqs < hz * 1.01)
        far = (freqs > hz * 1.03) & (freqs < hz * 1.06)
        assert spectrum[near].max() > 10 * np.median(spectrum[far]), hz


def test_looper_plays_back_what_it_recorded(engine_bin, home, tmp_path):
    x = render(engine_bin, home, tmp_path, "looper", 6)
    bar = 48000 * 60 * 4 // 100
    # Bars 4 and 5 are pure playback of the same recorded bar (plus the same
    # echo tail once it has settled): they are the same sound.
    b4, b5 = x[4 * bar:5 * bar], x[5 * bar:6 * bar]
    assert np.sqrt(np.mean(b4 ** 2)) > 0.01
    assert np.corrcoef(b4, b5)[0, 1] > 0.95
