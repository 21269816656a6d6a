"""The session object, bound as ``kr`` in the REPL and in session files.

`Session` wraps one `Client` and offers what the engine can do so far: the
master gain, status, a sine test tone (`Tone`), DSP nodes made from synth
functions (`Session.node`, returning a `Node`), their controls and gains,
offline rendering and shutdown. Later milestones add patterns, routing and the
transport on this base.
"""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

from .client import Client
from .errors import KrachError
from .node import GAIN, Node
from .signal import Dsp

RENDER_TIMEOUT_BASE = 60.0
"""Seconds a render may take beyond one second per second of audio."""


class Tone:
    """A built-in sine test tone on the engine (see `Session.tone`).

    ``freq`` and ``gain`` are live: setting them changes the sound (smoothed by
    the engine, so it never clicks). Reading them gives the last value sent.
    """

    def __init__(self, session: Session, name: str, freq: float, gain: float) -> None:
        self._session = session
        self.name = name
        self._freq = float(freq)
        self._gain = float(gain)

    @property
    def freq(self) -> float:
        """Frequency in Hz (0 < freq < sample_rate / 2)."""
        return self._freq

    @freq.setter
    def freq(self, value: float) -> None:
        self._session.request("tone_set", name=self.name, freq=value)
        self._freq = float(value)

    @property
    def gain(self) -> float:
        """Peak amplitude, 0-1."""
        return self._gain

    @gain.setter
    def gain(self, value: float) -> None:
        self._session.request("tone_set", name=self.name, gain=value)
        self._gain = float(value)

    def remove(self) -> None:
        """Stop the tone and free its name."""
        self._session.request("tone_remove", name=self.name)

    def __repr__(self) -> str:
        return f"Tone({self.name!r}, freq={self._freq:g}, gain={self._gain:g})"


