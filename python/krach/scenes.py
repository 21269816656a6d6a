"""Scenes and the session's state: ``kr.save``, ``kr.recall``, ``kr.scenes``, ``kr.pull``.

    kr.save("verse")          # the engine keeps a copy of the whole session
    ...                       # change anything
    kr.recall("verse")        # back to it: nodes, routes, gains, mutes, controls,
                              # patterns, automation, tempo, meter, master
    with kr.transition(bars=4):
        kr.recall("chorus")   # gains and controls fade there over 4 bars
    kr.scenes                 # ['chorus', 'verse']
    kr.pull()                 # rebuild this client's view from the engine

Scenes live in the engine, so every client sees the same ones. Recalling is
done here, from the scene's data: one engine ``batch`` for the nodes (nodes
not in the scene are removed, the scene's nodes are made or updated in
place), routes, gains, controls, mutes and solos; then tempo, meter and
master; then the patterns (targets the scene does not play are hushed, the
scene's patterns start at the next cycle boundary, those already playing go
on untouched) and the automations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from .changes import Changes, ir_key
from .errors import KrachError

State = dict[str, Any]
"""The engine's ``state`` reply (docs/protocol.md): bpm, beats, master, nodes, routes, patterns, automations."""

TRIGGERS = ("gate",)
"""Controls that jump even inside a transition: a trigger cannot fade."""


class Scenes(Changes):
    """Engine state, scenes and pull (mixed into `krach.session.Session`)."""

    def state(self) -> State:
        """The whole session as the engine has it (see ``state`` in docs/protocol.md)."""
        state: State = self.request("state")["state"]
        return state

    def save(self, name: str) -> None:
        """Store the session as it is now in the engine, as the scene `name` (replacing one of that name)."""
        self._write("scene_save", {"name": _scene_name(name, "kr.save")})

    @property
    def scenes(self) -> list[str]:
        """The names of the saved scenes."""
        return list(self.request("scenes")["scenes"])

    def recall(self, name: str) -> None:
        """Bring back the scene `name`, saved with ``kr.save``.

        Patterns and automations the scene does not have are hushed first.
        Then, as one engine batch: nodes not in the scene are removed; the
        scene's nodes are made or updated in place (a node whose synth is
        unchanged keeps running, so a reverb tail goes on); routes, gains,
        controls, mutes and solos are set. Then tempo, meter and master; then
        patterns: a pattern already playing as in the scene goes on
        untouched, the others start at the next cycle boundary; the scene's
        automations are restarted.

        Inside ``with kr.transition(bars=n):`` gains and controls of nodes
        that stay fade to the scene's values over `n` bars, and new nodes fade
        in from silence; removals, routes, mutes, tempo and master still
        change at once.
        """
        if self._batch is not None:
            raise RuntimeError("kr.recall inside kr.batch(): a recall is a batch of its own; call it outside")
        scene: State = self.request("scene_get", name=_scene_name(name, "kr.recall"))["state"]
        now = self.state()
        plan = plan_recall(now, scene, fading=self._fade_bars is not None)
        for warning in plan.warnings:
            warnings.warn(f"kr.recall({name!r}): {warning}", stacklevel=2)
        for target in plan.hush:
            self.request("hush", target=target)
        for command in plan.prelude:
            self.request(**command)
        if plan.commands:
            self.request("batch", timeout=120.0, commands=plan.commands)
        transport: dict[str, Any] = {}
        if scene["bpm"] != now["bpm"]:
            transport["bpm"] = scene["bpm"]
        if scene["beats"] != now["beats"]:
            transport["beats"] = scene["beats"]
        if transport:
            self.request("tempo", **transport)
        if scene["master"] != now["master"]:
            self.request("master", gain=scene["master"])
        for target, value in plan.fades:
            self.request("fade", target=target, value=value, bars=self._fade_bars)
        playing = self.state()
        for item in scene["patterns"]:
            if _pattern_key(item) not in {_pattern_key(p) for p in playing["patterns"]}:
                fields = {k: item[k] for k in ("pattern", "mini") if k in item}
                self.request("play", target=item["target"], from_zero=item["from_zero"], **fields)
        running = {_automation_key(a) for a in playing["automations"]}
        for auto in scene["automations"]:
            if _automation_key(auto) not in running:
                _restart_automation(self, auto)
        self.pull()

    def pull(self) -> State:
        """Rebuild this client's view of the session from the engine; return the engine's state.

        After a pull, ``kr["bass"]``, ``node.dsp``, ``kr.pattern("bass")``,
        ``kr.patterns`` and ``kr.export`` know every node and pattern, also
        those made by another client or before a REPL restart. Synths and
        patterns this session made keep their Python form; others are
        rebuilt from the engine's IR (`krach.signal.from_ir`,
        `krach.pattern.from_ir`).
        """
        state = self.state()
        self._dsps = {n["name"]: self._dsp_for(n["name"], n["ir"]) for n in state["nodes"] if n.get("ir")}
        self._patterns = {}
        for playing in state["patterns"]:
            self._patterns[playing["target"]] = self._pattern_for(playing)
        return state


