"""Session files: ``kr.export(path)`` writes one, ``kr.load(path)`` runs one.

A session file is plain Python run with ``kr``, ``krs`` and ``krp`` bound —
the same as ``krach render SESSION.py`` runs. ``kr.export`` writes one that
recreates the session as the engine has it now, readable and self-contained:

1. the synth functions, as their source (for a synth this session traced
   from a function whose source Python can find and that rebuilds the same
   IR on its own), else as data: ``name = krs.from_ir({...})``;
2. tempo, meter, master;
3. one ``with kr.batch():`` with every node (gain, voice count, the controls
   that differ from their defaults), route, mute and solo, in the engine's
   order;
4. the playing patterns (as written in this session, e.g. ``kr.hit() * 4``;
   mini-notation as the text; others as ``krp.from_ir({...})``) and the
   automations (``kr.mod``, ``kr.fade``).

Loaded into a fresh engine, the file plays exactly what the exported session
played from the same position: an offline render of both is sample for
sample the same. A fade still running is written as its end (``kr.fade``
with the target value), an audio input as its ``kr.input`` call, and a
test tone as a comment.
"""

from __future__ import annotations

import ast
import keyword
import os
import pprint
import re
import struct
import sys
import textwrap
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import pattern as krp
from . import signal as krs
from .changes import ir_key

if TYPE_CHECKING:
    from .session import Session
    from .signal import Dsp

RESERVED = frozenset({"kr", "krs", "krp"})
"""Names a session file must not take: they are bound when it runs."""


def namespace(kr: Session) -> dict[str, Any]:
    """The names a REPL or a session file starts with: ``kr``, ``krs`` and ``krp``.

    It also makes `kr` the session `Pattern.events` and `Pattern.show` ask
    (`krach.pattern.use_session`).
    """
    krp.use_session(kr)
    return {"kr": kr, "krs": krs, "krp": krp}


def run_file(kr: Session, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Run the session file `path` with ``kr``, ``krs`` and ``krp`` bound; return its names.

    It runs as ``python SESSION.py`` would run a script (``__name__`` is
    ``"__main__"``, its folder is importable while it runs).
    """
    file = Path(path)
    code = compile(file.read_text(encoding="utf-8"), str(file), "exec")
    ns: dict[str, Any] = namespace(kr)
    ns.update(__name__="__main__", __file__=str(file), __builtins__=__builtins__)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        exec(code, ns)
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return ns


def export_text(kr: Session) -> str:
    """The text of a session file that recreates `kr`'s session (see the module docs)."""
    state = kr.state()
    out = _Writer()
    out.line('"""A krach session, written by kr.export.')
    out.line("")
    out.line("Run it in the REPL with kr.load(path), or render it offline with")
    out.line("`krach render PATH -o out.wav --bars 8`.")
    out.line('"""')
    synths = _synths(kr, state, out)

    out.section("transport")
    bpm = state["bpm"]
    out.line(f"kr.tempo = {int(bpm) if float(bpm).is_integer() else bpm!r}")
    out.line(f"kr.meter = {state['beats']!r}")
    out.line(f"kr.master = {state['master']!r}")

    out.section("nodes, routes, mixer")
    for node in state["nodes"]:  # audio inputs are not made in a batch
        if node.get("ir") is None and "channel" in node:
            out.line(f"kr.input({node['name']!r}, channel={node['channel']!r}, "
                     f"gain={_gain_text(node['gain'])})")
    body: list[str] = []
    for node in state["nodes"]:
        if node.get("ir") is None and "type" not in node:
            if "channel" not in node:
                body.append(f"# {node['name']!r} is a {node['kind']} node; a session file cannot recreate it")
            continue
        source = repr(node["type"]) if "type" in node else synths[node["name"]]
        args = [repr(node["name"]), source, f"gain={_gain_text(node['gain'])}"]
        if "backend" in node:
            args.append(f"backend={node['backend']!r}")
        if node["count"] != 1:
            args.append(f"count={node['count']!r}")
        controls = _changed_controls(node)
        if controls and all(c.isidentifier() and not keyword.iskeyword(c) for c in controls):
            args += [f"{c}={v!r}" for c, v in controls.items()]
        elif controls:
            args.append(f"**{controls!r}")
        body.append(f"kr.node({', '.join(args)})")
    for route in state["routes"]:
        where = f"level={route['level']!r}" if route["send"] else f"port={route['port']!r}"
        body.append(f"kr.connect({route['src']!r}, {route['dst']!r}, {where})")
    for node in state["nodes"]:
        if node.get("muted"):
            body.append(f"kr.mute({node['name']!r})")
        if node.get("soloed"):
            body.append(f"kr.solo({node['name']!r})")
    if body:
        out.line("with kr.batch():")
        for line in body:
            out.line("    " + line)

    if state["patterns"] or state["automations"]:
        out.section("patterns and automation")
    for playing in state["patterns"]:
        extra = ", from_zero=True" if playing.get("from_zero") else ""
        out.line(f"kr.play({playing['target']!r}, {_pattern_text(kr, playing)}{extra})")
    for auto in state["automations"]:
        bars = _time_text(auto["bars"])
        if auto["shape"] == "fade":
            out.line(f"kr.fade({auto['target']!r}, {auto['value']!r}, bars={bars})")
        else:
            out.line(f"kr.mod({auto['target']!r}, {auto['shape']!r}, lo={auto['lo']!r}, "
                     f"hi={auto['hi']!r}, bars={bars})")
    return out.text()


def export(kr: Session, path: str | os.PathLike[str]) -> Path:
    """Write `kr`'s session to `path` as a session file (see `export_text`); return the path."""
    file = Path(path)
    file.write_text(export_text(kr), encoding="utf-8")
    return file


# -- synths ---------------------------------------------------------------------


def _synths(kr: Session, state: dict[str, Any], out: _Writer) -> dict[str, str]:
    """Write a definition for every synth in `state`; return node name -> the Python name to use."""
    taken = set(RESERVED)
    by_ir: dict[str, str] = {}
    names: dict[str, str] = {}
    imports: set[str] = set()
    blocks: list[str] = []
    for node in state["nodes"]:
        ir = node.get("ir")
        if ir is None:
            continue
        key = ir_key(ir)
        if key not in by_ir:
            dsp = kr._known_dsps.get(key)
            written = _function_source(dsp, ir, taken) if dsp is not None else None
            if written is not None:
                name, block, needs = written
                imports |= needs
            else:
                name = _fresh_name(_identifier(node["name"]), taken)
                data = textwrap.indent(pprint.pformat(ir, width=92, sort_dicts=False), "    ")
                block = f"{name} = krs.from_ir(\n{data},\n    name={node['name']!r},\n)"
            taken.add(name)
            by_ir[key] = name
            blocks.append(block)
        names[node["name"]] = by_ir[key]
    if imports:
        out.line("")
        for line in sorted(imports):
            out.line(line)
    if blocks:
        out.section("synths")
        for i, block in enumerate(blocks):
            if i:
                out.line("")
                out.line("")
            out.line(block)
    return names


def _function_source(dsp: Dsp, ir: dict[str, Any], taken: set[str]) -> tuple[str, str, set[str]] | None:
    """(name, source, imports) for `dsp`'s function, if its source alone rebuilds `ir`; else None."""
    if dsp.source is None or dsp.fn is None:
        return None
    source = textwrap.dedent(dsp.source).strip("\n")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].decorator_list:
        return None
    name = tree.body[0].name
    if name in taken:
        fresh = _fresh_name(name, taken)
        source = re.sub(rf"^def\s+{re.escape(name)}\b", f"def {fresh}", source, count=1)
        name = fresh
    imports = _module_imports(dsp.fn)
    try:  # the proof: the text alone gives the same synth
        ns: dict[str, Any] = {"krs": krs, "krp": krp, "__builtins__": __builtins__}
        for line in sorted(imports):
            exec(line, ns)
        exec(compile(source, f"<export of {name}>", "exec"), ns)
        same = ir_key(krs.trace(ns[name])) == ir_key(ir)
    except Exception:  # anything: fall back to the IR as data
        return None
    return (name, source, imports) if same else None


