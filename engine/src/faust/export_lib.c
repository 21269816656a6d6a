/* export_lib.c — krach's primitives written in FAUST, for exported programs.
 *
 * Each entry is one FAUST definition (or a few) that implements an op of
 * docs/signal-ir.md the way the native kernel does: same phase conventions,
 * same band-limiting residuals, same envelope state machine, same Freeverb
 * tunings. Where stdfaust.lib has the very same thing (Butterworth sections,
 * one-pole and one-zero sections, dB and MIDI conversions) the ops call it
 * instead (export_ops.c). The exported program needs FAUST's -double: the
 * oscillators' phases and the filters' states are double in the native
 * kernels, and a float phase drifts audibly in a second (docs/faust.md). */
#include "export_internal.h"

typedef struct lib_entry {
    const char *text;
    kr_fx_needs deps;
} lib_entry;

#define B(x) ((kr_fx_needs)1 << (x))

static const lib_entry lib[KR_FX_LIB_COUNT] = {
    [KR_FX_FIRST] = {
        "// 1 on the first sample, then 0.\n"
        "kr_first = 1 - 1';\n", 0},
    [KR_FX_CTL] = {
        "// The engine's control smoothing: y = c*y' + (1-c)*x, c = exp(-1/(0.015*SR)),\n"
        "// y starting at the control's first value.\n"
        "kr_ctl(x) = (\\(y).(select2(kr_first, c*y + (1.0 - c)*x, x))) ~ _\n"
        "with { c = exp(-1.0/(0.015*ma.SR)); };\n", B(KR_FX_FIRST)},
    [KR_FX_RISE] = {
        "// 1 where x is high (> 0) after a sample that was not; everything starts low.\n"
        "kr_rise(x) = (x > 0.0) & ((x' > 0.0) == 0);\n", 0},
    [KR_FX_FLUSH] = {
        "// Tiny values become 0 in feedback paths (as the native kernels do).\n"
        "kr_flush(v) = select2(abs(v) < 1e-15, v, 0.0);\n", 0},
    [KR_FX_CLAMP01] = {
        "kr_clamp01(v) = select2(v >= 0.0, 0.0, min(v, 1.0));\n", 0},
    [KR_FX_PYMOD] = {
        "// Python's %: the sign of b.\n"
        "kr_pymod(a, b) = select2(m == 0.0, select2((m < 0.0) != (b < 0.0), m, m + b), 0.0)\n"
        "with { m = fmod(a, b); };\n", 0},
    [KR_FX_ROUND] = {
        "// C's round: halves away from zero.\n"
        "kr_round(x) = select2(x < 0.0, floor(x + 0.5), 0.0 - floor(0.5 - x));\n", 0},
    [KR_FX_CLIP] = {
        "kr_clip(x, lo, hi) = select2(x < lo, select2(x > hi, x, hi), lo);\n", 0},
    [KR_FX_WRAP] = {
        "// x wrapped into [lo, hi) (bounds in either order); an empty range, NaN or inf gives lo.\n"
        "kr_wrap(x, a, b) = select2(r > 0.0, l, select2(y < h, l, y))\n"
        "with {\n"
        "  l = min(a, b); h = max(a, b); r = h - l; d = x - l; m0 = d - r*floor(d/r);\n"
        "  m1 = select2(m0 >= r, m0, m0 - r); y = l + select2(m1 < 0.0, m1, m1 + r);\n"
        "};\n",
        0},
    [KR_FX_LIN2DB] = {
        "kr_lin2db(x) = max(-1000.0, 20.0*log10(x));\n", 0},
    [KR_FX_PHASE] = {
        "// Oscillator phase as osc.c keeps it: cycles per sample folded into [-0.5, 0.5)\n"
        "// (non-finite or absurd frequencies hold the phase), phase in [0, 1) read before\n"
        "// this sample's advance (0 at the start).\n"
        "kr_inc(f) = select2((r >= 0.5) | (r < -0.5), r, r - floor(r + 0.5))\n"
        "with { r0 = f/ma.SR; r = select2((r0 > -1e9) & (r0 < 1e9), 0.0, r0); };\n"
        "kr_frac(x) = x - floor(x);\n"
        "kr_phase(f) = (+(kr_inc(f)) : kr_frac) ~ _ : mem;\n"
        "kr_sphase(p) = p - floor(p + 0.5);\n"
        "kr_tri0(p) = 4.0*select2(s > 0.25, select2(s < -0.25, s, -0.5 - s), 0.5 - s)\n"
        "with { s = kr_sphase(p); };\n", 0},
    [KR_FX_BLEP] = {
        "// 1/|increment| in samples (1e30 when stopped), and the 2-sample PolyBLEP and\n"
        "// PolyBLAMP residuals of osc.c at tau samples from the discontinuity.\n"
        "kr_invdt(f) = select2(d > 1e-30, 1e30, 1.0/d) with { d = abs(kr_inc(f)); };\n"
        "kr_blep(t) = 0.5*a*a*select2(t >= 0.0, 1.0, -1.0) with { a = max(0.0, 1.0 - abs(t)); };\n"
        "kr_blamp(t) = a*a*a/6.0 with { a = max(0.0, 1.0 - abs(t)); };\n", B(KR_FX_PHASE)},
    [KR_FX_SINE] = {
        "kr_sine(f) = sin(2.0*ma.PI*kr_phase(f));\n", B(KR_FX_PHASE)},
    [KR_FX_SAW] = {
        "// Rising ramp -1..1, PolyBLEP at the jump; starts at 0 (mid-jump).\n"
        "kr_saw(f) = 2.0*p - 1.0 - 2.0*kr_blep(kr_sphase(p)*kr_invdt(f)) with { p = kr_phase(f); };\n",
        B(KR_FX_BLEP)},
    [KR_FX_RECT] = {
        "// hi for the first `duty` of each cycle (clamped to 0..1, NaN: 0.5), else lo;\n"
        "// PolyBLEP at both edges.\n"
        "kr_rect(hi, lo, f, duty) = select2(e >= 1.0, naive + (hi - lo)*(up - down), hi)\n"
        "with {\n"
        "  p = kr_phase(f); iv = kr_invdt(f);\n"
        "  e = select2(duty >= 0.0, select2(duty < 0.0, 0.5, 0.0), min(duty, 1.0));\n"
        "  naive = select2(p < e, lo, hi);\n"
        "  up = kr_blep(kr_sphase(p)*iv); down = kr_blep(kr_sphase(p - e)*iv);\n"
        "};\n", B(KR_FX_BLEP)},
    [KR_FX_TRI] = {
        "// -1..1, peak at 1/4 cycle; PolyBLAMP at both corners.\n"
        "kr_triangle(f) = kr_tri0(p) + 8.0*abs(kr_inc(f))*(trough - peak)\n"
        "with {\n"
        "  p = kr_phase(f); iv = kr_invdt(f);\n"
        "  peak = kr_blamp(kr_sphase(p - 0.25)*iv); trough = kr_blamp(kr_sphase(p - 0.75)*iv);\n"
        "};\n", B(KR_FX_BLEP)},
    [KR_FX_LFO] = {
        "// Naive shapes, the oscillators' phase: 0 sine, 1 tri, 2 saw, 3 square.\n"
        "kr_lfo(0, f) = sin(2.0*ma.PI*kr_phase(f));\n"
        "kr_lfo(1, f) = kr_tri0(kr_phase(f));\n"
        "kr_lfo(2, f) = 2.0*kr_phase(f) - 1.0;\n"
        "kr_lfo(3, f) = select2(kr_phase(f) < 0.5, -1.0, 1.0);\n", B(KR_FX_PHASE)},
    [KR_FX_WAVETABLE] = {
        "// One table of L entries per cycle, linear interpolation; the last entry\n"
        "// interpolates to the first.\n"
        "kr_wavetable(L, t, f) = a + (b - a)*(m - floor(m))\n"
        "with {\n"
        "  m = kr_phase(f)*L; i = int(max(0.0, min(L - 1.0, floor(m))));\n"
        "  j = select2(i + 1 < L, 0, i + 1); a = rdtable(t, i); b = rdtable(t, j);\n"
        "};\n", B(KR_FX_PHASE)},
    [KR_FX_RDTABLE] = {
        "kr_rdtable(L, t, x) = rdtable(t, int(max(0.0, min(L - 1.0, x))));\n", 0},
    [KR_FX_RWTABLE] = {
        "// Indices truncated toward 0 and wrapped into [0, S) (-1 is the last entry).\n"
        "kr_rwindex(S, x) = ((int(x) % S) + S) % S;\n"
        "kr_rwtable(S, init, w, v, r) = rwtable(S, init, kr_rwindex(S, w), v, kr_rwindex(S, r));\n",
        0},
    [KR_FX_WHITE] = {
        "// Uniform noise on [-1, 1): a 32-bit LCG started from a hash of the IR's seed\n"
        "// (the native SplitMix64 has no 32-bit form; the two agree in distribution).\n"
        "kr_white(s) = float((\\(x).(x*1103515245 + 12345 + s*kr_first)) ~ _)/2147483648.0;\n",
        B(KR_FX_FIRST)},
    [KR_FX_PINK] = {
        "// Paul Kellet's refined pink filter on white noise, as noise.c.\n"
        "kr_pink(s) = 0.125*(b0 + b1 + b2 + b3 + b4 + b5 + 0.5362*w + 0.115926*w')\n"
        "with {\n"
        "  w = kr_white(s);\n"
        "  b0 = 0.0555179*w : fi.pole(0.99886); b1 = 0.0750759*w : fi.pole(0.99332);\n"
        "  b2 = 0.1538520*w : fi.pole(0.96900); b3 = 0.3104856*w : fi.pole(0.86650);\n"
        "  b4 = 0.5329522*w : fi.pole(0.55000); b5 = -0.0168980*w : fi.pole(-0.7616);\n"
        "};\n", B(KR_FX_WHITE)},
    [KR_FX_FC] = {
        "// Cutoffs clamped to [1 Hz, 0.49*SR], q to [0.1, 1000].\n"
        "kr_fc(f) = max(1.0, min(0.49*ma.SR, f));\n"
        "kr_q(q) = max(0.1, min(1000.0, q));\n"
        "// The TPT one-pole section of filter.c's odd Butterworth orders (hp: x - lp).\n"
        "kr_tpt1(hp, f, x) = (tick ~ _) : (!, _)\n"
        "with {\n"
        "  g = tan(ma.PI*kr_fc(f)/ma.SR); G = g/(1.0 + g);\n"
        "  tick(s) = 2.0*lp - s, select2(hp, lp, x - lp) with { lp = s + G*(x - s); };\n"
        "};\n", 0},
    [KR_FX_SVF] = {
        "// One trapezoidal state-variable section (k = 1/Q), as filter.c: outputs band, low.\n"
        "kr_svf(f, k, x) = (tick ~ (_, _)) : (!, !, _, _)\n"
        "with {\n"
        "  g = tan(ma.PI*kr_fc(f)/ma.SR);\n"
        "  a1 = 1.0/(1.0 + g*(g + k)); a2 = g*a1; a3 = g*a2;\n"
        "  tick(ic1, ic2) = 2.0*v1 - ic1, 2.0*v2 - ic2, v1, v2\n"
        "  with { v3 = x - ic2; v1 = a1*ic1 + a2*v3; v2 = ic2 + a2*ic1 + a3*v3; };\n"
        "};\n"
        "// bandpass: the constant-0-dB-peak form (input scaled by k); resonant: the low output.\n"
        "kr_bandpass(x, f, q) = kr_svf(f, 1.0/kr_q(q), x/kr_q(q)) : (_, !);\n"
        "kr_resonant(x, f, q) = kr_svf(f, 1.0/kr_q(q), x) : (!, _);\n", B(KR_FX_FC)},
    [KR_FX_ONEPOLE] = {
        "kr_onepole(x, f) = (1.0 - p)*x : fi.pole(p)\n"
        "with { p = exp(-2.0*ma.PI*max(0.0, min(0.49*ma.SR, f))/ma.SR); };\n", 0},
    [KR_FX_DCBLOCK] = {
        "// Pole 0.995 at 48 kHz, the same corner (about 38 Hz) at any rate.\n"
        "kr_dcblock(x) = x : fi.zero(1) : fi.pole(pow(0.995, 48000.0/ma.SR));\n", 0},
    [KR_FX_SMOOTH] = {
        "// One-pole with time constant t s, starting at the first input, landing exactly.\n"
        "kr_smooth(x, t) = (\\(y).(select2(kr_first, step(y), x))) ~ _\n"
        "with {\n"
        "  c = select2(t > 0.0, 1.0, 1.0 - exp(-1.0/(t*ma.SR)));\n"
        "  step(y) = select2((c >= 1.0) | (abs(x - y) <= 1e-10*abs(x) + 1e-30), y + c*(x - y), x);\n"
        "};\n", B(KR_FX_FIRST)},
    [KR_FX_ENV] = {
        "// adsr (perc 0) and ar (perc 1) as env.c: piecewise linear in continuous time;\n"
        "// each sample advances the level by one period (a segment ending inside it\n"
        "// carries the rest into the next), then applies the gate's edge.\n"
        "// Stages: 0 idle, 1 attack, 2 decay, 3 sustain, 4 release.\n"
        "kr_env(perc, a0, d0, s0, r0, g) = (step ~ (_, _, _, _)) : (_, !, !, !)\n"
        "with {\n"
        "  T = 1.0/ma.SR; SL = 1.000001;\n"
        "  tm(t) = select2(t > 0.0, 0.0, t);\n"
        "  a = tm(a0); d = tm(d0); r = tm(r0);\n"
        "  sus = select2(s0 > 0.0, 0.0, min(s0, 1.0));\n"
        "  high = g > 0.0;\n"
        "  decays = (d > 0.0) & (sus < 1.0);\n"
        "  step(lv, st, rs, hi) = select2(st2 == 3, lv2, sus), st2, rs2, high\n"
        "  with {\n"
        "    need = (1.0 - lv)*a; going = need > T*SL; rem = max(0.0, T - need);\n"
        "    drate = (1.0 - sus)/max(d, 1e-30);\n"
        "    ad_end = (1.0 - sus) > rem*drate*SL;\n"
        "    ad_lv = select2(decays, sus, select2(ad_end, sus, 1.0 - rem*drate));\n"
        "    ad_st = select2(decays, 3, select2(ad_end, 3, 2));\n"
        "    ar_end = (r > 0.0) & (1.0 > rem/max(r, 1e-30)*SL);\n"
        "    ar_lv = select2(ar_end, 0.0, 1.0 - rem/max(r, 1e-30));\n"
        "    ar_st = select2(ar_end, 0, 4);\n"
        "    lvA = select2(going, select2(perc, ad_lv, ar_lv), lv + T/max(a, 1e-30));\n"
        "    stA = select2(going, select2(perc, ad_st, ar_st), 1);\n"
        "    rsA = select2((going == 0) & perc, rs, 1.0);\n"
        "    dmove = (d > 0.0) & ((lv - sus) > T*drate*SL);\n"
        "    lvD = select2(lv > sus, sus, select2(dmove, sus, lv - T*drate));\n"
        "    stD = select2(lv > sus, 3, select2(dmove, 3, 2));\n"
        "    rrate = rs/max(r, 1e-30); rmove = (r > 0.0) & (lv > T*rrate*SL);\n"
        "    lvR = select2(rmove, 0.0, lv - T*rrate);\n"
        "    stR = select2(rmove, 0, 4);\n"
        "    lv1 = ba.selectn(5, st, lv, lvA, lvD, sus, lvR);\n"
        "    st1 = ba.selectn(5, st, 0, stA, stD, 3, stR);\n"
        "    rs1 = select2(st == 1, rs, rsA);\n"
        "    rise = high & (hi == 0);\n"
        "    fall = (high == 0) & hi & (perc == 0) & (st1 != 0);\n"
        "    attack = (a > 0.0) & (lv1 < 1.0);\n"
        "    pk_lv = select2(perc, select2(decays, sus, 1.0), 1.0);\n"
        "    pk_st = select2(perc, select2(decays, 3, 2), 4);\n"
        "    pk_rs = select2(perc, rs1, 1.0);\n"
        "    released = (r > 0.0) & (lv1 > 0.0);\n"
        "    lv2 = select2(rise, select2(fall, lv1, select2(released, 0.0, lv1)),\n"
        "                  select2(attack, pk_lv, lv1));\n"
        "    st2 = select2(rise, select2(fall, st1, select2(released, 0, 4)), select2(attack, pk_st, 1));\n"
        "    rs2 = select2(rise, select2(fall, rs1, lv1), select2(attack, pk_rs, rs1));\n"
        "  };\n"
        "};\n", 0},
    [KR_FX_DECAY] = {
        "// 1 on each rising edge, then -60 dB after `time` s; below -600 dB exactly 0.\n"
        "kr_decay(trig, time) = (\\(l).(select2(kr_rise(trig), z(l*k), 1.0))) ~ _\n"
        "with {\n"
        "  k = select2(time > 0.0, 0.0, exp(-6.907755278982137/(ma.SR*time)));\n"
        "  z(v) = select2(v < 1e-30, v, 0.0);\n"
        "};\n", B(KR_FX_RISE)},
    [KR_FX_LATCH] = {
        "kr_latch(x, t) = (\\(h).(select2(kr_rise(t), h, x))) ~ _;\n", B(KR_FX_RISE)},
    [KR_FX_DELAY] = {
        "// A time in seconds as samples clamped to [lo, hi]; within float rounding of a\n"
        "// whole number of samples it is that number.\n"
        "kr_dsamples(t, lo, hi) = select2(abs(d - r) <= 2.5e-7*d, d, r)\n"
        "with { d = max(lo, min(hi, t*ma.SR)); r = floor(d + 0.5); };\n"
        "// Linear interpolation; 0 is x itself. Room for maxt seconds.\n"
        "kr_delay(maxt, x, t) = (1.0 - f)*(x@k) + f*(x@(k + 1))\n"
        "with { D = kr_dsamples(t, 0.0, maxt*ma.SR); k = int(floor(D)); f = D - floor(D); };\n",
        0},
    [KR_FX_ECHO] = {
        "// out = x + d, the line fed x + feedback*d (feedback within +-0.99), d read\n"
        "// 1 sample to maxt seconds back.\n"
        "kr_echo(maxt, x, t, fb) = (loop ~ _) : (!, _)\n"
        "with {\n"
        "  D = kr_dsamples(t, 1.0, max(1.0, maxt*ma.SR)); i = int(floor(D)); f = D - floor(D);\n"
        "  c = select2(fb >= -0.99, -0.99, min(fb, 0.99));\n"
        "  loop(v) = kr_flush(x + c*e), x + e with { e = (1.0 - f)*(v@(i - 1)) + f*(v@i); };\n"
        "};\n", B(KR_FX_DELAY) | B(KR_FX_FLUSH)},
    [KR_FX_CUBIC] = {
        "// Catmull-Rom read of s at D samples, tap D = 1 being s itself.\n"
        "kr_cubic(s, D) = ((c3*f + c2)*f + c1)*f + y0\n"
        "with {\n"
        "  j = max(0, min(8192, int(floor(D)) - 1)); f = D - floor(D); // 8192: 30 ms at 192 kHz\n"
        "  ym = s@(max(0, j - 1)); y0 = s@(max(0, j)); y1 = s@(max(0, j + 1)); y2 = s@(max(0, j + 2));\n"
        "  c1 = 0.5*(y1 - ym); c2 = ym - 2.5*y0 + 2.0*y1 - 0.5*y2;\n"
        "  c3 = 0.5*(y2 - ym) + 1.5*(y0 - y1);\n"
        "};\n"
        "// The LFO phase of chorus and flanger (rate clamped to +-SR/2), read before it advances.\n"
        "kr_lfophase(rate) = (+(max(-0.5*ma.SR, min(0.5*ma.SR, rate))/ma.SR) : kr_frac) ~ _ : mem;\n",
        B(KR_FX_PHASE) | B(KR_FX_CLAMP01)},
    [KR_FX_CHORUS] = {
        "// 20 ms +- 10 ms*depth swept by a sine at `rate`; out = (dry + wet)/2.\n"
        "kr_chorus(x, rate, depth) = 0.5*x + 0.5*kr_cubic(x, D)\n"
        "with {\n"
        "  D = 0.02*ma.SR + 1.0 + 0.01*ma.SR*kr_clamp01(depth)*sin(2.0*ma.PI*kr_lfophase(rate));\n"
        "};\n", B(KR_FX_CUBIC)},
    [KR_FX_FLANGER] = {
        "// 1 ms + 9 ms*depth*(1 - cos(2 pi rate t))/2, feedback within +-0.95.\n"
        "kr_flanger(x, rate, depth, fb) = (loop ~ _) : (!, _)\n"
        "with {\n"
        "  lo = max(2.0, 0.001*ma.SR);\n"
        "  D = lo + 0.009*ma.SR*kr_clamp01(depth)*(0.5 - 0.5*cos(2.0*ma.PI*kr_lfophase(rate)));\n"
        "  c = select2(fb >= -0.95, -0.95, min(fb, 0.95));\n"
        "  loop(v) = kr_flush(x + c*w), 0.5*x + 0.5*w with { w = kr_cubic(v, D); };\n"
        "};\n", B(KR_FX_CUBIC) | B(KR_FX_FLUSH)},
    [KR_FX_REVERB] = {
        "// Freeverb as reverb.c: input DC-blocked (10 Hz) and scaled by 0.12, 8 damped\n"
        "// combs in parallel, 4 true allpasses in series, tunings scaled from 44.1 kHz.\n"
        "kr_reverb(x, room, damp) = ap(225, ap(341, ap(441, ap(556, combs))))\n"
        "with {\n"
        "  R = exp(-2.0*ma.PI*10.0/ma.SR);\n"
        "  dc = (\\(y).(z(x - x' + R*y))) ~ _ with { z(v) = select2(abs(v) < 1e-30, v, 0.0); };\n"
        "  in = 0.12*max(-1e30, min(1e30, dc));\n"
        "  fb = 0.28*kr_clamp01(room) + 0.7; d1 = 0.4*kr_clamp01(damp); d2 = 1.0 - d1;\n"
        "  len(n) = max(1, int(floor(n*ma.SR/44100.0 + 0.5)));\n"
        "  damped(o) = (\\(s).(kr_flush(o*d2 + s*d1))) ~ _;\n"
        "  comb(n) = ((\\(u).(in + fb*damped(u@(len(n) - 1)))) ~ _) : @(len(n));\n"
        "  combs = comb(1116) + comb(1188) + comb(1277) + comb(1356)\n"
        "        + comb(1422) + comb(1491) + comb(1557) + comb(1617);\n"
        "  ap(n, a) = (v@(len(n))) - 0.5*v\n"
        "  with { v = (\\(w).(kr_flush(a + 0.5*(w@(len(n) - 1))))) ~ _; };\n"
        "};\n", B(KR_FX_FLUSH) | B(KR_FX_CLAMP01)},
};

void kr_fx_lib_write(kr_fx_buf *b, kr_fx_needs needs)
{
    /* Close over the dependencies (they only point one level down; a few
     * passes reach every one). */
    for (int pass = 0; pass < 4; pass++)
        for (int k = 0; k < KR_FX_LIB_COUNT; k++)
            if (needs & B(k))
                needs |= lib[k].deps;
    for (int k = 0; k < KR_FX_LIB_COUNT; k++)
        if (needs & B(k))
            kr_fx_puts(b, lib[k].text);
}