@dataclass
class RecallPlan:
    """What recalling a scene sends: see `plan_recall`."""

    prelude: list[dict[str, Any]] = field(default_factory=list)
    """Commands sent one by one before the batch (audio input nodes, which a batch cannot make)."""
    commands: list[dict[str, Any]] = field(default_factory=list)
    """One engine batch: removals, nodes, routes, mutes and solos."""
    fades: list[tuple[str, float]] = field(default_factory=list)
    """``(target, value)``: the fades of a recall inside a transition."""
    hush: list[str] = field(default_factory=list)
    """Targets whose patterns or automations the scene does not have (hushed before the batch)."""
    warnings: list[str] = field(default_factory=list)


def plan_recall(now: State, scene: State, fading: bool = False) -> RecallPlan:
    """The changes that take the session from the state `now` to the state `scene`.

    With `fading`, gains and controls of nodes that stay (and the gains of new
    nodes, from 0) become `RecallPlan.fades` instead of values in the batch.
    """
    plan = RecallPlan()
    have = {n["name"]: n for n in now["nodes"]}
    want = {n["name"]: n for n in scene["nodes"]}
    kept = {name for name in want if name in have and have[name]["kind"] == want[name]["kind"]}
    made = {name for name, node in want.items() if name not in kept and _has_synth(node)}
    inputs = {name for name, node in want.items() if name not in kept and "channel" in node}
    for name in sorted(set(want) - kept - made - inputs):
        plan.warnings.append(f"node '{name}' is a {want[name]['kind']}, which a scene cannot recreate; skipped")
    for name in sorted(inputs):  # audio inputs cannot be made in a batch: before it
        if name in have:
            plan.prelude.append({"cmd": "node_remove", "name": name})
        gain = want[name]["gain"]
        plan.prelude.append({"cmd": "input_add", "name": name, "channel": want[name]["channel"],
                             "gain": 0.0 if fading else gain})
        if fading and gain != 0.0:
            plan.fades.append((f"{name}/gain", gain))
    made |= inputs

    # Routes between nodes that stay and whose wiring changed go first; a
    # removed node takes its routes with it.
    have_routes = _routes_by_pair(now["routes"])
    want_routes = _routes_by_pair(scene["routes"])
    rewired = set()
    for pair, routes in have_routes.items():
        if pair[0] in kept and pair[1] in kept and _wiring(routes) != _wiring(want_routes.get(pair, [])):
            plan.commands.append({"cmd": "unsend", "src": pair[0], "dst": pair[1]})
            rewired.add(pair)
    for name in have:
        if name not in kept and name not in inputs:
            plan.commands.append({"cmd": "node_remove", "name": name})

    for name, node in want.items():
        if name in kept or (name in made and name not in inputs):
            _set_node(plan, node, have.get(name) if name in kept else None, fading)

    for pair, routes in want_routes.items():
        if not {pair[0], pair[1]} <= kept | made:
            continue
        old = {(r["port"], r["send"]): r["level"] for r in have_routes.get(pair, [])}
        fresh = pair in rewired or not {pair[0], pair[1]} <= kept
        for route in routes:
            if fresh or old.get((route["port"], route["send"])) != route["level"]:
                plan.commands.append(_connect(route))

    for name in [n for n in want if n in kept or n in made]:
        node, before = want[name], have[name] if name in kept else {"muted": False, "soloed": False}
        if node["muted"] != before["muted"]:
            plan.commands.append({"cmd": "mute" if node["muted"] else "unmute", "name": name})
        if node["soloed"] != before["soloed"]:
            plan.commands.append({"cmd": "solo" if node["soloed"] else "unsolo", "name": name})

    # Patterns and automations on nodes that stay but that the scene does not have are
    # hushed. What they were moving stays where they left it on the audio thread, while
    # the engine's state keeps the value set before them: set the scene's values again.
    pattern_targets = {p["target"] for p in scene["patterns"]}
    auto_targets = {a["target"] for a in scene["automations"]}
    moved: dict[str, set[str]] = {}
    for target in [p["target"] for p in now["patterns"] if p["target"] not in pattern_targets] + \
                  [a["target"] for a in now["automations"] if a["target"] not in auto_targets]:
        node = _node_of(target, have)
        if node in kept:
            plan.hush.append(target)
            control = target[len(node) + 1:]
            moved.setdefault(node, set()).update([control] if control else want[node].get("controls", {}))
    for node, controls in moved.items():
        for control in sorted(controls - set(TRIGGERS)):
            value = want[node]["gain"] if control == "gain" else want[node].get("controls", {}).get(control)
            if value is None:
                continue
            if fading:
                plan.fades.append((f"{node}/{control}", value))
            elif control == "gain":
                plan.commands.append({"cmd": "node_gain", "name": node, "gain": value})
            else:
                plan.commands.append({"cmd": "control_set", "name": node, "control": control, "value": value})
    return plan


