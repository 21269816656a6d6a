"""Engine death: the session notices, restarts its engine, replays itself, says one line.

A session with synths, patterns, routing, mixer settings, voices, automation
and a scene is built; the engine is killed with SIGKILL; the next `kr`
command succeeds, the engine's `state` (and the scene) equal what they were,
and a render afterwards has every onset on its exact sample.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from e2e_support import SAMPLE_RATE, Engine, child_env, read_sound, short_tempdir, remove_tree
from krach import lifeline
from krach import pattern as krp
from krach import signal as krs
from krach.engine import start_or_attach
from krach.session import Session
from seed import bass, hat, kick, reverb_fx


def marker() -> krs.Signal:
    return krs.control("gate", 0.0, 0.0, 1.0) * 1.0


def build(kr: Session) -> None:
    kr.tempo = 128
    with kr.batch():
        kr.node("drums/kick", kick, gain=0.8)
        kr.node("drums/hat", hat, gain=0.4)
        kr.node("bass", bass, gain=0.3, count=2, cutoff=1500)
        kr.node("verb", reverb_fx, gain=0.3, room=0.55)
        kr.node("marker", marker, gain=0.5)
        kr.connect("bass", "verb", 0.4)
    kr.play("drums/kick", krp.hit() * 4)
    kr.play("drums/hat", (krp.rest() + krp.hit()) * 4)
    kr.play("bass", "A2 [C3 E3] ~ E2")
    kr.play("marker", krp.hit() * 4)
    kr.mod("verb/room", "sine", 0.2, 0.8, bars=4)
    kr.save("verse")
    kr.mute("drums/hat")
    kr.gain("drums", 0.7)
    kr.set("bass/cutoff", 900)
    kr.master = 0.8


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A state with lists in a stable order (the engine lists nodes in graph order)."""
    out = dict(state)
    out["nodes"] = sorted(state["nodes"], key=lambda n: n["name"])
    out["routes"] = sorted(state["routes"], key=lambda r: (r["src"], r["dst"], r["port"]))
    out["patterns"] = sorted(state["patterns"], key=lambda p: p["target"])
    out["automations"] = sorted(state["automations"], key=lambda a: a["target"])
    return out


@pytest.fixture
def owned(engine_bin: str, engine_home: Path, tmp_path: Path) -> Iterator[tuple[Session, list[str]]]:
    """A session that started its own (offline) engine, with a lifeline; notices go to a list."""
    sockdir = short_tempdir()
    saved = {k: os.environ.get(k) for k in ("KRACH_ENGINE", "HOME")}
    os.environ.update(KRACH_ENGINE=engine_bin, HOME=str(engine_home))
    notices: list[str] = []
    client, process, launcher = start_or_attach(str(sockdir / "e.sock"), offline=True,
                                                log_path=tmp_path / "engine.log")
    assert process is not None and launcher is not None
    kr = Session(client)
    line = lifeline.attach(kr, process=process, launcher=launcher, notify=notices.append)
    try:
        yield kr, notices
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            kr.shutdown()
        except (ConnectionError, OSError):
            pass
        if line.process is not None:
            assert line.process.wait(20) == 0, (tmp_path / "engine.log").read_text()[-3000:]
        remove_tree(sockdir)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_restart_and_replay(owned: tuple[Session, list[str]], tmp_path: Path):
    kr, notices = owned
    build(kr)
    wait_for(lambda: not kr.lifeline.journal)  # idle: folded into a snapshot
    kr.node("bass", bass, cutoff=700)  # and a few changes since, in the journal
    kr.unmute("drums/hat")
    kr.save("chorus")
    kr.mute("drums/hat")
    assert len(kr.lifeline.journal) == 4
    kr.render(cycles=3)
    before, verse = comparable(kr.state()), kr.request("scene_get", name="verse")["state"]
    old = kr.lifeline.process
    os.kill(old.pid, signal.SIGKILL)
    # The next command works: it meets the dead connection (or the watcher was
    # quicker), the engine is restarted and the session replayed first.
    kr.set("bass/cutoff", 700)
    assert kr.lifeline.process.pid != old.pid and kr.lifeline.process.poll() is None
    assert comparable(kr.state()) == before
    assert sorted(kr.scenes) == ["chorus", "verse"]
    assert kr.request("scene_get", name="verse")["state"] == verse
    assert len(notices) == 1, notices
    assert notices[0] == ("krach: the engine stopped (killed by SIGKILL); restarted it and replayed "
                          "the session (5 nodes, 4 patterns, 1 routes, 2 scenes)")

    # The replayed patterns play on exact samples: the marker's gate rises on
    # every quarter cycle (the fresh engine's clock and tempo start at 0).
    kr.solo("marker")
    path = tmp_path / "after.wav"
    kr.render(path, cycles=3)
    sound, sr = read_sound(path)
    assert sr == SAMPLE_RATE
    level = sound[:, 0] if sound.ndim > 1 else sound
    rises = np.flatnonzero((level[1:] > 0.25) & (level[:-1] <= 0.25)) + 1
    per_cycle = Fraction(60 * 4 * SAMPLE_RATE, 128)
    start = int(Fraction(kr.request("transport")["patterns"][0]["start"]))
    expected = [math.ceil(Fraction(k, 4) * per_cycle) for k in range(4 * max(start, 1), 12)]
    assert [int(r) for r in rises if r >= expected[0] - 1] == expected


