/* Envelope and event kernels: stage timing in samples, levels, retriggers. */
#include "kr_test_run.h"

#define SR 48000.0
#define N 40000

static const kr_op *op(const char *name)
{
    const kr_op *o = kr_ops_group_find(kr_ops_env, name);
    if (!o) {
        fprintf(stderr, "missing op %s\n", name);
        exit(1);
    }
    return o;
}

static kr_op_attrs attrs0;
static float gate[N], out[N];
static double worst_timing; /* samples, over every timing check */

/* gate = 1 on [on, off), else 0. */
static void gate_span(long on, long off)
{
    for (long i = 0; i < N; i++)
        gate[i] = (i >= on && i < off) ? 1.0f : 0.0f;
}

static void adsr(float a, float d, float s, float r, const unsigned *sizes)
{
    kt_sig in[5] = { kt_uni(&a), kt_uni(&d), kt_uni(&s), kt_uni(&r), kt_arr(gate) };
    kt_render_new(op("adsr"), &attrs0, SR, in, out, N, sizes);
}

/* First index >= from where pred holds. */
static long first_ge(long from, double level)
{
    for (long i = from; i < N; i++)
        if (out[i] >= level)
            return i;
    return -1;
}
static long first_le(long from, double level)
{
    for (long i = from; i < N; i++)
        if (out[i] <= level)
            return i;
    return -1;
}

/* Where the envelope peaks in [from, to): the end of an attack that may fall
 * between two samples (then the peak is not sampled; the decay has begun). */
static long peak_index(long from, long to)
{
    long best = from;
    for (long i = from; i < to; i++)
        if (out[i] > out[best])
            best = i;
    return best;
}

/* An event at (fractional) sample time t shows at the first sample >= t;
 * the error must stay within 1 sample. */
static void timing_at(long got, double want, int line)
{
    const double err = fabs((double)got - want);
    worst_timing = fmax(worst_timing, err);
    if (err > 1.0 || getenv("KT_VERBOSE"))
        fprintf(stderr, "line %d: event at sample %ld, expected %.3f\n", line, got, want);
    CHECK(err <= 1.0);
}
#define timing(got, want) timing_at((got), (want), __LINE__)

static void test_adsr_stages(void)
{
    /* a = 10 ms (480 samples), d = 100 ms (4800), s = 0.5, r = 200 ms (9600). */
    gate_span(100, 20000);
    adsr(0.01f, 0.1f, 0.5f, 0.2f, KT_BLOCKS);
    CHECK(out[99] == 0.0f && out[100] == 0.0f);
    CHECK_NEAR(out[100 + 240], 0.5, 1e-6); /* linear attack */
    CHECK_NEAR(out[100 + 120], 0.25, 1e-6);
    timing(first_ge(100, 1.0 - 1e-6), 100 + 0.01f * SR);
    CHECK_NEAR(out[100 + 480 + 2400], 0.75, 1e-6); /* linear decay */
    timing(first_le(581, 0.5), 100 + 0.01f * SR + 0.1f * SR);
    /* Sustain holds exactly until the gate falls, then a linear release. */
    int exact = 1;
    for (long i = 100 + 480 + 4800; i <= 20000; i++)
        exact &= out[i] == 0.5f;
    CHECK(exact);
    CHECK_NEAR(out[20000 + 4800], 0.25, 1e-6);
    timing(first_le(20000, 0.0), 20000 + 0.2f * SR); /* 0.2f is 9600.00014 samples */
    CHECK(out[N - 1] == 0.0f);

    /* Times that are not whole samples: 12.34 ms attack = 592.32 samples. */
    gate_span(0, 30000);
    adsr(0.01234f, 0.0567f, 0.3f, 0.1f, KT_SPLIT);
    const double ta = 0.01234f * SR, td = 0.0567f * SR;
    timing(peak_index(0, 5000), ta);
    timing(first_le((long)ta, 0.3f), ta + td);
    timing(first_le(30000, 0.0), 30000 + 0.1f * SR);
}

