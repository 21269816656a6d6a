#!/usr/bin/env python3
"""Regenerate the fuzz seed corpora in engine/fuzz/corpus/ (run from the repo root).

    KRACH_ENGINE=build/<any>/krach-engine PYTHONPATH=python \
        /usr/bin/python3 engine/fuzz/make_seeds.py

Sources, all already in the repository:
  protocol    the request lines the Python client sends while rendering each
              example (examples/*.py, through `krach render`), with renders
              shortened to 1/128 cycle; the request examples of docs/protocol.md;
              a session touching every command of the protocol table
  signal_ir   every synth IR those sessions sent (the seed's synths included)
  pattern_ir  every pattern IR they sent, and the IRs of
              engine/tests/fixtures/patterns/*.json
  mini        every mini-notation text they sent, and the cases of
              engine/tests/fixtures/mini/*.json
With `--prune build/fuzz/engine/fuzz` (the libFuzzer binaries), seeds that add
no coverage to what the others reach are dropped (libFuzzer's -merge=1).
scripts/fuzz.sh works on a copy of these folders; they never grow by fuzzing.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "engine" / "fuzz" / "corpus"
sys.path.insert(0, str(ROOT / "python"))

import krach.client as kc  # noqa: E402
from krach import cli  # noqa: E402

sent: list[dict[str, Any]] = []
_encode = kc._encode


def _recording_encode(message: dict[str, Any], cmd: str) -> bytes:
    sent.append(json.loads(json.dumps(message)))
    return _encode(message, cmd)


def short_render(msg: dict[str, Any]) -> dict[str, Any]:
    """A render that stays under the harness's limit (it skips long ones)."""
    if msg.get("cmd") != "render":
        return msg
    out = {k: v for k, v in msg.items() if k not in ("frames", "seconds", "cycles")}
    out["cycles"] = "1/128"
    return out


def line(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)


def write(folder: str, name: str, data: str) -> None:
    d = CORPUS / folder
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(data, encoding="utf-8")


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def capture_examples() -> dict[str, list[dict[str, Any]]]:
    sessions = {}
    kc._encode = _recording_encode
    with tempfile.TemporaryDirectory() as tmp:
        for example in sorted((ROOT / "examples").glob("*.py")):
            sent.clear()
            rc = cli.main(["render", str(example), "-o", f"{tmp}/out.wav", "--bars", "1"])
            if rc != 0:
                raise SystemExit(f"render of {example} failed")
            sessions[example.stem] = list(sent)
    kc._encode = _encode
    return sessions


def doc_requests() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "protocol.md").read_text()
    out = []
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        for raw in block.splitlines():
            try:
                msg = json.loads(raw)
            except ValueError:
                continue  # elided examples ({…}) and replies spread over lines
            if isinstance(msg, dict) and "cmd" in msg:
                out.append(short_render(msg))
    return out


