"""`krach play SESSION.py`: load a session into the live engine and play until Ctrl-C."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from e2e_support import REPO, child_env

KRACH = str(REPO / "bin" / "krach")

SESSION = '''
def tick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(880.0) * krs.adsr(0.001, 0.05, 0.0, 0.02, gate) * 0.3

t = kr.node("tick", tick)
kr.tempo = 140
t @ (kr.hit() * 4)
'''


def test_play_runs_the_session_until_ctrl_c(engine_bin, engine_home: Path, start_engine,
                                            tmp_path: Path):
    engine = start_engine("--backend", "null")
    session = tmp_path / "tick.py"
    session.write_text(SESSION)
    proc = subprocess.Popen([KRACH, "--socket", engine.socket, "play", str(session)],
                            env=child_env(engine_home, KRACH_ENGINE=engine_bin), stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 20
        while not engine.ask(cmd="transport")["patterns"]:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the session never started playing"
            time.sleep(0.05)
        status = engine.ask(cmd="transport")
        assert status["bpm"] == 140 and status["patterns"][0]["target"] == "tick"
        time.sleep(0.5)
        assert proc.poll() is None, "play returned while it should keep playing"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        err = proc.stderr.read()
        assert "no sound device" in err and "playing" in err and "stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
    # Ctrl-C stopped the patterns; the engine and its nodes stay.
    assert engine.ask(cmd="transport")["patterns"] == []
    assert [n["name"] for n in engine.ask(cmd="nodes")["nodes"]] == ["tick"]


def test_play_reports_a_broken_session_file(engine_bin, engine_home: Path, start_engine,
                                            tmp_path: Path):
    engine = start_engine("--backend", "null")
    broken = tmp_path / "broken.py"
    broken.write_text("kr.tempo = 120\nkr.node('x', undefined_synth)\n")
    result = subprocess.run([KRACH, "--socket", engine.socket, "play", str(broken)],
                            env=child_env(engine_home, KRACH_ENGINE=engine_bin), capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1
    assert "broken.py" in result.stderr and "NameError" in result.stderr
