#!/usr/bin/env bash
# bench/callgrind.sh — krach ÷ FAUST as instruction counts (callgrind), which,
# unlike CPU time, do not move with the load of a shared machine.
#
#   bench/callgrind.sh [seconds] [--profile]
#
# For each seed synth and engine, runs bench_dsp under callgrind with
# collection on only inside render_krach / render_faust (instance creation,
# FAUST's table fill and the harness's setup are not counted), and prints
# instructions per sample and the ratio. --profile also prints, per synth,
# krach's functions by exclusive instruction count. Needs bench/build/bench_dsp
# (bench/run.sh builds it). Instruction counts ignore cache misses, branch
# mispredictions and the cost of divisions and libm calls per instruction: a
# guide to where time goes, not a replacement for the CPU-time table.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_=4
PROFILE=0
for arg in "$@"; do
    case $arg in
        --profile) PROFILE=1 ;;
        *) SECONDS_=$arg ;;
    esac
done
BIN=bench/build/bench_dsp
[ -x "$BIN" ] || { echo "callgrind.sh: build first: bench/run.sh (or make -C bench)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SAMPLES=$(awk -v s="$SECONDS_" 'BEGIN { printf "%d", s * 48000 + 0.5 }')

count() { # synth engine -> instructions
    valgrind --tool=callgrind --callgrind-out-file="$TMP/$1.$2.out" --collect-atstart=no \
        --toggle-collect=render_krach --toggle-collect=render_faust \
        "$BIN" --ir bench/build --engine "$2" --synth "$1" --seconds "$SECONDS_" --reps 1 \
        >/dev/null 2>"$TMP/$1.$2.log" || { cat "$TMP/$1.$2.log" >&2; exit 1; }
    awk '/^totals:/ { print $2 }' "$TMP/$1.$2.out"
}

echo
echo "### Instructions per sample (callgrind, ${SECONDS_} s of audio, same schedule as the CPU-time table)"
echo
echo "| synth     | krach | FAUST | krach ÷ FAUST | FAUST, controls unsmoothed | krach ÷ that |"
echo "|---|---|---|---|---|---|"
for s in kick hat bass reverb_fx patch; do
    k=$(count "$s" krach)
    f=$(count "$s" faust)
    n=$(count "$s" faust_nosmooth)
    awk -v s="$s" -v k="$k" -v f="$f" -v n="$n" -v N="$SAMPLES" 'BEGIN {
        printf "| %-9s | %.1f | %.1f | **%.2f** | %.1f | %.2f |\n", s, k / N, f / N, k / f, n / N, k / n }'
done
if [ "$PROFILE" = 1 ]; then
    for s in kick hat bass reverb_fx patch; do
        echo
        echo "#### $s: krach, instructions per sample by function (exclusive)"
        echo
        callgrind_annotate "$TMP/$s.krach.out" 2>/dev/null |
            awk -v N="$SAMPLES" '/^ *[0-9,]+ \( *[0-9.]+%\)/ && !/PROGRAM TOTALS/ {
                n = $1; gsub(",", "", n); if (n / N < 0.05) next
                fn = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, "", fn); sub(/ \[.*$/, "", fn)
                sub(/^.*:/, "", fn); printf "    %7.2f  %s\n", n / N, fn }' | head -15
    done
fi
