"""The command line (`./bin/krach`) and the client's errors, against the real engine."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import (REPO, child_env, dominant_frequency, read_sound, remove_tree, rms,
                          short_tempdir)
from krach.client import Client

KRACH = str(REPO / "bin" / "krach")


@pytest.fixture
def cli_env(engine_bin: str, engine_home: Path) -> dict[str, str]:
    return child_env(engine_home, KRACH_ENGINE=engine_bin)


def krach(env: dict[str, str], *args: str, cwd: Path | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KRACH, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def session_file(folder: Path, text: str, name: str = "session.py") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_render_a_session_file(cli_env, tmp_path: Path):
    session = session_file(tmp_path, 'kr.tone("a", 440, gain=0.25)\n')
    out = tmp_path / "out.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--seconds", "1")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames) == (48000, 2, 48000)
    data, sr = read_sound(out)
    assert abs(dominant_frequency(data[:, 0], sr) - 440) < 0.5
    assert rms(data[:, 0]) == pytest.approx(0.25 / math.sqrt(2), rel=0.01)


def test_render_longer_than_one_chunk_is_seamless(cli_env, tmp_path: Path):
    """The CLI renders in 1 s chunks appended to one file: no gap, no glitch."""
    session = session_file(tmp_path, 'kr.tone("a", 1000, gain=0.5)\nkr.tone("b", 3000, '
                                     'gain=0.1)\n')
    out = tmp_path / "long.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--seconds", "2.5")
    assert result.returncode == 0, result.stderr
    data, sr = read_sound(out)
    assert data.shape == (120000, 2)
    t = np.arange(120000) / sr
    expected = 0.5 * np.sin(2 * np.pi * 1000 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)
    assert np.max(np.abs(data[:, 0] - expected)) < 1e-5


def test_render_at_another_sample_rate(cli_env, tmp_path: Path):
    session = session_file(tmp_path, 'kr.tone("a", 440, gain=0.25)\n')
    out = tmp_path / "sr.flac"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--seconds", "1",
                   "--sr", "44100")
    assert result.returncode == 0, result.stderr
    info = sf.info(str(out))
    assert (info.format, info.samplerate, info.frames) == ("FLAC", 44100, 44100)
    data, sr = read_sound(out)
    assert abs(dominant_frequency(data[:, 0], sr) - 440) < 0.5


@pytest.mark.parametrize("text, needles", [
    ('kr.tone("a", 440, gain=0.25)\nundefined_thing + 1\n',
     ["session.py", "line 2", "NameError", "undefined_thing"]),
    ('kr.tone("a", 440, gain=7)\n', ["session.py", "line 1", "bad_value", "'gain'"]),
    ('kr.tone("a", 440\n', ["session.py", "not valid Python", "SyntaxError"]),
])
def test_a_failing_session_exits_nonzero_with_a_clear_message(cli_env, tmp_path: Path, text,
                                                              needles):
    session = session_file(tmp_path, text)
    out = tmp_path / "never.wav"
    result = krach(cli_env, "render", str(session), "-o", str(out), "--seconds", "1")
    assert result.returncode != 0
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in:\n{result.stderr}"
    assert "krach/" not in result.stderr, "krach internals stay out of the traceback"
    assert not out.exists()


def test_render_of_a_missing_session_file(cli_env, tmp_path: Path):
    result = krach(cli_env, "render", str(tmp_path / "nope.py"), "-o", str(tmp_path / "x.wav"),
                   "--seconds", "1")
    assert result.returncode != 0 and "nope.py" in result.stderr


def test_no_engine_gives_a_connection_error_that_says_how_to_start_one(tmp_path: Path):
    with pytest.raises(ConnectionError) as err:
        Client(str(tmp_path / "missing.sock"))
    message = str(err.value)
    assert str(tmp_path / "missing.sock") in message
    assert "./bin/krach engine" in message or "krach engine" in message


def test_a_stale_socket_gives_a_connection_error(start_engine):
    engine = start_engine("--offline")
    engine.kill()
    with pytest.raises(ConnectionError) as err:
        Client(engine.socket)
    assert "krach engine" in str(err.value) and engine.socket in str(err.value)


def test_krach_engine_and_status(cli_env, tmp_path: Path):
    """`krach engine FLAGS` runs the engine in the foreground; `krach status` reads it."""
    sock_dir = short_tempdir()
    sock = str(sock_dir / "e.sock")
    stdout = tmp_path / "engine.out"
    with open(stdout, "wb") as out:
        proc = subprocess.Popen([KRACH, "--socket", sock, "engine", "--offline", "--log",
                                 str(tmp_path / "engine.log")], env=cli_env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while "krach-engine ready" not in stdout.read_text():
            assert proc.poll() is None, stdout.read_text()
            assert time.monotonic() < deadline, "krach engine never became ready"
            time.sleep(0.02)
        result = krach(cli_env, "--socket", sock, "status", "--json")
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)
        assert status["backend"] == "offline" and status["sample_rate"] == 48000
        with Client(sock) as client:
            assert client.request("shutdown")["ok"] is True
        assert proc.wait(15) == 0, stdout.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        remove_tree(sock_dir)