def test_the_watcher_notices_while_idle(owned: tuple[Session, list[str]]):
    kr, notices = owned
    build(kr)
    wait_for(lambda: not kr.lifeline.journal)  # all in the snapshot this time
    before = comparable(kr.state())
    os.kill(kr.lifeline.process.pid, signal.SIGKILL)
    wait_for(lambda: notices)  # no command: the watcher restarts and replays by itself
    assert "killed by SIGKILL" in notices[0] and "replayed the session" in notices[0]
    assert comparable(kr.state()) == before
    assert len(notices) == 1


def test_someone_elses_engine(start_engine, engine_home: Path):
    engine: Engine = start_engine("--offline")
    notices: list[str] = []
    kr = Session(engine.client())
    lifeline.attach(kr, notify=notices.append)
    build(kr)
    before = comparable(kr.state())
    engine.kill()
    wait_for(lambda: notices)
    assert notices == [f"krach: the engine at {engine.socket} stopped (the connection ended) and this "
                       f"session did not start it; start it again and run any kr command: krach "
                       f"reconnects and replays the session"]
    with pytest.raises(ConnectionError, match="start it again"):
        kr.tempo
    # Its owner starts it again on the same socket: the next command reconnects and replays.
    again = start_engine("--offline", socket_path=Path(engine.socket))
    assert kr.tempo == 128
    assert comparable(kr.state()) == before
    assert notices[1].startswith("krach: the engine stopped (the connection ended); reconnected and "
                                 "replayed the session (5 nodes")
    kr.close()
    assert again.running


# ---- issue 12, B7: a dropped connection is not a dead engine --------------------------


def drop_connection(kr: Session) -> None:
    """End the session's connection from this side, as the engine does when it drops a client."""
    kr.client._sock.shutdown(socket.SHUT_RDWR)


def test_a_dropped_connection_never_kills_a_running_engine(owned: tuple[Session, list[str]]):
    """The connection ends but the engine runs and answers ping: the watcher reconnects,
    says so in one line, and the same engine process plays on with the same state.
    (Before: the lifeline took the drop for a hung engine, SIGKILLed it and restarted.)"""
    kr, notices = owned
    build(kr)
    wait_for(lambda: not kr.lifeline.journal)
    before, pid = comparable(kr.state()), kr.lifeline.process.pid
    for round_ in range(1, 4):  # and again: no bound applies to a healthy engine
        drop_connection(kr)
        wait_for(lambda: len(notices) == round_)
        assert kr.lifeline.process.pid == pid and kr.lifeline.process.poll() is None
    assert notices == ["krach: the connection to the engine ended, but the engine still runs and "
                       "answers ping; reconnected, nothing was restarted or lost"] * 3
    assert comparable(kr.state()) == before
    kr.set("bass/cutoff", 650)  # works on the new connection
    assert kr["bass"]["cutoff"] == 650
    assert kr.lifeline.revivals == 0 and len(notices) == 3


