/* delay.c — delay, echo, chorus, flanger.
 *
 * All four keep a circular float buffer inside the state block, sized at init
 * from the sample rate (and max_time for delay/echo), rounded up to a power of
 * two so that a tap is a subtract and a mask. Delay times are computed in
 * double so the fractional part stays exact on long lines. delay and echo
 * interpolate linearly (as documented); chorus and flanger sweep their delay
 * continuously, where linear interpolation would add a modulated lowpass, so
 * they use 4-point Catmull-Rom interpolation (gain never above 1, so the
 * flanger's feedback loop stays stable). */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels.h"

#define FX_TWO_PI 6.28318530717958647692

/* Tiny values become 0 in the feedback paths: no denormals even where the
 * audio thread does not flush them, and a dying tail reaches true silence.
 * Per sample, so deterministic however calls are cut. */
static inline float flush(float v)
{
    return fabsf(v) < 1e-15f ? 0.0f : v;
}

/* Sums of huge finite values must not overflow to inf, least of all into a
 * feedback line: saturate. */
static inline float sat(float v)
{
    return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
}

/* sin(2 pi p) for p in [0, 1): odd Taylor series to x^11 on [-pi/2, pi/2],
 * error < 1e-7 — ample for an LFO and much cheaper than sin(). */
static inline double sin2pi(double p)
{
    double t = p - 0.5; /* sin(2 pi p) = -sin(2 pi t), t in [-0.5, 0.5) */
    if (t > 0.25)
        t = 0.5 - t;
    else if (t < -0.25)
        t = -0.5 - t;
    double x = FX_TWO_PI * t, x2 = x * x;
    double s = x * (1.0 + x2 * (-1.0 / 6 + x2 * (1.0 / 120 + x2 * (-1.0 / 5040 +
               x2 * (1.0 / 362880 + x2 * (-1.0 / 39916800))))));
    return -s;
}

/* One state shape for all four ops: a circular buffer after a small header. */
typedef struct dl_state {
    double sr;
    double max_d;   /* delay, echo: the longest delay in samples */
    double phase;   /* chorus, flanger: LFO phase in [0, 1) */
    size_t mask;    /* buffer size - 1, the size a power of two */
    size_t w;       /* samples written so far (the next write is at w & mask) */
    float buf[];
} dl_state;

static size_t pow2_above(double samples)
{
    size_t s = 1;
    while ((double)s < samples)
        s <<= 1;
    return s;
}

/* The sample written `d` samples ago, d in [1, size]: tap 1 is the newest. */
static inline float tap(const dl_state *l, size_t d)
{
    return l->buf[(l->w - d) & l->mask];
}

static inline void push(dl_state *l, float v)
{
    l->buf[l->w++ & l->mask] = v;
}

/* Linear interpolation at delay D = i + f (taps i and i + 1). */
static inline float read_linear(const dl_state *l, double D)
{
    size_t i = (size_t)(long)D; /* D >= 0; via long: the cheap conversion */
    float f = (float)(D - (double)i);
    float a = tap(l, i), b = tap(l, i + 1);
    return (1.0f - f) * a + f * b; /* convex: no overflow */
}

/* Catmull-Rom interpolation at delay D = i + f, from taps i-1 .. i+2; in
 * double, where the taps' differences cannot overflow. */
