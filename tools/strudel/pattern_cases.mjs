// pattern_cases.mjs — dev-only: the cases for engine/tests/test_pattern.c.
// Each case is built twice from one description: as krach pattern IR
// ("ir", docs/pattern-ir.md) and as the equivalent Strudel expression
// ("expr", "js": true). query.mjs then adds Strudel's answer ("events").
//
//   node pattern_cases.mjs > /tmp/pattern_cases.json
//   node query.mjs /tmp/pattern_cases.json > ../../engine/tests/fixtures/patterns/strudel_core.json
//
// Optional per-case keys read by the C test: "compare": "onsets" (compare only
// events whose part begins with their whole: the onsets), "tol" (for numbers).

// ---- builders: each returns {ir, js} -------------------------------------------
let lambdaDepth = 0;
const frac = (t) => {
  if (typeof t === 'string') {
    const [n, d] = t.split('/');
    return d ? `Fraction(${n}).div(${d})` : `Fraction(${n})`;
  }
  return `Fraction(${t})`;
};
const A = (label) => ({ ir: { op: 'atom', value: { gate: 1 }, label }, js: `pure(${JSON.stringify(label)})` });
const N = (x) => ({ ir: { op: 'atom', value: { n: x } }, js: `pure(${x})` });
const B = (on) => ({ ir: { op: 'atom', value: { gate: on ? 1 : 0 } }, js: `pure(${on ? 1 : 0})` });
const silence = { ir: { op: 'silence' }, js: 'silence' };
const seq = (...xs) => ({ ir: { op: 'seq', args: xs.map((x) => x.ir) }, js: `fastcat(${xs.map((x) => x.js).join(', ')})` });
const wseq = (...pairs) => ({
  ir: { op: 'seq', args: pairs.map(([w, x]) => ({ ...x.ir, weight: w })) },
  js: `timecat(${pairs.map(([w, x]) => `[${frac(w)}, ${x.js}]`).join(', ')})`,
});
const cat = (...xs) => ({ ir: { op: 'cat', args: xs.map((x) => x.ir) }, js: `slowcat(${xs.map((x) => x.js).join(', ')})` });
const stack = (...xs) => ({ ir: { op: 'stack', args: xs.map((x) => x.ir) }, js: `stack(${xs.map((x) => x.js).join(', ')})` });
const fast = (f, x) => ({ ir: { op: 'fast', factor: f, arg: x.ir }, js: `${x.js}._fast(${frac(f)})` });
const slow = (f, x) => ({ ir: { op: 'slow', factor: f, arg: x.ir }, js: `${x.js}._slow(${frac(f)})` });
const shift = (t, x) => ({ ir: { op: 'shift', by: t, arg: x.ir }, js: `${x.js}._late(${frac(t)})` });
const rev = (x) => ({ ir: { op: 'rev', arg: x.ir }, js: `${x.js}.rev()` });
function withSelf(fn) {
  const v = `s${lambdaDepth++}`;
  const then = fn({ ir: { op: 'self' }, js: v });
  lambdaDepth--;
  return { then, v };
}
// every(n, f): Strudel firstOf; offset n-1 is Strudel lastOf.
const every = (n, fn, x, offset = 0) => {
  const { then, v } = withSelf(fn);
  const name = offset === 0 ? 'firstOf' : 'lastOf';
  if (offset !== 0 && offset !== n - 1) throw new Error('Strudel has firstOf/lastOf only');
  return { ir: { op: 'every', n, offset, then: then.ir, arg: x.ir }, js: `${x.js}._${name}(${n}, ${v} => ${then.js})` };
};
// every with a true modulo (and any offset), built from Strudel primitives the
// way its firstOf is (slowcatPrime: no time shift), for negative cycles too.
const everyTrue = (n, fn, x, offset = 0) => {
  const { then, v } = withSelf(fn);
  const js = `((p, q) => new Pattern((st) => (((st.span.begin.sam().valueOf() - ${offset}) % ${n} + ${n}) % ${n} === 0 ? q : p).query(st)).splitQueries())(${x.js}, ((${v}) => ${then.js})(${x.js}))`;
  return { ir: { op: 'every', n, offset, then: then.ir, arg: x.ir }, js };
};
const euclid = (k, n, r, x) => ({ ir: { op: 'euclid', k, n, rotation: r, arg: x.ir }, js: `${x.js}._euclidRot(${k}, ${n}, ${r})` });
const randAt = (seed) => (seed ? `rand.early(Fraction(${3 * seed}).div(10000))` : 'rand');
const degrade = (p, seed, x) => ({
  ir: { op: 'degrade', prob: p, seed, arg: x.ir },
  js: `${x.js}._degradeByWith(${randAt(seed)}, ${p})`,
});
const sometimes = (p, fn, x) => {
  const { then, v } = withSelf(fn);
  return { ir: { op: 'sometimes', prob: p, seed: 0, then: then.ir, arg: x.ir }, js: `${x.js}._sometimesBy(${p}, ${v} => ${then.js})` };
};
const mask = (m, x) => ({ ir: { op: 'mask', mask: m.ir, arg: x.ir }, js: `${x.js}.mask(${m.js})` });
const struct = (r, x) => ({ ir: { op: 'struct', rhythm: r.ir, arg: x.ir }, js: `${x.js}.struct(${r.js})` });
const SIG = { sine: 'sine', tri: 'tri', ramp: 'saw', ramp_down: 'isaw', square: 'square', rand: 'rand' };
const signal = (shape, lo = 0, hi = 1, seed = 0) => {
  let js = shape === 'rand' ? randAt(seed) : SIG[shape];
  if (lo !== 0 || hi !== 1) js = `${js}.range(${lo}, ${hi})`;
  return { ir: { op: 'signal', shape, lo, hi, seed }, js };
};
// Strudel segment(n) = struct(pure(true).fast(n))
const segment = (n, x) => ({
  ir: { op: 'struct', rhythm: { op: 'fast', factor: n, arg: { op: 'atom', value: { gate: 1 } } }, arg: x.ir },
  js: `${x.js}.segment(${n})`,
});
const randcat = (seed, ...xs) => ({
  ir: { op: 'randcat', seed, args: xs.map((x) => x.ir) },
  js: `chooseInWith(${randAt(seed)}.segment(1), [${xs.map((x) => x.js).join(', ')}])`,
});
// swing(amount a, grid g) against Strudel swingBy(2a - 1, g/2): same onsets.
const swing = (a, g, x) => ({
  ir: { op: 'swing', amount: a, grid: g, arg: x.ir },
  js: `${x.js}.swingBy(${2 * a - 1}, ${g / 2})`,
});

