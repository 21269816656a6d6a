"""Exceptions raised by the krach Python side.

`KrachError` carries an error reply from the engine: its `code` is one of the
codes listed in docs/protocol.md (``unknown_node``, ``bad_value``, ...) and its
`message` is the engine's own sentence, which names the problem and the fix.

`EngineError` is raised when the engine program itself cannot be found or
started (no binary, it exited at once, it never opened its socket).
"""

from __future__ import annotations


class KrachError(Exception):
    """An engine request failed: ``str(err)`` reads ``"code: message"``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class EngineError(RuntimeError):
    """The engine binary could not be found, started, or reached after start."""