class Session:
    """The ``kr`` object: a musician's view of one engine connection."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._dsps: dict[str, Dsp] = {}  # what this session gave each node, for export

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send a raw protocol command (docs/protocol.md) and return the reply."""
        return self.client.request(cmd, timeout=timeout, **fields)

    # -- engine ------------------------------------------------------------

    def ping(self) -> float:
        """Round-trip time to the engine, in seconds."""
        start = time.perf_counter()
        self.request("ping")
        return time.perf_counter() - start

    def status(self) -> dict[str, Any]:
        """Engine status: version, backend, device, sample rate, load, xruns, nodes..."""
        reply = self.request("status")
        reply.pop("id", None)
        reply.pop("ok", None)
        return reply

    @property
    def master(self) -> float:
        """The master gain (0-4); setting it fades there in 20 ms."""
        return float(self.request("master")["gain"])

    @master.setter
    def master(self, gain: float) -> None:
        self.request("master", gain=gain)

    # -- sound -------------------------------------------------------------

    def tone(self, name: str = "tone", freq: float = 440.0, gain: float = 0.5) -> Tone:
        """Start a sine test tone called `name`, or retune it if it already plays.

        Re-running the same line with new values changes the running tone, the
        way a live-coded line should.
        """
        try:
            self.request("tone_add", name=name, freq=freq, gain=gain)
        except KrachError as err:
            if err.code != "exists":
                raise
            self.request("tone_set", name=name, freq=freq, gain=gain)
        return Tone(self, name, freq, gain)

    # -- nodes -------------------------------------------------------------

    def dsp(self, fn: Callable[..., Any] | Dsp) -> Dsp:
        """Trace the synth function `fn` once; the `Dsp` can be given to `node` many times."""
        return fn if isinstance(fn, Dsp) else Dsp(fn)

    def node(self, name: str, fn: Callable[..., Any] | Dsp, /, gain: float | None = None,
             **init: float) -> Node:
        """Play the synth function (or `Dsp`) `fn` as the node `name`; return its `Node`.

        A new node starts at `gain` (default 0.5). Running this again for an
        existing name swaps the sound in place with a short crossfade, keeping
        control values and, unless `gain` is given, the gain. Keyword
        arguments set controls: ``kr.node("bass", bass, cutoff=1200)``. If
        the function fails to trace or the engine cannot compile it, the
        error is raised and the old sound keeps playing.
        """
        if not isinstance(name, str):
            raise TypeError(f"kr.node: the name must be a string, got {type(name).__name__}")
        dsp = self.dsp(fn)
        controls = _initial_controls(dsp, name, init)
        fields: dict[str, Any] = {"name": name, "ir": dsp.ir}
        if gain is not None:
            fields["gain"] = gain
        if controls:
            fields["controls"] = controls
        self.request("node_set", **fields)
        self._dsps[name] = dsp
        return Node(self, name)

    def remove(self, name: str) -> None:
        """Remove the node `name` (any kind, test tones too)."""
        self.request("node_remove", name=name)
        self._dsps.pop(name, None)

    def gain(self, name: str, value: float | None = None) -> float:
        """The output gain of node `name` (0-4); with `value`, fade it there over 20 ms first."""
        if value is None:
            reply = self.request("node_gain", name=name)
        else:
            reply = self.request("node_gain", name=name, gain=value)
        return float(reply["gain"])

    def set(self, path: str, value: float) -> None:
        """Set a control by path: ``kr.set("bass/cutoff", 1200)``; ``"bass/gain"`` is the node's gain.

        A value outside the control's range is clamped, with a warning.
        """
        node, control = _split_path(path)
        Node(self, node)._set(control, value, stacklevel=3)

    def __getitem__(self, key: str) -> Any:
        """``kr["bass"]`` is the node's `Node`; ``kr["bass/cutoff"]`` a control's current value."""
        node, control = self._resolve(key)
        if control is None:
            return Node(self, node)
        return Node(self, node)[control]

    def __setitem__(self, path: str, value: float) -> None:
        """``kr["bass/cutoff"] = 1200``: the same as `set`."""
        node, control = _split_path(path)
        Node(self, node)._set(control, value, stacklevel=3)

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """Every node on the engine: name, kind, gain, inputs, outputs and controls with values."""
        return list(self.request("nodes")["nodes"])

    def _resolve(self, key: str) -> tuple[str, str | None]:
        """Split `key` into (node, control or None), preferring a whole-name match (groups use ``/``)."""
        if not isinstance(key, str):
            raise TypeError(f"kr[...] takes a node name or a 'node/control' path, got {type(key).__name__}")
        found = _match(key, self._dsps)
        if found is not None:
            return found
        names = {n["name"] for n in self.nodes}  # nodes this session did not make, or made before
        found = _match(key, names)
        if found is not None:
            return found
        known = ", ".join(sorted(names)) or "none"
        missing = key.rpartition("/")[0] or key
        raise KrachError("unknown_node", f"unknown node '{missing}'; known nodes: {known}. Create it with kr.node()")

    def render(
        self,
        path: str | os.PathLike[str] | None = None,
        seconds: float | None = None,
        frames: int | None = None,
        *,
        subtype: str | None = None,
        append: bool = False,
    ) -> dict[str, Any]:
        """Advance an offline engine by `seconds` or `frames`, writing them to `path`.

        The format follows the extension (.wav, .flac, .aiff, .ogg); `subtype`
        is ``float``, ``pcm16`` or ``pcm24``; `append` adds to an existing file.
        Returns the reply: ``frames``, ``path`` and ``position`` (the engine's
        frame clock after the render). Live engines answer ``not_offline``.
        """
        fields: dict[str, Any] = {}
        if path is not None:
            fields["path"] = os.path.abspath(os.fspath(path))  # the engine has its own cwd
        if seconds is not None:
            fields["seconds"] = seconds
        if frames is not None:
            fields["frames"] = frames
        if subtype is not None:
            fields["subtype"] = subtype
        if append:
            fields["append"] = True
        # Allow real-time speed and more; frames are counted at a low 8 kHz.
        audio = seconds if isinstance(seconds, (int, float)) else 0.0
        if isinstance(frames, int):
            audio = frames / 8000.0
        timeout = RENDER_TIMEOUT_BASE + max(0.0, float(audio))
        reply = self.request("render", timeout=timeout, **fields)
        reply.pop("id", None)
        reply.pop("ok", None)
        return reply

    # -- ending ------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the engine (it replies, then exits) and close this connection."""
        try:
            self.request("shutdown")
        finally:
            self.client.close()

    def close(self) -> None:
        """Close this connection; the engine keeps playing."""
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<krach session on {self.client.address}>"


def _match(key: str, names: Any) -> tuple[str, str | None] | None:
    """`key` as (node, None) or (node, control) if `names` holds the node, else None."""
    if key in names:
        return key, None
    node, _, control = key.rpartition("/")
    if node in names and control:
        return node, control
    return None


def _split_path(path: str) -> tuple[str, str]:
    if not isinstance(path, str):
        raise TypeError(f"a control path is a string like 'bass/cutoff', got {type(path).__name__}")
    node, _, control = path.rpartition("/")
    if not node or not control:
        raise ValueError(f"bad control path {path!r}: write 'node/control', e.g. 'bass/cutoff' or 'bass/{GAIN}'")
    return node, control


def _initial_controls(dsp: Dsp, name: str, init: dict[str, Any]) -> dict[str, float]:
    """Check `kr.node`'s control keywords against the synth's controls; clamp (with a warning)."""
    values: dict[str, float] = {}
    for key, value in init.items():
        ctl = dsp.control(key)
        if ctl is None:
            known = ", ".join(c.name for c in dsp.controls) or "none"
            raise KrachError(
                "unknown_control",
                f"kr.node({name!r}): {dsp.name}() has no control '{key}'; its controls: {known}",
            )
        if not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            raise ValueError(f"kr.node({name!r}): control '{key}' must be a finite number, got {value!r}")
        number = min(max(float(value), ctl.lo), ctl.hi)
        if number != float(value):
            warnings.warn(
                f"{name}/{key}: {value!r} is outside {ctl.lo:g}..{ctl.hi:g}; clamped to {number:g}",
                stacklevel=3,
            )
        values[key] = number
    return values
