"""An engine built without libfaust (cmake -DKRACH_FAUST=OFF, `make nofaust`):
everything native works, and every way to ask for FAUST is refused with an
error that names the packages to install. `make test` builds that engine and
points $KRACH_NOFAUST_ENGINE at it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

from e2e_support import SAMPLE_RATE, Take, dominant_frequency
from krach import signal as krs
from krach.errors import KrachError
from krach.session import Session

NOFAUST = os.environ.get("KRACH_NOFAUST_ENGINE", "")
pytestmark = pytest.mark.skipif(
    not NOFAUST, reason="needs $KRACH_NOFAUST_ENGINE, an engine built with -DKRACH_FAUST=OFF (make test sets it)")


@pytest.fixture
def nofaust(start_engine: Callable[..., Any], tmp_path: Path):
    (tmp_path / "dsp").mkdir()
    (tmp_path / "dsp" / "lead.dsp").write_text('process = os.osc(440);\n')
    return start_engine("--offline", "--dsp-dir", str(tmp_path / "dsp"), binary=NOFAUST)


def expr_synth():
    return krs.faust_expr("_ : fi.dcblocker", krs.saw(110))


def saw_synth():
    return krs.saw(220) * 0.5


@pytest.mark.parametrize("how", ["faust_expr", "backend", "file"])
def test_faust_is_refused_with_the_packages_to_install(nofaust, how: str):
    with Session(nofaust.client()) as kr:
        with pytest.raises(KrachError) as err:
            if how == "faust_expr":
                kr.node("x", expr_synth)
            elif how == "backend":
                kr.node("x", saw_synth, backend="faust")
            else:
                kr.node("x", "faust:lead")
        assert err.value.code == "unavailable"
        assert "apt-get install faust libfaust2" in str(err.value)
        assert kr.request("status")["faust"] == {"available": False}


def test_native_synths_play_without_libfaust(nofaust, tmp_path: Path):
    with Session(nofaust.client()) as kr:
        kr.node("saw", saw_synth)
        x = Take(kr, tmp_path).render(SAMPLE_RATE // 4)[:, 0]
    assert abs(dominant_frequency(x, SAMPLE_RATE) - 220) < 2
