"""The session object, bound as ``kr`` in the REPL and in session files.

`Session` wraps one `Client` and offers what the engine can do: the master
gain, status, a sine test tone (`Tone`), DSP nodes made from synth functions
(`Session.node`, returning a `Node`), their controls and gains, patterns
(`play`, `hush`, `stop`, ``node @ pattern``, and every `krach.pattern` builder
as ``kr.<name>``), the transport (`tempo`, `meter`, `wait`), automation
(`mod`, `fade`), offline rendering and shutdown. Its other parts live in their
own modules: how changes are sent, batched and faded (`krach.changes`:
``kr.batch()``, ``kr.transition()``), routing and mixing (`krach.routing`),
scenes and pull (`krach.scenes`) and session files (`krach.files`:
``kr.export``, ``kr.load``).
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import events as _events
from . import files as _files
from . import pattern as krp
from .changes import positive_bars
from .client import Client
from .errors import KrachError
from .events import Event
from .node import GAIN, Node
from .pattern import Pattern, TimeLike, time_json, to_fraction, wire_fields
from .routing import Routing, node_name
from .scenes import TRIGGERS, Scenes
from .signal import Dsp

RenderSink = Callable[[Mapping[str, Any]], None]
"""Receives what `Session.wait` asks an offline engine to render: ``{"cycles": t}`` or ``{"seconds": s}``."""

MOD_SHAPES = ("sine", "tri", "ramp", "square")

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


class Session(Scenes, Routing):
    """The ``kr`` object: a musician's view of one engine connection."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        # Engine events (a node silenced for NaN output, ...) arrive between
        # replies and are printed as one line each.
        if isinstance(client, Client):
            client.subscribe(_print_event)
        self._offline: bool | None = None  # the engine's backend, once asked
        self.debug = False
        """True: the REPL shows krach's own frames in tracebacks too (``KRACH_DEBUG=1`` does the same)."""
        self.render_sink: RenderSink | None = None
        """Where `wait` sends the spans to render on an offline engine (``krach render`` sets it);
        None renders them without writing a file."""

    # -- pattern builders: kr.hit(), kr.seq(), ... are krach.pattern's ------

    hit = staticmethod(krp.hit)
    note = staticmethod(krp.note)
    seq = staticmethod(krp.seq)
    rest = staticmethod(krp.rest)
    p = staticmethod(krp.p)
    sine = staticmethod(krp.sine)
    tri = staticmethod(krp.tri)
    ramp = staticmethod(krp.ramp)
    ramp_down = staticmethod(krp.ramp_down)
    square = staticmethod(krp.square)
    exp = staticmethod(krp.exp)
    rand = staticmethod(krp.rand)
    cat = staticmethod(krp.cat)
    stack = staticmethod(krp.stack)
    struct = staticmethod(krp.struct)

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
        self._write("master", {"gain": _finite("kr.master", gain, "gain")})

    # -- sound -------------------------------------------------------------

    def tone(self, name: str = "tone", freq: float = 440.0, gain: float = 0.5) -> Tone:
        """Start a sine test tone called `name`, or retune it if it already plays.

        Re-running the same line with new values changes the running tone, the
        way a live-coded line should.
        """
        _text("kr.tone", name, "name", "a name like 'tone'")
        freq, gain = _finite("kr.tone", freq, "freq"), _finite("kr.tone", gain, "gain")
        try:
            self.request("tone_add", name=name, freq=freq, gain=gain)
        except KrachError as err:
            if err.code != "exists":
                raise
            self.request("tone_set", name=name, freq=freq, gain=gain)
        return Tone(self, name, freq, gain)

    # -- nodes -------------------------------------------------------------

    def dsp(self, fn: Callable[..., Any] | Dsp) -> Dsp:
        """Trace the synth function `fn` once; the `Dsp` can be given to `node` many times.

        Its ``faust`` property is the synth as a FAUST program, written by this
        session's engine.
        """
        dsp = fn if isinstance(fn, Dsp) else Dsp(fn)
        dsp.session = self
        return dsp

    def node(self, name: str, fn: Callable[..., Any] | Dsp | str, /, gain: float | None = None,
             count: int | None = None, backend: str | None = None, **init: float) -> Node:
        """Play the synth function (or `Dsp`) `fn` as the node `name`; return its `Node`.

        A new node starts at `gain` (default 0.5). Running this again for an
        existing name swaps the sound in place with a short crossfade, keeping
        control values and, unless `gain` is given, the gain. Keyword
        arguments set controls: ``kr.node("bass", bass, cutoff=1200)``.
        `count` > 1 makes the node polyphonic: that many voices, so chords
        (``kr.note("A4", "C5", "E5")``) sound whole; a replacement keeps the
        voice count unless `count` is given. If the function fails to trace or
        the engine cannot compile it, the error is raised and the old sound
        keeps playing.

        `fn` may also be ``"faust:NAME"``: the FAUST program NAME.dsp in the
        engine's FAUST folder (~/.krach/dsp), recompiled whenever the file is
        saved. `backend` chooses the compiler for a synth function: ``"auto"``
        (native, or FAUST when it uses ``krs.faust_expr``), ``"native"`` or
        ``"faust"``.
        """
        if not isinstance(name, str):
            raise TypeError(f"kr.node: the name must be a string, got {type(name).__name__}")
        fields: dict[str, Any] = {"name": name}
        dsp: Dsp | None = None
        if isinstance(fn, str):
            if not fn.startswith("faust:") or not fn[6:]:
                raise ValueError(f"kr.node({name!r}, {fn!r}): a node type is 'faust:NAME' (the file NAME.dsp "
                                 "in the engine's FAUST folder); otherwise pass a synth function")
            if backend is not None:
                raise ValueError(f"kr.node({name!r}, {fn!r}): a FAUST file always uses the FAUST backend; drop backend=")
            fields["type"] = fn
            controls = {key: _finite(f"kr.node({name!r})", value, key) for key, value in init.items()}
        else:
            dsp = self.dsp(fn)
            controls = _initial_controls(dsp, name, init)
            fields["ir"] = dsp.ir
            if backend is not None:
                if not isinstance(backend, str):
                    raise TypeError(f"kr.node({name!r}): backend must be 'auto', 'native' or 'faust', got {backend!r}")
                if backend not in ("auto", "native", "faust"):
                    raise ValueError(f"kr.node({name!r}): backend must be 'auto', 'native' or 'faust', got {backend!r}")
                fields["backend"] = backend
        if gain is not None:
            fields["gain"] = _finite(f"kr.node({name!r})", gain, "gain")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int):
                raise TypeError(f"kr.node: count must be a whole number of voices from 1 to 64, got {count!r}")
            if not 1 <= count <= 64:
                raise ValueError(f"kr.node: count must be a whole number of voices from 1 to 64, got {count!r}")
            fields["count"] = count
        if controls:
            fields["controls"] = controls
        if dsp is not None:
            made = dsp
            self._write("node_set", fields, done=lambda reply: self._remember_dsp(name, made))
        else:
            self._write("node_set", fields, done=lambda reply: self._dsps.pop(name, None))
        return Node(self, name)

    def input(self, name: str, channel: int = 0, gain: float | None = None) -> Node:
        """A source node playing audio input `channel` (0 = the first), routable like any node.

        A new input starts at `gain` (default 0.5). Running this again for an
        existing input (re-running the line, loading an export again) changes
        it in place, like `node`: the channel, and the gain when given; its
        routes, mute and solo stay. Silent, with a warning, when the engine
        has no audio input (a machine without a sound device, or an offline
        render).
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"kr.input: the name must be a non-empty string, got {name!r}")
        if isinstance(channel, bool) or not isinstance(channel, numbers.Integral):
            raise TypeError(f"kr.input: channel must be a whole number (0 = the first input), got {channel!r}")
        fields: dict[str, Any] = {"name": name, "channel": int(channel)}
        if gain is not None:
            fields["gain"] = _finite("kr.input", gain, "gain")
        reply = self.request("input_add", **fields)
        if "warning" in reply:
            warnings.warn(f"kr.input('{name}'): {reply['warning']}", stacklevel=2)
        return Node(self, name)

    def record(self, path: str | os.PathLike[str], subtype: str | None = None) -> None:
        """Record the master output to a sound file (live or offline) until `record_stop`.

        Over TCP `path` is a name inside the engine's files folder (``take.wav``);
        other paths raise `KrachError` ``forbidden``. A FIFO or device raises ``io_error``.
        """
        fields: dict[str, Any] = {"path": self._engine_path(path)}
        if subtype is not None:
            fields["subtype"] = _text("kr.record", subtype, "subtype", "'float', 'pcm16' or 'pcm24'")
        self.request("record", **fields)

    def _engine_path(self, path: str | os.PathLike[str]) -> str:
        """`path` as the engine takes it: absolute for a local engine (it has its own
        working directory); as given for a TCP engine, which writes only inside its
        files folder (``--files-dir``) and refuses absolute paths with ``forbidden``."""
        if isinstance(self.client, Client) and self.client.is_tcp:
            return os.fspath(path)
        return os.path.abspath(os.fspath(path))

    def record_stop(self) -> dict[str, Any]:
        """Stop recording; returns the file's ``path``, its ``frames`` and any ``dropped``."""
        reply = self.request("record_stop")
        return {key: reply[key] for key in ("path", "frames", "dropped")}

    def remove(self, name: str | Node) -> None:
        """Remove the node `name` (any kind, test tones too), or every node of the group `name`;
        their routes and patterns go with them."""
        node = node_name(name, "kr.remove")

        def forget(reply: dict[str, Any]) -> None:
            for removed in reply.get("nodes", [node]):
                self._dsps.pop(removed, None)
            for target in list(self._patterns):
                if target == node or target.startswith(node + "/"):
                    del self._patterns[target]

        self._write("node_remove", {"name": node}, done=forget)

    def gain(self, name: str | Node, value: float | None = None) -> float:
        """The output gain of node or group `name` (0-4); with `value`, set it first.

        A gain change is smoothed over 20 ms; inside ``kr.transition(bars=n)``
        it fades over n bars. A group (``"drums"`` for ``drums/kick``,
        ``drums/hat``...) sets every node in it and reads the first one.
        """
        name = node_name(name, "kr.gain")
        if value is None:
            return float(self.request("node_gain", name=name)["gain"])
        value = _finite("kr.gain", value, "value")
        if self._fade_bars is not None:
            self._fade_value(name, GAIN, value)
            return float(value)
        reply = self._write("node_gain", {"name": name, "gain": value})
        return float(reply["gain"]) if reply is not None else float(value)

    def set(self, path: str, value: float) -> None:
        """Set a control by path: ``kr.set("bass/cutoff", 1200)``; ``"bass/gain"`` is the node's gain.

        A value outside the control's range is clamped, with a warning.
        Inside ``kr.transition(bars=n)`` the value is reached by a straight
        fade over n bars (``gate`` still jumps: it is a trigger).
        """
        node, control = _split_path(path)
        self._set_value(node, control, value, stacklevel=3)

    def _set_value(self, node: str, control: str, value: float, stacklevel: int) -> None:
        """Set `control` of `node` (``gain`` is the output gain), as a fade inside a transition."""
        _text(f"{node}[...]", control, "control", "a control name like 'cutoff'")
        value = _finite(f"{node}/{control}", value)
        if self._fade_bars is not None and control not in TRIGGERS:
            self._fade_value(node, control, value)
            return
        if control == GAIN:
            self._write("node_gain", {"name": node, "gain": value})
            return

        def warn(reply: dict[str, Any]) -> None:
            if reply.get("clamped"):
                warnings.warn(
                    f"{node}/{control}: {value!r} is outside the control's range; "
                    f"clamped to {reply.get('value')!r}",
                    stacklevel=stacklevel + 2,
                )

        self._write("control_set", {"name": node, "control": control, "value": value}, done=warn)

    def _fade_value(self, name: str, control: str, value: float) -> None:
        """The fades a transition makes of a value set: one per node of a group for a gain."""
        number = float(_finite("kr.transition", value))
        nodes = self.nodes
        if control == GAIN:
            if not 0.0 <= number <= 4.0:
                raise ValueError(f"{name}: a gain is 0 to 4, got {number:g}")
            members = [n["name"] for n in nodes if n["name"] == name or n["name"].startswith(name + "/")]
            if not members:
                known = ", ".join(n["name"] for n in nodes) or "none"
                raise KrachError("unknown_node", f"unknown node or group '{name}' (known nodes: {known})")
            for member in members:
                self._write("fade", {"target": f"{member}/{GAIN}", "value": number, "bars": self._fade_bars})
            return
        node = next((n for n in nodes if n["name"] == name), None)
        ctl = next((c for c in (node or {}).get("controls", []) if c["name"] == control), None)
        if ctl is not None and not ctl["lo"] <= number <= ctl["hi"]:
            clamped = min(max(number, ctl["lo"]), ctl["hi"])
            warnings.warn(f"{name}/{control}: {value!r} is outside {ctl['lo']:g}..{ctl['hi']:g}; "
                          f"clamped to {clamped:g}", stacklevel=4)
            number = clamped
        self._write("fade", {"target": f"{name}/{control}", "value": number, "bars": self._fade_bars})

    def __getitem__(self, key: str) -> Any:
        """``kr["bass"]`` is the node's `Node`; ``kr["bass/cutoff"]`` a control's current value."""
        node, control = self._resolve(key)
        if control is None:
            return Node(self, node)
        return Node(self, node)[control]

    def __setitem__(self, path: str, value: float) -> None:
        """``kr["bass/cutoff"] = 1200``: the same as `set`."""
        node, control = _split_path(path)
        self._set_value(node, control, value, stacklevel=3)

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """Every node on the engine: name, kind, gain, inputs, outputs and controls with values."""
        return list(self.request("nodes")["nodes"])

    def _resolve(self, key: str) -> tuple[str, str | None]:
        """Split `key` into (node, control or None), preferring a whole-name match (groups use ``/``)."""
        if not isinstance(key, str):
            raise TypeError(f"kr[...] takes a node name or a 'node/control' path, got {type(key).__name__}")
        pending = {c["name"] for c in self._batch.commands if c["cmd"] == "node_set"} if self._batch else set()
        found = _match(key, self._dsps.keys() | pending)  # pending: made in the open kr.batch()
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
        cycles: TimeLike | None = None,
        subtype: str | None = None,
        append: bool = False,
    ) -> dict[str, Any]:
        """Advance an offline engine by `seconds`, `frames` or `cycles`, writing them to `path`.

        `cycles` renders up to the sample where the cycle position has moved
        by exactly that much (at the tempo in force). The format follows the
        extension (.wav, .flac, .aiff, .ogg); `subtype` is ``float``,
        ``pcm16`` or ``pcm24``; `append` adds to an existing file. Returns the
        reply: ``frames``, ``path`` and ``position`` (the engine's frame clock
        after the render). Live engines answer ``not_offline``. Over TCP `path`
        is a name inside the engine's files folder, as for `record`.
        """
        self._refuse_in_batch("kr.render")
        if seconds is not None:
            _finite("kr.render", seconds, "seconds")
        if frames is not None and (isinstance(frames, bool) or not isinstance(frames, numbers.Integral)):
            raise TypeError(f"kr.render: 'frames' must be a whole number of samples, got {frames!r}")
        if subtype is not None:
            _text("kr.render", subtype, "subtype", "'float', 'pcm16' or 'pcm24'")
        if not isinstance(append, bool):
            raise TypeError(f"kr.render: 'append' must be True or False, got {append!r}")
        fields: dict[str, Any] = {}
        if path is not None:
            fields["path"] = self._engine_path(path)
        if seconds is not None:
            fields["seconds"] = seconds
        if frames is not None:
            fields["frames"] = frames
        if cycles is not None:
            fields["cycles"] = time_json(cycles, "kr.render", "cycles")
        if subtype is not None:
            fields["subtype"] = subtype
        if append:
            fields["append"] = True
        # Allow real-time speed and more; frames are counted at a low 8 kHz.
        audio = seconds if isinstance(seconds, (int, float)) else 0.0
        if isinstance(frames, int):
            audio = frames / 8000.0
        if cycles is not None:
            audio = float(to_fraction(cycles, "kr.render", "cycles")) * 60.0  # a bar at 4 BPM and 4/4
        timeout = RENDER_TIMEOUT_BASE + max(0.0, float(audio))
        reply = self.request("render", timeout=timeout, **fields)
        reply.pop("id", None)
        reply.pop("ok", None)
        return reply

    # -- patterns ----------------------------------------------------------

    def play(self, target: str, pattern: Pattern | str | None, from_zero: bool = False,
             swing: TimeLike | None = None) -> Pattern | None:
        """Play `pattern` on `target` from the next cycle boundary; return the pattern.

        `target` is a node (``"bass"``: notes and hits drive its ``gate``,
        ``freq`` and the other controls an event carries) or one control
        (``"bass/cutoff"``: the pattern's values set it). `pattern` is a
        `Pattern` or mini-notation (``"A2 D3 ~ E2"``); ``None`` hushes the
        target. With `from_zero` the pattern's own cycle 0 falls on that
        boundary; otherwise it follows the global cycle count. `swing` (0.5-0.99)
        plays ``pattern.swing(swing)``. ``node @ pattern`` is the short form.
        """
        if not isinstance(target, str) or not target:
            raise TypeError(f"kr.play: the target must be a name like 'bass' or 'bass/cutoff', got {target!r}")
        if pattern is None:
            self.hush(target)
            return None
        if isinstance(pattern, str):
            sent: Pattern | str = pattern
            mirror = krp.p(pattern)
        elif isinstance(pattern, Pattern):
            sent = mirror = pattern
        else:
            raise TypeError(
                f"kr.play: the pattern must be a pattern (kr.seq(...), kr.hit() * 4, ...), "
                f"mini-notation or None, got {type(pattern).__name__}"
            )
        if not isinstance(from_zero, bool):
            hint = ""
            if isinstance(from_zero, Pattern) and isinstance(pattern, str):
                hint = (f": to play a pattern on the control '{pattern}', write "
                        f"{target} @ ('{pattern}', pattern) or kr.play('{target}/{pattern}', pattern)")
            raise TypeError(f"kr.play: from_zero must be True or False, got {type(from_zero).__name__}{hint}")
        if swing is not None:
            sent = mirror = mirror.swing(swing)
        fields = {"target": target, **wire_fields(sent, "kr.play")}
        if from_zero:
            fields["from_zero"] = True
        self._write("play", fields, done=lambda reply: self._remember_pattern(target, mirror))
        return mirror

    def hush(self, name: str) -> None:
        """Stop the patterns and automation on `name` (a node, ``"node/control"`` or a group) and release its gates."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"kr.hush: give a node, control path or group name, got {name!r}")

        group, _, control = name.rpartition("/")

        def forget(reply: dict[str, Any]) -> None:
            # The target, its controls, a group's members, and that control of each member.
            for target in list(self._patterns):
                node, _, ctl = target.rpartition("/")
                if (target == name or target.startswith(name + "/")
                        or (group and ctl == control and node.startswith(group + "/"))):
                    del self._patterns[target]

        self._write("hush", {"target": name}, done=forget)

    def stop(self) -> None:
        """Stop every pattern and automation (nodes keep their sound and settings)."""
        self._write("stop", {}, done=lambda reply: self._patterns.clear())

    def pattern(self, target: str) -> Pattern | None:
        """What this session last started on `target` (``"bass"``, ``"bass/cutoff"``), or None."""
        _text("kr.pattern", target, "target", "a name like 'bass' or 'bass/cutoff'")
        return self._patterns.get(target)

    @property
    def patterns(self) -> dict[str, Pattern]:
        """Every target this session plays a pattern on, with the pattern."""
        return dict(self._patterns)

    def events(self, pattern: Pattern | str, a: TimeLike = 0, b: TimeLike = 1) -> list[Event]:
        """The events the engine computes for `pattern` in cycles ``[a, b)`` (see `krach.events.Event`)."""
        return _events.query(self, pattern, a, b)

    def show(self, pattern: Pattern | str, cycles: TimeLike = 1, width: int = 64) -> None:
        """Print a timeline of `pattern` over its first `cycles` cycles: one row per value, ``x`` at onsets."""
        _events.show(self, pattern, cycles, width)

    # -- transport ---------------------------------------------------------

    @property
    def tempo(self) -> float:
        """Beats per minute (1-999); setting it takes effect at once, keeping the cycle position."""
        return float(self.request("tempo")["bpm"])

    @tempo.setter
    def tempo(self, bpm: float) -> None:
        self._write("tempo", {"bpm": _finite("kr.tempo", bpm)})

    @property
    def meter(self) -> int:
        """Beats per cycle (1-64); one cycle of a pattern is one bar of this many beats."""
        return int(self.request("meter")["beats"])

    @meter.setter
    def meter(self, beats: int) -> None:
        if isinstance(beats, bool) or not isinstance(beats, numbers.Integral):
            raise TypeError(f"kr.meter: beats per bar must be a whole number, got {type(beats).__name__}")
        self._write("meter", {"beats": int(beats)})

    def wait(self, bars: TimeLike | None = None, seconds: float | None = None) -> None:
        """Let `bars` cycles or `seconds` pass before the script goes on.

        On a live engine this sleeps. On an offline engine it renders that
        far: through `render_sink` when one is set (``krach render`` appends
        to its output file), otherwise without writing anything.
        """
        if (bars is None) == (seconds is None):
            raise TypeError("kr.wait: give bars=N or seconds=S (one of them)")
        self._refuse_in_batch("kr.wait")
        span: dict[str, Any]
        if bars is not None:
            if to_fraction(bars, "kr.wait", "bars") < 0:
                raise ValueError(f"kr.wait: 'bars' is {bars!r}; it must not be negative")
            span = {"cycles": time_json(bars, "kr.wait", "bars")}
        else:
            span = {"seconds": _finite("kr.wait", seconds, "seconds", lo=0.0)}
        if self.render_sink is not None:
            self.render_sink(span)
        elif self._is_offline():
            self.render(**span)
        elif bars is not None:
            reply = self.request("tempo")
            beat = 60.0 / float(reply["bpm"])
            time.sleep(float(to_fraction(bars, "kr.wait", "bars")) * int(reply["beats"]) * beat)
        else:
            time.sleep(float(span["seconds"]))

    def _is_offline(self) -> bool:
        if self._offline is None:
            self._offline = self.status().get("backend") == "offline"
        return self._offline

    # -- automation --------------------------------------------------------

    def mod(self, path: str, shape: str | Pattern, lo: float | None = None,
            hi: float | None = None, bars: TimeLike = 1) -> None:
        """Move a control (``"bass/cutoff"``) or a gain (``"bass/gain"``) through `shape`
        (``sine tri ramp square``) between `lo` and `hi`, one period every `bars` cycles.

        It runs on the engine's audio thread; ``kr.hush(path)`` ends it. The
        shape may also be a pattern, which carries its own values
        (``kr.mod("bass/cutoff", kr.p("400 800 1600 800"), bars=2)``): it is
        stretched over `bars` cycles and played on the control, continuous
        parts sampled by the engine's scheduler.
        """
        _split_path(path)
        if not isinstance(shape, (str, Pattern)):
            raise TypeError(f"kr.mod: shape must be one of {', '.join(MOD_SHAPES)} or a pattern "
                            f"(e.g. kr.sine(200, 2000)), got {type(shape).__name__}")
        if isinstance(shape, Pattern):
            if lo is not None or hi is not None:
                raise ValueError("kr.mod: a pattern shape carries its own values; leave out lo "
                                 "and hi (write the range into it, e.g. kr.sine(200, 2000))")
            self.play(path, shape.slow(positive_bars("kr.mod", bars)))
            return
        if lo is None or hi is None:
            raise TypeError("kr.mod: give lo and hi, the range of the shape, e.g. "
                            "kr.mod(\"bass/cutoff\", \"sine\", lo=200, hi=2000, bars=4)")
        if shape not in MOD_SHAPES:
            raise ValueError(f"kr.mod: shape {shape!r} is not one of {', '.join(MOD_SHAPES)}")
        self._write("mod", {"target": path, "shape": shape, "lo": _finite("kr.mod", lo, "lo"),
                            "hi": _finite("kr.mod", hi, "hi"), "bars": positive_bars("kr.mod", bars)})

    def fade(self, path: str, target: float, bars: TimeLike = 1) -> None:
        """Move a control or gain in a straight line from where it is to `target` over `bars` cycles."""
        _split_path(path)
        self._write("fade", {"target": path, "value": _finite("kr.fade", target, "target"),
                             "bars": positive_bars("kr.fade", bars)})

    # -- files -------------------------------------------------------------

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the session as a readable Python file that recreates it; return its path.

        The file holds the synth functions' source (or their IR as data,
        ``krs.from_ir``, for synths this session did not trace), tempo, meter,
        master, every node with its gain, voices and controls, the routes,
        mutes and solos (in one ``kr.batch()``), the playing patterns and the
        automations. ``kr.load(path)`` or ``krach render path`` runs it; on a
        fresh engine it plays exactly what this session plays. See
        `krach.files`.
        """
        return _files.export(self, path)

    def load(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Run the session file `path` (an export, or any hand-written one) with ``kr``,
        ``krs`` and ``krp`` bound; return the names it defined.

        It adds to the session as it is: nodes it makes replace nodes of the
        same name, others stay. Its exceptions come out unchanged.
        """
        self._refuse_in_batch("kr.load")
        return _files.run_file(self, path)

    def _refuse_in_batch(self, what: str) -> None:
        if self._batch is not None:
            raise RuntimeError(f"{what} inside kr.batch(): the batch is sent when the block ends; call it after")

    # -- ending ------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the engine (it replies, then exits) and close this connection."""
        try:
            self.request("shutdown")
        finally:
            self.client.close()

    def close(self) -> None:
        """Close this connection; the engine keeps playing."""
        if self.lifeline is not None:
            self.lifeline.stop()
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
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"kr.node({name!r}): control '{key}' must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"kr.node({name!r}): control '{key}' must be a finite number, got {value!r}")
        number = min(max(float(value), ctl.lo), ctl.hi)
        if number != float(value):
            warnings.warn(
                f"{name}/{key}: {value!r} is outside {ctl.lo:g}..{ctl.hi:g}; clamped to {number:g}",
                stacklevel=3,
            )
        values[key] = number
    return values


def _text(where: str, value: Any, arg: str, expected: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{where}: '{arg}' must be {expected}, got {value!r}")
    return value


def _finite(where: str, value: Any, arg: str = "value", lo: float | None = None) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: '{arg}' must be a number, got {type(value).__name__}")
    number = value if isinstance(value, (int, float)) else float(value)
    if not math.isfinite(number) or (lo is not None and number < lo):
        bound = f"at least {lo:g}" if lo is not None else "a finite number"
        raise ValueError(f"{where}: '{arg}' is {value!r}; it must be {bound}")
    return number


def _print_event(event: dict[str, Any]) -> None:
    """One line on stderr per engine event: ``krach: node 'x' produced NaN ...``."""
    print(f"krach: {event.get('message') or event.get('event')}", file=sys.stderr, flush=True)
