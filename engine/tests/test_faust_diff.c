/* test_faust_diff.c — every native kernel against its FAUST export.
 *
 * Each case builds one IR (up to 8 outputs, each a use of the op under test
 * with other inputs), compiles it with the native compiler and with the FAUST
 * backend (kr_dsp_build: export, then libfaust), renders both through the same
 * instance API for 1 s at 48 kHz with the same inputs and control changes, and
 * compares them: SNR >= 60 dB for deterministic ops; noise by level and
 * 1/3-octave band levels. A table of the measured figures is printed
 * (docs/faust.md, "Differential tests"). Finally every op of the op table
 * must have been covered by some case. */
#include <stdio.h>

#include "faust_diff.h"

#define N 48000L
#define MIN_SNR 60.0

static float *S[64];
enum {
    A, B, NB, POS, Q1, Q2, WIDE, T, UNIT, DB, LIN, MIDI, HZ, NOISE, SWEEP, NSWEEP, FM, DUTY,
    CHIRP, CUT, GATE, PULSES, IDX, DTIME, BURST, CNT, CNT2, SIGNALS
};

static unsigned char covered[256];

static float *sig(void) { return calloc(N, sizeof(float)); }

static unsigned lcg_state = 12345u;
static float lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)((double)(lcg_state >> 8) / 16777216.0 * 2.0 - 1.0);
}

static void make_signals(void)
{
    for (int k = 0; k < SIGNALS; k++)
        S[k] = sig();
    double ph = 0.0;
    for (long i = 0; i < N; i++) {
        double t = (double)i / FD_SR, w = 2.0 * FD_PI * t;
        S[A][i] = (float)(3.0 * sin(w * 1.3) + 0.25 * sin(w * 97.0));
        S[B][i] = (float)(1.5 + 1.2 * sin(w * 0.7 + 1.0));
        S[NB][i] = -S[B][i];
        S[POS][i] = (float)(0.05 + 4.0 * (0.5 + 0.5 * sin(w * 0.9)));
        S[Q1][i] = (float)(floor(4.0 * sin(w * 2.0)) / 2.0);
        S[Q2][i] = (float)(floor(4.0 * cos(w * 3.0)) / 2.0);
        S[WIDE][i] = (float)(-8.0 + 16.0 * t + 0.3 * sin(w * 50.0));
        S[T][i] = (float)(-0.5 + 2.0 * t);
        S[UNIT][i] = (float)(0.999 * sin(w * 1.7));
        S[DB][i] = (float)(-100.0 + 120.0 * (0.5 + 0.5 * sin(w * 1.1)));
        S[LIN][i] = (float)(2.0 * (0.5 + 0.5 * sin(w * 1.1)));
        S[MIDI][i] = (float)(127.0 * (0.5 + 0.5 * sin(w * 0.6)));
        S[HZ][i] = (float)(20.0 + 19980.0 * (0.5 + 0.5 * sin(w * 0.6)));
        S[NOISE][i] = 0.5f * lcg();
        /* 20 Hz to 30 kHz, exponentially: past Nyquist, where the phase folds */
        S[SWEEP][i] = (float)(20.0 * pow(1500.0, t));
        S[NSWEEP][i] = -S[SWEEP][i];
        S[FM][i] = (float)(440.0 + 330.0 * sin(w * 5.5));
        S[DUTY][i] = (float)(0.5 + 0.7 * sin(w * 0.5)); /* past 0 and 1: clamped */
        ph += 20.0 * pow(1000.0, t) / FD_SR;
        S[CHIRP][i] = (float)(0.5 * sin(2.0 * FD_PI * ph));
        S[CUT][i] = (float)(1000.0 + 800.0 * sin(w * 3.0));
        S[GATE][i] = fmod(t, 0.25) < 0.12 ? 1.0f : 0.0f;
        S[PULSES][i] = (i % 4000) < 2 ? 1.0f : 0.0f;
        S[IDX][i] = (float)(-2.0 + 14.0 * t);
        S[DTIME][i] = (float)(0.005 + 0.004 * sin(w * 0.5));
        S[BURST][i] = fmod(t, 0.25) < 0.05 ? 0.5f * lcg() : 0.0f;
        S[CNT][i] = (float)i;
        S[CNT2][i] = (float)((double)i - 37.5);
    }
}

