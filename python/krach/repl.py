"""The interactive REPL: IPython when installed, else the standard console.

It binds ``kr`` (the session), ``krs`` (`krach.signal`) and ``krp``
(`krach.pattern`), pulls the engine's session into ``kr`` (so a restarted
REPL sees the nodes and patterns already playing) and prints a one-line
banner naming the engine, its audio backend and sample rate, plus a hint
when there is no sound device. An engine
error (`KrachError`), or a lost connection, is shown as its one-line message
without the traceback through krach's own code: the message names the fix.
Any other error (a synth that fails to trace, a wrong argument) shows the
musician's frames — the line typed, the synth function — and the message,
with krach's own frames (session.py, signal.py, ...) left out. ``kr.debug =
True`` or ``KRACH_DEBUG=1`` in the environment shows everything again.
"""

from __future__ import annotations

import code
import os
import sys
import traceback
from collections.abc import Mapping
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


HIDDEN_NOTE = "(krach's own frames are hidden; kr.debug = True or KRACH_DEBUG=1 shows them)"


def debugging(ns: Mapping[str, Any] | None = None) -> bool:
    """Whether errors show krach's own frames: ``KRACH_DEBUG`` set (not 0), or ``kr.debug``."""
    if os.environ.get("KRACH_DEBUG", "0") not in ("", "0"):
        return True
    return bool(getattr((ns or {}).get("kr"), "debug", False))


def _ours(filename: str) -> bool:
    return filename.startswith(_PACKAGE_DIR)


def musician_traceback(tb: TracebackType | None) -> TracebackType | None:
    """`tb` without the frames in krach's own files (the same frames, relinked)."""
    kept: list[TracebackType] = []
    while tb is not None:
        if not _ours(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    out: TracebackType | None = None
    for item in reversed(kept):
        out = TracebackType(out, item.tb_frame, item.tb_lasti, item.tb_lineno)
    return out


def _filter(te: traceback.TracebackException) -> bool:
    """Drop krach's frames from `te` and its chain (an implicit context that happened wholly
    inside krach goes: it is krach's business); True if any frame was dropped."""
    kept = [frame for frame in te.stack if not _ours(frame.filename)]
    hidden = len(kept) < len(te.stack)
    te.stack = traceback.StackSummary.from_list(kept)
    if te.__cause__ is not None:
        hidden = _filter(te.__cause__) or hidden
    context = te.__context__
    if context is not None:
        if not te.__suppress_context__ and context.stack and all(_ours(f.filename) for f in context.stack):
            te.__context__ = None
            hidden = True
        else:
            hidden = _filter(context) or hidden
    return hidden


def format_error(etype: type[BaseException], value: BaseException, tb: TracebackType | None,
                 debug: bool = False) -> str:
    """What the REPL prints for an error: one line for an engine error or a lost connection,
    else the traceback without krach's own frames (all of it with `debug`)."""
    if debug:
        return "".join(traceback.format_exception(etype, value, tb))
    line = _short_error(value, tb)
    if line is not None:
        return line + "\n"
    te = traceback.TracebackException(etype, value, tb)
    hidden = _filter(te)
    text = "".join(te.format())
    return text + HIDDEN_NOTE + "\n" if hidden else text


def _run_ipython(ns: dict[str, Any]) -> None:
    from IPython.terminal.ipapp import TerminalIPythonApp

    def show(shell: Any, etype: type[BaseException], value: BaseException,
             tb: TracebackType | None, tb_offset: int | None = None) -> None:
        if debugging(ns):
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return
        line = _short_error(value, tb)
        if line is not None:
            print(line, file=sys.stderr)
            return
        mine = musician_traceback(tb)
        shell.showtraceback((etype, value, mine), tb_offset=tb_offset)
        if _count(mine) < _count(tb):
            print(HIDDEN_NOTE, file=sys.stderr)

    app = TerminalIPythonApp.instance(user_ns=ns)
    app.initialize(["--no-banner", "--no-confirm-exit"])
    app.shell.set_custom_exc((Exception,), show)
    app.start()


def _count(tb: TracebackType | None) -> int:
    n = 0
    while tb is not None:
        n, tb = n + 1, tb.tb_next
    return n


class _Console(code.InteractiveConsole):
    def showtraceback(self) -> None:
        etype, err, tb = sys.exc_info()
        if etype is None or err is None:
            super().showtraceback()
            return
        sys.last_type, sys.last_value, sys.last_traceback = etype, err, tb
        # The first frame is the console's own (code.py), as the standard console skips it.
        self.write(format_error(etype, err, tb.tb_next if tb else None, debugging(self.locals)))


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
