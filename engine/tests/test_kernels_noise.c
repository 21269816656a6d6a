/* Noise kernels: statistics, determinism, spectrum. */
#include "kr_test_run.h"

#define SR 48000.0

static const kr_op *op(const char *name)
{
    const kr_op *o = kr_ops_group_find(kr_ops_noise, name);
    if (!o) {
        fprintf(stderr, "missing op %s\n", name);
        exit(1);
    }
    return o;
}

static void noise(const char *name, uint64_t seed, double sr, float *out, long n)
{
    kr_op_attrs a;
    memset(&a, 0, sizeof a);
    a.seed = seed;
    kt_render_new(op(name), &a, sr, NULL, out, n, KT_BLOCKS);
}

static double correlation(const float *x, const float *y, long n)
{
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (long i = 0; i < n; i++) {
        sxy += (double)x[i] * y[i];
        sxx += (double)x[i] * x[i];
        syy += (double)y[i] * y[i];
    }
    return sxy / sqrt(sxx * syy);
}

static void test_white(void)
{
    const long n = 1 << 20;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    noise("white_noise", 1, SR, x, n);
    double mean = 0.0, var = 0.0, lo = 0.0, hi = 0.0;
    long bins[16] = { 0 };
    for (long i = 0; i < n; i++) {
        mean += x[i];
        var += (double)x[i] * x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        bins[(int)((x[i] + 1.0f) * 8.0f)]++;
    }
    mean /= (double)n;
    var = var / (double)n - mean * mean;
    CHECK(fabs(mean) < 3e-3);     /* sd of the mean: 0.577/1024 = 5.6e-4 */
    CHECK_NEAR(var, 1.0 / 3.0, 3e-3);
    CHECK(lo >= -1.0 && hi < 1.0 && lo < -0.9999 && hi > 0.9999);
    long worst = 0;
    for (int k = 0; k < 16; k++) {
        long dev = labs(bins[k] - n / 16);
        worst = dev > worst ? dev : worst;
    }
    CHECK(worst < n / 16 / 50); /* each bin within 2% (sd 0.4%) */
    /* Successive samples are uncorrelated. */
    const double r1 = correlation(x, x + 1, n - 1), r2 = correlation(x, x + 2, n - 2);
    CHECK(fabs(r1) < 5e-3 && fabs(r2) < 5e-3);
    printf("white: mean %.2e, variance %.5f (1/3 = 0.33333), lag-1 corr %.1e, histogram worst bin %.2f%%\n",
           mean, var, r1, 100.0 * (double)worst / (double)(n / 16));

    /* Deterministic per seed; seeds 0, 1, 2 and a large one decorrelated. */
    noise("white_noise", 1, SR, y, n);
    CHECK(kt_same_bits(x, y, n));
    const uint64_t seeds[] = { 0, 2, 12345678901234ull };
    double worst_r = 0.0;
    for (int k = 0; k < 3; k++) {
        noise("white_noise", seeds[k], SR, y, n);
        CHECK(!kt_same_bits(x, y, 64));
        const double r = correlation(x, y, n);
        worst_r = fmax(worst_r, fabs(r));
        CHECK(fabs(r) < 5e-3);
        double best_lag = 0.0; /* not a shifted copy either */
        for (long lag = 1; lag < 64; lag++)
            best_lag = fmax(best_lag, fabs(correlation(x, y + lag, 65536)));
        CHECK(best_lag < 0.03);
    }
    printf("white: seeds 1 vs 0, 2, 12345678901234: worst correlation %.1e\n", worst_r);
    free(x);
    free(y);
}

/* Power spectral density by averaged Hann-windowed FFT frames. */
#define FRAME 8192
static void psd(const float *x, long n, double *p)
{
    static double re[FRAME], im[FRAME];
    for (int k = 0; k <= FRAME / 2; k++)
        p[k] = 0.0;
    long frames = 0;
    for (long start = 0; start + FRAME <= n; start += FRAME / 2, frames++) {
        for (int i = 0; i < FRAME; i++) {
            const double w = 0.5 - 0.5 * cos(2.0 * KT_PI * i / FRAME);
            re[i] = x[start + i] * w;
            im[i] = 0.0;
        }
        kt_fft(re, im, FRAME);
        for (int k = 0; k <= FRAME / 2; k++)
            p[k] += re[k] * re[k] + im[k] * im[k];
    }
    for (int k = 0; k <= FRAME / 2; k++)
        p[k] /= (double)frames;
}

