/* kr_test_fx.h — driving a kernel the way the executor does, for the filter,
 * delay and reverb kernel tests.
 *
 * fx_render runs an op over whole signals, cut into calls in one of several
 * ways, marking an input uniform wherever it is constant over a call (if the
 * test allows it). fx_split_mismatches runs every way and counts the samples
 * where any of them differs from the plain 128-sample non-uniform run: a
 * kernel must give identical results however a span is cut and whichever of
 * its paths (uniform or per-sample) runs. */
#ifndef KR_TEST_FX_H
#define KR_TEST_FX_H

#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kr_test.h"

#define FX_PI 3.14159265358979323846

enum { FX_BLOCKS, FX_BLOCKS_NONUNIFORM, FX_SINGLE, FX_RANDOM, FX_MODES };

static inline void *fx_new(const kr_op *op, const kr_op_attrs *attrs, double sr)
{
    size_t size = op->state_size(attrs, sr);
    void *st = calloc(1, size ? size : 1);
    op->init(st, attrs, sr);
    return st;
}

static unsigned fx_rand_state = 12345u;
static inline unsigned fx_rand(void)
{
    fx_rand_state = fx_rand_state * 1664525u + 1013904223u;
    return fx_rand_state >> 8;
}

/* Uniform in [-1, 1). */
static inline float fx_noise(void)
{
    return (float)(fx_rand() & 0xffffff) / 8388608.0f - 1.0f;
}

/* Run `st` over `total` samples of ins[0..arity) into out. Input k may be
 * passed uniform where constant over a call if bit k of may_uniform is set. */
static inline void fx_run(const kr_op *op, void *st, const float *const *ins, unsigned may_uniform,
                   long total, int mode, float *out)
{
    long pos = 0;
    while (pos < total) {
        long n = KR_DSP_BLOCK;
        if (mode == FX_SINGLE)
            n = 1;
        else if (mode == FX_RANDOM)
            n = 1 + (long)(fx_rand() % (fx_rand() % 4 == 0 ? 3 : KR_DSP_BLOCK));
        if (n > total - pos)
            n = total - pos;
        kr_dsp_call call;
        memset(&call, 0, sizeof call);
        call.n = (unsigned)n;
        call.out = out + pos;
        for (int k = 0; k < op->arity; k++) {
            call.in[k] = ins[k] + pos;
            int constant = mode != FX_BLOCKS_NONUNIFORM && ((may_uniform >> k) & 1u);
            for (long i = 1; constant && i < n; i++)
                constant = ins[k][pos + i] == ins[k][pos];
            if (constant)
                call.uniform |= 1u << k;
        }
        if (op->run(st, &call))
            for (long i = 1; i < n; i++)
                out[pos + i] = out[pos];
        pos += n;
    }
}

/* A fresh instance over the signals, in blocks of 128 with uniform inputs. */
static inline void fx_render(const kr_op *op, const kr_op_attrs *attrs, double sr,
                      const float *const *ins, long total, float *out)
{
    void *st = fx_new(op, attrs, sr);
    fx_run(op, st, ins, ~0u, total, FX_BLOCKS, out);
    free(st);
}

/* Samples where some way of cutting the calls differs from the plain run. */
static inline long fx_split_mismatches(const kr_op *op, const kr_op_attrs *attrs, double sr,
                                const float *const *ins, unsigned may_uniform, long total)
{
    float *ref = malloc(sizeof(float) * (size_t)total);
    float *got = malloc(sizeof(float) * (size_t)total);
    long bad = 0;
    void *st = fx_new(op, attrs, sr);
    fx_run(op, st, ins, may_uniform, total, FX_BLOCKS_NONUNIFORM, ref);
    free(st);
    for (int mode = 0; mode < FX_MODES; mode++) {
        st = fx_new(op, attrs, sr);
        fx_run(op, st, ins, may_uniform, total, mode, got);
        free(st);
        for (long i = 0; i < total; i++)
            if (!(got[i] == ref[i]))
                bad++;
    }
    free(ref);
    free(got);
    return bad;
}

static inline int fx_all_finite(const float *x, long n)
{
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static inline float *fx_const(long n, float v)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++)
        x[i] = v;
    return x;
}

static inline float *fx_impulse(long n)
{
    float *x = fx_const(n, 0.0f);
    x[0] = 1.0f;
    return x;
}

static inline float *fx_noise_signal(long n, float amp)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++)
        x[i] = amp * fx_noise();
    return x;
}

/* |DFT of h at frequency f|, h of length n at rate sr. */
static inline double fx_dft_mag(const float *h, long n, double f, double sr)
{
    double re = 0, im = 0, w = 2 * FX_PI * f / sr;
    double cr = 1, ci = 0, dr = cos(w), di = -sin(w);
    for (long i = 0; i < n; i++) {
        if ((i & 255) == 0) /* re-anchor the rotating phasor */
            cr = cos(w * (double)i), ci = -sin(w * (double)i);
        re += h[i] * cr;
        im += h[i] * ci;
        double t = cr * dr - ci * di;
        ci = cr * di + ci * dr;
        cr = t;
    }
    return sqrt(re * re + im * im);
}

static inline double fx_rms(const float *x, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? sqrt(s / (double)n) : 0.0;
}

static inline double fx_db(double g)
{
    return 20.0 * log10(g);
}

#endif
