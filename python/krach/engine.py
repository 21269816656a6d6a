"""Finding, starting and attaching to the `krach-engine` process.

- `find_engine` locates the binary: ``$KRACH_ENGINE``, else the checkout's
  ``build/release/krach-engine``, else ``krach-engine`` on ``PATH``.
- `start_engine` starts a detached engine (its own session, output appended to
  the log) and waits until its socket accepts connections.
- `connect_or_start` attaches to a running engine or starts one in the background.
- `OfflineEngine` runs a private offline engine on a temporary socket, as a
  child that is stopped on exit: for ``krach render`` and for tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from .client import DEFAULT_TIMEOUT, Client
from .errors import EngineError
from .paths import default_log, default_socket
from .session import Session

__all__ = [
    "REPO",
    "OfflineEngine",
    "connect_or_start",
    "start_or_attach",
    "default_socket",
    "find_engine",
    "start_engine",
    "wait_for_socket",
]

REPO = Path(__file__).resolve().parents[2]
"""The checkout this package lives in (two levels above python/krach/)."""

START_TIMEOUT = 10.0
"""Seconds a new engine has to open its socket."""


def find_engine() -> str:
    """Return the path of the engine binary, or raise `EngineError` saying how to build it."""
    env = os.environ.get("KRACH_ENGINE")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise EngineError(f"KRACH_ENGINE={env} is not an executable file")
    built = REPO / "build" / "release" / "krach-engine"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    on_path = shutil.which("krach-engine")
    if on_path:
        return on_path
    raise EngineError(
        f"cannot find krach-engine: build it with `make` in {REPO} "
        f"(./bin/krach builds it for you), or set KRACH_ENGINE=/path/to/krach-engine"
    )


def _log_tail(path: Path, since: int = 0, lines: int = 20) -> str:
    """The last `lines` lines written to `path` after byte offset `since`."""
    try:
        with open(path, "rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(tail) if tail else "(the log is empty)"


def _accepts(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def wait_for_socket(
    path: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = START_TIMEOUT,
    log_offset: int = 0,
) -> None:
    """Wait until `process` accepts connections on `path`.

    Raises `EngineError` with the tail of its log when it exits first, and
    stops it and raises when it does not listen within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise EngineError(
                f"krach-engine exited at start (status {code}); the end of its log "
                f"{log_path}:\n{_log_tail(log_path, log_offset)}"
            )
        if _accepts(path):
            return
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise EngineError(
                f"krach-engine did not open {path} within {timeout:g} s; the end of its "
                f"log {log_path}:\n{_log_tail(log_path, log_offset)}"
            )
        time.sleep(0.02)


def _engine_args(binary: str, socket_path: str, offline: bool, log: Path,
                 extra_args: Sequence[str]) -> list[str]:
    args = [binary, "--socket", socket_path, "--log", str(log)]
    if offline:
        args.append("--offline")
    return args + list(extra_args)


def start_engine(
    socket_path: str | None = None,
    offline: bool = False,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike[str] | None = None,
    *,
    binary: str | None = None,
    timeout: float = START_TIMEOUT,
) -> subprocess.Popen[bytes]:
    """Start an engine in the background and return once its socket accepts.

    The engine runs in its own session (it survives this process and the
    terminal), with stdout and stderr appended to the log file
    (``~/.krach/engine.log`` by default), which it also logs to.
    """
    socket_path = socket_path or default_socket()
    log = Path(log_path) if log_path is not None else Path(default_log())
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    Path(socket_path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    args = _engine_args(binary or find_engine(), socket_path, offline, log, extra_args)
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    wait_for_socket(socket_path, process, log, timeout, offset)
    return process


def start_or_attach(
    socket_path: str | None = None,
    *,
    token: str | None = None,
    offline: bool = False,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verbose: bool = False,
) -> tuple[Client, subprocess.Popen[bytes] | None, Callable[[], subprocess.Popen[bytes]] | None]:
    """Like `connect_or_start`, and also say who owns the engine.

    Returns the client, the engine process and a launcher that starts it again
    with the same options when this call started it (for `krach.lifeline`), or
    ``(client, None, None)`` when it attached to a running engine.
    """
    address = socket_path or default_socket()
    try:
        return Client(address, token=token, timeout=timeout), None, None
    except ConnectionError:
        if address.startswith("tcp://"):
            raise
    log = log_path if log_path is not None else default_log()

    def launch() -> subprocess.Popen[bytes]:
        return start_engine(address, offline=offline, extra_args=extra_args, log_path=log)

    process = launch()
    if verbose:
        print(f"krach: started krach-engine (pid {process.pid}, log {log})", file=sys.stderr)
    return Client(address, token=token, timeout=timeout), process, launch


def connect_or_start(
    socket_path: str | None = None,
    *,
    token: str | None = None,
    offline: bool = False,
    extra_args: Sequence[str] = (),
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verbose: bool = False,
) -> Client:
    """Connect to the engine at `socket_path`, starting one there if none runs.

    A ``tcp://`` address is only connected to: a remote engine cannot be
    started from here. With `verbose`, say on stderr when an engine is started.
    """
    client, _, _ = start_or_attach(socket_path, token=token, offline=offline, extra_args=extra_args,
                                   log_path=log_path, timeout=timeout, verbose=verbose)
    return client


class OfflineEngine:
    """A private offline engine on a temporary socket, stopped on exit.

        with OfflineEngine(sample_rate=48000) as eng:
            kr = eng.session()
            kr.tone("a", 440, gain=0.25)
            kr.render("/tmp/a.wav", seconds=1)

    The engine is a plain child of this process; its log (stdout, stderr and
    the engine's own log) is in a temporary directory, readable with `log()`
    until `stop()`.
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        block_size: int | None = None,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        timeout: float = START_TIMEOUT,
    ) -> None:
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.extra_args = tuple(extra_args)
        self.binary = binary
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self._clients: list[Client] = []

    @property
    def socket(self) -> str:
        """The engine's socket path (valid once started)."""
        if self._dir is None:
            raise EngineError("the offline engine is not started")
        return str(self._dir / "engine.sock")

    @property
    def log_path(self) -> Path:
        if self._dir is None:
            raise EngineError("the offline engine is not started")
        return self._dir / "engine.log"

    def start(self) -> OfflineEngine:
        """Start the engine and wait until it listens."""
        if self.process is not None:
            return self
        binary = self.binary or find_engine()
        self._dir = Path(tempfile.mkdtemp(prefix="krach-"))
        extra = list(self.extra_args)
        if self.sample_rate is not None:
            extra += ["--sample-rate", str(self.sample_rate)]
        if self.block_size is not None:
            extra += ["--block-size", str(self.block_size)]
        args = _engine_args(binary, self.socket, True, self.log_path, extra)
        try:
            with open(self.log_path, "ab") as out:
                self.process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=out, stderr=out
                )
            wait_for_socket(self.socket, self.process, self.log_path, self.timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def connect(self, timeout: float = DEFAULT_TIMEOUT) -> Client:
        """A new client connection to this engine (closed by `stop`)."""
        client = Client(self.socket, timeout=timeout)
        self._clients.append(client)
        return client

    def session(self, timeout: float = DEFAULT_TIMEOUT) -> Session:
        """A `Session` (the ``kr`` object) on a new connection to this engine."""
        return Session(self.connect(timeout))

    def log(self) -> str:
        """Everything the engine has logged so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the engine (SIGTERM, then SIGKILL), remove its files; return its exit status."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
            self.process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return code

    def __enter__(self) -> OfflineEngine:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
