"""Abuse: files a client asks the engine to write (`render`, `record`).

A FIFO — with no reader, or with a reader that never reads — must be refused
at once, while another client keeps getting answers and patterns keep
playing: the engine writes only regular files, and never blocks opening one.
A TCP client writes only inside the engine's files folder (``--files-dir``):
absolute paths, ``..``, symbolic links (as the file or as a sub-folder) and
hard links are refused; a plain name lands inside the folder. A local
(Unix-socket) client is the user and still writes where it asks.

Every file and link is made inside the test's tmp_path: the links point at
targets there, never at system files. The engine's working directory is the
files folder, so that an engine which ignored the folder would resolve the
same names there and visibly write through the links.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e_support import REPO, Conn, Engine, child_env, error_of, free_tcp_port
from krach import signal as krs
from krach.client import Client
from krach.errors import KrachError
from krach.session import Session

HANG_GUARD = 20.0  # seconds: only a frozen engine takes this long to answer
CLI_HANG_GUARD = 120.0  # `krach render` starts its own (ASan) engine
TOKEN = "abuse-files-token-0123456789"
TARGET_BYTES = b"outside the files folder: must stay as it is\n"


def _refused_while_others_are_served(engine: Engine, request: dict[str, object]) -> str:
    """Send `request` on one connection; another client must get answers before
    and after its reply, which must be an io_error. Returns its message."""
    with engine.conn(timeout=HANG_GUARD) as bad, engine.conn(timeout=HANG_GUARD) as good:
        bad.send_json(request)
        assert good.ask(cmd="ping")["ok"]
        code, message = error_of(bad.reply())
        assert good.ask(cmd="ping")["ok"]
    assert code == "io_error", message
    return message


def _start_pattern(engine: Engine) -> None:
    """A synth whose output is its gate, hit 16 times per 0.5 s cycle."""
    with engine.conn() as c:
        ir = krs.trace(lambda: krs.control("gate", 0.0, 0.0, 1.0) * 1.0)
        assert c.ask(cmd="node_set", name="click", ir=ir)["ok"]
        assert c.ask(cmd="tone_add", name="hum", freq=441.0, gain=0.5)["ok"]
        assert c.ask(cmd="tempo", bpm=480)["ok"]
        assert c.ask(cmd="play", target="click", mini="x*16")["ok"]


def _pattern_keeps_playing(engine: Engine) -> None:
    """New hits of the pattern are applied (polled; the guard only stops a hang)."""
    with engine.conn(timeout=HANG_GUARD) as c:
        c.ask(cmd="applied_events")  # forget what came before
        hits = 0
        deadline = time.monotonic() + HANG_GUARD
        while hits < 16 and time.monotonic() < deadline:
            time.sleep(0.1)
            hits += sum(e["value"] == 1.0 for e in c.ask(cmd="applied_events")["events"])
    assert hits >= 16, f"the pattern stopped: {hits} hits applied"


@pytest.fixture
def live_engine(start_engine: Callable[..., Engine]) -> Engine:
    engine = start_engine("--backend", "null", "--record-events")
    _start_pattern(engine)
    return engine


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.flac"
    os.mkfifo(path)
    yield path
    # An engine stuck opening it (the defect) gets its reader, and can go.
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))


@pytest.fixture
def stalled_reader(fifo: Path) -> Iterator[int]:
    """A reader that opens the FIFO and never reads from it."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    yield fd
    os.close(fd)


# ---- FIFOs ------------------------------------------------------------------


def test_record_to_a_fifo_without_reader_is_refused_at_once(live_engine: Engine, fifo: Path):
    message = _refused_while_others_are_served(live_engine, {"cmd": "record", "path": str(fifo)})
    assert str(fifo) in message and "FIFO" in message and "regular file" in message
    assert live_engine.status()["recording"] is None
    _pattern_keeps_playing(live_engine)


def test_record_to_a_fifo_with_a_stalled_reader_is_refused(live_engine: Engine, fifo: Path,
                                                           stalled_reader: int):
    message = _refused_while_others_are_served(live_engine, {"cmd": "record", "path": str(fifo)})
    assert "FIFO" in message
    time.sleep(1.0)  # a recorder writing to the pipe would have filled it by now
    assert live_engine.ask(cmd="ping")["ok"]
    _pattern_keeps_playing(live_engine)


