"""kr.fade starts from where a control *is*, not from where it was last set:
a mod may have moved it since."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from krach import signal as krs


def level_probe() -> krs.Signal:
    """Outputs its `level` control itself, so the rendered file shows the control."""
    return krs.control("level", 0.5, 0.0, 1.0)


def render(kr, path, cycles) -> np.ndarray:
    kr.render(path, cycles=cycles)
    audio, _ = sf.read(path, dtype="float32")
    return audio[:, 0]


def test_a_fade_starts_where_a_mod_left_the_control(offline_session, tmp_path):
    kr = offline_session
    kr.tempo = 120                                  # a cycle is 96000 samples
    kr.node("probe", level_probe, gain=1.0)         # level is 0.5 (its set value)
    kr.mod("probe/level", "sine", lo=0.2, hi=0.9, bars=1)
    held = render(kr, tmp_path / "held.wav", "1/2")  # half a period: the sine's top
    assert abs(held[-1] - 0.9) < 0.01
    kr.fade("probe/level", 0.1, bars=1)             # replaces the mod
    fade = render(kr, tmp_path / "fade.wav", 1)
    # It starts at 0.9 (where the pattern put it), not at 0.5 (the last set value) …
    assert abs(fade[0] - 0.9) < 0.01, fade[:4]
    # … never jumps …
    assert np.max(np.abs(np.diff(fade))) < 0.002
    # … passes the middle halfway and lands on the target.
    assert abs(fade[48000] - 0.5) < 0.02
    after = render(kr, tmp_path / "after.wav", "1/4")
    assert abs(after[-1] - 0.1) < 1e-4


def test_mod_with_a_pattern_shape(offline_session, tmp_path):
    kr = offline_session
    kr.tempo = 120
    kr.node("probe", level_probe, gain=1.0)
    kr.mod("probe/level", kr.p("0.2 0.8"), bars=2)      # one step per bar
    level = render(kr, tmp_path / "mod.wav", 2)
    bar = 96000
    assert abs(level[bar - 1] - 0.2) < 1e-4 and abs(level[2 * bar - 1] - 0.8) < 1e-4
    assert [p["target"] for p in kr.request("transport")["patterns"]] == ["probe/level"]
    kr.hush("probe/level")
    with pytest.raises(ValueError, match="carries its own values"):
        kr.mod("probe/level", kr.sine(0.2, 0.8), lo=0, hi=1)
    with pytest.raises(TypeError, match="give lo and hi"):
        kr.mod("probe/level", "sine")


def test_patterns_and_mods_stay_inside_a_controls_range(offline_session, tmp_path):
    """control_set clamps (and warns); patterns and mods reach the control by other
    ways, and the engine keeps those inside [lo, hi] too."""
    kr = offline_session
    kr.tempo = 120
    # Gain 0.5 keeps the probe below the output limiter's knee (0.9).
    node = kr.node("probe", level_probe, gain=0.5)      # level: 0 to 1
    node @ ("level", "3 -2")
    level = render(kr, tmp_path / "pattern.wav", 1) * 2
    assert abs(level[47999] - 1.0) < 1e-6 and abs(level[95999] - 0.0) < 1e-6
    kr.hush("probe/level")
    kr.mod("probe/level", "square", lo=-5, hi=5, bars=1)
    level = render(kr, tmp_path / "mod.wav", 1) * 2
    assert level.min() >= 0.0 and level.max() <= 1.0
    assert abs(level[47000] - 1.0) < 1e-4 and abs(level[95000] - 0.0) < 1e-4
