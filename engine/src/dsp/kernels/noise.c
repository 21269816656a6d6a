/* noise.c — white_noise and pink_noise.
 *
 * The generator is SplitMix64: a Weyl counter (+= golden-ratio constant)
 * through a 64-bit finalising hash. It passes BigCrush, its state is one word,
 * and each sample depends only on the counter, so the hashing of a block has
 * no loop-carried dependency. The seed is hashed into the counter's start, so
 * nearby seeds start far apart in the 2^64-long sequence (decorrelated). */
#include "kernels.h"

#define GOLDEN 0x9e3779b97f4a7c15ull

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 25 bits as an odd integer in (-2^24, 2^24), scaled: uniform on the 2^24
 * points symmetric about 0 in (-1, 1); exact in float, mean exactly 0. */
static inline float to_unit(uint32_t bits25)
{
    return (float)((int32_t)(bits25 | 1u) - (1 << 24)) * 0x1p-24f;
}

static inline uint64_t seed_counter(uint64_t seed, uint64_t salt)
{
    return mix64(seed ^ salt);
}

/* The stream of samples: each 64-bit output gives two (its top and bottom
 * 25 bits). The state remembers a pending second half, so the stream is the
 * same however it is cut into calls. */
typedef struct white_gen {
    uint64_t ctr;
    float pending;
    int has_pending;
} white_gen;

static inline void gen_seed(white_gen *g, uint64_t seed, uint64_t salt)
{
    g->ctr = seed_counter(seed, salt);
    g->pending = 0.0f;
    g->has_pending = 0;
}

static void gen_fill(white_gen *g, float *out, unsigned n)
{
    unsigned i = 0;
    if (n && g->has_pending) {
        out[i++] = g->pending;
        g->has_pending = 0;
    }
    /* Only the counter carries from one pair to the next (a 1-cycle add), so
     * the hashes of a block pipeline. */
    uint64_t x = g->ctr;
    for (; i + 2 <= n; i += 2) {
        x += GOLDEN;
        const uint64_t z = mix64(x);
        out[i] = to_unit((uint32_t)(z >> 39));
        out[i + 1] = to_unit((uint32_t)z & 0x1FFFFFFu);
    }
    g->ctr = x;
    if (i < n) {
        const uint64_t z = mix64(g->ctr += GOLDEN);
        out[i] = to_unit((uint32_t)(z >> 39));
        g->pending = to_unit((uint32_t)z & 0x1FFFFFFu);
        g->has_pending = 1;
    }
}

/* ---- white ---- */

static size_t white_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(white_gen);
}

static void white_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)sample_rate;
    gen_seed(state, attrs->seed, 0);
}

static int white_run(void *state, const kr_dsp_call *c)
{
    gen_fill(state, c->out, c->n);
    return 0;
}

/* ---- pink: Paul Kellet's refined filter (within 0.05 dB of -3 dB/octave
 * from 9.2 Hz to Nyquist at 44.1 kHz; at 48 and 96 kHz the 1/f band only
 * moves up with the rate, still covering the audible range). Six one-pole
 * lowpasses in parallel plus a direct and a one-sample-delayed term. The six
 * run as 8 float lanes (two zero) that the compiler vectorises; the loop is
 * bound by the one-pole recursion, not by the number of poles. Float is
 * plenty here: the rounding noise of the states is ~140 dB under the output. */

#define PINK_LANES 8
static const float PINK_POLE[PINK_LANES] = { 0.99886f, 0.99332f, 0.96900f, 0.86650f,
                                             0.55000f, -0.7616f, 0.0f, 0.0f };
static const float PINK_IN[PINK_LANES] = { 0.0555179f, 0.0750759f, 0.1538520f, 0.3104856f,
                                           0.5329522f, -0.0168980f, 0.0f, 0.0f };

/* Makes the output's standard deviation about 0.22, so that peaks over
 * seconds of noise sit near ±1 (the distribution is nearly Gaussian). */
#define PINK_GAIN 0.125f

typedef struct pink_state {
    white_gen gen;
    float b[PINK_LANES];
    float w_prev; /* last white sample (Kellet's b6 term) */
} pink_state;

static size_t pink_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(pink_state);
}

static void pink_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)sample_rate;
    pink_state *s = state;
    gen_seed(&s->gen, attrs->seed, 0x70696e6b6e6f6973ull); /* "pinknois" */
    for (int k = 0; k < PINK_LANES; k++)
        s->b[k] = 0.0f;
    s->w_prev = 0.0f;
}

static int pink_run(void *state, const kr_dsp_call *c)
{
    pink_state *s = state;
    float *out = c->out;
    gen_fill(&s->gen, out, c->n); /* white first, filtered in place */
    float b[PINK_LANES];
    for (int k = 0; k < PINK_LANES; k++)
        b[k] = s->b[k];
    float wp = s->w_prev;
    for (unsigned i = 0; i < c->n; i++) {
        const float w = out[i];
        for (int k = 0; k < PINK_LANES; k++)
            b[k] = PINK_POLE[k] * b[k] + PINK_IN[k] * w;
        /* summed as a vector reduction would: lanes k and k+4 first */
        const float sum = ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
        out[i] = PINK_GAIN * (sum + w * 0.5362f + wp * 0.115926f);
        wp = w;
    }
    for (int k = 0; k < PINK_LANES; k++)
        s->b[k] = b[k];
    s->w_prev = wp;
    return 0;
}

const kr_op kr_ops_noise[] = {
    { "white_noise", 0, 0, white_size, white_init, white_run, NULL },
    { "pink_noise", 0, 0, pink_size, pink_init, pink_run, NULL },
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};