static void test_adsr_retrigger(void)
{
    /* Back to back: the gate drops for one sample in the sustain. */
    gate_span(0, N);
    gate[10000] = 0.0f;
    adsr(0.01f, 0.1f, 0.5f, 0.2f, KT_SPLIT);
    /* At 10000 the release starts from 0.5; at 10001 the attack restarts from
     * where the release got to, toward 1 at 1/attack per second. */
    const double l0 = out[10001];
    CHECK(out[10000] == 0.5f);
    CHECK(l0 < 0.5 && l0 > 0.49);
    CHECK(out[10002] > out[10001]);
    CHECK_NEAR(out[10002] - out[10001], 1.0 / 480.0, 1e-6);
    timing(peak_index(10001, 12000), 10001 + (1.0 - l0) * 480.0);

    /* Gate high for a single sample between two lows, then high again. */
    gate_span(0, 0);
    gate[100] = 1.0f;
    for (long i = 102; i < N; i++)
        gate[i] = 1.0f;
    adsr(0.01f, 0.1f, 0.5f, 0.2f, KT_SINGLE);
    CHECK(out[100] == 0.0f);
    CHECK(out[101] > 0.0f);  /* attacked one sample, then released */
    CHECK(out[103] > out[102]); /* second onset at 102 */
    timing(peak_index(102, 5000), 102 + (1.0 - out[102]) * 480.0);

    /* Release from mid-attack: the gate falls at half the attack. */
    gate_span(0, 240);
    adsr(0.01f, 0.1f, 0.5f, 0.2f, KT_BLOCKS);
    CHECK_NEAR(out[240], 0.5, 1e-6);
    CHECK_NEAR(out[240 + 4800], 0.25, 1e-6); /* 0.5 to 0 in 9600 samples */
    timing(first_le(240, 0.0), 240 + 0.2f * SR);

    /* Retrigger during the release. */
    gate_span(0, 6000);
    for (long i = 8000; i < N; i++)
        gate[i] = 1.0f;
    adsr(0.01f, 0.1f, 0.5f, 0.2f, KT_SPLIT);
    const double l1 = out[8000];
    CHECK_NEAR(l1, 0.5 * (1.0 - 2000.0 / 9600.0), 1e-6);
    timing(peak_index(8000, 12000), 8000 + (1.0 - l1) * 480.0);
}

static void test_adsr_zero_and_varying(void)
{
    gate_span(50, 1000);
    adsr(0.0f, 0.1f, 0.5f, 0.0f, KT_SPLIT);
    CHECK(out[49] == 0.0f && out[50] == 1.0f);
    CHECK(out[999] < 1.0f && out[1000] == 0.0f);
    adsr(0.0f, 0.0f, 0.7f, 0.0f, KT_SPLIT);
    CHECK(out[50] == 0.7f && out[999] == 0.7f && out[1000] == 0.0f);
    /* Negative and NaN times count as 0; sustain outside [0,1] is clamped. */
    adsr(-1.0f, NAN, 3.0f, NAN, KT_SPLIT);
    CHECK(out[50] == 1.0f && out[999] == 1.0f && out[1000] == 0.0f);
    adsr(INFINITY, 1.0f, 0.5f, 1.0f, KT_SPLIT);
    CHECK(kt_all_finite(out, N) && out[999] == 0.0f);

    /* The attack time read per sample: 10 ms for 240 samples (to 0.5), then
     * 5 ms: the remaining 0.5 takes 120 samples. */
    static float att[N];
    for (long i = 0; i < N; i++)
        att[i] = i < 240 ? 0.01f : 0.005f;
    gate_span(0, N);
    float d = 0.1f, s = 0.5f, r = 0.2f;
    kt_sig in[5] = { kt_arr(att), kt_uni(&d), kt_uni(&s), kt_uni(&r), kt_arr(gate) };
    kt_render_new(op("adsr"), &attrs0, SR, in, out, N, KT_SPLIT);
    timing(peak_index(0, 5000), 359.5); /* step 240 already runs at 5 ms */
    CHECK(kt_split_ok(op("adsr"), &attrs0, SR, in, N));
}

/* Uniform inputs: idle and sustain blocks come back uniform, and every path
 * gives the same numbers as per-sample inputs. */