export { A, N, B, silence, seq, wseq, cat, stack, fast, slow, shift, rev, every, everyTrue, euclid, degrade, sometimes, mask, struct, signal, segment, randcat };

const abc = (...ls) => ls.map(A);
const cases = [];
const add = (name, p, from, to, extra = {}) =>
  cases.push({ name, expr: p.js, js: true, from, to, ir: p.ir, ...extra });

// ---- atoms, sequences, cat, stack ------------------------------------------------
add('atom', A('a'), 0, 3);
add('atom fractional query', A('a'), '1/3', '7/4');
add('atom negative', A('a'), -2, '-1/2');
add('silence', silence, 0, 2);
add('seq 3', seq(...abc('a', 'b', 'c')), 0, 2);
add('seq fractional query', seq(...abc('a', 'b', 'c')), '1/5', '9/7');
add('seq nested', seq(A('a'), seq(A('b'), A('c')), A('d')), 0, 1);
add('seq of one', seq(A('a')), 0, 2);
add('seq with silence', seq(A('a'), silence, A('b')), 0, 1);
add('seq with slow child', seq(A('a'), slow(2, seq(A('b'), A('c')))), 0, 4);
add('seq with cat child', seq(A('a'), cat(A('b'), A('c'))), 0, 3);
add('timecat weights', wseq([3, A('a')], [1, A('b')]), 0, 2);
add('timecat fractional weights', wseq(['1/2', A('a')], [1, A('b')], ['3/2', A('c')]), 0, 2);
add('timecat with slow child', wseq([1, A('a')], [2, slow(3, seq(A('b'), A('c')))]), 0, 4);
add('timecat query inside', wseq([2, A('a')], [1, seq(A('b'), A('c'))]), '1/3', '5/2');
add('cat', cat(...abc('a', 'b', 'c')), 0, 6);
add('cat negative cycles', cat(...abc('a', 'b', 'c')), -4, 0);
add('cat nested seq', cat(seq(A('a'), A('b')), A('c')), 0, 4);
add('cat consecutive cycles', cat(cat(A('a'), A('b')), A('c')), 0, 8);
add('cat of slow', cat(slow(2, seq(A('a'), A('b'), A('c'))), A('d')), 0, 8);
add('cat fractional query', cat(...abc('a', 'b')), '1/2', '7/3');
add('stack', stack(seq(A('a'), A('b')), seq(A('c'), A('d'), A('e'))), 0, 1);
add('stack in seq', seq(stack(A('a'), A('b')), A('c')), 0, 2);

