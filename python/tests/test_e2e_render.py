"""Offline rendering: what the engine writes is what was asked for, measured.

Every test starts a real `--offline` engine, drives it through krach.client,
and reads the file back with soundfile: frequencies by FFT, levels by RMS,
exact frame counts, exact sample equality between engines.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import SAMPLE_RATE, Engine, dominant_frequency, read_sound, rms, tone_amplitude
from krach.client import Client
from krach.errors import KrachError

SR = SAMPLE_RATE
FREQ_TOLERANCE_HZ = 0.5


@pytest.fixture
def kr(offline_engine: Engine):
    with offline_engine.client() as client:
        yield client


def render(client: Client, path: Path | None, **fields) -> dict:
    if path is not None:
        fields["path"] = str(path)
    reply = client.request("render", **fields)
    assert reply["ok"] is True
    return reply


def sine(freq: float, gain: float, n: int, start: int = 0, sr: int = SR) -> np.ndarray:
    t = np.arange(start, start + n, dtype=np.float64)
    return gain * np.sin(2 * np.pi * freq * t / sr)


# ---- the test tone -------------------------------------------------------------


@pytest.mark.parametrize("freq, gain", [(440.0, 0.25), (1000.0, 0.5), (3000.0, 0.1),
                                        (97.3, 0.8)])
def test_tone_frequency_level_and_channels(kr: Client, tmp_path: Path, freq, gain):
    kr.request("tone_add", name="a", freq=freq, gain=gain)
    out = tmp_path / "tone.wav"
    reply = render(kr, out, seconds=1.0)
    assert reply == {"id": reply["id"], "ok": True, "frames": SR, "path": str(out),
                     "position": SR}
    info = sf.info(str(out))
    assert (info.format, info.subtype) == ("WAV", "FLOAT")
    assert (info.samplerate, info.channels, info.frames) == (SR, 2, SR)
    data, _ = read_sound(out)
    left, right = data[:, 0], data[:, 1]
    assert np.array_equal(left, right), "a mono tone feeds both channels equally"
    measured = dominant_frequency(left, SR)
    assert abs(measured - freq) < FREQ_TOLERANCE_HZ, f"{measured:.3f} Hz, wanted {freq} Hz"
    assert rms(left) == pytest.approx(gain / math.sqrt(2), rel=0.01)
    assert gain * 0.99 < np.max(np.abs(left)) <= gain + 1e-6


def test_tone_is_the_exact_sine(kr: Client, tmp_path: Path):
    """Phase starts at 0; the samples are the float32 sine to rounding error."""
    kr.request("tone_add", name="a", freq=440, gain=0.5)
    render(kr, tmp_path / "a.wav", frames=4800)
    data, _ = read_sound(tmp_path / "a.wav")
    assert np.max(np.abs(data[:, 0] - sine(440, 0.5, 4800))) < 1e-6


def test_tone_defaults(kr: Client, tmp_path: Path):
    """Without freq and gain the tone is 440 Hz at peak 0.5 (docs/protocol.md)."""
    kr.request("tone_add", name="a")
    render(kr, tmp_path / "d.wav", seconds=1.0)
    data, _ = read_sound(tmp_path / "d.wav")
    assert abs(dominant_frequency(data[:, 0], SR) - 440) < FREQ_TOLERANCE_HZ
    assert rms(data[:, 0]) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)


def test_two_tones_mix_by_addition(kr: Client, tmp_path: Path):
    kr.request("tone_add", name="a", freq=440, gain=0.25)
    kr.request("tone_add", name="b", freq=1000, gain=0.25)
    render(kr, tmp_path / "ab.wav", frames=9600)
    data, _ = read_sound(tmp_path / "ab.wav")
    expected = sine(440, 0.25, 9600) + sine(1000, 0.25, 9600)
    assert np.max(np.abs(data[:, 0] - expected)) < 1e-6


def test_silence_without_nodes_and_after_tone_remove(kr: Client, tmp_path: Path):
    render(kr, tmp_path / "empty.wav", frames=1000)
    assert not np.any(read_sound(tmp_path / "empty.wav")[0])
    kr.request("tone_add", name="a", freq=440, gain=0.5)
    render(kr, tmp_path / "on.wav", frames=1000)
    assert rms(read_sound(tmp_path / "on.wav")[0]) > 0.3
    kr.request("tone_remove", name="a")
    render(kr, tmp_path / "off.wav", frames=1000)
    assert not np.any(read_sound(tmp_path / "off.wav")[0]), "a removed tone is silent at once"


# ---- frame counts --------------------------------------------------------------------


@pytest.mark.parametrize("fields, frames", [
    ({"frames": 12345}, 12345),
    ({"frames": 1}, 1),
    ({"seconds": 0.5}, 24000),
    ({"seconds": 1.23456}, 59259),       # 59258.88 rounds up
    ({"seconds": 0.0001}, 5),            # 4.8 rounds up
    ({"seconds": 2}, 96000),             # an integer is a number too
])
def test_exact_frame_counts(kr: Client, tmp_path: Path, fields, frames):
    kr.request("tone_add", name="a", freq=1000, gain=0.5)
    out = tmp_path / "n.wav"
    reply = render(kr, out, **fields)
    assert reply["frames"] == frames and reply["position"] == frames
    assert sf.info(str(out)).frames == frames


def test_position_accumulates_and_render_without_path_writes_nothing(kr: Client, tmp_path: Path):
    assert render(kr, None, frames=1000) == {"id": 1, "ok": True, "frames": 1000,
                                             "position": 1000}
    folder = tmp_path / "out"
    folder.mkdir()
    assert render(kr, folder / "x.wav", seconds=0.25)["position"] == 13000
    assert kr.request("status")["frames"] == 13000
    assert sorted(p.name for p in folder.iterdir()) == ["x.wav"]


def test_render_replaces_an_existing_file(kr: Client, tmp_path: Path):
    out = tmp_path / "r.wav"
    render(kr, out, frames=5000)
    render(kr, out, frames=300)
    assert sf.info(str(out)).frames == 300


def test_append_adds_frames_and_continues_the_waveform(start_engine, tmp_path: Path):
    piecewise = start_engine("--offline")
    with piecewise.client() as kr:
        kr.request("tone_add", name="a", freq=440, gain=0.3)
        out = tmp_path / "pieces.wav"
        render(kr, out, frames=1000)
        reply = render(kr, out, frames=500, append=True)
        assert reply["frames"] == 500 and reply["position"] == 1500
        render(kr, out, seconds=0.01, append=True)
    assert sf.info(str(out)).frames == 1980

    whole = start_engine("--offline")
    with whole.client() as kr:
        kr.request("tone_add", name="a", freq=440, gain=0.3)
        render(kr, tmp_path / "whole.wav", frames=1980)
    a, _ = sf.read(str(out), dtype="float32")
    b, _ = sf.read(str(tmp_path / "whole.wav"), dtype="float32")
    assert np.array_equal(a, b), "appending in pieces gives the same samples as one render"


# ---- formats ---------------------------------------------------------------------------


def test_flac_is_24_bit_and_sounds_right(kr: Client, tmp_path: Path):
    kr.request("tone_add", name="a", freq=1000, gain=0.5)
    out = tmp_path / "tone.flac"
    render(kr, out, seconds=1.0)
    info = sf.info(str(out))
    assert (info.format, info.subtype, info.channels, info.frames) == ("FLAC", "PCM_24", 2, SR)
    data, _ = read_sound(out)
    scaled = data * 2**23
    assert np.array_equal(scaled, np.round(scaled)), "samples lie on the 24-bit grid"
    assert abs(dominant_frequency(data[:, 0], SR) - 1000) < FREQ_TOLERANCE_HZ
    assert rms(data[:, 0]) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)
    # 24 bits are close to the float sine: within one quantisation step.
    assert np.max(np.abs(data[:, 0] - sine(1000, 0.5, SR))) <= 2.0**-23 + 1e-7


@pytest.mark.parametrize("subtype, sf_subtype, bits", [("pcm16", "PCM_16", 16),
                                                       ("pcm24", "PCM_24", 24)])
def test_wav_subtypes(kr: Client, tmp_path: Path, subtype, sf_subtype, bits):
    kr.request("tone_add", name="a", freq=440, gain=0.5)
    out = tmp_path / f"{subtype}.wav"
    render(kr, out, frames=4800, subtype=subtype)
    assert sf.info(str(out)).subtype == sf_subtype
    data, _ = read_sound(out)
    scaled = data * 2 ** (bits - 1)
    assert np.array_equal(scaled, np.round(scaled))
    assert np.max(np.abs(data[:, 0] - sine(440, 0.5, 4800))) <= 2.0 ** -(bits - 1) + 1e-7


def test_aiff_and_ogg_are_written(kr: Client, tmp_path: Path):
    kr.request("tone_add", name="a", freq=440, gain=0.5)
    render(kr, tmp_path / "t.aiff", seconds=0.5)
    render(kr, tmp_path / "t.ogg", seconds=0.5)
    assert sf.info(str(tmp_path / "t.aiff")).format == "AIFF"
    assert sf.info(str(tmp_path / "t.ogg")).format == "OGG"
    for name in ("t.aiff", "t.ogg"):
        data, sr = read_sound(tmp_path / name)
        assert sr == SR and data.shape == (24000, 2)
        assert abs(dominant_frequency(data[:, 0], SR) - 440) < FREQ_TOLERANCE_HZ


def test_other_sample_rate(start_engine, tmp_path: Path):
    engine = start_engine("--offline", "--sample-rate", "44100")
    with engine.client() as kr:
        kr.request("tone_add", name="a", freq=440, gain=0.25)
        assert render(kr, tmp_path / "x.wav", seconds=1.0)["frames"] == 44100
    data, sr = read_sound(tmp_path / "x.wav")
    assert sr == 44100 and len(data) == 44100
    assert abs(dominant_frequency(data[:, 0], sr) - 440) < FREQ_TOLERANCE_HZ


# ---- determinism -------------------------------------------------------------------------


def run_script(engine: Engine, folder: Path) -> list[Path]:
    """A small session with changes between renders; returns the files written."""
    files = [folder / "one.wav", folder / "two.flac", folder / "three.wav"]
    with engine.client() as kr:
        kr.request("tone_add", name="a", freq=440, gain=0.3)
        kr.request("tone_add", name="b", freq=1234.5, gain=0.2)
        render(kr, files[0], frames=7777)
        kr.request("tone_set", name="a", freq=523.25, gain=0.6)
        kr.request("master", gain=0.7)
        render(kr, files[1], seconds=0.3)
        kr.request("tone_remove", name="b")
        kr.request("tone_add", name="c", freq=60, gain=1.0)
        render(kr, files[2], seconds=0.4)
        render(kr, files[2], frames=1001, append=True)
    return files


def test_two_engines_render_bit_identical_samples(start_engine, tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run_script(start_engine("--offline"), tmp_path / "a")
    second = run_script(start_engine("--offline"), tmp_path / "b")
    for x, y in zip(first, second):
        a, sr_a = sf.read(str(x), dtype="float32")
        b, sr_b = sf.read(str(y), dtype="float32")
        assert sr_a == sr_b and a.shape == b.shape
        assert np.array_equal(a, b), f"{x.name} differs between two engines"
        assert rms(a) > 0.1  # and it is not trivially silent


# ---- changes while playing -------------------------------------------------------------------


def test_master_half_halves_the_level_after_a_20ms_fade(kr: Client, tmp_path: Path):
    kr.request("tone_add", name="a", freq=440, gain=0.5)
    render(kr, tmp_path / "before.wav", seconds=0.5)
    assert kr.request("master", gain=0.5)["gain"] == 0.5
    render(kr, tmp_path / "after.wav", seconds=0.5)
    before, _ = read_sound(tmp_path / "before.wav")
    after, _ = read_sound(tmp_path / "after.wav")
    settled = after[int(0.2 * SR):, 0]  # 10 time constants later
    assert rms(settled) / rms(before[:, 0]) == pytest.approx(0.5, rel=0.005)

    # The envelope: output / the known sine, where the sine is not near zero.
    ref = sine(440, 0.5, len(after), start=len(before))
    usable = np.abs(ref) > 0.1
    t = np.arange(len(after))[usable] / SR
    envelope = after[usable, 0] / ref[usable]
    assert envelope[0] > 0.95, "the change is not a jump"
    # A one-pole fade: 0.5 + 0.5 * exp(-t / tau); find tau where it crosses 1/e.
    crossing = t[np.argmax(envelope < 0.5 + 0.5 / math.e)]
    assert 0.018 <= crossing <= 0.022, f"time constant {crossing * 1000:.1f} ms, want 20 ms"
    model = 0.5 + 0.5 * np.exp(-t / 0.02)
    assert np.max(np.abs(envelope - model)) < 0.01
    # No click: sample-to-sample steps never exceed the sine's own slope.
    steps = np.abs(np.diff(after[:, 0]))
    assert steps.max() <= 2 * math.pi * 440 / SR * 0.5 * 1.01


def test_master_is_read_back_and_scales_up_to_4(kr: Client, tmp_path: Path):
    assert kr.request("master")["gain"] == 1.0
    kr.request("tone_add", name="a", freq=440, gain=0.1)
    kr.request("master", gain=4.0)
    render(kr, None, seconds=0.2)  # let the fade settle
    render(kr, tmp_path / "x.wav", seconds=0.5)
    data, _ = read_sound(tmp_path / "x.wav")
    assert rms(data[:, 0]) == pytest.approx(0.4 / math.sqrt(2), rel=0.01)
    assert kr.request("master")["gain"] == 4.0


def test_tone_set_changes_frequency_and_gain(kr: Client, tmp_path: Path):
    kr.request("tone_add", name="a", freq=440, gain=0.25)
    render(kr, tmp_path / "a.wav", seconds=0.5)
    kr.request("tone_set", name="a", freq=660)
    render(kr, tmp_path / "b.wav", seconds=1.0)
    kr.request("tone_set", name="a", gain=0.05)
    render(kr, tmp_path / "c.wav", seconds=1.0)
    a, _ = read_sound(tmp_path / "a.wav")
    b, _ = read_sound(tmp_path / "b.wav")
    c, _ = read_sound(tmp_path / "c.wav")
    assert abs(dominant_frequency(a[:, 0], SR) - 440) < FREQ_TOLERANCE_HZ
    tail_b = b[int(0.3 * SR):, 0]  # past the glide
    assert abs(dominant_frequency(tail_b, SR) - 660) < FREQ_TOLERANCE_HZ
    assert rms(tail_b) == pytest.approx(0.25 / math.sqrt(2), rel=0.01)
    tail_c = c[int(0.3 * SR):, 0]
    assert abs(dominant_frequency(tail_c, SR) - 660) < FREQ_TOLERANCE_HZ
    assert rms(tail_c) == pytest.approx(0.05 / math.sqrt(2), rel=0.01)
    # The glide is smooth: no sample jumps more than the faster sine's slope allows.
    assert np.abs(np.diff(b[:, 0])).max() <= 2 * math.pi * 660 / SR * 0.25 * 1.01


# ---- the safety stage ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["nan", "inf"])
def test_nonfinite_samples_never_reach_the_file(start_engine, tmp_path: Path, fault):
    """A fault tone is silenced as a node (graph.c) from its first block: the
    file holds exactly the healthy tone, nothing reaches the master stage."""
    engine = start_engine("--offline", "--test-faults")
    with engine.client() as kr:
        kr.request("tone_add", name="loud", freq=1000, gain=1.0)
        kr.request("tone_add", name="broken", freq=300, gain=0.5, fault=fault)
        out = tmp_path / "f.wav"
        render(kr, out, seconds=1.0)
        status = kr.request("status")
        assert status["nonfinite"] == 0 and status["faulted"] == ["broken"]
        data, _ = read_sound(out)
        assert np.all(np.isfinite(data))
        assert np.max(np.abs(data)) <= 1.0
        # Only the healthy tone comes through.
        assert abs(dominant_frequency(data[:, 0], SR) - 1000) < FREQ_TOLERANCE_HZ
        assert tone_amplitude(data[:, 0], 300, SR) < 1e-6
        # Without the broken tone, the sound is the same clean tone.
        kr.request("tone_remove", name="broken")
        kr.request("tone_set", name="loud", gain=0.5)
        render(kr, None, seconds=0.2)
        render(kr, tmp_path / "clean.wav", seconds=0.5)
        assert kr.request("status")["faulted"] == []
    clean, _ = read_sound(tmp_path / "clean.wav")
    assert rms(clean[:, 0]) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)
    assert "node 'broken' produced NaN or infinity" in engine.log_path.read_text()


def test_a_very_loud_sum_never_exceeds_full_scale(kr: Client, tmp_path: Path):
    for i, freq in enumerate((110, 220, 330, 440, 550)):
        kr.request("tone_add", name=f"t{i}", freq=freq, gain=1.0)
    kr.request("master", gain=4.0)
    render(kr, None, seconds=0.3)  # 15 time constants: the fade is over
    out = tmp_path / "loud.wav"
    render(kr, out, seconds=1.0)
    data, _ = read_sound(out)
    peak = np.max(np.abs(data))
    assert 0.9 < peak <= 1.0, f"peak {peak}"
    # Quiet passages pass untouched: samples below the knee equal the plain sum.
    raw = sum(sine(f, 1.0, SR, start=int(0.3 * SR)) for f in (110, 220, 330, 440, 550)) * 4.0
    quiet = np.abs(raw) < 0.8
    assert quiet.sum() > 1000
    assert np.max(np.abs(data[quiet, 0] - raw[quiet])) < 1e-4


def test_render_refused_on_a_live_engine_is_a_krach_error(null_engine: Engine):
    with null_engine.client() as kr, pytest.raises(KrachError) as err:
        kr.request("render", seconds=1.0)
    assert err.value.code == "not_offline"
