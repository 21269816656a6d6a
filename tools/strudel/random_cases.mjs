// random_cases.mjs — dev-only: random pattern trees, as krach IR and as Strudel
// expressions (builders from pattern_cases.mjs), for
// engine/tests/fixtures/patterns/strudel_random.json:
//
//   node random_cases.mjs 300 > /tmp/random_cases.json      (count; seeded, reproducible)
//   node query.mjs /tmp/random_cases.json > ../../engine/tests/fixtures/patterns/strudel_random.json
import * as P from './pattern_cases.mjs';

let state = Number(process.env.SEED ?? 12345);
const rnd = () => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const time = () => pick([1, 2, 3, '1/2', '3/2', '2/3', '5/4', '1/3']);
const labels = 'abcdefgh'.split('');

function tree(depth) {
  if (depth <= 0 || rnd() < 0.2) return rnd() < 0.08 ? P.silence : P.A(pick(labels));
  const d = depth - 1;
  const kids = (n) => Array.from({ length: n }, () => tree(d));
  const bools = () => P.seq(...Array.from({ length: int(2, 5) }, () => P.B(rnd() < 0.6)));
  switch (int(0, 15)) {
    case 0: return P.seq(...kids(int(1, 4)));
    case 1: return P.wseq(...kids(int(2, 3)).map((k) => [pick([1, 2, 3, '1/2']), k]));
    case 2: return P.cat(...kids(int(1, 3)));
    case 3: return P.stack(...kids(int(2, 3)));
    case 4: return P.fast(time(), tree(d));
    case 5: return P.slow(time(), tree(d));
    case 6: return P.shift(pick(['1/4', '-1/3', '1/2', '2/3', 1]), tree(d));
    case 7: return P.rev(tree(d));
    case 8: return P.everyTrue(int(2, 3), pick([(s) => P.rev(s), (s) => P.fast(2, s), (s) => P.seq(s, P.A('z'))]), tree(d), int(0, 2));
    case 9: { const n = int(3, 9); return P.euclid(int(1, n), n, int(-2, 3), tree(d)); }
    case 10: return P.degrade(pick([0.25, 0.5, 0.7]), int(0, 3), tree(d));
    case 11: return P.sometimes(pick([0.3, 0.5]), pick([(s) => P.rev(s), (s) => P.fast(2, s)]), tree(d));
    case 12: return P.mask(bools(), tree(d));
    case 13: return P.struct(bools(), tree(d));
    case 14: return P.randcat(int(0, 2), ...kids(int(2, 3)));
    default: return P.seq(...kids(2));
  }
}

const n = Number(process.argv[2] ?? 200);
const cases = [];
for (let i = 0; i < n; i++) {
  const p = tree(int(2, 4));
  const from = pick([0, 0, 1, '1/3', '-1/2', 3]);
  const span = pick([1, 2, 3, '7/4']);
  const to = typeof from === 'number' && typeof span === 'number' ? from + span : null;
  cases.push({ name: `random ${i}`, expr: p.js, js: true, from, to: to ?? (from === 0 ? span : 4), ir: p.ir });
}
process.stdout.write(JSON.stringify(cases, null, 1) + '\n');
