/* Filter kernels: Butterworth magnitudes against the analytic bilinear
 * response, resonator peaks, onepole corner, dcblock, smooth, robustness, and
 * identical results however calls are cut. */
#include <float.h>

#include "kr_test_fx.h"

#define SR 48000.0

static const kr_op *op_named(const char *name)
{
    const kr_op *op = kr_ops_group_find(kr_ops_filter, name);
    CHECK(op != NULL);
    if (!op) {
        fprintf(stderr, "no op %s\n", name);
        exit(1);
    }
    return op;
}

/* Impulse response of op(x, a[, b]) with constant parameters. */
static float *impulse_response(const char *name, int order, float a, float b, long n)
{
    const kr_op *op = op_named(name);
    kr_op_attrs attrs = {0};
    attrs.order = order;
    float *x = fx_impulse(n), *pa = fx_const(n, a), *pb = fx_const(n, b);
    float *h = malloc(sizeof(float) * (size_t)n);
    const float *ins[3] = {x, pa, pb};
    fx_render(op, &attrs, SR, ins, n, h);
    free(x);
    free(pa);
    free(pb);
    return h;
}

static double butter_expected(double f, double fc, int order, int hp)
{
    double r = tan(FX_PI * f / SR) / tan(FX_PI * fc / SR);
    if (hp)
        r = 1.0 / r;
    return 1.0 / sqrt(1.0 + pow(r, 2.0 * order));
}

static void test_butterworth_magnitude(void)
{
    static const int orders[] = {1, 2, 3, 4, 8};
    static const double cutoffs[] = {100, 440, 1000, 5000, 12000};
    static const double ratios[] = {0.25, 0.5, 0.7071, 1.0, 1.4142, 2.0, 4.0};
    const long n = 1 << 16;
    double worst = 0;
    int points = 0;
    for (int hp = 0; hp < 2; hp++)
        for (size_t o = 0; o < sizeof orders / sizeof *orders; o++)
            for (size_t c = 0; c < sizeof cutoffs / sizeof *cutoffs; c++) {
                float *h = impulse_response(hp ? "highpass" : "lowpass", orders[o],
                                            (float)cutoffs[c], 0, n);
                CHECK(fx_all_finite(h, n));
                for (size_t r = 0; r < sizeof ratios / sizeof *ratios; r++) {
                    double f = cutoffs[c] * ratios[r];
                    double want = butter_expected(f, cutoffs[c], orders[o], hp);
                    if (f >= 0.49 * SR || fx_db(want) < -60.0)
                        continue; /* float output noise dominates below -60 dB */
                    double err = fabs(fx_db(fx_dft_mag(h, n, f, SR)) - fx_db(want));
                    if (err > worst)
                        worst = err;
                    points++;
                    if (err > 0.2)
                        fprintf(stderr, "%s order %d fc %g f %g: off by %.4f dB\n",
                                hp ? "highpass" : "lowpass", orders[o], cutoffs[c], f, err);
                }
                free(h);
            }
    printf("butterworth: %d points, worst error %.2e dB\n", points, worst);
    CHECK(worst < 0.2);
    CHECK(points >= 100);
}

/* A steady sine through the running filter: output/input RMS after the transient. */
static double sine_gain(const char *name, int order, double f, float a, float b)
{
    const kr_op *op = op_named(name);
    kr_op_attrs attrs = {0};
    attrs.order = order;
    const long n = 48000;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        x[i] = (float)sin(2 * FX_PI * f * (double)i / SR);
    float *pa = fx_const(n, a), *pb = fx_const(n, b);
    const float *ins[3] = {x, pa, pb};
    fx_render(op, &attrs, SR, ins, n, y);
    /* Whole periods of the last half second would be ideal; 24000 samples
     * hold an integer number of periods for the frequencies used here. */
    double g = fx_rms(y + n / 2, n / 2) / fx_rms(x + n / 2, n / 2);
    free(x);
    free(y);
    free(pa);
    free(pb);
    return g;
}

static void test_butterworth_sine(void)
{
    double worst = 0;
    static const double fs[] = {250, 500, 1000, 2000, 4000};
    for (int hp = 0; hp < 2; hp++)
        for (size_t i = 0; i < 5; i++) {
            double g = sine_gain(hp ? "highpass" : "lowpass", 4, fs[i], 1000, 0);
            double err = fabs(fx_db(g) - fx_db(butter_expected(fs[i], 1000, 4, hp)));
            if (err > worst)
                worst = err;
        }
    printf("butterworth order 4 at 1 kHz, steady sines: worst error %.2e dB\n", worst);
    CHECK(worst < 0.05);
}

