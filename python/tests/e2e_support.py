"""Helpers for the end-to-end tests: run the real krach-engine, talk raw JSON
to it, and measure the sound it writes.

Nothing here is a mock: `Engine` starts the binary named by ``KRACH_ENGINE``
(``make test`` points it at the ASan/UBSan build), `Conn` is a plain socket,
and the analysis functions read what the engine wrote to disk.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
READY = "krach-engine ready"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
SAMPLE_RATE = 48000


# ---- engine binary and environment ----------------------------------------


def engine_binary() -> str:
    """``$KRACH_ENGINE``, else the release build; never silently skip."""
    env = os.environ.get("KRACH_ENGINE")
    path = Path(env) if env else REPO / "build" / "release" / "krach-engine"
    if not (path.is_file() and os.access(path, os.X_OK)):
        how = f"KRACH_ENGINE={env}" if env else f"{path} (the release build)"
        raise FileNotFoundError(
            f"the engine binary {how} does not exist or is not executable: "
            f"run `make engine` (or `make asan` and set KRACH_ENGINE=build/asan/krach-engine)"
        )
    return str(path)


def sanitizer_env(env: dict[str, str]) -> dict[str, str]:
    """Make sanitizer findings fatal (exit status != 0) even outside `make test`."""
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    supp = REPO / "scripts" / "lsan.supp"
    if "LSAN_OPTIONS" not in env and supp.is_file():
        env["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    return env


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a child the tests start: a private HOME, no KRACH_SOCKET."""
    env = dict(os.environ)
    env.pop("KRACH_SOCKET", None)
    env["HOME"] = str(home)
    env.update(extra)
    return sanitizer_env(env)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(missing)"
    # The ALSA library complains at length about the missing sound card.
    kept = [line for line in text.splitlines() if not line.startswith("ALSA lib ")]
    return "\n".join(kept[-lines:]) or "(empty)"


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def short_tempdir() -> Path:
    """A short directory for Unix sockets (sun_path holds at most 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="kr-", dir="/tmp"))


# ---- a raw connection -------------------------------------------------------


class Conn:
    """One raw connection to the engine: bytes in, reply lines out."""

    def __init__(self, address: str | tuple[str, int], timeout: float = 10.0,
                 source: str | None = None) -> None:
        if isinstance(address, tuple):  # `source`: the local address to connect from
            self.sock = socket.create_connection(address, timeout=timeout,
                                                 source_address=(source, 0) if source else None)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(address)
        self.timeout = timeout
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_json(self, obj: Any) -> None:
        self.send(json.dumps(obj).encode() + b"\n")

    def line(self, timeout: float | None = None) -> bytes:
        """The next reply line (without its newline); raises on EOF or timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                out = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply line within {timeout or self.timeout} s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError(
                    f"the engine closed the connection (unfinished bytes: {bytes(self.buf)!r})"
                )
            self.buf += chunk

    def reply(self, timeout: float | None = None) -> dict[str, Any]:
        raw = self.line(timeout)
        reply = json.loads(raw)
        assert isinstance(reply, dict), raw
        return reply

    def ask(self, obj: Any = None, **fields: Any) -> dict[str, Any]:
        """Send one request (an object, or fields) and return its reply."""
        self.send_json(obj if obj is not None else fields)
        return self.reply()

    def at_eof(self, timeout: float = 5.0) -> bool:
        """True when the engine closes the connection (after any buffered lines)."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1 << 16) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def error_of(reply: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of an ``ok: false`` reply; fails if the reply is ok."""
    assert reply.get("ok") is False, f"expected an error reply, got {reply}"
    error = reply["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), reply
    assert error["message"].strip(), f"empty error message: {reply}"
    return error["code"], error["message"]


# ---- the engine process -----------------------------------------------------


class Engine:
    """A krach-engine child: its socket, log, stderr and exit status."""

    def __init__(self, binary: str, args: list[str], workdir: Path, sockdir: Path,
                 env: dict[str, str], socket_path: Path | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.socket = str(socket_path or sockdir / "e.sock")
        self.log_path = workdir / "engine.log"
        self.stdout_path = workdir / "engine.stdout"
        self.stderr_path = workdir / "engine.stderr"
        self.home = Path(env["HOME"])
        self.argv = [binary, "--socket", self.socket, "--log", str(self.log_path), *args]
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.expected_rc: int | None = 0
        self.ready_line = ""

    # starting
    def start(self, timeout: float = START_TIMEOUT) -> Engine:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env)
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout_path.read_text(errors="replace")
            if READY in text and text.endswith("\n"):
                self.ready_line = next(l for l in text.splitlines() if READY in l)
                return self
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    f"krach-engine exited with status {rc} before it was ready\n"
                    f"argv: {self.argv}\n{self.diagnostics()}"
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"krach-engine printed no '{READY}' line within {timeout:g} s\n"
                    f"{self.diagnostics()}"
                )
            time.sleep(0.01)

    # talking
    def conn(self, timeout: float = 10.0) -> Conn:
        return Conn(self.socket, timeout)

    def ask(self, obj: Any = None, **fields: Any) -> dict[str, Any]:
        """One request on a fresh connection."""
        with self.conn() as c:
            return c.ask(obj, **fields)

    def status(self) -> dict[str, Any]:
        reply = self.ask(cmd="status")
        assert reply["ok"] is True, reply
        return reply

    def client(self, timeout: float = 10.0):  # -> krach.client.Client
        from krach.client import Client

        return Client(self.socket, timeout=timeout)

    # stopping
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"krach-engine did not exit within {timeout:g} s (killed)\n{self.diagnostics()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL, as a crash would; teardown then expects no clean exit."""
        assert self.proc is not None
        self.expected_rc = None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)

    def stop(self) -> int:
        """Ask for shutdown (SIGTERM if the socket does not answer); return the status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            try:
                with self.conn(timeout=5.0) as c:
                    c.send_json({"cmd": "shutdown"})
                    c.reply()
            except (OSError, ValueError):
                self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def diagnostics(self) -> str:
        return (f"--- engine stderr ({self.stderr_path}) ---\n{tail(self.stderr_path)}\n"
                f"--- engine log ({self.log_path}) ---\n{tail(self.log_path)}")

    def check_exit(self, rc: int) -> None:
        if self.expected_rc is not None and rc != self.expected_rc:
            raise AssertionError(
                f"krach-engine exited with status {rc}, expected {self.expected_rc} "
                f"(a sanitizer finding or a crash?)\nargv: {self.argv}\n{self.diagnostics()}"
            )


def run_engine_to_exit(binary: str, args: list[str], env: dict[str, str],
                       timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    """Run the engine expecting it to refuse to start; return its exit and output."""
    return subprocess.run([binary, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---- a JACK server (jackd, dummy driver) ---------------------------------------

# The engine keeps its default 256-frame blocks. JACK runs with 2048-frame
# periods (PortAudio adapts, calling the engine 8 times per JACK cycle):
# jackd's dummy driver is itself a timer loop, and in a non-real-time jackd on
# a virtual machine it misses 5.3 ms (256-frame) deadlines on its own
# ("JackTimedDriver::Process XRun" in its output) a few times per second,
# which every JACK client then sees as an xrun whatever it does. With 43 ms
# periods it does not (21 ms was still marginal while other work loaded the
# machine), so a test that finds xruns == 0 measures the engine.
JACK_PERIOD = 2048


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
        deadline = time.monotonic() + 30.0  # a hang guard: jackd starts slowly on a loaded machine
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"jackd exited with {self.proc.returncode}:\n"
                                     f"{tail(self.out_path)}")
            if self.lsp().returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"jackd did not answer jack_lsp within 30 s:\n"
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


# ---- a reference JACK client ------------------------------------------------------

# On a busy machine jackd (not real-time, dummy driver) misses deadlines
# whatever its clients do, and JACK tells every client of every xrun. What the
# engine counts is therefore judged against what an idle client of the same
# server is told over the same interval: `JackReference` is such a client, in
# the test process through libjack (no process callback, so it never takes part
# in the audio cycle itself; it only hears the server's xrun notifications).
# A JACK test allows the engine JACK_XRUN_MARGIN more xruns than the reference:
# the engine counts an xrun in its own callback, so one notification that
# arrives between the reference's and the engine's readings may count for one
# side only.
JACK_XRUN_MARGIN = 1

_XRUN_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class JackReference:
    """An idle JACK client on the server `server` that counts the xruns it is told of."""

    def __init__(self, server: str, name: str = "krach-reference") -> None:
        self._jack = ctypes.CDLL("libjack.so.0")
        self._jack.jack_client_open.restype = ctypes.c_void_p
        self._jack.jack_set_xrun_callback.argtypes = [ctypes.c_void_p, _XRUN_CALLBACK, ctypes.c_void_p]
        self._jack.jack_activate.argtypes = [ctypes.c_void_p]
        self._jack.jack_deactivate.argtypes = [ctypes.c_void_p]
        self._jack.jack_client_close.argtypes = [ctypes.c_void_p]
        self._jack.jack_last_frame_time.argtypes = [ctypes.c_void_p]
        self._jack.jack_last_frame_time.restype = ctypes.c_uint32
        self._xruns = 0
        self._callback = _XRUN_CALLBACK(self._on_xrun)  # kept alive as long as the client
        status = ctypes.c_int(0)
        no_start_server, server_name = 0x01, 0x04
        self._client = self._jack.jack_client_open(name.encode(), no_start_server | server_name,
                                                   ctypes.byref(status), server.encode())
        if not self._client:
            raise AssertionError(f"the reference JACK client could not open (status {status.value:#x})")
        if (self._jack.jack_set_xrun_callback(self._client, self._callback, None) != 0
                or self._jack.jack_activate(self._client) != 0):
            self.close()
            raise AssertionError("the reference JACK client could not start")

    def _on_xrun(self, _arg: int | None) -> int:
        self._xruns += 1
        return 0

    @property
    def xruns(self) -> int:
        """The xruns the server reported to this client since it opened."""
        return self._xruns

    def frames(self) -> int:
        """The server's frame counter at the start of its current cycle
        (`jack_last_frame_time`): how far JACK's own clock got."""
        return int(self._jack.jack_last_frame_time(self._client))

    def close(self) -> None:
        if self._client:
            self._jack.jack_deactivate(self._client)
            self._jack.jack_client_close(self._client)
            self._client = None

    def __enter__(self) -> JackReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_xruns_against_reference(engine_xruns: int, reference_xruns: int, margin: int,
                                  diag: str = "") -> None:
    """The engine's xruns over an interval are the machine's, not its own: no more
    than what the reference saw over the same interval, plus `margin`."""
    assert engine_xruns <= reference_xruns + margin, (
        f"{engine_xruns} xruns in the engine, {reference_xruns} in the idle reference over the "
        f"same interval (allowed: {margin} more){diag}")


