"""TCP transport: token file, authentication, loopback-only by default."""

from __future__ import annotations

import os
import re
import socket
import stat
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


def test_unauthenticated_commands_are_refused_and_the_connection_stays(tcp_engine: Engine):
    with Conn(("127.0.0.1", tcp_engine.port)) as c:
        for req in ({"id": 1, "cmd": "ping"}, {"id": 2, "cmd": "status"},
                    {"id": 3, "cmd": "tone_add", "name": "x"}, {"id": 4, "cmd": "render",
                                                                "frames": 10},
                    {"id": 5, "cmd": "shutdown"}):
            reply = c.ask(req)
            code, message = error_of(reply)
            assert code == "unauthorized" and reply["id"] == req["id"]
            assert "auth" in message and "token" in message
        # Still open: authenticate on the same connection and carry on.
        assert c.ask(id=6, cmd="auth", token=read_token(tcp_engine.token_file)) == \
            {"id": 6, "ok": True}
        assert c.ask(id=7, cmd="ping")["ok"] is True
    # The refused shutdown did not stop anything, nothing was created.
    status = tcp_engine.status()
    assert status["nodes"] == [] and status["frames"] == 0


def test_wrong_token_is_refused_and_the_connection_closed(tcp_engine: Engine):
    right = read_token(tcp_engine.token_file)
    for wrong in ("0" * len(right), right[:-1], right + "0", ""):
        with Conn(("127.0.0.1", tcp_engine.port)) as c:
            reply = c.ask(id=1, cmd="auth", token=wrong)
            assert error_of(reply)[0] == "unauthorized" and reply["id"] == 1
            assert c.at_eof(), "the engine hangs up after a wrong token"
    assert "wrong token" in tcp_engine.log_path.read_text()
    assert tcp_engine.ask(cmd="ping")["ok"] is True  # the engine is fine


def test_right_token_works_raw_and_through_the_client(tcp_engine: Engine, tmp_path: Path):
    token = read_token(tcp_engine.token_file)
    with Conn(("127.0.0.1", tcp_engine.port)) as c:
        assert c.ask(cmd="auth", token=token)["ok"] is True
        assert c.ask(id=2, cmd="tone_add", name="tcp", freq=440)["ok"] is True
        reply = c.ask(id=3, cmd="render", frames=480, path=str(tmp_path / "t.wav"))
        assert reply["frames"] == 480
    with Client(f"tcp://127.0.0.1:{tcp_engine.port}", token=token) as client:
        assert client.request("status")["nodes"] == ["tcp"]
    with pytest.raises(KrachError) as err:
        Client(f"tcp://127.0.0.1:{tcp_engine.port}", token="f" * 64)
    assert err.value.code == "unauthorized"
    assert (tmp_path / "t.wav").stat().st_size > 480 * 2 * 4


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
