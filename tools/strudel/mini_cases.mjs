// mini_cases.mjs — dev-only: records what Strudel makes of mini-notation
// strings, as fixtures for engine/tests/test_mini.c. Not used by the product.
//
//   node mini_cases.mjs mini_cases.json > ../../engine/tests/fixtures/mini/strudel.json
//   node mini_cases.mjs --skip-errors random.json > /tmp/fuzz/strudel.json
//
// --skip-errors drops (with a note on stderr) the cases Strudel cannot parse or
// query, for differential runs on generated strings; by default they abort.
//
// Input: a list of {"mini": "...", "from": 0, "to": 4} (from/to optional,
// default 0 and 4). Each case is queried one cycle at a time, [c, c+1) for c in
// [from, to) — or, when the case gives "arcs": [["0", "4"], ["13/3", "5"]],
// arc by arc (increasing, not overlapping) — and the events are concatenated: whole and part as exact "n/d"
// strings, Strudel's value, and "label" = the atom's text as written (found
// through the event's source locations), which krach keeps as its label.
// A case may give "strudel": the text Strudel is asked instead, where krach
// deliberately reads `mini` as that text (docs/mini-notation.md, "Deliberate
// differences"); the output keeps both.
import fs from 'node:fs';

console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
console.info = console.log;
console.warn = console.log;
const core = await import('@strudel/core');
const { mini } = await import('@strudel/mini');
const { Fraction } = core;

const fmt = (f) => {
  const fr = Fraction(f);
  const n = fr.s * fr.n;
  return fr.d === 1 ? `${n}` : `${n}/${fr.d}`;
};

function label(text, hap) {
  // mini() parses `"${text}"`: source offsets are one more than in `text`.
  for (const loc of hap.context?.locations ?? []) {
    const s = text.slice(loc.start - 1, loc.end - 1).trim();
    if (typeof hap.value === 'number' ? Number(s) === hap.value : s === hap.value) return s;
  }
  throw new Error(`no source text for value ${JSON.stringify(hap.value)}`);
}

const time = (t) => {
  const [n, d] = String(t).split('/');
  return Fraction(Number(n)).div(Number(d ?? 1));
};

function run(c) {
  const from = c.from ?? 0;
  const to = c.to ?? 4;
  const out = c.arcs ? { mini: c.mini, arcs: c.arcs } : { mini: c.mini, from, to };
  if (c.note) out.note = c.note;
  if (c.strudel) out.strudel = c.strudel;
  const text = c.strudel ?? c.mini;
  const pat = mini(text);
  const events = [];
  const arcs = c.arcs ?? Array.from({ length: to - from }, (_, i) => [from + i, from + i + 1]);
  for (const [b, e] of arcs) {
    const haps = pat.queryArc(time(b), time(e));
    const evs = haps.map((h, i) => ({
      i,
      ev: {
        whole: h.whole ? [fmt(h.whole.begin), fmt(h.whole.end)] : null,
        part: [fmt(h.part.begin), fmt(h.part.end)],
        label: label(text, h),
        value: h.value,
      },
      begin: h.part.begin,
    }));
    evs.sort((a, b) => a.begin.compare(b.begin) || a.i - b.i);
    for (const e of evs) events.push(e.ev);
  }
  out.events = events;
  return out;
}

const args = process.argv.slice(2);
const skip = args[0] === '--skip-errors';
const cases = JSON.parse(fs.readFileSync(args[skip ? 1 : 0], 'utf8'));
const results = [];
for (const c of cases) {
  try {
    results.push(run(c));
  } catch (e) {
    const msg = `${JSON.stringify(c.mini)}: ${e.message}`;
    if (!skip) throw new Error(msg);
    process.stderr.write(`skipped ${msg}\n`);
  }
}
const body = results
  .map((c) => {
    const { events, ...rest } = c;
    const head = JSON.stringify(rest).slice(0, -1);
    const evs = events.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
    return `  ${head}, "events": [${events.length ? `\n${evs}\n  ` : ''}]}`;
  })
  .join(',\n');
process.stdout.write(
  `{"source": "@strudel/mini 1.1.0 via tools/strudel/mini_cases.mjs (regenerate, don't edit)",\n` +
    ` "query": "each cycle [c, c+1) for c in [from, to), events concatenated",\n` +
    ` "cases": [\n${body}\n]}\n`,
);
