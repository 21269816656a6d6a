/* test_safety.c — the output safety stage (NaN scrub + soft limit) and the
 * real-time core that applies it: graph swaps, tone rendering, fault tones,
 * master-gain smoothing, retirement of old graphs and audio-thread notes. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "kr_test.h"
#include "krach/graph.h"
#include "krach/rt.h"
#include "krach/safety.h"
#include "krach/tone.h"

#define RATE 48000.0

static uint32_t float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float bits_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- kr_safety_limit ---------------------------------------------------------- */

static void test_limit_is_identity_up_to_knee(void)
{
    int changed = 0;
    /* Every float in [0, 0.9] would be 1e9 calls; take a dense grid instead,
     * plus the exact knee and its neighbours. */
    for (int i = 0; i <= 900000; i++) {
        float x = (float)i * 1e-6f;
        if (x > KR_SAFETY_KNEE)
            break;
        if (kr_safety_limit(x) != x || kr_safety_limit(-x) != -x)
            changed++;
    }
    CHECK(changed == 0);
    CHECK(kr_safety_limit(KR_SAFETY_KNEE) == KR_SAFETY_KNEE);
    CHECK(kr_safety_limit(-KR_SAFETY_KNEE) == -KR_SAFETY_KNEE);
    float below = nextafterf(KR_SAFETY_KNEE, 0.0f);
    CHECK(kr_safety_limit(below) == below);
    CHECK(kr_safety_limit(-below) == -below);
    CHECK(kr_safety_limit(0.0f) == 0.0f);
    CHECK(float_bits(kr_safety_limit(-0.0f)) == float_bits(-0.0f));
    CHECK(kr_safety_limit(0.5f) == 0.5f);
    CHECK(kr_safety_limit(-0.25f) == -0.25f);
    CHECK(kr_safety_limit(FLT_TRUE_MIN) == FLT_TRUE_MIN);
    CHECK(kr_safety_limit(-FLT_MIN) == -FLT_MIN);
}

static void test_limit_is_continuous_in_value_and_slope_at_knee(void)
{
    const float knee = KR_SAFETY_KNEE;
    float above = nextafterf(knee, 2.0f);
    /* One ulp above the knee lands within an ulp or two of the knee. */
    CHECK(kr_safety_limit(above) >= knee);
    CHECK_NEAR(kr_safety_limit(above), knee, 2e-7);
    CHECK_NEAR(kr_safety_limit(-above), -knee, 2e-7);
    /* Slope just above the knee is 1 (no kink), as it is below it. */
    const float h = 1e-3f;
    double slope_above = (kr_safety_limit(knee + h) - kr_safety_limit(knee)) / (double)h;
    CHECK_NEAR(slope_above, 1.0, 2e-3);
    /* Further up the slope falls below 1: the curve bends. */
    double slope_far = (kr_safety_limit(1.2f + h) - kr_safety_limit(1.2f)) / (double)h;
    CHECK(slope_far < 0.1);
    CHECK(slope_far >= 0.0);
}

static void test_limit_is_monotonic_and_bounded_dense_sweep(void)
{
    /* Every float from 0.85 to 2.0 (about 10 million), then a geometric sweep
     * to 1e6, then to FLT_MAX. */
    long not_monotonic = 0, above_one = 0, amplified = 0, below_knee = 0;
    float prev_y = kr_safety_limit(0.85f);
    for (float x = nextafterf(0.85f, 3.0f); x <= 2.0f; x = nextafterf(x, 3.0f)) {
        float y = kr_safety_limit(x);
        if (y < prev_y)
            not_monotonic++;
        if (y > 1.0f)
            above_one++;
        if (y > x)
            amplified++;
        if (x > KR_SAFETY_KNEE && y < KR_SAFETY_KNEE)
            below_knee++;
        prev_y = y;
    }
    for (double x = 2.0; x <= 1e6; x *= 1.0001) {
        float y = kr_safety_limit((float)x);
        if (y < prev_y)
            not_monotonic++;
        if (y > 1.0f)
            above_one++;
        prev_y = y;
    }
    for (double x = 1e6; x < FLT_MAX; x *= 1.5) {
        float y = kr_safety_limit((float)x);
        if (y < prev_y)
            not_monotonic++;
        if (y > 1.0f)
            above_one++;
        prev_y = y;
    }
    CHECK(not_monotonic == 0);
    CHECK(above_one == 0);
    CHECK(amplified == 0);
    CHECK(below_knee == 0);
    CHECK(kr_safety_limit(1.0f) < 1.0f); /* bends well before full scale */
    CHECK(kr_safety_limit(1.0f) > KR_SAFETY_KNEE);
}