// ---- time ----------------------------------------------------------------------
add('fast 2', fast(2, seq(A('a'), A('b'))), 0, 2);
add('fast 3/2', fast('3/2', seq(...abc('a', 'b', 'c'))), 0, 3);
add('fast 3/2 cat', fast('3/2', cat(A('a'), A('b'))), 0, 3);
add('fast 0.25', fast(0.25, seq(A('a'), A('b'))), 0, 4);
add('slow 2', slow(2, seq(...abc('a', 'b', 'c'))), 0, 4);
add('slow 3/2', slow('3/2', seq(A('a'), A('b'))), 0, 3);
add('slow fragments', slow(4, A('a')), '1/2', '9/2');
add('shift 1/4', shift('1/4', seq(A('a'), A('b'))), 0, 2);
add('shift negative', shift('-1/3', seq(A('a'), A('b'))), 0, 2);
add('shift cat', shift(1, cat(A('a'), A('b'))), 0, 3);
add('rev', rev(seq(...abc('a', 'b', 'c'))), 0, 2);
add('rev nested', rev(seq(A('a'), seq(A('b'), A('c')))), 0, 1);
add('rev cat', rev(cat(seq(A('a'), A('b')), seq(A('c'), A('d'), A('e')))), 0, 2);
add('rev slow fragments', rev(slow(2, seq(A('a'), A('b'), A('c')))), 0, 2);
add('rev fractional query', rev(seq(...abc('a', 'b', 'c', 'd'))), '1/3', '3/2');
add('fast rev', fast(2, rev(seq(A('a'), A('b'), A('c')))), 0, 1);

// ---- every ----------------------------------------------------------------------
add('every 3 rev', every(3, (s) => rev(s), seq(...abc('a', 'b', 'c'))), 0, 6);
add('every 2 fast', every(2, (s) => fast(2, s), seq(A('a'), A('b'))), 0, 4);
add('every lastOf', every(3, (s) => rev(s), seq(A('a'), A('b')), 2), 0, 6);
add('every of cat', every(2, (s) => fast(2, s), cat(A('a'), A('b'), A('c'))), 0, 6);
add('every nested', every(2, (s) => every(3, (t) => rev(t), fast(2, s)), seq(A('a'), A('b'))), 0, 6);
add('every self twice', every(2, (s) => seq(s, s), cat(A('a'), A('b'))), 0, 4);
add('every offset 1 (true modulo)', everyTrue(3, (s) => rev(s), seq(A('a'), A('b')), 1), -4, 5);
add('every negative cycles (true modulo)', everyTrue(2, (s) => fast(2, s), cat(A('a'), A('b'), A('c'))), -5, 0);

// ---- euclid ------------------------------------------------------------------------
add('euclid 3 8', euclid(3, 8, 0, A('a')), 0, 2);
add('euclid 5 8', euclid(5, 8, 0, A('a')), 0, 1);
add('euclid 3 8 rot 2', euclid(3, 8, 2, A('a')), 0, 1);
add('euclid 3 8 rot -1', euclid(3, 8, -1, A('a')), 0, 1);
add('euclid 7 12', euclid(7, 12, 0, A('a')), 0, 1);
add('euclid 5 16 rot 3', euclid(5, 16, 3, A('a')), 0, 1);
add('euclid 9 16', euclid(9, 16, 0, A('a')), 0, 1);
add('euclid 11 24 rot 5', euclid(11, 24, 5, A('a')), 0, 1);
add('euclid 0 8', euclid(0, 8, 0, A('a')), 0, 1);
add('euclid 8 8', euclid(8, 8, 0, A('a')), 0, 1);
add('euclid 1 4', euclid(1, 4, 0, A('a')), 0, 1);
add('euclid inverted -3 8', euclid(-3, 8, 0, A('a')), 0, 1);
add('euclid of seq', euclid(3, 8, 0, seq(A('a'), A('b'))), 0, 1);
add('euclid of cat', euclid(3, 4, 1, cat(A('a'), A('b'))), 0, 2);
add('euclid of slow', euclid(2, 5, 0, slow(2, A('a'))), 0, 2);
add('euclid fractional query', euclid(5, 8, 0, A('a')), '1/3', '5/3');

