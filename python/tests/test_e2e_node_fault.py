"""A node that produces NaN or infinity is silenced and reported; the rest plays on.

Offline at 240 BPM (one bar = one second = 48000 samples). `bad` plays a
300 Hz sine plus ``sqrt(1.5 - ramp)``, where the ramp climbs 1 per second: at
1.5 s the square root's argument turns negative and the node's output NaN.
The engine checks every node's block (graph.c): from the block that holds
the first NaN on, `bad` is silent, so the mix is bit-identical to the same
session rendered without it, the clicks keep landing on their exact samples,
and one ``node_fault`` event reaches subscribed clients (the REPL prints it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from e2e_support import read_sound
from krach import signal as krs
from krach.session import Session

SR = 48000
STEP = SR // 8  # one eighth of a bar


def click() -> krs.Signal:
    """A 1 kHz sine while `gate` is 1, exactly 0 otherwise."""
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(1000.0) * gate * 0.5


def turns_bad() -> krs.Signal:
    ramp = krs.phasor(0.25) * 4.0  # 0 → 4 over four seconds
    return krs.sine_osc(300.0) * 0.2 + krs.sqrt(1.5 - ramp) * 0.01


def healthy() -> krs.Signal:
    return krs.sine_osc(300.0) * 0.2


def _session(start_engine, with_bad: bool) -> Session:
    kr = Session(start_engine("--offline").client())
    kr.tempo = 240
    clicks = kr.node("click", click, gain=1.0)
    if with_bad:
        kr.node("bad", turns_bad, gain=1.0)
    clicks @ "x ~ x ~ x ~ x ~"
    return kr


def _render(kr: Session, path: Path, seconds: int) -> np.ndarray:
    kr.render(path, frames=seconds * SR)
    data, sr = read_sound(path)
    assert sr == SR
    return data


def test_a_node_turning_nan_is_silenced_reported_and_replaceable(start_engine, tmp_path: Path, capsys):
    kr = _session(start_engine, with_bad=True)
    ref = _session(start_engine, with_bad=False)
    out = _render(kr, tmp_path / "bad.wav", 4)
    want = _render(ref, tmp_path / "ref.wav", 4)
    assert np.all(np.isfinite(out))

    # Before 1.5 s `bad` is heard; from the block holding its first NaN on,
    # the output is the session without it, bit for bit.
    nan_at = int(1.5 * SR)
    diff = np.any(out != want, axis=1)
    last_diff = int(np.flatnonzero(diff)[-1])
    assert nan_at - 4096 <= last_diff < nan_at, last_diff
    assert np.array_equal(out[nan_at:], want[nan_at:])
    assert diff[: nan_at - 4096].mean() > 0.9  # it really played before

    # The clicks land on their exact samples (every quarter bar), also in the
    # faulted render once `bad` is silent.
    for x, start in ((want, 0), (out, nan_at)):
        gate = x[start:, 0] != 0
        onsets = np.flatnonzero(gate[1:] & ~gate[:-1]) + 1 + start
        onsets = onsets[onsets > start + 1]  # sin(0) = 0: the first click starts a sample late
        assert list(onsets) == [k * 2 * STEP for k in range(1, 16) if k * 2 * STEP > start]

    # Reported once: status, nodes, the log and one event line (printed by the REPL's session).
    status = kr.status()
    assert status["faulted"] == ["bad"] and status["nonfinite"] == 0
    assert [n["faulted"] for n in kr.nodes if n["name"] == "bad"] == [True]
    events = [e for e in kr.client.events if e.get("event") == "node_fault"]
    assert len(events) == 1 and events[0]["node"] == "bad"
    assert "node 'bad' produced NaN or infinity and was silenced" in events[0]["message"]
    printed = capsys.readouterr().err
    assert printed.count("krach: node 'bad' produced NaN or infinity") == 1
    _render(kr, tmp_path / "more.wav", 1)
    kr.status()
    assert len([e for e in kr.client.events if e.get("event") == "node_fault"]) == 1

    # Defining the node again replaces the poisoned one: it plays, the fault is gone.
    kr.node("bad", healthy)
    after = _render(kr, tmp_path / "fixed.wav", 1)
    assert kr.status()["faulted"] == []
    assert np.all(np.isfinite(after))
    sounding = np.count_nonzero(after[:, 0])
    assert sounding > 0.99 * SR  # the 300 Hz sine is back, also between the clicks

    # The same fault again is reported again.
    kr.node("bad", turns_bad)
    _render(kr, tmp_path / "again.wav", 3)
    kr.status()
    assert len([e for e in kr.client.events if e.get("event") == "node_fault"]) == 2
    kr.close()
    ref.close()
