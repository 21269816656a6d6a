"""The live path as a person meets it: `./bin/krach` in a pseudo-terminal,
the seed's five-minute beat pasted block by block, no error; and on a machine
without sound the REPL says it runs on a silent clock and how to render."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from e2e_support import REPO, child_env
from krach import signal as krs

KRACH = str(REPO / "bin" / "krach")
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][0-9A-Za-z])")
BEAT = (REPO / "examples" / "five_minute_beat.py").read_text()


def blocks(source: str) -> list[str]:
    """The seed as a person pastes it: one definition or statement group at a time."""
    chunks, current = [], []
    for line in source.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if current and not line.startswith((" ", "\t")):
            chunks.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        chunks.append("\n".join(current))
    return chunks


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True)
        os.close(slave)
        self.screen = ""

    def read_until(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {pattern!r}; screen:\n{self.screen[-3000:]}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    break
                self.screen += data.decode("utf-8", "replace")
        return self.screen

    def text(self) -> str:
        """The screen without terminal escape sequences (colours, cursor moves)."""
        return ANSI.sub("", self.screen)

    def paste(self, text: str) -> None:
        """Bracketed paste, as a terminal sends a paste (indentation is kept),
        then Enter — twice after a block, as IPython wants a blank line to end it."""
        os.write(self.master, b"\x1b[200~" + text.encode() + b"\x1b[201~\r")
        if "\n" in text:
            time.sleep(0.2)
            os.write(self.master, b"\r")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\r")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import IPython"]).returncode != 0,
                    reason="IPython is not installed")
def test_the_seed_beat_pasted_into_the_repl(engine_bin, engine_home: Path, start_engine):
    engine = start_engine("--backend", "null")
    env = child_env(engine_home, KRACH_ENGINE=engine_bin, KRACH_SOCKET=engine.socket,
                    TERM="xterm")
    term = Terminal([KRACH], env)
    try:
        prompts = 1
        term.read_until(r"In \[1\]")
        screen = term.text()
        assert "null backend" in screen
        assert "silent clock" in screen and "krach render" in screen
        for block in blocks(BEAT):
            term.paste(block)
            prompts += 1
            term.read_until(rf"In \[{prompts}\]")
        screen = term.text()
        assert "Error" not in screen and "Traceback" not in screen, screen[-3000:]
        term.type("exit")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
    transport = engine.ask(cmd="transport")
    assert transport["bpm"] == 128
    assert sorted(p["target"] for p in transport["patterns"]) == [
        "bass", "bass/cutoff", "hat", "kick"]
    routes = engine.ask(cmd="routing")["routes"]
    assert routes == [{"src": "bass", "dst": "verb", "port": "in0", "level": 0.4, "send": True}]


@pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import IPython"]).returncode != 0,
                    reason="IPython is not installed")
def _kill_engines_on(sockdir: Path) -> None:
    """SIGKILL every process whose command line names `sockdir` (engines the REPL started)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if str(sockdir).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), 9)
        except OSError:
            continue


def test_the_repl_survives_its_engine_being_killed(engine_bin, engine_home: Path, tmp_path: Path):
    sockdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"kr-repl-{os.getpid()}"
    sockdir.mkdir(exist_ok=True)
    env = child_env(engine_home, KRACH_ENGINE=engine_bin, KRACH_SOCKET=str(sockdir / "e.sock"),
                    TERM="xterm", JACK_NO_START_SERVER="1",
                    JACK_DEFAULT_SERVER=f"krach-none-{os.getpid()}")
    term = Terminal([KRACH], env)  # no engine there: the REPL starts its own
    try:
        term.read_until(r"In \[1\]")
        pid = int(re.search(r"started krach-engine \(pid (\d+)", term.text()).group(1))
        for n, block in enumerate(blocks(BEAT)):
            term.paste(block)
            term.read_until(rf"In \[{n + 2}\]")
        os.kill(pid, 9)
        # While the REPL waits at its prompt, one line says what happened.
        term.read_until(r"krach: the engine stopped \(killed by SIGKILL\); restarted it and "
                        r"replayed the session \(4 nodes, 4 patterns, 1 routes, 0 scenes\)")
        term.type("sorted(p['target'] for p in kr.state()['patterns']), kr.tempo")
        term.read_until(r"Out\[(\d+)\]: \(\['bass', 'bass/cutoff', 'hat', 'kick'\], 128\.0\)")
        prompt = int(re.findall(r"Out\[(\d+)\]", term.text())[-1])
        assert term.text().count("krach: the engine stopped") == 1
        term.type("kr.shutdown()")
        term.read_until(rf"In \[{prompt + 2}\]")
        term.type("exit")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
        _kill_engines_on(sockdir)  # a restarted engine outlives a failed test otherwise
        subprocess.run(["rm", "-rf", str(sockdir)])