/* Peak of a resonator: scan the IR's spectrum around f0. */
static void test_resonators(void)
{
    static const double f0s[] = {200, 1000, 5000};
    static const double qs[] = {1, 5, 20};
    const long n = 1 << 16;
    double worst_peak_db = 0, worst_peak_f = 0, worst_reso = 0;
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            double f0 = f0s[i], q = qs[j];
            float *h = impulse_response("bandpass", 0, (float)f0, (float)q, n);
            double best = 0, best_f = 0;
            for (double f = f0 * 0.8; f <= f0 * 1.2; f += f0 * 0.001) {
                double m = fx_dft_mag(h, n, f, SR);
                if (m > best)
                    best = m, best_f = f;
            }
            double at = fx_db(fx_dft_mag(h, n, f0, SR));
            if (fabs(at) > worst_peak_db)
                worst_peak_db = fabs(at);
            if (fabs(best_f / f0 - 1) > worst_peak_f)
                worst_peak_f = fabs(best_f / f0 - 1);
            /* An octave away the 2-pole bandpass is down by 1/sqrt(1+Q^2 (r-1/r)^2)
             * (analog, close at these frequencies). */
            double r = 2.0, want = 1.0 / sqrt(1.0 + q * q * (r - 1 / r) * (r - 1 / r));
            if (f0 <= 1000)
                CHECK_NEAR(fx_db(fx_dft_mag(h, n, 2 * f0, SR)), fx_db(want), 0.3);
            free(h);

            /* Resonant lowpass: |H(f0)| = q exactly, |H(0)| = 1. */
            h = impulse_response("resonant", 0, (float)f0, (float)q, n);
            double dc = 0;
            for (long k = 0; k < n; k++)
                dc += h[k];
            CHECK_NEAR(dc, 1.0, 1e-3);
            double e = fabs(fx_db(fx_dft_mag(h, n, f0, SR)) - fx_db(q));
            if (e > worst_reso)
                worst_reso = e;
            free(h);
        }
    printf("bandpass: |gain at f0| <= %.2e dB, peak within %.3f%% of f0 (0.1%% scan); "
           "resonant: gain at cutoff = q within %.2e dB\n",
           worst_peak_db, 100 * worst_peak_f, worst_reso);
    CHECK(worst_peak_db < 0.01);
    CHECK(worst_peak_f <= 0.0011);
    CHECK(worst_reso < 0.01);
}

static void test_onepole(void)
{
    static const double fcs[] = {50, 100, 500, 1000};
    double worst = 0;
    for (size_t i = 0; i < 4; i++) {
        const long n = 1 << 16;
        float *h = impulse_response("onepole", 0, (float)fcs[i], 0, n);
        double g = fx_db(fx_dft_mag(h, n, fcs[i], SR));
        if (fabs(g + 3.0103) > worst)
            worst = fabs(g + 3.0103);
        double dc = 0;
        for (long k = 0; k < n; k++)
            dc += h[k];
        CHECK_NEAR(dc, 1.0, 1e-4);
        free(h);
    }
    printf("onepole: gain at the cutoff within %.3f dB of -3.01 dB (50 Hz..1 kHz)\n", worst);
    CHECK(worst < 0.05);
}

static void test_dcblock(void)
{
    const long n = 96000;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        x[i] = 0.5f + 0.25f * (float)sin(2 * FX_PI * 1000 * (double)i / SR);
    const float *ins[1] = {x};
    kr_op_attrs attrs = {0};
    fx_render(op_named("dcblock"), &attrs, SR, ins, n, y);
    double mean = 0;
    for (long i = n / 2; i < n; i++)
        mean += y[i];
    mean /= (double)(n / 2);
    double amp = fx_rms(y + n / 2, n / 2) * sqrt(2.0);
    printf("dcblock: DC 0.5 -> mean %.2e after 1 s; 1 kHz kept at %.4f of its level\n", mean,
           amp / 0.25);
    CHECK(fabs(mean) < 1e-5);
    CHECK_NEAR(amp / 0.25, 1.0, 0.005); /* 2/(1+R) at Nyquist: a touch above 1 */
    /* The corner scales with the rate: same pole radius per second. */
    for (long i = 0; i < n; i++)
        x[i] = 0.5f;
    fx_render(op_named("dcblock"), &attrs, 96000.0, ins, n, y);
    CHECK_NEAR(y[96], 0.5 * pow(0.995, 48.0), 1e-6); /* 1 ms at 96 kHz = 1 ms at 48 kHz */
    free(x);
    free(y);
}

