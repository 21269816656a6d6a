"""Trace the seed synths to signal-IR JSON for the benchmarks.

Run from the repository root:  PYTHONPATH=python /usr/bin/python3 bench/make_ir.py [outdir]
Writes <outdir>/{kick,hat,bass,reverb_fx,patch}.json (default bench/build).

The synths are copied verbatim from the getting-started guide (the "seed"
patch). `patch` is the whole seed patch as one synth: kick + hat + bass, with
the bass also sent through the reverb, at the node gains of the guide.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from krach import signal as krs


# ---- the seed synths (docs: Getting Started, "5-minute beat") ----

def kick() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.25, 0.0, 0.05, gate)
    return krs.sine_osc(55.0 + env * 200.0) * env * 0.9


def hat() -> krs.Signal:
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    env = krs.adsr(0.001, 0.04, 0.0, 0.02, gate)
    return krs.highpass(krs.white_noise(), 8000.0) * env * 0.5


def bass() -> krs.Signal:
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    env = krs.adsr(0.005, 0.15, 0.3, 0.08, gate)
    return krs.lowpass(krs.saw(freq), cutoff) * env * 0.55


def reverb_fx(inp: krs.Signal) -> krs.Signal:
    room = krs.control("room", 0.7, 0.0, 1.0)
    return krs.reverb(inp, room) * 0.8


# ---- the whole seed patch as one synth ----
# All three voices share the one "gate" control (the tracer merges controls by
# name), so they all trigger together; the bass's signal is shared (traced once,
# merged by the tracer) between the dry path and the reverb send.

def patch() -> krs.Signal:
    b = bass()
    return kick() * 0.8 + hat() * 0.5 + b * 0.3 + reverb_fx(b) * 0.3


SYNTHS = {"kick": kick, "hat": hat, "bass": bass, "reverb_fx": reverb_fx, "patch": patch}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "build")
    out.mkdir(parents=True, exist_ok=True)
    for name, fn in SYNTHS.items():
        ir = krs.trace(fn)
        (out / f"{name}.json").write_text(json.dumps(ir, indent=1) + "\n")
        ctl = ", ".join(c["name"] for c in ir["controls"]) or "none"
        print(f"{name:10s} {len(ir['nodes']):3d} nodes, {ir['inputs']} in, controls: {ctl}")


if __name__ == "__main__":
    main()
