"""The ``krach`` command line.

    krach                         attach to (or start) the engine, open the REPL
    krach engine [FLAGS...]       run krach-engine in the foreground with FLAGS
    krach render SESSION.py -o OUT.wav [--bars N | --seconds S] [--sr RATE] [--tempo BPM]
                                  render a session file offline
    krach query "MINI" [--from A --to B] [--json]
                                  print the events of a mini-notation pattern
    krach status [--json]         print the running engine's status

``krach render`` runs the session file against a private offline engine. Each
``kr.wait(...)`` in it renders that far, appended to the output in order;
after the file has run, the rest is rendered so that the output is exactly
``--bars N`` bars (at the tempo in force) or ``--seconds S`` long in total.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import CodeType
from typing import Any

from . import __version__, lifeline, repl
from .client import Client, parse_tcp_address
from .engine import OfflineEngine, find_engine, start_or_attach
from .errors import EngineError, KrachError
from .events import format_events
from .pattern import to_fraction
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


def _time(text: str) -> Fraction:
    try:
        return to_fraction(text, "krach query", "time")
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"'{text}' is not a time in cycles (e.g. 2, 0.5 or 1/3)") from None


def _positive_time(text: str) -> Fraction:
    value = _time(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _bpm(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a tempo in BPM") from None
    if not math.isfinite(value) or not 1 <= value <= 999:
        raise argparse.ArgumentTypeError(f"the tempo must be 1 to 999 BPM, not {text}")
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
    length = render.add_mutually_exclusive_group()
    length.add_argument("--bars", type=_positive_time, metavar="N",
                        help="total length in bars (cycles), at the tempo in force")
    length.add_argument("--seconds", type=_positive_seconds, metavar="S",
                        help="total length in seconds")
    render.add_argument("--sr", type=_positive_int, metavar="RATE",
                        help="sample rate in Hz (default: the engine's, 48000)")
    render.add_argument("--tempo", type=_bpm, metavar="BPM",
                        help="set kr.tempo before the session file runs")

    play = sub.add_parser("play", help="load a session file into the live engine and play it "
                          "until Ctrl-C")
    play.add_argument("session", metavar="SESSION.py", help="a Python file using kr, krs and krp")

    query = sub.add_parser("query", help="print the events a mini-notation pattern produces")
    query.add_argument("mini", metavar="MINI", help='mini-notation, e.g. "x ~ x [x x]"')
    query.add_argument("--from", dest="begin", type=_time, default=Fraction(0), metavar="A",
                       help="first cycle of the span (default 0; fractions like 1/4 are fine)")
    query.add_argument("--to", dest="end", type=_time, default=None, metavar="B",
                       help="end of the span (default: A + 1)")
    query.add_argument("--json", action="store_true",
                       help="print a JSON list of {whole, part, value} with times as 'n/d'")

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
        if args.command == "play":
            return cmd_play(args)
        if args.command == "query":
            return cmd_query(args)
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
    client, process, launcher = start_or_attach(args.socket, token=args.token, verbose=True)
    kr = Session(client)
    lifeline.attach(kr, process=process, launcher=launcher, token=args.token)  # survives engine deaths
    try:
        repl.run(kr)
    finally:
        kr.close()
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    """Run a session file against the live engine (started if needed), then keep
    playing until Ctrl-C, which stops the patterns and leaves the engine running."""
    path = Path(args.session)
    try:
        code = _compile_session(path)
    except (OSError, SyntaxError) as err:
        print(f"krach play: {path}: {_session_error(err) if isinstance(err, SyntaxError) else err}",
              file=sys.stderr)
        return 1
    client, process, launcher = start_or_attach(args.socket, token=args.token, verbose=True)
    kr = Session(client)
    lifeline.attach(kr, process=process, launcher=launcher, token=args.token)  # survives engine deaths
    try:
        status = kr.status()
        if status.get("backend") == "null":
            print("krach: no sound device: the engine runs on a silent clock. Render instead: "
                  f"krach render {path} -o out.wav --bars 8", file=sys.stderr)
        try:
            _run_session(code, path, kr)
        except (KrachError, ConnectionError, TimeoutError):
            raise
        except Exception as err:  # noqa: BLE001 - the musician's own code
            print(f"krach play: {path} failed:\n{_session_error(err)}", file=sys.stderr)
            return 1
        print(f"krach: playing {path} (Ctrl-C stops)", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            kr.stop()
            print("\nkrach: stopped", file=sys.stderr)
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


def cmd_query(args: argparse.Namespace) -> int:
    """Ask a private offline engine for the events of a mini-notation pattern and print them."""
    begin: Fraction = args.begin
    end: Fraction = args.end if args.end is not None else begin + 1
    if end <= begin:
        print(f"krach query: --to ({end}) must be after --from ({begin})", file=sys.stderr)
        return 2
    with OfflineEngine() as engine:
        events = engine.session().events(args.mini, begin, end)
    if args.json:
        print(json.dumps([event.to_json() for event in events], indent=2))
    elif events:
        print("\n".join(format_events(events)))
    else:
        print(f"(no events in [{begin}, {end}))")
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


class _Writer:
    """Renders an offline session into one sound file, piece by piece, in order.

    It is the session's `render_sink` while the file runs (each ``kr.wait``
    renders through it) and then fills the file up to its total length. Bars
    are rendered with the engine's exact ``cycles``, a bar at a time up to the
    target, so the file ends on the exact sample where bar N starts.
    """

    def __init__(self, kr: Session, out: Path, progress: _Progress,
                 bars: Fraction | None, seconds: float | None) -> None:
        self.kr = kr
        self.out = out
        self.progress = progress
        self.bars = bars
        self.sample_rate = int(kr.status()["sample_rate"])
        self.total_frames = None if seconds is None else round(seconds * self.sample_rate)
        self.appendable = out.suffix.lower() in APPENDABLE
        self.pieces = 0
        self.position = 0  # frames written

    def __call__(self, span: Mapping[str, Any]) -> None:
        """The render sink: render `span` (``cycles`` or ``seconds``) onto the file."""
        if "cycles" in span:
            self.render_cycles(self.cycle() + to_fraction(span["cycles"]))
        else:
            self.render_frames(self.position + round(float(span["seconds"]) * self.sample_rate))

    def cycle(self) -> Fraction:
        return to_fraction(self.kr.request("transport")["cycle"])

    def render_cycles(self, target: Fraction) -> None:
        """Render up to cycle `target`, a bar at a time (for the progress bar)."""
        while True:
            now = self.cycle()
            if now >= target:
                return
            step_to = min(Fraction(math.floor(now) + 1), target) if self.appendable else target
            if self._piece(cycles=step_to - now) == 0:
                return  # less than a frame was left

    def render_frames(self, target: int) -> None:
        """Render up to frame `target`, a second at a time (for the progress bar)."""
        while self.position < target:
            frames = target - self.position
            if self.appendable:
                frames = min(frames, max(1, round(RENDER_CHUNK_SECONDS * self.sample_rate)))
            self._piece(frames=frames)

    def _piece(self, **span: Any) -> int:
        if self.pieces and not self.appendable:
            raise KrachError(
                "io_error",
                f"{self.out.name}: a {self.out.suffix} file cannot be appended to, so it can only be "
                f"rendered in one piece; render to .wav or .aiff when the session calls kr.wait()",
            )
        reply = self.kr.render(self.out, append=self.pieces > 0, **span)
        self.pieces += 1
        self.position = int(reply["position"])
        self._show()
        return int(reply["frames"])

    def _show(self) -> None:
        if self.bars is not None:
            self.progress.update(min(round(1000 * self.cycle() / self.bars), 1000), 1000)
        elif self.total_frames is not None:
            self.progress.update(min(self.position, self.total_frames), self.total_frames)

    def finish(self) -> str | None:
        """Render the rest of the requested length; return a warning when the session ran past it."""
        if self.bars is not None:
            now = self.cycle()
            if now > self.bars:
                return f"the session's waits ran to bar {float(now):g}, past --bars {self.bars}"
            self.render_cycles(self.bars)
        elif self.total_frames is not None:
            if self.position > self.total_frames:
                return (f"the session's waits ran to {self.position / self.sample_rate:g} s, "
                        f"past --seconds {self.total_frames / self.sample_rate:g}")
            self.render_frames(self.total_frames)
        return None


def _discard(out: Path) -> None:
    """Remove a partly written output: a regular file only, never a FIFO or device
    that the engine refused to write (it is the user's, and untouched)."""
    if out.is_file():
        out.unlink(missing_ok=True)


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
        if args.tempo is not None:
            kr.tempo = args.tempo
        progress = _Progress(f"rendering {out.name}")
        writer = _Writer(kr, out, progress, args.bars, args.seconds)
        kr.render_sink = writer
        try:
            try:
                _run_session(code, session_path, kr)
            except Exception as err:  # noqa: BLE001 - any error in user code is reported
                progress.finish()
                if writer.pieces:
                    _discard(out)
                print(f"krach render: {session_path} failed:\n{_session_error(err)}", file=sys.stderr)
                return 1
            kr.render_sink = None
            try:
                warning = writer.finish()
            except BaseException:
                _discard(out)
                raise
        finally:
            progress.finish()
        if not writer.pieces:
            print("krach render: nothing was rendered: give --bars N or --seconds S "
                  "(or let the session call kr.wait)", file=sys.stderr)
            return 1
        if warning:
            print(f"krach render: warning: {warning}; the file is that long", file=sys.stderr)
        length = f"{writer.position / writer.sample_rate:g} s"
        if args.bars is not None:
            length += f", {writer.cycle()} bars"
        kr.shutdown()
    print(f"krach: wrote {out} ({length}, {writer.sample_rate} Hz)")
    return 0