static void test_smooth(void)
{
    const kr_op *op = op_named("smooth");
    kr_op_attrs attrs = {0};
    static const float times[] = {0.01f, 0.1f};
    for (int t = 0; t < 2; t++) {
        const long n = 96000, step = 1000;
        float *x = fx_const(n, 0.0f), *tm = fx_const(n, times[t]);
        float *y = malloc(sizeof(float) * n);
        for (long i = step; i < n; i++)
            x[i] = 1.0f;
        const float *ins[2] = {x, tm};
        fx_render(op, &attrs, SR, ins, n, y);
        long at = step + (long)lround(times[t] * SR) - 1; /* time*sr samples of smoothing */
        printf("smooth %.2f s: %.4f of the step after the time constant\n", times[t], y[at]);
        CHECK_NEAR(y[at], 1.0 - exp(-1.0), 0.002);
        CHECK(y[step - 1] == 0.0f);
        CHECK(y[n - 1] == 1.0f); /* landed exactly */
        free(x);
        free(tm);
        free(y);
    }
    /* time <= 0: passthrough; the first sample is taken as is (no glide from 0). */
    const long n = 1000;
    float *x = fx_noise_signal(n, 1.0f), *tm = fx_const(n, 0.0f), *y = malloc(sizeof(float) * n);
    const float *ins[2] = {x, tm};
    fx_render(op, &attrs, SR, ins, n, y);
    CHECK(memcmp(x, y, sizeof(float) * n) == 0);
    for (long i = 0; i < n; i++)
        tm[i] = -1.0f, x[i] = 3.0f;
    fx_render(op, &attrs, SR, ins, n, y);
    CHECK(y[0] == 3.0f && y[n - 1] == 3.0f);
    /* A settled smoother on a constant input says so (uniform output). */
    void *st = fx_new(op, &attrs, SR);
    float one = 3.0f, tc = 0.05f, out[KR_DSP_BLOCK];
    kr_dsp_call call = {{&one, &tc}, 3u, out, KR_DSP_BLOCK};
    CHECK(op->run(st, &call) == 1 && out[0] == 3.0f);
    free(st);
    free(x);
    free(tm);
    free(y);
}

/* Silence through a filter at rest costs nothing and stays exactly silent. */
static void test_silence(void)
{
    static const char *names[] = {"lowpass", "highpass", "bandpass", "resonant", "onepole", "dcblock"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const kr_op *op = op_named(names[i]);
        kr_op_attrs attrs = {0};
        attrs.order = 5;
        void *st = fx_new(op, &attrs, SR);
        float zero = 0.0f, fc = 1000.0f, q = 2.0f, out[KR_DSP_BLOCK];
        kr_dsp_call call = {{&zero, &fc, &q}, 7u, out, KR_DSP_BLOCK};
        out[0] = 1.0f;
        CHECK(op->run(st, &call) == 1 && out[0] == 0.0f);
        free(st);
    }
}

