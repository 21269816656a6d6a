"""How a session sends its changes: at once, gathered into a batch, or as fades.

Every command that changes the session goes through `Changes._write`:

- normally it is sent at once;
- inside ``with kr.batch():`` the node, routing and mixing commands
  (``node_set node_remove node_gain control_set connect unsend mute unmute
  solo unsolo``) are gathered and sent, when the block ends, as **one** engine
  ``batch``: checked as a whole, applied at one block boundary, all or
  nothing. The other changes made inside (patterns, tempo, master, automation,
  scenes) are sent right after the batch, in the order they were made; they
  are not part of the all-or-nothing change. Reads (``kr.tempo``,
  ``node["cutoff"]``, ``kr.nodes``...) are answered at once and do not see
  the changes still waiting in the batch;
- inside ``with kr.transition(bars=n):`` every value set with ``kr.set``,
  ``kr[path] = v``, ``node[control] = v``, ``node.gain = v`` or
  ``kr.gain(name, v)`` becomes an engine ``fade`` over `n` bars (see
  `krach.session.Session.set`).

Batches and transitions do not nest or combine: opening one inside another
raises `RuntimeError`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .client import Client
from .errors import KrachError
from .pattern import Pattern, TimeLike, time_json, to_fraction
from .signal import Dsp

Done = Callable[[dict[str, Any]], None]
"""Called with the engine's reply to a command once it has been applied."""

BATCHABLE = frozenset({
    "node_set", "node_remove", "node_gain", "control_set", "connect", "unsend",
    "mute", "unmute", "solo", "unsolo",
})
"""The commands the engine's ``batch`` applies as one change (docs/protocol.md)."""

BATCH_TIMEOUT = 120.0
"""Seconds a batch may take: the engine compiles every synth in it before replying."""

NODE_SET_TIMEOUT = 60.0
"""Seconds a node_set may take: a FAUST compile may use its budget in the engine
(10 s), after the compiles of other clients queued before it."""