static void test_limit_never_exceeds_full_scale(void)
{
    static const float big[] = {1.0f, 1.5f, 10.0f, 1e3f, 1e6f, 1e20f, 1e38f, FLT_MAX};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        CHECK(fabsf(kr_safety_limit(big[i])) <= 1.0f);
        CHECK(fabsf(kr_safety_limit(-big[i])) <= 1.0f);
        CHECK(kr_safety_limit(big[i]) > KR_SAFETY_KNEE);
        CHECK(kr_safety_limit(-big[i]) < -KR_SAFETY_KNEE);
    }
    CHECK(kr_safety_limit(FLT_MAX) <= 1.0f);
    CHECK(kr_safety_limit(-FLT_MAX) >= -1.0f);
    /* Every finite float, sampled by bit pattern: |y| <= 1 and |y| <= |x|. */
    long bad = 0;
    for (uint64_t u = 0; u < 0x7f800000u; u += 997) {
        float x = bits_float((uint32_t)u);
        float y = kr_safety_limit(x), ny = kr_safety_limit(-x);
        if (!(fabsf(y) <= 1.0f) || !(fabsf(y) <= fabsf(x)) || ny != -y)
            bad++;
    }
    CHECK(bad == 0);
}

static void test_limit_has_odd_symmetry(void)
{
    long asymmetric = 0;
    for (int i = 0; i < 200000; i++) {
        float x = (float)i * 1e-4f; /* 0 .. 20 */
        if (kr_safety_limit(-x) != -kr_safety_limit(x))
            asymmetric++;
    }
    CHECK(asymmetric == 0);
    CHECK(kr_safety_limit(-FLT_MAX) == -kr_safety_limit(FLT_MAX));
}

/* ---- kr_safety_process --------------------------------------------------------- */

static void test_process_scrubs_and_counts_nonfinite(void)
{
    float s[] = {NAN, 0.25f, INFINITY, -INFINITY, -0.5f, -NAN, 0.0f, NAN};
    CHECK(kr_safety_process(s, sizeof s / sizeof s[0]) == 5);
    CHECK(s[0] == 0.0f);
    CHECK(s[1] == 0.25f);
    CHECK(s[2] == 0.0f);
    CHECK(s[3] == 0.0f);
    CHECK(s[4] == -0.5f);
    CHECK(s[5] == 0.0f);
    CHECK(s[6] == 0.0f);
    CHECK(s[7] == 0.0f);
    /* A signalling NaN and a NaN with payload are caught too. */
    float odd[] = {bits_float(0x7f800001u), bits_float(0xffc12345u), bits_float(0x7fbfffffu)};
    CHECK(kr_safety_process(odd, 3) == 3);
    CHECK(odd[0] == 0.0f && odd[1] == 0.0f && odd[2] == 0.0f);
    /* A second pass finds nothing left to scrub. */
    CHECK(kr_safety_process(s, sizeof s / sizeof s[0]) == 0);
}

static void test_process_zero_length_is_a_no_op(void)
{
    float s[1] = {NAN};
    CHECK(kr_safety_process(s, 0) == 0);
    CHECK(isnan(s[0]));
}

static void test_process_leaves_normal_levels_untouched(void)
{
    enum { N = 4096 };
    static float s[N], copy[N];
    for (int i = 0; i < N; i++)
        s[i] = copy[i] = KR_SAFETY_KNEE * (float)sin(i * 0.01) * (float)((i % 100) / 99.0);
    CHECK(kr_safety_process(s, N) == 0);
    CHECK(memcmp(s, copy, sizeof s) == 0); /* bit-identical */
}

