"""`Node`: the handle `kr.node(...)` returns for one DSP node on the engine.

    bass = kr.node("bass", bass_fn, gain=0.3)
    bass["cutoff"] = 1200        # set a control (clamped to its range, with a warning)
    bass["cutoff"]               # read it back from the engine
    bass.gain = 0.2              # the node's output gain (0-4), smoothed
    bass @ kr.seq("A2", None, "E2")       # play a pattern (from the next cycle)
    bass @ "A2 D3 ~ E2"                   # ... or mini-notation
    bass @ ("cutoff", kr.sine(200, 2000)) # a pattern on one control
    bass @ None                           # hush
    bass >> (verb, 0.4)                   # send into an effect (see krach.routing)
    bass.mute(); bass.solo()
    bass.remove()

A handle is only a name and a session: it holds no state of its own, so a
second handle to the same name (``kr["bass"]``) is just as good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pattern import Pattern
    from .session import Session
    from .signal import Dsp

GAIN = "gain"
"""The name that means the node's output gain, in ``node["gain"]`` and ``"name/gain"`` paths."""


class Node:
    """A DSP node on the engine, by name."""

    def __init__(self, session: Session, name: str) -> None:
        self._session = session
        self._name = name

    @property
    def name(self) -> str:
        """The node's name (``"bass"``, ``"drums/kick"``)."""
        return self._name

    @property
    def dsp(self) -> Dsp | None:
        """The traced synth this session last gave the node, or None if it did not make it."""
        return self._session._dsps.get(self._name)

    @property
    def gain(self) -> float:
        """Output gain, 0-4; setting it fades there over 20 ms (over n bars inside ``kr.transition``)."""
        return self._session.gain(self._name)

    @gain.setter
    def gain(self, value: float) -> None:
        self._session.gain(self._name, value)

    def __getitem__(self, control: str) -> float:
        """The current value of `control` (``"gain"`` reads the output gain)."""
        if not isinstance(control, str):
            raise TypeError(f"{self._name}[...]: the control must be a name like 'cutoff', got {control!r}")
        if control == GAIN:
            return self.gain
        reply = self._session.request("control_get", name=self._name, control=control)
        return float(reply["value"])

    def __setitem__(self, control: str, value: float) -> None:
        """Set `control`; a value outside its range is clamped, with a warning."""
        self._session._set_value(self._name, control, value, stacklevel=3)

    def __rshift__(self, target: Any) -> Node:
        """``node >> fx`` sends this node into the effect `fx` (a `Node` or a name) at unity;
        ``node >> (fx, 0.4)`` at level 0.4. Returns the target, so ``a >> b >> c`` is a chain.
        """
        level = 1.0
        if isinstance(target, tuple):
            if len(target) != 2:
                raise TypeError(f"{self._name} >> (...): write (effect, level), e.g. {self._name} >> (verb, 0.4)")
            target, level = target
        if isinstance(target, Node):
            handle = target
        elif isinstance(target, str) and target:
            handle = Node(self._session, target)
        else:
            raise TypeError(f"{self._name} >> ...: the target must be a node or a node name, got {target!r}")
        self._session.connect(self._name, handle.name, level=level)
        return handle

    def mute(self) -> None:
        """The same as ``kr.mute(node.name)``."""
        self._session.mute(self._name)

    def unmute(self) -> None:
        """The same as ``kr.unmute(node.name)``."""
        self._session.unmute(self._name)

    def solo(self) -> None:
        """The same as ``kr.solo(node.name)``."""
        self._session.solo(self._name)

    def unsolo(self) -> None:
        """The same as ``kr.unsolo(node.name)``."""
        self._session.unsolo(self._name)

    def __matmul__(self, what: Any) -> Pattern | None:
        """``node @ pattern`` plays a pattern (or mini-notation) on the node and returns it;
        ``node @ ("cutoff", pattern)`` plays it on one control; ``node @ None`` hushes the node.
        """
        if what is None:
            self.hush()
            return None
        if isinstance(what, tuple):
            if len(what) != 2 or not isinstance(what[0], str):
                raise TypeError(
                    f"{self._name} @ (...): write (control, pattern), e.g. "
                    f"{self._name} @ ('cutoff', kr.sine(200, 2000))"
                )
            control, pattern = what
            return self._session.play(f"{self._name}/{control}", pattern)
        return self._session.play(self._name, what)

    def play(self, pattern: Pattern | str | None, from_zero: bool = False,
             swing: float | str | None = None) -> Pattern | None:
        """The same as ``kr.play(node.name, pattern, from_zero, swing)``."""
        return self._session.play(self._name, pattern, from_zero=from_zero, swing=swing)

    def hush(self) -> None:
        """Stop the node's patterns and automation and release its gates."""
        self._session.hush(self._name)

    @property
    def pattern(self) -> Pattern | None:
        """What this session last played on the node, or None."""
        return self._session.pattern(self._name)

    def remove(self) -> None:
        """Remove the node from the engine (its name is free again)."""
        self._session.remove(self._name)

    def __repr__(self) -> str:
        dsp = self.dsp
        if dsp is None:
            return f"Node({self._name!r})"
        controls = ", ".join(c.name for c in dsp.controls) or "no controls"
        return f"Node({self._name!r}: {dsp.name}, {dsp.inputs} in, {dsp.outputs} out, {controls})"
