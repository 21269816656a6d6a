"""Trace the seed synths to signal-IR JSON for the benchmarks.

Run from the repository root:  PYTHONPATH=python /usr/bin/python3 bench/make_ir.py [outdir]
Writes <outdir>/{kick,hat,bass,reverb_fx,patch}.json (default bench/build).

The synths are the getting-started guide's (the "seed" patch), read from
examples/five_minute_beat.py. `patch` is the whole seed patch as one synth: kick + hat + bass, with
the bass also sent through the reverb, at the node gains of the guide.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from krach import signal as krs


# ---- the seed synths: examples/five_minute_beat.py, through python/tests/seed.py ----

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "tests"))
from seed import bass, hat, kick, reverb_fx  # noqa: E402



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
