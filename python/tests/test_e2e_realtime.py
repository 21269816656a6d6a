"""Real-time backends: the null clock, and PortAudio on a JACK server.

No sound card is needed: the null backend is a silent clock, and JACK runs
with its dummy driver. Both must keep time (frames advance at the sample
rate) and run without dropouts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from e2e_support import SAMPLE_RATE, Engine, child_env, run_engine_to_exit, tail

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
    engine = start_engine("--backend", "null")
    with engine.conn() as c:
        # Something to compute: the audio thread really renders while it runs.
        assert c.ask(cmd="tone_add", name="a", freq=440, gain=0.2)["ok"]
        assert c.ask(cmd="tone_add", name="b", freq=660, gain=0.2)["ok"]
    first, second, wall = measure(engine, 2.0)
    assert second["backend"] == "null" and second["device"] == "none"
    rate = (second["frames"] - first["frames"]) / wall
    assert abs(rate - SAMPLE_RATE) <= RATE_TOLERANCE * SAMPLE_RATE, f"{rate:.0f} frames/s"
    # Over the whole run as well: frames / uptime is the sample rate.
    assert second["frames"] / second["uptime"] == pytest.approx(SAMPLE_RATE, rel=RATE_TOLERANCE)
    # The null clock counts an xrun only when its thread wakes more than a whole
    # block (5.3 ms) late. Its work per block is tiny, but this thread is not
    # real-time scheduled, so on a shared, loaded test machine the OS may stall
    # it once in a while. Allow two such stalls in ~2 s; a systematic problem
    # (a slow audio path, a clock that drifts) shows up as many.
    assert second["xruns"] <= 2, f"{second['xruns']} xruns in {second['uptime']:.1f} s"
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

# The engine keeps its default 256-frame blocks. JACK runs with 1024-frame
# periods (PortAudio adapts, calling the engine 4 times per JACK cycle):
# jackd's dummy driver is itself a timer loop, and in a non-real-time jackd on
# a virtual machine it misses 5.3 ms (256-frame) deadlines on its own
# ("JackTimedDriver::Process XRun" in its output) a few times per second,
# which every JACK client then sees as an xrun whatever it does. With 21 ms
# periods it does not, so xruns == 0 below measures the engine.
JACK_PERIOD = 1024


class Jack:
    def __init__(self, tmp: Path, home: Path) -> None:
        self.name = f"krach-test-{os.getpid()}-{time.monotonic_ns() % 100000}"
        self.env = child_env(home, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1",
                             JACK_NO_START_SERVER="1")
        self.out_path = tmp / "jackd.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                ["jackd", "-n", self.name, "--no-realtime", "-d", "dummy",
                 "-r", str(SAMPLE_RATE), "-p", str(JACK_PERIOD)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 5.0
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"jackd exited with {self.proc.returncode}:\n"
                                     f"{tail(self.out_path)}")
            if self.lsp().returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"jackd did not answer jack_lsp within 5 s:\n"
                                     f"{tail(self.out_path)}")
            time.sleep(0.1)

    def lsp(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["jack_lsp", *args], env=self.env, capture_output=True, text=True,
                              timeout=10)

    def connections(self) -> dict[str, list[str]]:
        """Every port and what it is connected to (`jack_lsp -c`)."""
        graph: dict[str, list[str]] = {}
        port = ""
        for line in self.lsp("-c").stdout.splitlines():
            if line.startswith((" ", "\t")):
                graph[port].append(line.strip())
            elif line:
                port = line
                graph[port] = []
        return graph

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def jack(tmp_path: Path, engine_home: Path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian package jackd2)")
    server = Jack(tmp_path, engine_home)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# `jack` comes before `start_engine` in the arguments so that pytest tears it
# down after the engine: an engine whose JACK server vanishes cannot stop
# (see test_engine_stops_after_the_jack_server_went_away).


def test_portaudio_on_jack_keeps_time_without_xruns(jack: Jack, start_engine):
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    assert "backend=portaudio" in engine.ready_line
    with engine.conn() as c:
        assert c.ask(cmd="tone_add", name="a", freq=440, gain=0.2)["ok"]
    first, second, wall = measure(engine, 5.0)
    diag = f"\n--- jackd output ---\n{tail(jack.out_path)}\n{engine.diagnostics()}"
    assert second["backend"] == "portaudio", second
    assert second["device"] not in ("", "none"), second
    assert "fallback_reason" not in second
    assert "JACK" in engine.log_path.read_text(), diag
    rate = (second["frames"] - first["frames"]) / wall
    assert abs(rate - SAMPLE_RATE) <= RATE_TOLERANCE * SAMPLE_RATE, f"{rate:.0f} frames/s{diag}"
    assert second["frames"] / second["uptime"] == pytest.approx(SAMPLE_RATE, rel=RATE_TOLERANCE)
    assert second["xruns"] == 0, f"{second['xruns']} xruns{diag}"
    assert second["nonfinite"] == 0

    # The engine is a JACK client with two output ports, wired to the (dummy) speakers.
    graph = jack.connections()
    ours = sorted(port for port in graph if not port.startswith("system:"))
    assert len(ours) == 2, graph
    assert [graph[port] for port in ours] == [["system:playback_1"], ["system:playback_2"]]

    # Stop the engine first (exit status 0, checked here), then the server.
    assert engine.stop() == 0, engine.diagnostics()
    assert all(port.startswith("system:") for port in jack.connections()), \
        "the engine's ports are gone once it stopped"
    assert jack.stop() == 0, tail(jack.out_path)


def test_engine_stops_after_the_jack_server_went_away(jack: Jack, start_engine):
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    time.sleep(0.5)
    assert engine.status()["frames"] > 0
    jack.stop()
    # The engine notices within about a second that its clock stopped...
    deadline = time.monotonic() + 5
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
