"""Routing and mixing: the part of ``kr`` that connects nodes and sets who is heard.

    bass >> verb                     # send bass into the reverb at unity
    bass >> (verb, 0.4)              # ... at 0.4 (again: the level moves, nothing restarts)
    kick >> comp >> verb             # a chain: `>>` returns its target
    kr.connect("bass", "verb", level=0.4)
    kr.connect("lfo", "ring", port="in1")   # a direct wire into the effect's second input
    kr.unsend("bass", "verb")
    kr.mute("drums"); kr.unmute("drums")    # a group: every node named drums/...
    kr.solo("bass"); kr.unsolo()

The dry signal of every node always reaches the master; a send is a parallel
copy, taken after the node's gain and mute. The engine refuses a connection
that would close a loop (``routing_cycle``) and a connection into a node
without audio inputs (``unknown_port``: the target is a source; an effect is a
synth whose function takes ``inp: krs.Signal``). Its errors arrive as
`KrachError` with the engine's message.

A name with ``/`` puts a node in a group: ``drums/kick`` and ``drums/hat``
are the group ``drums``, and ``kr.gain``, ``kr.mute``, ``kr.solo`` and
``kr.hush`` given ``"drums"`` act on all of them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .changes import Changes
from .node import Node


class Routing(Changes):
    """Routes, mute and solo (mixed into `krach.session.Session`)."""

    def connect(self, src: str | Node, dst: str | Node, level: float = 1.0, port: str | None = None) -> None:
        """Send a copy of `src`'s output into the effect `dst`.

        Without `port` it is a send: `level` (0-4) scales the copy, which is
        added to `dst`'s first input; connecting the same pair again changes
        the level smoothly and rebuilds nothing. With ``port="in1"`` (``in0``,
        ``in1``, ...) the signal is wired straight into that input at unity.
        ``src >> dst`` and ``src >> (dst, level)`` are the short forms.
        """
        fields: dict[str, Any] = {"src": node_name(src, "kr.connect", "src"),
                                  "dst": node_name(dst, "kr.connect", "dst")}
        if port is None:
            fields["level"] = _level(level)
        else:
            if not isinstance(port, str):
                raise TypeError(f"kr.connect: port must be a name like 'in1', got {type(port).__name__}")
            if level != 1.0:
                raise ValueError("kr.connect: a port wire has no level (it is unity); give level or port, not both")
            fields["port"] = port
        self._write("connect", fields)

    def unsend(self, src: str | Node, dst: str | Node) -> None:
        """Remove every connection from `src` into `dst` (sends and port wires)."""
        self._write("unsend", {"src": node_name(src, "kr.unsend", "src"),
                               "dst": node_name(dst, "kr.unsend", "dst")})

    @property
    def routing(self) -> list[dict[str, Any]]:
        """Every connection: ``{"src", "dst", "port", "level", "send"}`` (``send`` false for a port wire)."""
        return list(self.request("routing")["routes"])

    @property
    def sources(self) -> list[str]:
        """The names of the nodes without audio inputs (synths, test tones)."""
        return [n["name"] for n in self.request("nodes")["nodes"] if not n.get("inputs")]

    @property
    def effects(self) -> list[str]:
        """The names of the nodes with audio inputs (effects: their function takes ``inp``)."""
        return [n["name"] for n in self.request("nodes")["nodes"] if n.get("inputs")]

    # -- mixing ------------------------------------------------------------------

    def mute(self, name: str | Node) -> None:
        """Silence a node or a group (its dry signal and its sends), with a 20 ms fade."""
        self._write("mute", {"name": node_name(name, "kr.mute")})

    def unmute(self, name: str | Node) -> None:
        """Let a muted node or group be heard again."""
        self._write("unmute", {"name": node_name(name, "kr.unmute")})

    def solo(self, name: str | Node) -> None:
        """Solo a node or a group: while anything is soloed, only soloed nodes and the
        effects they feed are heard. Several solos add up."""
        self._write("solo", {"name": node_name(name, "kr.solo")})

    def unsolo(self, name: str | Node | None = None) -> None:
        """End the solo of a node or group; without a name, end every solo."""
        fields = {} if name is None else {"name": node_name(name, "kr.unsolo")}
        self._write("unsolo", fields)


def node_name(what: object, where: str, arg: str = "name") -> str:
    """The node name `what` stands for: a name, or a `Node` handle."""
    if isinstance(what, Node):
        return what.name
    if isinstance(what, str) and what:
        return what
    raise TypeError(f"{where}: '{arg}' must be a node name or a node (kr.node(...)), got {what!r}")


def _level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not math.isfinite(float(level)):
        raise TypeError(f"a send level must be a number from 0 to 4, got {level!r}")
    value = float(level)
    if not 0.0 <= value <= 4.0:
        raise ValueError(f"a send level must be 0 to 4, got {value:g}")
    return value