# The null backend's reference: a process whose thread keeps the null clock's
# schedule (sleep to the next block's deadline; when it wakes more than a block
# late, an xrun, and the schedule resumes from now, dropping the time it lost;
# see engine/src/io/null.c) with no work at all. What it counts is the
# machine's stalls, and the time they cost the clock.
_NULL_REFERENCE = r"""
import select, sys, time
block = float(sys.argv[1])
stalls, lost = 0, 0.0
deadline = time.monotonic()
print("ready", flush=True)
while True:
    if select.select([sys.stdin], [], [], 0)[0]:
        if sys.stdin.readline().strip() != "read":
            break
        print(stalls, lost, flush=True)
    deadline += block
    now = time.monotonic()
    if now - deadline > block:
        stalls += 1
        lost += now - deadline
        deadline = now
        continue
    time.sleep(max(0.0, deadline - now))
"""
NULL_XRUN_MARGIN = 2


class NullReference:
    """Stalls the null clock's schedule meets on this machine, read while it runs."""

    def __init__(self, block_frames: int = 256, sample_rate: int = SAMPLE_RATE) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _NULL_REFERENCE, repr(block_frames / sample_rate)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def read(self) -> tuple[int, float]:
        """(stalls, seconds lost to them) since the start."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("read\n")
        self.proc.stdin.flush()
        stalls, lost = self.proc.stdout.readline().split()
        return int(stalls), float(lost)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.communicate("stop\n", timeout=10)

    def __enter__(self) -> NullReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- sound analysis -----------------------------------------------------------


def read_sound(path: Path | str) -> tuple[np.ndarray, int]:
    """(frames x channels float64 array, sample rate)."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    return data, sr


