"""FAUST files as node types, end to end: ``kr.node("lead", "faust:lead")`` plays
NAME.dsp from the engine's FAUST folder through libfaust, its sliders become
controls, saving the file recompiles every node of that type (inotify), and a
file that does not compile is reported while the previous version keeps playing.

Every test runs the real engine offline at 48 kHz and measures what it wrote.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from e2e_support import SAMPLE_RATE, Take, dominant_frequency, rms
from krach.errors import KrachError
from krach.session import Session

GAIN = 0.5  # the default node gain

SINE = """import("stdfaust.lib");
freq = hslider("freq[unit:Hz]", {freq}, 20, 4000, 0.01);
amp = hslider("amp", {amp}, 0, 1, 0.01);
process = os.osc(freq) * amp;
"""


@pytest.fixture
def faust_engine(start_engine: Callable[..., Any], dsp_dir: Path):
    return start_engine("--offline", "--dsp-dir", str(dsp_dir))


def write_atomically(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.rename(path)


def wait_for_event(client: Any, kind: str, timeout: float = 30.0) -> dict[str, Any]:
    """Events arrive between replies: ask for status until `kind` has come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in list(client.events):
            if event.get("event") == kind:
                client.events.remove(event)
                return event
        client.request("status")
        time.sleep(0.02)
    raise AssertionError(f"no {kind} event within {timeout} s; got {list(client.events)}")


def forget_events(client: Any) -> None:
    """Drops the events so far: the first write of a file is reported too, once
    its compile (in the helper process) is done, and may arrive after
    `subscribe`."""
    client.request("status")
    client.events.clear()


