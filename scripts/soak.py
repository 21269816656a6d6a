#!/usr/bin/env python3
"""Soak test: a scripted session with edits every cycle, rendered offline.

    scripts/soak.py --minutes 60                       # engine from $KRACH_ENGINE
    scripts/soak.py --minutes 3 --wrap "valgrind --error-exitcode=99 --leak-check=full"

A private offline engine (``--record-events``) plays a kick, a hat, a bass into
a reverb and a *marker* (a synth whose output is its gate) while, every cycle,
the script changes something: it redefines the bass (alternating programs, so
each swap is a crossfade), changes its pattern, starts mods and fades, moves
the tempo, adds and removes a node, reroutes, mutes, batches, saves and
recalls scenes. Each cycle is rendered without a file.

Checks (exit status 1 on any failure, with the reason):
- every pattern event the audio thread applied landed on its due sample
  (``applied_events``), and ``status.late_events`` stays 0;
- the engine's resident memory after warm-up (the first --warmup share of the
  run) grows by at most --rss-slack MiB;
- at the end, with the marker soloed at a fixed tempo, its onsets in the
  rendered sound are at exactly the samples the transport computes;
- the engine exits with status 0 (under ASan/LSan or valgrind
  --error-exitcode: no leaks, no memory errors).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from krach import pattern as krp  # noqa: E402
from krach import signal as krs  # noqa: E402
from krach.client import Client  # noqa: E402
from krach.engine import wait_for_socket  # noqa: E402
from krach.session import Session  # noqa: E402

sys.path.insert(0, str(REPO / "python" / "tests"))
# The seed's kick, hat and bass: the one copy, in examples/five_minute_beat.py.
from seed import bass as bass_low, hat, kick  # noqa: E402

SR = 48000
MARKER_GAIN = 0.5
BASS_LINES = ("A2 D3 ~ E2", "A2*2 [C3 E3] ~ G2", "<A2 F2> ~ D3 [E3 G3]", "E2 ~ ~ B2")
TEMPOS = (120, 128, 137.5, 96, 150)


# ---- synths ------------------------------------------------------------------


def bass_band() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    env = krs.adsr(0.01, 0.2, 0.4, 0.1, gate)
    return krs.bandpass(krs.square(freq), cutoff, 2.0) * env * 0.5


def verb(inp: krs.Signal) -> krs.Signal:
    room = krs.control("room", 0.7, 0.0, 1.0)
    return krs.reverb(inp, room) * 0.8


def perc() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.08, 0.0, 0.03, gate)
    return krs.bandpass(krs.white_noise(), 1800.0, 4.0) * env


def marker() -> krs.Signal:
    """Its output is its gate: the sound is 0 until a hit, exactly `gain` from the hit's sample."""
    return krs.control("gate", 0.0, 0.0, 1.0) * 1.0


# ---- the engine --------------------------------------------------------------


@dataclass
class Engine:
    process: subprocess.Popen[bytes]
    directory: Path
    log: Path
    socket: str

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def start_engine(binary: str, wrap: list[str], timeout: float) -> Engine:
    directory = Path(tempfile.mkdtemp(prefix="krach-soak-"))
    sock, log = str(directory / "e.sock"), directory / "engine.log"
    args = wrap + [binary, "--offline", "--record-events", "--socket", sock, "--log", str(log),
                   "--sample-rate", str(SR)]
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    wait_for_socket(sock, process, log, timeout)
    return Engine(process, directory, log, sock)


# ---- the session -------------------------------------------------------------