/* ---- running one case -------------------------------------------------- */

typedef struct diff_out {
    double snr[8];
    float *nat[8], *fst[8];
    int outputs;
} diff_out;

static void diff_free(diff_out *d)
{
    for (int c = 0; c < d->outputs; c++) {
        free(d->nat[c]);
        free(d->fst[c]);
    }
}

/* Builds both programs for one output of the IR and renders them. */
static int diff_one(const char *name, fd_ir *b, int out, const int *ins, const fd_event *ev,
                    int nev, long frames, float **nat, float **fst)
{
    kr_ir ir;
    if (fd_end(b, &ir, 1, &out)) {
        CHECK(!"the case's IR parses");
        return -1;
    }
    for (int i = 0; i < ir.node_count; i++)
        if (ir.nodes[i].kind == KR_IR_OP)
            for (int k = 0; kr_op_at(k); k++)
                if (kr_op_at(k) == ir.nodes[i].op)
                    covered[k] = 1;
    kr_error err = {0};
    kr_dsp_program *pn = kr_dsp_build(&ir, FD_SR, KR_DSP_BACKEND_NATIVE, NULL, &err);
    float *inputs[KR_IR_MAX_INPUTS] = {0};
    for (int k = 0; k < b->inputs; k++)
        inputs[k] = S[ins[k]];
    kr_dsp_program *pf = pn ? kr_dsp_build(&ir, FD_SR, KR_DSP_BACKEND_FAUST, NULL, &err) : NULL;
    kr_ir_free(&ir);
    if (!pn || !pf) {
        fprintf(stderr, "%s: %s\n", name, err.message);
        CHECK(!"both backends compile the case");
        if (pn)
            kr_dsp_program_release(pn);
        return -1;
    }
    fd_render(pn, inputs, frames, ev, nev, nat);
    fd_render(pf, inputs, frames, ev, nev, fst);
    kr_dsp_program_release(pn);
    kr_dsp_program_release(pf);
    return 0;
}

/* Each output of the IR as a program of its own (a program has at most
 * KR_MAX_CHANNELS outputs), rendered by both backends; 0 on success. */
static int diff_run(const char *name, fd_ir *b, int nout, const int *outs, const int *ins,
                    const fd_event *ev, int nev, long frames, diff_out *d)
{
    memset(d, 0, sizeof *d);
    int rc = 0;
    for (int c = 0; c < nout && !rc; c++) {
        rc = diff_one(name, b, outs[c], ins, ev, nev, frames, &d->nat[c], &d->fst[c]);
        if (!rc)
            d->snr[c] = fd_snr(d->nat[c], d->fst[c], 0, frames);
        d->outputs = c + 1;
    }
    fd_free(b);
    if (rc)
        diff_free(d);
    return rc;
}

/* A deterministic case: every output must agree to `min_snr`. */
static void diff_case(const char *name, fd_ir *b, int nout, const int *outs, const int *ins,
                      const fd_event *ev, int nev, double min_snr, const char *const *labels)
{
    diff_out d;
    if (diff_run(name, b, nout, outs, ins, ev, nev, N, &d))
        return;
    for (int c = 0; c < nout; c++) {
        double rms = fd_rms(d.nat[c], 0, N);
        printf("  %-14s %-34s %7.1f dB%s\n", name, labels[c], d.snr[c],
               d.snr[c] >= min_snr ? "" : "   <-- below the bound");
        CHECK(d.snr[c] >= min_snr);
        if (!(rms > 1e-4))
            fprintf(stderr, "%s, %s: the native output is silent (rms %g)\n", name, labels[c], rms);
        CHECK(rms > 1e-4); /* a comparison of silences proves nothing */
    }
    diff_free(&d);
}

#define OUTS(...) (int[]){__VA_ARGS__}, FD_NARGS(__VA_ARGS__)
#define LABELS(...) ((const char *const[]){__VA_ARGS__})

/* ---- arithmetic ---------------------------------------------------------- */

