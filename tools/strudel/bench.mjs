// bench.mjs — dev-only: Strudel's side of the pattern benchmarks (bench/bench_patterns.c).
//
//   node bench.mjs ../../bench/build/patterns.json [--cycles 1000] [--tick-cycles 100]
//                  [--ticks 64] [--reps 5] > strudel.json
//
// patterns.json is written by bench/make_patterns.py: each case has the
// pattern as a Strudel expression ("strudel"), evaluated with every
// @strudel/core export in scope plus mini() (as query.mjs does). Each pattern
// is queried with `pattern.queryArc(a, b)` exactly as bench_patterns queries
// krach's:
//   windows  `cycles` cycles in 1-cycle windows [i, i+1)
//   ticks    `tick-cycles` cycles in windows of 1/ticks cycle (exact Fractions,
//            made before timing)
//   big      one query [0, cycles)
// Warm-up: every pattern is first queried in every mode, untimed (twice), so
// V8 has compiled the hot paths and its type feedback has seen all the
// patterns — as in a session where many patterns have played; without it the
// first cases run on code specialised for them alone and the figures depend on
// the order of the cases. Then each mode runs `reps` times; the least CPU time
// (process.cpuUsage: user + system, all threads, GC included) is kept, with
// the wall time (performance.now) of that run.
// Output: JSON {params, node, strudel, cases: [{name, modes: {windows: {events,
// queries, cpu_ns, wall_ns}, ticks: …, big: …}}]} for bench_patterns --strudel.
import fs from 'node:fs';

// Strudel logs to the console on load; keep stdout for JSON only. queryArc
// catches a query's error, logs it ("[query]: …") and returns []: keep those.
let errors = [];
console.log = (...a) => {
  const text = a.join(' ');
  if (text.includes('[query]')) errors.push(text);
  process.stderr.write(text + '\n');
};
console.info = console.log;
const core = await import('@strudel/core');
const miniMod = await import('@strudel/mini');
const { Fraction } = core;

const args = process.argv.slice(2);
const params = { cycles: 1000, tick_cycles: 100, ticks: 64, reps: 5 };
let file = null;
for (let i = 0; i < args.length; i++) {
  const key = { '--cycles': 'cycles', '--tick-cycles': 'tick_cycles', '--ticks': 'ticks', '--reps': 'reps' }[args[i]];
  if (key) params[key] = Number(args[++i]);
  else if (!file) file = args[i];
  else throw new Error(`bench.mjs: unknown argument ${args[i]}`);
}
if (!file) throw new Error('usage: node bench.mjs patterns.json [--cycles N] [--tick-cycles N] [--ticks K] [--reps R]');

const scope = { ...core, mini: miniMod.mini, m: miniMod.m ?? miniMod.mini };
const names = Object.keys(scope).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
function evalExpr(expr) {
  const fn = new Function(...names, `"use strict"; return (${expr});`);
  return fn(...names.map((k) => scope[k]));
}

// The windows of each mode, made before timing.
function windows(mode) {
  if (mode === 'windows') return Array.from({ length: params.cycles }, (_, i) => [i, i + 1]);
  if (mode === 'big') return [[0, params.cycles]];
  const n = params.tick_cycles * params.ticks;
  const t = Array.from({ length: n + 1 }, (_, i) => Fraction(i).div(params.ticks));
  return Array.from({ length: n }, (_, i) => [t[i], t[i + 1]]);
}

function once(pat, spans) {
  let events = 0;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (const [a, b] of spans) events += pat.queryArc(a, b).length;
  const w1 = performance.now();
  const c = process.cpuUsage(c0);
  return { events, cpu_ns: (c.user + c.system) * 1e3, wall_ns: (w1 - w0) * 1e6 };
}

const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const MODES = ['windows', 'ticks', 'big'];
const spansOf = Object.fromEntries(MODES.map((m) => [m, windows(m)]));
const pats = doc.query.map((c) => evalExpr(c.strudel));
for (let pass = 0; pass < 2; pass++)
  for (const pat of pats) for (const mode of MODES) once(pat, spansOf[mode]);
const cases = [];
for (const [k, c] of doc.query.entries()) {
  const pat = pats[k];
  const modes = {};
  for (const mode of MODES) {
    const spans = spansOf[mode];
    errors = [];
    let best = null;
    for (let r = 0; r < params.reps; r++) {
      const x = once(pat, spans);
      if (!best || x.cpu_ns < best.cpu_ns) best = x;
    }
    modes[mode] = { ...best, queries: spans.length };
    if (errors.length) modes[mode].error = errors[0].replace(/%c|background-color.*$/g, '').trim();
  }
  cases.push({ name: c.name, modes });
  process.stderr.write(`strudel: ${c.name}: ${modes.windows.events} events\n`);
}
const version = JSON.parse(fs.readFileSync(new URL('./node_modules/@strudel/core/package.json', import.meta.url))).version;
process.stdout.write(JSON.stringify({ params, node: process.version, strudel: version, cases }, null, 1) + '\n');