@dataclass
class _Batch:
    """What a ``kr.batch()`` block has gathered so far."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    done: list[Done | None] = field(default_factory=list)
    later: list[tuple[str, dict[str, Any], Done | None]] = field(default_factory=list)


def ir_key(ir: Any) -> str:
    """A canonical text for an IR (signal or pattern), to recognise one already seen."""
    return json.dumps(ir, sort_keys=True, separators=(",", ":"))


class Changes:
    """The part of the ``kr`` session that sends changes and mirrors what it sent.

    The mirror is small: which traced synth (`Dsp`) each node was given and
    which `Pattern` each target plays, so that ``node.dsp``, ``kr.pattern``
    and ``kr.export`` can show them as written. Everything else is asked
    from the engine when needed.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._dsps: dict[str, Dsp] = {}  # node name -> the synth it was given
        self._patterns: dict[str, Pattern] = {}  # target -> the pattern it plays
        self._known_dsps: dict[str, Dsp] = {}  # ir_key -> a synth this session traced
        self._known_patterns: dict[str, Pattern] = {}  # ir_key -> a pattern this session built
        self._batch: _Batch | None = None
        self._fade_bars: int | float | str | None = None  # inside kr.transition(bars=...)
        self.lifeline: Any = None
        """A `krach.lifeline.Lifeline` when the session survives engine deaths (the REPL's does)."""

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send a raw protocol command (docs/protocol.md) and return the reply."""
        if not isinstance(cmd, str):
            raise TypeError(f"kr.request: cmd must be a command name like 'ping', got {cmd!r}")
        if self.lifeline is not None:
            reply: dict[str, Any] = self.lifeline.request(cmd, timeout, fields)
            return reply
        return self.client.request(cmd, timeout=timeout, **fields)

    # -- sending changes -----------------------------------------------------

    def _write(self, cmd: str, fields: dict[str, Any], done: Done | None = None) -> dict[str, Any] | None:
        """Send the change `cmd`, or keep it for the open batch; `done` gets the reply.

        Returns the reply, or None when the change waits in a batch.
        """
        batch = self._batch
        if batch is None:
            wait = NODE_SET_TIMEOUT if cmd == "node_set" else None
            reply = self.request(cmd, timeout=wait, **fields)
            if done is not None:
                done(reply)
            return reply
        if cmd in BATCHABLE:
            batch.commands.append({"cmd": cmd, **fields})
            batch.done.append(done)
        else:
            batch.later.append((cmd, fields, done))
        return None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Make every node, routing and mixing change in the block one engine change.

        ::

            with kr.batch():
                k = kr.node("kick", kick, gain=0.8)
                verb = kr.node("verb", reverb_fx, gain=0.3)
                k >> (verb, 0.4)

        When the block ends the changes go to the engine as one ``batch``:
        every synth is compiled and every name, port and route checked first;
        only if all are valid is anything applied, at one block boundary (nodes
        made together start on the same sample). If one is not, `KrachError`
        names it and nothing changed. Handles (`Node`) made inside work as
        usual afterwards. Patterns, tempo and other changes made inside are
        sent just after the batch, in order. An exception inside the block
        sends nothing. Nesting raises `RuntimeError`.
        """
        self._refuse_nesting("kr.batch()")
        self._batch = _Batch()
        try:
            yield
            pending = self._batch
        finally:
            self._batch = None
        self._send_batch(pending)

    def _send_batch(self, batch: _Batch) -> None:
        if batch.commands:
            self._check_names(batch.commands)
            reply = self.request("batch", timeout=BATCH_TIMEOUT, commands=batch.commands)
            for answer, done in zip(reply["replies"], batch.done):
                if done is not None:
                    done(answer)
        for cmd, fields, done in batch.later:
            self._write(cmd, fields, done)

    def _check_names(self, commands: list[dict[str, Any]]) -> None:
        """Refuse a batch whose gain, mute or solo names no node or group it will have.

        The engine finds those only while applying the batch, after the nodes
        made before them in it exist; checking here keeps the batch all or
        nothing.
        """
        mixing = ("node_gain", "mute", "unmute", "solo", "unsolo")
        if not any(c["cmd"] in mixing and "name" in c for c in commands):
            return
        names = [n["name"] for n in self.request("nodes")["nodes"]]
        for index, command in enumerate(commands):
            name = command.get("name")
            if command["cmd"] == "node_set" and name not in names:
                names.append(name)
            elif command["cmd"] == "node_remove" and name in names:
                names.remove(name)
            elif command["cmd"] in mixing and name is not None:
                if not any(n == name or n.startswith(name + "/") for n in names):
                    known = ", ".join(f"'{n}'" for n in names) or "none"
                    raise KrachError(
                        "unknown_node",
                        f"batch command {index} ({command['cmd']}): unknown node or group '{name}' "
                        f"(known nodes: {known}); nothing was changed",
                    )

    @contextlib.contextmanager
    def transition(self, bars: TimeLike = 1) -> Iterator[None]:
        """Turn every value set in the block into a straight fade over `bars` cycles.

        ::

            with kr.transition(bars=4):
                kr.gain("drums", 0.2)        # fades over 4 bars
                bass["cutoff"] = 400         # glides there over 4 bars
                kr.recall("chorus")          # gains and controls fade

        Values set with ``kr.set``, ``kr[path] = v``, ``node[control] = v``,
        ``node.gain = v`` and ``kr.gain(name, v)`` (groups too) become engine
        fades. ``gate`` controls are triggers and still jump; everything else
        (new nodes, routes, mutes, patterns, tempo, master) happens at once.
        Nesting raises `RuntimeError`.
        """
        bars_json = positive_bars("kr.transition", bars)
        self._refuse_nesting("kr.transition()")
        self._fade_bars = bars_json
        try:
            yield
        finally:
            self._fade_bars = None

    def _refuse_nesting(self, what: str) -> None:
        inside = "kr.batch()" if self._batch is not None else "kr.transition()" if self._fade_bars is not None else None
        if inside is None:
            return
        if inside == what:
            raise RuntimeError(f"{what} inside {inside}: they do not nest; put everything in the outer one")
        raise RuntimeError(
            f"{what} inside {inside}: batches and transitions do not combine; "
            f"use one, then the other (kr.recall inside kr.transition() fades on its own)"
        )

    # -- the mirror ------------------------------------------------------------

    def _remember_dsp(self, name: str, dsp: Dsp) -> None:
        self._dsps[name] = dsp
        if dsp.fn is not None:
            self._known_dsps[ir_key(dsp.ir)] = dsp

    def _remember_pattern(self, target: str, pattern: Pattern) -> None:
        self._patterns[target] = pattern
        self._known_patterns.setdefault(ir_key(pattern.ir()), pattern)

    def _dsp_for(self, name: str, ir: dict[str, Any]) -> Dsp:
        """The synth this session knows for `ir` (traced here), else one made from the IR."""
        known = self._known_dsps.get(ir_key(ir))
        return known if known is not None else Dsp.from_ir(ir, name)

    def _pattern_for(self, playing: dict[str, Any]) -> Pattern:
        """The `Pattern` for a ``state`` pattern entry: one this session built, else from its IR or text."""
        from . import pattern as krp

        if "mini" in playing:
            return krp.p(playing["mini"])
        known = self._known_patterns.get(ir_key(playing["pattern"]))
        return known if known is not None else krp.from_ir(playing["pattern"])


def positive_bars(where: str, bars: TimeLike) -> int | float | str:
    """`bars` as a wire time, refusing zero and negative spans."""
    if to_fraction(bars, where, "bars") <= 0:
        raise ValueError(f"{where}: 'bars' is {bars!r}; it must be greater than 0")
    return time_json(bars, where, "bars")