static void test_process_output_always_in_full_scale(void)
{
    /* Random bit patterns: all of them (incl. NaN/Inf encodings) come out finite
     * and within [-1, 1], and exactly the non-finite ones are counted. */
    enum { N = 100000 };
    float *s = malloc(N * sizeof *s);
    uint32_t state = 0x12345678u;
    size_t expected_bad = 0;
    for (int i = 0; i < N; i++) {
        state = state * 1664525u + 1013904223u;
        uint32_t bits = state;
        if (i % 10 == 0)
            bits |= 0x7f800000u; /* force plenty of NaN/Inf exponents */
        s[i] = bits_float(bits);
        if (!isfinite(s[i]))
            expected_bad++;
    }
    CHECK(expected_bad > 1000);
    CHECK(kr_safety_process(s, N) == expected_bad);
    long outside = 0;
    for (int i = 0; i < N; i++)
        if (!isfinite(s[i]) || s[i] > 1.0f || s[i] < -1.0f)
            outside++;
    CHECK(outside == 0);
    free(s);

    float loud[] = {FLT_MAX, -FLT_MAX, 2.0f, -3.0f, 1.0f, -1.0f, 0.95f};
    CHECK(kr_safety_process(loud, 7) == 0);
    for (int i = 0; i < 7; i++) {
        CHECK(fabsf(loud[i]) <= 1.0f);
        CHECK(fabsf(loud[i]) > KR_SAFETY_KNEE);
    }
    CHECK(loud[0] > 0 && loud[1] < 0 && loud[3] < 0);
    CHECK(loud[6] == kr_safety_limit(0.95f));
}

static void test_process_handles_denormals(void)
{
    /* Runs before any kr_rt_process, i.e. before this thread flushes denormals,
     * so the CPU really sees subnormal operands here. */
    float s[] = {FLT_TRUE_MIN, -FLT_TRUE_MIN, 1e-40f, -1e-42f, FLT_MIN * 0.5f};
    float copy[5];
    memcpy(copy, s, sizeof s);
    CHECK(kr_safety_process(s, 5) == 0);
    for (int i = 0; i < 5; i++) {
        CHECK(isfinite(s[i]));
        /* Untouched, or flushed to zero: never amplified or made non-finite. */
        CHECK(s[i] == copy[i] || s[i] == 0.0f);
        CHECK(fabsf(s[i]) < 1e-30f);
    }
}

/* ---- kr_rt -------------------------------------------------------------------- */

/* A node that outputs a constant: makes gain ramps directly observable. */
typedef struct dc_state {
    float level;
} dc_state;

static void dc_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    (void)rt;
    const dc_state *s = node->state;
    for (unsigned i = 0; i < frames; i++)
        node->out[0][i] = s->level;
}

static void dc_set_param(kr_node *node, int voice, int index, double value)
{
    (void)voice;
    (void)index;
    ((dc_state *)node->state)->level = (float)value;
}

static const kr_node_type dc_type = {
    .kind = "dc", .process = dc_process, .set_param = dc_set_param, .destroy_state = free};

static kr_node *dc_create(const char *name, float level)
{
    dc_state *s = malloc(sizeof *s);
    s->level = level;
    return kr_node_create(&dc_type, name, 1, RATE, 1.0f, s);
}

static void swap_in(kr_rt *rt, kr_graph *graph)
{
    kr_rt_command cmd = {.type = KR_RT_SWAP_GRAPH, .ptr = graph};
    CHECK(kr_rt_send(rt, &cmd));
}

/* Frees whatever graphs the rt holds or has retired (the nodes are the
 * caller's), then the rt itself. */
static void rt_teardown(kr_rt *rt)
{
    kr_rt_apply_commands(rt);
    kr_rt_retired old;
    while (kr_ring_pop(&rt->retired, &old))
        old.destroy(old.ptr);
    kr_graph_destroy(rt->graph);
    rt->graph = NULL;
    kr_rt_free(rt);
}

static int upward_zero_crossings(const float *buf, size_t frames, int channels, int ch)
{
    int crossings = 0;
    for (size_t i = 1; i < frames; i++)
        if (buf[(i - 1) * (size_t)channels + (size_t)ch] < 0.0f &&
            buf[i * (size_t)channels + (size_t)ch] >= 0.0f)
            crossings++;
    return crossings;
}

