"""`kr.node`, `Node` handles and control paths, against a fake client (no engine).

The fake records every request and answers like docs/protocol.md says the
engine does; the real engine is exercised by the end-to-end suites.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from krach import KrachError, Node, Session
from krach import signal as krs


def bass() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    env = krs.adsr(0.005, 0.15, 0.3, 0.08, gate)
    return krs.lowpass(krs.saw(freq), cutoff) * env * 0.55


class FakeClient:
    """Records requests; `replies[cmd]` is a dict to merge into the reply, or a KrachError to raise."""

    address = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.replies: dict[str, Any] = {}
        self.engine_nodes: list[dict[str, Any]] = []

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        self.sent.append((cmd, fields))
        answer = self.replies.get(cmd, {})
        if isinstance(answer, KrachError):
            raise answer
        if cmd == "nodes":
            return {"ok": True, "nodes": self.engine_nodes}
        return {"ok": True, **fields, **answer}

    def close(self) -> None:
        pass


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def kr(fake: FakeClient) -> Session:
    return Session(fake)  # type: ignore[arg-type]


def test_node_sends_the_ir_and_returns_a_handle(kr: Session, fake: FakeClient):
    node = kr.node("bass", bass, gain=0.3, cutoff=1200)
    cmd, fields = fake.sent[-1]
    assert cmd == "node_set"
    assert fields == {"name": "bass", "ir": krs.trace(bass), "gain": 0.3, "controls": {"cutoff": 1200.0}}
    assert isinstance(node, Node) and node.name == "bass"
    assert node.dsp is not None and node.dsp.name == "bass"
    assert repr(node) == "Node('bass': bass, 0 in, 1 out, freq, gate, cutoff)"


def test_gain_and_controls_are_left_out_unless_given(kr: Session, fake: FakeClient):
    kr.node("bass", bass)
    assert fake.sent[-1][1].keys() == {"name", "ir"}  # the engine keeps the gain on replace


def test_node_accepts_a_dsp(kr: Session, fake: FakeClient):
    dsp = kr.dsp(bass)
    assert kr.dsp(dsp) is dsp
    kr.node("a", dsp)
    kr.node("b", dsp)
    assert fake.sent[0][1]["ir"] is dsp.ir and fake.sent[1][1]["ir"] is dsp.ir


def test_unknown_initial_control_fails_before_sending(kr: Session, fake: FakeClient):
    with pytest.raises(KrachError) as info:
        kr.node("bass", bass, cutof=1200)
    assert info.value.code == "unknown_control"
    assert "no control 'cutof'" in info.value.message and "freq, gate, cutoff" in info.value.message
    assert fake.sent == []


def test_initial_control_out_of_range_is_clamped_with_a_warning(kr: Session, fake: FakeClient):
    with pytest.warns(UserWarning, match=r"bass/cutoff: 9000 is outside 100..4000; clamped to 4000"):
        kr.node("bass", bass, cutoff=9000)
    assert fake.sent[-1][1]["controls"] == {"cutoff": 4000.0}
    with pytest.raises(TypeError, match="must be a number"):  # a wrong type is a TypeError (issue 12, D15)
        kr.node("bass", bass, cutoff="high")
    with pytest.raises(ValueError, match="finite number"):
        kr.node("bass", bass, cutoff=float("nan"))


def test_a_failed_node_set_raises_and_keeps_the_old_mirror(kr: Session, fake: FakeClient):
    first = kr.node("bass", bass).dsp
    fake.replies["node_set"] = KrachError("bad_ir", "node 3 (lowpass): attribute 'order' is 12; it must be 1 to 8")
    with pytest.raises(KrachError, match="bad_ir: node 3 \\(lowpass\\)"):
        kr.node("bass", lambda: krs.saw(110))
    assert kr["bass"].dsp is first


def test_trace_errors_send_nothing(kr: Session, fake: FakeClient):
    with pytest.raises(TypeError, match="krs.lowpass"):
        kr.node("bad", lambda: krs.lowpass(krs.saw(1), "x"))
    assert fake.sent == []


def test_node_controls_and_gain(kr: Session, fake: FakeClient):
    node = kr.node("bass", bass)
    node["cutoff"] = 1200
    assert fake.sent[-1] == ("control_set", {"name": "bass", "control": "cutoff", "value": 1200})
    fake.replies["control_get"] = {"value": 1200.0}
    assert node["cutoff"] == 1200.0
    assert fake.sent[-1] == ("control_get", {"name": "bass", "control": "cutoff"})
    node.gain = 0.2
    assert fake.sent[-1] == ("node_gain", {"name": "bass", "gain": 0.2})
    fake.replies["node_gain"] = {"gain": 0.2}
    assert node.gain == 0.2 and node["gain"] == 0.2
    node["gain"] = 0.1
    assert fake.sent[-1] == ("node_gain", {"name": "bass", "gain": 0.1})


def test_clamped_control_set_warns_at_the_callers_line(kr: Session, fake: FakeClient):
    node = kr.node("bass", bass)
    fake.replies["control_set"] = {"value": 4000.0, "clamped": True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        node["cutoff"] = 9000
        kr.set("bass/cutoff", 9000)
        kr["bass/cutoff"] = 9000
    assert len(caught) == 3
    assert all("bass/cutoff: 9000 is outside" in str(w.message) and "4000.0" in str(w.message) for w in caught)
    assert all(w.filename == __file__ for w in caught)


def test_paths_split_at_the_last_slash(kr: Session, fake: FakeClient):
    kr.set("drums/kick/gate", 1)
    assert fake.sent[-1] == ("control_set", {"name": "drums/kick", "control": "gate", "value": 1})
    kr.set("drums/kick/gain", 0.4)
    assert fake.sent[-1] == ("node_gain", {"name": "drums/kick", "gain": 0.4})
    for bad in ("cutoff", "/cutoff", "bass/"):
        with pytest.raises(ValueError, match="'node/control'"):
            kr.set(bad, 1)


def test_kr_getitem_gives_nodes_and_control_values(kr: Session, fake: FakeClient):
    kr.node("bass", bass)
    assert isinstance(kr["bass"], Node) and kr["bass"].name == "bass"
    fake.replies["control_get"] = {"value": 800.0}
    assert kr["bass/cutoff"] == 800.0
    # Nodes made elsewhere are found through the engine's list; group names win over paths.
    fake.engine_nodes = [{"name": "bass"}, {"name": "drums/kick"}]
    assert kr["drums/kick"].name == "drums/kick"
    kr["drums/kick/gate"]
    assert fake.sent[-1] == ("control_get", {"name": "drums/kick", "control": "gate"})


def test_kr_getitem_unknown_node_lists_the_known_ones(kr: Session, fake: FakeClient):
    fake.engine_nodes = [{"name": "kick"}, {"name": "bass"}]
    with pytest.raises(KrachError) as info:
        kr["snare"]
    assert info.value.code == "unknown_node"
    assert "unknown node 'snare'" in info.value.message and "bass, kick" in info.value.message
    with pytest.raises(KrachError, match="unknown node 'snare'"):
        kr["snare/gate"]


def test_gain_remove_and_nodes(kr: Session, fake: FakeClient):
    node = kr.node("bass", bass)
    fake.replies["node_gain"] = {"gain": 0.5}
    assert kr.gain("bass") == 0.5
    assert fake.sent[-1] == ("node_gain", {"name": "bass"})
    kr.gain("bass", 0.5)
    assert fake.sent[-1] == ("node_gain", {"name": "bass", "gain": 0.5})
    fake.engine_nodes = [{"name": "bass", "kind": "dsp", "gain": 0.5}]
    assert kr.nodes == fake.engine_nodes
    node.remove()
    assert fake.sent[-1] == ("node_remove", {"name": "bass"})
    assert node.dsp is None and repr(node) == "Node('bass')"


def test_control_names_in_kr_node_keywords():
    # `name` and `fn` are positional-only, so they are usable as control names.
    def synth() -> krs.Signal:
        return krs.saw(krs.control("name", 100, 20, 800) + krs.control("fn", 0, 0, 1))

    fake = FakeClient()
    Session(fake).node("x", synth, name=200, fn=1)  # type: ignore[arg-type]
    assert fake.sent[-1][1]["controls"] == {"name": 200.0, "fn": 1.0}