static void math_cases(void)
{
    static const int ins[] = {A, B, NB, POS, Q1, Q2, WIDE, T};
    fd_ir b = fd_begin(8);
    int a = fd_input(&b, 0), bb = fd_input(&b, 1), nb = fd_input(&b, 2), pos = fd_input(&b, 3);
    int q1 = fd_input(&b, 4), q2 = fd_input(&b, 5), wide = fd_input(&b, 6), t = fd_input(&b, 7);
    int o[8] = {fd_op(&b, "add", a, bb), fd_op(&b, "sub", a, bb), fd_op(&b, "mul", a, bb),
                fd_op(&b, "div", a, bb), fd_op(&b, "floordiv", wide, bb),
                fd_op(&b, "floordiv", wide, nb), fd_op(&b, "mod", wide, bb),
                fd_op(&b, "mod", wide, nb)};
    diff_case("math", &b, 8, o, ins, NULL, 0, MIN_SNR,
              LABELS("add", "sub", "mul", "div", "floordiv b>0", "floordiv b<0", "mod b>0",
                     "mod b<0"));

    b = fd_begin(8);
    a = fd_input(&b, 0), bb = fd_input(&b, 1), nb = fd_input(&b, 2), pos = fd_input(&b, 3);
    q1 = fd_input(&b, 4), q2 = fd_input(&b, 5), wide = fd_input(&b, 6), t = fd_input(&b, 7);
    int o2[8] = {fd_op(&b, "pow", pos, a), fd_op(&b, "fmod", wide, bb),
                 fd_op(&b, "remainder", wide, bb), fd_op(&b, "atan2", a, nb),
                 fd_op(&b, "min", a, bb), fd_op(&b, "max", a, bb), fd_op(&b, "lt", q1, q2),
                 fd_op(&b, "le", q1, q2)};
    diff_case("math", &b, 8, o2, ins, NULL, 0, MIN_SNR,
              LABELS("pow", "fmod", "remainder", "atan2", "min", "max", "lt", "le"));

    b = fd_begin(8);
    a = fd_input(&b, 0), bb = fd_input(&b, 1), nb = fd_input(&b, 2), pos = fd_input(&b, 3);
    q1 = fd_input(&b, 4), q2 = fd_input(&b, 5), wide = fd_input(&b, 6), t = fd_input(&b, 7);
    int o3[8] = {fd_op(&b, "gt", q1, q2), fd_op(&b, "ge", q1, q2), fd_op(&b, "eq", q1, q2),
                 fd_op(&b, "ne", q1, q2), fd_op(&b, "select2", q1, a, bb),
                 fd_op(&b, "clip", a, nb, bb), fd_op(&b, "lerp", a, bb, t),
                 fd_op(&b, "wrap", wide, nb, bb)};
    diff_case("math", &b, 8, o3, ins, NULL, 0, MIN_SNR,
              LABELS("gt", "ge", "eq", "ne", "select2", "clip", "lerp", "wrap"));
    (void)pos;
}

static void function_cases(void)
{
    static const int ins[] = {WIDE, UNIT, POS, DB, LIN, MIDI, HZ, A};
    fd_ir b = fd_begin(8);
    int in[8];
    for (int k = 0; k < 8; k++)
        in[k] = fd_input(&b, k);
    int o[8] = {fd_op(&b, "neg", in[0]), fd_op(&b, "abs", in[0]), fd_op(&b, "sin", in[0]),
                fd_op(&b, "cos", in[0]), fd_op(&b, "tan", in[7]), fd_op(&b, "asin", in[1]),
                fd_op(&b, "acos", in[1]), fd_op(&b, "atan", in[0])};
    diff_case("functions", &b, 8, o, ins, NULL, 0, MIN_SNR,
              LABELS("neg", "abs", "sin", "cos", "tan", "asin", "acos", "atan"));
    b = fd_begin(8);
    for (int k = 0; k < 8; k++)
        in[k] = fd_input(&b, k);
    int o2[8] = {fd_op(&b, "exp", in[7]), fd_op(&b, "log", in[2]), fd_op(&b, "log10", in[2]),
                 fd_op(&b, "sqrt", in[2]), fd_op(&b, "floor", in[0]), fd_op(&b, "ceil", in[0]),
                 fd_op(&b, "round", in[0]), fd_op(&b, "db_to_linear", in[3])};
    diff_case("functions", &b, 8, o2, ins, NULL, 0, MIN_SNR,
              LABELS("exp", "log", "log10", "sqrt", "floor", "ceil", "round", "db_to_linear"));
    b = fd_begin(8);
    for (int k = 0; k < 8; k++)
        in[k] = fd_input(&b, k);
    int o3[5] = {fd_op(&b, "linear_to_db", in[4]), fd_op(&b, "midi_to_freq", in[5]),
                 fd_op(&b, "freq_to_midi", in[6]), fd_op(&b, "wrap", in[0], in[4], in[2]),
                 fd_op(&b, "mul", fd_add(&b, json_pack("{s:s}", "op", "sr")), in[1])};
    diff_case("functions", &b, 5, o3, ins, NULL, 0, MIN_SNR,
              LABELS("linear_to_db", "midi_to_freq", "freq_to_midi", "wrap (bounds swapped)",
                     "sr * x"));
}

