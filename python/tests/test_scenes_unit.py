"""`plan_recall`: what a recall sends, worked out from two states (no engine).

The end-to-end tests (test_e2e_session_scenes.py) play the result; these pin
down the plan's shape: only what differs is changed, in an order the engine's
batch accepts.
"""

from __future__ import annotations

import copy
from typing import Any

from krach.scenes import plan_recall

IR = {"krach_ir": 1, "inputs": 0, "controls": [], "nodes": [], "outputs": []}
FX = {**IR, "inputs": 1}


def node(name: str, ir: dict[str, Any] = IR, **fields: Any) -> dict[str, Any]:
    base = {"name": name, "kind": "dsp", "gain": 0.5, "muted": False, "soloed": False, "count": 1,
            "ir": ir, "controls": {"freq": 440.0, "gate": 0.0}}
    return {**base, **fields}


def state(nodes: list[dict[str, Any]], routes: list[dict[str, Any]] = (), patterns: list[dict[str, Any]] = (),
          automations: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"bpm": 120.0, "beats": 4, "master": 1.0, "nodes": nodes, "routes": list(routes),
            "patterns": list(patterns), "automations": list(automations)}


def send(src: str, dst: str, level: float) -> dict[str, Any]:
    return {"src": src, "dst": dst, "port": "in0", "level": level, "send": True}


def test_recalling_the_state_itself_only_confirms_the_nodes():
    now = state([node("a"), node("fx", FX)], [send("a", "fx", 0.5)],
                [{"target": "a", "mini": "a b", "from_zero": False}])
    plan = plan_recall(now, copy.deepcopy(now))
    assert [c["cmd"] for c in plan.commands] == ["node_set", "node_set"]  # kept in place, state and all
    assert plan.hush == [] and plan.fades == [] and plan.prelude == [] and plan.warnings == []


def test_only_what_differs_is_changed_in_a_batchable_order():
    now = state([node("a"), node("old"), node("fx", FX)], [send("a", "fx", 0.5)],
                [{"target": "a", "mini": "a", "from_zero": False},
                 {"target": "a/freq", "mini": "1", "from_zero": False}])
    scene = state([node("a", gain=0.2, muted=True), node("fx", FX), node("new", soloed=True)],
                  [send("a", "fx", 0.25), send("new", "fx", 1.0)],
                  [{"target": "a", "mini": "b", "from_zero": False}])
    plan = plan_recall(now, scene)
    cmds = [(c["cmd"], c.get("name") or (c.get("src"), c.get("dst"))) for c in plan.commands]
    assert cmds == [
        ("node_remove", "old"),
        ("node_set", "a"), ("node_set", "fx"), ("node_set", "new"),
        ("connect", ("a", "fx")), ("connect", ("new", "fx")),
        ("mute", "a"), ("solo", "new"),
        ("control_set", "a"),  # a/freq's pattern is hushed: its control goes back to the scene's value
    ]
    assert plan.commands[1]["gain"] == 0.2 and plan.commands[4]["level"] == 0.25
    assert plan.hush == ["a/freq"]


def test_a_changed_wiring_is_unsent_first():
    now = state([node("a"), node("fx", {**FX, "inputs": 2})], [send("a", "fx", 1.0)])
    wire = {"src": "a", "dst": "fx", "port": "in1", "level": 1.0, "send": False}
    plan = plan_recall(now, state(now["nodes"], [wire]))
    assert plan.commands[0] == {"cmd": "unsend", "src": "a", "dst": "fx"}
    assert plan.commands[-1] == {"cmd": "connect", "src": "a", "dst": "fx", "port": "in1"}


def test_fading_moves_gains_and_controls_into_fades():
    now = state([node("a")])
    scene = state([node("a", gain=0.1, controls={"freq": 880.0, "gate": 1.0}), node("b", gain=0.4)])
    plan = plan_recall(now, scene, fading=True)
    assert plan.fades == [("a/gain", 0.1), ("a/freq", 880.0), ("b/gain", 0.4)]
    set_a, set_b = plan.commands
    assert "gain" not in set_a and set_a["controls"] == {"gate": 1.0}  # a trigger jumps
    assert set_b["gain"] == 0.0  # a new node fades in from silence
