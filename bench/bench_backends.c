/* bench_backends.c — krach's two DSP backends on the same IR, in one process.
 *
 *   bench_backends [--ir DIR] [--seconds S] [--reps R] [--compile-runs N]
 *
 * For each seed synth (bench/build/<synth>.json, written by bench/make_ir.py):
 * 1. Compile time, wall clock: the native compiler (kr_ir_parse +
 *    kr_dsp_build NATIVE) against the FAUST backend (kr_ir_parse + export +
 *    libfaust's LLVM compile, kr_dsp_build FAUST) with no cache, and the FAUST
 *    backend again with the engine's cache holding the program (what
 *    re-evaluating the same synth costs). Medians of several runs; the native
 *    compile, being ~10^4 times faster, gets many more runs.
 * 2. Render throughput: `seconds` of audio at 48 kHz in 256-frame blocks,
 *    through the same kr_dsp_instance calls for both programs, driven by the
 *    same control schedule (a gate every 1/8 s, four notes, a moving cutoff);
 *    CPU time of the process, the best of `reps`, interleaved.
 *
 * libfaust keeps its own table of live factories; each uncached run releases
 * its program (and so the factory) before the next, so every run compiles.
 * (Each such compile leaks about 370 KB inside libLLVM: docs/faust.md.) */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

#include "krach/dsp.h"
#include "krach/faust.h"
#include "krach/ir.h"
#include "krach/rt.h"

#define SAMPLE_RATE 48000
#define BLOCK 256

static const char *const synth_names[] = {"kick", "hat", "bass", "reverb_fx", "patch"};

static struct {
    const char *ir_dir;
    double seconds;
    int reps, compile_runs, faust_runs;
} opt = {"bench/build", 60.0, 5, 2000, 5};

static json_t *load_ir(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", opt.ir_dir, name);
    json_error_t jerr;
    json_t *json = json_load_file(path, 0, &jerr);
    if (!json)
        fprintf(stderr, "bench_backends: %s: %s (run bench/make_ir.py first)\n", path, jerr.text);
    return json;
}

/* Parses and compiles with `backend`; exits on failure (a benchmark of a
 * synth that does not compile would measure nothing). */
static kr_dsp_program *build(json_t *json, kr_dsp_backend backend, kr_faust_cache *cache,
                             const char *name)
{
    kr_ir ir;
    kr_error error = {0};
    kr_dsp_program *p = NULL;
    if (kr_ir_parse(json, &ir, &error) == 0) {
        p = kr_dsp_build(&ir, SAMPLE_RATE, backend, cache, &error);
        kr_ir_free(&ir);
    }
    if (!p) {
        fprintf(stderr, "bench_backends: %s: %s\n", name, error.message);
        exit(1);
    }
    return p;
}

/* The control schedule at a block start (controls a synth lacks are skipped). */
static void schedule(unsigned long frame, double *gate, double *freq, double *cutoff)
{
    static const double notes[4] = {110.0, 146.832383958665, 110.0, 82.4068892282175};
    double t = (double)frame / SAMPLE_RATE;
    *gate = fmod(t, 0.25) < 0.125 ? 1.0 : 0.0;
    *freq = notes[(long)floor(t / 0.25) % 4];
    *cutoff = 1100.0 + 900.0 * sin(2.0 * M_PI * floor(t / 0.125) * 0.125 / 7.5);
}

/* Renders `frames` with a fresh instance; returns CPU ns (output in `out`). */
static double render(kr_dsp_program *p, float *out, const float *input, unsigned long frames)
{
    kr_dsp_instance *inst = kr_dsp_instance_create(p);
    int gate = kr_dsp_program_find_control(p, "gate");
    int freq = kr_dsp_program_find_control(p, "freq");
    int cutoff = kr_dsp_program_find_control(p, "cutoff");
    static float scratch[KR_MAX_CHANNELS][BLOCK];
    double t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned long f = 0; f < frames; f += BLOCK) {
        unsigned n = frames - f < BLOCK ? (unsigned)(frames - f) : BLOCK;
        double g, fr, c;
        schedule(f, &g, &fr, &c);
        if (gate >= 0)
            kr_dsp_instance_set_control(inst, gate, g, false);
        if (freq >= 0)
            kr_dsp_instance_set_control(inst, freq, fr, false);
        if (cutoff >= 0)
            kr_dsp_instance_set_control(inst, cutoff, c, false);
        const float *in[1] = {input + f};
        float *outs[KR_MAX_CHANNELS] = {out + f};
        for (int ch = 1; ch < KR_MAX_CHANNELS; ch++)
            outs[ch] = scratch[ch];
        kr_dsp_instance_run(inst, in, outs, n);
    }
    double ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
    kr_dsp_instance_destroy(inst);
    return ns;
}

/* 20·log10 of the RMS ratio x / ref. */
static double level_db(const float *ref, const float *x, unsigned long n)
{
    double a = 0, b = 0;
    for (unsigned long i = 0; i < n; i++) {
        a += (double)ref[i] * ref[i];
        b += (double)x[i] * x[i];
    }
    return 10 * log10(b / a);
}

static double snr_db(const float *ref, const float *x, unsigned long n)
{
    double s = 0, e = 0;
    for (unsigned long i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)ref[i] - x[i]) * ((double)ref[i] - x[i]);
    }
    return e == 0 ? INFINITY : 10 * log10(s / e);
}

