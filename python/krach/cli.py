"""The ``krach`` command line.

    krach                         attach to (or start) the engine, open the REPL
    krach engine [FLAGS...]       run krach-engine in the foreground with FLAGS
    krach render SESSION.py -o OUT.wav --seconds S [--sr RATE]
                                  render a session file offline
    krach status [--json]         print the running engine's status
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import CodeType
from typing import Any

from . import __version__, repl
from .client import Client, parse_tcp_address
from .engine import OfflineEngine, connect_or_start, find_engine
from .errors import EngineError, KrachError
from .session import Session

PACKAGE_DIR = str(Path(__file__).resolve().parent)
RENDER_CHUNK_SECONDS = 1.0
APPENDABLE = {".wav", ".aiff", ".aif"}


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"seconds must be a positive number, not {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _address(text: str) -> str:
    if text.startswith("tcp://"):
        try:
            parse_tcp_address(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="krach",
        description="krach: live-coding music. With no command: attach to the engine "
        "(starting it in the background if needed) and open the REPL.",
    )
    parser.add_argument("--version", action="version", version=f"krach {__version__}")
    parser.add_argument(
        "--socket",
        type=_address,
        metavar="PATH",
        help="engine socket path or tcp://HOST:PORT (default: $KRACH_SOCKET or ~/.krach/engine.sock)",
    )
    parser.add_argument("--token", help="token for a tcp:// engine (default: ~/.krach/token)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "engine",
        add_help=False,
        help="run krach-engine in the foreground; all further flags go to it "
        "(see `krach engine --help`)",
    )

    render = sub.add_parser("render", help="render a session file offline to a sound file")
    render.add_argument("session", metavar="SESSION.py", help="a Python file using kr, krs and krp")
    render.add_argument("-o", "--output", required=True, metavar="OUT.wav",
                        help="sound file to write (.wav, .flac, .aiff, .ogg); replaced if it exists")
    render.add_argument("--seconds", type=_positive_seconds, required=True, metavar="S",
                        help="length to render, in seconds")
    render.add_argument("--sr", type=_positive_int, metavar="RATE",
                        help="sample rate in Hz (default: the engine's, 48000)")

    status = sub.add_parser("status", help="print the running engine's status")
    status.add_argument("--json", action="store_true", help="print the raw status as JSON")
    return parser


def _split_engine_args(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Split ``[global options] engine [engine flags]`` at ``engine``.

    Returns (arguments for krach, flags for the engine or None when the
    command is not ``engine``). Engine flags are passed through untouched.
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--socket", "--token"):
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if arg == "engine":
            return argv[: i + 1], argv[i + 1 :]
        break
    return argv, None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    krach_args, engine_args = _split_engine_args(args_list)
    args = build_parser().parse_args(krach_args)
    try:
        if args.command == "engine":
            return cmd_engine(args, engine_args or [])
        if args.command == "render":
            return cmd_render(args)
        if args.command == "status":
            return cmd_status(args)
        return cmd_repl(args)
    except BrokenPipeError:  # e.g. `krach status | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ConnectionError, EngineError, KrachError, TimeoutError) as err:
        print(f"krach: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def cmd_engine(args: argparse.Namespace, engine_args: list[str]) -> int:
    """Replace this process with the engine, in the foreground."""
    binary = find_engine()
    argv = [binary]
    if args.socket and not args.socket.startswith("tcp://") and "--socket" not in engine_args:
        argv += ["--socket", args.socket]
    argv += engine_args
    sys.stdout.flush()
    os.execv(binary, argv)
    return 1  # not reached


def cmd_repl(args: argparse.Namespace) -> int:
    client = connect_or_start(args.socket, token=args.token, verbose=True)
    kr = Session(client)
    try:
        repl.run(kr)
    finally:
        kr.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    kr = Session(Client(args.socket, token=args.token))
    try:
        status = kr.status()
    finally:
        kr.close()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        width = max(map(len, status), default=0)
        for key, value in status.items():
            shown: Any = value
            if isinstance(value, list):
                shown = ", ".join(map(str, value)) or "(none)"
            elif isinstance(value, float):
                shown = round(value, 3)
            print(f"{key:<{width}}  {shown}")
    return 0


def _session_error(err: BaseException) -> str:
    """A traceback of the session file's own frames (krach internals left out)."""
    if isinstance(err, SyntaxError):
        return "".join(traceback.format_exception_only(type(err), err)).rstrip()
    frames = [
        frame
        for frame in traceback.extract_tb(err.__traceback__)
        if not frame.filename.startswith(PACKAGE_DIR)
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(err), err)
    return "".join(lines).rstrip()


def _compile_session(path: Path) -> CodeType:
    source = path.read_text(encoding="utf-8")
    return compile(source, str(path), "exec")


def _run_session(code: CodeType, path: Path, kr: Session) -> None:
    ns: dict[str, Any] = repl.namespace(kr)
    ns.update(__name__="__main__", __file__=str(path), __builtins__=__builtins__)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # as `python SESSION.py` would: its neighbours import
    try:
        exec(code, ns)
    finally:
        if folder in sys.path:
            sys.path.remove(folder)


class _Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = sys.stderr.isatty()

    def update(self, done: int, total: int) -> None:
        if not self.shown:
            return
        width = 30
        filled = width * done // max(total, 1)
        pct = 100 * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        print(f"\r{self.label} [{bar}] {pct:3d}%", end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def cmd_render(args: argparse.Namespace) -> int:
    session_path = Path(args.session)
    if not session_path.is_file():
        print(f"krach render: there is no session file {session_path}", file=sys.stderr)
        return 1
    try:
        code = _compile_session(session_path)
    except (SyntaxError, ValueError) as err:
        print(f"krach render: {session_path} is not valid Python:\n{_session_error(err)}",
              file=sys.stderr)
        return 1
    out = Path(args.output).resolve()
    if not out.parent.is_dir():
        print(f"krach render: the folder {out.parent} does not exist", file=sys.stderr)
        return 1

    with OfflineEngine(sample_rate=args.sr) as engine:
        kr = engine.session()
        try:
            _run_session(code, session_path, kr)
        except Exception as err:  # noqa: BLE001 - any error in user code is reported
            print(f"krach render: {session_path} failed:\n{_session_error(err)}", file=sys.stderr)
            return 1
        sample_rate = int(kr.status()["sample_rate"])
        total = round(args.seconds * sample_rate)
        # Render in chunks (for the progress bar) where the format can be
        # appended to; libsndfile cannot reopen FLAC or Ogg files to append.
        chunk = total
        if out.suffix.lower() in APPENDABLE:
            chunk = max(1, round(RENDER_CHUNK_SECONDS * sample_rate))
        progress = _Progress(f"rendering {out.name}")
        done = 0
        try:
            while done < total:
                frames = min(chunk, total - done)
                # The first chunk starts a fresh file; the rest are appended.
                kr.render(out, frames=frames, append=done > 0)
                done += frames
                progress.update(done, total)
        finally:
            progress.finish()
        kr.shutdown()
    print(f"krach: wrote {out} ({total / sample_rate:g} s, {sample_rate} Hz)")
    return 0
