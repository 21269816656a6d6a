/* Delay kernels: exact and fractional delays, echo repeats, the chorus and
 * flanger sweeps (measured from impulse centroids), feedback clamps, buffer
 * bounds at extreme settings, and identical results however calls are cut. */
#include <float.h>

#include "kr_test_fx.h"

#define SR 48000.0

static const kr_op *op_named(const char *name)
{
    const kr_op *op = kr_ops_group_find(kr_ops_delay, name);
    CHECK(op != NULL);
    if (!op) {
        fprintf(stderr, "no op %s\n", name);
        exit(1);
    }
    return op;
}

/* op over x with constant parameters a, b, c. */
static float *render(const char *name, double max_time, const float *x, long n, float a, float b,
                     float c)
{
    kr_op_attrs attrs = {0};
    attrs.max_time = max_time;
    float *pa = fx_const(n, a), *pb = fx_const(n, b), *pc = fx_const(n, c);
    float *y = malloc(sizeof(float) * n);
    const float *ins[4] = {x, pa, pb, pc};
    fx_render(op_named(name), &attrs, SR, ins, n, y);
    free(pa);
    free(pb);
    free(pc);
    return y;
}

/* Sum of |y| over [from, to) except the listed sample positions. */
static double residue(const float *y, long from, long to, const long *skip, int nskip)
{
    double s = 0;
    for (long i = from; i < to; i++) {
        int skipped = 0;
        for (int k = 0; k < nskip; k++)
            skipped |= skip[k] == i;
        if (!skipped)
            s += fabs(y[i]);
    }
    return s;
}

static void test_delay(void)
{
    const long n = 60000;
    float *imp = fx_impulse(n);

    /* Whole samples, given as k/sr in float: exact. */
    float *y = render("delay", 1.0, imp, n, (float)(100.0 / SR), 0, 0);
    CHECK(y[100] == 1.0f);
    long at100[] = {100};
    CHECK(residue(y, 0, n, at100, 1) == 0.0);
    free(y);

    /* 0: the input itself. */
    float *noise = fx_noise_signal(n, 1.0f);
    y = render("delay", 1.0, noise, n, 0.0f, 0, 0);
    CHECK(memcmp(y, noise, sizeof(float) * n) == 0);
    free(y);

    /* Fractional: 100.25 samples -> 0.75 at 100, 0.25 at 101. */
    y = render("delay", 1.0, imp, n, (float)(100.25 / SR), 0, 0);
    printf("delay 100.25 samples: y[100] = %.6f, y[101] = %.6f\n", y[100], y[101]);
    CHECK_NEAR(y[100], 0.75, 1e-4);
    CHECK_NEAR(y[101], 0.25, 1e-4);
    long at[] = {100, 101};
    CHECK(residue(y, 0, n, at, 2) == 0.0);
    free(y);

    /* Linear interpolation is exact on a ramp: 10.5 samples late. */
    float *ramp = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        ramp[i] = 0.001f * (float)(i % 1000);
    y = render("delay", 1.0, ramp, n, (float)(10.5 / SR), 0, 0);
    double worst = 0;
    for (long i = 20; i < n; i++)
        if (i % 1000 >= 12)
            worst = fmax(worst, fabs(y[i] - 0.001 * ((double)(i % 1000) - 10.5)));
    printf("delay 10.5 samples on a ramp: worst error %.2e\n", worst);
    CHECK(worst < 2e-6);
    free(y);

    /* Clamped to max_time (and to 0 below). */
    y = render("delay", 1.0, imp, n, 5.0f, 0, 0);
    CHECK(y[48000] == 1.0f);
    long at48k[] = {48000};
    CHECK(residue(y, 0, n, at48k, 1) == 0.0);
    free(y);
    y = render("delay", 0.001, imp, n, 0.001f, 0, 0);
    CHECK(y[48] == 1.0f);
    free(y);
    y = render("delay", 1.0, noise, n, -3.0f, 0, 0);
    CHECK(memcmp(y, noise, sizeof(float) * n) == 0);
    free(y);
    /* max_time 0: a zero-length line still works (delay 0). */
    y = render("delay", 0.0, noise, n, 1.0f, 0, 0);
    CHECK(memcmp(y, noise, sizeof(float) * n) == 0);
    free(y);
    free(imp);
    free(noise);
    free(ramp);
}

