"""Audio input and recording, end to end: the engine records what it plays,
offline and live, and an input node hears what another JACK client sends it."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from e2e_support import dominant_frequency as peak_frequency
from krach.errors import KrachError


def test_an_offline_recording_equals_the_render(offline_engine, tmp_path: Path):
    offline_engine.ask(cmd="tone_add", name="a", freq=440, gain=0.25)
    offline_engine.ask(cmd="render", frames=4800)
    take, rendered = tmp_path / "take.wav", tmp_path / "render.wav"
    assert offline_engine.ask(cmd="record", path=str(take))["ok"]
    assert offline_engine.ask(cmd="status")["recording"] == str(take)
    offline_engine.ask(cmd="render", seconds=2.0, path=str(rendered))
    stop = offline_engine.ask(cmd="record_stop")
    assert stop["frames"] == 96000 and stop["dropped"] == 0
    a, _ = sf.read(take, dtype="float32")
    b, _ = sf.read(rendered, dtype="float32")
    assert np.array_equal(a, b)
    assert offline_engine.ask(cmd="status")["recording"] is None


def test_record_errors_name_the_problem(offline_engine, tmp_path: Path):
    reply = offline_engine.ask(cmd="record_stop")
    assert reply["error"]["code"] == "bad_request" and "not recording" in reply["error"]["message"]
    reply = offline_engine.ask(cmd="record", path=str(tmp_path / "x.mp3"))
    assert reply["error"]["code"] == "bad_value"
    offline_engine.ask(cmd="record", path=str(tmp_path / "ok.wav"))
    reply = offline_engine.ask(cmd="record", path=str(tmp_path / "again.wav"))
    assert reply["error"]["code"] == "busy" and "already recording" in reply["error"]["message"]
    assert offline_engine.ask(cmd="record_stop")["ok"]


def test_a_live_recording_keeps_time(start_engine, tmp_path: Path):
    engine = start_engine("--backend", "null")
    engine.ask(cmd="tone_add", name="a", freq=1000, gain=0.5)
    take = tmp_path / "live.wav"
    engine.ask(cmd="record", path=str(take))
    time.sleep(1.5)
    stop = engine.ask(cmd="record_stop")
    assert stop["dropped"] == 0
    audio, rate = sf.read(take, dtype="float32")
    # About 1.5 s of audio (the clock is real time), every frame the tone.
    assert abs(len(audio) / rate - 1.5) < 0.2 and len(audio) == stop["frames"]
    assert abs(peak_frequency(audio[:, 0], rate) - 1000) < 0.5
    assert np.max(np.abs(audio)) <= 0.5 + 1e-6


def test_an_input_node_without_input_is_silent_and_says_so(offline_engine, tmp_path: Path):
    reply = offline_engine.ask(cmd="input_add", name="mic", channel=0)
    assert reply["ok"] and "no audio input" in reply["warning"]
    out = tmp_path / "silence.wav"
    offline_engine.ask(cmd="render", seconds=0.5, path=str(out))
    audio, _ = sf.read(out)
    assert not audio.any()


def test_an_input_node_hears_another_jack_client(jack, start_engine, tmp_path: Path):
    """Engine A plays a tone into JACK; engine B's input node takes it from
    A's output port (wired with jack_connect) and records it."""
    player = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    listener = start_engine("--backend", "portaudio", "--audio-api", "JACK", env=jack.env)
    assert listener.status()["input_channels"] == 2
    player.ask(cmd="tone_add", name="t", freq=1000, gain=0.5)
    assert listener.ask(cmd="input_add", name="mic", channel=0, gain=1.0)["ok"]
    ports = subprocess.run(["jack_lsp"], capture_output=True, text=True, env=jack.env,
                           check=True).stdout.split()
    # The client that joined first (the player) has the plain name; the
    # listener's name gets a "-01".
    assert "PortAudio:out_0" in ports and "PortAudio-01:in_0" in ports
    subprocess.run(["jack_connect", "PortAudio:out_0", "PortAudio-01:in_0"], env=jack.env,
                   check=True)
    take = tmp_path / "in.wav"
    listener.ask(cmd="record", path=str(take))
    time.sleep(1.0)
    listener.ask(cmd="record_stop")
    audio, rate = sf.read(take)
    heard = audio[rate // 4:, 0]
    assert abs(peak_frequency(heard, rate) - 1000) < 1.0
    assert np.sqrt(np.mean(heard ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_kr_input_and_record_from_python(offline_session, tmp_path: Path):
    import warnings as w

    kr = offline_session
    with w.catch_warnings(record=True) as caught:
        w.simplefilter("always")
        mic = kr.input("mic", channel=1, gain=0.7)
    assert mic.name == "mic" and any("no audio input" in str(c.message) for c in caught)
    assert [n["name"] for n in kr.nodes] == ["mic"]
    kr.tone("t", 220, gain=0.2)
    kr.record(tmp_path / "take.wav")
    kr.render(seconds=0.5)
    stop = kr.record_stop()
    assert stop["frames"] == 24000 and stop["dropped"] == 0
    audio, rate = sf.read(stop["path"])
    assert abs(peak_frequency(audio[:, 0], rate) - 220) < 0.5


def test_kr_input_runs_again_in_place(offline_session, tmp_path: Path):
    """Re-running ``kr.input("mic")`` (or loading an export with an input twice) changes
    the input in place: same node, routes kept, channel and given gain updated; the old
    engine answered ``exists``. A node of another kind with the name is still refused."""
    import warnings as w

    kr = offline_session
    with w.catch_warnings():
        w.simplefilter("ignore")  # offline: no audio input (said once per call)
        kr.input("mic")
        kr.node("fx", lambda inp: inp * 1.0)
        kr.connect("mic", "fx", level=0.5)
        kr.mute("mic")
        kr.input("mic")  # the same line again: nothing changes
        mic = [n for n in kr.state()["nodes"] if n["name"] == "mic"][0]
        assert (mic["channel"], mic["gain"], mic["muted"]) == (0, 0.5, True)
        kr.input("mic", channel=1, gain=0.3)
        mic = [n for n in kr.state()["nodes"] if n["name"] == "mic"][0]
        assert (mic["channel"], mic["gain"], mic["muted"]) == (1, 0.3, True)
        assert [(r["src"], r["dst"]) for r in kr.routing] == [("mic", "fx")]
        path = kr.export(tmp_path / "with_input.py")
        kr.load(path)
        kr.load(path)
        assert [n["name"] for n in kr.nodes].count("mic") == 1
        kr.tone("t")
        with pytest.raises(KrachError) as err:
            kr.input("t")
        assert err.value.code == "exists" and "not an input" in err.value.message
