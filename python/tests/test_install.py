"""`pip install .` builds and installs the krach command from Debian's packages
alone (no network): the package, its console script, and a working CLI."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from e2e_support import REPO


def test_pip_install_makes_the_krach_command(tmp_path: Path):
    target = tmp_path / "site"
    result = subprocess.run(
        ["/usr/bin/python3", "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(REPO)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    script = target / "bin" / "krach"
    assert script.is_file()
    run = subprocess.run(["/usr/bin/python3", str(script), "--version"], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(target)}, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "krach 0.1.0", run.stdout + run.stderr
