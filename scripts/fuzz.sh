#!/usr/bin/env bash
# scripts/fuzz.sh [--parallel] [SECONDS] [TARGET...] — build the libFuzzer
# harnesses and run each.
#
#   --parallel  run the harnesses at the same time, in background processes,
#               and wait for all (`make fuzz-long`); default: one after another
#   SECONDS     time per harness (default 60)
#   TARGET      protocol session signal_ir pattern_ir mini (default: all five)
#
# Builds build/fuzz with clang (-fsanitize=fuzzer,address,undefined; libfaust
# off), then runs each harness on a copy of its seed corpus and regressions
# (engine/fuzz/corpus/<t>, engine/fuzz/regressions/<t>) in a temporary
# directory, so the repository's corpus never grows. Prints executions,
# coverage and corpus size per harness. Exits 1 on any crash, sanitizer
# report, leak, timeout or out-of-memory, after copying the reproducer to
# build/fuzz/artifacts/<t>/ and printing its path: turn it into a regression
# by moving it to engine/fuzz/regressions/<t>/ with a descriptive name.
#
# KRACH_FUZZ_WORK=DIR keeps the working corpora in DIR/<t> across runs (for
# long local sessions) instead of a temporary directory.
set -euo pipefail

cd "$(dirname "$0")/.."
parallel=0
if [[ ${1:-} == --parallel ]]; then
  parallel=1
  shift
fi
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(protocol session signal_ir pattern_ir mini)
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }

if ! command -v clang >/dev/null; then
  echo "fuzz: clang is needed (libFuzzer): sudo apt-get install -y clang" >&2
  exit 1
fi
build=build/fuzz
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKRACH_FUZZ=ON \
  -DKRACH_FAUST=OFF >/dev/null
cmake --build "$build" -j 2 --target "${targets[@]/#/fuzz_}" >/dev/null

if [[ -n ${KRACH_FUZZ_WORK:-} ]]; then
  work=$KRACH_FUZZ_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/krach-fuzz-run.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi

declare -A max_len=([protocol]=32768 [session]=4096 [signal_ir]=16384 [pattern_ir]=8192 [mini]=4096)
# The two engine harnesses keep one engine between inputs (fuzz_common.h), so
# an input's mallocs and frees often differ in number (what the engine keeps
# grows) and libFuzzer re-ran such inputs for a leak check (a third of the
# session harness's time); leaks stay checked by the ctest replay (LSan).
declare -A extra=([protocol]=-detect_leaks=0 [session]=-detect_leaks=0)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Starts harness $1 on a copy of its seeds and regressions; its exit status
# goes to $work/$1/rc.
run() {
  local t=$1 bin=$build/engine/fuzz/fuzz_$1 dir=$work/$1 dict=()
  rm -rf "$dir/artifacts" "$dir/rc"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp engine/fuzz/corpus/"$t"/* "$dir/corpus/"
  find engine/fuzz/regressions/"$t" -type f ! -name '.*' -exec cp {} "$dir/corpus/" \;
  [[ -f engine/fuzz/$t.dict ]] && dict=(-dict="engine/fuzz/$t.dict")
  local rc=0
  # -timeout finds hangs, not slow inputs: every query is bounded by
  # KR_QUERY_WORK steps, and a dense one (a*2.*233.*23.*3*3) takes seconds
  # under ASan on a loaded two-core machine. 60 s is far beyond any bounded input.
  "$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len="${max_len[$t]}" \
    "${dict[@]}" ${extra[$t]:-} -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

failed=0
# Prints harness $1's line of the table (and, on failure, where the reproducer is).
report() {
  local t=$1 bin=$build/engine/fuzz/fuzz_$1 dir=$work/$1 rc
  rc=$(cat "$dir/rc")
  execs=$(awk '/stat::number_of_executed_units/ {print $2; exit}' "$dir/log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2; exit}' "$dir/log")
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  size=$(find "$dir/corpus" -type f | wc -l)
  result=ok
  if [[ $rc -ne 0 ]]; then
    failed=1
    result="FAILED (exit $rc)"
    mkdir -p "$build/artifacts/$t"
    for a in "$dir"/artifacts/*; do
      [[ -e $a ]] || continue
      cp "$a" "$build/artifacts/$t/"
      result+="; reproducer: $build/artifacts/$t/$(basename "$a")"
    done
    cp "$dir/log" "$build/artifacts/$t/log.txt"
  fi
  printf '%-11s %10s %8s %6s %7s %7s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" \
    "${ft:-?}" "$size" "$result"
  if [[ $rc -ne 0 ]]; then
    grep -E 'ERROR|runtime error|fuzz:|SUMMARY|#[0-9]+ 0x' "$dir/log" | head -25 | sed 's/^/    /'
    echo "    full log: $build/artifacts/$t/log.txt" \
         "(replay: $bin REPRODUCER, or KRACH_FUZZ_VERBOSE=1 for protocol and session)"
  fi
}

for t in "${targets[@]}"; do
  [[ -x $build/engine/fuzz/fuzz_$t ]] || { echo "fuzz: unknown target '$t'" >&2; exit 2; }
done
if [[ $parallel -eq 1 ]]; then
  echo "fuzz: ${#targets[@]} harnesses for ${seconds} s each, at the same time (logs in $work)"
  for t in "${targets[@]}"; do run "$t" & done
  wait
fi
total_execs=0
printf '%-11s %10s %8s %6s %7s %7s  %s\n' harness executions exec/s cov features corpus result
for t in "${targets[@]}"; do
  [[ $parallel -eq 1 ]] || run "$t"
  report "$t"
  total_execs=$((total_execs + ${execs:-0}))
done
wall=$(( seconds * (parallel ? 1 : ${#targets[@]}) ))
printf '%-11s %10s %8s  (%s s of wall-clock time)\n' total "$total_execs" \
  "$(( total_execs / (wall > 0 ? wall : 1) ))" "$wall"
exit $failed