def test_render_to_a_fifo_without_reader_is_refused_at_once(start_engine: Callable[..., Engine],
                                                            fifo: Path, tmp_path: Path):
    engine = start_engine("--offline")
    assert engine.ask(cmd="tone_add", name="hum", freq=441.0, gain=0.5)["ok"]
    request = {"cmd": "render", "seconds": 10.0, "path": str(fifo)}
    assert "FIFO" in _refused_while_others_are_served(engine, request)
    ok = engine.ask(cmd="render", frames=480, path=str(tmp_path / "after.wav"))
    assert ok["ok"] and ok["position"] == 480  # the refused render did not move time


def test_render_to_a_fifo_with_a_stalled_reader_is_refused(start_engine: Callable[..., Engine],
                                                           fifo: Path, stalled_reader: int):
    engine = start_engine("--offline")
    assert engine.ask(cmd="tone_add", name="hum", freq=441.0, gain=0.5)["ok"]
    request = {"cmd": "render", "seconds": 10.0, "path": str(fifo)}  # megabytes of FLAC
    assert "FIFO" in _refused_while_others_are_served(engine, request)


def test_python_client_names_the_fifo(offline_engine: Engine, fifo: Path):
    with Session(offline_engine.client()) as kr:
        with pytest.raises(KrachError) as err:
            kr.record(fifo)
    assert err.value.code == "io_error" and "FIFO" in err.value.message