def _module_imports(fn: Any) -> set[str]:
    """``import`` lines for the modules the function's code names as globals (``math``...)."""
    names: set[str] = set()
    codes = [getattr(fn, "__code__", None)]
    while codes:
        code = codes.pop()
        if code is None:
            continue
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    lines = set()
    for name in names - RESERVED:
        value = getattr(fn, "__globals__", {}).get(name)
        if isinstance(value, types.ModuleType):
            module = value.__name__
            lines.add(f"import {module}" if module == name else f"import {module} as {name}")
    return lines


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text).strip("_") or "synth"
    return f"_{name}" if name[0].isdigit() else name


def _fresh_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken or keyword.iskeyword(candidate):
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _gain_text(gain: float) -> str:
    """A gain as Python, short: the engine keeps a new node's gain as a 32-bit float
    (0.8 comes back as 0.800000011920929), so the shortest number with the same
    32-bit value is written."""
    single = struct.unpack("f", struct.pack("f", gain))[0]
    if single == gain:
        for digits in range(1, 10):
            text = f"{gain:.{digits}g}"
            if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
                return repr(float(text))
    return repr(gain)


def _changed_controls(node: dict[str, Any]) -> dict[str, float]:
    """The node's control values that differ from their defaults (``init`` in the IR).

    A FAUST-file node's defaults live in its file, which may change: all its
    values are written.
    """
    if node.get("ir") is None:
        return dict(node["controls"])
    inits = {c["name"]: c["init"] for c in node["ir"]["controls"]}
    return {name: value for name, value in node["controls"].items() if inits.get(name) != value}


# -- patterns --------------------------------------------------------------------


def _pattern_text(kr: Session, playing: dict[str, Any]) -> str:
    """A pattern as Python: mini-notation text, this session's expression, or ``krp.from_ir``."""
    if "mini" in playing:
        return repr(playing["mini"])
    ir = playing["pattern"]
    known = kr._known_patterns.get(ir_key(ir))
    if known is not None:
        text = repr(known)
        try:  # the proof: the expression alone builds the same pattern
            if ir_key(eval(text, {"kr": krp, "krp": krp}).ir()) == ir_key(ir):
                return text
        except Exception:
            pass
    return f"krp.from_ir({ir!r})"


def _time_text(value: Any) -> str:
    """A wire time (``4``, ``0.5``, ``"1/3"``) as Python for ``bars=``."""
    if isinstance(value, str) and "/" not in value:
        try:
            return repr(int(value))
        except ValueError:
            return repr(value)
    return repr(value)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def section(self, title: str) -> None:
        self.lines += ["", "", f"# ---- {title} " + "-" * max(4, 72 - len(title)), ""]

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"
