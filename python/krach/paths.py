"""Where krach keeps its files: the socket, the log and the TCP token.

Everything lives in ``~/.krach/``. ``KRACH_SOCKET`` overrides the socket path,
as it does for the engine itself (docs/protocol.md, "Transport").
"""

from __future__ import annotations

import os
from pathlib import Path


def krach_dir() -> Path:
    """``~/.krach``, the directory for the socket, log and token."""
    return Path.home() / ".krach"


def default_socket() -> str:
    """The engine's Unix socket: ``$KRACH_SOCKET``, else ``~/.krach/engine.sock``."""
    env = os.environ.get("KRACH_SOCKET")
    if env:
        return env
    return str(krach_dir() / "engine.sock")


def default_log() -> str:
    """The engine log, ``~/.krach/engine.log``."""
    return str(krach_dir() / "engine.log")


def default_token_file() -> str:
    """The TCP token file, ``~/.krach/token`` (written by the engine on first use)."""
    return str(krach_dir() / "token")
