/* Reverb kernel (Freeverb): decay times by Schroeder backward integration,
 * damping by band decay times, level, no DC, decay to exact silence (no
 * denormals), robustness, and identical results however calls are cut. */
#include <float.h>

#include "kr_test_fx.h"

#define SR 48000.0

static const kr_op *reverb_op(void)
{
    const kr_op *op = kr_ops_group_find(kr_ops_reverb, "reverb");
    CHECK(op != NULL);
    if (!op)
        exit(1);
    return op;
}

static float *render(const float *x, long n, float room, float damping, double sr)
{
    kr_op_attrs attrs = {0};
    float *r = fx_const(n, room), *d = fx_const(n, damping), *y = malloc(sizeof(float) * n);
    const float *ins[3] = {x, r, d};
    fx_render(reverb_op(), &attrs, sr, ins, n, y);
    free(r);
    free(d);
    return y;
}

static float *impulse_response(long n, float room, float damping)
{
    float *x = fx_impulse(n);
    float *y = render(x, n, room, damping, SR);
    free(x);
    return y;
}

/* T60 from the Schroeder energy decay curve: the -5 to -35 dB slope, doubled. */
static double t60(const float *h, long n)
{
    double *edc = malloc(sizeof(double) * n), s = 0;
    for (long i = n - 1; i >= 0; i--)
        edc[i] = (s += (double)h[i] * h[i]);
    long i5 = -1, i35 = -1;
    for (long i = 0; i < n; i++) {
        double db = 10 * log10(edc[i] / edc[0]);
        if (i5 < 0 && db <= -5)
            i5 = i;
        if (i35 < 0 && db <= -35) {
            i35 = i;
            break;
        }
    }
    free(edc);
    return i5 < 0 || i35 < 0 ? -1 : 2.0 * (double)(i35 - i5) / SR;
}

/* The IR through a bandpass at f (q 2), from the filter kernels. */
static double band_t60(const float *h, long n, float f)
{
    const kr_op *bp = kr_ops_group_find(kr_ops_filter, "bandpass");
    kr_op_attrs attrs = {0};
    float *pf = fx_const(n, f), *pq = fx_const(n, 2.0f), *y = malloc(sizeof(float) * n);
    const float *ins[3] = {h, pf, pq};
    fx_render(bp, &attrs, SR, ins, n, y);
    double t = t60(y, n);
    free(pf);
    free(pq);
    free(y);
    return t;
}

static void test_decay_times(void)
{
    const long n = (long)(20 * SR);
    static const float rooms[] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
    double prev = 0;
    printf("reverb T60 (damping 0.5):");
    for (int r = 0; r < 5; r++) {
        float *h = impulse_response(n, rooms[r], 0.5f);
        CHECK(fx_all_finite(h, n));
        double t = t60(h, n);
        printf(" room %.2f: %.2f s;", rooms[r], t);
        CHECK(t > prev * 1.2);
        prev = t;
        if (r == 2) {
            /* Energy in successive half seconds keeps falling. */
            long w = (long)(0.5 * SR);
            double last = INFINITY;
            for (long k = 1; k < 8; k++) {
                double e = fx_rms(h + k * w, w);
                CHECK(e < last);
                last = e;
            }
            /* Full-scale impulse: a sensible peak level. */
            double peak = 0;
            for (long i = 0; i < n; i++)
                peak = fmax(peak, fabs(h[i]));
            printf(" [peak %.3f]", peak);
            CHECK(peak > 0.02 && peak < 0.5);
        }
        free(h);
    }
    printf("\n");
    CHECK(prev > 5.0); /* room 1: a long hall */
}

static void test_damping(void)
{
    const long n = (long)(10 * SR);
    double lo[2], hi[2];
    for (int d = 0; d < 2; d++) {
        float *h = impulse_response(n, 0.7f, (float)d);
        lo[d] = band_t60(h, n, 300.0f);
        hi[d] = band_t60(h, n, 6000.0f);
        free(h);
    }
    printf("reverb room 0.7 band T60: damping 0: 300 Hz %.2f s, 6 kHz %.2f s; "
           "damping 1: 300 Hz %.2f s, 6 kHz %.2f s\n", lo[0], hi[0], lo[1], hi[1]);
    CHECK(hi[1] < 0.6 * hi[0]);     /* damping shortens the highs */
    CHECK(hi[1] < 0.6 * lo[1]);     /* and they die before the lows */
    CHECK(lo[1] > 0.7 * lo[0]);     /* the lows much less affected */
}

