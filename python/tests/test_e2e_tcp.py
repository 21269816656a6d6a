"""TCP transport: token file, authentication, loopback-only by default."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import time
from pathlib import Path

import pytest

from e2e_support import Conn, Engine, child_env, error_of, free_tcp_port, run_engine_to_exit
from krach.client import Client
from krach.errors import KrachError


@pytest.fixture
def tcp_engine(start_engine, tmp_path: Path):
    port = free_tcp_port()
    token_file = tmp_path / "secret" / "token"  # the engine makes the folder too
    engine = start_engine("--offline", "--tcp", f"127.0.0.1:{port}", "--token-file",
                          str(token_file))
    engine.port = port
    engine.token_file = token_file
    return engine


def read_token(path: Path) -> str:
    return path.read_text().strip()


def test_token_file_is_created_private_and_random(tcp_engine: Engine):
    path = tcp_engine.token_file
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, f"token file mode {oct(mode)}"
    token = read_token(path)
    assert re.fullmatch(r"[0-9a-f]{32,}", token), token
    assert len(set(token)) > 8  # not a constant
    assert not (tcp_engine.home / ".krach" / "token").exists()  # --token-file was honoured


def test_unauthenticated_commands_are_refused_and_the_connection_closed(tcp_engine: Engine):
    # One source address per request (all of 127/8 is loopback), so the lockout
    # that repeated failures from one address earn does not come into play.
    for n, req in enumerate(({"id": 1, "cmd": "ping"}, {"id": 2, "cmd": "status"},
                             {"id": 3, "cmd": "tone_add", "name": "x"},
                             {"id": 4, "cmd": "render", "frames": 10}, {"id": 5, "cmd": "shutdown"},
                             {"id": 6, "cmd": "auth"})):
        with Conn(("127.0.0.1", tcp_engine.port), source=f"127.0.1.{n + 1}") as c:
            reply = c.ask(req)
            code, message = error_of(reply)
            assert reply["id"] == req["id"]
            if req["cmd"] == "auth":
                assert code == "missing_field" and "token" in message
            else:
                assert code == "unauthorized" and "auth" in message and "token" in message
                assert "connection is closed" in message
            assert c.at_eof(), f"the engine hangs up after {req['cmd']} without auth"
    # The refused shutdown did not stop anything, nothing was created.
    status = tcp_engine.status()
    assert status["nodes"] == [] and status["frames"] == 0


def test_wrong_token_is_refused_and_the_connection_closed(tcp_engine: Engine):
    right = read_token(tcp_engine.token_file)
    for n, wrong in enumerate(("0" * len(right), right[:-1], right + "0", "")):
        with Conn(("127.0.0.1", tcp_engine.port), source=f"127.0.2.{n + 1}") as c:
            reply = c.ask(id=1, cmd="auth", token=wrong)
            assert error_of(reply)[0] == "unauthorized" and reply["id"] == 1
            assert c.at_eof(), "the engine hangs up after a wrong token"
    assert "wrong token" in tcp_engine.log_path.read_text()
    assert tcp_engine.ask(cmd="ping")["ok"] is True  # the engine is fine


def test_a_wrong_token_client_can_run_no_command(tcp_engine: Engine):
    # Everything pipelined behind a wrong auth, in one write: nothing of it runs.
    with Conn(("127.0.0.1", tcp_engine.port), source="127.0.3.1") as c:
        c.send(b"".join(json.dumps(r).encode() + b"\n" for r in (
            {"id": 1, "cmd": "auth", "token": "not-the-token-0123456789"},
            {"id": 2, "cmd": "tone_add", "name": "intruder"},
            {"id": 3, "cmd": "master", "gain": 0},
            {"id": 4, "cmd": "shutdown"})))
        assert error_of(c.reply())[0] == "unauthorized"
        assert c.at_eof()
    # Garbage instead of auth is refused the same way.
    with Conn(("127.0.0.1", tcp_engine.port), source="127.0.3.2") as c:
        c.send(b"\x00\xff not json\n{\"id\": 2, \"cmd\": \"tone_add\", \"name\": \"x\"}\n")
        assert error_of(c.reply())[0] == "bad_json"
        assert c.at_eof()
    status = tcp_engine.status()
    assert status["nodes"] == [] and status["master"] == 1.0


def locked_out(port: int, source: str) -> str | None:
    """The locked_out message a new connection from `source` gets at once, or None if served."""
    with Conn(("127.0.0.1", port), source=source) as c:
        # Sent before the engine has said anything: it must not even be read.
        c.send_json({"id": 1, "cmd": "auth", "token": "x" * 20})
        reply = c.reply()
        if reply.get("ok") is False and reply["error"]["code"] == "locked_out":
            assert reply["id"] is None and c.at_eof()
            return str(reply["error"]["message"])
        return None


def test_repeated_failures_lock_the_address_out_exponentially(tcp_engine: Engine):
    port, right = tcp_engine.port, read_token(tcp_engine.token_file)
    guesser, neighbour = "127.0.4.1", "127.0.4.2"

    def fail() -> None:
        with Conn(("127.0.0.1", port), source=guesser) as c:
            assert error_of(c.ask(cmd="auth", token="guess-0123456789abcdef"))[0] == "unauthorized"
            assert c.at_eof()

    for _ in range(3):  # three free tries (typos happen)
        fail()
    assert locked_out(port, guesser) is None  # that connection was a fourth failure: 1 s lockout
    started = time.monotonic()
    message = locked_out(port, guesser)
    assert message is not None and "127.0.4.1" in message and "try again in" in message
    wait = float(re.search(r"in ([0-9.]+) s", message).group(1))
    assert 0.0 < wait <= 1.0
    # Even the right token is refused while locked out: it is not looked at.
    with Conn(("127.0.0.1", port), source=guesser) as c:
        c.send_json({"id": 1, "cmd": "auth", "token": right})
        assert error_of(c.reply())[0] == "locked_out" and c.at_eof()
    # Another address is not affected.
    with Conn(("127.0.0.1", port), source=neighbour) as c:
        assert c.ask(cmd="auth", token=right)["ok"] is True
    time.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
    fail()  # the fifth failure doubles the lockout: 2 s
    message = locked_out(port, guesser)
    assert message is not None and 1.5 < float(re.search(r"in ([0-9.]+) s", message).group(1)) <= 2.0
    time.sleep(2.05)
    with Conn(("127.0.0.1", port), source=guesser) as c:  # success resets the count
        assert c.ask(cmd="auth", token=right)["ok"] is True
    for _ in range(3):
        fail()
    assert "locked out" in tcp_engine.log_path.read_text()
    assert tcp_engine.ask(cmd="ping")["ok"] is True


def test_silent_tcp_clients_cannot_take_every_slot(tcp_engine: Engine):
    silent = [Conn(("127.0.0.1", tcp_engine.port), source=f"127.0.5.{n + 1}") for n in range(8)]
    try:
        with Conn(("127.0.0.1", tcp_engine.port), source="127.0.5.100") as c:
            code, message = error_of(c.reply())
            assert code == "limit" and "waiting to authenticate" in message
        assert tcp_engine.ask(cmd="ping")["ok"] is True  # local clients are still served
        # Ten seconds without auth: each is told so and dropped.
        for c in silent:
            code, message = error_of(c.reply(timeout=15))
            assert code == "unauthorized" and "no auth within 10 s" in message
            assert c.at_eof(timeout=5)
    finally:
        for c in silent:
            c.close()
    with Client(f"tcp://127.0.0.1:{tcp_engine.port}", token=read_token(tcp_engine.token_file)) as client:
        assert client.request("ping")["ok"] is True


def test_right_token_works_raw_and_through_the_client(tcp_engine: Engine, tmp_path: Path):
    token = read_token(tcp_engine.token_file)
    with Conn(("127.0.0.1", tcp_engine.port)) as c:
        assert c.ask(cmd="auth", token=token)["ok"] is True
        assert c.ask(id=2, cmd="tone_add", name="tcp", freq=440)["ok"] is True
        reply = c.ask(id=3, cmd="render", frames=480, path="t.wav")  # in the files folder
        assert reply["frames"] == 480
    with Client(f"tcp://127.0.0.1:{tcp_engine.port}", token=token) as client:
        assert client.request("status")["nodes"] == ["tcp"]
    with pytest.raises(KrachError) as err:
        Client(f"tcp://127.0.0.1:{tcp_engine.port}", token="f" * 64)
    assert err.value.code == "unauthorized"
    assert (tcp_engine.home / ".krach" / "files" / "t.wav").stat().st_size > 480 * 2 * 4


def test_unix_socket_clients_need_no_auth(tcp_engine: Engine):
    with tcp_engine.conn() as c:
        assert c.ask(cmd="ping")["ok"] is True
        assert c.ask(cmd="auth", token="anything")["ok"] is True  # accepted, ignored


def test_an_existing_token_file_is_reused(start_engine, tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text("my-own-token-0123456789\n")
    token_file.chmod(0o600)
    port = free_tcp_port()
    engine = start_engine("--offline", "--tcp", f"127.0.0.1:{port}", "--token-file",
                          str(token_file))
    with Conn(("127.0.0.1", port)) as c:
        assert c.ask(cmd="auth", token="my-own-token-0123456789")["ok"] is True
    assert token_file.read_text() == "my-own-token-0123456789\n"
    assert engine.status()["backend"] == "offline"


def test_an_unusable_token_file_stops_the_start(engine_bin: str, engine_home: Path,
                                                tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text("short\n")
    result = run_engine_to_exit(engine_bin, [
        "--offline", "--socket", str(tmp_path / "e.sock"), "--log", str(tmp_path / "log"),
        "--tcp", f"127.0.0.1:{free_tcp_port()}", "--token-file", str(token_file)],
        child_env(engine_home))
    assert result.returncode != 0
    assert str(token_file) in result.stderr and "token" in result.stderr


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606])
def test_a_token_file_others_can_read_is_refused(engine_bin: str, engine_home: Path,
                                                tmp_path: Path, mode: int):
    token_file = tmp_path / "token"
    token_file.write_text("my-own-token-0123456789\n")
    token_file.chmod(mode)
    result = run_engine_to_exit(engine_bin, [
        "--offline", "--socket", str(tmp_path / "e.sock"), "--log", str(tmp_path / "log"),
        "--tcp", f"127.0.0.1:{free_tcp_port()}", "--token-file", str(token_file)],
        child_env(engine_home))
    assert result.returncode != 0
    assert f"token file {token_file} is readable or writable by others (mode {mode:03o})" in result.stderr
    assert f"chmod 600 {token_file}" in result.stderr
    assert stat.S_IMODE(token_file.stat().st_mode) == mode  # not silently changed


def test_explicit_token(start_engine, tmp_path: Path):
    port = free_tcp_port()
    token_file = tmp_path / "never-written"
    start_engine("--offline", "--tcp", f"127.0.0.1:{port}", "--token",
                 "explicit-token-for-tests", "--token-file", str(token_file))
    with Client(f"tcp://127.0.0.1:{port}", token="explicit-token-for-tests") as client:
        assert client.request("ping")["ok"] is True
    with Conn(("127.0.0.1", port)) as c:
        assert error_of(c.ask(cmd="auth", token="explicit-token-for-test"))[0] == "unauthorized"
    assert not token_file.exists(), "--token writes no file"


def listening_sockets(port: int) -> list[tuple[str, str]]:
    """(family, local address hex) of every TCP listener on `port`, from /proc/net."""
    found = []
    for family in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{family}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append((family, address))
    return found


def other_local_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (may be none)."""
    out = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outgoing address
            address = s.getsockname()[0]
            if not address.startswith("127."):
                out.append(address)
    except OSError:
        pass
    return out


def test_tcp_binds_loopback_by_default(start_engine, engine_home: Path, tmp_path: Path):
    port = free_tcp_port()
    start_engine("--offline", "--tcp", str(port), "--token-file", str(tmp_path / "token"))
    # Exactly one listener on the port: IPv4 127.0.0.1 (0100007F in /proc/net/tcp).
    assert listening_sockets(port) == [("tcp", "0100007F")]
    with Conn(("127.0.0.1", port)) as c:
        assert error_of(c.ask(cmd="ping"))[0] == "unauthorized"
    for address in other_local_addresses():
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()
