"""The interactive REPL: IPython when installed, else the standard console.

It binds ``kr`` (the session), ``krs`` (`krach.signal`) and ``krp``
(`krach.pattern`), pulls the engine's session into ``kr`` (so a restarted
REPL sees the nodes and patterns already playing) and prints a one-line
banner naming the engine, its audio backend and sample rate, plus a hint
when there is no sound device. An engine
error (`KrachError`), or a lost connection, is shown as its one-line message
without the traceback through krach's own code: the message names the fix.
"""

from __future__ import annotations

import code
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from . import __version__, files
from .errors import KrachError
from .session import Session


def banner(status: dict[str, Any]) -> str:
    """The REPL banner for an engine with this `status` reply."""
    backend = status.get("backend", "?")
    line = (
        f"krach {__version__} — engine {status.get('version', '?')}, "
        f"{backend} backend, {status.get('sample_rate', '?')} Hz"
    )
    if backend == "null":
        line += (
            "\nNo sound device: krach runs on a silent clock. Render offline with "
            "`krach render SESSION.py -o out.wav --seconds 8`."
        )
    return line


def namespace(kr: Session) -> dict[str, Any]:
    """The names a REPL or a session file starts with (`krach.files.namespace`)."""
    return files.namespace(kr)


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def _short_error(err: BaseException, tb: TracebackType | None) -> str | None:
    """One line for an engine error or a lost connection raised inside krach, else None."""
    if isinstance(err, KrachError):
        return f"KrachError: {err}"
    if isinstance(err, (ConnectionError, TimeoutError)) and tb is not None:
        while tb.tb_next is not None:
            tb = tb.tb_next
        if tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            return f"{type(err).__name__}: {err}"
    return None


def _run_ipython(ns: dict[str, Any]) -> None:
    from IPython.terminal.ipapp import TerminalIPythonApp

    def show(shell: Any, etype: type[BaseException], value: BaseException,
             tb: TracebackType | None, tb_offset: int | None = None) -> None:
        line = _short_error(value, tb)
        if line is None:
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        else:
            print(line, file=sys.stderr)

    app = TerminalIPythonApp.instance(user_ns=ns)
    app.initialize(["--no-banner", "--no-confirm-exit"])
    app.shell.set_custom_exc((KrachError, ConnectionError, TimeoutError), show)
    app.start()


class _Console(code.InteractiveConsole):
    def showtraceback(self) -> None:
        _, err, tb = sys.exc_info()
        line = _short_error(err, tb) if err is not None else None
        if line is None:
            super().showtraceback()
        else:
            self.write(line + "\n")


def _run_console(ns: dict[str, Any]) -> None:
    try:
        import readline
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(ns).complete)
        readline.parse_and_bind("tab: complete")
    except ImportError:
        pass
    _Console(ns).interact(banner="", exitmsg="")


def run(kr: Session, *, use_ipython: bool = True) -> None:
    """Print the banner and run a REPL with ``kr``, ``krs`` and ``krp`` bound."""
    print(banner(kr.status()), flush=True)
    kr.pull()  # a REPL started against a playing engine sees its session
    ns = namespace(kr)
    if use_ipython:
        try:
            _run_ipython(ns)
            return
        except ImportError:
            pass
    _run_console(ns)