def _has_synth(node: dict[str, Any]) -> bool:
    """A node made from signal IR or from a FAUST file (``type``), which a batch can make."""
    return node.get("ir") is not None or "type" in node


def _set_node(plan: RecallPlan, node: dict[str, Any], before: dict[str, Any] | None, fading: bool) -> None:
    """Add what makes `node` (a scene's node) out of `before` (the node now, None if new) to `plan`."""
    name = node["name"]
    if before is not None and fading and before["gain"] != node["gain"]:
        plan.fades.append((f"{name}/gain", node["gain"]))
    if not _has_synth(node):  # a node without a synth (a test tone): only its gain
        if before is not None and not fading and before["gain"] != node["gain"]:
            plan.commands.append({"cmd": "node_gain", "name": name, "gain": node["gain"]})
        return
    command: dict[str, Any] = {"cmd": "node_set", "name": name, "count": node["count"]}
    if "type" in node:  # a FAUST file: the engine reads it again
        command["type"] = node["type"]
    else:
        command["ir"] = node["ir"]
        if "backend" in node:
            command["backend"] = node["backend"]
    controls = dict(node["controls"])
    if before is None:
        command["gain"] = 0.0 if fading else node["gain"]
        if fading and node["gain"] != 0.0:
            plan.fades.append((f"{name}/gain", node["gain"]))
    elif not fading:
        command["gain"] = node["gain"]
    else:
        old = before.get("controls", {})
        for control, value in node["controls"].items():
            if control not in TRIGGERS and control in old and old[control] != value:
                plan.fades.append((f"{name}/{control}", value))
                del controls[control]
    if controls:
        command["controls"] = controls
    plan.commands.append(command)


def _scene_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}: a scene name is a non-empty string, got {name!r}")
    return name


def _routes_by_pair(routes: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for route in routes:
        pairs.setdefault((route["src"], route["dst"]), []).append(route)
    return pairs


def _wiring(routes: list[dict[str, Any]]) -> set[tuple[str, bool]]:
    return {(r["port"], bool(r["send"])) for r in routes}


def _connect(route: dict[str, Any]) -> dict[str, Any]:
    command = {"cmd": "connect", "src": route["src"], "dst": route["dst"]}
    if route["send"]:
        command["level"] = route["level"]
    else:
        command["port"] = route["port"]
    return command


def _node_of(target: str, nodes: dict[str, Any]) -> str:
    """The node a pattern or automation target names (``"drums/kick/cutoff"`` -> ``"drums/kick"``)."""
    if target in nodes:
        return target
    return target.rpartition("/")[0]


def _pattern_key(playing: dict[str, Any]) -> tuple[str, str, bool]:
    source = ir_key({k: playing[k] for k in ("pattern", "mini") if k in playing})
    return playing["target"], source, bool(playing.get("from_zero"))


def _automation_key(auto: dict[str, Any]) -> str:
    return ir_key(auto)


def _restart_automation(session: Scenes, auto: dict[str, Any]) -> None:
    if auto["shape"] == "fade":
        session.request("fade", target=auto["target"], value=auto["value"], bars=auto["bars"])
    else:
        session.request("mod", target=auto["target"], shape=auto["shape"], lo=auto["lo"],
                        hi=auto["hi"], bars=auto["bars"])


__all__ = ["KrachError", "RecallPlan", "Scenes", "State", "plan_recall"]