static void test_adsr_uniform(void)
{
    static float a[N], d[N], s[N], r[N], y[N];
    for (long i = 0; i < N; i++)
        a[i] = 0.01f, d[i] = 0.1f, s[i] = 0.5f, r[i] = 0.2f;
    float one = 1.0f, zero = 0.0f;
    kt_sig idle[5] = { kt_uni(&a[0]), kt_uni(&d[0]), kt_uni(&s[0]), kt_uni(&r[0]), kt_uni(&zero) };
    CHECK(kt_render_new(op("adsr"), &attrs0, SR, idle, out, 1280, KT_BLOCKS) == 10);
    CHECK(out[0] == 0.0f && out[1279] == 0.0f);
    kt_sig held[5] = { kt_uni(&a[0]), kt_uni(&d[0]), kt_uni(&s[0]), kt_uni(&r[0]), kt_uni(&one) };
    const long u = kt_render_new(op("adsr"), &attrs0, SR, held, out, N, KT_BLOCKS);
    CHECK(u >= N / 128 - 45); /* all blocks after the decay (5280 samples) */
    kt_sig arrays[5] = { kt_arr(a), kt_arr(d), kt_arr(s), kt_arr(r), kt_arr(gate) };
    gate_span(0, N);
    kt_render_new(op("adsr"), &attrs0, SR, arrays, y, N, KT_SINGLE);
    CHECK(kt_same_bits(out, y, N));
    gate_span(333, 20000);
    for (long i = 25000; i < 25003; i++)
        gate[i] = 1.0f;
    kt_sig mixed[5] = { kt_uni(&a[0]), kt_uni(&d[0]), kt_uni(&s[0]), kt_uni(&r[0]), kt_arr(gate) };
    CHECK(kt_split_ok(op("adsr"), &attrs0, SR, mixed, N));
    CHECK(kt_split_ok(op("adsr"), &attrs0, SR, arrays, N));
    kt_render_new(op("adsr"), &attrs0, SR, mixed, out, N, KT_BLOCKS);
    kt_render_new(op("adsr"), &attrs0, SR, arrays, y, N, KT_SPLIT);
    CHECK(kt_same_bits(out, y, N));
}

static void test_ar(void)
{
    float a = 0.01f, r = 0.1f;
    kt_sig in[3] = { kt_uni(&a), kt_uni(&r), kt_arr(gate) };
    /* A one-sample trigger and a long gate give the same envelope. */
    gate_span(10, 11);
    kt_render_new(op("ar"), &attrs0, SR, in, out, N, KT_SPLIT);
    timing(first_ge(10, 1.0 - 1e-6), 10 + 0.01f * SR);
    CHECK_NEAR(out[10 + 480 + 2400], 0.5, 1e-6);
    timing(first_le(491, 0.0), 10 + 0.01f * SR + 0.1f * SR);
    static float y[N];
    memcpy(y, out, sizeof y);
    gate_span(10, 30000);
    kt_render_new(op("ar"), &attrs0, SR, in, out, N, KT_BLOCKS);
    CHECK(kt_same_bits(out, y, N));
    /* Retrigger mid-release: attack from the current level. */
    gate_span(10, 11);
    gate[3000] = 1.0f;
    kt_render_new(op("ar"), &attrs0, SR, in, out, N, KT_SPLIT);
    const double l = out[3000];
    CHECK_NEAR(l, 1.0 - (3000.0 - 490.0) / 4800.0, 1e-6);
    timing(peak_index(3000, 8000), 3000 + (1.0 - l) * 480.0);
    /* Zero times: a one-sample peak. */
    a = 0.0f, r = 0.0f;
    gate_span(10, 20);
    kt_render_new(op("ar"), &attrs0, SR, in, out, N, KT_SPLIT);
    CHECK(out[9] == 0.0f && out[10] == 1.0f && out[11] == 0.0f);
    a = 0.01f, r = 0.1f;
    gate_span(10, 11);
    for (long i = 5000; i < 5100; i += 3)
        gate[i] = 1.0f;
    CHECK(kt_split_ok(op("ar"), &attrs0, SR, in, N));
}

/* An attack that ends within the rounding slack just before a sample leaves a
 * (tiny) negative remainder of the period: it must not run the next segment
 * backwards, which with release 0 (an infinite rate) gave +inf. Every attack
 * length from 1 to 2000 samples, and fractional ones, stays within [0, 1]. */
static void test_ar_release_zero(void)
{
    float a = 0.0f, r = 0.0f;
    kt_sig in[3] = { kt_uni(&a), kt_uni(&r), kt_arr(gate) };
    long bad = 0;
    gate_span(10, 11);
    for (int k = 1; k <= 2000; k++) {
        a = (float)(k / SR);
        kt_render_new(op("ar"), &attrs0, SR, in, out, 2100, KT_BLOCKS);
        for (long i = 0; i < 2100; i++)
            bad += !(out[i] >= 0.0f && out[i] <= 1.0f);
        a = (float)((k + 0.37) / SR);
        kt_render_new(op("ar"), &attrs0, SR, in, out, 2100, KT_BLOCKS);
        for (long i = 0; i < 2100; i++)
            bad += !(out[i] >= 0.0f && out[i] <= 1.0f);
    }
    if (bad)
        fprintf(stderr, "ar with release 0: %ld samples outside [0, 1]\n", bad);
    CHECK(bad == 0);
}

