"""Limits: every size or depth a client controls has a named limit, a clear
error that names it and the fix, and the engine keeps playing after it.

Each test runs against an offline engine with a healthy tone playing; after
the refused request it renders and checks the tone is still there. Limits
tested elsewhere: request line (test_e2e_protocol.py), clients at once
(test_e2e_faults.py), nodes (engine/tests/test_protocol.c).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from e2e_support import Conn, Engine, error_of, read_sound, tone_amplitude
from krach import signal as krs
from krach.signal import Dsp

SR = 48000


def still_playing(engine: Engine, tmp_path: Path) -> None:
    """The 1 kHz test tone is still heard after whatever was refused."""
    out = tmp_path / "after.wav"
    assert engine.ask(cmd="render", frames=SR // 10, path=str(out))["ok"] is True
    data, _ = read_sound(out)
    assert tone_amplitude(data[:, 0], 1000, SR) > 0.2


@pytest.fixture
def engine(offline_engine: Engine) -> Engine:
    assert offline_engine.ask(cmd="tone_add", name="tone", freq=1000, gain=0.25)["ok"] is True
    return offline_engine


def gate_synth() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.sine_osc(440.0) * gate * 0.2


def test_json_nesting_depth(engine: Engine, tmp_path: Path):
    deep = '{"cmd": "ping", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    with engine.conn() as c:
        c.send(deep.encode() + b"\n")
        code, message = error_of(c.reply())
        assert code == "bad_json" and "maximum parsing depth" in message
        assert c.ask(cmd="ping")["ok"] is True  # the same connection still works
    still_playing(engine, tmp_path)


def test_pattern_ir_nesting_depth(engine: Engine, tmp_path: Path):
    pattern: dict = {"op": "atom", "value": {"gate": 1}}
    for _ in range(70):
        pattern = {"op": "rev", "arg": pattern}
    assert engine.ask(cmd="node_set", name="g", ir=Dsp(gate_synth).ir)["ok"] is True
    code, message = error_of(engine.ask(cmd="play", target="g", pattern=pattern))
    assert code == "bad_pattern" and "nested deeper than 64 levels" in message
    still_playing(engine, tmp_path)


def test_mini_notation_nesting_depth(engine: Engine, tmp_path: Path):
    assert engine.ask(cmd="node_set", name="g", ir=Dsp(gate_synth).ir)["ok"] is True
    code, message = error_of(engine.ask(cmd="play", target="g", mini="[" * 70 + "x" + "]" * 70))
    assert code == "bad_mini" and "nesting deeper than 64" in message
    still_playing(engine, tmp_path)


def test_voices_per_node(engine: Engine, tmp_path: Path):
    code, message = error_of(engine.ask(cmd="node_set", name="g", ir=Dsp(gate_synth).ir, count=65))
    assert code == "bad_value" and "count" in message and "64" in message
    still_playing(engine, tmp_path)


def _looper() -> krs.Signal:
    w = krs.control("w", 0.0, 0.0, 1.0)
    return krs.rwtable(1 << 24, w, w, w)  # 64 MiB of table per voice


def _delays() -> krs.Signal:
    x = krs.white_noise()
    for _ in range(15):  # 240 MiB per voice: under the 256 MiB a voice may hold
        x = krs.delay(x, 0.5, max_time=60.0)  # 16 MiB per delay (2^22 floats at 48 kHz)
    return x


def _more_delays() -> krs.Signal:
    x = krs.white_noise()
    for _ in range(40):  # 640 MiB for one voice
        x = krs.delay(x, 0.5, max_time=60.0)
    return x


def test_dsp_state_per_node(engine: Engine, tmp_path: Path):
    """A node's state (tables, delay lines) times its voices is bounded before
    anything is allocated: memory does not grow."""
    code, message = error_of(engine.ask(cmd="node_set", name="big", ir=Dsp(_looper).ir, count=8))
    assert code == "limit"
    assert "node 'big' would hold 512 MiB of DSP state" in message
    assert "the limit is 256 MiB per node" in message and "fewer voices" in message
    code, message = error_of(engine.ask(cmd="node_set", name="echoes", ir=Dsp(_delays).ir, count=2))
    assert code == "limit" and "node 'echoes' would hold" in message
    # One voice alone is bounded too, when the synth is compiled.
    code, message = error_of(engine.ask(cmd="node_set", name="echoes", ir=Dsp(_more_delays).ir))
    assert code == "bad_ir" and "MiB of state per voice" in message and "the limit is 256 MiB" in message
    rss_mib = int(Path(f"/proc/{engine.proc.pid}/status").read_text().split("VmRSS:")[1].split()[0]) // 1024
    assert rss_mib < 400, rss_mib
    still_playing(engine, tmp_path)


def test_dsp_state_of_all_nodes(engine: Engine, tmp_path: Path):
    """Six loopers of 3 voices (192 MiB each) in one batch exceed the 1 GiB of
    all nodes together: the batch is refused as a whole, before allocating."""
    ir = Dsp(_looper).ir
    commands = [{"cmd": "node_set", "name": f"loop{i}", "ir": ir, "count": 3} for i in range(6)]
    code, message = error_of(engine.ask(cmd="batch", commands=commands))
    assert code == "limit"
    assert "batch command 5" in message and "node 'loop5' would bring the DSP state of all nodes " \
        "to 1152 MiB; the limit is 1024 MiB" in message and "nothing was changed" in message
    assert [n["name"] for n in engine.ask(cmd="nodes")["nodes"]] == ["tone"]
    still_playing(engine, tmp_path)


def test_events_per_cycle_refused_at_play(engine: Engine, tmp_path: Path):
    assert engine.ask(cmd="node_set", name="g", ir=Dsp(gate_synth).ir)["ok"] is True
    code, message = error_of(engine.ask(cmd="play", target="g", mini="x*100000"))
    assert code == "limit"
    assert "the pattern plays 100000 events in one cycle; at most 4096 play per cycle" in message
    code, message = error_of(engine.ask(cmd="play", target="g", mini="x*4097"))
    assert code == "limit" and "4097 events in one cycle" in message
    assert engine.ask(cmd="play", target="g", mini="x*4096")["ok"] is True
    still_playing(engine, tmp_path)


def test_events_per_cycle_capped_while_playing(start_engine, tmp_path: Path):
    """A pattern whose second cycle is too dense plays that cycle's first 4096
    onsets and drops the rest, reported once (log and pushed event)."""
    engine = start_engine("--offline", "--record-events")
    kr = engine.client()
    kr.subscribe()
    kr.request("tempo", bpm=240)  # one cycle = 48000 samples
    kr.request("node_set", name="g", ir=Dsp(gate_synth).ir)
    kr.request("play", target="g", mini="<x x*8000>")
    kr.request("render", frames=2 * SR)
    applied = kr.request("applied_events")
    # Gate-ons (value 1) per cycle: cycle 0 plays one, cycle 1 its first 4096.
    ons = [e["due"] for e in applied["events"] if e["value"] == 1.0]
    assert applied["dropped"] == 0
    assert sum(1 for t in ons if t < SR) == 1
    assert sum(1 for t in ons if SR <= t < 2 * SR) == 4096
    kr.request("ping")
    events = [e for e in kr.events if e["event"] == "pattern_limit"]
    assert len(events) == 1 and events[0]["node"] == "g"
    assert "more than 4096 events in cycle 1" in events[0]["message"]
    assert "has more than 4096 events in cycle 1" in engine.log_path.read_text()
    kr.request("render", frames=2 * SR)  # cycle 3 is dense again: not reported again
    kr.request("ping")
    assert len([e for e in kr.events if e["event"] == "pattern_limit"]) == 1
    kr.close()


def test_scene_bytes(engine: Engine, tmp_path: Path):
    """Scenes are copies of whole sessions; together they hold at most 64 MiB."""
    filler = ["x" * 1000] * 900  # ~0.9 MB of state per scene
    state = {"bpm": 120, "beats": 4, "master": 1.0, "nodes": [], "routes": [], "patterns": [],
             "automations": [], "filler": filler}
    saved = 0
    with engine.conn(timeout=30) as c:
        while True:
            reply = c.ask(cmd="scene_save", name=f"s{saved}", state=state)
            if not reply["ok"]:
                break
            saved += 1
            assert saved < 100
        code, message = error_of(reply)
    assert code == "limit" and f"saving scene 's{saved}' would bring the saved scenes to" in message
    assert "the limit is 67108864: overwrite or save fewer scenes" in message
    assert 60 <= saved <= 75
    # Overwriting one stays possible.
    assert engine.ask(cmd="scene_save", name="s0", state=state)["ok"] is True
    still_playing(engine, tmp_path)


def test_client_that_never_reads_is_dropped(engine: Engine, tmp_path: Path):
    """Replies a client leaves unread are bounded (16 MiB): past that it is
    disconnected, with a log line, and the engine plays on."""
    request = json.dumps({"cmd": "query", "mini": "x*1000", "from": 0, "to": 99}).encode() + b"\n"
    with Conn(engine.socket) as c:
        for _ in range(40):  # ~5 MB of reply each, never read
            try:
                c.send(request)
            except OSError:
                break
        # A hang guard, not a speed bound: under ASan on a loaded machine each
        # 5 MB reply takes a while to build, and about six must pile up.
        deadline = time.monotonic() + 120
        while "client dropped: it left more than 16 MiB" not in engine.log_path.read_text():
            assert time.monotonic() < deadline, engine.log_path.read_text()[-2000:]
            time.sleep(0.05)
    assert engine.status()["clients"] == 1  # the status request's own connection
    still_playing(engine, tmp_path)
