"""Mixer commands sent before time advances (issue 12, D17): they take effect
on the very first sample, like the patterns that start then — a node soloed
away or muted before anything played is exactly silent from sample 0. Once a
node has sounded, mute and solo still fade over ~20 ms (no click).

Measured offline: "kick" is a steady 200 Hz sine, "hat" a 3 kHz one; the
render with the kick soloed away must equal, sample for sample, the render of
an engine that has only the hat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from session_support import SR, fresh, render, tone


def _hat_alone(start_engine, path: Path, frames: int) -> np.ndarray:
    kr = fresh(start_engine)
    kr.node("hat", tone, freq=3000.0)
    return render(kr, path, frames=frames)


def test_a_solo_before_any_time_passes_is_exact_from_sample_0(start_engine, tmp_path: Path):
    want = _hat_alone(start_engine, tmp_path / "hat.wav", 4096)
    kr = fresh(start_engine)
    kr.node("kick", tone, freq=200.0)
    kr.node("hat", tone, freq=3000.0)
    kr.solo("hat")
    got = render(kr, tmp_path / "solo.wav", frames=4096)
    kick = got - want
    assert np.max(np.abs(want)) > 0.1  # the hat plays
    assert np.max(np.abs(kick)) == 0.0, (
        f"the kick leaks: peak {np.max(np.abs(kick)):.3g} at sample {int(np.argmax(np.abs(kick)))}")


def test_a_mute_before_any_time_passes_is_exact_from_sample_0(start_engine, tmp_path: Path):
    want = _hat_alone(start_engine, tmp_path / "hat.wav", 4096)
    kr = fresh(start_engine)
    kr.node("kick", tone, freq=200.0)
    kr.node("hat", tone, freq=3000.0)
    kr.mute("kick")
    got = render(kr, tmp_path / "mute.wav", frames=4096)
    assert np.max(np.abs(got - want)) == 0.0


def test_a_solo_during_play_still_fades(start_engine, tmp_path: Path):
    """After 0.1 s of both, solo hat: the kick fades with the 20 ms one-pole —
    still about full at first, 1/e after 20 ms, gone after 200 ms."""
    want = _hat_alone(start_engine, tmp_path / "hat.wav", SR // 10 + SR // 2)
    kr = fresh(start_engine)
    kr.node("kick", tone, freq=200.0)
    kr.node("hat", tone, freq=3000.0)
    before = render(kr, tmp_path / "a.wav", frames=SR // 10)
    kr.solo("hat")
    after = render(kr, tmp_path / "b.wav", frames=SR // 2)
    kick = np.concatenate([before, after]) - want
    start = SR // 10
    first_ms = np.max(np.abs(kick[start : start + 48]))
    at_20ms = np.max(np.abs(kick[start + 960 - 120 : start + 960 + 120]))
    late = np.max(np.abs(kick[start + SR // 5 :]))
    assert first_ms > 0.2, first_ms  # the kick (0.25 peak) does not jump to silence
    assert 0.25 * 0.3 < at_20ms < 0.25 * 0.45, at_20ms  # e^-1 ≈ 0.37 of 0.25
    assert late < 1e-4, late