static void test_robust_and_split(void)
{
    const long n = 20000;
    float *x = fx_noise_signal(n, 1.0f);
    /* Cutoffs: steady stretches (uniform calls), per-sample sweeps, and wild
     * values (0, negative, above Nyquist, huge) that must be clamped. */
    float *fc = malloc(sizeof(float) * n), *q = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        long seg = i / 700;
        if (seg % 3 == 0)
            fc[i] = 300.0f * (float)(1 + seg % 5);
        else if (seg % 3 == 1)
            fc[i] = 2000.0f + 1800.0f * (float)sin(2 * FX_PI * 3000 * (double)i / SR);
        else
            fc[i] = (float[]){0.0f, -50.0f, 30000.0f, 1e30f, 23990.0f}[seg % 5];
        q[i] = seg % 2 ? 0.5f + (float)(i % 50) : (float[]){0.0f, 1e6f, 4.0f}[seg % 3];
    }
    float *tm = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        tm[i] = (i / 500) % 4 == 3 ? 0.0f : 0.001f * (float)((i / 500) % 7);
    float *y = malloc(sizeof(float) * n);
    static const char *names[] = {"lowpass", "highpass", "bandpass", "resonant",
                                  "onepole", "dcblock", "smooth"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        const kr_op *op = op_named(names[k]);
        for (int order = 1; order <= (k < 2 ? 8 : 1); order++) {
            kr_op_attrs attrs = {0};
            attrs.order = order;
            const float *ins[3] = {x, strcmp(names[k], "smooth") == 0 ? tm : fc, q};
            fx_render(op, &attrs, SR, ins, n, y);
            double peak = 0;
            for (long i = 0; i < n; i++)
                peak = fmax(peak, fabs(y[i]));
            CHECK(fx_all_finite(y, n));
            /* bandpass peaks at 0 dB, resonant at q (up to 1000 here) */
            if (!(peak < (strcmp(names[k], "resonant") == 0 ? 2000.0 : 20.0)))
                fprintf(stderr, "%s order %d: peak %g\n", names[k], order, peak);
            CHECK(peak < (strcmp(names[k], "resonant") == 0 ? 2000.0 : 20.0));
            long bad = fx_split_mismatches(op, &attrs, SR, ins, ~0u, n);
            if (bad)
                fprintf(stderr, "%s order %d: %ld samples differ across call splits\n",
                        names[k], order, bad);
            CHECK(bad == 0);
        }
    }
    /* Huge finite inputs (full float range, worst-case alternating sign):
     * outputs saturate, never inf. */
    float *huge = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        huge[i] = (i / 3) % 2 ? FLT_MAX : (i % 5 ? -FLT_MAX : 0.5f * FLT_MAX * x[i]);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        kr_op_attrs attrs = {0};
        attrs.order = 8;
        const float *ins[3] = {huge, strcmp(names[k], "smooth") == 0 ? tm : fc, q};
        fx_render(op_named(names[k]), &attrs, SR, ins, n, y);
        if (!fx_all_finite(y, n))
            fprintf(stderr, "%s: non-finite output from finite huge input\n", names[k]);
        CHECK(fx_all_finite(y, n));
    }
    free(huge);
    /* A constant input (uniform x) through each, split every way. */
    float *c = fx_const(n, 0.7f);
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        kr_op_attrs attrs = {0};
        attrs.order = 3;
        const float *ins[3] = {c, strcmp(names[k], "smooth") == 0 ? tm : fc, q};
        CHECK(fx_split_mismatches(op_named(names[k]), &attrs, SR, ins, ~0u, n) == 0);
    }
    free(c);
    free(x);
    free(fc);
    free(q);
    free(tm);
    free(y);
}

/* A slow per-sample cutoff sweep (the per-sample path) tracks the static
 * response: a 1 kHz sine through an order-2 lowpass whose cutoff glides from
 * 500 Hz to 2 kHz is at -3 dB where the cutoff passes 1 kHz. */
static void test_sweep(void)
{
    const long n = 96000;
    float *x = malloc(sizeof(float) * n), *fc = malloc(sizeof(float) * n);
    float *y = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        x[i] = (float)sin(2 * FX_PI * 1000 * (double)i / SR);
        fc[i] = (float)(500.0 * pow(4.0, (double)i / (double)n)); /* 500 -> 2000 Hz */
    }
    kr_op_attrs attrs = {0};
    attrs.order = 2;
    const float *ins[2] = {x, fc};
    fx_render(op_named("lowpass"), &attrs, SR, ins, n, y);
    long mid = n / 2; /* fc = 1000 Hz here */
    double g = fx_rms(y + mid - 480, 960) / fx_rms(x + mid - 480, 960);
    printf("lowpass order 2 swept 500 Hz..2 kHz: %.3f dB at 1 kHz when the cutoff passes it\n",
           fx_db(g));
    CHECK_NEAR(fx_db(g), -3.01, 0.1);
    free(x);
    free(fc);
    free(y);
}

/* The Butterworth at other rates: order 4 at 44.1 and 96 kHz. */
static void test_other_rates(void)
{
    static const double rates[] = {44100.0, 96000.0};
    const kr_op *op = op_named("lowpass");
    for (int r = 0; r < 2; r++) {
        double sr = rates[r];
        const long n = 1 << 15;
        kr_op_attrs attrs = {0};
        attrs.order = 4;
        float *x = fx_impulse(n), *fc = fx_const(n, 2000.0f), *h = malloc(sizeof(float) * n);
        const float *ins[2] = {x, fc};
        fx_render(op, &attrs, sr, ins, n, h);
        double f = 3000, want = 1.0 / sqrt(1.0 + pow(tan(FX_PI * f / sr) / tan(FX_PI * 2000 / sr), 8));
        CHECK_NEAR(fx_db(fx_dft_mag(h, n, f, sr)), fx_db(want), 0.01);
        CHECK_NEAR(fx_db(fx_dft_mag(h, n, 2000, sr)), -3.0103, 0.01);
        free(x);
        free(fc);
        free(h);
    }
}

int main(void)
{
    test_butterworth_magnitude();
    test_butterworth_sine();
    test_resonators();
    test_onepole();
    test_dcblock();
    test_smooth();
    test_silence();
    test_robust_and_split();
    test_other_rates();
    test_sweep();
    return KR_TEST_REPORT("kernels_filter");
}
