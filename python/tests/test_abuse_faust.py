"""Abuse of the FAUST backend, end to end (issue 12: B4, B5, C8).

What a client sends as FAUST must neither freeze the engine nor reach outside
what FAUST may read:

- an expression that keeps libfaust busy for minutes (30 bytes) is compiled in
  a helper process under a time and memory budget, while every other client
  keeps getting answers and patterns keep playing; it ends with the budget's
  error, and so does the same program saved as a ``.dsp`` file;
- a ``faust_expr`` must be one expression: text that closes it and adds
  definitions, or names a file (``component``, ``library``, ``import``), is
  refused, and nothing of the file comes back in the message;
- a ``.dsp`` file may import only by bare name (its folder, FAUST's libraries);
- a FIFO or a symbolic link named ``NAME.dsp`` is refused at once instead of
  blocking the folder reader.

Timeouts here are hang guards, never speed assertions.
"""

from __future__ import annotations

import json
import os
import select
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import krach.signal as krs
from e2e_support import Conn, Engine, error_of
from krach.errors import KrachError
from krach.session import Session

EXPENSIVE = "_ <: par(i, 200000, *(i)) :> _"  # the 30 bytes of the report
HANG_GUARD = 180.0  # seconds: the budget is 10 s; this only stops a hung test


def expr_ir(code: str) -> dict[str, Any]:
    return krs.trace(lambda: krs.faust_expr(code, krs.saw(110.0)))


def node_set_expr(name: str, code: str, rid: int = 1) -> dict[str, Any]:
    return {"id": rid, "cmd": "node_set", "name": name, "ir": expr_ir(code)}


def has_reply(conn: Conn) -> bool:
    """True when a reply line is ready to read (without waiting)."""
    if b"\n" in conn.buf:
        return True
    ready, _, _ = select.select([conn.sock], [], [], 0)
    return bool(ready)


@pytest.fixture
def live_engine(start_engine: Callable[..., Engine], dsp_dir: Path) -> Engine:
    """A real-time clock (null audio backend), so patterns run while we wait."""
    return start_engine("--backend", "null", "--dsp-dir", str(dsp_dir))


def expensive_request(kind: str, dsp_dir: Path) -> dict[str, Any]:
    if kind == "faust_expr":
        return node_set_expr("hog", EXPENSIVE)
    (dsp_dir / "hog.dsp").write_text(f"process = {EXPENSIVE};\n")
    return {"id": 1, "cmd": "node_set", "name": "hog", "type": "faust:hog"}


@pytest.mark.parametrize("kind", ["faust_expr", "dsp_file"])
def test_an_expensive_compile_freezes_nobody_and_ends_at_its_budget(
        live_engine: Engine, dsp_dir: Path, kind: str) -> None:
    with Session(live_engine.client(timeout=HANG_GUARD)) as kr:
        kr.tempo = 240
        kr.node("tick", lambda: krs.decay(krs.control("gate", 0, 0, 1), 0.01) * krs.sine_osc(1000))
        kr.play("tick", kr.hit() * 16)
        time.sleep(0.3)
        with live_engine.conn(timeout=HANG_GUARD) as hog, live_engine.conn(timeout=HANG_GUARD) as other:
            before = other.ask(cmd="status")
            hog.send_json(expensive_request(kind, dsp_dir))
            time.sleep(0.2)  # the engine has taken the request and started compiling
            answered = 0
            for k in range(5):
                assert other.ask(id=k, cmd="ping")["ok"] is True
                answered += 1
                time.sleep(0.1)
            during = other.ask(cmd="status")
            # The compile (seconds of libfaust) is still running: the other
            # client was answered meanwhile, not after it.
            assert not has_reply(hog), "the expensive request was answered before the pings"
            assert answered == 5
            assert during["frames"] > before["frames"], "the clock runs during the compile"
            assert during["late_events"] == before["late_events"], "patterns keep their time"

            code, message = error_of(hog.reply(timeout=HANG_GUARD))
            assert code == "limit", message
            assert "exceeded its budget" in message and "simplify" in message, message
            after = other.ask(cmd="status")
            assert after["late_events"] == before["late_events"]
            assert "hog" not in after["nodes"], "a failed compile changes nothing"
            assert other.ask(cmd="ping")["ok"] is True


def test_the_session_shows_the_budget_error(live_engine: Engine) -> None:
    """kr.node waits longer than the engine's budget, so the musician sees the
    budget's message, not a timeout of the client."""
    with Session(live_engine.client()) as kr:
        with pytest.raises(KrachError, match="exceeded its budget"):
            kr.node("hog", lambda: krs.faust_expr(EXPENSIVE, krs.saw(110.0)))
        assert kr.request("ping")["ok"]


def test_a_waiting_clients_later_requests_keep_their_order(live_engine: Engine) -> None:
    """A request that waits for its compile is answered first, then the lines
    the same client sent after it, in order; a batch with compiles is applied
    whole once they are done."""
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        first = node_set_expr("a", "_ : fi.lowpass(3, 700)", rid=1)
        batch = {"id": 2, "cmd": "batch", "commands": [
            {"cmd": "node_set", "name": "b", "ir": expr_ir("_ : fi.lowpass(3, 900)")},
            {"cmd": "node_set", "name": "c", "ir": expr_ir("_ : fi.highpass(3, 900)")},
            {"cmd": "node_remove", "name": "a"},
        ]}
        conn.send(b"".join(json.dumps(r).encode() + b"\n"
                           for r in (first, {"id": 3, "cmd": "ping"}, batch, {"id": 4, "cmd": "nodes"})))
        replies = [conn.reply(timeout=HANG_GUARD) for _ in range(4)]
    assert [r["id"] for r in replies] == [1, 3, 2, 4], "replies in the order of the requests"
    assert all(r["ok"] for r in replies), replies
    assert sorted(n["name"] for n in replies[3]["nodes"]) == ["b", "c"]