def dominant_frequency(x: np.ndarray, sr: int) -> float:
    """The strongest frequency in `x`, to a small fraction of a Hz.

    Hann window, 4x zero-padded FFT, and a parabola through the log
    magnitudes of the peak bin and its neighbours (exact for a Gaussian peak,
    within millihertz for a Hann peak at this padding).
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    n = len(x)
    nfft = 1 << int(math.ceil(math.log2(4 * n)))
    spec = np.abs(np.fft.rfft(x * np.hanning(n), nfft))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-300)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * sr / nfft


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x)))


# ---- rendering a session piece by piece ----------------------------------------


class Take:
    """An offline render built from consecutive pieces, kept in memory.

    In an offline engine ``render(frames=n)`` advances exactly n frames, and a
    command sent between two renders takes effect at the first sample of the
    next one. So::

        take = Take(kr, tmp_path)
        take.render(1000)          # samples 0..999
        kr.set("env/gate", 1)      # the gate rises at sample 1000, exactly
        take.render(3000)
        x = take.mono()            # all 4000 samples

    places events at exact samples. Each piece is written to its own float
    WAV under `directory` and read back (the file is what the engine wrote).
    """

    def __init__(self, session: Any, directory: Path, name: str = "take") -> None:
        self.session = session
        self.directory = Path(directory)
        self.name = name
        self.parts: list[np.ndarray] = []

    @property
    def position(self) -> int:
        """Frames rendered so far: the index the next piece starts at."""
        return sum(len(p) for p in self.parts)

    def render(self, frames: int) -> np.ndarray:
        """Advance the engine `frames` frames; return that piece (frames x channels)."""
        path = self.directory / f"{self.name}-{len(self.parts):04d}.wav"
        reply = self.session.render(path, frames=frames)
        assert reply["frames"] == frames, reply
        data, sr = read_sound(path)
        assert sr == SAMPLE_RATE and data.shape[0] == frames, (sr, data.shape)
        self.parts.append(data)
        return data

    def sound(self) -> np.ndarray:
        """Everything rendered so far, frames x channels."""
        return np.concatenate(self.parts) if self.parts else np.zeros((0, 2))

    def mono(self) -> np.ndarray:
        """Channel 0 of everything so far; a mono node feeds both channels identically."""
        data = self.sound()
        assert np.array_equal(data[:, 0], data[:, 1]), "a mono node must feed both channels equally"
        return data[:, 0]


# ---- more sound analysis ---------------------------------------------------------


def tone_amplitude(x: np.ndarray, freq: float, sr: int = SAMPLE_RATE) -> float:
    """Peak amplitude of the sine at `freq` in `x` (a DFT at that one frequency).

    Exact when `x` spans a whole number of periods of `freq` (choose
    frequencies on the grid sr/len(x)): then it is sqrt(2) times the RMS of
    that sine's component, unaffected by the other sines of the grid.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.arange(len(x))
    return float(2.0 * abs(np.dot(x, np.exp(-2j * np.pi * freq * t / sr))) / len(x))


