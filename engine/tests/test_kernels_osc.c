/* Oscillator kernels: frequency, waveform, band limiting, edge cases. */
#include "kr_test_run.h"

#define SR 48000.0

static const kr_op *op(const char *name)
{
    const kr_op *o = kr_ops_group_find(kr_ops_osc, name);
    if (!o) {
        fprintf(stderr, "missing op %s\n", name);
        exit(1);
    }
    return o;
}

static kr_op_attrs no_attrs(void)
{
    kr_op_attrs a;
    memset(&a, 0, sizeof a);
    return a;
}

/* Renders op at a constant frequency (passed uniform) and duty. */
static void render_const(const char *name, const kr_op_attrs *attrs, float freq, float duty, float *out,
                         long n)
{
    kt_sig in[2] = { kt_uni(&freq), kt_uni(&duty) };
    kt_render_new(op(name), attrs, SR, in, out, n, KT_BLOCKS);
}

/* Frequency from rising zero crossings of x - mean, linearly interpolated. */
static double measured_freq(const float *x, long n)
{
    double mean = 0.0;
    for (long i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    double first = -1.0, last = -1.0;
    long count = 0;
    for (long i = 1; i < n; i++) {
        const double a = x[i - 1] - mean, b = x[i] - mean;
        if (a < 0.0 && b >= 0.0) {
            const double t = (double)(i - 1) + a / (a - b);
            if (first < 0.0)
                first = t;
            last = t;
            count++;
        }
    }
    return count > 1 ? (double)(count - 1) * SR / (last - first) : 0.0;
}

static void test_frequency(void)
{
    const long n = 48000;
    float *x = malloc(n * sizeof(float));
    const char *names[] = { "sine_osc", "saw", "square", "triangle", "pulse", "phasor" };
    const float freqs[] = { 55.0f, 440.0f, 5000.0f, 1234.5f };
    kr_op_attrs a = no_attrs();
    double worst = 0.0;
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        for (size_t f = 0; f < sizeof freqs / sizeof *freqs; f++) {
            render_const(names[k], &a, freqs[f], 0.5f, x, n);
            const double m = measured_freq(x, n);
            const double err = fabs(m - freqs[f]) / freqs[f];
            worst = err > worst ? err : worst;
            CHECK_NEAR(m, freqs[f], freqs[f] * 1e-5);
        }
    }
    /* Negative frequencies run the same waveform backwards. */
    render_const("sine_osc", &a, -440.0f, 0.5f, x, n);
    CHECK_NEAR(measured_freq(x, n), 440.0, 440.0 * 1e-5);
    CHECK_NEAR(x[1], -sin(2.0 * KT_PI * 440.0 / SR), 1e-6);
    render_const("saw", &a, -440.0f, 0.5f, x, n);
    CHECK_NEAR(measured_freq(x, n), 440.0, 440.0 * 1e-5);
    CHECK(x[100] < x[99]); /* falling ramp */
    printf("frequency: worst relative error %.2e over 6 waveforms x 4 frequencies\n", worst);
    free(x);
}

/* Sine against sin(2*pi*sum(f/sr)) under an exponential sweep 20 Hz -> 20 kHz,
 * frequency changing every sample. */
static void test_sweep(void)
{
    const long n = 48000;
    float *f = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float));
    for (long i = 0; i < n; i++)
        f[i] = (float)(20.0 * pow(1000.0, (double)i / (double)n));
    kt_sig in[1] = { kt_arr(f) };
    kr_op_attrs a = no_attrs();
    kt_render_new(op("sine_osc"), &a, SR, in, x, n, KT_SPLIT);
    double ph = 0.0, worst = 0.0;
    for (long i = 0; i < n; i++) {
        const double e = fabs(x[i] - sin(2.0 * KT_PI * ph));
        worst = e > worst ? e : worst;
        ph += (double)f[i] / SR;
        ph -= floor(ph);
    }
    CHECK(worst < 1e-6);
    printf("sweep: sine max error vs exact phase integral %.2e\n", worst);

    /* Band-limited saw under the same sweep: equal to the naive ramp wherever
     * no jump is within 2 samples. */
    kt_render_new(op("saw"), &a, SR, in, x, n, KT_SPLIT);
    ph = 0.0;
    worst = 0.0;
    for (long i = 0; i < n; i++) {
        const double dt = (double)f[i] / SR;
        if (ph > 2.0 * dt && ph < 1.0 - 2.0 * dt) {
            const double e = fabs(x[i] - (2.0 * ph - 1.0));
            worst = e > worst ? e : worst;
        }
        ph += dt;
        ph -= floor(ph);
    }
    CHECK(worst < 1e-5);
    printf("sweep: saw max error vs naive ramp away from jumps %.2e\n", worst);
    free(f);
    free(x);
}

