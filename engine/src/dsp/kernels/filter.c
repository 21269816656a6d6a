/* filter.c — Butterworth lowpass/highpass, resonators, onepole, dcblock, smooth.
 *
 * Every second-order section is a trapezoidal ("TPT", Zavalishin/Simper) state
 * variable filter. Its transfer function is exactly the bilinear transform of
 * the analog prototype with the cutoff prewarped (g = tan(pi*fc/sr)), i.e. the
 * same response as an RBJ/bilinear biquad, but it stays well behaved when the
 * cutoff is modulated at audio rate, where direct-form biquads click or blow
 * up. Coefficients and state are double; coefficients are recomputed only when
 * the cutoff (or q) input changes. */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"

#define FX_PI 3.14159265358979323846
#define FX_Q_MIN 0.1
#define FX_Q_MAX 1000.0

/* tan(x) for the prewarp, x in (0, 0.49·pi]: Lambert's continued fraction
 * cut to a 7/6 rational on [0, pi/4] (relative error below 3e-13), with
 * tan(x) = 1/tan(pi/2 - x) above. A swept cutoff recomputes this every
 * sample, where libm's tan() was most of a filter's cost; every path (still
 * or swept cutoff) uses it, so they stay bit-identical. */
static inline double prewarp_tan(double x)
{
    int big = x > 0.25 * FX_PI;
    double y = big ? 0.5 * FX_PI - x : x, y2 = y * y;
    double p = y * (135135.0 + y2 * (-17325.0 + y2 * (378.0 - y2)));
    double q = 135135.0 + y2 * (-62370.0 + y2 * (3150.0 - 28.0 * y2));
    return big ? q / p : p / q;
}

/* Cutoffs are clamped to [1 Hz, 0.49*sr]; NaN goes to 1 Hz. */
static double clamp_freq(float f, double sr)
{
    double v = f, hi = 0.49 * sr;
    if (!(v >= 1.0))
        v = 1.0;
    return v > hi ? hi : v;
}

static double clamp_q(float q)
{
    double v = q;
    if (!(v >= FX_Q_MIN))
        v = FX_Q_MIN;
    return v > FX_Q_MAX ? FX_Q_MAX : v;
}

/* double -> float without overflowing to inf: a filter's gain above 1
 * (overshoot, resonance) must not turn a huge finite input into inf. */
static inline float sat(double v)
{
    return (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
}

/* Input k as n samples: uniform inputs are expanded into tmp. */
static const float *in_samples(const kr_dsp_call *call, int k, float *tmp)
{
    if (!KR_UNIFORM(call, k))
        return call->in[k];
    for (unsigned i = 0; i < call->n; i++)
        tmp[i] = call->in[k][0];
    return tmp;
}

/* ---- TPT state variable filter (one second-order section) ---------------- */

typedef struct svf_coef {
    double k, a1, a2, a3;   /* k = 1/Q; a* as in Simper's SVF */
    double m11, m22, b1, b2; /* the same update as a 2x2 state-space step */
} svf_coef;

typedef struct svf_state {
    double ic1, ic2; /* the two integrators' states */
} svf_state;

static void svf_coef_set(svf_coef *c, double g, double k)
{
    c->k = k;
    c->a1 = 1.0 / (1.0 + g * (g + k));
    c->a2 = g * c->a1;
    c->a3 = g * c->a2;
    c->m11 = 2.0 * c->a1 - 1.0;
    c->m22 = 1.0 - 2.0 * c->a3;
    c->b1 = 2.0 * c->a2;
    c->b2 = 2.0 * c->a3;
}

/* One sample; writes the band (v1) and low (v2) outputs. The states are
 * updated as ic1 = 2 v1 - ic1, ic2 = 2 v2 - ic2, expanded so that the
 * recursion is one multiply and two adds deep (the outputs are off it). */
static inline void svf_tick(svf_state *s, const svf_coef *c, double x, double *v1o, double *v2o)
{
    double ic1 = s->ic1, ic2 = s->ic2;
    double v3 = x - ic2;
    *v1o = c->a1 * ic1 + c->a2 * v3;
    *v2o = ic2 + c->a2 * ic1 + c->a3 * v3;
    s->ic1 = (c->m11 * ic1 + c->b1 * x) - c->b1 * ic2;
    s->ic2 = (c->b2 * x + c->b1 * ic1) + c->m22 * ic2;
}

/* ---- Butterworth lowpass / highpass, orders 1..8 ------------------------- */

typedef struct bw_state {
    double sr;
    int order;
    float last; /* the cutoff input the coefficients were made from */
    int have;   /* coefficients valid */
    double G, Ga, Gb; /* first-order section (odd orders): g/(1+g), 1-2G, 2G */
    double s1;        /* its state */
    double k[4];      /* the pole pairs' damping, fixed by the order */
    svf_coef c[4];
    svf_state s[4];
} bw_state;

static size_t bw_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    (void)sr;
    return sizeof(bw_state);
}