/* ---- oscillators ---------------------------------------------------------- */

static const fd_event freq_events[] = {
    {9600, "freq", 1000.0}, {19200, "freq", 55.5}, {28800, "freq", 12000.0},
    {38400, "freq", 23990.0}, {43200, "freq", 3.0},
};

static void osc_case(const char *op, json_t *(*attrs)(void))
{
    static const int ins[] = {SWEEP, NSWEEP, FM, DUTY};
    fd_ir b = fd_begin(4);
    int sw = fd_input(&b, 0), nsw = fd_input(&b, 1), fm = fd_input(&b, 2), duty = fd_input(&b, 3);
    int ctl = fd_control(&b, "freq", 220.0, -30000.0, 30000.0);
    int two = !strcmp(op, "square") || !strcmp(op, "pulse");
    int src[4] = {sw, nsw, fm, ctl}, o[4];
    for (int c = 0; c < 4; c++)
        o[c] = two ? fd_opv(&b, op, NULL, 2, src[c], duty)
                   : fd_opv(&b, op, attrs ? attrs() : NULL, 1, src[c]);
    diff_case(op, &b, 4, o, ins, freq_events, 5, MIN_SNR,
              LABELS("freq 20 Hz..30 kHz sweep", "freq -20 Hz..-30 kHz", "FM 440+-330 Hz",
                     "freq control, 6 changes"));
}

static json_t *wave_table(void)
{
    json_t *t = json_array();
    for (int i = 0; i < 16; i++)
        json_array_append_new(t, json_real(sin(0.7 * i) * 0.8 + 0.1 * (i % 3)));
    return json_pack("{s:o}", "table", t);
}

static void lfo_case(void)
{
    static const int ins[] = {FM};
    static const char *const shapes[] = {"sine", "tri", "saw", "square"};
    fd_ir b = fd_begin(1);
    int fm = fd_input(&b, 0), ctl = fd_control(&b, "freq", 2.0, 0.0, 50.0), o[8];
    for (int s = 0; s < 4; s++) {
        o[s] = fd_opv(&b, "lfo", json_pack("{s:s}", "shape", shapes[s]), 1, fm);
        o[4 + s] = fd_opv(&b, "lfo", json_pack("{s:s}", "shape", shapes[s]), 1, ctl);
    }
    static const fd_event ev[] = {{12000, "freq", 7.25}, {30000, "freq", 33.0}};
    diff_case("lfo", &b, 8, o, ins, ev, 2, MIN_SNR,
              LABELS("sine, FM", "tri, FM", "saw, FM", "square, FM", "sine, control",
                     "tri, control", "saw, control", "square, control"));
}

/* ---- noise: level and spectrum ------------------------------------------- */

static void noise_case(void)
{
    fd_ir b = fd_begin(0);
    int o[3] = {fd_opv(&b, "white_noise", json_pack("{s:i}", "seed", 1), 0),
                fd_opv(&b, "white_noise", json_pack("{s:i}", "seed", 2), 0),
                fd_opv(&b, "pink_noise", json_pack("{s:i}", "seed", 1), 0)};
    diff_out d;
    if (diff_run("noise", &b, 3, o, NULL, NULL, 0, 4 * N, &d))
        return;
    /* 4 s: a band's level over 1 s of noise still wanders by about a dB. */
    static const char *const names[] = {"white_noise", "white_noise seed 2", "pink_noise"};
    for (int c = 0; c < 3; c++) {
        double level, bands = fd_band_diff(d.nat[c], d.fst[c], 4 * N, 6, &level); /* 100 Hz up */
        printf("  %-14s %-34s level %+.2f dB, 1/3-octave bands (100 Hz-16 kHz) within %.2f dB\n",
               "noise", names[c], level, bands);
        CHECK(fabs(level) < 0.2);
        CHECK(bands < 1.5);
    }
    diff_free(&d);
}

