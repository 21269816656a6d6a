/* kr_test_run.h — running one kernel over whole signals, for the math, osc,
 * noise, env and table kernel tests, plus spectrum helpers.
 *
 * kt_render cuts a span into calls of given sizes, passes an input uniform
 * when the test says so (then the kernel gets a pointer to that one value, so
 * reading past it is an ASan error), checks the output contract (a call that
 * returns 0 wrote all n samples, one that returns 1 wrote out[0]) and expands
 * uniform outputs. kt_split_ok renders the same span cut three ways and checks
 * that the results are bit-identical. */
#ifndef KR_TEST_RUN_H
#define KR_TEST_RUN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kr_test.h"

#define KT_PI 3.14159265358979323846

/* An input: a whole signal, or one value passed uniform. */
typedef struct kt_sig {
    const float *data;
    int uniform;
} kt_sig;

static inline kt_sig kt_arr(const float *data) { return (kt_sig){ data, 0 }; }
static inline kt_sig kt_uni(const float *value) { return (kt_sig){ value, 1 }; }

/* Call sizes, cycled; 0 ends a list. */
static const unsigned KT_BLOCKS[] = { KR_DSP_BLOCK, 0 };
static const unsigned KT_SPLIT[] = { 1, 7, 128, 1, 1, 33, 64, 2, 127, 5, 1, 100, 0 };
static const unsigned KT_SINGLE[] = { 1, 0 };

static inline void *kt_new(const kr_op *op, const kr_op_attrs *attrs, double sr)
{
    size_t size = op->state_size(attrs, sr);
    void *st = calloc(1, size ? size : 1);
    op->init(st, attrs, sr);
    return st;
}

static const uint32_t KT_SENTINEL = 0x7fc0dead; /* a NaN no kernel computes */

static inline int kt_is_sentinel(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u == KT_SENTINEL;
}

/* Runs `st` over `total` samples; returns how many calls returned uniform. */
static inline long kt_render(const kr_op *op, void *st, const kt_sig *in, float *out, long total,
                             const unsigned *sizes)
{
    long pos = 0, uniform_calls = 0;
    int k = 0;
    while (pos < total) {
        long n = sizes[k];
        if (!sizes[++k])
            k = 0;
        if (n > total - pos)
            n = total - pos;
        kr_dsp_call c;
        memset(&c, 0, sizeof c);
        for (int j = 0; j < op->arity; j++) {
            if (in[j].uniform) {
                c.in[j] = in[j].data;
                c.uniform |= 1u << j;
            } else {
                c.in[j] = in[j].data + pos;
            }
        }
        float buf[KR_DSP_BLOCK];
        for (long i = 0; i < n; i++)
            memcpy(&buf[i], &KT_SENTINEL, sizeof(float));
        c.out = buf;
        c.n = (unsigned)n;
        if (op->run(st, &c)) {
            uniform_calls++;
            CHECK(!kt_is_sentinel(buf[0]));
            for (long i = 0; i < n; i++)
                out[pos + i] = buf[0];
        } else {
            int unwritten = 0;
            for (long i = 0; i < n; i++)
                unwritten += kt_is_sentinel(buf[i]);
            CHECK(unwritten == 0);
            memcpy(out + pos, buf, (size_t)n * sizeof(float));
        }
        pos += n;
    }
    return uniform_calls;
}

/* Renders from a fresh state. */
static inline long kt_render_new(const kr_op *op, const kr_op_attrs *attrs, double sr,
                                 const kt_sig *in, float *out, long total, const unsigned *sizes)
{
    void *st = kt_new(op, attrs, sr);
    long u = kt_render(op, st, in, out, total, sizes);
    free(st);
    return u;
}

static inline int kt_same_bits(const float *a, const float *b, long n)
{
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* Same result cut into 128-sample calls, irregular calls, and 1-sample calls. */
static inline int kt_split_ok(const kr_op *op, const kr_op_attrs *attrs, double sr, const kt_sig *in,
                              long total)
{
    float *a = malloc((size_t)total * sizeof(float));
    float *b = malloc((size_t)total * sizeof(float));
    float *c = malloc((size_t)total * sizeof(float));
    kt_render_new(op, attrs, sr, in, a, total, KT_BLOCKS);
    kt_render_new(op, attrs, sr, in, b, total, KT_SPLIT);
    kt_render_new(op, attrs, sr, in, c, total, KT_SINGLE);
    int ok = kt_same_bits(a, b, total) && kt_same_bits(a, c, total);
    if (!ok)
        fprintf(stderr, "  split mismatch in %s\n", op->name);
    free(a);
    free(b);
    free(c);
    return ok;
}

static inline int kt_all_finite(const float *x, long n)
{
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* In-place radix-2 complex FFT (n a power of two). */
static inline void kt_fft(double *re, double *im, long n)
{
    for (long i = 1, j = 0; i < n; i++) {
        long bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (long len = 2; len <= n; len <<= 1) {
        const double ang = -2.0 * KT_PI / (double)len;
        for (long i = 0; i < n; i += len) {
            for (long k = 0; k < len / 2; k++) {
                const double wr = cos(ang * (double)k), wi = sin(ang * (double)k);
                double *ur = &re[i + k], *ui = &im[i + k];
                double *vr = &re[i + k + len / 2], *vi = &im[i + k + len / 2];
                const double tr = *vr * wr - *vi * wi, ti = *vr * wi + *vi * wr;
                *vr = *ur - tr;
                *vi = *ui - ti;
                *ur += tr;
                *ui += ti;
            }
        }
    }
}

/* Power |X[k]|^2 of a real signal for k = 0..n/2, by a direct DFT (any n:
 * lets a test pick n so that every partial falls exactly on a bin). */
static inline void kt_dft_power(const float *x, long n, double *power)
{
    double *cs = malloc((size_t)n * sizeof(double)), *sn = malloc((size_t)n * sizeof(double));
    for (long i = 0; i < n; i++) {
        cs[i] = cos(2.0 * KT_PI * (double)i / (double)n);
        sn[i] = sin(2.0 * KT_PI * (double)i / (double)n);
    }
    for (long k = 0; k <= n / 2; k++) {
        double re = 0.0, im = 0.0;
        long idx = 0;
        for (long i = 0; i < n; i++) {
            re += x[i] * cs[idx];
            im -= x[i] * sn[idx];
            idx += k;
            if (idx >= n)
                idx -= n;
        }
        power[k] = re * re + im * im;
    }
    free(cs);
    free(sn);
}

#endif
