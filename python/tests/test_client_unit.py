"""Client behaviour a real engine cannot show on demand, against a fake server.

The fake speaks just enough of the protocol to split replies across reads,
send a reply bigger than any single read, stay silent, or not exist at all.
Everything else is tested end to end against the real engine (test_e2e_*.py).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from krach.client import Client
from krach.errors import KrachError

Handler = Callable[[socket.socket, "Lines"], None]


class Lines:
    """Reads request lines from the fake server's side of a connection."""

    def __init__(self, conn: socket.socket) -> None:
        self.file = conn.makefile("rb")

    def next(self) -> dict:
        line = self.file.readline()
        assert line.endswith(b"\n"), "a request must end with a newline"
        return json.loads(line)


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[Callable[[Handler], str]]:
    """Start a one-connection Unix socket server running `handler`; yield its path."""
    servers: list[tuple[socket.socket, threading.Thread]] = []

    def start(handler: Handler) -> str:
        path = str(tmp_path / f"fake{len(servers)}.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                try:
                    handler(conn, Lines(conn))
                except (OSError, ValueError, AssertionError):
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        servers.append((server, thread))
        return path

    yield start
    for server, thread in servers:
        server.close()
        thread.join(timeout=2)


def reply(req: dict, **fields: object) -> bytes:
    return json.dumps({"id": req["id"], "ok": True, **fields}).encode() + b"\n"


def test_reply_split_across_reads(fake_engine: Callable[[Handler], str]) -> None:
    def handler(conn: socket.socket, lines: Lines) -> None:
        data = reply(lines.next(), version="0.1.0")
        for i in range(0, len(data), 3):  # a few bytes at a time
            conn.sendall(data[i : i + 3])
            time.sleep(0.002)

    with Client(fake_engine(handler)) as client:
        assert client.request("ping")["version"] == "0.1.0"


def test_two_replies_in_one_read_and_a_stale_id(fake_engine: Callable[[Handler], str]) -> None:
    def handler(conn: socket.socket, lines: Lines) -> None:
        first = lines.next()
        # A late reply to some earlier request, then the real one, in one write.
        conn.sendall(json.dumps({"id": 999, "ok": True}).encode() + b"\n" + reply(first, n=1))
        second = lines.next()
        conn.sendall(reply(second, n=2))

    with Client(fake_engine(handler)) as client:
        assert client.request("status")["n"] == 1
        assert client.request("status")["n"] == 2


def test_big_reply(fake_engine: Callable[[Handler], str]) -> None:
    names = [f"node{i:06d}" for i in range(300_000)]  # about 4 MB of JSON

    def handler(conn: socket.socket, lines: Lines) -> None:
        conn.sendall(reply(lines.next(), nodes=names))

    with Client(fake_engine(handler)) as client:
        assert client.request("status")["nodes"] == names


def test_timeout_names_the_command(fake_engine: Callable[[Handler], str]) -> None:
    def handler(conn: socket.socket, lines: Lines) -> None:
        lines.next()
        time.sleep(5.0)  # never answers in time

    with Client(fake_engine(handler)) as client:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="'tone_add'"):
            client.request("tone_add", timeout=0.2, name="a")
        assert time.monotonic() - start < 4.0  # it gave up, not waited for the 5 s answer


def test_no_socket_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError, match=r"\./bin/krach") as info:
        Client(str(tmp_path / "nothing.sock"))
    assert "./bin/krach engine" in str(info.value)


def test_stale_socket_file_says_how_to_start(tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # a socket file nobody listens on
    dead.close()
    with pytest.raises(ConnectionError, match=r"\./bin/krach"):
        Client(path)


def test_a_request_over_the_line_limit_is_refused_before_sending(
    fake_engine: Callable[[Handler], str],
) -> None:
    # The engine would drop it and answer with id null, so the client would only time out.
    seen: list[dict] = []

    def handler(conn: socket.socket, lines: Lines) -> None:
        seen.append(lines.next())
        conn.sendall(json.dumps({"id": seen[0]["id"], "ok": True}).encode() + b"\n")

    with Client(fake_engine(handler)) as client:
        with pytest.raises(KrachError, match="line_too_long: the 'ping' request is") as info:
            client.request("ping", pad="x" * (1 << 20))
        assert info.value.code == "line_too_long"
        assert client.request("ping")["ok"] is True
    assert [r["cmd"] for r in seen] == ["ping"] and "pad" not in seen[0]