/* ---- filters ---------------------------------------------------------------- */

static const fd_event filter_events[] = {
    {9600, "cutoff", 3000.0}, {19200, "cutoff", 150.0}, {24000, "q", 5.0},
    {28800, "cutoff", 12000.0}, {33600, "q", 20.0}, {38400, "cutoff", 30000.0},
    {43200, "cutoff", 400.0},
};

static void butterworth_case(const char *op)
{
    static const int ins[] = {NOISE, CHIRP, CUT};
    fd_ir b = fd_begin(3);
    int x = fd_input(&b, 0), chirp = fd_input(&b, 1), cut = fd_input(&b, 2);
    int fc = fd_control(&b, "cutoff", 800.0, 20.0, 30000.0);
    static const int orders[] = {1, 2, 3, 4, 8};
    int o[8];
    for (int k = 0; k < 5; k++)
        o[k] = fd_opv(&b, op, json_pack("{s:i}", "order", orders[k]), 2, x, fc);
    o[5] = fd_opv(&b, op, json_pack("{s:i}", "order", 2), 2, chirp, cut);
    o[6] = fd_opv(&b, op, json_pack("{s:i}", "order", 5), 2, x, cut);
    o[7] = fd_opv(&b, op, json_pack("{s:i}", "order", 8), 2, chirp, fc);
    diff_case(op, &b, 8, o, ins, filter_events, 7, MIN_SNR,
              LABELS("order 1, noise, cutoff control", "order 2, noise, cutoff control",
                     "order 3, noise, cutoff control", "order 4, noise, cutoff control",
                     "order 8, noise, cutoff control", "order 2, chirp, cutoff 1k+-800 Hz",
                     "order 5, noise, cutoff 1k+-800 Hz", "order 8, chirp, cutoff control"));
}

static void filter_cases(void)
{
    butterworth_case("lowpass");
    butterworth_case("highpass");
    static const int ins[] = {NOISE, CHIRP, CUT, Q1};
    fd_ir b = fd_begin(4);
    int x = fd_input(&b, 0), chirp = fd_input(&b, 1), cut = fd_input(&b, 2), q1 = fd_input(&b, 3);
    int fc = fd_control(&b, "cutoff", 800.0, 0.0, 30000.0);
    int q = fd_control(&b, "q", 0.707, 0.05, 2000.0);
    int time = fd_control(&b, "time", 0.01, 0.0, 1.0);
    int o[8] = {fd_op(&b, "bandpass", x, fc, q), fd_op(&b, "bandpass", chirp, cut, q),
                fd_op(&b, "resonant", x, fc, q), fd_op(&b, "resonant", chirp, cut, q),
                fd_op(&b, "onepole", x, fc), fd_op(&b, "onepole", chirp, cut),
                fd_op(&b, "dcblock", fd_op(&b, "add", chirp, fd_const(&b, 0.3))),
                fd_op(&b, "smooth", q1, time)};
    static const fd_event ev[] = {
        {9600, "cutoff", 3000.0}, {14400, "time", 0.0}, {19200, "cutoff", 150.0},
        {24000, "q", 5.0}, {26400, "time", 0.1}, {28800, "cutoff", 12000.0},
        {33600, "q", 20.0}, {38400, "cutoff", 0.0}, {43200, "cutoff", 400.0},
    };
    diff_case("filters", &b, 8, o, ins, ev, 9, MIN_SNR,
              LABELS("bandpass, noise, controls", "bandpass, chirp, cutoff 1k+-800",
                     "resonant, noise, controls", "resonant, chirp, cutoff 1k+-800",
                     "onepole, noise, cutoff control", "onepole, chirp, cutoff 1k+-800",
                     "dcblock, chirp + 0.3", "smooth, steps, time control"));
}

/* ---- envelopes and events ---------------------------------------------------- */

