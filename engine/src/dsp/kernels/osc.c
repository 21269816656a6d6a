/* osc.c — oscillators: sine_osc, saw, square, pulse, triangle, phasor, lfo,
 * wavetable.
 *
 * Phase is a 64-bit fixed-point accumulator (one cycle = 2^64). That is finer
 * than a double phase in [0,1) (2^-64 against 2^-53 per cycle), wraps exactly
 * with no drift, and integer addition is associative: a block computes the
 * same phases whether it is run in one call or many, and the accumulation is a
 * 1-cycle dependency chain. Each run fills the phases of its block first
 * (pass 1, the only sequential part), then shapes them (pass 2, branch-free
 * float code the compiler vectorises).
 *
 * Band limiting: saw/square/pulse subtract a 2-sample PolyBLEP residual at
 * each jump; triangle adds a 2-sample PolyBLAMP residual at each corner. The
 * residuals are written in terms of tau = (signed phase distance to the
 * discontinuity) / |increment|, which makes them correct for negative
 * frequencies too (the BLEP residual is odd, the BLAMP residual even). */
#include <math.h>

#include "kernels.h"

typedef struct osc_state {
    uint64_t phase;
    double inv_sr;
    int shape;           /* lfo */
    const float *table;  /* wavetable */
    long len;
} osc_state;

static size_t osc_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(osc_state);
}

static void osc_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    osc_state *s = state;
    s->phase = 0;
    s->inv_sr = sample_rate > 0.0 ? 1.0 / sample_rate : 0.0;
    s->shape = (int)attrs->shape;
    s->table = attrs->table;
    s->len = attrs->table ? attrs->table_len : 0;
}

/* Cycles per sample as a 64-bit increment; *dt = |cycles per sample| folded
 * to [0, 0.5]. Non-finite or absurd frequencies stop the phase rather than
 * poisoning it. */
static inline uint64_t phase_inc(float freq, double inv_sr, float *dt)
{
    double r = (double)freq * inv_sr;
    if (!(r > -1e9 && r < 1e9))
        r = 0.0;
    if (r >= 0.5 || r < -0.5)
        r -= floor(r + 0.5);
    *dt = (float)fabs(r);
    return (uint64_t)(int64_t)(r * 18446744073709551616.0);
}

/* Largest 1/dt used: keeps tau finite (0 * huge = 0, never NaN) at freq 0. */
#define INV_DT_MAX 1e30f

/* Pass 1: ph[i] = top 32 bits of the phase at sample i (before advancing);
 * dt[i], inv_dt[i] = |increment| and its inverse when wanted. Returns 1 if
 * the frequency is uniform (then dt/inv_dt hold one value in [0]). */
static int fill_phases(osc_state *s, const kr_dsp_call *c, uint32_t *ph, float *dt,
                       float *inv_dt)
{
    uint64_t p = s->phase;
    const unsigned n = c->n;
    float d;
    if (KR_UNIFORM(c, 0)) {
        const uint64_t inc = phase_inc(c->in[0][0], s->inv_sr, &d);
        for (unsigned i = 0; i < n; i++) {
            ph[i] = (uint32_t)(p >> 32);
            p += inc;
        }
        if (dt) {
            dt[0] = d;
            inv_dt[0] = d > 1.0f / INV_DT_MAX ? 1.0f / d : INV_DT_MAX;
        }
        s->phase = p;
        return 1;
    }
    for (unsigned i = 0; i < n; i++) {
        const uint64_t inc = phase_inc(c->in[0][i], s->inv_sr, &d);
        ph[i] = (uint32_t)(p >> 32);
        p += inc;
        if (dt) {
            dt[i] = d;
            inv_dt[i] = d > 1.0f / INV_DT_MAX ? 1.0f / d : INV_DT_MAX;
        }
    }
    s->phase = p;
    return 0;
}

/* Signed phase p (one cycle = 2^32) as a fraction of a cycle in [-0.5, 0.5). */
static inline float sphase(uint32_t p) { return (float)(int32_t)p * 0x1p-32f; }

/* Folds the phase onto [-1/4, 1/4] cycle around the rising zero crossing:
 * sin and triangle are symmetric about the quarter points. */
static inline int32_t fold_quarter(uint32_t p)
{
    return (p + 0x40000000u > 0x80000000u) ? (int32_t)(0x80000000u - p) : (int32_t)p;
}

/* sin(2*pi*z) for z in [-1/4, 1/4]: odd minimax polynomial, relative error
 * 5e-9 (below float rounding). */
static inline float sin_quarter(float z)
{
    const float z2 = z * z;
    return z * (6.283185273790783f +
                z2 * (-41.34167747839091f +
                      z2 * (81.60223124269494f + z2 * (-76.57499218131457f + z2 * 39.710918138866866f))));
}

static inline float sine_of(uint32_t p) { return sin_quarter((float)fold_quarter(p) * 0x1p-32f); }

/* Naive triangle, 0 at phase 0 rising, peak +1 at 1/4, trough -1 at 3/4. */
static inline float tri_of(uint32_t p) { return (float)fold_quarter(p) * 0x1p-30f; }

