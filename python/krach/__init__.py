"""krach: live-coding music in Python, played by a native engine.

The REPL binds ``kr`` (a `Session`), ``krs`` (`krach.signal`) and ``krp``
(`krach.pattern`). `Client` speaks the engine's JSON protocol
(docs/protocol.md); `connect_or_start` and `OfflineEngine` find and run the
engine binary.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .client import Client
from .engine import OfflineEngine, connect_or_start, find_engine, start_engine
from .errors import EngineError, KrachError
from .events import Event
from .node import Node
from .paths import default_socket
from .pattern import Pattern
from .session import Session, Tone
from .signal import Dsp

__all__ = [
    "Client",
    "Dsp",
    "EngineError",
    "Event",
    "KrachError",
    "Node",
    "OfflineEngine",
    "Pattern",
    "Session",
    "Tone",
    "__version__",
    "connect_or_start",
    "default_socket",
    "find_engine",
    "start_engine",
]
