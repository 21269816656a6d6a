/* faust_diff.h — rendering one IR through both backends, for test_faust_diff.
 *
 * fd_ir builds a signal IR in C (the JSON of docs/signal-ir.md, then parsed by
 * kr_ir_parse like any request). fd_render runs a program — native or FAUST,
 * through the same kr_dsp_instance API — over given inputs, applying control
 * changes at their sample positions (block boundaries of FD_BLOCK). The
 * metrics compare what the two produce: SNR, band levels, decay times. */
#ifndef KR_FAUST_DIFF_H
#define KR_FAUST_DIFF_H

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "krach/dsp.h"
#include "krach/faust.h"
#include "krach/ir.h"
#include "kr_test.h"

#define FD_SR 48000.0
#define FD_BLOCK 64
#define FD_PI 3.14159265358979323846

/* ---- building an IR ----------------------------------------------------- */

typedef struct fd_ir {
    json_t *nodes, *controls;
    int inputs;
} fd_ir;

static inline fd_ir fd_begin(int inputs)
{
    fd_ir b = {json_array(), json_array(), inputs};
    return b;
}

static inline int fd_add(fd_ir *b, json_t *node)
{
    json_array_append_new(b->nodes, node);
    return (int)json_array_size(b->nodes) - 1;
}

static inline int fd_const(fd_ir *b, double v) { return fd_add(b, json_pack("{s:s,s:f}", "op", "const", "value", v)); }
static inline int fd_input(fd_ir *b, int k) { return fd_add(b, json_pack("{s:s,s:i}", "op", "input", "index", k)); }

/* Declares a control and returns a node reading it. */
static inline int fd_control(fd_ir *b, const char *name, double init, double lo, double hi)
{
    json_array_append_new(b->controls, json_pack("{s:s,s:f,s:f,s:f,s:f}", "name", name, "init",
                                                 init, "lo", lo, "hi", hi, "step", 0.0));
    return fd_add(b, json_pack("{s:s,s:i}", "op", "control", "index",
                               (int)json_array_size(b->controls) - 1));
}

/* An op over `n` inputs (variadic node indices); `attrs` (may be NULL) is
 * merged into the node and consumed. */
static inline int fd_opv(fd_ir *b, const char *op, json_t *attrs, int n, ...)
{
    json_t *node = attrs ? attrs : json_object();
    json_t *in = json_array();
    va_list args;
    va_start(args, n);
    for (int k = 0; k < n; k++)
        json_array_append_new(in, json_integer(va_arg(args, int)));
    va_end(args);
    json_object_set_new(node, "op", json_string(op));
    json_object_set_new(node, "in", in);
    return fd_add(b, node);
}
#define FD_NARGS(...) ((int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)))
#define fd_op(b, op, ...) fd_opv((b), (op), NULL, FD_NARGS(__VA_ARGS__), __VA_ARGS__)
#define fd_opa(b, op, attrs, ...) fd_opv((b), (op), (attrs), FD_NARGS(__VA_ARGS__), __VA_ARGS__)

/* The IR with these outputs, parsed; `b` stays usable (fd_free releases it). */
static inline int fd_end(fd_ir *b, kr_ir *ir, int nout, const int *outs)
{
    json_t *o = json_array();
    for (int c = 0; c < nout; c++)
        json_array_append_new(o, json_integer(outs[c]));
    json_t *root = json_pack("{s:i,s:i,s:O,s:O,s:o}", "krach_ir", 1, "inputs", b->inputs,
                             "controls", b->controls, "nodes", b->nodes, "outputs", o);
    kr_error err = {0};
    int rc = kr_ir_parse(root, ir, &err);
    if (rc)
        fprintf(stderr, "fd_end: %s\n", err.message);
    json_decref(root);
    return rc;
}

