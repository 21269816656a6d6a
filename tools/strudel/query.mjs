// query.mjs — dev-only Strudel oracle (see README.md). Not used by the product.
//
//   node query.mjs cases.json > out.json
//   node query.mjs -e 'cat("a","b")' 0 4          (one expression, from, to)
//
// cases.json: a list of {"expr": ..., "from": 0, "to": 4, ...any other keys}.
// "expr" is either mini-notation (default) or, with "js": true, a JavaScript
// expression evaluated with every @strudel/core export in scope plus
// mini()/m() from @strudel/mini. "from"/"to" may be ints or "n/d" strings.
// Output: the same list, each case with "events": [{whole, part, value}] (times
// as reduced "n/d" strings, "n" when integral; whole null for continuous
// events), sorted by part begin (stable), or "error": message.
import fs from 'node:fs';

// Strudel logs to the console on load; keep stdout for JSON only.
console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
console.info = console.log;
const core = await import('@strudel/core');
const miniMod = await import('@strudel/mini');

const { Fraction } = core;

function fmt(f) {
  const fr = Fraction(f);
  const n = fr.s * fr.n;
  return fr.d === 1 ? `${n}` : `${n}/${fr.d}`;
}
function time(t) {
  if (typeof t === 'string' && t.includes('/')) {
    const [n, d] = t.split('/');
    return Fraction(Number(n)).div(Number(d));
  }
  return Fraction(t);
}
function plain(v) {
  if (v === null || v === undefined) return v;
  if (typeof v === 'object' && !Array.isArray(v)) {
    if (typeof v.n === 'number' && typeof v.d === 'number' && 's' in v) return fmt(v);
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

const scope = { ...core, mini: miniMod.mini, m: miniMod.m ?? miniMod.mini };
const names = Object.keys(scope).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
function evalExpr(expr) {
  const fn = new Function(...names, `"use strict"; return (${expr});`);
  return fn(...names.map((k) => scope[k]));
}

function run(c) {
  const out = { ...c };
  try {
    const pat = c.js ? evalExpr(c.expr) : miniMod.mini(c.expr);
    const haps = pat.queryArc(time(c.from ?? 0), time(c.to ?? 1));
    const events = haps.map((h) => ({
      whole: h.whole ? [fmt(h.whole.begin), fmt(h.whole.end)] : null,
      part: [fmt(h.part.begin), fmt(h.part.end)],
      value: plain(h.value),
    }));
    // stable sort by part begin
    const idx = events.map((e, i) => [e, i]);
    idx.sort((a, b) => {
      const d = time(a[0].part[0]).compare(time(b[0].part[0]));
      return d !== 0 ? d : a[1] - b[1];
    });
    out.events = idx.map((x) => x[0]);
  } catch (e) {
    out.error = String(e && e.message ? e.message : e);
  }
  return out;
}

// One case per block, one event per line: diff-friendly fixtures.
function dump(res) {
  const cases = res.map((c) => {
    const { events, ...rest } = c;
    const head = JSON.stringify(rest).slice(0, -1);
    if (!events) return ` ${head}}`;
    const evs = events.map((e) => `   ${JSON.stringify(e)}`).join(',\n');
    return ` ${head}${Object.keys(rest).length ? ',' : ''} "events": [\n${evs}\n ]}`;
  });
  return `[\n${cases.join(',\n')}\n]\n`;
}

const args = process.argv.slice(2);
if (args[0] === '-e') {
  const c = { expr: args[1], js: !args.includes('--mini'), from: args[2] ?? 0, to: args[3] ?? 1 };
  process.stdout.write(dump([run(c)]));
} else if (args[0] === '-m') {
  const c = { expr: args[1], from: args[2] ?? 0, to: args[3] ?? 1 };
  process.stdout.write(dump([run(c)]));
} else if (args.length === 1) {
  const cases = JSON.parse(fs.readFileSync(args[0], 'utf8'));
  process.stdout.write(dump(cases.map(run)));
} else {
  process.stderr.write('usage: node query.mjs cases.json | -e "js expr" [from to] | -m "mini" [from to]\n');
  process.exit(2);
}
