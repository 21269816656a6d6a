/* bench_dsp.c — krach's DSP compiler against FAUST, in one process.
 *
 *   bench_dsp [options]            (bench/run.sh builds and runs it)
 *
 * 1. Compile time: for each seed synth, the IR text (bench/build/<synth>.json,
 *    written by bench/make_ir.py) decoded (json_loads), validated
 *    (kr_ir_parse) and compiled (kr_dsp_compile), then an instance created;
 *    the median and minimum of many runs, wall clock (CLOCK_MONOTONIC), µs.
 * 2. Render: the same seconds of audio at 48 kHz, in blocks of 256 frames,
 *    with krach (kr_dsp_instance_run) and with the FAUST translation of the
 *    synth (bench/faust/<synth>.dsp through `faust -lang c`, built with the
 *    same compiler flags as the engine's release build), both driven by the
 *    same control changes at block starts. CPU time of the process
 *    (CLOCK_PROCESS_CPUTIME_ID) per render; each engine renders `reps` times,
 *    interleaved (krach, FAUST, FAUST, krach, ...) from a fresh instance; the
 *    table shows the best (least) time of each and their ratio krach ÷ FAUST,
 *    with the ratio of the medians beside it.
 *
 * Both run with the FPU flushing denormals to zero, as the engine's audio
 * thread does (kr_rt_flush_denormals). Under callgrind, `--engine` renders
 * with one engine only, and the render functions are named render_krach and
 * render_faust so they can be isolated (--toggle-collect): see callgrind.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

#include "faust_glue.h"
#include "krach/dsp.h"
#include "krach/ir.h"
#include "krach/rt.h"

#define SAMPLE_RATE 48000
#define MAX_CH 2

/* ---- the FAUST translations (faust_wrap.c, one object per class and variant) ---- */

#define SYNTHS(X) X(kick) X(hat) X(bass) X(reverb_fx) X(patch)
#define DECLARE(name)                                  \
    extern const bench_faust bench_faust_##name##_faust; \
    extern const bench_faust bench_faust_##name##_faust_nosmooth;
SYNTHS(DECLARE)
#undef DECLARE

typedef struct synth {
    const char *name;
    const bench_faust *faust;
    const bench_faust *faust_nosmooth;
} synth;

#define ENTRY(name) {#name, &bench_faust_##name##_faust, &bench_faust_##name##_faust_nosmooth},
static const synth synths[] = {SYNTHS(ENTRY)};
#undef ENTRY
#define NSYNTHS ((int)(sizeof synths / sizeof synths[0]))

/* ---- options ---- */

static struct {
    const char *ir_dir;
    double seconds;
    unsigned block;
    int reps;
    int compile_runs;
    int do_compile, do_render;
    int engines; /* bit 0 krach, 1 faust, 2 faust_nosmooth */
    const char *only[NSYNTHS + 1];
    int only_count;
    int verbose;
} opt = {"bench/build", 60.0, 256, 7, 2000, 1, 1, 7, {0}, 0, 0};

enum { ENG_KRACH = 1, ENG_FAUST = 2, ENG_FAUST_NOSMOOTH = 4 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_dsp [--ir DIR] [--seconds S] [--block N] [--reps R]\n"
            "                 [--compile-runs N] [--only compile|render]\n"
            "                 [--engine krach|faust|faust_nosmooth|all] [--synth NAME]... [-v]\n"
            "  --ir DIR          the traced IR (default bench/build)\n"
            "  --seconds S       audio rendered per run (default 60)\n"
            "  --block N         frames per run call (default 256)\n"
            "  --reps R          renders per engine and synth; the best is reported (default 7)\n"
            "  --compile-runs N  compile timings per synth (default 2000)\n"
            "  --engine E        render with one engine only (for callgrind; repeatable)\n"
            "  --synth NAME      only this synth (repeatable): kick hat bass reverb_fx patch\n");
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (text && fread(text, 1, (size_t)len, f) != (size_t)len) {
        free(text);
        text = NULL;
    }
    if (text)
        text[len] = 0;
    fclose(f);
    return text;
}

static kr_dsp_program *build_program(const char *text, const char *name)
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    if (!json) {
        fprintf(stderr, "bench_dsp: %s: not JSON: %s\n", name, jerr.text);
        return NULL;
    }
    kr_ir ir;
    kr_error error = {0};
    kr_dsp_program *p = NULL;
    if (kr_ir_parse(json, &ir, &error) == 0) {
        p = kr_dsp_compile(&ir, SAMPLE_RATE, &error);
        kr_ir_free(&ir);
    }
    json_decref(json);
    if (!p)
        fprintf(stderr, "bench_dsp: %s: %s\n", name, error.message);
    return p;
}