def test_a_faust_file_plays_with_its_sliders_as_controls(faust_engine, dsp_dir: Path, tmp_path: Path):
    (dsp_dir / "lead.dsp").write_text(SINE.format(freq=440, amp=0.5))
    with Session(faust_engine.client()) as kr:
        kr.node("lead", "faust:lead")
        info = next(n for n in kr.nodes if n["name"] == "lead")
        controls = {c["name"]: c for c in info["controls"]}
        assert set(controls) == {"freq", "amp"}, "labels lose their [metadata]"
        assert (controls["freq"]["lo"], controls["freq"]["hi"], controls["freq"]["value"]) == (20, 4000, 440)
        take = Take(kr, tmp_path)
        first = take.render(SAMPLE_RATE // 2)[:, 0]
        kr.set("lead/freq", 660)
        second = take.render(SAMPLE_RATE // 2)[:, 0]
    assert abs(dominant_frequency(first, SAMPLE_RATE) - 440) < 1.0
    assert abs(dominant_frequency(second[4800:], SAMPLE_RATE) - 660) < 1.0
    # A sine of amplitude 0.5 * 0.5 (amp, then the node's gain): rms a/sqrt(2).
    assert rms(first) == pytest.approx(0.25 / np.sqrt(2), rel=1e-3)


def test_state_and_replies_name_the_file_and_the_backend(faust_engine, dsp_dir: Path):
    (dsp_dir / "lead.dsp").write_text(SINE.format(freq=440, amp=0.5))
    client = faust_engine.client()
    reply = client.request("node_set", name="lead", type="faust:lead", controls={"amp": 0.25})
    assert reply["backend"] == "faust" and reply["inputs"] == 0 and reply["outputs"] == 1
    node = next(n for n in client.request("state")["state"]["nodes"] if n["name"] == "lead")
    assert node["type"] == "faust:lead" and node["ir"] is None
    assert node["controls"] == {"freq": 440.0, "amp": 0.25}
    status = client.request("status")["faust"]
    assert status["available"] is True and status["dsp_dir"] == str(dsp_dir)


def test_saving_the_file_recompiles_its_nodes_and_a_broken_save_keeps_the_old_sound(
        faust_engine, dsp_dir: Path, tmp_path: Path):
    path = dsp_dir / "lead.dsp"
    path.write_text(SINE.format(freq=440, amp=0.5))
    client = faust_engine.client()
    client.subscribe()
    with Session(faust_engine.client()) as kr:
        kr.node("lead", "faust:lead", count=1)
        kr.node("lead2", "faust:lead", freq=220)
        take = Take(kr, tmp_path)
        take.render(4800)

        # A new version: a square-ish tone an octave up for every node of the type.
        forget_events(client)
        write_atomically(path, SINE.format(freq=440, amp=0.5).replace("os.osc(freq)", "os.osc(freq * 2)"))
        event = wait_for_event(client, "faust_reloaded")
        assert event["type"] == "faust:lead" and sorted(event["nodes"]) == ["lead", "lead2"]
        kr.remove("lead2")
        after = take.render(SAMPLE_RATE // 2)[:, 0]
        assert abs(dominant_frequency(after[2400:], SAMPLE_RATE) - 880) < 1.0, \
            "the node plays the new version, its freq value (440) kept"

        # A broken save: reported, and the node keeps the version it has.
        path.write_text("import(\"stdfaust.lib\");\nprocess = os.osc(undefined_thing);\n")
        event = wait_for_event(client, "faust_error")
        assert event["type"] == "faust:lead"
        assert "lead.dsp" in event["message"] and "undefined_thing" in event["message"]
        still = take.render(SAMPLE_RATE // 2)[:, 0]
        assert abs(dominant_frequency(still, SAMPLE_RATE) - 880) < 1.0
        assert rms(still) == pytest.approx(rms(after[2400:]), rel=1e-2)


def test_a_faust_file_node_is_polyphonic(faust_engine, dsp_dir: Path, tmp_path: Path):
    (dsp_dir / "voice.dsp").write_text(
        'import("stdfaust.lib");\n'
        'freq = hslider("freq", 440, 20, 4000, 0.01);\n'
        'gate = button("gate");\n'
        'process = os.osc(freq) * en.asr(0.001, 1, 0.001, gate) * 0.3;\n')
    with Session(faust_engine.client()) as kr:
        kr.node("chord", "faust:voice", count=3)
        kr.play("chord", kr.note("A3", "C#4", "E4"))
        take = Take(kr, tmp_path)
        x = take.render(SAMPLE_RATE)[:, 0]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    for f in (220.0, 277.18, 329.63):
        band = (freqs > f - 3) & (freqs < f + 3)
        assert spectrum[band].max() > 0.2 * spectrum.max(), f"the chord note at {f} Hz sounds"


@pytest.mark.parametrize("fields, code, words", [
    ({"type": "faust:../secret"}, "bad_value", ["letters, digits"]),
    ({"type": "lead"}, "bad_value", ["faust:NAME"]),
    ({"type": "faust:missing"}, "not_found", ["missing.dsp", "--dsp-dir"]),
    ({"type": "faust:broken"}, "bad_ir", ["broken.dsp", "nosuch"]),
    ({"type": "faust:stereo8"}, "bad_ir", ["outputs"]),
    ({"type": "faust:lead", "ir": {"krach_ir": 1}}, "bad_value", ["not both"]),
])
def test_bad_faust_nodes_are_refused_clearly(faust_engine, dsp_dir: Path, fields, code, words):
    (dsp_dir / "lead.dsp").write_text(SINE.format(freq=440, amp=0.5))
    (dsp_dir / "broken.dsp").write_text("process = nosuch;\n")
    (dsp_dir / "stereo8.dsp").write_text("process = par(i, 9, 0);\n")
    client = faust_engine.client()
    with pytest.raises(KrachError) as err:
        client.request("node_set", name="x", **fields)
    assert err.value.code == code
    for word in words:
        assert word in str(err.value)
    assert client.request("status")["nodes"] == [], "nothing was made"


def test_the_session_checks_node_types(offline_session):
    with pytest.raises(ValueError, match="faust:NAME"):
        offline_session.node("x", "lead")
    with pytest.raises(ValueError, match="backend"):
        offline_session.node("x", "faust:lead", backend="native")


def test_export_load_and_scenes_keep_faust_file_nodes(faust_engine, dsp_dir: Path, tmp_path: Path):
    (dsp_dir / "lead.dsp").write_text(SINE.format(freq=440, amp=0.5))
    with Session(faust_engine.client()) as kr:
        kr.node("lead", "faust:lead", gain=0.25, amp=0.3)
        kr.save("verse")
        text = kr.export(tmp_path / "session.py").read_text()
        assert "kr.node('lead', 'faust:lead', gain=0.25" in text and "amp=0.3" in text
        kr.remove("lead")
        kr.recall("verse")
        node = next(n for n in kr.nodes if n["name"] == "lead")
        assert {c["name"]: c["value"] for c in node["controls"]} == {"freq": 440.0, "amp": 0.3}
        kr.remove("lead")
        kr.load(tmp_path / "session.py")
        node = next(n for n in kr.nodes if n["name"] == "lead")
        assert node["gain"] == 0.25
        assert {c["name"]: c["value"] for c in node["controls"]}["amp"] == 0.3


def test_faust_file_nodes_in_a_batch(faust_engine, dsp_dir: Path, tmp_path: Path):
    (dsp_dir / "lead.dsp").write_text(SINE.format(freq=440, amp=0.5))
    with Session(faust_engine.client()) as kr:
        with kr.batch():
            kr.node("a", "faust:lead", freq=330)
            kr.node("b", "faust:lead", gain=0.0)
        assert {n["name"] for n in kr.nodes} == {"a", "b"}
        x = Take(kr, tmp_path).render(SAMPLE_RATE // 2)[:, 0]
        assert abs(dominant_frequency(x, SAMPLE_RATE) - 330) < 1.0
        with pytest.raises(KrachError):
            with kr.batch():  # all or nothing: the missing file stops the whole batch
                kr.node("c", "faust:lead")
                kr.node("d", "faust:nothing_here")
        assert {n["name"] for n in kr.nodes} == {"a", "b"}


def test_changing_an_imported_file_recompiles_its_importers(faust_engine, dsp_dir: Path, tmp_path: Path):
    """lead.dsp imports tuning.lib from the folder: saving tuning.lib alone must
    change lead's sound (the cache may not hand back the old program)."""
    (dsp_dir / "tuning.lib").write_text("pitch = 440;\n")
    (dsp_dir / "lead.dsp").write_text('import("stdfaust.lib");\nimport("tuning.lib");\n'
                                      'process = os.osc(pitch) * 0.5;\n')
    client = faust_engine.client()
    client.subscribe()
    with Session(faust_engine.client()) as kr:
        kr.node("lead", "faust:lead")
        take = Take(kr, tmp_path)
        before = take.render(SAMPLE_RATE // 4)[:, 0]
        forget_events(client)
        write_atomically(dsp_dir / "tuning.lib", "pitch = 660;\n")
        event = wait_for_event(client, "faust_reloaded")
        assert event["nodes"] == ["lead"]
        take.render(4800)
        after = take.render(SAMPLE_RATE // 4)[:, 0]
    assert abs(dominant_frequency(before, SAMPLE_RATE) - 440) < 2
    assert abs(dominant_frequency(after, SAMPLE_RATE) - 660) < 2


def test_saving_the_same_program_again_leaves_its_nodes_untouched(faust_engine, dsp_dir: Path, tmp_path: Path):
    """Re-saving a file (or saving an unrelated one) must not restart held notes
    and tails: the program is the same, so nothing is crossfaded."""
    path = dsp_dir / "lead.dsp"
    path.write_text(SINE.format(freq=440, amp=0.5))
    client = faust_engine.client()
    client.subscribe()
    with Session(faust_engine.client()) as kr:
        kr.node("lead", "faust:lead")
        take = Take(kr, tmp_path)
        take.render(SAMPLE_RATE // 4)
        forget_events(client)
        write_atomically(path, SINE.format(freq=440, amp=0.5))
        event = wait_for_event(client, "faust_reloaded")
        assert "untouched" in event["message"] and event["nodes"] == []
        (dsp_dir / "notes.txt").write_text("unrelated\n")
        time.sleep(0.1)
        client.request("status")
        assert not [e for e in client.events if e.get("event") == "faust_reloaded"]
        take.render(SAMPLE_RATE // 4)
        x = take.mono()
    # One unbroken sine (os.osc's table error aside: ~2e-5): no crossfade, no
    # phase restart anywhere (a restart would leave a residual near 0.25).
    w = 2 * np.pi * 440 / SAMPLE_RATE
    residual = x[2:] - 2 * np.cos(w) * x[1:-1] + x[:-2]
    assert np.max(np.abs(residual)) < 1e-4