/* Naive saw 2t-1 in [-1, 1), exact (24 bits). */
static inline float saw_of(uint32_t p) { return (float)((int32_t)(p ^ 0x80000000u) >> 8) * 0x1p-23f; }

/* max(x, 0) without a branch (x finite here: |tau| <= 0.5 * INV_DT_MAX), so
 * that the shaping loops vectorise. */
static inline float pos(float x) { return 0.5f * (x + fabsf(x)); }

/* PolyBLEP residual of a unit upward step, tau in samples from the step:
 * (1+tau)^2/2 before it, -(1-tau)^2/2 after it, 0 beyond one sample. */
static inline float blep(float tau)
{
    const float a = pos(1.0f - fabsf(tau));
    return copysignf(0.5f * a * a, -tau);
}

/* PolyBLAMP residual of a unit slope increase (per sample): (1-|tau|)^3/6. */
static inline float blamp(float tau)
{
    const float a = pos(1.0f - fabsf(tau));
    return a * a * a * (1.0f / 6.0f);
}

/* Frequency uniform and zero: the output is one value for the whole block. */
static int stopped(const kr_dsp_call *c, const osc_state *s, uint32_t *p)
{
    float d;
    if (!KR_UNIFORM(c, 0) || phase_inc(c->in[0][0], s->inv_sr, &d) != 0)
        return 0;
    *p = (uint32_t)(s->phase >> 32);
    return 1;
}

/* ---- sine_osc, phasor, lfo ---- */

static int sine_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    if (stopped(c, s, ph)) {
        c->out[0] = sine_of(ph[0]);
        return 1;
    }
    fill_phases(s, c, ph, NULL, NULL);
    for (unsigned i = 0; i < c->n; i++)
        c->out[i] = sine_of(ph[i]);
    return 0;
}

static int phasor_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    if (stopped(c, s, ph)) {
        c->out[0] = (float)(ph[0] >> 8) * 0x1p-24f;
        return 1;
    }
    fill_phases(s, c, ph, NULL, NULL);
    for (unsigned i = 0; i < c->n; i++)
        c->out[i] = (float)(ph[i] >> 8) * 0x1p-24f; /* [0, 1): 24 bits, exact */
    return 0;
}

static inline float lfo_of(int shape, uint32_t p)
{
    switch (shape) {
    case KR_LFO_TRI: return tri_of(p);
    case KR_LFO_SAW: return saw_of(p);
    case KR_LFO_SQUARE: return p < 0x80000000u ? 1.0f : -1.0f;
    default: return sine_of(p);
    }
}

static int lfo_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    if (stopped(c, s, ph)) {
        c->out[0] = lfo_of(s->shape, ph[0]);
        return 1;
    }
    fill_phases(s, c, ph, NULL, NULL);
    float *out = c->out;
    const unsigned n = c->n;
    /* One loop per shape so each one vectorises. */
    switch (s->shape) {
    case KR_LFO_TRI:
        for (unsigned i = 0; i < n; i++)
            out[i] = tri_of(ph[i]);
        break;
    case KR_LFO_SAW:
        for (unsigned i = 0; i < n; i++)
            out[i] = saw_of(ph[i]);
        break;
    case KR_LFO_SQUARE:
        for (unsigned i = 0; i < n; i++)
            out[i] = ph[i] < 0x80000000u ? 1.0f : -1.0f;
        break;
    default:
        for (unsigned i = 0; i < n; i++)
            out[i] = sine_of(ph[i]);
        break;
    }
    return 0;
}

/* ---- band-limited saw, square, pulse, triangle ---- */

/* The jump of the saw (-2) sits at phase 0. */
static inline float saw_bl(uint32_t p, float inv_dt)
{
    return saw_of(p) - 2.0f * blep(sphase(p) * inv_dt);
}

static int saw_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    float dt[KR_DSP_BLOCK], inv[KR_DSP_BLOCK];
    if (stopped(c, s, ph)) {
        c->out[0] = saw_bl(ph[0], INV_DT_MAX);
        return 1;
    }
    float *out = c->out;
    if (fill_phases(s, c, ph, dt, inv)) {
        const float iv = inv[0];
        for (unsigned i = 0; i < c->n; i++)
            out[i] = saw_bl(ph[i], iv);
    } else {
        for (unsigned i = 0; i < c->n; i++)
            out[i] = saw_bl(ph[i], inv[i]);
    }
    return 0;
}

/* Phase of the falling edge of a rectangle with this duty, one cycle = 2^32;
 * 2^32 itself (duty 1) means never low. duty is clamped to [0, 1], NaN → 1/2. */
static inline uint64_t duty_edge(float duty)
{
    if (!(duty >= 0.0f))
        duty = duty < 0.0f ? 0.0f : 0.5f;
    if (duty > 1.0f)
        duty = 1.0f;
    return (uint64_t)((double)duty * 4294967296.0 + 0.5);
}

/* Rectangle high on [0, edge): naive value plus a BLEP up at phase 0 and a
 * BLEP down at the edge. `hi`/`lo` are the levels (square ±1, pulse 1/0).
 * At duty 0 the two residuals cancel exactly, so the output is flat; duty 1
 * (edge 2^32) is handled by the caller. */