// ---- randomness ------------------------------------------------------------------------
const hats = fast(16, A('h'));
add('degradeBy 0.5', degrade(0.5, 0, fast(8, A('a'))), 0, 4);
add('degradeBy 0.2', degrade(0.2, 0, hats), 0, 2);
add('degradeBy 0.9', degrade(0.9, 0, hats), 0, 4);
add('degradeBy 0', degrade(0, 0, fast(4, A('a'))), 0, 1);
add('degradeBy 1', degrade(1, 0, fast(4, A('a'))), 0, 1);
add('degradeBy seed 1', degrade(0.5, 1, fast(8, A('a'))), 0, 4);
add('degradeBy seed 7', degrade(0.5, 7, fast(8, A('a'))), 0, 4);
add('degradeBy late cycles', degrade(0.5, 0, fast(8, A('a'))), 1000, 1002);
add('degradeBy negative', degrade(0.5, 0, fast(4, A('a'))), -2, 0);
add('degradeBy of slow', degrade(0.5, 0, slow(2, seq(A('a'), A('b'), A('c')))), 0, 8);
add('sometimesBy 0.5 fast', sometimes(0.5, (s) => fast(2, s), seq(...abc('a', 'b', 'c', 'd'))), 0, 4);
add('sometimesBy 0.3 rev', sometimes(0.3, (s) => rev(s), fast(8, A('a'))), 0, 2);
add('sometimesBy crossing', sometimes(0.5, (s) => shift('1/8', s), slow(2, seq(A('a'), A('b'), A('c')))), 0, 4);
add('randcat', randcat(0, ...abc('a', 'b', 'c')), 0, 12);
add('randcat seed 2', randcat(2, ...abc('a', 'b', 'c')), 0, 12);
add('randcat of seqs', randcat(0, seq(A('a'), A('b')), seq(A('c'), A('d'), A('e'))), 0, 6);
add('randcat fast', fast(4, randcat(0, ...abc('a', 'b', 'c'))), 0, 2);

// ---- mask, struct ------------------------------------------------------------------------
add('mask', mask(seq(B(1), B(0), B(1), B(1)), fast(8, A('a'))), 0, 1);
add('mask cuts parts', mask(seq(B(1), B(0)), A('a')), 0, 2);
add('mask cat', mask(cat(seq(B(1), B(0)), B(1)), seq(A('a'), A('b'), A('c'))), 0, 2);
add('mask with silence', mask(seq(B(1), silence, B(1)), fast(6, A('a'))), 0, 1);
add('struct', struct(seq(B(1), B(0), B(1), B(1)), seq(A('a'), A('b'))), 0, 1);
add('struct fragments', struct(seq(B(1), B(1), B(1)), seq(A('a'), A('b'))), 0, 1);
add('struct slow rhythm', struct(slow(2, seq(B(1), B(1), B(1))), cat(A('a'), A('b'))), 0, 4);
add('struct fractional query', struct(seq(B(1), B(1), B(0), B(1)), A('a')), '1/8', '13/8');