static void test_echo(void)
{
    const long n = 30000;
    float *imp = fx_impulse(n);
    float *y = render("echo", 2.0, imp, n, 0.1f, 0.5f, 0);
    printf("echo 0.1 s, feedback 0.5: %.4f %.4f %.4f %.4f %.4f\n", y[0], y[4800], y[9600],
           y[14400], y[19200]);
    CHECK(y[0] == 1.0f && y[4800] == 1.0f && y[9600] == 0.5f && y[14400] == 0.25f &&
          y[19200] == 0.125f);
    long taps[] = {0, 4800, 9600, 14400, 19200, 24000, 28800};
    CHECK(residue(y, 0, n, taps, 7) == 0.0);
    free(y);

    /* Feedback clamped to 0.99 (and -0.99). */
    y = render("echo", 2.0, imp, n, 0.1f, 5.0f, 0);
    CHECK_NEAR(y[28800], pow(0.99, 5), 1e-6);
    free(y);
    y = render("echo", 2.0, imp, n, 0.1f, -0.5f, 0);
    CHECK(y[9600] == -0.5f && y[14400] == 0.25f);
    free(y);

    /* The shortest echo is one sample (time 0 and below). */
    y = render("echo", 2.0, imp, n, 0.0f, 0.5f, 0);
    CHECK(y[0] == 1.0f && y[1] == 1.0f && y[2] == 0.5f && y[3] == 0.25f);
    free(y);

    /* Full-scale noise at the maximum feedback: bounded, finite. */
    float *noise = fx_noise_signal(n, 1.0f);
    y = render("echo", 0.01, noise, n, 0.003f, 0.99f, 0);
    double peak = 0;
    for (long i = 0; i < n; i++)
        peak = fmax(peak, fabs(y[i]));
    CHECK(fx_all_finite(y, n) && peak < 200.0);
    free(y);
    free(noise);
    free(imp);
}

/* Delay of the wet copy of the impulse at t: the signed centroid of the wet
 * output in [t+from, t+to) (exact for the interpolators used, which reproduce
 * linear functions). wet = 2*out - x. */
static double wet_centroid(const float *y, const float *x, long t, long from, long to)
{
    double s = 0, sm = 0;
    for (long m = t + from; m < t + to; m++) {
        double w = 2.0 * y[m] - x[m];
        s += w;
        sm += w * (double)(m - t);
    }
    return sm / s;
}

static void test_chorus(void)
{
    const long n = 48000, every = 2400;
    float *x = fx_const(n, 0.0f);
    for (long i = 0; i < n; i += every)
        x[i] = 1.0f;
    const float rate = 2.0f, depth = 0.5f;
    float *y = render("chorus", 0, x, n, rate, depth, 0);
    CHECK(fx_all_finite(y, n));
    double worst = 0, lo = 1e9, hi = 0;
    for (long t = 0; t + every <= n; t += every) {
        double d = wet_centroid(y, x, t, 300, 1700);
        /* Where the impulse comes out: m - D(m) = t, D(m) = 960 + 480 depth sin. */
        double m = t + 960.0;
        for (int it = 0; it < 50; it++)
            m = t + 960.0 + 480.0 * depth * sin(2 * FX_PI * rate * m / SR);
        worst = fmax(worst, fabs(d - (m - (double)t)));
        lo = fmin(lo, d);
        hi = fmax(hi, d);
        CHECK(y[t] == 0.5f); /* the dry half */
    }
    printf("chorus rate 2 depth 0.5: delay swept %.1f..%.1f samples (want 720..1200), "
           "worst error %.3f samples\n", lo, hi, worst);
    CHECK(worst < 0.1);
    CHECK(lo < 730 && hi > 1190);
    free(y);

    /* Depth 0: a plain 20 ms delay, half dry, half wet. */
    y = render("chorus", 0, x, n, 3.0f, 0.0f, 0);
    CHECK(y[960] == 0.5f && y[every + 960] == 0.5f && y[961] == 0.0f);
    free(y);
    free(x);
}

static void test_flanger(void)
{
    const long n = 48000, every = 1000;
    float *x = fx_const(n, 0.0f);
    for (long i = 0; i < n; i += every)
        x[i] = 1.0f;
    const float rate = 1.0f, depth = 1.0f;
    float *y = render("flanger", 0, x, n, rate, depth, 0.0f);
    double worst = 0, lo = 1e9, hi = 0;
    for (long t = 0; t + every <= n; t += every) {
        double d = wet_centroid(y, x, t, 1, 700);
        /* D = 48 + 432 depth (0.5 - 0.5 cos(2 pi rate m / sr)) */
        double m = t + 48.0;
        for (int it = 0; it < 50; it++)
            m = t + 48.0 + 432.0 * depth * (0.5 - 0.5 * cos(2 * FX_PI * rate * m / SR));
        worst = fmax(worst, fabs(d - (m - (double)t)));
        lo = fmin(lo, d);
        hi = fmax(hi, d);
    }
    printf("flanger rate 1 depth 1: delay swept %.1f..%.1f samples (want 48..480), "
           "worst error %.3f samples\n", lo, hi, worst);
    CHECK(worst < 0.1);
    CHECK(lo < 50 && hi > 470);
    free(y);

    /* Depth 0, feedback 0.5: repeats every 1 ms (48 samples), halving. */
    float *imp = fx_impulse(n);
    y = render("flanger", 0, imp, n, 1.0f, 0.0f, 0.5f);
    CHECK(y[0] == 0.5f && y[48] == 0.5f && y[96] == 0.25f && y[144] == 0.125f);
    free(y);

    /* Feedback clamped to 0.95: noise stays bounded and finite. */
    float *noise = fx_noise_signal(n, 1.0f);
    for (int sign = -1; sign <= 1; sign += 2) {
        y = render("flanger", 0, noise, n, 0.3f, 1.0f, 50.0f * (float)sign);
        double peak = 0;
        for (long i = 0; i < n; i++)
            peak = fmax(peak, fabs(y[i]));
        printf("flanger feedback %+d (clamped): peak %.2f on full-scale noise\n", 50 * sign, peak);
        CHECK(fx_all_finite(y, n) && peak < 40.0);
        free(y);
    }
    free(noise);
    free(imp);
    free(x);
}

