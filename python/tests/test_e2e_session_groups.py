"""Names and groups, end to end (issue 12, D11, D12, D14): every command that
takes a node name follows one rule (docs/routing.md, "Names and groups"), a
pattern or a pattern-shaped ``kr.mod`` may move a node's gain, and an unknown
name is an error everywhere — measured in what the real engine renders offline.

At 240 BPM one bar is one second (`session_support.BAR`); each tone is a sine
of amplitude 0.5 before the node's gain (RMS 0.3536 × gain).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import rms
from krach.errors import KrachError
from session_support import SR, amplitude, fresh, keyed, render, tone

KICK, HAT, BASS = 200, 3000, 100  # Hz
TONE_RMS = 0.5 / np.sqrt(2.0)


def _band(kr, synth=tone) -> None:
    kr.node("drums/kick", synth, freq=float(KICK))
    kr.node("drums/hat", synth, freq=float(HAT))
    kr.node("bass", synth, freq=float(BASS))


def _gain_at(x: np.ndarray, start: float, end: float) -> float:
    """The gain a steady tone had between `start` and `end` seconds (its RMS over 0.3536)."""
    return rms(x[int(start * SR):int(end * SR)]) / TONE_RMS


# ---- D11: patterns and pattern-shaped mod on a gain ----------------------------------


def test_a_pattern_plays_on_a_gain(start_engine, tmp_path: Path):
    """``kr.play("b/gain", kr.p("0.1 0.5"))``: gain 0.1 in the first half bar, 0.5 in the
    second (measured 0.100 and 0.500 away from the 20 ms smoothing). Before the fix the
    engine answered unknown_control."""
    kr = fresh(start_engine)
    kr.node("b", tone, freq=float(KICK))
    kr.play("b/gain", kr.p("0.1 0.5"))
    x = render(kr, tmp_path / "a.wav", cycles=1)
    assert _gain_at(x, 0.1, 0.45) == pytest.approx(0.1, abs=0.005)
    assert _gain_at(x, 0.6, 0.95) == pytest.approx(0.5, abs=0.005)
    assert [p["target"] for p in kr.state()["patterns"]] == ["b/gain"]


def test_continuous_patterns_and_mod_move_a_gain(start_engine, tmp_path: Path):
    """``kr.tri(0.1, 0.5)`` on ``"b/gain"``, ``b @ ("gain", …)`` and a pattern-shaped
    ``kr.mod`` are all accepted and move the gain: the tenth of a bar at the triangle's
    top is louder than the one at its foot. A hush puts the set gain back (0.5)."""
    kr = fresh(start_engine)
    b = kr.node("b", tone, freq=float(KICK))
    kr.play("b/gain", kr.tri(0.1, 0.5))
    x = render(kr, tmp_path / "tri.wav", cycles=1)
    # krach's tri starts at its top: measured 0.473 over the first tenth, 0.131 at its foot
    assert _gain_at(x, 0.0, 0.1) > 0.4 and _gain_at(x, 0.45, 0.55) < 0.2
    b @ ("gain", kr.square(0.0, 0.4))
    kr.mod("b/gain", kr.sine(0.1, 0.3), bars=2)
    assert [p["target"] for p in kr.state()["patterns"]] == ["b/gain"]
    kr.hush("b")
    render(kr, tmp_path / "settle.wav", frames=SR // 2)
    assert _gain_at(render(kr, tmp_path / "after.wav", frames=SR // 2), 0, 0.5) == pytest.approx(0.5, abs=0.005)


def test_a_gain_pattern_plays_on_a_test_tone(start_engine, tmp_path: Path):
    """Every kind of node has a gain, so a gain pattern plays on a test tone too."""
    kr = fresh(start_engine)
    kr.tone("t", freq=float(KICK), gain=0.5)
    kr.play("t/gain", kr.p("0 1"))
    x = render(kr, tmp_path / "t.wav", cycles=1)
    assert rms(x[int(0.1 * SR):int(0.45 * SR)]) < 0.01 < 0.1 < rms(x[int(0.6 * SR):int(0.95 * SR)])


# ---- D12: groups in every command ------------------------------------------------------


def test_fade_and_mod_act_on_a_group(start_engine, tmp_path: Path):
    """``kr.fade("drums/gain", 0, bars=1)`` fades kick and hat out over the bar (bass
    stays at 0.5); ``kr.mod("drums/gain", …)`` runs one automation per member."""
    kr = fresh(start_engine)
    _band(kr)
    kr.fade("drums/gain", 0.0, bars=1)
    render(kr, tmp_path / "fade.wav", cycles=1)
    x = render(kr, tmp_path / "after.wav", frames=SR)
    assert amplitude(x, KICK) < 1e-3 and amplitude(x, HAT) < 1e-3
    assert amplitude(x, BASS) == pytest.approx(0.25, abs=1e-3)
    assert kr.gain("drums/kick") == 0.0 and kr.gain("drums/hat") == 0.0
    kr.mod("drums/gain", "sine", lo=0.0, hi=0.5, bars=2)
    targets = sorted(a["target"] for a in kr.state()["automations"])
    assert targets == ["drums/hat/gain", "drums/kick/gain"]
    kr.mod("drums/gain", kr.tri(0.1, 0.4))  # a pattern shape: one pattern per member
    assert sorted(p["target"] for p in kr.state()["patterns"]) == ["drums/hat/gain", "drums/kick/gain"]
    kr.play("drums/kick/gain", kr.p("0.2 0.3"))
    kr.hush("drums/gain")  # that control of every member
    assert kr.state()["patterns"] == [] and kr.state()["automations"] == [] and kr.patterns == {}


def test_play_and_remove_act_on_a_group(start_engine, tmp_path: Path):
    """``kr.play("drums", …)`` plays the notes on every member; ``kr.remove("drums")``
    removes every member and leaves bass."""
    kr = fresh(start_engine)
    _band(kr, keyed)
    kr.play("drums", kr.hit() * 4)
    assert sorted(p["target"] for p in kr.state()["patterns"]) == ["drums/hat", "drums/kick"]
    x = render(kr, tmp_path / "a.wav", cycles=1)
    assert amplitude(x, KICK) > 0.05 and amplitude(x, HAT) > 0.05 and amplitude(x, BASS) < 1e-3
    kr.remove("drums")
    assert [n["name"] for n in kr.nodes] == ["bass"]
    assert kr.state()["patterns"] == [] and kr.patterns == {}


def test_set_acts_on_a_group(offline_session):
    """``kr.set("drums/freq", 300)`` sets the control on every member (bass keeps its own)."""
    kr = offline_session
    _band(kr)
    kr.set("drums/freq", 300)
    assert kr["drums/kick"]["freq"] == 300 and kr["drums/hat"]["freq"] == 300
    assert kr["bass"]["freq"] == BASS
    with pytest.raises(KrachError) as err:
        kr.set("drums/nope", 1.0)
    assert err.value.code == "unknown_control" and "drums/" in err.value.message


def test_one_node_commands_name_the_members_of_a_group(offline_session):
    """A command that acts on one node (a control's value, a send) given a group says so
    and names a member to use instead."""
    kr = offline_session
    _band(kr)
    with pytest.raises(KrachError) as err:
        kr.request("control_get", name="drums", control="freq")
    assert err.value.code == "bad_value" and "group" in err.value.message and "drums/kick" in err.value.message


def test_every_name_command_refuses_a_name_that_means_nothing(offline_session):
    """fade, mod, play, remove, hush, gain, mute: 'drumz' is unknown_node listing the nodes."""
    kr = offline_session
    _band(kr)
    calls = (lambda: kr.fade("drumz/gain", 0.0), lambda: kr.mod("drumz/gain", "sine", 0.0, 1.0),
             lambda: kr.play("drumz", "x"), lambda: kr.remove("drumz"), lambda: kr.hush("drumz"),
             lambda: kr.gain("drumz", 0.3), lambda: kr.mute("drumz"))
    for call in calls:
        with pytest.raises(KrachError) as err:
            call()
        assert err.value.code == "unknown_node"
        assert "drums/kick" in err.value.message and "bass" in err.value.message


# ---- D14: hush of an unknown name ----------------------------------------------------------


def test_hush_of_an_unknown_name_raises(offline_session):
    """``kr.hush("typo")`` raises like ``kr.mute("typo")`` (it used to succeed silently);
    a known node with nothing playing, or ``"node/control"``, is fine."""
    kr = offline_session
    kr.node("bass", tone)
    with pytest.raises(KrachError) as err:
        kr.hush("typo")
    assert err.value.code == "unknown_node" and "'typo'" in err.value.message and "bass" in err.value.message
    with pytest.raises(KrachError):
        kr.hush("typo/cutoff")
    kr.hush("bass")
    kr.hush("bass/freq")


def test_a_batch_follows_the_naming_rule(offline_session):
    """Inside ``kr.batch()`` a group means its members as it does alone: the dry run
    accepts ``control_set`` and ``node_remove`` of "drums" (before, it refused what the
    same commands do outside a batch), and a group that means nothing is refused with
    nothing changed."""
    kr = offline_session
    _band(kr)
    with kr.batch():
        kr.set("drums/freq", 300)
        kr.remove("drums")
    assert [n["name"] for n in kr.nodes] == ["bass"]
    before = kr.request("state")["state"]
    with pytest.raises(KrachError) as err:
        kr.request("batch", commands=[{"cmd": "node_gain", "name": "bass", "gain": 0.2},
                                      {"cmd": "node_remove", "name": "drums"}])
    assert err.value.code == "unknown_node" and "nothing was changed" in err.value.message
    assert kr.request("state")["state"] == before
