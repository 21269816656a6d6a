"""The wire protocol (docs/protocol.md) against the real engine over its Unix socket."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from e2e_support import Conn, Engine, child_env, error_of, run_engine_to_exit

COMMANDS = ["ping", "status", "shutdown", "master", "tone_add", "tone_set", "tone_remove",
            "render", "auth"]
MIB = 1024 * 1024


# ---- ping and status ----------------------------------------------------------


def test_ping_echoes_id_and_reports_the_engine_version(offline_engine: Engine, engine_bin: str):
    version = subprocess.run([engine_bin, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    with offline_engine.conn() as c:
        assert c.ask(id=7, cmd="ping") == {"id": 7, "ok": True, "version": version}
        # No id in the request: the reply carries id null.
        assert c.ask(cmd="ping") == {"id": None, "ok": True, "version": version}


def test_ids_are_echoed_exactly(offline_engine: Engine):
    with offline_engine.conn() as c:
        for req_id in (0, 1, -5, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)):
            assert c.ask(id=req_id, cmd="ping")["id"] == req_id
        # Errors echo the id too.
        reply = c.ask(id=99, cmd="tone_set", name="nope")
        assert reply["id"] == 99 and error_of(reply)[0] == "unknown_node"


def test_offline_status_fields_and_types(offline_engine: Engine):
    with offline_engine.conn() as c:
        s = c.ask(id=2, cmd="status")
    assert s["id"] == 2 and s["ok"] is True
    assert s["backend"] == "offline" and s["device"] == "none"
    assert "fallback_reason" not in s
    types = {"version": str, "backend": str, "device": str, "sample_rate": int,
             "block_size": int, "channels": int, "uptime": float, "frames": int,
             "cpu_load": float, "xruns": int, "clients": int, "master": float,
             "nodes": list, "nonfinite": int}
    for key, kind in types.items():
        assert type(s[key]) is kind, f"status.{key} is {s[key]!r}, expected {kind.__name__}"
    assert s["sample_rate"] == 48000 and s["block_size"] == 256 and s["channels"] == 2
    # Offline time moves only on render.
    assert s["frames"] == 0 and s["xruns"] == 0 and s["nonfinite"] == 0
    assert s["master"] == 1.0 and s["nodes"] == [] and s["clients"] == 1
    assert 0.0 <= s["cpu_load"] <= 1.0 and 0.0 <= s["uptime"] < 60


def test_status_reflects_sample_rate_block_size_nodes_and_master(start_engine):
    engine = start_engine("--offline", "--sample-rate", "44100", "--block-size", "128")
    with engine.conn() as c:
        assert c.ask(cmd="tone_add", name="a", freq=440)["ok"]
        assert c.ask(cmd="tone_add", name="b", freq=880)["ok"]
        assert c.ask(cmd="master", gain=0.5) == {"id": None, "ok": True, "gain": 0.5}
        assert c.ask(cmd="master") == {"id": None, "ok": True, "gain": 0.5}
        s = c.ask(cmd="status")
        assert (s["sample_rate"], s["block_size"]) == (44100, 128)
        assert s["nodes"] == ["a", "b"] and s["master"] == 0.5
        c.ask(cmd="tone_remove", name="a")
        assert c.ask(cmd="status")["nodes"] == ["b"]


def test_uptime_grows(offline_engine: Engine):
    first = offline_engine.status()["uptime"]
    time.sleep(0.3)
    second = offline_engine.status()["uptime"]
    assert 0.25 <= second - first < 5.0


def test_null_backend_status(null_engine: Engine):
    s = null_engine.status()
    assert s["backend"] == "null" and s["device"] == "none"
    assert "null" in null_engine.ready_line
    time.sleep(0.2)
    assert null_engine.status()["frames"] > s["frames"]  # a real-time clock runs


def wait_for_clients(conn: Conn, expected: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = conn.ask(cmd="status")["clients"]
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def test_status_counts_concurrent_clients(offline_engine: Engine):
    with offline_engine.conn() as a:
        assert a.ask(cmd="status")["clients"] == 1
        with offline_engine.conn() as b:
            assert b.ask(cmd="ping")["ok"]  # b is surely accepted now
            assert a.ask(cmd="status")["clients"] == 2
            assert b.ask(cmd="status")["clients"] == 2
        assert wait_for_clients(a, 1) == 1


# ---- error paths ------------------------------------------------------------------


def test_bad_json_names_the_column(offline_engine: Engine):
    with offline_engine.conn() as c:
        c.send(b'{"id": 1, "cmd": ping}\n')
        reply = c.reply()
        code, message = error_of(reply)
        assert code == "bad_json" and reply["id"] is None
        # "ping" without quotes starts at column 18 (1-based); jansson reports
        # the column where it gave up, at the end of the bad token.
        col = int(re.search(r"column (\d+)", message).group(1))
        assert 18 <= col <= 22, message
        c.send(b'{"cmd": "ping"\n')
        code, message = error_of(c.reply())
        assert code == "bad_json" and "column 14" in message, message


@pytest.mark.parametrize("line, needle", [
    (b'[1, 2]', "object"),
    (b'[{"cmd": "ping"}]', "object"),
    (b'{"id": 1}', "cmd"),
    (b'{"id": 1, "cmd": 5}', "cmd"),
    (b'{"id": "x", "cmd": "ping"}', "id"),
    (b'{"id": 1.5, "cmd": "ping"}', "id"),
])
def test_bad_request(offline_engine: Engine, line: bytes, needle: str):
    with offline_engine.conn() as c:
        c.send(line + b"\n")
        code, message = error_of(c.reply())
    assert code == "bad_request"
    assert f"'{needle}'" in message or needle in message, message


@pytest.mark.parametrize("line", [b'"ping"', b"42", b"null"])
def test_json_scalars_are_bad_requests(offline_engine: Engine, line: bytes):
    with offline_engine.conn() as c:
        c.send(line + b"\n")
        assert error_of(c.reply())[0] == "bad_request"


def test_unknown_command_lists_the_commands(offline_engine: Engine):
    reply = offline_engine.ask(id=3, cmd="pong")
    code, message = error_of(reply)
    assert code == "unknown_command" and reply["id"] == 3
    assert "'pong'" in message
    listed = message.split("commands:")[1]
    for cmd in COMMANDS:
        assert re.search(rf"\b{cmd}\b", listed), f"{cmd} missing from: {message}"


@pytest.mark.parametrize("request_, field", [
    ({"cmd": "tone_add", "freq": 440}, "name"),
    ({"cmd": "tone_set", "freq": 440}, "name"),
    ({"cmd": "tone_remove"}, "name"),
    ({"cmd": "auth"}, "token"),
])
def test_missing_field_names_the_field(offline_engine: Engine, request_, field):
    code, message = error_of(offline_engine.ask(request_))
    assert code == "missing_field"
    assert f"'{field}'" in message and request_["cmd"] in message, message


def test_render_needs_frames_or_seconds(offline_engine: Engine):
    code, message = error_of(offline_engine.ask(cmd="render"))
    assert code == "missing_field" and "frames" in message and "seconds" in message
    code, message = error_of(offline_engine.ask(cmd="render", frames=10, seconds=1.0))
    assert code == "bad_request" and "exactly one" in message


@pytest.mark.parametrize("request_, field", [
    ({"cmd": "tone_add", "name": "a", "freq": "loud"}, "freq"),
    ({"cmd": "tone_add", "name": "a", "gain": [1]}, "gain"),
    ({"cmd": "tone_add", "name": 5}, "name"),
    ({"cmd": "tone_add", "name": "a", "fault": 1}, "fault"),
    ({"cmd": "master", "gain": "half"}, "gain"),
    ({"cmd": "render", "frames": 1.5}, "frames"),
    ({"cmd": "render", "seconds": "1"}, "seconds"),
    ({"cmd": "render", "frames": 10, "path": 3}, "path"),
    ({"cmd": "render", "frames": 10, "append": "yes"}, "append"),
    ({"cmd": "auth", "token": None}, "token"),
])
def test_bad_type_names_the_field(offline_engine: Engine, request_, field):
    code, message = error_of(offline_engine.ask(request_))
    assert code == "bad_type" and f"'{field}'" in message, message


@pytest.mark.parametrize("request_, needle", [
    ({"cmd": "tone_add", "name": "a", "freq": -1}, "'freq'"),
    ({"cmd": "tone_add", "name": "a", "freq": 30000}, "'freq'"),
    ({"cmd": "tone_add", "name": "a", "gain": 1.5}, "'gain'"),
    ({"cmd": "tone_add", "name": "a", "gain": -0.1}, "'gain'"),
    ({"cmd": "tone_add", "name": ""}, "name"),
    ({"cmd": "tone_add", "name": "x" * 64}, "name"),
    ({"cmd": "tone_add", "name": "a\nb"}, "control"),
    ({"cmd": "master", "gain": 4.5}, "'gain'"),
    ({"cmd": "master", "gain": -1}, "'gain'"),
    ({"cmd": "render", "frames": -1}, "'frames'"),
    ({"cmd": "render", "seconds": -0.5}, "'seconds'"),
    ({"cmd": "render", "seconds": 1e9}, "'seconds'"),
    ({"cmd": "render", "frames": 10, "path": "/tmp/x.mp3"}, "extension"),
    ({"cmd": "render", "frames": 10, "path": "/tmp/krach-x.wav", "subtype": "pcm8"}, "pcm8"),
])
def test_bad_value_names_the_problem(offline_engine: Engine, request_, needle):
    code, message = error_of(offline_engine.ask(request_))
    assert code == "bad_value", message
    if needle == "extension":
        assert ".wav" in message and ".flac" in message, message
    else:
        assert needle in message, message
    assert offline_engine.status()["nodes"] == []  # nothing was half-created


@pytest.mark.parametrize("freq", [0, 24000])
def test_tone_freq_bounds_are_exclusive(offline_engine: Engine, freq):
    code, _ = error_of(offline_engine.ask(cmd="tone_add", name="a", freq=freq))
    assert code == "bad_value"


def test_unknown_node_lists_the_known_nodes(offline_engine: Engine):
    with offline_engine.conn() as c:
        code, message = error_of(c.ask(cmd="tone_set", name="ghost", freq=300))
        assert code == "unknown_node" and "'ghost'" in message and "none" in message
        c.ask(cmd="tone_add", name="bass", freq=55)
        c.ask(cmd="tone_add", name="lead", freq=880)
        for cmd in ("tone_set", "tone_remove"):
            code, message = error_of(c.ask(cmd=cmd, name="ghost", gain=0.1))
            assert code == "unknown_node", message
            assert "'ghost'" in message and "'bass'" in message and "'lead'" in message
        assert c.ask(cmd="status")["nodes"] == ["bass", "lead"]


def test_exists(offline_engine: Engine):
    with offline_engine.conn() as c:
        assert c.ask(cmd="tone_add", name="a")["ok"]
        code, message = error_of(c.ask(cmd="tone_add", name="a", freq=220))
        assert code == "exists" and "'a'" in message
        assert c.ask(cmd="tone_remove", name="a")["ok"]
        assert c.ask(cmd="tone_add", name="a")["ok"]  # the name is free again


def test_render_on_a_real_time_engine_is_not_offline(null_engine: Engine):
    code, message = error_of(null_engine.ask(cmd="render", seconds=1.0))
    assert code == "not_offline"
    assert "null" in message and "--offline" in message


def test_fault_injection_is_disabled_without_test_faults(offline_engine: Engine):
    code, message = error_of(offline_engine.ask(cmd="tone_add", name="f", fault="nan"))
    assert code == "disabled" and "--test-faults" in message
    assert offline_engine.status()["nodes"] == []


def test_fault_must_be_nan_or_inf(start_engine):
    engine = start_engine("--offline", "--test-faults")
    code, message = error_of(engine.ask(cmd="tone_add", name="f", fault="denormal"))
    assert code == "bad_value" and "nan" in message and "inf" in message


def test_render_io_error_names_the_file(offline_engine: Engine, tmp_path: Path):
    path = tmp_path / "no" / "such" / "dir" / "out.wav"
    code, message = error_of(offline_engine.ask(cmd="render", frames=100, path=str(path)))
    assert code == "io_error" and str(path) in message
    missing = tmp_path / "missing.wav"
    code, message = error_of(offline_engine.ask(cmd="render", frames=100, path=str(missing),
                                                append=True))
    assert code == "io_error" and str(missing) in message


# ---- framing -----------------------------------------------------------------------


def test_line_too_long_then_the_same_connection_still_works(offline_engine: Engine):
    with offline_engine.conn(timeout=20) as c:
        big = b'{"id": 1, "cmd": "ping", "pad": "' + b"x" * (MIB + 10) + b'"}\n'
        c.send(big + b'{"id": 2, "cmd": "ping"}\n')
        reply = c.reply()
        code, message = error_of(reply)
        assert code == "line_too_long" and "1048576" in message
        # The long line was discarded up to its newline: no reply to id 1.
        after = c.reply()
        assert after["id"] == 2 and after["ok"] is True, after
        # A line just under the limit is still a request.
        pad = MIB - 100
        c.send(b'{"id": 3, "cmd": "ping", "pad": "' + b"y" * pad + b'"}\n')
        assert c.reply()["id"] == 3
        assert c.ask(id=4, cmd="ping")["ok"] is True


def test_line_too_long_sent_slowly_in_pieces(offline_engine: Engine):
    """The limit holds when the long line arrives across many reads."""
    with offline_engine.conn(timeout=20) as c:
        c.send(b'{"id": 1, "cmd": "ping", "pad": "')
        for _ in range(20):
            c.send(b"z" * (64 * 1024))
            time.sleep(0.005)
        c.send(b'"}\n{"id": 2, "cmd": "ping"}\n')
        assert error_of(c.reply())[0] == "line_too_long"
        assert c.reply()["id"] == 2


def test_half_a_line_then_disconnect_does_not_disturb_others(offline_engine: Engine):
    with offline_engine.conn() as steady:
        steady.send(b'{"id": 1, "cmd": "pi')  # steady has a half line in flight too
        for _ in range(5):
            with offline_engine.conn() as flaky:
                flaky.send(b'{"id": 666, "cmd": "tone_add", "name": "half", "fre')
        steady.send(b'ng"}\n')
        reply = steady.reply()
        assert reply["id"] == 1 and reply["ok"] is True, reply
        s = steady.ask(cmd="status")
        assert s["nodes"] == [] and wait_for_clients(steady, 1) == 1


def test_requests_interleaved_across_connections_stay_separate(offline_engine: Engine):
    with offline_engine.conn() as a, offline_engine.conn() as b:
        a.send(b'{"id": 1, "cmd": "tone_add", ')
        b.send(b'{"id": 2, "cmd": "tone_add", "name": "b"}\n')
        assert b.reply() == {"id": 2, "ok": True, "name": "b"}
        a.send(b'"name": "a"}\n')
        assert a.reply() == {"id": 1, "ok": True, "name": "a"}


def test_garbage_bytes_get_errors_and_the_engine_survives(offline_engine: Engine):
    rng = random.Random(1234)
    lines = []
    for i in range(300):
        n = rng.randrange(1, 200)
        raw = bytes(rng.randrange(256) for _ in range(n)).replace(b"\n", b"")
        if i % 10 == 0:
            raw = b"\x00" + raw  # a NUL byte up front
        raw = raw.rstrip(b"\r")  # a trailing CR is stripped: keep lines non-blank
        if raw:
            lines.append(raw)
    with offline_engine.conn(timeout=20) as c:
        c.send(b"\n".join(lines) + b"\n")
        for raw in lines:
            code, _ = error_of(c.reply())
            assert code in ("bad_json", "bad_request"), raw
        # A NUL inside an otherwise valid request is not ignored.
        c.send(b'{"cmd": "ping"}\x00\n')
        assert error_of(c.reply())[0] == "bad_json"
        # So is an escaped NUL (jansson refuses \u0000 unless asked to allow it).
        c.send(b'{"cmd": "tone_add", "name": "a\\u0000b"}\n')
        assert error_of(c.reply())[0] in ("bad_json", "bad_value")
        assert c.ask(id=5, cmd="ping")["ok"] is True
    # And with no newline at all, followed by a hang-up.
    with offline_engine.conn() as c:
        c.send(bytes(rng.randrange(256) for _ in range(5000)).replace(b"\n", b""))
    assert offline_engine.status()["nodes"] == []


def test_blank_lines_and_crlf_are_accepted(offline_engine: Engine):
    with offline_engine.conn() as c:
        c.send(b'\n\n\r\n{"id": 1, "cmd": "ping"}\r\n')
        reply = c.reply()
        assert reply["id"] == 1 and reply["ok"] is True  # blank lines got no reply


def test_many_pipelined_requests_answered_in_order(offline_engine: Engine):
    n = 2000
    batch = []
    expected = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            batch.append({"id": i, "cmd": "ping"})
            expected.append((i, True, None))
        elif kind == 1:
            batch.append({"id": i, "cmd": "status"})
            expected.append((i, True, None))
        elif kind == 2:
            batch.append({"id": i, "cmd": "nope"})
            expected.append((i, False, "unknown_command"))
        else:
            batch.append({"id": i, "cmd": "master", "gain": (i % 400) / 100})
            expected.append((i, True, None))
    data = b"".join(json.dumps(r).encode() + b"\n" for r in batch)
    with offline_engine.conn(timeout=30) as c:
        c.send(data)  # one write
        for i, ok, code in expected:
            reply = c.reply()
            assert reply["id"] == i and reply["ok"] is ok, reply
            if code:
                assert reply["error"]["code"] == code
        assert c.ask(cmd="master")["gain"] == ((n - 1) % 400) / 100


def test_half_closed_client_gets_all_its_replies(offline_engine: Engine):
    """Like `nc -N`: send requests, shut the write side; every reply still arrives."""
    with offline_engine.conn() as c:
        c.send(b"".join(b'{"id": %d, "cmd": "ping"}\n' % i for i in range(50)))
        c.sock.shutdown(socket.SHUT_WR)
        assert [c.reply()["id"] for _ in range(50)] == list(range(50))
        assert c.at_eof()


# ---- lifecycle ------------------------------------------------------------------------


def test_shutdown_replies_exits_zero_and_removes_the_socket(offline_engine: Engine):
    with offline_engine.conn() as other, offline_engine.conn() as c:
        assert other.ask(cmd="ping")["ok"]
        assert c.ask(id=3, cmd="shutdown") == {"id": 3, "ok": True}
        assert offline_engine.wait() == 0
        assert not os.path.exists(offline_engine.socket)
        assert other.at_eof()  # every client is closed
    assert "stopped" in offline_engine.log_path.read_text()


def test_sigterm_exits_zero_and_removes_the_socket(null_engine: Engine):
    null_engine.proc.terminate()
    assert null_engine.wait() == 0
    assert not os.path.exists(null_engine.socket)


def test_a_second_engine_on_the_same_socket_is_refused(offline_engine: Engine, engine_bin: str,
                                                      engine_home: Path, tmp_path: Path):
    result = run_engine_to_exit(engine_bin, ["--offline", "--socket", offline_engine.socket,
                                             "--log", str(tmp_path / "second.log")],
                                child_env(engine_home))
    assert result.returncode != 0
    assert "another engine is already listening" in result.stderr
    assert offline_engine.socket in result.stderr
    assert "krach-engine ready" not in result.stdout
    # The first one is untouched and still owns its socket.
    assert offline_engine.ask(cmd="ping")["ok"] is True


def test_a_stale_socket_is_replaced(start_engine):
    first = start_engine("--offline")
    first.kill()  # no chance to clean up
    assert os.path.exists(first.socket), "a killed engine leaves its socket file"
    with pytest.raises(ConnectionRefusedError):
        Conn(first.socket)
    second = start_engine("--offline", socket_path=Path(first.socket))
    assert second.ask(cmd="ping")["ok"] is True
    assert second.status()["frames"] == 0


def test_bad_flags_exit_2_with_a_message(engine_bin: str, engine_home: Path):
    env = child_env(engine_home)
    result = run_engine_to_exit(engine_bin, ["--sample-rate", "12"], env)
    assert result.returncode == 2 and "--sample-rate" in result.stderr
    result = run_engine_to_exit(engine_bin, ["--frobnicate"], env)
    assert result.returncode == 2 and "--frobnicate" in result.stderr
    result = run_engine_to_exit(engine_bin, ["--backend", "alsa-please"], env)
    assert result.returncode == 2 and "portaudio" in result.stderr