static inline float read_cubic(const dl_state *l, double D)
{
    size_t i = (size_t)(long)D;
    double f = D - (double)i;
    double ym = tap(l, i - 1), y0 = tap(l, i), y1 = tap(l, i + 1), y2 = tap(l, i + 2);
    double c1 = 0.5 * (y1 - ym);
    double c2 = ym - 2.5 * y0 + 2.0 * y1 - 0.5 * y2;
    double c3 = 0.5 * (y2 - ym) + 1.5 * (y0 - y1);
    double v = ((c3 * f + c2) * f + c1) * f + y0;
    return (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
}

static inline double clamp_d(double d, double lo, double hi)
{
    if (!(d >= lo)) /* NaN too */
        d = lo;
    return d > hi ? hi : d;
}

static inline float clamp_f(float v, float lo, float hi)
{
    return v > hi ? hi : v >= lo ? v : lo; /* NaN -> lo */
}

/* ---- delay and echo: max_time seconds of buffer ---------------------------- */

/* The longest delay in samples for max_time (at least min_d). */
static double dl_max_d(const kr_op_attrs *attrs, double sr, double min_d)
{
    double d = clamp_d(attrs->max_time, 0.0, 60.0) * sr;
    return d < min_d ? min_d : d;
}

/* Room for the longest delay's two interpolation taps. */
static size_t dl_size(double max_d)
{
    return pow2_above(ceil(max_d) + 2.0);
}

static size_t delay_size(const kr_op_attrs *attrs, double sr)
{
    return sizeof(dl_state) + sizeof(float) * dl_size(dl_max_d(attrs, sr, 0.0));
}

static void delay_init(void *state, const kr_op_attrs *attrs, double sr)
{
    dl_state *st = state;
    st->sr = sr;
    st->max_d = dl_max_d(attrs, sr, 0.0);
    st->mask = dl_size(st->max_d) - 1;
}

/* A time in seconds as a delay in samples, clamped to [lo, hi]. Within float
 * rounding of a whole number of samples (e.g. k/sr computed in float) it is
 * taken as exactly that number: the delay is then exact, not interpolated. */
static inline double delay_samples(float t, double sr, double lo, double hi)
{
    double d = clamp_d(t * sr, lo, hi);
    double r = (double)(long)(d + 0.5);
    return fabs(d - r) <= 2.5e-7 * d ? r : d;
}

static int delay_run(void *state, const kr_dsp_call *call)
{
    dl_state *st = state;
    unsigned n = call->n;
    const float *x = call->in[0];
    size_t xs = !KR_UNIFORM(call, 0);
    /* Write first, then read: a delay of 0 is the input itself (tap 1). */
    if (KR_UNIFORM(call, 1)) {
        /* read_linear with the split of D and the counter hoisted */
        double D = delay_samples(call->in[1][0], st->sr, 0.0, st->max_d) + 1.0;
        size_t d = (size_t)(long)D, w = st->w, mask = st->mask;
        float f = (float)(D - (double)d), *buf = st->buf;
        float *out = call->out;
        for (unsigned i = 0; i < n; i++) {
            buf[w++ & mask] = x[i * xs];
            float a = buf[(w - d) & mask], b = buf[(w - d - 1) & mask];
            out[i] = (1.0f - f) * a + f * b;
        }
        st->w = w;
    } else {
        for (unsigned i = 0; i < n; i++) {
            push(st, x[i * xs]);
            call->out[i] = read_linear(st, delay_samples(call->in[1][i], st->sr, 0.0, st->max_d) + 1.0);
        }
    }
    return 0;
}

/* echo: out = x + d, d = the line's output, the line fed x + feedback*d. */
static size_t echo_size(const kr_op_attrs *attrs, double sr)
{
    return sizeof(dl_state) + sizeof(float) * dl_size(dl_max_d(attrs, sr, 1.0));
}

static void echo_init(void *state, const kr_op_attrs *attrs, double sr)
{
    dl_state *st = state;
    st->sr = sr;
    st->max_d = dl_max_d(attrs, sr, 1.0);
    st->mask = dl_size(st->max_d) - 1;
}

static inline void echo_tick(dl_state *st, float x, double D, float fb, float *out)
{
    float d = read_linear(st, D);
    *out = sat(x + d);
    push(st, flush(sat(x + fb * d)));
}

static int echo_run(void *state, const kr_dsp_call *call)
{
    dl_state *st = state;
    const float *x = call->in[0];
    size_t xs = !KR_UNIFORM(call, 0);
    /* Read before write, so the shortest echo is one sample. */
    if (KR_UNIFORM(call, 1) && KR_UNIFORM(call, 2)) {
        double D = delay_samples(call->in[1][0], st->sr, 1.0, st->max_d);
        float fb = clamp_f(call->in[2][0], -0.99f, 0.99f);
        for (unsigned i = 0; i < call->n; i++)
            echo_tick(st, x[i * xs], D, fb, &call->out[i]);
    } else {
        for (unsigned i = 0; i < call->n; i++)
            echo_tick(st, x[i * xs], delay_samples(KR_IN(call, 1, i), st->sr, 1.0, st->max_d),
                      clamp_f(KR_IN(call, 2, i), -0.99f, 0.99f), &call->out[i]);
    }
    return 0;
}

/* ---- chorus and flanger: fixed buffers, sine LFO ---------------------------- */

#define CHORUS_BASE 0.020  /* s: centre delay */
#define CHORUS_SWING 0.010 /* s: +- at depth 1 */
#define FLANGER_MIN 0.001  /* s: shortest delay */
#define FLANGER_SWEEP 0.009 /* s: the sweep above it at depth 1 */

/* Room for `seconds` of delay plus the cubic's taps around it. */
static size_t mod_size(double seconds, double sr)
{
    return pow2_above(ceil(seconds * sr) + 4.0);
}

static size_t chorus_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    return sizeof(dl_state) + sizeof(float) * mod_size(CHORUS_BASE + CHORUS_SWING, sr);
}

static void chorus_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    dl_state *st = state;
    st->sr = sr;
    st->mask = mod_size(CHORUS_BASE + CHORUS_SWING, sr) - 1;
}

