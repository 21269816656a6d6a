"""Audio-thread hygiene: a busy session on the real-time guard build.

The guard build (``cmake -DKRACH_RT_GUARD=ON``, ``make rtguard`` →
build/rtguard/krach-engine) interposes malloc, free, mutex locks and blocking
system calls: any of them called inside kr_rt_process aborts the engine with
the function's name and a backtrace on stderr (engine/tests/rtguard). These
tests drive everything at once against it — many nodes and voices, a pattern
on every node, a hot-swap every cycle, mod and fade automation, batches,
routing changes, mute and solo, scenes, recording, tempo changes, nodes
removed mid-pattern — offline and live on a JACK server (PortAudio), and pass
only if the engine never aborted and produced sound.

The binary is $KRACH_RTGUARD_ENGINE (``make test`` sets it), else
build/rtguard/krach-engine; the tests skip, saying so, when neither exists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from e2e_support import REPO, Engine, Jack, read_sound
from krach import signal as krs
from krach.session import Session


def _guard_binary() -> str | None:
    env = os.environ.get("KRACH_RTGUARD_ENGINE")
    path = Path(env) if env else REPO / "build" / "rtguard" / "krach-engine"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    if env:  # asked for explicitly (make test): missing is a failure, not a skip
        pytest.fail(f"KRACH_RTGUARD_ENGINE={env} does not exist; run `make rtguard`", pytrace=False)
    return None


@pytest.fixture
def guard_engine(start_engine: Callable[..., Engine]) -> Callable[..., Engine]:
    """Like `start_engine`, with the guard build (its teardown checks the exit status)."""
    binary = _guard_binary()
    if binary is None:
        pytest.skip("the real-time guard build is absent: run `make rtguard` "
                    "(build/rtguard/krach-engine) or set KRACH_RTGUARD_ENGINE")

    def start(*flags: str, env: dict[str, str] | None = None) -> Engine:
        return start_engine(*flags, env=env, binary=binary)

    return start


# ---- the synths --------------------------------------------------------------------------------


def kick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.2, 0.0, 0.05, gate)
    return krs.sine_osc(50.0 + env * 150.0) * env * 0.8


def hat() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.highpass(krs.white_noise(), 7000.0) * krs.ar(0.001, 0.03, gate) * 0.4


def bass_a() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    return krs.lowpass(krs.saw(freq), cutoff) * krs.adsr(0.005, 0.1, 0.4, 0.05, gate) * 0.5


def bass_b() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    return krs.resonant(krs.square(freq), cutoff, 2.0) * krs.adsr(0.01, 0.1, 0.5, 0.1, gate) * 0.4


def pad() -> krs.Signal:
    freq = krs.control("freq", 220.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return (krs.triangle(freq) + krs.saw(freq * 1.01) * 0.3) * krs.adsr(0.05, 0.2, 0.6, 0.3, gate) * 0.2


def verb(inp: krs.Signal) -> krs.Signal:
    room = krs.control("room", 0.6, 0.0, 1.0)
    return krs.reverb(inp, room, 0.4)


def echo(inp: krs.Signal) -> krs.Signal:
    time_ = krs.control("time", 0.25, 0.01, 1.0)
    return krs.echo(inp, time_, 0.4, 1.0) + krs.chorus(inp) * 0.3


def faust_saw() -> krs.Signal:
    """A synth with a FAUST expression: it runs on the FAUST backend (libfaust's JIT)."""
    freq = krs.control("freq", 110.0, 20.0, 2000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.faust_expr("fi.lowpass(2, 1200, {0})", krs.saw(freq)) * krs.adsr(0.01, 0.1, 0.5, 0.1, gate) * 0.2


KEYS = 10  # more polyphonic nodes, each with a pattern and a send

SOURCES = {"drums/kick": kick, "drums/hat": hat, "bass": bass_a, "pad": pad,
           "lead": bass_b, "drums/perc": hat}


def build(kr: Session) -> None:
    with kr.batch():
        for name, fn in SOURCES.items():
            count = 8 if name == "pad" else 4 if name == "lead" else None
            kr.node(name, fn, count=count)
        kr.node("verb", verb, gain=0.3)
        kr.node("echo", echo, gain=0.3)
        kr.connect("pad", "verb", 0.5)
        kr.connect("lead", "echo", 0.4)
        for i in range(KEYS):
            kr.node(f"keys/{i}", pad, count=2, gain=0.05)
            kr.connect(f"keys/{i}", "verb" if i % 2 else "echo", 0.2)
        # The FAUST backend's compute runs on the audio thread too.
        kr.node("fpad", pad, backend="faust", count=4, gain=0.1)
        kr.node("fsaw", faust_saw, count=2, gain=0.1)
    kr["drums/kick"] @ (kr.hit() * 4)
    kr["drums/hat"] @ "~ x ~ x ~ x x x"
    kr["drums/perc"] @ "x*16?"
    kr["bass"] @ "A1 [D2 E2] ~ A1*2"
    kr["lead"] @ "<[A3,C4,E4] [D4,F4,A4]>*2"
    kr["pad"] @ "[A3,C4,E4,G4,B4,D5,F5,A5]"
    kr.mod("bass/cutoff", "sine", 200, 2000, bars=2)
    kr["fpad"] @ "[A3,C4,E4,G4]"
    kr["fsaw"] @ "A2 ~ [E3,A3] ~"
    for i in range(KEYS):
        kr[f"keys/{i}"] @ ["C4 E4 G4 B4", "[A3,E4]*4", "D4(3,8)", "~ F4 ~ [G4,C5]"][i % 4]


def churn(kr: Session, cycle: int, tmp: Path) -> None:
    """One cycle's worth of everything at once."""
    kr.node("bass", bass_b if cycle % 2 else bass_a)                 # hot-swap: a crossfade
    kr.node("fpad", pad, backend="faust" if cycle % 2 else "native", count=4)  # across backends
    kr.node("lead", bass_a if cycle % 2 else bass_b, count=4 + cycle % 3)
    with kr.batch():                                                  # batch + routing
        kr.node("drums/perc", hat if cycle % 2 else kick, gain=0.2 + 0.1 * (cycle % 3))
        if cycle % 2:
            kr.connect("bass", "verb", 0.3)
            kr.unsend("lead", "echo")
        else:
            kr.unsend("bass", "verb")
            kr.connect("lead", "echo", 0.4)
        kr.gain("drums", 0.5 + 0.1 * (cycle % 2))
    kr.fade("pad/gain", 0.1 + 0.05 * (cycle % 4), bars=1)            # automation
    kr.mod("verb/room", "tri", 0.2, 0.9, bars=1 + cycle % 3)
    kr["drums/perc"] @ ("x*8" if cycle % 2 else "x(3,8)")             # a new pattern
    if cycle % 3 == 0:
        kr.mute("drums/hat")
        kr.solo("bass")
    elif cycle % 3 == 1:
        kr.unsolo()
        kr.unmute("drums/hat")
    if cycle % 4 == 2:
        kr.remove("lead")                                             # removed mid-pattern
        kr.node("lead", bass_b, count=4)
        kr["lead"] @ "[C4,E4] ~ [D4,G4] ~"
    if cycle == 2:
        kr.save("a")
    if cycle == 5:
        kr.recall("a")
    key = f"keys/{cycle % KEYS}"
    kr.node(key, bass_a if cycle % 2 else pad, count=2 + cycle % 3)   # more swaps, voice counts
    kr[key] @ ("C4*8?" if cycle % 2 else "[E4,G4] ~ ~ C5")
    kr.tempo = 120 + 17 * (cycle % 4)
    kr["bass/cutoff"] = 300 + 100 * cycle


def check_sound(path: Path, status: dict) -> None:
    data, _ = read_sound(path)
    assert len(data) > 0 and np.all(np.isfinite(data))
    assert float(np.sqrt(np.mean(data ** 2))) > 0.01, "the busy session made no sound"
    assert status["nonfinite"] == 0 and status["faulted"] == []


def test_busy_session_offline_never_touches_the_allocator(guard_engine, tmp_path: Path):
    engine = guard_engine("--offline")
    kr = Session(engine.client())
    build(kr)
    take = tmp_path / "take.wav"
    kr.record(take)
    for cycle in range(12):
        churn(kr, cycle, tmp_path)
        kr.render(None, cycles=1)
    kr.render(tmp_path / "last.wav", cycles=2)
    info = kr.record_stop()
    status = kr.status()
    kr.close()
    assert engine.running, engine.diagnostics()
    assert info["frames"] > 0 and info["dropped"] == 0
    check_sound(take, status)
    check_sound(tmp_path / "last.wav", status)
    assert "rtguard" not in engine.stderr_path.read_text()


def test_busy_session_on_jack_never_touches_the_allocator(jack: Jack, guard_engine, tmp_path: Path):
    engine = guard_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    kr = Session(engine.client())
    assert kr.status()["backend"] == "portaudio"
    build(kr)
    kr.input("mic", 0, gain=0.1)  # JACK's system capture: the input path too
    kr.connect("mic", "verb", 0.2)
    take = tmp_path / "take.wav"
    kr.record(take)
    for cycle in range(12):
        churn(kr, cycle, tmp_path)
        time.sleep(0.25)
    time.sleep(0.5)
    kr.record_stop()
    status = kr.status()
    kr.close()
    assert engine.running, engine.diagnostics()
    assert status["frames"] > 48000 * 2
    check_sound(take, status)
    assert "rtguard" not in engine.stderr_path.read_text()
