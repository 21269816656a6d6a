"""`kr.dsp(fn).faust`: a synth written as a FAUST program by the engine.

For each of the seed's synths (examples/five_minute_beat.py) the program comes
from the session's engine (the `faust_export` command) and from the engine
binary alone (``--faust-export -``), the two are the same text, and the
``faust`` command compiles it with the option the export needs (-double).
How the compiled program *sounds* against the native node is measured in
engine/tests/test_faust_diff.c."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import seed
from krach import signal as krs
from krach.errors import KrachError
from krach.session import Session

FAUST = shutil.which("faust")
pytestmark = pytest.mark.skipif(FAUST is None, reason="the faust command is not installed "
                                "(apt-get install faust)")

SYNTHS = {"kick": seed.kick, "hat": seed.hat, "bass": seed.bass, "reverb_fx": seed.reverb_fx}


def faust_compiles(program: str, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    dsp = tmp_path / f"{name}.dsp"
    dsp.write_text(program)
    return subprocess.run([str(FAUST), "-double", "-lang", "c", str(dsp), "-o", str(tmp_path / f"{name}.c")],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("name", sorted(SYNTHS))
def test_seed_synth_exports_to_compiling_faust(offline_session: Session, engine_bin: str,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               name: str) -> None:
    kr = offline_session
    dsp = kr.dsp(SYNTHS[name])
    program = dsp.faust
    assert program.startswith("// A krach signal IR")
    assert 'import("stdfaust.lib");' in program
    # one slider per control, labelled with its name, with its range
    for ctl in dsp.controls:
        assert f'hslider("{ctl.name}", ' in program
    assert ("process = " in program) or ("process(" in program)
    result = faust_compiles(program, tmp_path, name)
    assert result.returncode == 0, result.stderr
    # Without a session, the engine binary writes the same program.
    monkeypatch.setenv("KRACH_ENGINE", engine_bin)
    offline = krs.Dsp(SYNTHS[name])
    assert offline.session is None
    assert offline.faust == program


def test_every_gate_is_unsmoothed_and_other_controls_smoothed(offline_session: Session) -> None:
    program = offline_session.dsp(seed.bass).faust
    assert 'hslider("gate", 0.0, 0.0, 1.0, 0.0);' in program
    assert 'hslider("cutoff", 800.0, 100.0, 4000.0, 0.0) : kr_ctl;' in program


def test_loops_and_faust_expressions_export(offline_session: Session, tmp_path: Path) -> None:
    def looped(inp: krs.Signal) -> krs.Signal:
        y = krs.feedback(lambda prev: inp + prev * 0.5)
        return krs.faust_expr("_ : fi.dcblocker", y)

    program = offline_session.dsp(looped).faust
    assert "~ si.bus(1)" in program and "fi.dcblocker" in program
    result = faust_compiles(program, tmp_path, "looped")
    assert result.returncode == 0, result.stderr


def test_a_label_faust_cannot_carry_is_a_clear_error(offline_session: Session, engine_bin: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ir = {"krach_ir": 1, "inputs": 0,
          "controls": [{"name": "cut/off", "init": 1, "lo": 0, "hi": 2, "step": 0}],
          "nodes": [{"op": "control", "index": 0}, {"op": "sine_osc", "in": [0]}],
          "outputs": [1]}
    dsp = offline_session.dsp(krs.from_ir(ir, name="slash"))
    with pytest.raises(KrachError) as err:
        dsp.faust
    assert err.value.code == "bad_ir"
    assert "control 'cut/off'" in err.value.message and "'/'" in err.value.message
    assert "rename the control" in err.value.message
    monkeypatch.setenv("KRACH_ENGINE", engine_bin)
    with pytest.raises(KrachError) as err2:
        krs.from_ir(ir, name="slash").faust
    assert err2.value.code == "bad_ir" and err2.value.message == err.value.message


def test_an_invalid_ir_is_refused_with_the_validators_message(engine_bin: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ir = {"krach_ir": 1, "inputs": 0, "controls": [],
          "nodes": [{"op": "const", "value": 1}, {"op": "lowpass", "in": [0, 0], "order": 12}],
          "outputs": [1]}
    monkeypatch.setenv("KRACH_ENGINE", engine_bin)
    with pytest.raises(KrachError) as err:
        krs.from_ir(ir).faust
    assert err.value.message == "node 1 (lowpass): attribute 'order' is 12; it must be 1 to 8"