static void bw_init(void *state, const kr_op_attrs *attrs, double sr)
{
    bw_state *st = state;
    st->sr = sr;
    st->order = attrs->order < 1 ? 1 : attrs->order > 8 ? 8 : attrs->order;
    st->have = 0;
    /* Analog Butterworth pole pairs: s^2 + 2 sin((2i+1)pi/2N) s + 1. */
    for (int i = 0; i < st->order / 2; i++)
        st->k[i] = 2.0 * sin(FX_PI * (2 * i + 1) / (2.0 * st->order));
}

static inline double bw_g(const bw_state *st, float fc)
{
    return prewarp_tan(FX_PI * clamp_freq(fc, st->sr) / st->sr);
}

/* Coefficients from g = tan(pi·fc/sr); `fc` is remembered to skip repeats. */
static void bw_set_g(bw_state *st, double g, float fc)
{
    int N = st->order;
    for (int i = 0; i < N / 2; i++)
        svf_coef_set(&st->c[i], g, st->k[i]);
    if (N & 1) {
        st->G = g / (1.0 + g);
        st->Ga = 1.0 - 2.0 * st->G;
        st->Gb = 2.0 * st->G;
    }
    st->last = fc;
    st->have = 1;
}

static inline void bw_update(bw_state *st, float fc)
{
    if (!st->have || fc != st->last)
        bw_set_g(st, bw_g(st, fc), fc);
}

/* One sample through the cascade: coefficients from st, states in s and s1.
 * `order` and `hp` are constants at every call site below, so the section
 * loop unrolls and the states stay in registers. */
static inline __attribute__((always_inline)) double bw_tick(const bw_state *st, svf_state *s,
                                                              double *s1, double x,
                                                              const int order, const int hp)
{
    for (int i = 0; i < order / 2; i++) {
        double v1, v2;
        svf_tick(&s[i], &st->c[i], x, &v1, &v2);
        x = hp ? x - st->c[i].k * v1 - v2 : v2;
    }
    if (order & 1) {
        /* TPT one-pole: lp = s + G (x - s), s' = 2 lp - s = (1-2G) s + 2G x. */
        double z = *s1;
        double lp = z + st->G * (x - z);
        *s1 = st->Ga * z + st->Gb * x;
        x = hp ? x - lp : lp;
    }
    return x;
}

static inline __attribute__((always_inline)) void bw_block(bw_state *st, const float *x,
                                                             const float *fc, unsigned fc_uniform,
                                                             float *out, unsigned n, const int order,
                                                             const int hp)
{
    svf_state s[4];
    double s1 = st->s1;
    for (int k = 0; k < order / 2; k++)
        s[k] = st->s[k];
    if (fc_uniform) {
        bw_update(st, fc[0]);
        for (unsigned i = 0; i < n; i++)
            out[i] = sat(bw_tick(st, s, &s1, x[i], order, hp));
    } else {
        /* A swept cutoff: every prewarp of the block first, in a loop free of
         * the filter's recursion (the compiler can vectorise it). */
        double g[KR_DSP_BLOCK];
        for (unsigned i = 0; i < n; i++)
            g[i] = bw_g(st, fc[i]);
        for (unsigned i = 0; i < n; i++) {
            if (!st->have || fc[i] != st->last)
                bw_set_g(st, g[i], fc[i]);
            out[i] = sat(bw_tick(st, s, &s1, x[i], order, hp));
        }
    }
    for (int k = 0; k < order / 2; k++)
        st->s[k] = s[k];
    st->s1 = s1;
}

static int bw_silent(const bw_state *st)
{
    if (st->s1 != 0.0)
        return 0;
    for (int i = 0; i < st->order / 2; i++)
        if (st->s[i].ic1 != 0.0 || st->s[i].ic2 != 0.0)
            return 0;
    return 1;
}