# ---- issue 12, D19: the musician's frames, not krach's ---------------------------------


def failing_synth():
    freq = krs.control("freq", 440.0, 20.0, 4000.0)
    if freq > 300:  # a Python `if` on a signal: fails at trace time
        return krs.saw(freq)
    return krs.sine_osc(freq)


def _console_output(kr, lines: list[str]) -> str:
    """What the plain REPL (krach.repl's console) prints for `lines` typed one by one."""
    from krach import repl

    out: list[str] = []
    console = repl._Console({"kr": kr, "krs": krs, "bad": failing_synth})
    console.write = out.append  # type: ignore[method-assign]
    for line in lines:
        console.push(line)
    return "".join(out)


def test_a_synth_that_fails_to_trace_shows_the_musicians_code(offline_session):
    """The plain console: the typed line, the synth function's line and the message, and
    no frame of krach's own files; one note says how to see them."""
    shown = _console_output(offline_session, ["kr.node('lead', bad)"])
    assert 'File "<console>", line 1, in <module>' in shown  # the typed line (the console keeps no source)
    assert "in failing_synth" in shown and "if freq > 300" in shown
    assert "TypeError: a Signal has no truth value" in shown
    assert "krach/session.py" not in shown and "krach/signal.py" not in shown, shown
    assert shown.rstrip().endswith("kr.debug = True or KRACH_DEBUG=1 shows them)")
    assert len(shown.splitlines()) <= 14, shown
    assert offline_session.nodes == []


def test_kr_debug_and_krach_debug_show_every_frame(offline_session, monkeypatch):
    shown = _console_output(offline_session, ["kr.debug = True", "kr.node('lead', bad)"])
    assert "krach/session.py" in shown and "krach/signal.py" in shown and "if freq > 300" in shown
    offline_session.debug = False
    monkeypatch.setenv("KRACH_DEBUG", "1")
    assert "krach/signal.py" in _console_output(offline_session, ["kr.node('lead', bad)"])


def test_an_engine_error_is_still_one_line(offline_session):
    shown = _console_output(offline_session, ["kr.mute('nope')"])
    assert shown.startswith("KrachError: unknown_node: unknown node 'nope'") and shown.count("\n") == 1


@pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import IPython"]).returncode != 0,
                    reason="IPython is not installed")
def test_ipython_hides_krachs_frames_too(engine_bin, engine_home: Path, start_engine):
    """The REPL as a person meets it (IPython in a pseudo-terminal): a synth that fails to
    trace shows the cell and the synth's line; after ``kr.debug = True`` krach's too."""
    engine = start_engine("--backend", "null")
    env = child_env(engine_home, KRACH_ENGINE=engine_bin, KRACH_SOCKET=engine.socket, TERM="xterm")
    term = Terminal([KRACH], env)
    try:
        term.read_until(r"In \[1\]")
        term.paste("def bad():\n    f = krs.control('freq', 440.0, 20.0, 4000.0)\n"
                   "    if f > 300:\n        return krs.saw(f)\n    return krs.sine_osc(f)\n")
        term.read_until(r"In \[2\]")
        term.type("kr.node('lead', bad)")
        screen = term.read_until(r"In \[3\]")
        shown = ANSI.sub("", screen)[ANSI.sub("", screen).index("In [2]"):]
        assert "if f > 300" in shown and "a Signal has no truth value" in shown, shown
        assert "session.py" not in shown and "signal.py" not in shown, shown
        assert "kr.debug = True" in shown
        term.type("kr.debug = True")
        term.read_until(r"In \[4\]")
        term.type("kr.node('lead', bad)")
        screen = ANSI.sub("", term.read_until(r"In \[5\]"))
        assert "signal.py" in screen[screen.index("In [4]"):]
        term.type("exit")
        assert term.proc.wait(20) == 0
    finally:
        term.close()