/* Mean PSD in the band [f0, f1) Hz, in dB. */
static double band_db(const double *p, double sr, double f0, double f1)
{
    double sum = 0.0;
    int count = 0;
    for (int k = 1; k <= FRAME / 2; k++) {
        const double f = k * sr / FRAME;
        if (f >= f0 && f < f1) {
            sum += p[k];
            count++;
        }
    }
    return 10.0 * log10(sum / count);
}

/* Half-octave bands from 50 Hz to 10 kHz: PSD * f must be flat (-3 dB per
 * octave) within ±1 dB, and the fitted slope -3 dB/octave. */
static void check_pink_slope(double sr)
{
    const long n = 1 << 21;
    float *x = malloc(n * sizeof(float));
    double *p = malloc((FRAME / 2 + 1) * sizeof(double));
    noise("pink_noise", 7, sr, x, n);
    psd(x, n, p);
    double lev[20], oct[20];
    int bands = 0;
    for (double f0 = 50.0; f0 < 10000.0; f0 *= sqrt(2.0)) {
        const double f1 = fmin(f0 * sqrt(2.0), 10000.0);
        oct[bands] = log2(sqrt(f0 * f1) / 50.0);
        lev[bands] = band_db(p, sr, f0, f1) + 10.0 * log10(sqrt(f0 * f1)); /* flat if 1/f */
        bands++;
    }
    double mean = 0.0, mo = 0.0;
    for (int b = 0; b < bands; b++) {
        mean += lev[b];
        mo += oct[b];
    }
    mean /= bands;
    mo /= bands;
    double dev = 0.0, sxy = 0.0, sxx = 0.0;
    for (int b = 0; b < bands; b++) {
        dev = fmax(dev, fabs(lev[b] - mean));
        sxy += (oct[b] - mo) * (lev[b] - mean);
        sxx += (oct[b] - mo) * (oct[b] - mo);
    }
    const double slope = sxy / sxx - 10.0 * log10(2.0); /* back from PSD*f to PSD */
    CHECK(dev < 1.0);
    CHECK_NEAR(slope, -3.0103, 0.3);
    printf("pink at %.0f Hz: slope %.2f dB/octave, worst half-octave band deviation %.3f dB (50 Hz-10 kHz)\n",
           sr, slope, dev);
    free(x);
    free(p);
}

static void test_pink(void)
{
    check_pink_slope(48000.0);
    check_pink_slope(96000.0);
    check_pink_slope(44100.0);

    /* Level: about ±1 peak over ten seconds, mean 0. */
    const long n = 480000;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    noise("pink_noise", 3, SR, x, n);
    double mean = 0.0, var = 0.0, peak = 0.0;
    for (long i = 0; i < n; i++) {
        mean += x[i];
        var += (double)x[i] * x[i];
        peak = fmax(peak, fabs(x[i]));
    }
    mean /= (double)n;
    var /= (double)n;
    CHECK(peak > 0.6 && peak < 1.4);
    CHECK(fabs(mean) < 0.05);
    printf("pink: peak %.3f over 10 s, rms %.3f, mean %.1e\n", peak, sqrt(var), mean);
    noise("pink_noise", 3, SR, y, n);
    CHECK(kt_same_bits(x, y, n));
    noise("pink_noise", 4, SR, y, n);
    CHECK(fabs(correlation(x, y, n)) < 0.05);
    free(x);
    free(y);
}

static void test_split(void)
{
    kr_op_attrs a;
    memset(&a, 0, sizeof a);
    a.seed = 99;
    CHECK(kt_split_ok(op("white_noise"), &a, SR, NULL, 5000));
    CHECK(kt_split_ok(op("pink_noise"), &a, SR, NULL, 5000));
}

int main(void)
{
    test_white();
    test_pink();
    test_split();
    return KR_TEST_REPORT("kernels_noise");
}