static float peak(const float *buf, size_t n)
{
    float p = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (fabsf(buf[i]) > p)
            p = fabsf(buf[i]);
    return p;
}

static void test_rt_init_and_silence_without_graph(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    CHECK(rt.channels == 2);
    CHECK(rt.sample_rate == RATE);
    CHECK(rt.graph == NULL);
    CHECK(rt.mix != NULL);
    enum { FRAMES = 1000 };
    static float out[FRAMES * 2];
    for (int i = 0; i < FRAMES * 2; i++)
        out[i] = 123.0f;
    kr_rt_process(&rt, out, FRAMES);
    CHECK(peak(out, FRAMES * 2) == 0.0f);
    CHECK(atomic_load(&rt.frames) == FRAMES);
    kr_rt_process(&rt, out, 0); /* zero frames: nothing happens */
    CHECK(atomic_load(&rt.frames) == FRAMES);
    CHECK(atomic_load(&rt.nonfinite) == 0);
    CHECK(kr_ring_count(&rt.notes) == 0);
    rt_teardown(&rt);
}

static void test_rt_tone_frequency_and_peak(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    kr_node *tone = kr_tone_create("t", RATE, 1000.0, 0.5, KR_TONE_FAULT_NONE);
    CHECK(tone != NULL);
    swap_in(&rt, kr_graph_create(&tone, 1, NULL, 0));

    enum { FRAMES = 4800 }; /* 0.1 s: exactly 100 cycles of 1 kHz */
    static float out[FRAMES * 2];
    kr_rt_process(&rt, out, FRAMES);
    CHECK(rt.graph != NULL && rt.graph->count == 1);
    int up_left = upward_zero_crossings(out, FRAMES, 2, 0);
    int up_right = upward_zero_crossings(out, FRAMES, 2, 1);
    CHECK(up_left >= 99 && up_left <= 100);
    CHECK(up_right == up_left);
    CHECK_NEAR(peak(out, FRAMES * 2), 0.5, 0.005);
    /* A mono node feeds both channels identically. */
    int differ = 0;
    for (int i = 0; i < FRAMES; i++)
        if (out[2 * i] != out[2 * i + 1])
            differ++;
    CHECK(differ == 0);
    CHECK(atomic_load(&rt.frames) == FRAMES);
    CHECK(atomic_load(&rt.nonfinite) == 0);

    /* Changing the frequency parameter glides there (20 ms): after 0.1 s of
     * settling, 0.1 s holds 200 cycles of 2 kHz. */
    kr_rt_command set = {.type = KR_RT_SET_PARAM, .ptr = tone, .index = KR_TONE_FREQ,
                         .value = 2000.0};
    CHECK(kr_rt_send(&rt, &set));
    kr_rt_process(&rt, out, FRAMES);
    kr_rt_process(&rt, out, FRAMES);
    int up = upward_zero_crossings(out, FRAMES, 2, 0);
    CHECK(up >= 199 && up <= 200);

    /* Node gain command: the tone fades out smoothly and ends near silence. */
    kr_rt_command gain = {.type = KR_RT_SET_GAIN, .ptr = tone, .value = 0.0};
    CHECK(kr_rt_send(&rt, &gain));
    kr_rt_process(&rt, out, FRAMES);
    CHECK(peak(out, 200) > 0.3f);            /* no instant cut */
    CHECK(peak(out + (FRAMES - 480) * 2, 960) < 0.01f); /* last 10 ms */

    rt_teardown(&rt);
    kr_node_destroy(tone);
}