static void test_split_and_extremes(void)
{
    const long n = 24000;
    float *x = fx_noise_signal(n, 1.0f);
    float *time = malloc(sizeof(float) * n), *fb = malloc(sizeof(float) * n);
    float *rate = malloc(sizeof(float) * n), *depth = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        long seg = i / 900;
        /* steady stretches (uniform calls), per-sample sweeps, wild values */
        if (seg % 3 == 0)
            time[i] = 0.01f * (float)(seg % 7);
        else if (seg % 3 == 1)
            time[i] = 0.05f + 0.04f * (float)sin(2 * FX_PI * 5 * (double)i / SR);
        else
            time[i] = (float[]){-1.0f, 0.0f, 1e9f, 0.0999999f, 0.1f}[seg % 5];
        fb[i] = seg % 2 ? 0.3f * (float)sin((double)i * 0.01) : (float[]){0.7f, 5.0f, -9.0f}[seg % 3];
        rate[i] = seg % 2 ? 0.5f + (float)(i % 7) : (float[]){0.0f, -3.0f, 1e6f, 2.0f}[seg % 4];
        depth[i] = seg % 2 ? (float)(i % 100) / 100.0f : (float[]){0.0f, 1.0f, -2.0f, 7.0f}[seg % 4];
    }
    /* Huge finite inputs: saturated, never inf (least of all in the lines). */
    float *huge = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++)
        huge[i] = (i / 7) % 2 ? FLT_MAX : -FLT_MAX;
    {
        kr_op_attrs attrs = {0};
        attrs.max_time = 0.1;
        float *t = fx_const(n, 0.00301f), *f = fx_const(n, 0.99f), *r = fx_const(n, 3.0f),
              *d = fx_const(n, 1.0f);
        const float *din[2] = {huge, t}, *ein[3] = {huge, t, f};
        const float *cin[3] = {huge, r, d}, *fin[4] = {huge, r, d, f};
        const float *const *all[4] = {din, ein, cin, fin};
        static const char *names[] = {"delay", "echo", "chorus", "flanger"};
        float *y = malloc(sizeof(float) * n);
        for (int c = 0; c < 4; c++) {
            fx_render(op_named(names[c]), &attrs, SR, all[c], n, y);
            if (!fx_all_finite(y, n))
                fprintf(stderr, "%s: non-finite output from finite huge input\n", names[c]);
            CHECK(fx_all_finite(y, n));
        }
        free(y);
        free(t);
        free(f);
        free(r);
        free(d);
    }
    free(huge);
    static const double rates[] = {8000.0, 44100.0, 48000.0, 192000.0};
    float *y = malloc(sizeof(float) * n);
    for (int r = 0; r < 4; r++) {
        kr_op_attrs attrs = {0};
        attrs.max_time = 0.1;
        const float *din[2] = {x, time}, *ein[3] = {x, time, fb};
        const float *cin[3] = {x, rate, depth}, *fin[4] = {x, rate, depth, fb};
        struct { const char *name; const float *const *ins; } cases[] = {
            {"delay", din}, {"echo", ein}, {"chorus", cin}, {"flanger", fin}};
        for (int c = 0; c < 4; c++) {
            const kr_op *op = op_named(cases[c].name);
            fx_render(op, &attrs, rates[r], cases[c].ins, n, y);
            CHECK(fx_all_finite(y, n));
            long bad = fx_split_mismatches(op, &attrs, rates[r], cases[c].ins, ~0u, n);
            if (bad)
                fprintf(stderr, "%s at %g Hz: %ld samples differ across call splits\n",
                        cases[c].name, rates[r], bad);
            CHECK(bad == 0);
        }
    }
    free(x);
    free(time);
    free(fb);
    free(rate);
    free(depth);
    free(y);
}

int main(void)
{
    test_delay();
    test_echo();
    test_chorus();
    test_flanger();
    test_split_and_extremes();
    return KR_TEST_REPORT("kernels_delay");
}