static void test_level_and_dc(void)
{
    const long n = (long)(10 * SR);
    /* White noise send: output level. */
    float *x = fx_noise_signal(n, 0.5f);
    static const float rooms[] = {0.0f, 0.5f, 1.0f};
    printf("reverb noise gain (damping 0.5):");
    for (int r = 0; r < 3; r++) {
        float *y = render(x, n, rooms[r], 0.5f, SR);
        double g = fx_rms(y + n / 2, n / 2) / fx_rms(x + n / 2, n / 2);
        printf(" room %.1f: %+.1f dB;", rooms[r], fx_db(g));
        CHECK(fx_db(g) > -12.0 && fx_db(g) < 3.0);
        if (r == 1)
            CHECK(fx_db(g) > -9.0 && fx_db(g) < -3.0);
        free(y);
    }
    printf("\n");
    /* A DC send comes out as nothing. */
    for (long i = 0; i < n; i++)
        x[i] = 0.5f;
    /* (its onset is a click, whose tail takes a while to die at room 0.8) */
    float *y = render(x, n, 0.8f, 0.0f, SR);
    double mean = 0;
    for (long i = n - (long)(2 * SR); i < n; i++)
        mean += y[i];
    mean /= 2 * SR;
    printf("reverb DC 0.5 in, room 0.8: mean of the last 2 s %.2e\n", mean);
    CHECK(fabs(mean) < 1e-4);
    free(y);
    /* The mean of an impulse response's tail is tiny next to its level. */
    y = impulse_response(n, 0.8f, 0.2f);
    long from = (long)(0.2 * SR), len = (long)(3 * SR);
    double m = 0;
    for (long i = from; i < from + len; i++)
        m += y[i];
    m /= (double)len;
    double rms = fx_rms(y + from, len);
    printf("reverb IR tail 0.2..3.2 s: mean/rms %.2e\n", m / rms);
    CHECK(fabs(m) < 0.01 * rms);
    free(y);
    free(x);
}

/* After the tail dies the output is exactly 0, never denormal on the way. */
static void test_silence(void)
{
    const long n = (long)(30 * SR);
    float *h = impulse_response(n, 0.5f, 0.5f);
    long denormal = 0;
    for (long i = 0; i < n; i++)
        denormal += h[i] != 0.0f && fabs(h[i]) < FLT_MIN;
    CHECK(denormal == 0);
    long last = n - 1;
    while (last > 0 && h[last] == 0.0f)
        last--;
    printf("reverb room 0.5: exactly silent from %.1f s on\n", (double)(last + 1) / SR);
    CHECK(last < n - (long)SR);
    free(h);
}

static void test_split_and_extremes(void)
{
    const long n = 30000;
    float *x = fx_noise_signal(n, 1.0f);
    float *room = malloc(sizeof(float) * n), *damp = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) {
        long seg = i / 800;
        room[i] = seg % 2 ? (float)(i % 300) / 300.0f : (float[]){0.3f, 5.0f, -1.0f, 1.0f}[seg % 4];
        damp[i] = seg % 3 ? (float)(i % 77) / 77.0f : (float[]){0.0f, 1.0f, 9.0f, -2.0f}[seg % 4];
    }
    /* Huge finite sends: never inf. */
    {
        float *huge = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        for (long i = 0; i < n; i++)
            huge[i] = (i / 11) % 2 ? FLT_MAX : -FLT_MAX;
        float *r = fx_const(n, 1.0f), *d = fx_const(n, 0.0f);
        const float *ins[3] = {huge, r, d};
        kr_op_attrs attrs = {0};
        fx_render(reverb_op(), &attrs, SR, ins, n, y);
        CHECK(fx_all_finite(y, n));
        free(huge);
        free(y);
        free(r);
        free(d);
    }
    static const double rates[] = {8000.0, 44100.0, 48000.0, 192000.0};
    float *y = malloc(sizeof(float) * n);
    for (int r = 0; r < 4; r++) {
        kr_op_attrs attrs = {0};
        const float *ins[3] = {x, room, damp};
        fx_render(reverb_op(), &attrs, rates[r], ins, n, y);
        CHECK(fx_all_finite(y, n));
        long bad = fx_split_mismatches(reverb_op(), &attrs, rates[r], ins, ~0u, n);
        if (bad)
            fprintf(stderr, "reverb at %g Hz: %ld samples differ across call splits\n", rates[r], bad);
        CHECK(bad == 0);
    }
    free(x);
    free(room);
    free(damp);
    free(y);
}

int main(void)
{
    test_decay_times();
    test_damping();
    test_level_and_dc();
    test_silence();
    test_split_and_extremes();
    return KR_TEST_REPORT("kernels_reverb");
}
