"""Surviving the engine's death: notice, restart, replay the session, say so in one line.

A `Lifeline` sits between a `Session` and its `Client`. It keeps a mirror of
the session — a *snapshot* (the engine's ``state`` and every scene) plus a
*journal* of the changes sent since — and a watcher thread that notices, even
while the REPL is idle, when the connection ends. Then:

- if this session started the engine (``krach`` with no engine running), it
  starts a new one with the same options, replays the snapshot (nodes with
  their synths, control values and voices; routes; gains, mutes and solos;
  tempo, meter, master; patterns, which start at the next cycle boundary;
  automations; scenes) and the journal, and prints one line;
- if it attached to someone else's engine, it reports that in one line and
  reconnects on the next command once an engine answers there again
  (replaying into it when it came back empty).

The command that met the dead connection is sent again once the session is
back, so it simply succeeds. The journal is folded into a new snapshot every
`SNAPSHOT_EVERY` changes and whenever the session has been idle for a while.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .client import Client
from .errors import KrachError
from .scenes import State, plan_recall

SNAPSHOT_EVERY = 50
"""Journal entries after which the mirror takes a fresh snapshot."""
IDLE_SNAPSHOT = 2.0
"""Seconds without a change after which the watcher folds the journal into a snapshot."""
WATCH_PERIOD = 0.2
"""Seconds between two looks at the connection (and the engine process)."""

WRITES = frozenset({
    "tone_add", "tone_set", "tone_remove", "node_set", "node_remove", "control_set", "connect",
    "unsend", "mute", "unmute", "solo", "unsolo", "batch", "play", "hush", "stop", "mod", "fade",
    "scene_save", "input_add",
})
"""Commands that change the session (``master``, ``node_gain``, ``tempo`` and ``meter`` too, with a value)."""
_VALUED = {"master": ("gain",), "node_gain": ("gain",), "tempo": ("bpm", "beats"), "meter": ("bpm", "beats")}

Notify = Callable[[str], None]
Launcher = Callable[[], "subprocess.Popen[bytes]"]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def is_change(cmd: str, fields: dict[str, Any]) -> bool:
    """Whether a request changes the session (and so belongs in the journal)."""
    if cmd in WRITES:
        return True
    return any(key in fields for key in _VALUED.get(cmd, ()))


class Lifeline:
    """The mirror and the watcher of one session (see the module docstring)."""

    def __init__(self, session: Any, *, process: subprocess.Popen[bytes] | None = None,
                 launcher: Launcher | None = None, token: str | None = None,
                 notify: Notify = _stderr) -> None:
        self.session = session
        self.address: str = session.client.address
        self.process = process
        self.launcher = launcher
        self.token = token
        self.notify = notify
        self.snapshot: State | None = None
        self.scenes: dict[str, State] = {}
        self.journal: list[tuple[str, dict[str, Any]]] = []
        self.revivals = 0
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._replaying = False
        self._reported = False  # someone else's engine is gone and we said so
        self._last_change = time.monotonic()
        with self._lock:
            self._take_snapshot()
        self._thread = threading.Thread(target=self._watch, name="krach-lifeline", daemon=True)
        self._thread.start()

    # -- requests ------------------------------------------------------------

    def request(self, cmd: str, timeout: float | None, fields: dict[str, Any]) -> dict[str, Any]:
        """Send through the session's client; on a dead connection revive, then send again."""
        with self._lock:
            if cmd == "shutdown":
                self.stop()  # the engine is told to go: not a death
            client = self.session.client
            try:
                reply: dict[str, Any] = client.request(cmd, timeout=timeout, **fields)
            except ConnectionError:
                if self._replaying or self._stopped.is_set():
                    raise
                self.revive(client)
                reply = self.session.client.request(cmd, timeout=timeout, **fields)
            if is_change(cmd, fields) and not self._replaying:
                self.journal.append((cmd, dict(fields)))
                self._last_change = time.monotonic()
                if len(self.journal) >= SNAPSHOT_EVERY:
                    self._take_snapshot()
            return reply

    def _take_snapshot(self) -> None:
        client = self.session.client
        self.snapshot = client.request("state")["state"]
        self.scenes = {name: client.request("scene_get", name=name)["state"]
                       for name in client.request("scenes")["scenes"]}
        self.journal.clear()

    # -- watching ------------------------------------------------------------

    def stop(self) -> None:
        """Stop watching (the session closes, or shuts the engine down on purpose)."""
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(WATCH_PERIOD):
            client = self.session.client
            alive = client.poll() and (self.process is None or self.process.poll() is None)
            if self._stopped.is_set():
                return
            if not alive and self._lock.acquire(blocking=False):
                try:
                    if self.session.client is client and not self._stopped.is_set():
                        self.revive(client)
                except (ConnectionError, KrachError, OSError):
                    pass  # said in one line by revive; the next command tries again
                finally:
                    self._lock.release()
            elif (self.journal and time.monotonic() - self._last_change > IDLE_SNAPSHOT
                  and self._lock.acquire(blocking=False)):
                try:
                    self._take_snapshot()
                except (ConnectionError, KrachError, OSError):
                    pass  # the next look finds out why
                finally:
                    self._lock.release()

    # -- reviving --------------------------------------------------------------

    def _cause(self) -> str:
        if self.process is None:
            return "the connection ended"
        try:
            code = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.process.kill()  # alive but not answering: ours to replace
            code = self.process.wait()
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"

    def revive(self, broken: Client) -> None:
        """Bring the session back after `broken` lost the engine; raise ConnectionError if it cannot."""
        with self._lock:
            if self.session.client is not broken and not self.session.client.closed:
                return  # another thread already did
            cause = self._cause()
            if self.launcher is not None:
                self.process = self.launcher()
                client = Client(self.address, token=self.token, timeout=broken.timeout)
            else:
                client = self._reconnect(broken, cause)
            client.events = broken.events
            client.subscribe(broken.on_event)
            broken.close()
            self.session.client = client
            self.session._offline = None
            fresh = not client.request("state")["state"]["nodes"]
            if self.launcher is None and not fresh:
                self.session.pull()
                self.notify(f"krach: reconnected to the engine at {self.address}; it kept its own "
                            f"session, which kr now shows")
                self._take_snapshot()
                return
            self._replaying = True
            try:
                summary = self._replay(client)
            finally:
                self._replaying = False
            self.revivals += 1
            self._reported = False
            what = "restarted it" if self.launcher is not None else "reconnected"
            self.notify(f"krach: the engine stopped ({cause}); {what} and replayed the session ({summary})")
            self._take_snapshot()

    def _reconnect(self, broken: Client, cause: str) -> Client:
        try:
            return Client(self.address, token=self.token, timeout=broken.timeout)
        except ConnectionError:
            message = (f"the engine at {self.address} stopped ({cause}) and this session did not start it; "
                       f"start it again and run any kr command: krach reconnects and replays the session")
            if not self._reported:
                self._reported = True
                self.notify(f"krach: {message}")
            raise ConnectionError(message) from None

    def _replay(self, client: Client) -> str:
        """Send the snapshot, the scenes and the journal to a fresh engine; return a summary."""
        want = self.snapshot
        if want is not None:
            now = client.request("state")["state"]
            plan = plan_recall(now, want)
            for command in plan.prelude:
                client.request(timeout=120.0, **command)
            if plan.commands:
                client.request("batch", timeout=120.0, commands=plan.commands)
            client.request("tempo", bpm=want["bpm"], beats=want["beats"])
            client.request("master", gain=want["master"])
            for item in want["patterns"]:
                fields = {k: item[k] for k in ("pattern", "mini") if k in item}
                client.request("play", target=item["target"], from_zero=item["from_zero"], **fields)
            for auto in want["automations"]:
                if auto["shape"] == "fade":
                    client.request("fade", target=auto["target"], value=auto["value"], bars=auto["bars"])
                else:
                    client.request("mod", target=auto["target"], shape=auto["shape"], lo=auto["lo"],
                                   hi=auto["hi"], bars=auto["bars"])
        for name, scene in self.scenes.items():
            client.request("scene_save", name=name, state=scene)
        for cmd, fields in self.journal:
            client.request(cmd, timeout=120.0, **fields)
        state = client.request("state")["state"]
        scenes = len(client.request("scenes")["scenes"])
        return (f"{len(state['nodes'])} nodes, {len(state['patterns'])} patterns, "
                f"{len(state['routes'])} routes, {scenes} scenes")


def attach(session: Any, *, process: subprocess.Popen[bytes] | None = None,
           launcher: Launcher | None = None, token: str | None = None,
           notify: Notify = _stderr) -> Lifeline:
    """Give `session` a lifeline; with `launcher` (this session started the engine) it restarts it."""
    lifeline = Lifeline(session, process=process, launcher=launcher, token=token, notify=notify)
    session.lifeline = lifeline
    return lifeline