@dataclass
class Soak:
    kr: Session
    engine: Engine
    edits: int = 0
    events_checked: int = 0
    cycles: int = 0
    audio_seconds: float = 0.0
    onsets: int = 0
    onset_error: int = -1
    rss: list[tuple[int, int]] = field(default_factory=list)  # (cycle, KiB)
    problems: list[str] = field(default_factory=list)

    def setup(self) -> None:
        kr = self.kr
        kr.tempo = TEMPOS[0]
        with kr.batch():
            kr.node("kick", kick, gain=0.8)
            kr.node("drums/hat", hat, gain=0.4)
            kr.node("bass", bass_low, gain=0.3)
            kr.node("verb", verb, gain=0.3)
            kr.node("marker", marker, gain=MARKER_GAIN)
            kr["bass"] >> (kr["verb"], 0.4)
        kr.play("kick", krp.hit() * 4)
        kr.play("drums/hat", (krp.rest() + krp.hit()) * 4)
        kr.play("bass", BASS_LINES[0])
        kr.play("marker", krp.hit() * 4)
        kr.save("start")

    def edit(self, i: int) -> None:
        """One cycle's edits: which ones depends on the cycle number."""
        kr = self.kr
        kr.node("bass", bass_band if i % 2 else bass_low)  # a crossfaded hot-swap every cycle
        kr.play("bass", BASS_LINES[i % len(BASS_LINES)])
        self.edits += 2
        step = i % 16
        if step == 1:
            kr.mod("bass/cutoff", "sine", 300, 3000, bars=2)
        elif step == 3:
            kr.fade("verb/room", 0.3 + 0.05 * (i % 8), bars=1)
        elif step == 4:
            kr.tempo = TEMPOS[(i // 16) % len(TEMPOS)]
        elif step == 5:
            kr.node("perc", perc, gain=0.3, count=2)
            kr.play("perc", "x*8?")
        elif step == 7:
            kr.connect("perc", "verb", 0.5)
        elif step == 8:
            kr.unsend("bass", "verb")
            kr.mute("drums")
        elif step == 9:
            kr.connect("bass", "verb", 0.2 + 0.05 * (i % 5))
            kr.unmute("drums")
        elif step == 10:
            kr.remove("perc")
        elif step == 11:
            with kr.batch():
                kr.gain("kick", 0.6 + 0.02 * (i % 10))
                kr.set("verb/room", 0.6)
                kr.node("drums/snare", perc, gain=0.2)
            kr.play("drums/snare", "~ x ~ x")
        elif step == 12:
            kr.save(f"s{(i // 16) % 4}")
        elif step == 13:
            kr.hush("bass/cutoff")
            kr.remove("drums/snare")
        elif step == 14 and i >= 64 and (i // 16) % 3 == 0:
            kr.recall(f"s{(i // 16 + 1) % 4}" if f"s{(i // 16 + 1) % 4}" in kr.scenes else "start")
        elif step == 15:
            kr.set("bass/cutoff", 500 + 100 * (i % 20))
            kr.meter = 4
        else:
            return
        self.edits += 1

    def check_events(self) -> None:
        reply = self.kr.request("applied_events")
        for event in reply["events"]:
            if event["due"] != event["applied"]:
                self.problems.append(f"cycle {self.cycles}: event due at {event['due']} applied at "
                                     f"{event['applied']}")
        self.events_checked += len(reply["events"])
        if reply["dropped"]:
            self.problems.append(f"cycle {self.cycles}: {reply['dropped']} applied-event records dropped")

    def run(self, audio_seconds: float, progress: bool) -> None:
        start = time.monotonic()
        rendered = 0.0
        sample_every = 16
        while rendered < audio_seconds:
            self.edit(self.cycles)
            before = self.kr.request("transport")["sample"]
            self.kr.wait(bars=1)
            after = self.kr.request("transport")["sample"]
            rendered += (after - before) / SR
            self.cycles += 1
            self.check_events()
            if self.cycles % sample_every == 0:
                self.rss.append((self.cycles, self.engine.rss_kib()))
                if progress:
                    print(f"soak: {rendered / 60:6.1f} min of audio, {self.cycles} cycles, "
                          f"{self.edits} edits, rss {self.rss[-1][1] / 1024:.1f} MiB, "
                          f"wall {time.monotonic() - start:.0f} s", flush=True)
            if len(self.problems) > 20:
                break
        self.audio_seconds = rendered
        self.rss.append((self.cycles, self.engine.rss_kib()))

    def final_onsets(self, directory: Path) -> tuple[int, int]:
        """Solo the marker at a fixed tempo; return (onsets compared, largest error in samples)."""
        kr = self.kr
        kr.request("stop")
        kr.play("marker", krp.hit() * 4)
        kr.request("unsolo")
        kr.solo("marker")
        kr.render(frames=1)  # off the bar line, so `transport` reports the clock's own cycle
        kr.tempo = 133  # a new tempo segment starts here: every later onset is computed from it
        where = kr.request("transport")
        s_ref, c_ref = int(where["sample"]), Fraction(where["cycle"])
        kr.wait(bars=2)  # the solo's 20 ms fade and the pattern's next cycle boundary
        s0 = int(kr.request("transport")["sample"])
        path = directory / "end.wav"
        bars = 8
        kr.render(path, cycles=bars)
        sound, _ = soundfile.read(path, dtype="float32", always_2d=True)
        path.unlink()
        level = sound[:, 0]
        rising = np.flatnonzero((level[1:] > 0.25) & (level[:-1] <= 0.25)) + 1 + s0
        per_cycle = Fraction(60 * 4 * SR) / Fraction(133)
        onsets = (s_ref + math.ceil((Fraction(k, 4) - c_ref) * per_cycle)
                  for k in range(math.ceil(c_ref * 4), math.ceil(c_ref * 4) + 4 * (bars + 3)))
        expected = [e for e in onsets if s0 < e < s0 + len(level)]
        got = [int(x) for x in rising]
        if len(got) != len(expected):
            self.problems.append(f"end: {len(got)} marker onsets, expected {len(expected)}: {got} vs {expected}")
            return len(got), -1
        error = max(abs(a - b) for a, b in zip(got, expected))
        if error:
            self.problems.append(f"end: marker onsets off by up to {error} samples: {got[:4]} vs {expected[:4]}")
        if not np.allclose(level[rising - s0], MARKER_GAIN, atol=1e-6):
            self.problems.append("end: the marker's level at its onsets is not its gain")
        return len(got), error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="minutes of audio to render")
    parser.add_argument("--engine", default=os.environ.get("KRACH_ENGINE") or str(REPO / "build/asan/krach-engine"))
    parser.add_argument("--wrap", default="", help="command to run the engine under, e.g. valgrind ...")
    parser.add_argument("--warmup", type=float, default=0.25, help="share of the run before RSS is watched")
    parser.add_argument("--rss-slack", type=float, default=8.0, help="MiB the RSS may grow after warm-up")
    parser.add_argument("--quiet", action="store_true")
    opts = parser.parse_args()

    wrap = shlex.split(opts.wrap)
    engine = start_engine(opts.engine, wrap, 120.0 if wrap else 20.0)
    wall = time.monotonic()
    problems: list[str] = []
    soak: Soak | None = None
    try:
        client = Client(engine.socket, timeout=600.0)
        soak = Soak(Session(client), engine)
        soak.setup()
        soak.run(opts.minutes * 60.0, not opts.quiet)
        soak.onsets, soak.onset_error = soak.final_onsets(engine.directory)
        late = soak.kr.status()["late_events"]
        if late:
            problems.append(f"status reports {late} late events")
        client.request("shutdown")
        client.close()
    except Exception as err:  # report, then still collect the engine's exit status
        problems.append(f"{type(err).__name__}: {err}")
    try:
        code = engine.process.wait(timeout=600 if wrap else 60)
    except subprocess.TimeoutExpired:
        engine.process.kill()
        code = engine.process.wait()
    wall = time.monotonic() - wall
    log = engine.log.read_text(errors="replace")
    if code != 0:
        problems.append(f"engine exited with status {code}; end of its log:\n" + "\n".join(log.splitlines()[-40:]))
    if soak is not None and soak.rss:
        problems += soak.problems
        warm = [kib for cycle, kib in soak.rss if cycle >= soak.cycles * opts.warmup]
        growth = (max(warm) - warm[0]) / 1024
        if growth > opts.rss_slack:
            problems.append(f"RSS grew by {growth:.1f} MiB after warm-up (limit {opts.rss_slack:g} MiB)")
        print(f"soak: {soak.audio_seconds / 60:.1f} min of audio in {soak.cycles} cycles, {wall:.0f} s wall, "
              f"{soak.edits} edits, {soak.events_checked} events on their sample; RSS after warm-up "
              f"{warm[0] / 1024:.1f} MiB, at end {soak.rss[-1][1] / 1024:.1f} MiB, peak "
              f"{max(k for _, k in soak.rss) / 1024:.1f} MiB; {soak.onsets} end onsets, largest error "
              f"{soak.onset_error} samples; engine exit status {code}")
    for line in log.splitlines():
        if "ERROR SUMMARY" in line or "definitely lost" in line or "LeakSanitizer" in line:
            print("soak: " + line.split("==", 2)[-1].strip())
    if problems:
        print("soak: FAILED\n" + "\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        return 1
    print("soak: passed")
    shutil.rmtree(engine.directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
