"""Routing, end to end: ``a >> b``, ``a >> (b, level)``, chains, ``kr.connect``,
``kr.unsend``, port wires, and the engine's refusals, measured in what the
real engine renders offline (see session_support.py for the synths).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from e2e_support import rms
from krach.errors import KrachError
from krach.node import Node
from session_support import SR, amplitude, burst, fresh, render, ring, tone, verb


def _burst_then_tail(kr, tmp_path: Path, routed: bool, level_change_at: int | None = None) -> np.ndarray:
    """A 0.1 s 1 kHz burst, then 1.4 s of silence from the source; optionally
    routed into a reverb, optionally re-sending at level 0.5 at a sample of the tail."""
    src = kr.node("src", burst, gain=1.0)
    fx = kr.node("verb", verb, gain=1.0)
    if routed:
        src >> fx
    parts = []
    src["gate"] = 1
    parts.append(render(kr, tmp_path / "a.wav", frames=SR // 10))
    src["gate"] = 0
    if level_change_at is None:
        parts.append(render(kr, tmp_path / "b.wav", frames=14 * SR // 10))
    else:
        parts.append(render(kr, tmp_path / "b.wav", frames=level_change_at))
        src >> (fx, 0.5)
        parts.append(render(kr, tmp_path / "c.wav", frames=14 * SR // 10 - level_change_at))
    return np.concatenate(parts)


def test_dry_always_reaches_master_and_a_send_adds_the_reverb_tail(start_engine, tmp_path: Path):
    """Unrouted, the burst alone is heard and the output is exactly 0 once it ends;
    routed (``src >> verb``), the dry burst is the same sample for sample until the
    reverb's first echo and a tail follows.

    Measured: the burst's RMS is 0.3536 (0.5 / sqrt 2); unrouted, every sample
    after it is 0.0; routed, the first 1216 samples are identical (the first
    echo comes 1216 samples in) and the tail 0.1-0.6 s after the burst has RMS
    0.110 (room 0.8).
    """
    dry = _burst_then_tail(fresh(start_engine), tmp_path, routed=False)
    wet = _burst_then_tail(fresh(start_engine), tmp_path, routed=True)
    end = SR // 10
    assert rms(dry[:end]) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3), "the dry burst reaches the master"
    assert np.all(dry[end:] == 0.0), "no reverb unless routed"
    assert np.array_equal(wet[:1216], dry[:1216]), "the dry signal is untouched by the send"
    tail = rms(wet[end + SR // 10:end + 6 * SR // 10])
    assert tail > 0.02, f"the reverb tail is there when routed: RMS {tail:.4f}"


def test_changing_a_send_level_keeps_the_reverb_tail(start_engine, tmp_path: Path):
    """Re-sending at another level (``src >> (verb, 0.5)``) during the tail, while the
    source is silent, changes nothing audible: the tail goes on sample for sample
    as without the change — the reverb was not rebuilt or restarted — and the
    route is updated, not doubled.
    """
    kr = fresh(start_engine)
    changed = _burst_then_tail(kr, tmp_path, routed=True, level_change_at=SR // 4)
    assert kr.routing == [{"src": "src", "dst": "verb", "port": "in0", "level": 0.5, "send": True}]
    same = _burst_then_tail(fresh(start_engine), tmp_path, routed=True)
    assert np.array_equal(changed, same)


def test_a_send_level_change_scales_the_wet_signal_without_a_click(start_engine, tmp_path: Path):
    """A continuous 1 kHz tone sent at level 1, then at 0.25 from 1 s on: the wet
    part (output minus the dry render) moves smoothly to a quarter.

    The wet part is found exactly: the engine is deterministic, so the dry
    signal is a render of the same session without the route. Measured: the
    largest sample-to-sample step of the output in the 50 ms after the change
    is 0.0596, against 0.0586 in the 50 ms before (the signal's own slope; a
    click would be many times that); 2.5 s after the change the wet RMS is
    0.2499 of the level-1 run's.
    """
    def run(levels: list[float]) -> np.ndarray:
        kr = fresh(start_engine)
        src = kr.node("src", tone, gain=0.5, freq=1000.0)
        fx = kr.node("verb", verb, gain=1.0)
        parts = []
        for i, level in enumerate(levels):
            if level > 0:
                src >> (fx, level)
            parts.append(render(kr, tmp_path / f"p{i}.wav", frames=SR))
        return np.concatenate(parts)

    dry = run([0.0, 0.0, 0.0, 0.0])
    full = run([1.0, 1.0, 1.0, 1.0]) - dry
    quarter = run([1.0, 0.25, 0.25, 0.25]) - dry
    assert np.array_equal(quarter[:SR], full[:SR])
    out = quarter + dry
    before = np.max(np.abs(np.diff(out[SR - 2400:SR])))
    after = np.max(np.abs(np.diff(out[SR:SR + 2400])))
    assert after <= before * 1.1, f"a step of {after:.4f} after the change, {before:.4f} before"
    late = slice(int(3.5 * SR), 4 * SR)
    assert rms(quarter[late]) == pytest.approx(0.25 * rms(full[late]), rel=0.02)


def test_unsend_stops_the_send(start_engine, tmp_path: Path):
    """``kr.unsend`` removes the route: what the source plays afterwards gets no reverb
    (the output is exactly 0 after the burst, once the old tail is gone)."""
    kr = fresh(start_engine)
    src = kr.node("src", burst, gain=1.0)
    fx = kr.node("verb", verb, gain=1.0, room=0.1)
    src >> fx
    kr.unsend("src", fx)
    assert kr.routing == []
    src["gate"] = 1
    render(kr, tmp_path / "a.wav", frames=SR // 10)
    src["gate"] = 0
    x = render(kr, tmp_path / "b.wav", frames=SR)
    assert np.all(x == 0.0)


def test_chains_return_their_target_and_both_forms_route(offline_session):
    """``a >> b >> c`` routes a→b and b→c and returns c; a tuple gives the level;
    a name works as a target; ``kr.connect`` is the explicit form."""
    kr = offline_session
    a = kr.node("a", tone)
    b = kr.node("b", verb)
    c = kr.node("c", verb)
    d = kr.node("d", verb)
    end = a >> (b, 0.4) >> c
    assert isinstance(end, Node) and end.name == "c"
    assert (c >> "d").name == "d"
    kr.connect("a", d, level=0.25)
    routes = {(r["src"], r["dst"]): r["level"] for r in kr.routing}
    assert routes == {("a", "b"): 0.4, ("b", "c"): 1.0, ("c", "d"): 1.0, ("a", "d"): 0.25}
    assert kr.sources == ["a"] and kr.effects == ["b", "c", "d"]


def test_a_port_wire_feeds_a_second_input(start_engine, tmp_path: Path):
    """``kr.connect(src, fx, port="in1")`` wires straight into the effect's second input:
    a ring modulator of a 500 Hz send (in0) and a 100 Hz wire (in1) gives 400 and 600 Hz.

    The send is taken after the source's gain (0.5 × 0.5 = 0.25); the wire carries
    the source's own output at unity, before its gain (0.5) — so a gain of 0.25
    on the 100 Hz node halves its dry tone but not the side bands. ring() × 4
    and the ring node's gain 0.25: each side band is 0.25 × 0.5 × 4 × 0.25 / 2
    = 0.0625. Measured: 0.0625 at 400 and 600 Hz with the wire's source at gain
    0.5 and at 0.25; its dry tone 0.25 and 0.125.
    """
    for lo_gain in (0.5, 0.25):
        kr = fresh(start_engine)
        kr.node("hi", tone, freq=500.0)
        kr.node("lo", tone, freq=100.0, gain=lo_gain)
        kr.node("ring", ring, gain=0.25)
        kr.connect("hi", "ring")
        kr.connect("lo", "ring", port="in1")
        assert {(r["src"], r["port"], r["send"]) for r in kr.routing} == {("hi", "in0", True), ("lo", "in1", False)}
        x = render(kr, tmp_path / "x.wav", frames=SR)
        for f, want in ((400, 0.0625), (600, 0.0625), (500, 0.25), (100, 0.5 * lo_gain)):
            assert amplitude(x, f) == pytest.approx(want, rel=1e-4), f"{f} Hz, wire source at gain {lo_gain}"


def test_a_loop_is_refused(offline_session):
    """A route that would feed a node back into itself is refused (routing_cycle), also
    into itself, and the routes stay as they were."""
    kr = offline_session
    a, b, c = kr.node("a", verb), kr.node("b", verb), kr.node("c", verb)
    a >> b >> c
    for src, dst in ((c, a), (b, a), (a, a)):
        with pytest.raises(KrachError) as err:
            src >> dst
        assert err.value.code == "routing_cycle"
        assert "back into itself" in err.value.message
    assert len(kr.routing) == 2


def test_unknown_node_and_unknown_port_say_what_to_do(offline_session):
    """Routing to a name that is no node lists the known nodes; routing into a source
    says it is a source and that effects take ``inp: krs.Signal``."""
    kr = offline_session
    bass = kr.node("bass", tone)
    kr.node("lead", tone)
    with pytest.raises(KrachError) as err:
        bass >> "verb"
    assert err.value.code == "unknown_node"
    assert "unknown node 'verb'" in err.value.message and "bass" in err.value.message
    assert "lead" in err.value.message
    with pytest.raises(KrachError) as err:
        kr.connect("bass", "lead", level=0.5)
    assert err.value.code == "unknown_port"
    assert "source" in err.value.message and "inp: krs.Signal" in err.value.message
    with pytest.raises(KrachError) as err:
        kr.unsend("nosuch", "bass")
    assert err.value.code == "unknown_node"
    assert kr.routing == []


def test_routing_arguments_are_checked_before_sending(offline_session):
    """A level outside 0-4, a level with a port wire, or a target that is no node is a
    Python error at once."""
    kr = offline_session
    a, b = kr.node("a", tone), kr.node("b", verb)
    with pytest.raises(ValueError):
        a >> (b, 5.0)
    with pytest.raises(ValueError):
        kr.connect(a, b, level=0.5, port="in0")
    with pytest.raises(TypeError):
        a >> 3  # type: ignore[operator]
    with pytest.raises(TypeError):
        a >> (b, 0.5, 1)
    assert kr.routing == []
