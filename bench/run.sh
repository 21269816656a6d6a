#!/usr/bin/env bash
# bench/run.sh — build and run the benchmarks; prints markdown tables
# (quoted in docs/performance.md). `make bench` runs this.
#
#   bench/run.sh [--quick] [--callgrind] [--patterns | --no-patterns] [bench_dsp options...]
#
#   --quick       10 s renders, 3 repetitions, 300 compile runs; pattern
#                 queries over 200 cycles, 10 s of scheduling (a smoke run)
#   --callgrind   also the instruction-count table (bench/callgrind.sh)
#   --faust-fast-math  also the render table with FAUST's C built with
#                 -O3 -ffast-math (the flags faust2* scripts use; krach unchanged)
#   --patterns    only the pattern benchmarks (no FAUST needed)
#   --no-patterns only the DSP benchmarks
#   other options go to bench/build/bench_dsp (see bench_dsp --help)
#
# DSP steps: the engine's release build (make engine), the seed synths traced
# to IR (bench/make_ir.py), the FAUST translations (bench/faust/*.dsp) through
# `faust -lang c` and the harness (bench/Makefile), then: compile time and
# render time (bench_dsp), the native compiler against the FAUST backend on the
# same IR (bench_backends: compile time and render throughput), kr.node() latency (bench/node_latency.py), and with
# --callgrind the instruction counts.
#
# Pattern steps: the pattern set built with krp (bench/make_patterns.py), the
# same patterns queried by Strudel under node (tools/strudel/bench.mjs; skipped,
# with a note, when node or tools/strudel/node_modules is missing: run
# `npm install` there), then bench_patterns: krach's queries beside Strudel's,
# and the scheduler's cost per block.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CALLGRIND=0
FASTMATH=0
ARGS=()
BACKEND_ARGS=()
NODE_RUNS=50
DSP=1
PATTERNS=1
# Pattern benchmarks: cycles in 1-cycle windows and in one query; cycles in
# 1/TICKS-cycle windows; repetitions; seconds of scheduling per run.
P_CYCLES=1000 P_TICK_CYCLES=100 P_TICKS=64 P_REPS=5 P_SECONDS=60
for arg in "$@"; do
    case $arg in
        --quick) ARGS+=(--seconds 10 --reps 3 --compile-runs 300); NODE_RUNS=20
                 BACKEND_ARGS=(--seconds 10 --reps 2 --compile-runs 300 --faust-runs 3)
                 P_CYCLES=200 P_TICK_CYCLES=20 P_REPS=3 P_SECONDS=10 ;;
        --callgrind) CALLGRIND=1 ;;
        --faust-fast-math) FASTMATH=1 ;;
        --patterns) DSP=0 ;;
        --no-patterns) PATTERNS=0 ;;
        *) ARGS+=("$arg") ;;
    esac
done
if [ "$DSP" = 1 ]; then
    command -v faust >/dev/null || { echo "bench: faust is not installed (apt-get install faust)" >&2; exit 1; }
fi

machine() {
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- compiler: $(${CC:-cc} --version | head -1); krach at -O3 (no -march, no -ffast-math)"
    echo "- git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet -- engine 2>/dev/null || echo ' + uncommitted engine changes')"
}

make --no-print-directory engine >/dev/null

if [ "$DSP" = 1 ]; then
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
        make --no-print-directory -s -C bench OUT="$PWD/bench/build/fastmath" FAUST_EXTRA=-ffast-math \
            "$PWD/bench/build/fastmath/bench_dsp" >/dev/null
        echo
        echo "#### The same, FAUST's C built with -O3 -ffast-math (krach unchanged)"
        bench/build/fastmath/bench_dsp --ir bench/build --only render ${ARGS[@]+"${ARGS[@]}"} | tail -n +3
    fi
    echo
    bench/build/bench_backends --ir bench/build ${BACKEND_ARGS[@]+"${BACKEND_ARGS[@]}"}
    PYTHONPATH=python "$PY" bench/node_latency.py "$NODE_RUNS"
    if [ "$CALLGRIND" = 1 ]; then
        bench/callgrind.sh
    fi
fi

if [ "$PATTERNS" = 1 ]; then
    PYTHONPATH=python "$PY" bench/make_patterns.py bench/build >/dev/null
    make --no-print-directory -s -C bench patterns >/dev/null
    [ "$DSP" = 1 ] && echo
    echo "## krach pattern benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    machine
    WINDOWS=(--cycles "$P_CYCLES" --tick-cycles "$P_TICK_CYCLES" --ticks "$P_TICKS" --reps "$P_REPS")
    STRUDEL=()
    if command -v node >/dev/null && [ -d tools/strudel/node_modules/@strudel/core ]; then
        # Strudel first, then krach: the two never run at the same time.
        if (cd tools/strudel && node bench.mjs ../../bench/build/patterns.json "${WINDOWS[@]}") \
            > bench/build/strudel.json 2> bench/build/strudel.log; then
            STRUDEL=(--strudel bench/build/strudel.json)
        else
            echo "- Strudel: bench.mjs failed (see bench/build/strudel.log)"
        fi
    else
        echo "- Strudel: not measured (needs node and \`npm install\` in tools/strudel)"
    fi
    bench/build/bench_patterns "${WINDOWS[@]}" --seconds "$P_SECONDS" ${STRUDEL[@]+"${STRUDEL[@]}"}
fi