static inline float rect_bl(uint32_t p, float inv_dt, uint32_t edge, float hi, float lo)
{
    const float naive = p < edge ? hi : lo;
    return naive + (hi - lo) * (blep(sphase(p) * inv_dt) - blep(sphase(p - edge) * inv_dt));
}

static inline float rect_at(uint32_t p, float inv_dt, uint64_t edge, float hi, float lo)
{
    return edge > 0xFFFFFFFFu ? hi : rect_bl(p, inv_dt, (uint32_t)edge, hi, lo);
}

static int rect_run(osc_state *s, const kr_dsp_call *c, float hi, float lo)
{
    uint32_t ph[KR_DSP_BLOCK];
    float dt[KR_DSP_BLOCK], inv[KR_DSP_BLOCK];
    float *out = c->out;
    const float *duty = c->in[1];
    const int ud = KR_UNIFORM(c, 1);
    if (ud && duty_edge(duty[0]) > 0xFFFFFFFFu) {
        fill_phases(s, c, ph, NULL, NULL); /* the phase still runs */
        out[0] = hi;
        return 1;
    }
    if (stopped(c, s, ph) && ud) {
        out[0] = rect_at(ph[0], INV_DT_MAX, duty_edge(duty[0]), hi, lo);
        return 1;
    }
    const int uf = fill_phases(s, c, ph, dt, inv);
    const unsigned n = c->n;
    if (ud) {
        const uint32_t edge = (uint32_t)duty_edge(duty[0]);
        if (uf) {
            const float iv = inv[0];
            for (unsigned i = 0; i < n; i++)
                out[i] = rect_bl(ph[i], iv, edge, hi, lo);
        } else {
            for (unsigned i = 0; i < n; i++)
                out[i] = rect_bl(ph[i], inv[i], edge, hi, lo);
        }
    } else {
        for (unsigned i = 0; i < n; i++)
            out[i] = rect_at(ph[i], uf ? inv[0] : inv[i], duty_edge(duty[i]), hi, lo);
    }
    return 0;
}

static int square_run(void *state, const kr_dsp_call *c) { return rect_run(state, c, 1.0f, -1.0f); }
static int pulse_run(void *state, const kr_dsp_call *c) { return rect_run(state, c, 1.0f, 0.0f); }

/* Slopes ±4 cycles^-1, i.e. ±4*dt per sample: the slope changes by -8*dt at
 * the peak (phase 1/4) and by +8*dt at the trough (phase 3/4). */
static inline float tri_bl(uint32_t p, float dt, float inv_dt)
{
    const float peak = blamp(sphase(p - 0x40000000u) * inv_dt);
    const float trough = blamp(sphase(p - 0xC0000000u) * inv_dt);
    return tri_of(p) + 8.0f * dt * (trough - peak);
}

static int triangle_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    float dt[KR_DSP_BLOCK], inv[KR_DSP_BLOCK];
    if (stopped(c, s, ph)) {
        c->out[0] = tri_of(ph[0]);
        return 1;
    }
    float *out = c->out;
    if (fill_phases(s, c, ph, dt, inv)) {
        const float d = dt[0], iv = inv[0];
        for (unsigned i = 0; i < c->n; i++)
            out[i] = tri_bl(ph[i], d, iv);
    } else {
        for (unsigned i = 0; i < c->n; i++)
            out[i] = tri_bl(ph[i], dt[i], inv[i]);
    }
    return 0;
}

/* ---- wavetable: one table per cycle, linear interpolation (wrapping) ---- */

static inline float table_at(const osc_state *s, uint32_t p)
{
    const uint64_t m = (uint64_t)p * (uint64_t)s->len; /* index.fraction, 32.32 */
    const long i = (long)(m >> 32);
    const long j = i + 1 < s->len ? i + 1 : 0;
    const float f = (float)((uint32_t)m >> 8) * 0x1p-24f;
    const float a = s->table[i], b = s->table[j];
    return a + (b - a) * f;
}

static int wavetable_run(void *state, const kr_dsp_call *c)
{
    osc_state *s = state;
    uint32_t ph[KR_DSP_BLOCK];
    if (s->len <= 0) {
        c->out[0] = 0.0f;
        return 1;
    }
    if (stopped(c, s, ph)) {
        c->out[0] = table_at(s, ph[0]);
        return 1;
    }
    fill_phases(s, c, ph, NULL, NULL);
    for (unsigned i = 0; i < c->n; i++)
        c->out[i] = table_at(s, ph[i]);
    return 0;
}

#define OSC(NAME, ARITY, RUN) { NAME, ARITY, 0, osc_size, osc_init, RUN, NULL }

const kr_op kr_ops_osc[] = {
    OSC("sine_osc", 1, sine_run),
    OSC("saw", 1, saw_run),
    OSC("square", 2, square_run),
    OSC("pulse", 2, pulse_run),
    OSC("triangle", 1, triangle_run),
    OSC("phasor", 1, phasor_run),
    OSC("lfo", 1, lfo_run),
    OSC("wavetable", 1, wavetable_run),
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};
