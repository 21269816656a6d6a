#!/usr/bin/env bash
# bench/run.sh — build and run the DSP benchmarks; prints markdown tables
# (quoted in docs/performance.md). `make bench` runs this.
#
#   bench/run.sh [--quick] [--callgrind] [bench_dsp options...]
#
#   --quick       10 s renders, 3 repetitions, 300 compile runs (a smoke run)
#   --callgrind   also the instruction-count table (bench/callgrind.sh)
#   --faust-fast-math  also the render table with FAUST's C built with
#                 -O3 -ffast-math (the flags faust2* scripts use; krach unchanged)
#   other options go to bench/build/bench_dsp (see bench_dsp --help)
#
# Steps: the engine's release build (make engine), the seed synths traced to
# IR (bench/make_ir.py), the FAUST translations (bench/faust/*.dsp) through
# `faust -lang c` and the harness (bench/Makefile), then: compile time and
# render time (bench_dsp), kr.node() latency (bench/node_latency.py), and with
# --callgrind the instruction counts.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CALLGRIND=0
FASTMATH=0
ARGS=()
NODE_RUNS=50
for arg in "$@"; do
    case $arg in
        --quick) ARGS+=(--seconds 10 --reps 3 --compile-runs 300); NODE_RUNS=20 ;;
        --callgrind) CALLGRIND=1 ;;
        --faust-fast-math) FASTMATH=1 ;;
        *) ARGS+=("$arg") ;;
    esac
done
command -v faust >/dev/null || { echo "bench: faust is not installed (apt-get install faust)" >&2; exit 1; }

make --no-print-directory engine >/dev/null
PYTHONPATH=python "$PY" bench/make_ir.py bench/build >/dev/null
make --no-print-directory -s -C bench >/dev/null

echo "## krach DSP benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- compiler: $(${CC:-cc} --version | head -1); krach and FAUST's C both at -O3 (no -march, no -ffast-math)"
echo "- $(faust --version | head -1) (-lang c, default options: scalar, single precision)"
echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- engine 2>/dev/null || echo ' + uncommitted engine changes')"

bench/build/bench_dsp --ir bench/build ${ARGS[@]+"${ARGS[@]}"}
if [ "$FASTMATH" = 1 ]; then
    make --no-print-directory -s -C bench OUT="$PWD/bench/build/fastmath" FAUST_EXTRA=-ffast-math >/dev/null
    echo
    echo "#### The same, FAUST's C built with -O3 -ffast-math (krach unchanged)"
    bench/build/fastmath/bench_dsp --ir bench/build --only render ${ARGS[@]+"${ARGS[@]}"} | tail -n +3
fi
PYTHONPATH=python "$PY" bench/node_latency.py "$NODE_RUNS"
if [ "$CALLGRIND" = 1 ]; then
    bench/callgrind.sh
fi