static void test_decay(void)
{
    float t = 0.5f;
    kt_sig in[2] = { kt_arr(gate), kt_uni(&t) };
    gate_span(100, 200);
    kt_render_new(op("decay"), &attrs0, SR, in, out, N, KT_SPLIT);
    CHECK(out[99] == 0.0f && out[100] == 1.0f);
    const double db60 = 20.0 * log10(out[100 + 24000]), db30 = 20.0 * log10(out[100 + 12000]);
    CHECK_NEAR(db60, -60.0, 0.001);
    CHECK_NEAR(db30, -30.0, 0.001);
    printf("decay 0.5 s: %.4f dB at 0.5 s, %.4f dB at 0.25 s\n", db60, db30);
    gate[30000] = 1.0f; /* retrigger */
    kt_render_new(op("decay"), &attrs0, SR, in, out, N, KT_BLOCKS);
    CHECK(out[30000] == 1.0f && out[29999] < 0.01f);
    CHECK(kt_split_ok(op("decay"), &attrs0, SR, in, N));
    /* Time 0: the onset sample only. Long after, the level is exactly 0 and
     * blocks come back uniform. */
    t = 0.0f;
    kt_render_new(op("decay"), &attrs0, SR, in, out, N, KT_SPLIT);
    CHECK(out[100] == 1.0f && out[101] == 0.0f);
    float zero = 0.0f;
    t = 0.001f;
    kt_sig quiet[2] = { kt_uni(&zero), kt_uni(&t) };
    CHECK(kt_render_new(op("decay"), &attrs0, SR, quiet, out, 1280, KT_BLOCKS) == 10);
}

static void test_trigger_latch(void)
{
    static const float x[10] = { 1.0f, 1.0f, 0.0f, 0.5f, -1.0f, NAN, 2.0f, 0.0f, 0.0f, 3.0f };
    static const float want[10] = { 1, 0, 0, 1, 0, 0, 1, 0, 0, 1 };
    kt_sig in[1] = { kt_arr(x) };
    float y[10];
    kt_render_new(op("trigger"), &attrs0, SR, in, y, 10, KT_SPLIT);
    CHECK(kt_same_bits(y, want, 10));
    CHECK(kt_split_ok(op("trigger"), &attrs0, SR, in, 10));
    float one = 1.0f;
    kt_sig u[1] = { kt_uni(&one) };
    kt_render_new(op("trigger"), &attrs0, SR, u, out, 300, KT_BLOCKS);
    CHECK(out[0] == 1.0f && out[1] == 0.0f && out[299] == 0.0f);

    static float v[N];
    for (long i = 0; i < N; i++)
        v[i] = (float)i;
    gate_span(0, 0);
    gate[500] = gate[501] = gate[900] = gate[20000] = 1.0f;
    kt_sig li[2] = { kt_arr(v), kt_arr(gate) };
    kt_render_new(op("latch"), &attrs0, SR, li, out, N, KT_SPLIT);
    CHECK(out[0] == 0.0f && out[499] == 0.0f && out[500] == 500.0f && out[899] == 500.0f);
    CHECK(out[900] == 900.0f && out[19999] == 900.0f && out[N - 1] == 20000.0f);
    CHECK(kt_split_ok(op("latch"), &attrs0, SR, li, N));
    kt_sig lu[2] = { kt_arr(v), kt_uni(&one) };
    kt_render_new(op("latch"), &attrs0, SR, lu, out, 300, KT_BLOCKS);
    CHECK(out[0] == 0.0f && out[299] == 0.0f); /* sampled x[0] = 0 at the onset */
}

int main(void)
{
    test_adsr_stages();
    test_adsr_retrigger();
    test_adsr_zero_and_varying();
    test_adsr_uniform();
    test_ar();
    test_ar_release_zero();
    test_decay();
    test_trigger_latch();
    printf("envelope timing: worst error %.5f samples (first sample at or after the exact event time)\n", worst_timing);
    return KR_TEST_REPORT("kernels_env");
}