static void test_rt_slicing_does_not_change_the_samples(void)
{
    /* 10000 frames in one call (sliced internally at KR_MAX_BLOCK) must equal
     * the same 10000 frames rendered in odd-sized calls. */
    enum { FRAMES = 10000 };
    static float whole[FRAMES * 2], pieces[FRAMES * 2];
    kr_rt a, b;
    CHECK(kr_rt_init(&a, RATE, 2, 1.0f) == 0);
    CHECK(kr_rt_init(&b, RATE, 2, 1.0f) == 0);
    kr_node *ta = kr_tone_create("a", RATE, 441.0, 0.7, KR_TONE_FAULT_NONE);
    kr_node *tb = kr_tone_create("b", RATE, 441.0, 0.7, KR_TONE_FAULT_NONE);
    swap_in(&a, kr_graph_create(&ta, 1, NULL, 0));
    swap_in(&b, kr_graph_create(&tb, 1, NULL, 0));
    kr_rt_process(&a, whole, FRAMES);
    static const unsigned steps[] = {1, 63, 256, 4095, 4097, 777};
    size_t done = 0;
    for (int i = 0; done < FRAMES; i++) {
        size_t n = steps[i % 6];
        if (n > FRAMES - done)
            n = FRAMES - done;
        kr_rt_process(&b, pieces + done * 2, n);
        done += n;
    }
    CHECK(memcmp(whole, pieces, sizeof whole) == 0);
    CHECK(atomic_load(&a.frames) == FRAMES && atomic_load(&b.frames) == FRAMES);
    rt_teardown(&a);
    rt_teardown(&b);
    kr_node_destroy(ta);
    kr_node_destroy(tb);
}

/* A fault tone is silenced whole, from its first block: nothing non-finite
 * reaches the mix, so the master stage has nothing to scrub, and the output is
 * bit-identical to the healthy tone alone. */
static void test_rt_fault_tone_is_isolated(void)
{
    static const kr_tone_fault faults[] = {KR_TONE_FAULT_NAN, KR_TONE_FAULT_INF};
    for (int f = 0; f < 2; f++) {
        kr_rt rt, ref;
        CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
        CHECK(kr_rt_init(&ref, RATE, 2, 1.0f) == 0);
        kr_node *nodes[2] = {kr_tone_create("bad", RATE, 440.0, 0.5, faults[f]),
                             kr_tone_create("good", RATE, 1000.0, 0.25, KR_TONE_FAULT_NONE)};
        kr_node *alone = kr_tone_create("good", RATE, 1000.0, 0.25, KR_TONE_FAULT_NONE);
        swap_in(&rt, kr_graph_create(nodes, 2, NULL, 0));
        swap_in(&ref, kr_graph_create(&alone, 1, NULL, 0));
        enum { FRAMES = 4800 };
        static float out[FRAMES * 2], want[FRAMES * 2];
        for (int i = 0; i < 12; i++) {
            kr_rt_process(&rt, out, FRAMES);
            kr_rt_process(&ref, want, FRAMES);
            CHECK(memcmp(out, want, sizeof out) == 0);
        }
        CHECK(peak(out, FRAMES * 2) > 0.2f); /* the healthy tone still plays */
        CHECK(atomic_load(&rt.nonfinite) == 0);
        CHECK(atomic_load(&rt.node_faults) == 1);
        CHECK(atomic_load(&nodes[0]->faulted));
        CHECK(atomic_load(&nodes[0]->fault_count) == 1);
        CHECK(!atomic_load(&nodes[1]->faulted));
        CHECK(kr_ring_count(&rt.notes) == 0); /* the report is the server's job */
        rt_teardown(&rt);
        rt_teardown(&ref);
        kr_node_destroy(nodes[0]);
        kr_node_destroy(nodes[1]);
        kr_node_destroy(alone);
    }
}

/* ---- per-node isolation with a node that turns bad later ----------------------- */

typedef struct later_state {
    long long pos, bad_at; /* the first sample that is NaN */
    int runs;              /* process calls */
    float value;           /* what it plays while healthy */
} later_state;

static void later_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    (void)rt;
    later_state *s = node->state;
    s->runs++;
    for (unsigned i = 0; i < frames; i++, s->pos++)
        node->out[0][i] = s->pos >= s->bad_at ? logf(-1.0f) * s->value : s->value;
}

static void later_set_param(kr_node *node, int voice, int index, double value)
{
    (void)node, (void)voice, (void)index, (void)value;
}

/* The "new definition": a healthy state replaces the poisoned one (the test
 * owns both, so nothing is retired). */
static void later_swap(kr_node *node, void *payload, struct kr_rt *rt)
{
    (void)rt;
    node->state = payload;
}

