"""End-to-end `kr.node()` latency for the seed synths, against an offline engine.

Run from the repository root:
    PYTHONPATH=python /usr/bin/python3 bench/node_latency.py [runs]

For each seed synth (the functions of bench/make_ir.py), times `kr.node()`
from the Python call to the reply: tracing the function, encoding the IR,
the request over the Unix socket, the engine's validation, compilation and
instance creation, the audio-thread hand-over and the reply. Two cases:

- new: a node that does not exist yet (a fresh name each run; removed after,
  untimed);
- replace: the same name and function again, as when a live coder re-runs an
  unchanged line (the engine sees an identical program and keeps the running
  instance).

It also reports the parts: `krs.trace` alone, the engine's own `compile_us`
from the reply, and a `ping` round trip. Medians (and 90th percentiles) in ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_ir import SYNTHS  # noqa: E402

from krach import signal as krs  # noqa: E402
from krach.engine import OfflineEngine  # noqa: E402


def ms(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1e3, s[min(len(s) - 1, int(0.9 * len(s)))] * 1e3


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with OfflineEngine(sample_rate=48000) as eng:
        kr = eng.session()
        pings = []
        for _ in range(runs):
            t = time.perf_counter()
            kr.ping()
            pings.append(time.perf_counter() - t)
        print(f"\n### kr.node() latency (ms, median and 90th percentile of {runs}; offline engine)\n")
        print("| synth     | kr.node, new | kr.node, replace (same) | krs.trace | engine compile_us | ping |")
        print("|---|---|---|---|---|---|")
        for name, fn in SYNTHS.items():
            new, replace, trace, compile_us = [], [], [], []
            for i in range(runs):
                t = time.perf_counter()
                krs.trace(fn)
                trace.append(time.perf_counter() - t)
            for i in range(runs + 1):  # the first is a warm-up
                node = f"bench_{name}_{i}"
                t = time.perf_counter()
                kr.node(node, fn)
                dt = time.perf_counter() - t
                if i:
                    new.append(dt)
                kr.remove(node)
            kr.node(f"bench_{name}", fn)
            for _ in range(runs):
                t = time.perf_counter()
                kr.node(f"bench_{name}", fn)
                replace.append(time.perf_counter() - t)
            kr.remove(f"bench_{name}")
            ir = krs.trace(fn)
            for i in range(runs):
                reply = kr.request("node_set", name=f"bench_{name}_c{i}", ir=ir)
                compile_us.append(float(reply.get("compile_us", float("nan"))))
                kr.remove(f"bench_{name}_c{i}")
            (n50, n90), (r50, r90), (t50, t90), (p50, p90) = ms(new), ms(replace), ms(trace), ms(pings)
            c50 = statistics.median(compile_us)
            print(f"| {name:9s} | **{n50:.2f}** ({n90:.2f}) | {r50:.2f} ({r90:.2f}) | {t50:.3f} ({t90:.3f}) "
                  f"| {c50:.1f} µs | {p50:.3f} ({p90:.3f}) |")


if __name__ == "__main__":
    main()