def band_limited(x: np.ndarray, lo: float, hi: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """`x` with everything outside [lo, hi] Hz removed (an FFT brick wall)."""
    spec = np.fft.rfft(np.asarray(x, dtype=np.float64))
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    spec[(freqs < lo) | (freqs > hi)] = 0.0
    return np.fft.irfft(spec, len(x))


def energy_fraction(x: np.ndarray, lo: float, hi: float = math.inf, sr: int = SAMPLE_RATE) -> float:
    """The share of `x`'s energy between `lo` and `hi` Hz."""
    power = np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    return float(power[(freqs >= lo) & (freqs <= hi)].sum() / power.sum())


def schroeder_t60(x: np.ndarray, sr: int = SAMPLE_RATE, top_db: float = -5.0,
                  bottom_db: float = -25.0) -> float:
    """Reverberation time (s) of the impulse response `x` by Schroeder's method.

    The energy decay curve (backward-integrated squared response, in dB) is
    fitted with a line between `top_db` and `bottom_db` (T20 by default) and
    extrapolated to -60 dB.
    """
    x = np.asarray(x, dtype=np.float64)
    energy = np.cumsum((x * x)[::-1])[::-1]
    edc = 10.0 * np.log10(energy / energy[0] + 1e-300)
    start = int(np.argmax(edc <= top_db))
    stop = int(np.argmax(edc <= bottom_db))
    assert stop > start + 10, f"the decay never reaches {bottom_db} dB: render longer"
    slope = np.polyfit(np.arange(start, stop) / sr, edc[start:stop], 1)[0]
    return float(-60.0 / slope)