static const kr_node_type later_type = {
    .kind = "later", .process = later_process, .set_param = later_set_param,
    .swap = later_swap,
};

static void test_node_turning_bad_is_silenced_and_replaceable(void)
{
    enum { BLOCK = 256, BLOCKS = 40, BAD_AT = 10 * BLOCK + 100 };
    kr_rt rt, ref;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    CHECK(kr_rt_init(&ref, RATE, 2, 1.0f) == 0);
    later_state first = {0, BAD_AT, 0, 0.0f}, second = {0, 1LL << 60, 0, 0.125f};
    kr_node *bad = kr_node_create(&later_type, "bad", 1, RATE, 1.0f, &first);
    kr_node *good = kr_tone_create("good", RATE, 1000.0, 0.25, KR_TONE_FAULT_NONE);
    kr_node *alone = kr_tone_create("good", RATE, 1000.0, 0.25, KR_TONE_FAULT_NONE);
    kr_node *both[2] = {bad, good};
    swap_in(&rt, kr_graph_create(both, 2, NULL, 0));
    swap_in(&ref, kr_graph_create(&alone, 1, NULL, 0));
    static float out[BLOCK * 2], want[BLOCK * 2];
    long differing = 0;
    for (int b = 0; b < BLOCKS; b++) {
        kr_rt_process(&rt, out, BLOCK);
        kr_rt_process(&ref, want, BLOCK);
        differing += memcmp(out, want, sizeof out) != 0;
        /* The fault is seen in the block that holds sample BAD_AT (block 10). */
        CHECK(atomic_load(&bad->faulted) == (b >= 10));
    }
    /* It played exact zeros before, so the mix equals the tone alone throughout. */
    CHECK(differing == 0);
    CHECK(first.runs == 11); /* never run again once faulted */
    CHECK(atomic_load(&bad->fault_count) == 1);
    CHECK(atomic_load(&rt.node_faults) == 1);
    CHECK(atomic_load(&rt.nonfinite) == 0);

    /* A new definition clears the fault: the node plays again. */
    kr_rt_command swap = {.type = KR_RT_NODE_SWAP, .ptr = bad, .payload = &second};
    CHECK(kr_rt_send(&rt, &swap));
    kr_rt_process(&rt, out, BLOCK);
    kr_rt_process(&ref, want, BLOCK);
    CHECK(!atomic_load(&bad->faulted));
    CHECK(second.runs == 1);
    CHECK_NEAR(out[2 * 100] - want[2 * 100], 0.125, 1e-6);
    rt_teardown(&rt);
    rt_teardown(&ref);
    bad->state = NULL; /* stack states */
    kr_node_destroy(bad);
    kr_node_destroy(good);
    kr_node_destroy(alone);
}

/* Finite nodes can still sum to infinity: the master stage scrubs that and
 * posts one note (at most one per second of audio). */
static void test_master_scrubs_an_overflowing_sum(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    later_state a = {0, 1LL << 60, 0, FLT_MAX}, b = {0, 1LL << 60, 0, FLT_MAX};
    kr_node *nodes[2] = {kr_node_create(&later_type, "a", 1, RATE, 1.0f, &a),
                         kr_node_create(&later_type, "b", 1, RATE, 1.0f, &b)};
    swap_in(&rt, kr_graph_create(nodes, 2, NULL, 0));
    static float out[256 * 2];
    kr_rt_process(&rt, out, 256);
    CHECK(atomic_load(&rt.nonfinite) == 512);
    CHECK(atomic_load(&rt.node_faults) == 0);
    CHECK(peak(out, 512) == 0.0f);
    CHECK(kr_ring_count(&rt.notes) == 1);
    kr_rt_note note;
    CHECK(kr_ring_pop(&rt.notes, &note));
    CHECK_STR_CONTAINS(note.fmt, "non-finite");
    CHECK(note.a == 512.0 && note.b == 512.0);
    kr_rt_process(&rt, out, 256);
    CHECK(kr_ring_count(&rt.notes) == 0); /* not again within the second */
    rt_teardown(&rt);
    for (int i = 0; i < 2; i++) {
        nodes[i]->state = NULL;
        kr_node_destroy(nodes[i]);
    }
}