def test_a_drop_met_by_a_command_reconnects_and_sends_it(owned: tuple[Session, list[str]],
                                                          monkeypatch: pytest.MonkeyPatch):
    """A command that meets the dropped connection (before the watcher looks) is sent
    again on a fresh connection to the same engine, and says which command it was."""
    kr, notices = owned
    monkeypatch.setattr(lifeline, "WATCH_PERIOD", 3600.0)  # the watcher sleeps: the command finds the drop
    time.sleep(2 * 0.2)  # its current look ends; the next is an hour away
    kr.tempo = 100
    pid = kr.lifeline.process.pid
    drop_connection(kr)
    kr.tempo = 90
    assert kr.tempo == 90 and kr.lifeline.process.pid == pid
    assert notices == ["krach: the connection to the engine ended while answering 'tempo', but the "
                       "engine still runs and answers ping; reconnected, nothing was restarted or lost"]


def test_a_hung_engine_is_replaced(owned: tuple[Session, list[str]], monkeypatch: pytest.MonkeyPatch):
    """An engine that accepts a connection but never answers ping (stopped with SIGSTOP)
    is hung: it is killed and replaced, and the line says why."""
    kr, notices = owned
    monkeypatch.setattr(lifeline, "HUNG_AFTER", 1.0)  # it never answers: any wait is enough
    build(kr)
    wait_for(lambda: not kr.lifeline.journal)
    before, old = comparable(kr.state()), kr.lifeline.process
    os.kill(old.pid, signal.SIGSTOP)
    drop_connection(kr)
    wait_for(lambda: notices, timeout=30.0)
    assert old.wait(10) == -signal.SIGKILL and kr.lifeline.process.pid != old.pid
    assert notices == ["krach: the engine stopped (hung: it did not answer ping within 1 s; killed "
                       "it); restarted it and replayed the session (5 nodes, 4 patterns, 1 routes, "
                       "1 scenes)"]
    assert comparable(kr.state()) == before


def test_a_crash_loop_stops_after_the_bound(owned: tuple[Session, list[str]]):
    """An engine that dies again and again is restarted RESTART_LIMIT times within a
    minute, then the lifeline says it gives up and stops; commands then raise that."""
    kr, notices = owned
    kr.tempo = 100
    for n in range(1, lifeline.RESTART_LIMIT + 1):
        os.kill(kr.lifeline.process.pid, signal.SIGKILL)
        wait_for(lambda: len(notices) == n, timeout=30.0)
        assert notices[-1].startswith("krach: the engine stopped (killed by SIGKILL); restarted it")
    last = kr.lifeline.process
    os.kill(last.pid, signal.SIGKILL)
    wait_for(lambda: len(notices) == lifeline.RESTART_LIMIT + 1, timeout=30.0)
    assert notices[-1] == ("krach: the engine stopped again (killed by SIGKILL) after 3 restarts within "
                           "60 s; krach stops restarting it. See its log (~/.krach/engine.log), fix the "
                           "cause and start krach again")
    assert kr.lifeline.process is last and last.poll() == -signal.SIGKILL
    with pytest.raises(ConnectionError, match="krach stops restarting it"):
        kr.tempo
    time.sleep(1.0)  # the watcher has stopped: no more lines
    assert len(notices) == lifeline.RESTART_LIMIT + 1
    kr.lifeline.process = None  # killed on purpose here: the fixture expects a clean exit otherwise