def every_command(beat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One session that reaches every command in the protocol table."""
    bass = next(m["ir"] for m in beat if m.get("cmd") == "batch"
                for m in m["commands"] if m.get("name") == "bass")
    verb = next(m["ir"] for m in beat if m.get("cmd") == "batch"
                for m in m["commands"] if m.get("name") == "verb")
    return [
        {"id": 1, "cmd": "ping"}, {"id": 2, "cmd": "status"}, {"id": 3, "cmd": "auth", "token": "x"},
        {"id": 4, "cmd": "master", "gain": 0.5},
        {"id": 5, "cmd": "tone_add", "name": "t", "freq": 440, "gain": 0.25},
        {"id": 6, "cmd": "tone_set", "name": "t", "freq": 660},
        {"id": 7, "cmd": "tone_add", "name": "n", "fault": "nan"},
        {"id": 8, "cmd": "compile", "ir": bass}, {"id": 49, "cmd": "subscribe"},
        {"id": 50, "cmd": "faust_export", "ir": bass},
        {"id": 9, "cmd": "node_set", "name": "drums/bass", "ir": bass, "gain": 0.3, "count": 2,
         "controls": {"cutoff": 9000}},
        {"id": 10, "cmd": "node_set", "name": "verb", "ir": verb},
        {"id": 11, "cmd": "connect", "src": "drums/bass", "dst": "verb", "level": 0.4},
        {"id": 12, "cmd": "connect", "src": "t", "dst": "verb", "port": "in0"},
        {"id": 13, "cmd": "routing"}, {"id": 14, "cmd": "nodes"},
        {"id": 15, "cmd": "control_set", "name": "drums/bass", "control": "cutoff", "value": 1200},
        {"id": 16, "cmd": "control_get", "name": "drums/bass", "control": "cutoff"},
        {"id": 17, "cmd": "node_gain", "name": "drums", "gain": 0.2},
        {"id": 18, "cmd": "mute", "name": "drums"}, {"id": 19, "cmd": "solo", "name": "verb"},
        {"id": 20, "cmd": "unmute", "name": "drums"}, {"id": 21, "cmd": "unsolo"},
        {"id": 22, "cmd": "tempo", "bpm": 140}, {"id": 23, "cmd": "meter", "beats": 3},
        {"id": 24, "cmd": "play", "target": "drums/bass", "mini": "A2 [~ D3] <E2 G2>*2"},
        {"id": 25, "cmd": "play", "target": "drums/bass/cutoff", "from_zero": True,
         "pattern": {"op": "signal", "shape": "sine", "lo": 200, "hi": 2000, "seed": 0}},
        {"id": 26, "cmd": "mod", "target": "verb/room", "shape": "tri", "lo": 0.1, "hi": 0.9,
         "bars": 2},
        {"id": 27, "cmd": "fade", "target": "drums/bass/gain", "value": 0, "bars": 4},
        {"id": 28, "cmd": "record", "path": "/tmp/take.wav"},
        {"id": 29, "cmd": "render", "cycles": "1/128", "path": "/tmp/out.flac"},
        {"id": 30, "cmd": "render", "frames": 512, "path": "/tmp/out.wav", "append": True},
        {"id": 31, "cmd": "record_stop"}, {"id": 32, "cmd": "transport"},
        {"id": 33, "cmd": "applied_events"},
        {"id": 34, "cmd": "query", "mini": "x(3,8,2)? <a b>!2 {c d e}%4", "from": "1/2", "to": 3},
        {"id": 35, "cmd": "scene_save", "name": "a"}, {"id": 36, "cmd": "scenes"},
        {"id": 37, "cmd": "scene_get", "name": "a"}, {"id": 38, "cmd": "state"},
        {"id": 39, "cmd": "input_add", "name": "mic", "channel": 1},
        {"id": 40, "cmd": "batch", "commands": [
            {"cmd": "node_set", "name": "b2", "ir": bass},
            {"cmd": "connect", "src": "b2", "dst": "verb", "level": 0.5},
            {"cmd": "control_set", "name": "b2", "control": "freq", "value": 110},
            {"cmd": "node_gain", "name": "b2", "gain": 0.1}, {"cmd": "mute", "name": "b2"},
            {"cmd": "unmute", "name": "b2"}, {"cmd": "solo", "name": "b2"},
            {"cmd": "unsolo"}, {"cmd": "unsend", "src": "b2", "dst": "verb"},
            {"cmd": "node_remove", "name": "b2"}]},
        {"id": 41, "cmd": "unsend", "src": "drums/bass", "dst": "verb"},
        {"id": 42, "cmd": "hush", "target": "drums"}, {"id": 43, "cmd": "stop"},
        {"id": 44, "cmd": "render", "frames": 1000},
        {"id": 45, "cmd": "tone_remove", "name": "t"},
        {"id": 46, "cmd": "node_remove", "name": "verb"},
        {"id": 47, "cmd": "no_such_command"}, {"id": 48, "cmd": "shutdown"},
    ]


def main() -> None:
    sessions = capture_examples()
    for folder in ("protocol", "signal_ir", "pattern_ir", "mini"):
        shutil.rmtree(CORPUS / folder, ignore_errors=True)
    irs: dict[str, str] = {}
    patterns: dict[str, str] = {}
    minis: dict[str, str] = {}

    def harvest(msg: dict[str, Any]) -> None:
        for sub in msg.get("commands", []) if msg.get("cmd") == "batch" else [msg]:
            if isinstance(sub.get("ir"), dict):
                irs.setdefault(line(sub["ir"]), sub.get("name", "compile"))
        if isinstance(msg.get("pattern"), dict):
            patterns.setdefault(line(msg["pattern"]), msg.get("target", "query"))
        if isinstance(msg.get("mini"), str):
            minis.setdefault(msg["mini"], "")

    for name, msgs in sessions.items():
        write("protocol", f"example_{name}.jsonl",
              "".join(line(short_render(m)) + "\n" for m in msgs))
        for m in msgs:
            harvest(m)
    docs = doc_requests()
    write("protocol", "docs_protocol_md.jsonl", "".join(line(m) + "\n" for m in docs))
    everything = every_command(sessions["five_minute_beat"])
    write("protocol", "every_command.jsonl", "".join(line(m) + "\n" for m in everything))
    write("protocol", "every_command_tcp.jsonl", "#tcp events nofaults\n" + "".join(
        line(m) + "\n" for m in [{"id": 1, "cmd": "ping"},
                                 {"id": 2, "cmd": "auth", "token": "fuzz-token-0123456789"}]
        + [m for m in everything if m["cmd"] != "auth"]))
    for m in docs + everything:
        harvest(m)

    for text, name in irs.items():
        write("signal_ir", f"{re.sub(r'[^a-z0-9]+', '_', name.lower())}_{digest(text)}.json", text)
    for f in sorted((ROOT / "engine/tests/fixtures/patterns").glob("*.json")):
        for case in json.loads(f.read_text()):
            patterns.setdefault(line(case["ir"]), case["name"])
    for text, name in patterns.items():
        write("pattern_ir", f"{re.sub(r'[^a-z0-9]+', '_', name.lower())[:40]}_{digest(text)}.json",
              text)
    for f in sorted((ROOT / "engine/tests/fixtures/mini").glob("*.json")):
        for case in json.loads(f.read_text())["cases"]:
            minis.setdefault(case["mini"], "")
    for text in minis:
        write("mini", f"mini_{digest(text)}.txt", text)
    if "--prune" in sys.argv:
        prune(Path(sys.argv[sys.argv.index("--prune") + 1]))
    for folder in ("protocol", "signal_ir", "pattern_ir", "mini"):
        print(f"{folder}: {len(list((CORPUS / folder).iterdir()))} seeds")


def prune(bin_dir: Path) -> None:
    """Keeps the seeds libFuzzer's merge keeps (it names its copies by SHA-1)."""
    for folder in ("protocol", "signal_ir", "pattern_ir", "mini"):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([str(bin_dir / f"fuzz_{folder}"), "-merge=1", out,
                            str(CORPUS / folder)], check=True, capture_output=True)
            kept = {p.name for p in Path(out).iterdir()}
        for seed in (CORPUS / folder).iterdir():
            if hashlib.sha1(seed.read_bytes()).hexdigest() not in kept:
                seed.unlink()


if __name__ == "__main__":
    main()