static void env_cases(void)
{
    static const int ins[] = {GATE, PULSES, A};
    fd_ir b = fd_begin(3);
    int gate_in = fd_input(&b, 0), pulses = fd_input(&b, 1), a = fd_input(&b, 2);
    int gate = fd_control(&b, "gate", 0.0, 0.0, 1.0);
    int at = fd_control(&b, "attack", 0.01, 0.0, 1.0), dc = fd_control(&b, "decay", 0.05, 0.0, 1.0);
    int su = fd_control(&b, "sustain", 0.5, 0.0, 1.0), re = fd_control(&b, "release", 0.1, 0.0, 1.0);
    int o[8] = {fd_op(&b, "adsr", at, dc, su, re, gate),
                fd_op(&b, "ar", at, re, gate),
                fd_op(&b, "adsr", fd_const(&b, 0.003), fd_const(&b, 0.02), fd_const(&b, 0.7),
                      fd_const(&b, 0.04), gate_in),
                fd_op(&b, "ar", fd_const(&b, 0.0), fd_const(&b, 0.0123), gate_in),
                fd_op(&b, "adsr", fd_const(&b, 0.0), fd_const(&b, 0.0), fd_const(&b, 0.7),
                      fd_const(&b, 0.0), gate),
                fd_op(&b, "decay", pulses, re),
                fd_op(&b, "trigger", a),
                fd_op(&b, "latch", a, gate_in)};
    /* Notes, a retrigger while high (the gate dips for one sample), a release
     * in the middle of the attack, times changed while a note sounds. */
    static const fd_event ev[] = {
        {640, "gate", 1.0},     {6400, "gate", 0.0},   {9600, "gate", 1.0},
        {9984, "gate", 0.0},    {12800, "gate", 1.0},  {16000, "gate", 1.0},
        {17600, "attack", 0.2}, {19200, "gate", 0.0},  {19840, "gate", 1.0},
        {21120, "gate", 0.0},   {24000, "decay", 0.0}, {24000, "sustain", 0.9},
        {25600, "gate", 1.0},   {30400, "release", 0.5}, {32000, "gate", 0.0},
        {38400, "attack", 0.0}, {38400, "release", 0.0}, {40000, "gate", 1.0},
        {41600, "gate", 0.0},   {43200, "gate", 1.0},  {43264, "gate", 1.0},
    };
    diff_case("envelopes", &b, 8, o, ins, ev, (int)(sizeof ev / sizeof ev[0]), MIN_SNR,
              LABELS("adsr, gate control, times control", "ar, gate control",
                     "adsr, gate 4 Hz signal", "ar attack 0, gate signal",
                     "adsr, zero times", "decay, pulses, time control", "trigger of a signal",
                     "latch, gate signal"));
}

/* ---- delays, tables, reverb ------------------------------------------------ */

static void delay_cases(void)
{
    static const int ins[] = {NOISE, DTIME, BURST, CHIRP};
    fd_ir b = fd_begin(4);
    int x = fd_input(&b, 0), dt = fd_input(&b, 1), burst = fd_input(&b, 2), chirp = fd_input(&b, 3);
    int time = fd_control(&b, "time", 0.01, 0.0, 0.2), fb = fd_control(&b, "fb", 0.5, -1.0, 1.0);
    int rate = fd_control(&b, "rate", 0.5, -10.0, 10.0), depth = fd_control(&b, "depth", 0.5, -1.0, 2.0);
    int o[6] = {fd_opa(&b, "delay", json_pack("{s:f}", "max_time", 0.1), x, time),
                fd_opa(&b, "delay", json_pack("{s:f}", "max_time", 0.1), x, dt),
                fd_opa(&b, "echo", json_pack("{s:f}", "max_time", 0.1), burst, time, fb),
                fd_opa(&b, "echo", json_pack("{s:f}", "max_time", 0.1), burst, dt, fd_const(&b, 0.7)),
                fd_op(&b, "chorus", chirp, rate, depth),
                fd_op(&b, "flanger", chirp, rate, depth, fb)};
    static const fd_event ev[] = {
        {4800, "time", 0.0}, {9600, "time", 0.0125}, {12000, "fb", 0.95}, {14400, "rate", 3.0},
        {19200, "time", 1.0 / 48000.0 * 37.0}, {21600, "depth", 1.0}, {24000, "fb", -1.0},
        {28800, "time", 0.2}, {33600, "rate", -2.0}, {38400, "depth", 0.0}, {40000, "fb", 0.3},
    };
    diff_case("delays", &b, 6, o, ins, ev, (int)(sizeof ev / sizeof ev[0]), MIN_SNR,
              LABELS("delay, noise, time control", "delay, noise, time 5+-4 ms",
                     "echo, bursts, time/feedback control", "echo, bursts, time 5+-4 ms",
                     "chorus, chirp, controls", "flanger, chirp, controls"));
}