static int bw_run(void *state, const kr_dsp_call *call, const int hp)
{
    bw_state *st = state;
    float tmp[KR_DSP_BLOCK];
    /* Silence in, silence held: nothing to compute (the coefficients can wait). */
    if (KR_UNIFORM(call, 0) && call->in[0][0] == 0.0f && bw_silent(st)) {
        call->out[0] = 0.0f;
        return 1;
    }
    const float *x = in_samples(call, 0, tmp);
    const float *fc = call->in[1];
    unsigned u = KR_UNIFORM(call, 1), n = call->n;
    float *out = call->out;
    switch (st->order) {
    case 1: bw_block(st, x, fc, u, out, n, 1, hp); break;
    case 2: bw_block(st, x, fc, u, out, n, 2, hp); break;
    case 3: bw_block(st, x, fc, u, out, n, 3, hp); break;
    case 4: bw_block(st, x, fc, u, out, n, 4, hp); break;
    case 5: bw_block(st, x, fc, u, out, n, 5, hp); break;
    case 6: bw_block(st, x, fc, u, out, n, 6, hp); break;
    case 7: bw_block(st, x, fc, u, out, n, 7, hp); break;
    default: bw_block(st, x, fc, u, out, n, 8, hp); break;
    }
    return 0;
}

static int lowpass_run(void *state, const kr_dsp_call *call) { return bw_run(state, call, 0); }
static int highpass_run(void *state, const kr_dsp_call *call) { return bw_run(state, call, 1); }

/* ---- bandpass (0 dB peak) and resonant lowpass: one SVF ------------------ */

typedef struct reso_state {
    double sr;
    float last_f, last_q;
    int have;
    svf_coef c;
    svf_state s;
} reso_state;

static size_t reso_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    (void)sr;
    return sizeof(reso_state);
}

static void reso_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    reso_state *st = state;
    st->sr = sr;
    st->have = 0;
}

static inline void reso_update(reso_state *st, float f, float q)
{
    if (st->have && f == st->last_f && q == st->last_q)
        return;
    svf_coef_set(&st->c, prewarp_tan(FX_PI * clamp_freq(f, st->sr) / st->sr), 1.0 / clamp_q(q));
    st->last_f = f;
    st->last_q = q;
    st->have = 1;
}

/* band = 1: the RBJ constant-0-dB-peak bandpass, k*s/(s^2+ks+1) — the input is
 * scaled by k rather than the output, so the state never holds q times the
 * signal and a jump to a low q cannot release it as a spike;
 * band = 0: v2, the RBJ lowpass with resonance q. */
static inline __attribute__((always_inline)) int reso_run(void *state, const kr_dsp_call *call,
                                                            const int band)
{
    reso_state *st = state;
    float tmp[KR_DSP_BLOCK];
    if (KR_UNIFORM(call, 0) && call->in[0][0] == 0.0f && st->s.ic1 == 0.0 && st->s.ic2 == 0.0) {
        call->out[0] = 0.0f;
        return 1;
    }
    const float *x = in_samples(call, 0, tmp);
    float *out = call->out;
    unsigned n = call->n;
    reso_state l = *st;
    if (KR_UNIFORM(call, 1) && KR_UNIFORM(call, 2)) {
        reso_update(&l, call->in[1][0], call->in[2][0]);
        for (unsigned i = 0; i < n; i++) {
            double v1, v2;
            svf_tick(&l.s, &l.c, band ? l.c.k * x[i] : x[i], &v1, &v2);
            out[i] = sat(band ? v1 : v2);
        }
    } else {
        for (unsigned i = 0; i < n; i++) {
            double v1, v2;
            reso_update(&l, KR_IN(call, 1, i), KR_IN(call, 2, i));
            svf_tick(&l.s, &l.c, band ? l.c.k * x[i] : x[i], &v1, &v2);
            out[i] = sat(band ? v1 : v2);
        }
    }
    *st = l;
    return 0;
}

static int bandpass_run(void *state, const kr_dsp_call *call) { return reso_run(state, call, 1); }
static int resonant_run(void *state, const kr_dsp_call *call) { return reso_run(state, call, 0); }

/* ---- onepole: y = (1-p) x + p y, p = exp(-2 pi fc / sr) ------------------- */

typedef struct onepole_state {
    double sr;
    float last;
    int have;
    double p, y;
} onepole_state;

static size_t onepole_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    (void)sr;
    return sizeof(onepole_state);
}

static void onepole_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    onepole_state *st = state;
    st->sr = sr;
    st->have = 0;
}

static inline void onepole_update(onepole_state *st, float fc)
{
    if (st->have && fc == st->last)
        return;
    /* Unlike the other filters a cutoff of 0 is allowed (p = 1: hold). */
    double f = fc, hi = 0.49 * st->sr;
    if (!(f >= 0.0))
        f = 0.0;
    if (f > hi)
        f = hi;
    st->p = exp(-2.0 * FX_PI * f / st->sr);
    st->last = fc;
    st->have = 1;
}