def test_krach_render_to_a_fifo_says_so(engine_bin: str, engine_home: Path, fifo: Path,
                                        tmp_path: Path):
    session = tmp_path / "session.py"
    session.write_text('kr.tone("a", 440, gain=0.25)\n')
    result = subprocess.run([str(REPO / "bin" / "krach"), "render", str(session), "-o", str(fifo),
                             "--seconds", "1"], env=child_env(engine_home, KRACH_ENGINE=engine_bin),
                            capture_output=True, text=True, timeout=CLI_HANG_GUARD,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    assert str(fifo) in result.stderr and "FIFO" in result.stderr, result.stderr
    assert fifo.is_fifo()  # the user's FIFO is left where it was


# ---- TCP clients: the files folder -------------------------------------------


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.chdir(folder)  # the engine's working directory (see the module docstring)
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the files folder, holding a file links may point at."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "target.wav").write_bytes(TARGET_BYTES)
    return folder


def _start_tcp(start_engine: Callable[..., Engine], *flags: str) -> Engine:
    port = free_tcp_port()
    engine = start_engine("--offline", "--tcp", f"127.0.0.1:{port}", "--token", TOKEN, *flags)
    engine.port = port  # type: ignore[attr-defined]
    return engine


@pytest.fixture
def tcp_engine(start_engine: Callable[..., Engine], files: Path) -> Engine:
    return _start_tcp(start_engine, "--files-dir", str(files))


def _tcp(engine: Engine) -> Conn:
    conn = Conn(("127.0.0.1", engine.port), timeout=HANG_GUARD)  # type: ignore[attr-defined]
    assert conn.ask(cmd="auth", token=TOKEN)["ok"]
    return conn


def _write(conn: Conn, cmd: str, path: str) -> dict[str, object]:
    if cmd == "render":
        return conn.ask(cmd="render", frames=480, path=path)
    reply = conn.ask(cmd="record", path=path)
    if reply["ok"]:
        assert conn.ask(cmd="render", frames=480)["ok"]
        assert conn.ask(cmd="record_stop")["ok"]
    return reply


def _forbidden(reply: dict[str, object]) -> str:
    code, message = error_of(reply)
    assert code == "forbidden", message
    assert "files folder" in message and "--files-dir" in message
    return message


@pytest.mark.parametrize("cmd", ["render", "record"])
def test_tcp_client_cannot_write_through_a_symlink(tcp_engine: Engine, files: Path,
                                                  outside: Path, cmd: str):
    (files / "link.wav").symlink_to(outside / "target.wav")
    with _tcp(tcp_engine) as c:
        assert "symbolic link" in _forbidden(_write(c, cmd, "link.wav"))
    assert (outside / "target.wav").read_bytes() == TARGET_BYTES


@pytest.mark.parametrize("cmd", ["render", "record"])
def test_tcp_client_paths_are_confined(tcp_engine: Engine, files: Path, outside: Path,
                                       tmp_path: Path, cmd: str):
    (files / "sub").symlink_to(outside, target_is_directory=True)
    with _tcp(tcp_engine) as c:
        assert "absolute" in _forbidden(_write(c, cmd, str(tmp_path / "abs.wav")))
        assert "'..'" in _forbidden(_write(c, cmd, "../escape.wav"))
        assert "'..'" in _forbidden(_write(c, cmd, "sub/../escape.wav"))
        assert "symbolic link" in _forbidden(_write(c, cmd, "sub/new.wav"))
    assert not (tmp_path / "abs.wav").exists() and not (tmp_path / "escape.wav").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["target.wav"]


def test_tcp_client_cannot_write_through_a_hard_link(tcp_engine: Engine, files: Path,
                                                     outside: Path):
    os.link(outside / "target.wav", files / "hard.wav")
    with _tcp(tcp_engine) as c:
        assert "hard links" in _forbidden(_write(c, "render", "hard.wav"))
    assert (outside / "target.wav").read_bytes() == TARGET_BYTES


def test_tcp_client_plain_names_land_in_the_folder(start_engine: Callable[..., Engine],
                                                  files: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch):
    (files / "takes").mkdir()
    cwd = tmp_path / "cwd"
    (cwd / "takes").mkdir(parents=True)
    monkeypatch.chdir(cwd)  # names are taken in the folder, not in the working directory
    engine = _start_tcp(start_engine, "--files-dir", str(files))
    with _tcp(engine) as c:
        assert _write(c, "render", "take.wav")["ok"]
        assert _write(c, "record", "takes/live.wav")["ok"]
    assert (files / "take.wav").stat().st_size > 480 * 8
    assert (files / "takes" / "live.wav").stat().st_size > 480 * 8
    assert oct((files / "take.wav").stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    assert not (cwd / "take.wav").exists() and not (cwd / "takes" / "live.wav").exists()


def test_tcp_python_client_sends_names_relative_to_the_folder(tcp_engine: Engine, files: Path,
                                                             tmp_path: Path):
    address = f"tcp://127.0.0.1:{tcp_engine.port}"  # type: ignore[attr-defined]
    with Session(Client(address, token=TOKEN)) as kr:
        kr.render("take.wav", frames=480)
        with pytest.raises(KrachError) as err:
            kr.record(tmp_path / "abs.wav")
    assert (files / "take.wav").is_file()
    assert err.value.code == "forbidden" and "--files-dir" in err.value.message
    assert not (tmp_path / "abs.wav").exists()


def test_files_folder_is_created_private(start_engine: Callable[..., Engine], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # an engine that ignored the folder writes here, not in the repo
    engine = _start_tcp(start_engine)
    with _tcp(engine) as c:
        assert _write(c, "render", "take.wav")["ok"]
    folder = engine.home / ".krach" / "files"  # the default, under the engine's HOME
    assert (folder / "take.wav").is_file()
    assert folder.stat().st_mode & 0o777 == 0o700


# ---- local clients: the user ------------------------------------------------


def test_unix_client_still_writes_where_it_asks(tcp_engine: Engine, files: Path, outside: Path,
                                                tmp_path: Path):
    (tmp_path / "mine.wav").symlink_to(outside / "target.wav")  # the user's own link
    with tcp_engine.conn(timeout=HANG_GUARD) as c:
        assert _write(c, "render", str(tmp_path / "abs.wav"))["ok"]
        assert _write(c, "record", str(tmp_path / "rec.wav"))["ok"]
        assert _write(c, "render", str(tmp_path / "mine.wav"))["ok"]
    assert (tmp_path / "abs.wav").is_file() and (tmp_path / "rec.wav").is_file()
    assert (outside / "target.wav").read_bytes()[:4] == b"RIFF"  # followed, as the user's shell


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
