"""Real-time backends: the null clock, and PortAudio on a JACK server.

No sound card is needed: the null backend is a silent clock, and JACK runs
with its dummy driver. Both must keep time (frames advance at the sample
rate) and run without dropouts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from e2e_support import (
    JACK_PERIOD,
    JACK_XRUN_MARGIN,
    NULL_XRUN_MARGIN,
    SAMPLE_RATE,
    Engine,
    Jack,
    JackReference,
    NullReference,
    check_xruns_against_reference,
    child_env,
    run_engine_to_exit,
    tail,
)

RATE_TOLERANCE = 0.10


def measure(engine: Engine, seconds: float) -> tuple[dict, dict, float]:
    """Two status replies `seconds` apart, and the wall time between them."""
    with engine.conn() as c:
        t0 = time.monotonic()
        first = c.ask(cmd="status")
        time.sleep(seconds)
        second = c.ask(cmd="status")
        t1 = time.monotonic()
    return first, second, t1 - t0


def test_null_backend_keeps_time_without_xruns(start_engine):
    """The null clock keeps pace with the wall clock without dropouts. It is not
    real-time scheduled, so on a shared, loaded machine the OS stalls it now
    and then (a wake-up more than a block late counts as an xrun, and the time
    lost is skipped): both are judged against a reference thread keeping the
    same schedule with no work, over the same interval (docs/testing.md,
    "Dropouts"). A systematic problem (a slow audio path, a clock that drifts)
    shows up as many more xruns, or frames missing beyond the stalls."""
    with NullReference() as reference:
        engine = start_engine("--backend", "null")
        with engine.conn() as c:
            # Something to compute: the audio thread really renders while it runs.
            assert c.ask(cmd="tone_add", name="a", freq=440, gain=0.2)["ok"]
            assert c.ask(cmd="tone_add", name="b", freq=660, gain=0.2)["ok"]
        stalls_before, lost_before = reference.read()
        first, second, wall = measure(engine, 2.0)
        stalls, lost = reference.read()
    stalls, lost = stalls - stalls_before, lost - lost_before
    assert second["backend"] == "null" and second["device"] == "none"
    # Never faster than the wall clock; slower by no more than what the
    # reference lost to stalls (each skips the time it lost), within tolerance.
    frames = second["frames"] - first["frames"]
    low, high = (wall - lost) * (1 - RATE_TOLERANCE), wall * (1 + RATE_TOLERANCE)
    assert low * SAMPLE_RATE <= frames <= high * SAMPLE_RATE, \
        f"{frames / wall:.0f} frames/s ({lost:.3f} s of {wall:.3f} s lost to stalls by the reference)"
    check_xruns_against_reference(second["xruns"] - first["xruns"], stalls, NULL_XRUN_MARGIN)
    assert 0.0 <= second["cpu_load"] <= 1.0
    assert second["nonfinite"] == 0


def test_auto_backend_falls_back_to_null_with_a_reason(start_engine, engine_home: Path):
    """Without a device (and no JACK server) `auto` runs the null clock and says why."""
    env = child_env(engine_home, JACK_DEFAULT_SERVER=f"krach-none-{os.getpid()}",
                    JACK_NO_START_SERVER="1")
    engine = start_engine(env=env)  # no --backend: auto
    status = engine.status()
    if status["backend"] == "portaudio":  # a machine with a sound card
        assert status["device"] not in ("", "none")
    else:
        assert status["backend"] == "null" and status["device"] == "none"
        assert isinstance(status["fallback_reason"], str) and status["fallback_reason"]
        assert "null backend" in engine.log_path.read_text()


def test_portaudio_with_an_unknown_audio_api_fails_clearly(engine_bin: str, engine_home: Path,
                                                           tmp_path: Path):
    result = run_engine_to_exit(engine_bin, [
        "--backend", "portaudio", "--audio-api", "NoSuchAPI", "--socket",
        str(tmp_path / "e.sock"), "--log", str(tmp_path / "log")], child_env(engine_home))
    assert result.returncode == 1
    assert "NoSuchAPI" in result.stderr and "available:" in result.stderr
    assert not (tmp_path / "e.sock").exists()


# ---- JACK --------------------------------------------------------------------------

# The server and its `jack` fixture live in e2e_support.py and conftest.py (shared
# with test_e2e_timing.py).

# `jack` comes before `start_engine` in the arguments so that pytest tears it
# down after the engine: an engine whose JACK server vanishes cannot stop
# (see test_engine_stops_after_the_jack_server_went_away).


def test_portaudio_on_jack_keeps_time_without_xruns(jack: Jack, start_engine):
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    assert "backend=portaudio" in engine.ready_line
    with engine.conn() as c:
        assert c.ask(cmd="tone_add", name="a", freq=440, gain=0.2)["ok"]
    with JackReference(jack.name) as reference:
        seen_before, server_before = reference.xruns, reference.frames()
        first, second, wall = measure(engine, 5.0)
        seen, server = reference.xruns - seen_before, reference.frames() - server_before
    diag = f"\n--- jackd output ---\n{tail(jack.out_path)}\n{engine.diagnostics()}"
    assert second["backend"] == "portaudio", second
    assert second["device"] not in ("", "none"), second
    assert "fallback_reason" not in second
    assert "JACK" in engine.log_path.read_text(), diag
    # The engine's clock is JACK's: over the interval its frames follow the
    # server's frame counter (which a stalled jackd holds back, whatever the
    # engine does), within a tolerance and the two periods of reading skew.
    frames = second["frames"] - first["frames"]
    assert abs(frames - server) <= RATE_TOLERANCE * server + 2 * JACK_PERIOD, \
        f"{frames} engine frames while JACK's clock advanced {server} in {wall:.2f} s{diag}"
    assert server >= (1 - RATE_TOLERANCE) * SAMPLE_RATE * wall or seen > 0, \
        f"JACK's clock advanced {server} frames in {wall:.2f} s without an xrun{diag}"
    # Counted from the first reading on (JACK may report one while a new client
    # joins its graph), and judged against what JACK told an idle client over
    # the same interval: a busy machine makes jackd itself late.
    check_xruns_against_reference(second["xruns"] - first["xruns"], seen, JACK_XRUN_MARGIN, diag)
    assert second["nonfinite"] == 0

    # The engine is a JACK client with two output ports wired to the (dummy)
    # speakers and two input ports fed by the (dummy) capture ports.
    graph = jack.connections()
    ours = sorted(port for port in graph if not port.startswith("system:"))
    outs = [port for port in ours if ":out_" in port]
    ins = [port for port in ours if ":in_" in port]
    assert len(outs) == 2 and len(ins) == 2, graph
    assert [graph[port] for port in outs] == [["system:playback_1"], ["system:playback_2"]]
    assert [graph[port] for port in ins] == [["system:capture_1"], ["system:capture_2"]]

    # Stop the engine first (exit status 0, checked here), then the server.
    assert engine.stop() == 0, engine.diagnostics()
    assert all(port.startswith("system:") for port in jack.connections()), \
        "the engine's ports are gone once it stopped"
    assert jack.stop() == 0, tail(jack.out_path)


def test_a_jack_dropout_counts_as_one_xrun(jack: Jack, start_engine):
    """jackd stopped three times for 0.2 s misses its deadlines: JACK tells every
    client of each xrun. The engine counts each once, as the idle reference
    does, although PortAudio flags every one of the 8 blocks it makes of a
    2048-frame period (issue 12, E20: one dropout read as "8 xruns")."""
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    with engine.conn() as c:
        assert c.ask(cmd="tone_add", name="a", freq=440, gain=0.2)["ok"]
    assert jack.proc is not None
    with JackReference(jack.name) as reference:
        time.sleep(0.5)
        before, seen_before = engine.status()["xruns"], reference.xruns
        for _ in range(3):
            jack.proc.send_signal(signal.SIGSTOP)
            try:
                time.sleep(0.2)
            finally:
                jack.proc.send_signal(signal.SIGCONT)
            time.sleep(0.5)
        after, seen = engine.status()["xruns"], reference.xruns
    counted, seen = after - before, seen - seen_before
    diag = f"\n--- jackd output ---\n{tail(jack.out_path)}\n{engine.diagnostics()}"
    assert seen >= 3, f"the reference saw {seen} xruns for 3 stalls of jackd{diag}"
    assert counted >= 3, f"the engine counted {counted} xruns for 3 stalls of jackd{diag}"
    check_xruns_against_reference(counted, seen, JACK_XRUN_MARGIN, diag)


def test_engine_stops_after_the_jack_server_went_away(jack: Jack, start_engine):
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    time.sleep(0.5)
    assert engine.status()["frames"] > 0
    jack.stop()
    # The engine notices within about a second that its clock stopped...
    deadline = time.monotonic() + 30  # a hang guard, not a speed bound
    while not engine.status()["stalled"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engine.status()["stalled"] is True
    assert "the device or audio server is gone" in engine.log_path.read_text()
    # ...still answers its clients...
    assert engine.ask(cmd="ping")["ok"] is True
    assert engine.ask(id=9, cmd="shutdown") == {"id": 9, "ok": True}
    # ...and must then exit cleanly, not hang or crash.
    try:
        rc: int | None = engine.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    if rc is None:
        engine.kill()
        pytest.fail("the engine did not exit within 5 s of 'shutdown' once JACK was gone")
    if rc != 0:
        engine.expected_rc = rc  # reported here, not again at teardown
        pytest.fail(f"the engine exited with {rc}\n{engine.diagnostics()}")