static int onepole_run(void *state, const kr_dsp_call *call)
{
    onepole_state *st = state;
    float tmp[KR_DSP_BLOCK];
    if (KR_UNIFORM(call, 0) && call->in[0][0] == 0.0f && st->y == 0.0) {
        call->out[0] = 0.0f;
        return 1;
    }
    const float *x = in_samples(call, 0, tmp);
    float *out = call->out;
    unsigned n = call->n;
    double y = st->y;
    if (KR_UNIFORM(call, 1)) {
        onepole_update(st, call->in[1][0]);
        double p = st->p, b = 1.0 - p;
        for (unsigned i = 0; i < n; i++)
            out[i] = (float)(y = b * x[i] + p * y);
    } else {
        for (unsigned i = 0; i < n; i++) {
            onepole_update(st, call->in[1][i]);
            out[i] = (float)(y = (1.0 - st->p) * x[i] + st->p * y);
        }
    }
    st->y = y;
    return 0;
}

/* ---- dcblock: y = x - x1 + R y1 ------------------------------------------ */

typedef struct dcblock_state {
    double R, x1, y1;
} dcblock_state;

static size_t dcblock_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    (void)sr;
    return sizeof(dcblock_state);
}

static void dcblock_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    dcblock_state *st = state;
    /* Pole 0.995 at 48 kHz (about 38 Hz), the same corner at any rate. */
    st->R = pow(0.995, 48000.0 / sr);
}

static int dcblock_run(void *state, const kr_dsp_call *call)
{
    dcblock_state *st = state;
    float tmp[KR_DSP_BLOCK];
    /* A constant input equal to the last one, and the output settled at 0. */
    if (KR_UNIFORM(call, 0) && (double)call->in[0][0] == st->x1 && st->y1 == 0.0) {
        call->out[0] = 0.0f;
        return 1;
    }
    const float *x = in_samples(call, 0, tmp);
    double R = st->R, x1 = st->x1, y1 = st->y1;
    for (unsigned i = 0; i < call->n; i++) {
        double xi = x[i];
        y1 = xi - x1 + R * y1;
        x1 = xi;
        call->out[i] = sat(y1);
    }
    st->x1 = x1;
    st->y1 = y1;
    return 0;
}

/* ---- smooth: one-pole with time constant `time` seconds ------------------ */

typedef struct smooth_state {
    double sr;
    float last;
    int have;
    int started; /* the first sample sets y (no glide up from 0) */
    double c, y;
} smooth_state;

static size_t smooth_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    (void)sr;
    return sizeof(smooth_state);
}

static void smooth_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    smooth_state *st = state;
    st->sr = sr;
}

static inline void smooth_update(smooth_state *st, float t)
{
    if (st->have && t == st->last)
        return;
    /* c = 1 - exp(-1/(t sr)): after t seconds 1 - 1/e = 63% of a step. */
    st->c = t > 0.0f ? -expm1(-1.0 / ((double)t * st->sr)) : 1.0;
    st->last = t;
    st->have = 1;
}

/* Once within 1e-10 (relative) of the target, land on it exactly: the output
 * can then go uniform, and the state never creeps through denormals. */
static inline double smooth_step(double y, double x, double c)
{
    double e = x - y;
    if (c >= 1.0 || fabs(e) <= 1e-10 * fabs(x) + 1e-30)
        return x;
    return y + c * e;
}

static int smooth_run(void *state, const kr_dsp_call *call)
{
    smooth_state *st = state;
    float tmp[KR_DSP_BLOCK];
    if (!st->started) {
        st->y = call->in[0][0];
        st->started = 1;
    }
    if (KR_UNIFORM(call, 0) && (double)call->in[0][0] == st->y) {
        call->out[0] = call->in[0][0];
        return 1;
    }
    const float *x = in_samples(call, 0, tmp);
    double y = st->y;
    if (KR_UNIFORM(call, 1)) {
        smooth_update(st, call->in[1][0]);
        double c = st->c;
        for (unsigned i = 0; i < call->n; i++)
            call->out[i] = (float)(y = smooth_step(y, x[i], c));
    } else {
        for (unsigned i = 0; i < call->n; i++) {
            smooth_update(st, call->in[1][i]);
            call->out[i] = (float)(y = smooth_step(y, x[i], st->c));
        }
    }
    st->y = y;
    return 0;
}

const kr_op kr_ops_filter[] = {
    {"lowpass", 2, 0, bw_size, bw_init, lowpass_run, NULL},
    {"highpass", 2, 0, bw_size, bw_init, highpass_run, NULL},
    {"bandpass", 3, 0, reso_size, reso_init, bandpass_run, NULL},
    {"resonant", 3, 0, reso_size, reso_init, resonant_run, NULL},
    {"onepole", 2, 0, onepole_size, onepole_init, onepole_run, NULL},
    {"dcblock", 1, 0, dcblock_size, dcblock_init, dcblock_run, NULL},
    {"smooth", 2, 0, smooth_size, smooth_init, smooth_run, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};