static void test_all_finite_scan(void)
{
    float x[300];
    for (int i = 0; i < 300; i++)
        x[i] = (float)i * 1e3f - 1e5f;
    CHECK(kr_safety_all_finite(x, 300));
    CHECK(kr_safety_all_finite(x, 0));
    const float odd[] = {FLT_MAX, -FLT_MAX, FLT_MIN, FLT_TRUE_MIN, -0.0f, 0.0f};
    CHECK(kr_safety_all_finite(odd, sizeof odd / sizeof odd[0]));
    const float bad[] = {NAN, -NAN, INFINITY, -INFINITY, bits_float(0x7f800001u),
                         bits_float(0xffc00000u)};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        for (int at = 0; at < 300; at += 37) {
            float saved = x[at];
            x[at] = bad[k];
            CHECK(!kr_safety_all_finite(x, 300));
            CHECK(kr_safety_all_finite(x, (size_t)at)); /* only the samples before it */
            x[at] = saved;
        }
    /* Cost, for docs/performance.md: one node's stereo block of 128 frames. */
    static float block[2][128];
    struct timespec t0, t1;
    enum { REPS = 200000 };
    volatile bool sink = true;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < REPS; r++) {
        block[0][r & 127] = (float)r;
        sink = kr_safety_all_finite(block[0], 128) & kr_safety_all_finite(block[1], 128);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    (void)sink;
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / REPS;
    printf("kr_safety_all_finite: %.1f ns per stereo 128-frame block\n", ns);
}

static void test_rt_master_gain_ramps_smoothly(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    kr_node *dc = dc_create("dc", 0.5f);
    swap_in(&rt, kr_graph_create(&dc, 1, NULL, 0));
    enum { BLOCK = 256, SETTLE = 7200 }; /* 150 ms at 48 kHz */
    static float out[SETTLE * 2];
    kr_rt_process(&rt, out, BLOCK);
    CHECK_NEAR(out[2 * BLOCK - 1], 0.5, 1e-6);

    /* One-pole at 20 ms: each sample moves (1 - coef) of the remaining way, so
     * for a DC of 0.5 and a jump of 0.75 no step exceeds 0.5 * 0.75 * (1 - coef)
     * (about 0.00039); a hard switch would step by 0.375. */
    static const float targets[] = {0.25f, 1.0f, 0.0f, 1.5f};
    float level = 0.5f;
    for (int t = 0; t < 4; t++) {
        const float target = targets[t];
        kr_rt_command cmd = {.type = KR_RT_SET_MASTER, .value = target};
        CHECK(kr_rt_send(&rt, &cmd));
        const double bound = 0.5 * fabs(target - level / 0.5f) * (1.0 - rt.master_coef) * 1.01 +
                             1e-6;
        for (size_t done = 0; done < SETTLE; done += BLOCK) /* like a device */
            kr_rt_process(&rt, out + done * 2, SETTLE - done < BLOCK ? SETTLE - done : BLOCK);
        double max_step = fabs(out[0] - level);
        for (int i = 1; i < SETTLE; i++)
            if (fabs(out[2 * i] - out[2 * i - 2]) > max_step)
                max_step = fabs(out[2 * i] - out[2 * i - 2]);
        CHECK(max_step <= bound);
        CHECK(max_step > 0.0);
        /* Within 150 ms it has arrived (7.5 time constants: 0.06 % left). */
        float want = kr_safety_limit(0.5f * target);
        CHECK_NEAR(out[2 * SETTLE - 2], want, 1e-3);
        CHECK_NEAR(out[2 * SETTLE - 1], want, 1e-3);
        /* The change is gradual: the first sample is still near the old level. */
        CHECK_NEAR(out[0], level, 1e-3);
        level = out[2 * SETTLE - 2];
    }
    rt_teardown(&rt);
    kr_node_destroy(dc);
}

