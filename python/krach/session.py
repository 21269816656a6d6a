"""The session object, bound as ``kr`` in the REPL and in session files.

`Session` wraps one `Client` and offers what the engine can do so far: the
master gain, status, a sine test tone (`Tone`), offline rendering and shutdown.
Later milestones add nodes, patterns, routing and the transport on this base.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .client import Client
from .errors import KrachError

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