INJECTIONS = [
    ("_) ; process = no.noise ; foo = (_", "closes nothing"),
    ("_ ; process = no.noise", "would end the expression"),
    ("_ : *(x) with { x = 2; } ; y = 1", "would end the expression"),
    ("process = _", "would start a definition"),
    ("_ : fi.lowpass(3, 800", "is never closed"),
    ("_ ) : (_", "closes nothing"),
    ("_ /* comment out the rest", "never closed"),
    ("_ : ffunction(int kill(int, int), <signal.h>, \"\")", "'ffunction' is refused"),
    ("_ with { declare name \"x\"; }", "'declare' is refused"),
    ("{ _ }", "'{' may only follow"),
    ("_ # 1", "not FAUST"),
]


@pytest.mark.parametrize("code,reason", INJECTIONS)
def test_faust_expr_must_be_one_expression(live_engine: Engine, code: str, reason: str) -> None:
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        err, message = error_of(conn.ask(node_set_expr("x", code)))
        assert err == "bad_ir" and "not one FAUST expression" in message and reason in message, message
        assert conn.ask(cmd="nodes")["nodes"] == []


def test_real_expressions_still_compile(live_engine: Engine) -> None:
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        for k, code in enumerate([
            "_ : fi.lowpass(2, 1000)",
            "_ <: _, _' :> *(0.5)",
            "_ : f with { f = *(0.5); g(x) = x >= 0.5; }",
            "\\(krach_in0).(krach_in0 * (1 != 2) : ba.if(1 == 1, _, 0))",  # a lambda, comparisons
            "_ : +~(*(0.25)) // a comment with \"quotes\" and ; = {",
        ]):
            reply = conn.ask(node_set_expr(f"ok{k}", code))
            assert reply["ok"], (code, reply)


@pytest.mark.parametrize("template", [
    'component("{path}")',
    '_ : library("{path}").process',
    '_ : *(x) with {{ x = component("{path}"); }}',
    'import("{path}")',
])
def test_faust_expr_cannot_read_a_file(live_engine: Engine, tmp_path: Path, template: str) -> None:
    """A file outside the FAUST folder (here one in tmp_path) is never read:
    before the fix `component` compiled it, and its errors quoted it."""
    outside = tmp_path / "outside.dsp"
    outside.write_text("process = secret_identifier_xyz;\n")
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        err, message = error_of(conn.ask(node_set_expr("x", template.format(path=outside))))
        assert err == "bad_ir" and "is refused" in message, message
        assert "secret_identifier_xyz" not in message
        good = tmp_path / "good.dsp"
        good.write_text("process = *(0.25);\n")
        err, _ = error_of(conn.ask(node_set_expr("y", template.format(path=good))))
        assert err == "bad_ir"
        assert conn.ask(cmd="nodes")["nodes"] == []


@pytest.mark.parametrize("importer", [
    'import("{path}");\nprocess = _ * secret_gain;\n',
    'process = component("{path}");\n',
    'process = library("{path}").secret_gain;\n',
    'import("../outside.lib");\nprocess = _ * secret_gain;\n',
])
def test_a_dsp_file_imports_only_by_bare_name(live_engine: Engine, dsp_dir: Path, tmp_path: Path,
                                              importer: str) -> None:
    outside = tmp_path / "outside.lib"
    outside.write_text("secret_gain = 0.5;\nprocess = _;\n")
    (dsp_dir / "lead.dsp").write_text(importer.format(path=outside))
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        err, message = error_of(conn.ask(cmd="node_set", name="lead", type="faust:lead"))
        assert err == "bad_value" and "bare name" in message, message
    # The folder's own files and FAUST's libraries still import.
    (dsp_dir / "mine.lib").write_text("my_gain = 0.5;\n")
    (dsp_dir / "lead.dsp").write_text('import("stdfaust.lib");\nimport("mine.lib");\n'
                                      'process = os.osc(440) * my_gain;\n')
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        assert conn.ask(cmd="node_set", name="lead", type="faust:lead")["ok"]


def test_a_folder_file_imported_by_a_dsp_file_is_checked_too(live_engine: Engine, dsp_dir: Path,
                                                            tmp_path: Path) -> None:
    outside = tmp_path / "outside.lib"
    outside.write_text("secret_gain = 0.5;\n")
    (dsp_dir / "relay.lib").write_text(f'import("{outside}");\n')
    (dsp_dir / "lead.dsp").write_text('import("relay.lib");\nprocess = _ * secret_gain;\n')
    with live_engine.conn(timeout=HANG_GUARD) as conn:
        err, message = error_of(conn.ask(cmd="node_set", name="lead", type="faust:lead"))
        assert err == "bad_value" and "relay.lib" in message and "bare name" in message, message


def test_a_fifo_or_link_named_dsp_is_refused_without_blocking(live_engine: Engine, dsp_dir: Path,
                                                                tmp_path: Path) -> None:
    os.mkfifo(dsp_dir / "pipe.dsp")  # nobody ever writes to it
    target = tmp_path / "elsewhere.dsp"
    target.write_text("process = 0;\n")
    (dsp_dir / "link.dsp").symlink_to(target)
    with live_engine.conn(timeout=60) as conn:
        err, message = error_of(conn.ask(cmd="node_set", name="p", type="faust:pipe"))
        assert err == "io_error" and "not a regular file" in message, message
        err, message = error_of(conn.ask(cmd="node_set", name="l", type="faust:link"))
        assert err == "io_error" and "symbolic link" in message, message
        assert conn.ask(cmd="ping")["ok"]