// ---- signals ----------------------------------------------------------------------------
for (const shape of ['sine', 'tri', 'ramp', 'ramp_down', 'square', 'rand']) {
  add(`${shape} raw`, signal(shape), 0, 1, { tol: 1e-12 });
  add(`${shape} raw part`, signal(shape), '1/8', '1/3', { tol: 1e-12 });
  add(`${shape} segment 8`, segment(8, signal(shape)), 0, 2, { tol: 1e-12 });
  add(`${shape} segment 3 ranged`, segment(3, signal(shape, 200, 2000)), 0, 2, { tol: 1e-9 });
}
add('sine slow segment', segment(4, slow(4, signal('sine'))), 0, 4, { tol: 1e-12 });
add('rand segment late', segment(4, signal('rand')), 500, 501, { tol: 1e-12 });
add('rand seeded segment', segment(4, signal('rand', 0, 1, 3)), 0, 1, { tol: 1e-12 });
add('struct sine', struct(seq(B(1), B(1), B(0), B(1)), signal('sine', 0, 10)), 0, 1, { tol: 1e-9 });

// ---- swing (onsets only: Strudel shifts, krach warps) ------------------------------------------
add('swing 8ths', swing(0.75, 8, fast(8, A('a'))), 0, 1, { compare: 'onsets' });
add('swing 16ths grid 16', swing(0.625, 16, fast(16, A('a'))), 0, 1, { compare: 'onsets' });
add('swing seq', swing(0.75, 4, seq(A('a'), A('b'), A('c'), A('d'))), 0, 2, { compare: 'onsets' });

// ---- polymeter and randcat through mini-notation (Strudel builds them in @strudel/mini) ----
const addMini = (name, text, p, from, to) => cases.push({ name, expr: text, from, to, ir: p.ir });
const poly = (steps, ...xs) => ({ ir: { op: 'polymeter', ...(steps ? { steps } : {}), args: xs.map((x) => x.ir) } });
addMini('polymeter base first', '{a b c, d e}', poly(0, seq(...abc('a', 'b', 'c')), seq(A('d'), A('e'))), 0, 3);
addMini('polymeter %4', '{a b c, d e}%4', poly(4, seq(...abc('a', 'b', 'c')), seq(A('d'), A('e'))), 0, 2);
addMini('polymeter %2 nested', '{a [b c] d, e f g h i}%2', poly(2, seq(A('a'), seq(A('b'), A('c')), A('d')), seq(...abc('e', 'f', 'g', 'h', 'i'))), 0, 3);
addMini('polymeter weighted', '{a@2 b, c d}', poly(0, wseq([2, A('a')], [1, A('b')]), seq(A('c'), A('d'))), 0, 2);
addMini('polymeter single', '{a, b c d}', poly(0, seq(A('a')), seq(...abc('b', 'c', 'd'))), 0, 2);
addMini('polymeter %3/2', '{a b c}%1.5', poly('3/2', seq(...abc('a', 'b', 'c'))), 0, 2);
const rc = (seed, ...xs) => ({ ir: { op: 'randcat', seed, args: xs.map((x) => x.ir) } });
addMini('mini randcat', '[a | b | c]', rc(0, ...abc('a', 'b', 'c')), 0, 10);
addMini('mini randcat second seed', '[a? | b] [c | d | e]', { ir: seq(rc(1, degrade(0.5, 0, A('a')), A('b')), rc(2, ...abc('c', 'd', 'e'))).ir }, 0, 10);
addMini('mini degrade seeds', '[a*8?] [b*8?0.3]', { ir: seq(degrade(0.5, 0, fast(8, A('a'))), degrade(0.3, 1, fast(8, A('b')))).ir }, 0, 3);

// ---- combinations ------------------------------------------------------------------------------
add('combo fast cat rev', rev(fast('3/2', cat(seq(A('a'), A('b')), A('c')))), 0, 3);
add('combo stack every euclid', stack(every(2, (s) => rev(s), seq(A('a'), A('b'), A('c'))), euclid(3, 8, 0, A('x'))), 0, 2);
add('combo shift slow seq', shift('1/3', slow('5/3', seq(A('a'), cat(A('b'), A('c')), A('d')))), 0, 4);
add('combo mask degrade', mask(seq(B(1), B(0)), degrade(0.3, 0, fast(8, A('a')))), 0, 2);
add('combo struct every', struct(seq(B(1), B(1), B(1)), every(2, (s) => fast(2, s), seq(A('a'), A('b')))), 0, 2);
add('combo timecat in cat', cat(wseq([1, A('a')], [3, A('b')]), seq(A('c'), A('d'))), 0, 4);

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(JSON.stringify(cases, null, 1) + '\n');