static void table_cases(void)
{
    static const int ins[] = {IDX, FM, SWEEP, CNT, CNT2, NOISE};
    fd_ir b = fd_begin(6);
    int idx = fd_input(&b, 0), fm = fd_input(&b, 1), sw = fd_input(&b, 2), cnt = fd_input(&b, 3);
    int cnt2 = fd_input(&b, 4), x = fd_input(&b, 5);
    json_t *t10 = json_array();
    for (int i = 0; i < 10; i++)
        json_array_append_new(t10, json_real(0.1 * i * i - 2.0));
    int o[5] = {fd_opa(&b, "rdtable", json_pack("{s:o}", "table", t10), idx),
                fd_opv(&b, "wavetable", wave_table(), 1, fm),
                fd_opv(&b, "wavetable", wave_table(), 1, sw),
                fd_opa(&b, "rwtable", json_pack("{s:i,s:f}", "size", 64, "init", 0.25), cnt, x, cnt2),
                fd_opa(&b, "rwtable", json_pack("{s:i,s:f}", "size", 7, "init", -1.0), cnt2, x,
                       fd_op(&b, "neg", cnt))};
    diff_case("tables", &b, 5, o, ins, NULL, 0, MIN_SNR,
              LABELS("rdtable, index -2..12 (10 entries)", "wavetable, FM",
                     "wavetable, 20 Hz..30 kHz sweep", "rwtable 64, read 37.5 behind",
                     "rwtable 7, negative indices"));
}

static void reverb_case(void)
{
    static const int ins[] = {BURST};
    fd_ir b = fd_begin(1);
    int x = fd_input(&b, 0);
    int room = fd_control(&b, "room", 0.5, -1.0, 2.0), damp = fd_control(&b, "damp", 0.5, -1.0, 2.0);
    int o[2] = {fd_op(&b, "reverb", x, room, damp),
                fd_op(&b, "reverb", x, fd_const(&b, 0.95), fd_const(&b, 0.1))};
    static const fd_event ev[] = {{12000, "room", 0.9}, {24000, "damp", 0.0}, {36000, "room", 2.0}};
    diff_case("reverb", &b, 2, o, ins, ev, 3, MIN_SNR,
              LABELS("bursts, room/damping control", "bursts, room 0.95 damping 0.1"));
}

/* ---- structure: mem, loops, controls ----------------------------------------- */

static void structure_cases(void)
{
    static const int ins[] = {NOISE, CHIRP};
    fd_ir b = fd_begin(2);
    int x = fd_input(&b, 0), chirp = fd_input(&b, 1);           /* 0, 1 */
    int level = fd_control(&b, "level", 0.5, 0.0, 1.0);         /* 2 */
    /* y = x + 0.6 * mem(y): the mem refers forward to the add */
    int m = fd_add(&b, json_pack("{s:s,s:[i]}", "op", "mem", "in", 0));
    int y = fd_op(&b, "add", x, fd_op(&b, "mul", m, fd_const(&b, 0.6)));
    json_object_set_new(json_array_get(b.nodes, m), "in", json_pack("[i]", y));
    /* a loop through a filter: z = lowpass(chirp + 0.5 * mem(z), 2000) */
    int m2 = fd_add(&b, json_pack("{s:s,s:[i]}", "op", "mem", "in", 0));
    int fb = fd_op(&b, "mul", m2, fd_const(&b, 0.5));
    int z = fd_opv(&b, "lowpass", json_pack("{s:i}", "order", 2), 2,
                   fd_op(&b, "add", chirp, fb), fd_const(&b, 2000.0));
    json_object_set_new(json_array_get(b.nodes, m2), "in", json_pack("[i]", z));
    int back = fd_add(&b, json_pack("{s:s,s:[i]}", "op", "mem", "in", chirp));
    int o[4] = {y, z, back, fd_op(&b, "mul", level, chirp)};
    static const fd_event ev[] = {{4800, "level", 1.0}, {4864, "level", 0.0}, {24000, "level", 0.8}};
    diff_case("structure", &b, 4, o, ins, ev, 3, MIN_SNR,
              LABELS("y = x + 0.6 mem(y)", "lowpass loop through mem", "mem of an input",
                     "control smoothing (15 ms)"));
}

