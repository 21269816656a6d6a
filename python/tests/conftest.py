"""Shared pytest setup: make the checkout's python/ importable as `krach`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

# ---- end-to-end fixtures: the real krach-engine binary (see e2e_support.py) ----

from collections.abc import Callable, Iterator  # noqa: E402

import pytest  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from e2e_support import Engine, Jack, child_env, engine_binary, remove_tree, short_tempdir  # noqa: E402


@pytest.fixture(scope="session")
def engine_bin() -> str:
    """The engine under test: $KRACH_ENGINE, else build/release/krach-engine.

    A missing binary is a failure, not a skip: an end-to-end suite that
    silently tests nothing is worse than a red one.
    """
    try:
        return engine_binary()
    except FileNotFoundError as err:
        message = str(err)
    pytest.fail(message, pytrace=False)


@pytest.fixture
def engine_home(tmp_path: Path) -> Path:
    """A private HOME for the engines a test starts (nothing touches ~/.krach)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return home


@pytest.fixture
def start_engine(engine_bin: str, tmp_path: Path, engine_home: Path) -> Iterator[Callable[..., Engine]]:
    """Factory: ``start_engine("--offline", ...)`` starts an engine and waits until ready.

    Every engine gets ``--socket <short tmp>/e.sock --log <tmp>/engine.log``
    and a private HOME. At teardown each one still running is sent
    ``shutdown`` (SIGTERM if that fails) and must exit with status 0, so an
    ASan/UBSan/LSan report at exit fails the test; the failure shows the tail
    of the engine's stderr and log.
    """
    engines: list[Engine] = []
    dirs: list[Path] = []

    def start(*flags: str, socket_path: Path | None = None, env: dict[str, str] | None = None,
              wait_ready: bool = True, binary: str | None = None) -> Engine:
        workdir = tmp_path / f"engine{len(engines)}"
        workdir.mkdir()
        sockdir = short_tempdir()
        dirs.append(sockdir)
        engine = Engine(binary or engine_bin, list(flags), workdir, sockdir,
                        env or child_env(engine_home), socket_path)
        engines.append(engine)
        if wait_ready:
            engine.start()
        return engine

    yield start

    problems = []
    for engine in engines:
        if engine.proc is None:
            continue
        try:
            rc = engine.stop()
            engine.check_exit(rc)
        except AssertionError as err:
            problems.append(str(err))
    for d in dirs:
        remove_tree(d)
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def offline_engine(start_engine: Callable[..., Engine]) -> Engine:
    return start_engine("--offline")


@pytest.fixture
def null_engine(start_engine: Callable[..., Engine]) -> Engine:
    return start_engine("--backend", "null")


@pytest.fixture
def offline_session(offline_engine: Engine) -> Iterator[object]:
    """A `krach.session.Session` (the ``kr`` object) on a fresh offline engine."""
    from krach.session import Session

    with Session(offline_engine.client()) as kr:
        yield kr


@pytest.fixture
def dsp_dir(tmp_path: Path) -> Path:
    """An empty FAUST folder for an engine's ``--dsp-dir``, inside the test's own tmp_path."""
    folder = tmp_path / "dsp"
    folder.mkdir()
    return folder


@pytest.fixture
def jack(tmp_path: Path, engine_home: Path) -> Iterator[Jack]:
    """A private jackd (dummy driver, see `e2e_support.Jack`), stopped at teardown.

    Put it before `start_engine` in a test's arguments, so that pytest tears it
    down after the engine: an engine whose JACK server vanishes cannot stop.
    """
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian package jackd2)")
    server = Jack(tmp_path, engine_home)
    try:
        server.start()
        yield server
    finally:
        server.stop()