/* ---- 1. compile time ---- */

static void bench_compile(const synth *s, const char *text)
{
    int n = opt.compile_runs;
    double *t_json = malloc(sizeof(double) * (size_t)n), *t_parse = malloc(sizeof(double) * (size_t)n);
    double *t_comp = malloc(sizeof(double) * (size_t)n), *t_inst = malloc(sizeof(double) * (size_t)n);
    double *t_pc = malloc(sizeof(double) * (size_t)n), *t_all = malloc(sizeof(double) * (size_t)n);
    kr_dsp_stats st = {0};
    for (int r = 0; r < n; r++) {
        json_error_t jerr;
        kr_ir ir;
        kr_error error = {0};
        double t0 = now_ns(CLOCK_MONOTONIC);
        json_t *json = json_loads(text, 0, &jerr);
        double t1 = now_ns(CLOCK_MONOTONIC);
        int bad = !json || kr_ir_parse(json, &ir, &error) != 0;
        double t2 = now_ns(CLOCK_MONOTONIC);
        kr_dsp_program *p = bad ? NULL : kr_dsp_compile(&ir, SAMPLE_RATE, &error);
        double t3 = now_ns(CLOCK_MONOTONIC);
        kr_dsp_instance *inst = p ? kr_dsp_instance_create(p) : NULL;
        double t4 = now_ns(CLOCK_MONOTONIC);
        if (!inst) {
            fprintf(stderr, "bench_dsp: %s: compile failed: %s\n", s->name, error.message);
            exit(1);
        }
        st = *kr_dsp_program_stats(p);
        kr_dsp_instance_destroy(inst);
        kr_dsp_program_release(p);
        kr_ir_free(&ir);
        json_decref(json);
        t_json[r] = t1 - t0, t_parse[r] = t2 - t1, t_comp[r] = t3 - t2, t_inst[r] = t4 - t3;
        t_pc[r] = t3 - t1, t_all[r] = t4 - t0;
    }
    double first_pc = t_pc[0]; /* the first run: cold caches, as for a new node */
    printf("| %-9s | %d → %d | %d | %zu | %.1f | %.1f | %.1f | **%.1f** (first %.1f) | %.1f | %.1f |\n",
           s->name, st.ir_nodes, st.nodes, st.steps, st.state_bytes, median(t_json, n) / 1e3,
           median(t_parse, n) / 1e3, median(t_comp, n) / 1e3, median(t_pc, n) / 1e3, first_pc / 1e3,
           median(t_inst, n) / 1e3, median(t_all, n) / 1e3);
    free(t_json), free(t_parse), free(t_comp), free(t_inst), free(t_pc), free(t_all);
}

/* ---- 2. render ---- */

/* The control schedule, the same for both engines, applied at block starts:
 * - gate: on for 0.125 s at every 0.25 s step (a sixteenth-ish pulse);
 * - freq: steps through A2 D3 A2 E2, one note per step;
 * - cutoff: a 7.5 s sine sweep 200..2000 Hz (4 bars at 128 bpm, the seed
 *   patch's `kr.sine(200, 2000).over(4)`), a new value every 0.125 s;
 * - room: stays at its initial 0.7.
 * Controls a synth lacks are skipped. */
enum { C_GATE, C_FREQ, C_CUTOFF, C_COUNT };
static const char *const control_names[C_COUNT] = {"gate", "freq", "cutoff"};

static void schedule(unsigned long frame, double v[C_COUNT])
{
    static const double notes[4] = {110.0, 146.832383958665, 110.0, 82.4068892282175};
    double t = (double)frame / SAMPLE_RATE;
    long step = (long)floor(t / 0.25), eighth = (long)floor(t / 0.125);
    v[C_GATE] = fmod(t, 0.25) < 0.125 ? 1.0 : 0.0;
    v[C_FREQ] = notes[step % 4];
    v[C_CUTOFF] = 1100.0 + 900.0 * sin(2.0 * M_PI * (double)eighth * 0.125 / 7.5);
}

/* A FAUST instance's control zones, found through buildUserInterface. */
typedef struct zones {
    FAUSTFLOAT *zone[C_COUNT];
} zones;