static size_t flanger_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    return sizeof(dl_state) + sizeof(float) * mod_size(FLANGER_MIN + FLANGER_SWEEP, sr);
}

static void flanger_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    dl_state *st = state;
    st->sr = sr;
    st->mask = mod_size(FLANGER_MIN + FLANGER_SWEEP, sr) - 1;
}

/* The LFO's phase increment for rate Hz (clamped to +-sr/2). */
static inline double lfo_inc(const dl_state *st, float rate)
{
    return clamp_d(rate, -0.5 * st->sr, 0.5 * st->sr) / st->sr;
}

/* Advance the LFO and return the old phase. */
static inline double lfo_step(dl_state *st, double inc)
{
    double p = st->phase, q = p + inc;
    st->phase = q >= 1.0 ? q - 1.0 : q < 0.0 ? q + 1.0 : q;
    return p;
}

/* Chorus: write, then read around the centre delay (tap 1 = this sample). */
static inline float chorus_tick(dl_state *st, float x, double inc, double swing)
{
    double D = CHORUS_BASE * st->sr + 1.0 + swing * sin2pi(lfo_step(st, inc));
    push(st, x);
    return 0.5f * x + 0.5f * read_cubic(st, D);
}

static int chorus_run(void *state, const kr_dsp_call *call)
{
    dl_state *st = state;
    const float *x = call->in[0];
    size_t xs = !KR_UNIFORM(call, 0);
    double swing1 = CHORUS_SWING * st->sr; /* at depth 1 */
    if (KR_UNIFORM(call, 1) && KR_UNIFORM(call, 2)) {
        double inc = lfo_inc(st, call->in[1][0]);
        double swing = swing1 * clamp_f(call->in[2][0], 0.0f, 1.0f);
        for (unsigned i = 0; i < call->n; i++)
            call->out[i] = chorus_tick(st, x[i * xs], inc, swing);
    } else {
        for (unsigned i = 0; i < call->n; i++)
            call->out[i] = chorus_tick(st, x[i * xs], lfo_inc(st, KR_IN(call, 1, i)),
                                       swing1 * clamp_f(KR_IN(call, 2, i), 0.0f, 1.0f));
    }
    return 0;
}

/* Flanger: read before write, from lo (the shortest delay) up by sweep. */
static inline float flanger_tick(dl_state *st, float x, double lo, double inc, double sweep,
                                 float fb)
{
    double p = lfo_step(st, inc);
    /* 0.5 - 0.5 cos(2 pi p) = 0.5 + 0.5 sin(2 pi (p - 1/4)): the sweep starts
     * at the shortest delay. */
    double p4 = p + 0.75 >= 1.0 ? p - 0.25 : p + 0.75;
    double D = lo + sweep * (0.5 + 0.5 * sin2pi(p4));
    float wet = read_cubic(st, D);
    push(st, flush(sat(x + fb * wet)));
    return 0.5f * x + 0.5f * wet;
}

static int flanger_run(void *state, const kr_dsp_call *call)
{
    dl_state *st = state;
    const float *x = call->in[0];
    size_t xs = !KR_UNIFORM(call, 0);
    double sweep1 = FLANGER_SWEEP * st->sr;
    /* the cubic's newest tap (D - 1) must be at least one sample back */
    double lo = FLANGER_MIN * st->sr < 2.0 ? 2.0 : FLANGER_MIN * st->sr;
    if (KR_UNIFORM(call, 1) && KR_UNIFORM(call, 2) && KR_UNIFORM(call, 3)) {
        double inc = lfo_inc(st, call->in[1][0]);
        double sweep = sweep1 * clamp_f(call->in[2][0], 0.0f, 1.0f);
        float fb = clamp_f(call->in[3][0], -0.95f, 0.95f);
        for (unsigned i = 0; i < call->n; i++)
            call->out[i] = flanger_tick(st, x[i * xs], lo, inc, sweep, fb);
    } else {
        for (unsigned i = 0; i < call->n; i++)
            call->out[i] = flanger_tick(st, x[i * xs], lo, lfo_inc(st, KR_IN(call, 1, i)),
                                        sweep1 * clamp_f(KR_IN(call, 2, i), 0.0f, 1.0f),
                                        clamp_f(KR_IN(call, 3, i), -0.95f, 0.95f));
    }
    return 0;
}

const kr_op kr_ops_delay[] = {
    {"delay", 2, 0, delay_size, delay_init, delay_run, NULL},
    {"echo", 3, 0, echo_size, echo_init, echo_run, NULL},
    {"chorus", 3, 0, chorus_size, chorus_init, chorus_run, NULL},
    {"flanger", 4, 0, flanger_size, flanger_init, flanger_run, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};
