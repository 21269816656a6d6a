"""Synths and measurements shared by the live-session tests (test_e2e_session_*.py).

Everything runs on the real engine, offline at 48 kHz: a command sent between
two renders takes effect at the first sample of the next one, so the tests
place changes at exact samples (see `e2e_support.Take`). At 240 BPM in 4/4
one bar is exactly one second (`BAR` samples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from e2e_support import SAMPLE_RATE, read_sound, tone_amplitude
from krach import signal as krs

SR = SAMPLE_RATE
BPM = 240
BAR = SR  # samples per bar at 240 BPM, 4 beats


def tone() -> krs.Signal:
    """A steady sine at `freq` (amplitude 0.5 before the node's gain)."""
    freq = krs.control("freq", 440.0, 20.0, 4000.0)
    return krs.sine_osc(freq) * 0.5


def keyed() -> krs.Signal:
    """A sine voice played by notes: `freq` and a `gate` with a short envelope."""
    freq = krs.control("freq", 440.0, 20.0, 4000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(freq) * krs.adsr(0.002, 0.05, 0.8, 0.02, gate) * 0.5


def burst() -> krs.Signal:
    """A 1 kHz sine while `gate` is 1, silent (exactly 0) otherwise."""
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(1000.0) * gate * 0.5


def verb(inp: krs.Signal) -> krs.Signal:
    """A reverb effect: silent (exactly 0) until something is sent into it."""
    room = krs.control("room", 0.8, 0.0, 1.0)
    return krs.reverb(inp, room, 0.3)


def ring(a: krs.Signal, b: krs.Signal) -> krs.Signal:
    """A two-input effect: the product of its inputs (in0 and in1)."""
    return a * b * 4.0


def fresh(start_engine: Any) -> Any:
    """A `Session` on a new offline engine at `BPM` (closed with the engine at teardown)."""
    from krach.session import Session

    kr = Session(start_engine("--offline").client())
    kr.tempo = BPM
    return kr


def render(kr: Any, path: Path, **span: Any) -> np.ndarray:
    """Render `span` (frames=, seconds= or cycles=) to `path`; return channel 0."""
    kr.render(path, **span)
    data, sr = read_sound(path)
    assert sr == SR
    return data[:, 0]


def render_both(kr: Any, path: Path, **span: Any) -> np.ndarray:
    """Render `span` to `path`; return both channels (frames x 2)."""
    kr.render(path, **span)
    data, _ = read_sound(path)
    return data


def amplitude(x: np.ndarray, freq: float) -> float:
    """Peak amplitude of the sine at `freq` in `x` (choose `freq` on the grid SR / len(x))."""
    return tone_amplitude(x, freq, SR)


def envelope(x: np.ndarray, window: int = 480) -> np.ndarray:
    """Peak of |x| in consecutive windows of `window` samples."""
    n = len(x) // window
    return np.abs(x[: n * window]).reshape(n, window).max(axis=1)