/* Native compile µs, uncached FAUST compile ms, cached FAUST compile µs. */
static void bench_compile(const char *name, json_t *json, double out[3])
{
    double *t = malloc(sizeof(double) * (size_t)opt.compile_runs);
    for (int i = 0; i < opt.compile_runs; i++) {
        double t0 = now_ns(CLOCK_MONOTONIC);
        kr_dsp_program *p = build(json, KR_DSP_BACKEND_NATIVE, NULL, name);
        t[i] = now_ns(CLOCK_MONOTONIC) - t0;
        kr_dsp_program_release(p);
    }
    out[0] = median(t, opt.compile_runs) / 1e3;
    /* Uncached: no krach cache, and the program released before the next
     * run so that libfaust's table no longer holds the factory. */
    for (int i = 0; i < opt.faust_runs; i++) {
        double t0 = now_ns(CLOCK_MONOTONIC);
        kr_dsp_program *p = build(json, KR_DSP_BACKEND_FAUST, NULL, name);
        t[i] = now_ns(CLOCK_MONOTONIC) - t0;
        kr_dsp_program_release(p);
    }
    out[1] = median(t, opt.faust_runs) / 1e6;
    kr_faust_cache *cache = kr_faust_cache_create(4);
    kr_dsp_program_release(build(json, KR_DSP_BACKEND_FAUST, cache, name));
    int runs = opt.compile_runs / 10 > 0 ? opt.compile_runs / 10 : 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ns(CLOCK_MONOTONIC);
        kr_dsp_program *p = build(json, KR_DSP_BACKEND_FAUST, cache, name);
        t[i] = now_ns(CLOCK_MONOTONIC) - t0;
        kr_dsp_program_release(p);
    }
    out[2] = median(t, runs) / 1e3;
    kr_faust_cache_destroy(cache);
    free(t);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_backends [--ir DIR] [--seconds S] [--reps R] "
                    "[--compile-runs N] [--faust-runs N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--ir"))
            opt.ir_dir = v;
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--reps"))
            opt.reps = atoi(v);
        else if (!strcmp(a, "--compile-runs"))
            opt.compile_runs = atoi(v);
        else if (!strcmp(a, "--faust-runs"))
            opt.faust_runs = atoi(v);
        else
            usage();
        i++;
    }
    if (!kr_faust_available()) {
        fprintf(stderr, "bench_backends: the engine was built without libfaust\n");
        return 1;
    }
    if (opt.seconds <= 0 || opt.reps < 1 || opt.compile_runs < 1 || opt.faust_runs < 1)
        usage();
    kr_rt_flush_denormals();
    unsigned long frames = (unsigned long)(opt.seconds * SAMPLE_RATE);
    float *input = malloc(sizeof(float) * frames);
    float *a = malloc(sizeof(float) * frames), *b = malloc(sizeof(float) * frames);
    uint32_t seed = 12345;
    for (unsigned long i = 0; i < frames; i++) { /* a noise input for the effects */
        seed = seed * 1664525u + 1013904223u;
        input[i] = 0.25f * ((float)(seed >> 8) / 8388608.0f - 1.0f);
    }
    printf("#### Native compiler vs the FAUST backend (libfaust LLVM), same IR\n\n");
    printf("| synth | native compile | FAUST compile | FAUST, cached | native render | "
           "FAUST render | native ÷ FAUST | agreement |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof synth_names / sizeof synth_names[0]; s++) {
        const char *name = synth_names[s];
        json_t *json = load_ir(name);
        if (!json)
            return 1;
        double compile[3];
        bench_compile(name, json, compile);
        kr_dsp_program *native = build(json, KR_DSP_BACKEND_NATIVE, NULL, name);
        kr_dsp_program *faust = build(json, KR_DSP_BACKEND_FAUST, NULL, name);
        double best_n = INFINITY, best_f = INFINITY;
        for (int r = 0; r < opt.reps; r++) {
            double tn = render(native, a, input, frames);
            double tf = render(faust, b, input, frames);
            best_n = tn < best_n ? tn : best_n;
            best_f = tf < best_f ? tf : best_f;
        }
        double ns_per_sample_n = best_n / (double)frames, ns_per_sample_f = best_f / (double)frames;
        /* White noise differs by design (docs/faust.md): compare levels. */
        bool noisy = !strcmp(name, "hat") || !strcmp(name, "patch");
        char agreement[64];
        if (noisy)
            snprintf(agreement, sizeof agreement, "level %+.2f dB", level_db(a, b, frames));
        else
            snprintf(agreement, sizeof agreement, "%.1f dB SNR", snr_db(a, b, frames));
        printf("| %s | %.1f µs | %.0f ms | %.1f µs | %.1f ns/sample (%.0f× real time) | "
               "%.1f ns/sample (%.0f× real time) | %.2f | %s |\n",
               name, compile[0], compile[1], compile[2], ns_per_sample_n,
               1e9 / SAMPLE_RATE / ns_per_sample_n, ns_per_sample_f,
               1e9 / SAMPLE_RATE / ns_per_sample_f, best_n / best_f, agreement);
        fflush(stdout);
        kr_dsp_program_release(native);
        kr_dsp_program_release(faust);
        json_decref(json);
    }
    printf("\nCompile: median wall time (native over %d runs, FAUST over %d, cached over %d). "
           "Render: %.0f s of audio at 48 kHz in %d-frame blocks, CPU time, best of %d. "
           "Agreement: SNR of the FAUST render against the native one; hat and the patch "
           "hold white noise, whose generators differ by design, so their RMS levels are "
           "compared instead.\n",
           opt.compile_runs, opt.faust_runs, opt.compile_runs / 10, opt.seconds, BLOCK, opt.reps);
    free(input);
    free(a);
    free(b);
    return 0;
}
