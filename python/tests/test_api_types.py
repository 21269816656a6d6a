"""Argument types across the public Python API (issue 12, D15).

Every public ``kr.`` and ``node.`` method given an argument of the wrong type
raises `TypeError` whose message names the argument's role and what was
expected — before anything reaches the engine, so nothing changes. The motivating
case: ``node.play("cutoff", kr.sine(200, 2000))`` played a note named "cutoff"
and dropped the sine into ``from_zero``.

A last test checks that the table covers every public method, so a new method
without a row fails here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from krach import signal as krs
from krach.node import Node
from krach.session import Session


def synth() -> krs.Signal:
    freq = krs.control("freq", 440.0, 20.0, 4000.0)
    cutoff = krs.control("cutoff", 1000.0, 20.0, 8000.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    return krs.lowpass(krs.saw(freq), cutoff) * gate


def wrong_calls(kr: Session, b: Node, tmp: Path) -> dict[str, list[Callable[[], Any]]]:
    """For each public method, calls with one argument of a wrong type. (A time may be a
    string like "1/3", so a wrong time here is a list or None.)"""
    sine = kr.sine(200, 2000)
    return {
        "__getitem__": [lambda: kr[3]],
        "__setitem__": [lambda: kr.__setitem__(3, 1.0), lambda: kr.__setitem__("b/cutoff", "loud")],
        "batch": [],
        "close": [],
        "connect": [lambda: kr.connect(3, "b"), lambda: kr.connect("b", None),
                    lambda: kr.connect("b", "b", level="high"), lambda: kr.connect("b", "b", port=1)],
        "dsp": [lambda: kr.dsp(3), lambda: kr.dsp("synth")],
        "effects": [],
        "events": [lambda: kr.events(3), lambda: kr.events("x", a=[0]), lambda: kr.events("x", b=None)],
        "export": [lambda: kr.export(3)],
        "fade": [lambda: kr.fade(3, 0.5), lambda: kr.fade("b/gain", "up"), lambda: kr.fade("b/gain", 0.5, bars=[1])],
        "gain": [lambda: kr.gain(3), lambda: kr.gain("b", "loud"), lambda: kr.gain("b", True)],
        "hush": [lambda: kr.hush(3)],
        "input": [lambda: kr.input(3), lambda: kr.input("mic", channel="left"), lambda: kr.input("mic", gain="x")],
        "load": [lambda: kr.load(3)],
        "master": [lambda: setattr(kr, "master", "loud")],
        "meter": [lambda: setattr(kr, "meter", "4/4")],
        "mod": [lambda: kr.mod(3, "sine", 0, 1), lambda: kr.mod("b/cutoff", 3, 0, 1),
                lambda: kr.mod("b/cutoff", "sine", "lo", 1), lambda: kr.mod("b/cutoff", "sine", 0, 1, bars=None)],
        "mute": [lambda: kr.mute(3)],
        "node": [lambda: kr.node(3, synth), lambda: kr.node("b", 3), lambda: kr.node("b", synth, gain="x"),
                 lambda: kr.node("b", synth, count="2"), lambda: kr.node("b", synth, backend=1),
                 lambda: kr.node("b", synth, cutoff="high")],
        "nodes": [],
        "pattern": [lambda: kr.pattern(3)],
        "patterns": [],
        "ping": [],
        "play": [lambda: kr.play(3, "x"), lambda: kr.play("b", 3), lambda: kr.play("b", "x", from_zero=sine),
                 lambda: kr.play("b", "x", from_zero="yes"), lambda: kr.play("b", "x", swing=[0.6])],
        "pull": [],
        "recall": [lambda: kr.recall(3)],
        "record": [lambda: kr.record(3), lambda: kr.record(tmp / "r.wav", subtype=16)],
        "record_stop": [],
        "remove": [lambda: kr.remove(3)],
        "render": [lambda: kr.render(3), lambda: kr.render(seconds="1"), lambda: kr.render(frames=1.5),
                   lambda: kr.render(cycles=[1]), lambda: kr.render(seconds=0.1, subtype=16),
                   lambda: kr.render(seconds=0.1, append="yes")],
        "request": [lambda: kr.request(3)],
        "routing": [],
        "save": [lambda: kr.save(3)],
        "scenes": [],
        "set": [lambda: kr.set(3, 1.0), lambda: kr.set("b/cutoff", "loud"), lambda: kr.set("b/cutoff", None)],
        "show": [lambda: kr.show(3), lambda: kr.show("x", cycles=[2]), lambda: kr.show("x", width="wide")],
        "shutdown": [],
        "solo": [lambda: kr.solo(3)],
        "sources": [],
        "state": [],
        "status": [],
        "stop": [],
        "tempo": [lambda: setattr(kr, "tempo", "fast")],
        "tone": [lambda: kr.tone(3), lambda: kr.tone("t", freq="A4"), lambda: kr.tone("t", gain=None)],
        "transition": [lambda: kr.transition(bars=None).__enter__()],
        "unmute": [lambda: kr.unmute(3)],
        "unsend": [lambda: kr.unsend(3, "b"), lambda: kr.unsend("b", 3)],
        "unsolo": [lambda: kr.unsolo(3)],
        "wait": [lambda: kr.wait(bars=[2]), lambda: kr.wait(seconds="1")],
        # Node
        "node.__getitem__": [lambda: b[3]],
        "node.__matmul__": [lambda: b @ 3, lambda: b @ (3, sine), lambda: b @ ("cutoff", 3)],
        "node.__rshift__": [lambda: b >> 3, lambda: b >> ("b", "high")],
        "node.__setitem__": [lambda: b.__setitem__(3, 1.0), lambda: b.__setitem__("cutoff", "high")],
        "node.dsp": [],
        "node.gain": [lambda: setattr(b, "gain", "loud")],
        "node.hush": [],
        "node.mute": [],
        "node.name": [],
        "node.pattern": [],
        "node.play": [lambda: b.play("cutoff", sine), lambda: b.play(3), lambda: b.play("x", swing=[1])],
        "node.remove": [],
        "node.solo": [],
        "node.unmute": [],
        "node.unsolo": [],
    }


def _public(cls: type) -> set[str]:
    names = set()
    for name, _ in inspect.getmembers(cls):
        if name.startswith("_") and name not in ("__getitem__", "__setitem__", "__matmul__", "__rshift__"):
            continue
        if isinstance(inspect.getattr_static(cls, name), staticmethod):
            continue  # the pattern builders (kr.seq, kr.sine, ...) are krach.pattern's, tested there
        names.add(name)
    return names


def test_wrong_types_raise_type_error_naming_what_was_expected(offline_session, tmp_path: Path):
    kr = offline_session
    b = kr.node("b", synth)
    before = kr.state()
    failures = []
    for method, calls in wrong_calls(kr, b, tmp_path).items():
        for i, call in enumerate(calls):
            try:
                call()
            except TypeError as err:
                message = str(err)
                if not any(word in message for word in ("must", "expected", "give", "write", "takes", "is a")):
                    failures.append(f"{method}[{i}]: TypeError without what was expected: {message}")
            except Exception as err:  # noqa: BLE001 — the point is which kind
                failures.append(f"{method}[{i}]: {type(err).__name__}: {err}")
            else:
                failures.append(f"{method}[{i}]: no error")
    assert not failures, "\n".join(failures)
    assert kr.state() == before  # nothing reached the engine


def test_node_play_of_a_control_pattern_says_how(offline_session):
    """The motivating case: the message points to ``node @ ("cutoff", pattern)``."""
    kr = offline_session
    b = kr.node("b", synth)
    with pytest.raises(TypeError, match=r"from_zero must be True or False.*b @ \('cutoff', pattern\)"):
        b.play("cutoff", kr.sine(200, 2000))
    assert kr.state()["patterns"] == []


def test_the_table_covers_every_public_method(offline_session, tmp_path: Path):
    kr = offline_session
    table = wrong_calls(kr, kr.node("b", synth), tmp_path)
    covered = {name for name in table if not name.startswith("node.")}
    node_covered = {name[5:] for name in table if name.startswith("node.")}
    assert _public(Session) == covered
    assert _public(Node) == node_covered