static void ui_add(void *ui, const char *label, FAUSTFLOAT *zone)
{
    zones *z = ui;
    for (int c = 0; c < C_COUNT; c++)
        if (strcmp(label, control_names[c]) == 0)
            z->zone[c] = zone;
}
static void ui_slider(void *ui, const char *label, FAUSTFLOAT *zone, FAUSTFLOAT init, FAUSTFLOAT lo,
                      FAUSTFLOAT hi, FAUSTFLOAT step)
{
    (void)init, (void)lo, (void)hi, (void)step;
    ui_add(ui, label, zone);
}
static void ui_box(void *ui, const char *label) { (void)ui, (void)label; }
static void ui_close(void *ui) { (void)ui; }
static void ui_declare(void *ui, FAUSTFLOAT *zone, const char *key, const char *value)
{
    (void)ui, (void)zone, (void)key, (void)value;
}

static zones faust_zones(const bench_faust *f, void *dsp)
{
    zones z = {{0}};
    UIGlue ui;
    memset(&ui, 0, sizeof ui);
    ui.uiInterface = &z;
    ui.openTabBox = ui.openHorizontalBox = ui.openVerticalBox = ui_box;
    ui.closeBox = ui_close;
    ui.addButton = ui.addCheckButton = ui_add;
    ui.addVerticalSlider = ui.addHorizontalSlider = ui.addNumEntry = ui_slider;
    ui.declare = ui_declare;
    f->build_ui(dsp, &ui);
    return z;
}

typedef struct render_job {
    unsigned long frames;
    const float *input;  /* NULL for sources */
    float *output;       /* frames samples (channel 0) */
    const double *sched; /* C_COUNT values per block, computed before timing */
} render_job;

static double *make_schedule(unsigned long frames)
{
    unsigned long blocks = (frames + opt.block - 1) / opt.block;
    double *v = malloc(sizeof(double) * C_COUNT * blocks);
    for (unsigned long b = 0; b < blocks; b++)
        schedule(b * opt.block, v + b * C_COUNT);
    return v;
}

/* Renders with krach; returns CPU ns. */
__attribute__((noinline)) double render_krach(kr_dsp_instance *inst, const int idx[C_COUNT],
                                              const render_job *job)
{
    double last[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        last[c] = NAN;
    float scratch[MAX_CH][4096];
    const double *v = job->sched;
    double t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned long f = 0; f < job->frames; f += opt.block, v += C_COUNT) {
        unsigned n = job->frames - f < opt.block ? (unsigned)(job->frames - f) : opt.block;
        for (int c = 0; c < C_COUNT; c++)
            if (idx[c] >= 0 && v[c] != last[c]) {
                kr_dsp_instance_set_control(inst, idx[c], v[c], false);
                last[c] = v[c];
            }
        const float *in[1] = {job->input ? job->input + f : NULL};
        float *out[MAX_CH] = {job->output + f, scratch[1]};
        kr_dsp_instance_run(inst, job->input ? in : NULL, out, n);
    }
    (void)scratch;
    return now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
}

/* Renders with FAUST; returns CPU ns. */
__attribute__((noinline)) double render_faust(const bench_faust *fd, void *dsp, const zones *z,
                                              const render_job *job)
{
    double last[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        last[c] = NAN;
    const double *v = job->sched;
    double t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned long f = 0; f < job->frames; f += opt.block, v += C_COUNT) {
        unsigned n = job->frames - f < opt.block ? (unsigned)(job->frames - f) : opt.block;
        for (int c = 0; c < C_COUNT; c++)
            if (z->zone[c] && v[c] != last[c]) {
                *z->zone[c] = (FAUSTFLOAT)v[c];
                last[c] = v[c];
            }
        FAUSTFLOAT *in[1] = {(FAUSTFLOAT *)(job->input ? job->input + f : NULL)};
        FAUSTFLOAT *out[1] = {job->output + f};
        fd->compute(dsp, (int)n, in, out);
    }
    return now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
}