/* ---- the seed's synths --------------------------------------------------------- */

static void seed_case(const char *name, const fd_event *ev, int nev, int inputs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/faust/%s.json", KR_TEST_FIXTURES, name);
    json_error_t jerr;
    json_t *json = json_load_file(path, 0, &jerr);
    CHECK(json != NULL);
    if (!json) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return;
    }
    fd_ir b = {json_incref(json_object_get(json, "nodes")),
               json_incref(json_object_get(json, "controls")), inputs};
    json_t *outs = json_object_get(json, "outputs");
    int o[8], nout = (int)json_array_size(outs);
    for (int c = 0; c < nout; c++)
        o[c] = (int)json_integer_value(json_array_get(outs, c));
    json_decref(json);
    static const int ins[] = {BURST};
    diff_out d;
    if (diff_run(name, &b, nout, o, ins, ev, nev, N, &d))
        return;
    for (int c = 0; c < nout; c++) {
        if (!strcmp(name, "hat")) {
            /* white noise inside: compare level and spectrum */
            double lr, bands = fd_band_diff(d.nat[c], d.fst[c], N, 18, &lr); /* 1.6 kHz up */
            printf("  %-14s %-34s level %+.2f dB, bands (1.6-16 kHz) within %.2f dB\n", "seed",
                   name, lr, bands);
            CHECK(fabs(lr) < 0.5);
            CHECK(bands < 3.0);
        } else {
            printf("  %-14s %-34s %7.1f dB\n", "seed", name, d.snr[c]);
            CHECK(d.snr[c] >= MIN_SNR);
        }
    }
    diff_free(&d);
}

static void seed_cases(void)
{
    static const fd_event drums[] = {
        {0, "gate", 1.0}, {2400, "gate", 0.0}, {12000, "gate", 1.0}, {14400, "gate", 0.0},
        {24000, "gate", 1.0}, {24960, "gate", 1.0}, {26400, "gate", 0.0}, {36000, "gate", 1.0},
        {45000, "gate", 0.0},
    };
    seed_case("kick", drums, 9, 0);
    seed_case("hat", drums, 9, 0);
    static const fd_event bass[] = {
        {0, "freq", 110.0}, {0, "gate", 1.0}, {9000, "gate", 0.0}, {12000, "freq", 146.83},
        {12000, "gate", 1.0}, {18000, "cutoff", 2000.0}, {20000, "gate", 0.0},
        {24000, "freq", 82.41}, {24000, "gate", 1.0}, {30000, "freq", 87.31}, {30000, "gate", 1.0},
        {33000, "cutoff", 300.0}, {40000, "gate", 0.0},
    };
    seed_case("bass", bass, (int)(sizeof bass / sizeof bass[0]), 0);
    static const fd_event verb[] = {{20000, "room", 0.9}, {36000, "room", 0.2}};
    seed_case("reverb_fx", verb, 2, 1);
}

int main(void)
{
    make_signals();
    printf("native vs FAUST (SNR = 10 log10(sum native^2 / sum (native - faust)^2)):\n");
    math_cases();
    function_cases();
    static const char *const oscs[] = {"sine_osc", "saw", "square", "pulse", "triangle", "phasor"};
    for (int k = 0; k < 6; k++)
        osc_case(oscs[k], NULL);
    osc_case("wavetable", wave_table);
    lfo_case();
    noise_case();
    filter_cases();
    env_cases();
    delay_cases();
    table_cases();
    reverb_case();
    structure_cases();
    seed_cases();
    for (int k = 0; kr_op_at(k); k++) {
        if (!covered[k])
            fprintf(stderr, "op '%s' has no differential case\n", kr_op_at(k)->name);
        CHECK(covered[k]);
    }
    for (int k = 0; k < SIGNALS; k++)
        free(S[k]);
    return KR_TEST_REPORT("faust_diff");
}