/* Energy outside the harmonic bins (per sample, in dB re a full-scale DC).
 * n = 4800 at 48 kHz puts 5 kHz on bin 500 and every partial and alias
 * exactly on a bin; the frequencies used have non-integer periods, so that
 * aliases fall between the harmonics. */
static double alias_db(const float *x, long n, long fundamental_bin)
{
    double *p = malloc((size_t)(n / 2 + 1) * sizeof(double));
    kt_dft_power(x, n, p);
    double alias = 0.0;
    for (long k = 0; k <= n / 2; k++)
        if (k == 0 || k % fundamental_bin != 0)
            alias += p[k];
    free(p);
    return 10.0 * log10(alias / ((double)n * (double)n) + 1e-300);
}

static void naive(const char *name, double f, float *x, long n)
{
    double ph = 0.0;
    for (long i = 0; i < n; i++) {
        if (!strcmp(name, "saw"))
            x[i] = (float)(2.0 * ph - 1.0);
        else if (!strcmp(name, "square"))
            x[i] = ph < 0.5 ? 1.0f : -1.0f;
        else
            x[i] = (float)(ph < 0.25 ? 4.0 * ph : ph < 0.75 ? 2.0 - 4.0 * ph : 4.0 * ph - 4.0);
        ph += f / SR;
        ph -= floor(ph);
    }
}

static void test_aliasing(void)
{
    const long n = 4800;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    kr_op_attrs a = no_attrs();
    const char *names[] = { "saw", "square", "triangle" };
    const double need[] = { 12.0, 12.0, 6.0 };
    for (int k = 0; k < 3; k++) {
        for (int sign = 1; sign >= -1; sign -= 2) {
            render_const(names[k], &a, 5000.0f * (float)sign, 0.5f, x, n);
            naive(names[k], 5000.0, y, n);
            const double bl = alias_db(x, n, 500), nv = alias_db(y, n, 500);
            CHECK(nv - bl >= need[k]);
            printf("aliasing at %+.0f Hz: %-8s naive %.1f dB, band-limited %.1f dB -> %.1f dB less\n",
                   5000.0 * sign, names[k], nv, bl, nv - bl);
        }
    }
    /* The saw at other frequencies (bins of 10 Hz). */
    const double fs[] = { 110.0, 1010.0, 10010.0 };
    for (int k = 0; k < 3; k++) {
        render_const("saw", &a, (float)fs[k], 0.5f, x, n);
        naive("saw", fs[k], y, n);
        const long bin = (long)(fs[k] / 10.0);
        const double bl = alias_db(x, n, bin), nv = alias_db(y, n, bin);
        CHECK(nv - bl >= 12.0);
        printf("aliasing at %.0f Hz: saw naive %.1f dB, band-limited %.1f dB -> %.1f dB less\n", fs[k], nv,
               bl, nv - bl);
    }
    free(x);
    free(y);
}

/* The fundamental of the band-limited saw and square keeps its ideal level
 * (2/pi and 4/pi peak), and the sine is pure. */
static void test_spectrum(void)
{
    const long n = 4800;
    float *x = malloc(n * sizeof(float));
    double *p = malloc((size_t)(n / 2 + 1) * sizeof(double));
    kr_op_attrs a = no_attrs();
    render_const("saw", &a, 440.0f, 0.5f, x, n); /* 44 cycles in 4800 samples */
    kt_dft_power(x, n, p);
    CHECK_NEAR(2.0 * sqrt(p[44]) / (double)n, 2.0 / KT_PI, 0.01);
    render_const("square", &a, 440.0f, 0.5f, x, n);
    kt_dft_power(x, n, p);
    CHECK_NEAR(2.0 * sqrt(p[44]) / (double)n, 4.0 / KT_PI, 0.01);

    render_const("sine_osc", &a, 1000.0f, 0.5f, x, n);
    kt_dft_power(x, n, p);
    double rest = 0.0;
    for (long k = 0; k <= n / 2; k++)
        if (k != 100)
            rest += p[k];
    const double thd = 10.0 * log10(rest / p[100]);
    CHECK(thd < -120.0);
    CHECK_NEAR(2.0 * sqrt(p[100]) / (double)n, 1.0, 1e-6);
    printf("sine_osc 1 kHz: energy outside the fundamental %.1f dB\n", thd);
    free(x);
    free(p);
}