static double run_krach(kr_dsp_program *p, const render_job *job)
{
    kr_dsp_instance *inst = kr_dsp_instance_create(p);
    if (!inst) {
        fprintf(stderr, "bench_dsp: out of memory\n");
        exit(1);
    }
    int idx[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        idx[c] = kr_dsp_program_find_control(p, control_names[c]);
    double ns = render_krach(inst, idx, job);
    kr_dsp_instance_destroy(inst);
    return ns;
}

static double run_faust(const bench_faust *fd, const render_job *job)
{
    void *dsp = fd->create();
    fd->init(dsp, SAMPLE_RATE);
    zones z = faust_zones(fd, dsp);
    double ns = render_faust(fd, dsp, &z, job);
    fd->destroy(dsp);
    return ns;
}

/* The input of an effect: a plucked noise burst every 0.25 s (decaying
 * over ~30 ms), the same samples for both engines. */
static float *make_input(unsigned long frames)
{
    float *x = malloc(sizeof(float) * frames);
    uint32_t lcg = 12345;
    for (unsigned long i = 0; i < frames; i++) {
        double t = fmod((double)i / SAMPLE_RATE, 0.25);
        lcg = lcg * 1664525u + 1013904223u;
        double noise = (double)(int32_t)lcg / 2147483648.0;
        x[i] = (float)(0.5 * noise * exp(-t / 0.03));
    }
    return x;
}

static double rms(const float *x, unsigned long n)
{
    double acc = 0.0;
    for (unsigned long i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return sqrt(acc / (double)n);
}

static int finite_all(const float *x, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

typedef struct result {
    double med, min; /* CPU ns of one render */
    double rms;
    int finite;
} result;

static void summarise(result *r, double *t, int n, const float *out, unsigned long frames)
{
    double lo = t[0];
    for (int i = 1; i < n; i++)
        lo = t[i] < lo ? t[i] : lo;
    r->min = lo;
    r->med = median(t, n);
    r->rms = rms(out, frames);
    r->finite = finite_all(out, frames);
}

static void bench_render(const synth *s, const char *text)
{
    kr_dsp_program *p = build_program(text, s->name);
    if (!p)
        exit(1);
    unsigned long frames = (unsigned long)llround(opt.seconds * SAMPLE_RATE);
    int has_input = kr_dsp_program_inputs(p) > 0;
    float *input = has_input ? make_input(frames) : NULL;
    double *sched = make_schedule(frames);
    float *out[3];
    for (int e = 0; e < 3; e++) {
        out[e] = malloc(sizeof(float) * (frames + 4096));
        memset(out[e], 0, sizeof(float) * (frames + 4096)); /* touch the pages before timing */
    }
    const bench_faust *fd[3] = {NULL, s->faust, s->faust_nosmooth};
    int engines[3] = {ENG_KRACH, ENG_FAUST, ENG_FAUST_NOSMOOTH};
    double *t[3];
    for (int e = 0; e < 3; e++)
        t[e] = calloc((size_t)opt.reps, sizeof(double));
    /* Interleaved, the order reversed every other round, so drifts in the
     * machine's load fall on all engines alike. */
    for (int r = 0; r < opt.reps; r++) {
        for (int k = 0; k < 3; k++) {
            int e = r % 2 ? 2 - k : k;
            if (!(opt.engines & engines[e]))
                continue;
            render_job job = {frames, input, out[e], sched};
            t[e][r] = e == 0 ? run_krach(p, &job) : run_faust(fd[e], &job);
        }
    }
    result res[3] = {{0}};
    for (int e = 0; e < 3; e++)
        if (opt.engines & engines[e])
            summarise(&res[e], t[e], opt.reps, out[e], frames);
    double samples = (double)frames;
    /* The best of the repetitions: load from other processes only ever adds
     * time, so the minimum is the steadiest estimate on a shared machine; the
     * ratio of the medians is shown beside it as a check. */
    double k_ns = res[0].min / samples, f_ns = res[1].min / samples, n_ns = res[2].min / samples;
    /* Share of one core that rendering in real time at 48 kHz takes. */
    double k_load = 100.0 * res[0].min / (opt.seconds * 1e9);
    printf("| %-9s | %.2f | %.2f | **%.2f** (%.2f) | %.2f | %.2f | %.2f %% | %.4f / %.4f |%s\n", s->name,
           k_ns, f_ns, k_ns / f_ns, res[0].med / res[1].med, n_ns, k_ns / n_ns, k_load, res[0].rms,
           res[1].rms, (res[0].finite && res[1].finite) ? "" : " NON-FINITE OUTPUT");
    if (opt.verbose)
        printf("    median ns/sample: krach %.2f  faust %.2f  faust_nosmooth %.2f\n", res[0].med / samples,
               res[1].med / samples, res[2].med / samples);
    fflush(stdout);
    for (int e = 0; e < 3; e++)
        free(out[e]), free(t[e]);
    free(input);
    free(sched);
    kr_dsp_program_release(p);
}

/* For callgrind: render with the chosen engines, no table. */
static void render_quiet(const synth *s, const char *text)
{
    kr_dsp_program *p = build_program(text, s->name);
    if (!p)
        exit(1);
    unsigned long frames = (unsigned long)llround(opt.seconds * SAMPLE_RATE);
    float *input = kr_dsp_program_inputs(p) > 0 ? make_input(frames) : NULL;
    float *out = calloc(frames + 4096, sizeof(float));
    double *sched = make_schedule(frames);
    render_job job = {frames, input, out, sched};
    for (int r = 0; r < opt.reps; r++) {
        if (opt.engines & ENG_KRACH)
            run_krach(p, &job);
        if (opt.engines & ENG_FAUST)
            run_faust(s->faust, &job);
        if (opt.engines & ENG_FAUST_NOSMOOTH)
            run_faust(s->faust_nosmooth, &job);
    }
    printf("%s rms %.6f\n", s->name, rms(out, frames));
    free(sched);
    free(out);
    free(input);
    kr_dsp_program_release(p);
}

static int selected(const char *name)
{
    if (opt.only_count == 0)
        return 1;
    for (int i = 0; i < opt.only_count; i++)
        if (strcmp(opt.only[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int engines_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                              \
    do {                                                          \
        if (!v) {                                                 \
            fprintf(stderr, "bench_dsp: %s needs a value\n", a); \
            return 2;                                             \
        }                                                         \
        i++;                                                      \
    } while (0)
        if (strcmp(a, "--ir") == 0) {
            NEED_VALUE();
            opt.ir_dir = v;
        } else if (strcmp(a, "--seconds") == 0) {
            NEED_VALUE();
            opt.seconds = atof(v);
        } else if (strcmp(a, "--block") == 0) {
            NEED_VALUE();
            opt.block = (unsigned)atoi(v);
        } else if (strcmp(a, "--reps") == 0) {
            NEED_VALUE();
            opt.reps = atoi(v);
        } else if (strcmp(a, "--compile-runs") == 0) {
            NEED_VALUE();
            opt.compile_runs = atoi(v);
        } else if (strcmp(a, "--only") == 0) {
            NEED_VALUE();
            opt.do_compile = strcmp(v, "compile") == 0;
            opt.do_render = strcmp(v, "render") == 0;
            if (!opt.do_compile && !opt.do_render) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--engine") == 0) {
            NEED_VALUE();
            int e = strcmp(v, "krach") == 0            ? ENG_KRACH
                    : strcmp(v, "faust") == 0          ? ENG_FAUST
                    : strcmp(v, "faust_nosmooth") == 0 ? ENG_FAUST_NOSMOOTH
                    : strcmp(v, "all") == 0            ? 7
                                                       : 0;
            if (!e) {
                usage(stderr);
                return 2;
            }
            opt.engines = (engines_given ? opt.engines : 0) | e;
            engines_given = 1;
        } else if (strcmp(a, "--synth") == 0) {
            NEED_VALUE();
            if (opt.only_count < NSYNTHS)
                opt.only[opt.only_count++] = v;
        } else if (strcmp(a, "-v") == 0) {
            opt.verbose = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
#undef NEED_VALUE
    }
    if (opt.seconds <= 0 || opt.block < 1 || opt.block > 4096 || opt.reps < 1 || opt.compile_runs < 1) {
        fprintf(stderr, "bench_dsp: bad option value\n");
        return 2;
    }
    kr_rt_flush_denormals(); /* what the engine's audio thread does */

    char *texts[NSYNTHS];
    for (int i = 0; i < NSYNTHS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", opt.ir_dir, synths[i].name);
        texts[i] = selected(synths[i].name) ? read_text(path) : NULL;
        if (selected(synths[i].name) && !texts[i]) {
            fprintf(stderr, "bench_dsp: cannot read %s (%s); run bench/make_ir.py first\n", path,
                    strerror(errno));
            return 1;
        }
    }

    if (engines_given) { /* callgrind mode */
        for (int i = 0; i < NSYNTHS; i++)
            if (texts[i])
                render_quiet(&synths[i], texts[i]);
        return 0;
    }

    if (opt.do_compile) {
        printf("\n### Compile time (µs, median of %d runs, wall clock)\n\n", opt.compile_runs);
        printf("| synth     | IR → nodes | steps | state B | JSON decode | kr_ir_parse | kr_dsp_compile "
               "| parse + compile | instance | total |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < NSYNTHS; i++)
            if (texts[i])
                bench_compile(&synths[i], texts[i]);
    }
    if (opt.do_render) {
        printf("\n### Render: %.0f s at %d Hz in %u-frame blocks, CPU ns per sample, best of %d\n\n",
               opt.seconds, SAMPLE_RATE, opt.block, opt.reps);
        printf("| synth     | krach | FAUST | krach ÷ FAUST (of medians) | FAUST, controls unsmoothed "
               "| krach ÷ that | krach: one core at 48 kHz | RMS krach / FAUST |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < NSYNTHS; i++)
            if (texts[i])
                bench_render(&synths[i], texts[i]);
    }
    for (int i = 0; i < NSYNTHS; i++)
        free(texts[i]);
    return 0;
}