static inline void fd_free(fd_ir *b)
{
    json_decref(b->nodes);
    json_decref(b->controls);
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct fd_event {
    long at;            /* sample (rounded down to a block boundary) */
    const char *control;
    double value;
} fd_event;

/* Renders `frames` samples of `p` into out[c] (allocated here). */
static inline int fd_render(kr_dsp_program *p, float *const *inputs, long frames,
                            const fd_event *ev, int nev, float **out)
{
    kr_dsp_instance *inst = kr_dsp_instance_create(p);
    if (!inst)
        return -1;
    int nout = kr_dsp_program_outputs(p), nin = kr_dsp_program_inputs(p);
    for (int c = 0; c < nout; c++)
        out[c] = calloc((size_t)frames, sizeof(float));
    int next = 0;
    for (long pos = 0; pos < frames; pos += FD_BLOCK) {
        for (; next < nev && ev[next].at < pos + FD_BLOCK; next++) {
            int k = kr_dsp_program_find_control(p, ev[next].control);
            /* At sample 0 a value is the voice's starting one, given as the
             * engine gives it (immediate: no glide from the init value). */
            if (k >= 0)
                kr_dsp_instance_set_control(inst, k, ev[next].value, ev[next].at == 0);
        }
        unsigned n = (unsigned)(frames - pos < FD_BLOCK ? frames - pos : FD_BLOCK);
        const float *in[KR_IR_MAX_INPUTS] = {0};
        float *o[KR_IR_MAX_OUTPUTS];
        for (int k = 0; k < nin; k++)
            in[k] = inputs && inputs[k] ? inputs[k] + pos : NULL;
        for (int c = 0; c < nout; c++)
            o[c] = out[c] + pos;
        kr_dsp_instance_run(inst, in, o, n);
    }
    kr_dsp_instance_destroy(inst);
    return 0;
}

/* ---- metrics ---------------------------------------------------------------- */

/* 10 log10(sum a^2 / sum (a-b)^2) over [from, n); 999 when identical. */
static inline double fd_snr(const float *a, const float *b, long from, long n)
{
    double s = 0.0, e = 0.0;
    for (long i = from; i < n; i++) {
        s += (double)a[i] * a[i];
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    if (e == 0.0)
        return 999.0;
    return s == 0.0 ? -999.0 : 10.0 * log10(s / e);
}

static inline double fd_rms(const float *x, long from, long n)
{
    double s = 0.0;
    for (long i = from; i < n; i++)
        s += (double)x[i] * x[i];
    return n > from ? sqrt(s / (double)(n - from)) : 0.0;
}

/* Power of x in 1/3-octave bands from 25 Hz up (bands[k] centred on
 * 25·2^(k/3) Hz), averaged over Hann-windowed 8192-sample frames (dB). */
#define FD_BANDS 29
static inline void fd_third_octaves(const float *x, long n, double *db)
{
    enum { F = 8192 };
    double *re = malloc(F * sizeof(double)), *im = malloc(F * sizeof(double));
    double pw[FD_BANDS] = {0};
    for (long start = 0; start + F <= n; start += F / 2) {
        for (long i = 0; i < F; i++) {
            double w = 0.5 - 0.5 * cos(2.0 * FD_PI * (double)i / F);
            re[i] = x[start + i] * w;
            im[i] = 0.0;
        }
        /* radix-2 FFT */
        for (long i = 1, j = 0; i < F; i++) {
            long bit = F >> 1;
            for (; j & bit; bit >>= 1)
                j ^= bit;
            j ^= bit;
            if (i < j) {
                double t = re[i]; re[i] = re[j]; re[j] = t;
                t = im[i]; im[i] = im[j]; im[j] = t;
            }
        }
        for (long len = 2; len <= F; len <<= 1) {
            double ang = -2.0 * FD_PI / (double)len;
            for (long i = 0; i < F; i += len)
                for (long k = 0; k < len / 2; k++) {
                    double wr = cos(ang * k), wi = sin(ang * k);
                    double *ur = &re[i + k], *ui = &im[i + k];
                    double *vr = &re[i + k + len / 2], *vi = &im[i + k + len / 2];
                    double tr = *vr * wr - *vi * wi, ti = *vr * wi + *vi * wr;
                    *vr = *ur - tr; *vi = *ui - ti; *ur += tr; *ui += ti;
                }
        }
        for (long k = 1; k < F / 2; k++) {
            double f = k * FD_SR / F;
            int band = (int)floor(3.0 * log2(f / 25.0) + 0.5);
            if (band >= 0 && band < FD_BANDS)
                pw[band] += re[k] * re[k] + im[k] * im[k];
        }
    }
    for (int b = 0; b < FD_BANDS; b++)
        db[b] = 10.0 * log10(pw[b] + 1e-30);
    free(re);
    free(im);
}

/* Largest difference of the 1/3-octave band levels of a and b (dB), bands
 * from `lo_band` up (absolute levels, not normalised); *level gets the
 * difference of their total power over those bands (b relative to a). */
static inline double fd_band_diff(const float *a, const float *b, long n, int lo_band,
                                  double *level)
{
    double da[FD_BANDS], db[FD_BANDS], worst = 0.0, pa = 0.0, pb = 0.0;
    fd_third_octaves(a, n, da);
    fd_third_octaves(b, n, db);
    for (int k = lo_band; k < FD_BANDS; k++) {
        if (fabs(da[k] - db[k]) > worst)
            worst = fabs(da[k] - db[k]);
        pa += pow(10.0, da[k] / 10.0);
        pb += pow(10.0, db[k] / 10.0);
    }
    *level = 10.0 * log10(pb / pa);
    return worst;
}

/* T60 from the energy decay curve (Schroeder integration) of x from `from`:
 * the -5..-35 dB slope extrapolated to 60 dB, in seconds. */
static inline double fd_t60(const float *x, long from, long n)
{
    double *edc = malloc(sizeof(double) * (size_t)(n - from));
    double acc = 0.0;
    for (long i = n - 1; i >= from; i--) {
        acc += (double)x[i] * x[i];
        edc[i - from] = acc;
    }
    double total = edc[0];
    long t5 = -1, t35 = -1;
    for (long i = 0; i < n - from; i++) {
        double db = 10.0 * log10(edc[i] / total + 1e-300);
        if (t5 < 0 && db <= -5.0)
            t5 = i;
        if (t35 < 0 && db <= -35.0) {
            t35 = i;
            break;
        }
    }
    free(edc);
    if (t5 < 0 || t35 < 0)
        return -1.0;
    return (double)(t35 - t5) / FD_SR * 2.0;
}

#endif
