"""A small, thread-safe client for the engine's newline-delimited JSON protocol.

One `Client` holds one connection, to a Unix socket path or to
``tcp://host:port``. `Client.request` sends one request line with a fresh id
and reads reply lines until the one carrying that id arrives; an ``ok: false``
reply becomes a `KrachError`. The wire contract is docs/protocol.md.

    >>> c = Client()                      # ~/.krach/engine.sock or $KRACH_SOCKET
    >>> c.request("ping")
    {'id': 1, 'ok': True, 'version': '0.1.0'}
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import select
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .errors import KrachError
from .paths import default_socket, default_token_file

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a reply (and for the connection itself)."""
MAX_LINE = 1 << 20
"""The engine's request line limit in bytes, newline excluded (docs/protocol.md, Limits)."""

_START_HINT = (
    "Start one with `./bin/krach` (engine in the background + REPL) "
    "or `./bin/krach engine` (engine alone, in the foreground)."
)
_RECV_SIZE = 1 << 16
MAX_EVENTS = 100
"""Pushed events kept in `Client.events` (the oldest are dropped)."""


class Client:
    """One connection to a krach engine.

    `address` is a Unix socket path or ``tcp://host:port``; by default the
    engine's default socket. A TCP connection is authenticated at once with
    `token`, or with the contents of ``~/.krach/token`` when no token is given.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.address = address if address is not None else default_socket()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already known to hold no newline
        self._closed = False
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_EVENTS)
        """Event lines the engine pushed (after `subscribe`), oldest first."""
        self.on_event: Callable[[dict[str, Any]], None] | None = None
        """Called with each pushed event as it is read (between replies)."""
        if self.is_tcp:
            self._sock = self._connect_tcp()
            try:
                self.request("auth", token=self._token(token))
            except BaseException:
                self.close()
                raise
        else:
            self._sock = self._connect_unix()

    # -- connecting --------------------------------------------------------

    @property
    def is_tcp(self) -> bool:
        """True when the address is ``tcp://host:port``."""
        return self.address.startswith("tcp://")

    def _connect_unix(self) -> socket.socket:
        path = self.address
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(path)
        except FileNotFoundError:
            sock.close()
            raise ConnectionError(
                f"no krach engine is running at {path} (there is no socket). {_START_HINT}"
            ) from None
        except ConnectionRefusedError:
            sock.close()
            raise ConnectionError(
                f"no krach engine is listening at {path} (the socket is left over "
                f"from an engine that stopped). {_START_HINT}"
            ) from None
        except PermissionError:
            sock.close()
            raise ConnectionError(
                f"cannot open the engine socket {path}: permission denied "
                f"(it belongs to another user?)"
            ) from None
        except OSError as err:
            sock.close()
            raise ConnectionError(
                f"cannot connect to the engine at {path}: {err.strerror or err}. {_START_HINT}"
            ) from None
        return sock

    def _connect_tcp(self) -> socket.socket:
        host, port = parse_tcp_address(self.address)
        try:
            return socket.create_connection((host, port), timeout=self.timeout)
        except OSError as err:
            raise ConnectionError(
                f"cannot connect to the engine at {self.address}: {err.strerror or err} "
                f"(is it running with --tcp {host}:{port}?)"
            ) from None

    def _token(self, token: str | None) -> str:
        if token is not None:
            return token
        path = Path(default_token_file())
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ConnectionError(
                f"{self.address} needs the engine's token: pass it (token=..., krach --token) or copy the "
                f"engine machine's {path} to this machine"
            ) from None

    # -- requests ----------------------------------------------------------

    def request(self, cmd: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send ``{"id": n, "cmd": cmd, **fields}`` and return the reply.

        Raises `KrachError` when the engine answers ``ok: false``,
        `TimeoutError` when no reply comes within `timeout` seconds (default:
        the client's timeout) and `ConnectionError` when the connection is gone.
        """
        wait = self.timeout if timeout is None else timeout
        with self._lock:
            if self._closed:
                raise ConnectionError(
                    f"cannot send '{cmd}': this connection to the engine is closed; "
                    f"start krach again (`./bin/krach`)"
                )
            req_id = next(self._ids)
            line = _encode({"id": req_id, "cmd": cmd, **fields}, cmd)
            try:
                self._sock.sendall(line)
            except OSError as err:
                self._lost(cmd, err)
            deadline = time.monotonic() + wait
            while True:
                reply = self._read_reply(cmd, wait, deadline)
                if "event" in reply and "id" not in reply:
                    self._event(reply)
                    continue
                if reply.get("id") == req_id:
                    break
                if reply.get("id") is None and reply.get("ok") is False:
                    break  # the engine refused the line or the connection (locked_out, limit): say why
                # A late reply to an earlier request that timed out: drop it.
        if reply.get("ok") is not True:
            error = reply.get("error")
            if not isinstance(error, dict):
                raise KrachError("bad_reply", f"'{cmd}' failed without an error object: {reply}")
            raise KrachError(str(error.get("code", "error")), str(error.get("message", "")))
        return reply

    def subscribe(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Ask the engine to push event lines (e.g. ``node_fault``) to this connection.

        They arrive between replies: each is kept in `events` and given to
        `on_event` when a request reads it.
        """
        self.on_event = on_event
        self.request("subscribe")

    def poll(self) -> bool:
        """Between requests: read pushed events (to `events`, `on_event`); False once the engine is gone.

        Never waits: while another thread's request is under way it returns True at once.
        """
        if self._closed:
            return False
        if not self._lock.acquire(blocking=False):
            return True
        try:
            while select.select([self._sock], [], [], 0)[0]:
                try:
                    chunk = self._sock.recv(_RECV_SIZE)
                except OSError:
                    chunk = b""
                if not chunk:
                    self._closed = True
                    return False
                self._buf += chunk
            while (nl := self._buf.find(b"\n")) >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                self._scanned = 0
                try:
                    message = json.loads(line)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    continue
                if isinstance(message, dict) and "event" in message and "id" not in message:
                    self._event(message)
            return True
        finally:
            self._lock.release()

    def _event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _read_reply(self, cmd: str, wait: float, deadline: float) -> dict[str, Any]:
        raw = self._read_line(cmd, wait, deadline)
        try:
            reply = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise KrachError("bad_reply", f"the engine sent a line that is not JSON ({err})") from None
        if not isinstance(reply, dict):
            raise KrachError("bad_reply", f"the engine sent a reply that is not an object: {raw[:200]!r}")
        return reply

    def _read_line(self, cmd: str, wait: float, deadline: float) -> bytes:
        """Return the next complete line (without its newline), reading as needed."""
        while True:
            nl = self._buf.find(b"\n", self._scanned)
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[: nl + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buf)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the engine did not answer '{cmd}' within {wait:g} s")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(_RECV_SIZE)
            except TimeoutError:
                raise TimeoutError(f"the engine did not answer '{cmd}' within {wait:g} s") from None
            except OSError as err:
                self._lost(cmd, err)
            if not chunk:
                self._closed = True
                raise ConnectionError(
                    f"the engine closed the connection before answering '{cmd}' "
                    f"(did it stop? see ~/.krach/engine.log)"
                )
            self._buf += chunk

    def _lost(self, cmd: str, err: OSError) -> None:
        self._closed = True
        raise ConnectionError(
            f"lost the connection to the engine at {self.address} during '{cmd}': "
            f"{err.strerror or err}"
        ) from None

    # -- closing -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the connection (the engine keeps running)."""
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<krach.Client {self.address} {state}>"


def parse_tcp_address(address: str) -> tuple[str, int]:
    """Split ``tcp://host:port`` into (host, port); `ValueError` if it is not that."""
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise ValueError(f"bad engine address {address!r}: write tcp://HOST:PORT")
    return parts.hostname, port


def _encode(message: dict[str, Any], cmd: str) -> bytes:
    try:
        text = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except ValueError:
        bad = [k for k, v in message.items() if isinstance(v, float) and not math.isfinite(v)]
        raise ValueError(
            f"'{cmd}': {', '.join(bad) or 'a value'} must be a finite number, not NaN or infinity"
        ) from None
    line = text.encode("utf-8")
    if len(line) > MAX_LINE:
        # The engine would discard it and answer with id null, which no request waits for.
        raise KrachError(
            "line_too_long",
            f"the '{cmd}' request is {len(line)} bytes, over the engine's limit of {MAX_LINE}; "
            f"nothing was sent (large krs tables are the usual cause: use fewer numbers)",
        )
    return line + b"\n"