static void test_shapes(void)
{
    const long n = 4800;
    float *x = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
    kr_op_attrs a = no_attrs();

    /* Square duty: fraction of samples above 0 at 100 Hz (480 samples a cycle). */
    const float duties[] = { 0.1f, 0.25f, 0.5f, 0.8f };
    for (int k = 0; k < 4; k++) {
        render_const("square", &a, 100.0f, duties[k], x, n);
        long high = 0;
        for (long i = 0; i < n; i++)
            high += x[i] > 0.0f;
        CHECK_NEAR((double)high / (double)n, duties[k], 1.0 / 480.0 + 1e-9);
        render_const("pulse", &a, 100.0f, duties[k], x, n);
        double mean = 0.0, lo = 1.0, hi = 0.0;
        for (long i = 0; i < n; i++) {
            mean += x[i];
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        CHECK_NEAR(mean / (double)n, duties[k], 1e-3);
        CHECK(lo >= 0.0 && hi <= 1.0);
    }
    /* Duty 0 and 1 are flat; out-of-range and NaN duties are clamped. */
    render_const("square", &a, 440.0f, 0.0f, x, n);
    CHECK(x[0] == -1.0f && x[1234] == -1.0f && x[n - 1] == -1.0f);
    render_const("square", &a, 440.0f, 1.0f, x, n);
    CHECK(x[0] == 1.0f && x[1234] == 1.0f && x[n - 1] == 1.0f);
    render_const("square", &a, 440.0f, 7.0f, x, n);
    CHECK(x[1234] == 1.0f);
    render_const("pulse", &a, 440.0f, NAN, x, n);
    CHECK(kt_all_finite(x, n));
    /* Duty changing every sample. */
    for (long i = 0; i < n; i++)
        d[i] = 0.5f + 0.4f * (float)sin(2.0 * KT_PI * (double)i / (double)n);
    float f = 200.0f;
    kt_sig in[2] = { kt_uni(&f), kt_arr(d) };
    kt_render_new(op("square"), &a, SR, in, x, n, KT_SPLIT);
    CHECK(kt_all_finite(x, n));
    CHECK(kt_split_ok(op("square"), &a, SR, in, n));

    /* Triangle: 0 rising at phase 0, peaks near ±1 at low frequency. */
    render_const("triangle", &a, 55.0f, 0.5f, x, n);
    double lo = 0.0, hi = 0.0;
    for (long i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    CHECK(x[0] == 0.0f && x[1] > 0.0f);
    CHECK_NEAR(hi, 1.0, 2e-3); /* PolyBLAMP rounds the corners by 8*dt/6 */
    CHECK_NEAR(lo, -1.0, 2e-3);

    /* Phasor: [0, 1), step f/sr. */
    render_const("phasor", &a, 480.0f, 0.5f, x, n);
    CHECK(x[0] == 0.0f);
    CHECK_NEAR(x[50], 0.5, 1e-6);
    int in_range = 1;
    for (long i = 0; i < n; i++)
        in_range &= x[i] >= 0.0f && x[i] < 1.0f;
    CHECK(in_range);

    /* lfo shapes at 480 Hz: 100 samples a cycle. */
    const char *shapes[] = { "sine", "tri", "saw", "square" };
    const float at25[] = { 1.0f, 1.0f, -0.5f, 1.0f }, at75[] = { -1.0f, -1.0f, 0.5f, -1.0f };
    for (int k = 0; k < 4; k++) {
        a.shape = (kr_lfo_shape)k;
        render_const("lfo", &a, 480.0f, 0.5f, x, n);
        CHECK_NEAR(x[25], at25[k], 1e-6);
        CHECK_NEAR(x[75], at75[k], 1e-6);
        CHECK_NEAR(measured_freq(x, n), 480.0, 0.01);
        (void)shapes;
    }
    a.shape = KR_LFO_SINE;
    render_const("lfo", &a, 440.0f, 0.5f, x, n);
    render_const("sine_osc", &a, 440.0f, 0.5f, d, n);
    CHECK(kt_same_bits(x, d, n));
    free(x);
    free(d);
}

static void test_wavetable(void)
{
    const long n = 4800;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    static float sine[1024];
    for (int i = 0; i < 1024; i++)
        sine[i] = (float)sin(2.0 * KT_PI * i / 1024.0);
    kr_op_attrs a = no_attrs();
    a.table = sine;
    a.table_len = 1024;
    render_const("wavetable", &a, 440.0f, 0.5f, x, n);
    render_const("sine_osc", &a, 440.0f, 0.5f, y, n);
    double worst = 0.0;
    for (long i = 0; i < n; i++)
        worst = fmax(worst, fabs(x[i] - y[i]));
    CHECK(worst < 1e-5); /* linear interpolation: (2*pi/1024)^2/8 = 4.7e-6 */
    printf("wavetable: 1024-point sine vs sine_osc max error %.2e\n", worst);

    /* Exact interpolation: table {0, 1} at sr/4 reads phases 0, 1/4, 1/2, 3/4. */
    static const float two[2] = { 0.0f, 1.0f };
    a.table = two;
    a.table_len = 2;
    render_const("wavetable", &a, (float)(SR / 4.0), 0.5f, x, 8);
    const float want[8] = { 0.0f, 0.5f, 1.0f, 0.5f, 0.0f, 0.5f, 1.0f, 0.5f };
    CHECK(kt_same_bits(x, want, 8));
    static const float one[1] = { 0.75f };
    a.table = one;
    a.table_len = 1;
    render_const("wavetable", &a, 440.0f, 0.5f, x, n);
    CHECK(x[0] == 0.75f && x[777] == 0.75f);
    free(x);
    free(y);
}

/* Zero, negative, huge and non-finite frequencies never give NaN, and a
 * frequency that recovers from NaN gives a normal oscillator again. */
static void test_edge_frequencies(void)
{
    const long n = 2000;
    float *f = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float));
    static float table[3] = { 0.0f, 1.0f, -1.0f };
    kr_op_attrs a = no_attrs();
    a.table = table;
    a.table_len = 3;
    const float odd[] = { 0.0f, -0.0f, -5000.0f, 24000.0f, 47999.0f, 1e9f, -3e38f, INFINITY, NAN };
    for (size_t k = 0; kr_ops_osc[k].name; k++) {
        const kr_op *o = &kr_ops_osc[k];
        for (size_t j = 0; j < sizeof odd / sizeof *odd; j++) {
            float duty = 0.3f;
            kt_sig in[2] = { kt_uni(&odd[j]), kt_uni(&duty) };
            kt_render_new(o, &a, SR, in, x, n, KT_SPLIT);
            CHECK(kt_all_finite(x, n));
        }
        for (long i = 0; i < n; i++)
            f[i] = i < 500 ? NAN : i < 1000 ? 0.0f : i < 1500 ? -300.0f : 300.0f;
        float duty = 0.3f;
        kt_sig in[2] = { kt_arr(f), kt_uni(&duty) };
        kt_render_new(o, &a, SR, in, x, n, KT_SPLIT);
        CHECK(kt_all_finite(x, n));
    }
    /* Frequency 0 holds the phase: a uniform output. */
    float zero = 0.0f;
    kt_sig in[1] = { kt_uni(&zero) };
    CHECK(kt_render_new(op("saw"), &a, SR, in, x, 256, KT_BLOCKS) == 2);
    free(f);
    free(x);
}