static void test_rt_retires_replaced_graphs(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    kr_node *a = kr_tone_create("a", RATE, 440.0, 0.3, KR_TONE_FAULT_NONE);
    kr_node *b = kr_tone_create("b", RATE, 660.0, 0.3, KR_TONE_FAULT_NONE);
    kr_graph *g1 = kr_graph_create(&a, 1, NULL, 0);
    kr_node *both[2] = {a, b};
    kr_graph *g2 = kr_graph_create(both, 2, NULL, 0);
    kr_graph *g3 = kr_graph_create(&b, 1, NULL, 0);
    CHECK(g1 && g2 && g3);
    /* The first swap replaces nothing, so nothing is retired. */
    swap_in(&rt, g1);
    static float out[512 * 2];
    kr_rt_process(&rt, out, 512);
    CHECK(rt.graph == g1);
    CHECK(kr_ring_count(&rt.retired) == 0);
    /* The second swap hands g1 back to the server thread. */
    swap_in(&rt, g2);
    kr_rt_process(&rt, out, 512);
    CHECK(rt.graph == g2);
    CHECK(kr_ring_count(&rt.retired) == 1);
    kr_rt_retired old = {0};
    CHECK(kr_ring_pop(&rt.retired, &old));
    CHECK(old.ptr == g1);
    old.destroy(old.ptr);
    /* Node 'a' leaves with g3; it is parked on g2 and freed together with it. */
    CHECK(kr_graph_park_dead(g2, a) == 0);
    swap_in(&rt, g3);
    kr_rt_apply_commands(&rt); /* the offline/shutdown path: no rendering */
    CHECK(rt.graph == g3);
    CHECK(kr_ring_pop(&rt.retired, &old));
    CHECK(old.ptr == g2);
    CHECK(g2->dead_count == 1 && g2->dead[0] == a);
    old.destroy(old.ptr); /* frees 'a' too */
    rt_teardown(&rt);
    kr_node_destroy(b);
}

static void test_rt_command_queue_full_is_reported(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    kr_rt_command cmd = {.type = KR_RT_SET_MASTER, .value = 0.5};
    int sent = 0;
    while (kr_rt_send(&rt, &cmd) && sent < 100000)
        sent++;
    CHECK(sent == KR_RT_QUEUE);
    kr_rt_apply_commands(&rt);
    CHECK(rt.master_target == 0.5f);
    CHECK(kr_ring_count(&rt.commands) == 0);
    CHECK(kr_rt_send(&rt, &cmd)); /* room again */
    rt_teardown(&rt);
}

static void test_rt_notes_and_xruns(void)
{
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    kr_rt_count_xrun(&rt);
    kr_rt_count_xrun(&rt);
    CHECK(atomic_load(&rt.xruns) == 2);
    /* Notes beyond the ring's room are dropped silently, never block. */
    for (int i = 0; i < KR_RT_NOTES + 10; i++)
        kr_rt_post_note(&rt, KR_LOG_INFO, "note %g of %g", i, KR_RT_NOTES);
    CHECK(kr_ring_count(&rt.notes) == KR_RT_NOTES);
    kr_rt_note note;
    CHECK(kr_ring_pop(&rt.notes, &note));
    CHECK(note.a == 0.0 && note.b == KR_RT_NOTES && note.level == KR_LOG_INFO);
    rt_teardown(&rt);
}

int main(void)
{
    /* Denormals first: kr_rt_process later sets FTZ/DAZ on this thread. */
    test_process_handles_denormals();
    test_limit_is_identity_up_to_knee();
    test_limit_is_continuous_in_value_and_slope_at_knee();
    test_limit_is_monotonic_and_bounded_dense_sweep();
    test_limit_never_exceeds_full_scale();
    test_limit_has_odd_symmetry();
    test_process_scrubs_and_counts_nonfinite();
    test_process_zero_length_is_a_no_op();
    test_process_leaves_normal_levels_untouched();
    test_process_output_always_in_full_scale();

    test_rt_init_and_silence_without_graph();
    test_rt_tone_frequency_and_peak();
    test_rt_slicing_does_not_change_the_samples();
    test_rt_fault_tone_is_isolated();
    test_node_turning_bad_is_silenced_and_replaceable();
    test_master_scrubs_an_overflowing_sum();
    test_all_finite_scan();
    test_rt_master_gain_ramps_smoothly();
    test_rt_retires_replaced_graphs();
    test_rt_command_queue_full_is_reported();
    test_rt_notes_and_xruns();
    return KR_TEST_REPORT("safety");
}
