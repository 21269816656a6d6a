/* reverb.c — Freeverb (Jezar at Dreampoint's public-domain design), mono.
 *
 * 8 parallel lowpass-feedback comb filters into 4 series Schroeder allpasses
 * (true allpasses, as in FAUST's freeverb: the original's "-in + bufout" form
 * is not allpass — it colours the sound and adds ~15 dB of gain), with delay
 * lengths scaled from 44.1 kHz to the sample rate. Output is wet only:
 * the op is meant as a send effect. Two additions to the original: a DC
 * blocker on the input (the combs' gain at DC is up to 1/(1-0.98) each, so any
 * offset in the send would come out hugely amplified) and a makeup gain.
 *
 * All delay buffers are power-of-two sized and share one running counter, so
 * every tap is a subtract and a mask; they live in the state block after the
 * header, addressed by offsets (not pointers) so the block is position-free. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define NCOMB 8
#define NALLP 4

static const int comb_tuning[NCOMB] = {1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617};
static const int allp_tuning[NALLP] = {556, 441, 341, 225};

/* Freeverb's constants, and ours: the input gain is Freeverb's 0.015; the
 * makeup brings the wet output near the level of the send (white noise at
 * room 0.5 comes out about 6.5 dB down; a full-scale impulse peaks near 0.07). */
#define FIXED_GAIN 0.015f
#define MAKEUP 8.0f
#define SCALE_ROOM 0.28f
#define OFFSET_ROOM 0.7f
#define SCALE_DAMP 0.4f
#define ALLP_FEEDBACK 0.5f

typedef struct delay_ref {
    uint32_t off;  /* first float of the buffer, from the data start */
    uint32_t mask; /* size - 1 (size a power of two) */
    uint32_t len;  /* the delay in samples */
} delay_ref;

typedef struct rv_state {
    uint32_t iota; /* the shared write counter */
    uint32_t total; /* floats of buffer after the header */
    double dc_r, dc_x1, dc_y1;
    float store[NCOMB]; /* the combs' damping lowpass states */
    delay_ref comb[NCOMB], allp[NALLP];
    float data[];
} rv_state;

/* Tiny values become exactly 0 (per sample, so deterministic however calls
 * are cut): no denormals, and a dying tail reaches true silence instead of
 * lingering in a rounding limit cycle. */
static inline float flush(float v)
{
    return fabsf(v) < 1e-15f ? 0.0f : v;
}

static uint32_t scaled_len(int len44, double sr)
{
    double d = floor(len44 * sr / 44100.0 + 0.5);
    return d < 1.0 ? 1u : d > 16777216.0 ? 16777216u : (uint32_t)d;
}

static uint32_t pow2_above(uint32_t len)
{
    uint32_t s = 1;
    while (s < len + 1)
        s <<= 1;
    return s;
}

/* Lays out the buffers (if st) and returns the floats they need. */
static uint32_t rv_layout(rv_state *st, double sr)
{
    uint32_t off = 0;
    for (int i = 0; i < NCOMB + NALLP; i++) {
        uint32_t len = scaled_len(i < NCOMB ? comb_tuning[i] : allp_tuning[i - NCOMB], sr);
        uint32_t size = pow2_above(len);
        if (st) {
            delay_ref *r = i < NCOMB ? &st->comb[i] : &st->allp[i - NCOMB];
            r->off = off;
            r->mask = size - 1;
            r->len = len;
        }
        off += size;
    }
    return off;
}

static size_t rv_size(const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    return sizeof(rv_state) + sizeof(float) * rv_layout(NULL, sr);
}

static void rv_init(void *state, const kr_op_attrs *attrs, double sr)
{
    (void)attrs;
    rv_state *st = state;
    st->total = rv_layout(st, sr);
    /* The input DC blocker: a first-order highpass at ~10 Hz. */
    st->dc_r = exp(-2.0 * 3.14159265358979323846 * 10.0 / sr);
}

static inline float clamp01(float v)
{
    return v >= 0.0f ? (v > 1.0f ? 1.0f : v) : 0.0f; /* NaN -> 0 */
}

/* One sample. fb: comb feedback; d1: damping; d2 = 1 - d1. */
static inline __attribute__((always_inline)) float rv_tick(rv_state *st, float *store, double *y1,
                                                             double *x1, uint32_t iota, float x,
                                                             float fb, float d1, float d2)
{
    float *data = st->data;
    double xd = x;
    double y = xd - *x1 + st->dc_r * *y1;
    y = fabs(y) < 1e-30 ? 0.0 : y;
    *x1 = xd;
    *y1 = y;
    /* Clamped so that even a (silly) full-range send cannot overflow the
     * combs, whose gain reaches 1/(1-0.98). */
    float in = (float)(y > 1e30 ? 1e30 : y < -1e30 ? -1e30 : y) * (FIXED_GAIN * MAKEUP);
    float acc = 0.0f;
    for (int c = 0; c < NCOMB; c++) {
        const delay_ref *r = &st->comb[c];
        float *buf = data + r->off;
        float out = buf[(iota - r->len) & r->mask];
        float s = flush(out * d2 + store[c] * d1);
        store[c] = s;
        buf[iota & r->mask] = in + s * fb;
        acc += out;
    }
    for (int a = 0; a < NALLP; a++) {
        const delay_ref *r = &st->allp[a];
        float *buf = data + r->off;
        float bufout = buf[(iota - r->len) & r->mask];
        float v = flush(acc + bufout * ALLP_FEEDBACK);
        buf[iota & r->mask] = v;
        acc = bufout - ALLP_FEEDBACK * v;
    }
    return acc;
}

static int rv_run(void *state, const kr_dsp_call *call)
{
    rv_state *st = state;
    float store[NCOMB];
    for (int c = 0; c < NCOMB; c++)
        store[c] = st->store[c];
    double x1 = st->dc_x1, y1 = st->dc_y1;
    uint32_t iota = st->iota;
    unsigned n = call->n;
    if (KR_UNIFORM(call, 1) && KR_UNIFORM(call, 2)) {
        float fb = clamp01(call->in[1][0]) * SCALE_ROOM + OFFSET_ROOM;
        float d1 = clamp01(call->in[2][0]) * SCALE_DAMP, d2 = 1.0f - d1;
        for (unsigned i = 0; i < n; i++)
            call->out[i] = rv_tick(st, store, &y1, &x1, iota++, KR_IN(call, 0, i), fb, d1, d2);
    } else {
        for (unsigned i = 0; i < n; i++) {
            float fb = clamp01(KR_IN(call, 1, i)) * SCALE_ROOM + OFFSET_ROOM;
            float d1 = clamp01(KR_IN(call, 2, i)) * SCALE_DAMP, d2 = 1.0f - d1;
            call->out[i] = rv_tick(st, store, &y1, &x1, iota++, KR_IN(call, 0, i), fb, d1, d2);
        }
    }
    for (int c = 0; c < NCOMB; c++)
        st->store[c] = store[c];
    st->dc_x1 = x1;
    st->dc_y1 = y1;
    st->iota = iota;
    return 0;
}

const kr_op kr_ops_reverb[] = {
    {"reverb", 3, 0, rv_size, rv_init, rv_run, NULL},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};
