"""Faults: misbehaving clients never stall the others or the audio.

A real-time engine (null clock, ``--record-events``) plays a pattern while bad
clients do their worst over raw sockets: one disconnects mid-line, one floods
tiny garbage lines, binary without newlines and huge lines and never reads,
one subscribes to events and never reads (while a NaN synth, defined again
every 50 ms, makes the engine push them), one fills its reply queue, and many
connect at once. Meanwhile a good client pings every 20 ms, and another pings an
idle reference engine over the same interval: the flooded engine must answer
about as often and as fast as the reference (the machine's own stalls reach
both), and every pattern event must land on its exact sample.
At the end: overload under JACK is reported, then recovered from.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from e2e_support import JACK_XRUN_MARGIN, Conn, Engine, JackReference, check_xruns_against_reference, error_of
from krach import signal as krs

LATENCY_BOUND = 0.25  # seconds; a stall shows up as seconds, a busy loop turn as ms
RUN_SECONDS = 4.0


def _flood(path: str, stop: threading.Event, payloads: list[bytes], read: bool = False) -> int:
    """Send `payloads` round and round until `stop`; returns bytes sent. Never reads."""
    sent = 0
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.settimeout(0.2)
    try:
        while not stop.is_set():
            for payload in payloads:
                try:
                    sent += sock.send(payload)
                except (TimeoutError, BlockingIOError):
                    pass  # the engine stopped reading us for now: fine, others go on
                except (BrokenPipeError, ConnectionResetError):
                    return sent  # the engine dropped us: also fine
    finally:
        sock.close()
    return sent


def _pinger(c: Conn, stop: threading.Event, latencies: list[float], errors: list[str]) -> None:
    with c:
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.monotonic()
            try:
                reply = c.ask(id=n, cmd="ping")
            except Exception as err:  # noqa: BLE001 - recorded and asserted on below
                errors.append(f"ping {n}: {type(err).__name__}: {err}")
                return
            latencies.append(time.monotonic() - t0)
            if reply.get("id") != n or reply.get("ok") is not True:
                errors.append(f"ping {n}: bad reply {reply}")
            time.sleep(0.02)


def _start_playing(engine: Engine) -> None:
    with engine.conn() as c:
        # A synth whose output is its gate, hit 16 times per 0.5 s cycle.
        ir = krs.trace(lambda: krs.control("gate", 0.0, 0.0, 1.0) * 1.0)
        assert c.ask(cmd="node_set", name="click", ir=ir)["ok"]
        assert c.ask(cmd="tempo", bpm=480)["ok"]
        assert c.ask(cmd="play", target="click", mini="x*16")["ok"]
        c.ask(cmd="applied_events")  # forget what came before


def _check_timing(engine: Engine, seconds: float) -> int:
    with engine.conn() as c:
        events = c.ask(cmd="applied_events")["events"]
        status = c.ask(cmd="status")
    late = [e for e in events if e["due"] != e["applied"]]
    assert not late, f"{len(late)} events late, e.g. {late[:3]}"
    assert status["late_events"] == 0 and status["dropped_events"] == 0
    # 16 hits per cycle, 2 cycles a second (from the next bar, up to 0.5 s in): all there.
    hits = [e for e in events if e["value"] == 1.0]
    assert len(hits) >= 0.8 * 32 * (seconds - 0.5), f"only {len(hits)} hits in {seconds:.1f} s"
    gaps = {b["due"] - a["due"] for a, b in zip(hits, hits[1:])}
    assert gaps <= {1500}, f"hits not 1500 samples apart: {sorted(gaps)[:5]}"  # 48000 / 32
    return len(events)


def _with_bad_clients(engine: Engine, reference: Engine,
                      bad: list[Callable[[threading.Event], object]]) -> list[float]:
    """Run `bad` against `engine` while a good client pings it, and another good
    client pings `reference`, an idle engine of the same kind, over the same
    interval. The machine's own stalls (a loaded CI box) reach both pingers, so
    the flooded engine is judged against the reference, not against a clock."""
    _start_playing(engine)
    stop = threading.Event()
    latencies: list[float] = []
    ref_latencies: list[float] = []
    errors: list[str] = []
    threads = [threading.Thread(target=fn, args=(stop,), daemon=True) for fn in bad]
    pinger = engine.conn(timeout=5.0)  # connected before the crowd arrives
    threads.append(threading.Thread(target=_pinger, args=(pinger, stop, latencies, errors), daemon=True))
    threads.append(threading.Thread(target=_pinger, args=(reference.conn(timeout=5.0), stop,
                                                          ref_latencies, errors), daemon=True))
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(RUN_SECONDS)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert ref_latencies, "the reference engine answered no ping"
    assert len(latencies) >= 0.25 * len(ref_latencies), \
        f"only {len(latencies)} pings answered (the idle reference answered {len(ref_latencies)})"
    worst, ref_worst = max(latencies), max(ref_latencies)
    assert worst < LATENCY_BOUND + 3 * ref_worst, \
        f"a ping waited {worst * 1000:.0f} ms (the idle reference's worst: {ref_worst * 1000:.0f} ms)"
    _check_timing(engine, time.monotonic() - started)
    assert engine.ask(cmd="ping")["ok"] is True
    return latencies


def test_garbage_floods_do_not_stall_others(start_engine):
    engine = start_engine("--backend", "null", "--record-events")
    reference = start_engine("--backend", "null")
    path = engine.socket
    tiny = b"x\n" * 30000                      # 30 000 bad lines per write
    binary = bytes(range(256)).replace(b"\n", b"") * 256  # no newline ever
    huge = b"[" * (3 << 20) + b"\n"            # a 3 MiB line, over the limit
    _with_bad_clients(engine, reference, [
        lambda stop: _flood(path, stop, [tiny]),
        lambda stop: _flood(path, stop, [binary]),
        lambda stop: _flood(path, stop, [huge]),
        lambda stop: _flood(path, stop, [b'{"id": 1, "cmd": "status"}\n' * 2000]),  # never reads replies
    ])
    log = engine.log_path.read_text()
    assert "ERROR" not in log.upper().replace("BAD_JSON", ""), log[-2000:]


def test_half_lines_silent_readers_and_many_connections(start_engine):
    engine = start_engine("--backend", "null", "--record-events")
    reference = start_engine("--backend", "null")
    path = engine.socket

    def mid_line(stop: threading.Event) -> None:
        while not stop.is_set():  # connect, send half a request, vanish
            with Conn(path) as c:
                c.send(b'{"id": 1, "cmd": "tone_add", "na')
            time.sleep(0.005)

    def subscriber(stop: threading.Event) -> None:
        with Conn(path) as c:  # subscribes, then never reads again
            assert c.ask(cmd="subscribe")["ok"]
            stop.wait()

    def faults(stop: threading.Event) -> None:
        # A synth whose output is NaN, defined again and again (two programs in
        # turn): each definition is silenced and reported, so events are pushed
        # to the subscriber that never reads.
        bad = [krs.trace(lambda: krs.sqrt(krs.control("x", -1.0, -2.0, 0.0)) * k) for k in (0.5, 0.25)]
        with Conn(path) as c:
            n = 0
            while not stop.is_set():
                assert c.ask(cmd="node_set", name="nan", ir=bad[n % 2])["ok"]
                n += 1
                time.sleep(0.05)

    def crowd(stop: threading.Event) -> None:
        conns = []
        try:
            for _ in range(55):  # most of the 64 slots, held open
                conns.append(Conn(path))
            stop.wait()
        finally:
            for c in conns:
                c.close()

    _with_bad_clients(engine, reference, [mid_line, subscriber, faults, crowd])
    assert engine.log_path.read_text().count("node 'nan' produced NaN") >= 10  # events were pushed
    # Past the limit, a connection is refused with a reason, not left hanging.
    conns = [Conn(path) for _ in range(64)]
    try:
        with Conn(path) as extra:
            code, message = error_of(extra.reply())
            assert code == "limit" and "at most 64 clients" in message
    finally:
        for c in conns:
            c.close()
    deadline = time.monotonic() + 30  # a hang guard, not a speed bound
    while time.monotonic() < deadline:  # the engine sees the closes on its next turns
        reply = engine.ask(cmd="status")
        if reply["ok"] and reply["clients"] == 1:
            break
        time.sleep(0.05)
    assert engine.status()["clients"] == 1  # every bad client is gone, nothing leaked
    assert [n["name"] for n in engine.ask(cmd="nodes")["nodes"]] == ["click", "nan"]  # the half request made nothing


# ---- overload --------------------------------------------------------------------


def heavy() -> krs.Signal:
    freq = krs.control("freq", 110.0, 20.0, 2000.0)
    return krs.reverb(krs.reverb(krs.saw(freq), 0.9), 0.8) * 0.001


def _events_of(c: Conn, kind: str, timeout: float) -> list[dict]:
    """Event lines read from the subscribed `c` until one of `kind` arrives (or the timeout)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = c.reply(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            break
        if "event" in message:
            seen.append(message)
            if message["event"] == kind:
                break
    return seen


def test_overload_is_reported_and_recovered_from(jack, start_engine):
    from krach.session import Session

    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", "--record-events", env=jack.env)
    _start_playing(engine)
    watcher = engine.conn()
    assert watcher.ask(cmd="subscribe")["ok"]
    kr = Session(engine.client())
    shown: list[str] = []
    kr.client.on_event = lambda event: shown.append(str(event.get("message")))
    # Add heavy nodes until the audio thread cannot keep up (xruns).
    first = engine.status()
    names = []
    for n in range(24):
        names.append(f"heavy{n}")
        kr.node(names[-1], heavy, count=8)
        time.sleep(0.3)
        status = engine.status()
        if status["xruns"] > first["xruns"] + 3:
            break
    assert status["xruns"] > first["xruns"], f"no overload with {len(names)} heavy nodes: {status}"
    events = _events_of(watcher, "overload", 5.0)
    overload = events[-1]
    assert overload["event"] == "overload" and overload["missed"] >= 1
    # Which of the two it is depends on the smoothed load when the xruns are
    # judged (a loaded 2-core machine measured 81 % once): either names a fix.
    message = overload["message"]
    assert (message.startswith("audio overload") and "remove nodes or voices" in message) or \
        (message.startswith("audio dropout") and "--block-size" in message), message
    assert message.split(":")[0] in engine.log_path.read_text()
    # Rate-limited: while the overload lasts, at most one report per 2 s.
    time.sleep(2.5)
    with kr.batch():
        for name in names:
            kr.remove(name)
    # overload_over needs 3 s without a dropout; on a busy machine jackd itself
    # may still drop out for a while (reported as "audio dropout"), so the wait
    # is a generous hang guard, and the rate limit is checked against it.
    calm_from = time.monotonic()
    calm = _events_of(watcher, "overload_over", 30.0)
    calm_for = time.monotonic() - calm_from
    reports = [e for e in calm if e["event"] == "overload"]
    assert len(reports) <= 1 + calm_for / 2.0, (calm_for, reports)
    assert calm and calm[-1]["event"] == "overload_over" and "back to normal" in calm[-1]["message"]
    # The REPL's session saw them too, one line each (read between requests or by poll()).
    assert kr.client.poll()
    assert any("audio overload" in line for line in shown) and shown[-1].startswith("audio load back")
    # Recovered: no more xruns than an idle JACK client saw meanwhile (a busy
    # machine makes jackd itself late), and every event lands on its sample again.
    engine.ask(cmd="applied_events")
    with JackReference(jack.name) as reference:
        before = engine.status()
        time.sleep(3.0)
        after = engine.status()
        seen = reference.xruns
    check_xruns_against_reference(after["xruns"] - before["xruns"], seen, JACK_XRUN_MARGIN,
                                  " after recovery")
    assert after["cpu_load"] < 0.5
    _check_timing(engine, 3.0)
    watcher.close()
    kr.close()
