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

A connection can also end while the engine lives on (the engine drops a
client whose reply it cannot deliver). So before anything else the lifeline
asks the engine for ``ping`` on a fresh connection: an engine that answers is
never killed — the session just reconnects, keeps everything and says so in
one line. Only an engine that is gone, or alive but silent for `HUNG_AFTER`
seconds, is replaced, and at most `RESTART_LIMIT` times within
`RESTART_WINDOW` seconds: then the lifeline says it gives up and stops.

The command that met the dead connection is sent again once the session is
back, so it simply succeeds (a command whose own reply ends the connection
again raises `ConnectionError` saying so). The journal is folded into a new snapshot every
`SNAPSHOT_EVERY` changes and whenever the session has been idle for a while.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import deque
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
HUNG_AFTER = 10.0
"""Seconds a running engine may take to answer ``ping`` on a fresh connection before it counts as hung."""
RESTART_LIMIT = 3
"""Restarts allowed within `RESTART_WINDOW` seconds; one more death and the lifeline gives up."""
RESTART_WINDOW = 60.0

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
        self.gave_up: str | None = None
        """Why the lifeline stopped restarting the engine (None while it still does)."""
        self._restarts: deque[float] = deque()
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self._replaying = False
        self._reported = False  # someone else's engine is gone and we said so
        self._snapshot_failed = False  # the last `state` ended the connection: wait for a change
        self._unreadable = False  # someone else's engine cannot send its state (said once)
        self._last_change = time.monotonic()
        with self._lock:
            self._try_snapshot()
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
                if self.gave_up is not None:
                    raise ConnectionError(self.gave_up) from None
                if self._replaying or self._stopped.is_set():
                    raise
                self.revive(client, during=cmd)
                client = self.session.client
                try:
                    reply = client.request(cmd, timeout=timeout, **fields)
                except ConnectionError:
                    # The engine ended the connection again on this very command: it is
                    # the request, not the engine. Reconnect quietly and say so.
                    self.revive(client, during=cmd, quiet=True)
                    raise ConnectionError(
                        f"the engine ended the connection twice while answering '{cmd}' and still "
                        f"runs: this request cannot be answered (a reply too large?); the session "
                        f"is intact") from None
            if is_change(cmd, fields) and not self._replaying:
                self.journal.append((cmd, dict(fields)))
                self._last_change = time.monotonic()
                self._snapshot_failed = False
                if len(self.journal) >= SNAPSHOT_EVERY:
                    self._try_snapshot()
            return reply

    def _take_snapshot(self) -> None:
        client = self.session.client
        self.snapshot = client.request("state")["state"]
        self.scenes = {name: client.request("scene_get", name=name)["state"]
                       for name in client.request("scenes")["scenes"]}
        self.journal.clear()
        self._snapshot_failed = False

    def _try_snapshot(self) -> None:
        """Fold the journal into a snapshot; if the engine cannot send it, keep the journal
        (the watcher reconnects) and try again only after the next change."""
        try:
            self._take_snapshot()
        except (ConnectionError, TimeoutError, KrachError, OSError):
            self._snapshot_failed = True

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
            elif (self.journal and not self._snapshot_failed
                  and time.monotonic() - self._last_change > IDLE_SNAPSHOT
                  and self._lock.acquire(blocking=False)):
                try:
                    self._try_snapshot()
                finally:
                    self._lock.release()

    # -- reviving --------------------------------------------------------------

    def _answering(self, broken: Client) -> tuple[Client | None, str | None]:
        """Ask the engine for ``ping`` on a fresh connection: (that connection, None) when it
        answers; (None, None) when no engine is there; (None, why) when one is there but
        answers no ping (hung) — an engine that replies at all, even with an error, is alive."""
        if self.process is not None and self.process.poll() is not None:
            return None, None  # ours, and it has exited
        try:
            client = Client(self.address, token=self.token, timeout=max(broken.timeout, HUNG_AFTER))
        except TimeoutError:
            return None, f"it accepted no connection within {HUNG_AFTER:g} s"
        except ConnectionError:
            return None, self._unless_exiting("it runs but accepts no connection")
        try:
            client.request("ping", timeout=HUNG_AFTER)
        except TimeoutError:
            client.close()
            return None, f"it did not answer ping within {HUNG_AFTER:g} s"
        except KrachError as err:
            client.close()
            raise ConnectionError(f"the engine at {self.address} runs but refused this session a "
                                  f"connection ({err}); nothing was restarted") from None
        except ConnectionError:
            return None, self._unless_exiting("it closed a fresh connection unanswered")
        return client, None

    def _unless_exiting(self, why: str) -> str | None:
        """None when there is no engine (not ours, or ours exits within 2 s: a dying process
        closes its socket before it can be reaped), else `why` it counts as hung."""
        if self.process is None:
            return None
        try:
            self.process.wait(timeout=2.0)
            return None
        except subprocess.TimeoutExpired:
            return why

    def _exit_cause(self) -> str:
        """How our engine process ended (it has, or it was just killed)."""
        assert self.process is not None
        code = self.process.wait()
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"

    def _adopt(self, broken: Client, client: Client) -> None:
        client.events = broken.events
        client.subscribe(broken.on_event)
        broken.close()
        self.session.client = client
        self.session._offline = None

    def revive(self, broken: Client, during: str | None = None, quiet: bool = False) -> None:
        """Bring the session back after `broken` lost the engine; raise ConnectionError if it cannot.

        An engine that still answers ``ping`` is kept: the session reconnects to it.
        """
        with self._lock:
            if self.session.client is not broken and not self.session.client.closed:
                return  # another thread already did
            if self.gave_up is not None:
                raise ConnectionError(self.gave_up)
            fresh, hung = self._answering(broken)
            if fresh is not None and self.process is not None:
                self._adopt(broken, fresh)  # ours, running, answering: only the connection ended
                if not quiet:
                    what = f" while answering '{during}'" if during else ""
                    self.notify(f"krach: the connection to the engine ended{what}, but the engine "
                                f"still runs and answers ping; reconnected, nothing was restarted or lost")
                return
            if self.launcher is None or self.process is None:
                self._revive_theirs(broken, fresh, hung)
                return
            if hung is not None:
                assert self.process is not None
                self.process.kill()  # ours, alive, and silent: it is replaced
                cause = f"hung: {hung}; killed it"
                self.process.wait()
            else:
                cause = self._exit_cause()
            self._check_restarts(cause)
            self.process = self.launcher()
            client = Client(self.address, token=self.token, timeout=broken.timeout)
            self._adopt(broken, client)
            self._replay_into(client, cause, "restarted it")

    def _check_restarts(self, cause: str) -> None:
        """Count a restart; past RESTART_LIMIT within RESTART_WINDOW, give up (and say so)."""
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > RESTART_WINDOW:
            self._restarts.popleft()
        if len(self._restarts) >= RESTART_LIMIT:
            self.gave_up = (f"the engine stopped again ({cause}) after {len(self._restarts)} restarts "
                            f"within {RESTART_WINDOW:g} s; krach stops restarting it. See its log "
                            f"(~/.krach/engine.log), fix the cause and start krach again")
            self.notify(f"krach: {self.gave_up}")
            self.stop()
            raise ConnectionError(self.gave_up)
        self._restarts.append(now)

    def _revive_theirs(self, broken: Client, fresh: Client | None, hung: str | None) -> None:
        """Someone else's engine: never killed; reconnect when one answers there again."""
        if fresh is None:
            why = f"it does not answer: {hung}" if hung else "the connection ended"
            message = (f"the engine at {self.address} stopped ({why}) and this session did not "
                       f"start it; start it again and run any kr command: krach reconnects and "
                       f"replays the session")
            if not self._reported:
                self._reported = True
                self.notify(f"krach: {message}")
            raise ConnectionError(message)
        self._adopt(broken, fresh)
        if fresh.request("nodes")["nodes"]:
            if self._unreadable:
                return  # it cannot send its state (said once): just the connection again
            try:
                self.session.pull()
            except (ConnectionError, TimeoutError):
                self._unreadable = True
                self.notify(f"krach: reconnected to the engine at {self.address}, but it ends the "
                            f"connection when asked for its state; kr keeps its own view")
                raise
            self.notify(f"krach: reconnected to the engine at {self.address}; it kept its own "
                        f"session, which kr now shows")
            self._try_snapshot()
            return
        self._replay_into(fresh, "the connection ended", "reconnected")

    def _replay_into(self, client: Client, cause: str, what: str) -> None:
        self._replaying = True
        try:
            summary = self._replay(client)
        finally:
            self._replaying = False
        self.revivals += 1
        self._reported = False
        self.notify(f"krach: the engine stopped ({cause}); {what} and replayed the session ({summary})")
        self._try_snapshot()

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