static void test_split(void)
{
    const long n = 3000;
    float *f = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
    static float table[5] = { 0.0f, 0.5f, 1.0f, -0.5f, 0.25f };
    for (long i = 0; i < n; i++) {
        f[i] = (float)(3000.0 * sin((double)i * 0.003) + 100.0);
        d[i] = (float)(0.5 + 0.45 * sin((double)i * 0.01));
    }
    const float fu = 1234.5f, du = 0.3f;
    kr_op_attrs a = no_attrs();
    a.table = table;
    a.table_len = 5;
    int ok = 1;
    for (size_t k = 0; kr_ops_osc[k].name; k++) {
        const kr_op *o = &kr_ops_osc[k];
        for (int shape = 0; shape < (strcmp(o->name, "lfo") ? 1 : 4); shape++) {
            a.shape = (kr_lfo_shape)shape;
            kt_sig in1[2] = { kt_arr(f), kt_arr(d) };
            kt_sig in2[2] = { kt_uni(&fu), kt_uni(&du) };
            kt_sig in3[2] = { kt_uni(&fu), kt_arr(d) };
            ok &= kt_split_ok(o, &a, SR, in1, n);
            ok &= kt_split_ok(o, &a, SR, in2, n);
            ok &= kt_split_ok(o, &a, SR, in3, n);
            /* Uniform and per-sample frequency paths agree bit for bit. */
            float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *fa = malloc(n * sizeof(float));
            for (long i = 0; i < n; i++)
                fa[i] = fu;
            kt_sig in4[2] = { kt_arr(fa), kt_uni(&du) };
            kt_render_new(o, &a, SR, in2, x, n, KT_BLOCKS);
            kt_render_new(o, &a, SR, in4, y, n, KT_SPLIT);
            ok &= kt_same_bits(x, y, n);
            free(x);
            free(y);
            free(fa);
        }
    }
    CHECK(ok);
    free(f);
    free(d);
}

int main(void)
{
    test_frequency();
    test_sweep();
    test_aliasing();
    test_spectrum();
    test_shapes();
    test_wavetable();
    test_edge_frequencies();
    test_split();
    return KR_TEST_REPORT("kernels_osc");
}
