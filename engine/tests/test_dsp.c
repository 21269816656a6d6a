/* test_dsp.c — the IR validator, the compiler and the executor, end to end
 * below the protocol: IR text in, samples out. */
#include <jansson.h>
#include <stdlib.h>

#include "kr_test.h"
#include "krach/dsp.h"
#include "krach/dsp_node.h"
#include "krach/ir.h"
#include "krach/rt.h"

#define RATE 48000.0

/* Parses and compiles IR text; on failure stores the message in *msg. */
static kr_dsp_program *build(const char *text, char *msg, size_t len)
{
    json_error_t jerr;
    json_t *json = json_loads(text, 0, &jerr);
    if (!json) {
        snprintf(msg, len, "test IR is not JSON: %s", jerr.text);
        return NULL;
    }
    kr_ir ir;
    kr_error error = {0};
    kr_dsp_program *p = NULL;
    if (kr_ir_parse(json, &ir, &error) == 0) {
        p = kr_dsp_compile(&ir, RATE, &error);
        kr_ir_free(&ir);
    }
    json_decref(json);
    if (!p)
        snprintf(msg, len, "%s", error.message);
    return p;
}

static kr_dsp_program *build_ok(const char *text)
{
    char msg[600];
    kr_dsp_program *p = build(text, msg, sizeof msg);
    if (!p)
        fprintf(stderr, "unexpected IR error: %s\n", msg);
    CHECK(p != NULL);
    return p;
}

static void expect_error(const char *text, const char *needle)
{
    char msg[600] = "";
    kr_dsp_program *p = build(text, msg, sizeof msg);
    CHECK(p == NULL);
    CHECK_STR_CONTAINS(msg, needle);
    kr_dsp_program_release(p);
}

/* Runs a fresh instance of `p` for `frames` samples into `out` (mono). */
static void render(kr_dsp_program *p, float *out, unsigned frames, unsigned chunk)
{
    kr_dsp_instance *inst = kr_dsp_instance_create(p);
    CHECK(inst != NULL);
    for (unsigned done = 0; done < frames; done += chunk) {
        unsigned n = frames - done < chunk ? frames - done : chunk;
        float *outs[1] = {out + done};
        kr_dsp_instance_run(inst, NULL, outs, n);
    }
    kr_dsp_instance_destroy(inst);
}

#define IR(controls, nodes, outputs) \
    "{\"krach_ir\": 1, \"controls\": [" controls "], \"nodes\": [" nodes "], \"outputs\": [" outputs "]}"

static void test_validation_errors_name_node_op_and_argument(void)
{
    expect_error(IR("", "{\"op\": \"nope\"}", "0"), "node 0 (nope): unknown op 'nope'");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"lowpass\", \"in\": [0, 0], \"order\": 12}", "1"),
                 "node 1 (lowpass): attribute 'order' is 12; it must be 1 to 8");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"add\", \"in\": [0]}", "1"),
                 "node 1 (add): takes 2 inputs, got 1");
    expect_error(IR("", "{\"op\": \"add\", \"in\": [1, 1]}, {\"op\": \"const\", \"value\": 1}", "0"),
                 "node 0 (add): input 0 (a) refers to node 1, which comes later");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"lowpass\", \"in\": [0, 9]}", "1"),
                 "input 1 (cutoff) refers to node 9, which does not exist");
    expect_error(IR("", "{\"op\": \"rdtable\", \"in\": [0], \"table\": []}", "0"),
                 "node 0 (rdtable)");
    expect_error(IR("{\"name\": \"f\", \"init\": 5, \"lo\": 10, \"hi\": 20}", "{\"op\": \"control\", \"index\": 0}", "0"),
                 "control 'f': need lo <= init <= hi");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"lowpass\", \"in\": [0, 0], \"ordr\": 2}", "1"),
                 "unknown attribute 'ordr'");
    /* faust_expr parses in every build; the native compiler hands it on. */
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"faust_expr\", \"in\": [0], \"code\": \"_\"}", "1"),
                 "only the FAUST backend compiles");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"faust_expr\", \"in\": [0]}", "1"),
                 "node 1 (faust_expr): attribute 'code' must be a non-empty string");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"faust_expr\", \"in\": [0, 0, 0, 0, 0, 0], \"code\": \"_\"}", "1"),
                 "takes at most 5 inputs, got 6");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}, {\"op\": \"faust_expr\", \"in\": [0], \"code\": \"_\", \"x\": 1}", "1"),
                 "unknown attribute 'x'");
    expect_error(IR("", "{\"op\": \"const\", \"value\": 1}", "0, 0, 0"), "\"outputs\" must list 1 to 2");
}

static void test_constants_fold_and_duplicates_merge(void)
{
    /* (2 + 3) * sr folds to one constant; two identical saws become one;
     * an unused node disappears. */
    kr_dsp_program *p = build_ok(IR("",
        "{\"op\": \"const\", \"value\": 2}, {\"op\": \"const\", \"value\": 3},"
        "{\"op\": \"add\", \"in\": [0, 1]}, {\"op\": \"sr\"}, {\"op\": \"mul\", \"in\": [2, 3]},"
        "{\"op\": \"const\", \"value\": 110}, {\"op\": \"saw\", \"in\": [5]}, {\"op\": \"saw\", \"in\": [5]},"
        "{\"op\": \"add\", \"in\": [6, 7]}, {\"op\": \"sine_osc\", \"in\": [5]}",
        "8"));
    if (!p)
        return;
    const kr_dsp_stats *st = kr_dsp_program_stats(p);
    CHECK(st->ir_nodes == 10);
    CHECK(st->nodes == 3);      /* const 110, one saw, the add */
    CHECK(st->steps == 2);
    CHECK(st->loops == 0);
    kr_dsp_program_release(p);
}

static void test_equal_programs_compare_equal(void)
{
    const char *a = IR("", "{\"op\": \"const\", \"value\": 440}, {\"op\": \"saw\", \"in\": [0]}", "1");
    const char *b = IR("", "{\"op\": \"const\", \"value\": 220}, {\"op\": \"const\", \"value\": 2},"
                           "{\"op\": \"mul\", \"in\": [0, 1]}, {\"op\": \"saw\", \"in\": [2]}", "3");
    const char *c = IR("", "{\"op\": \"const\", \"value\": 441}, {\"op\": \"saw\", \"in\": [0]}", "1");
    kr_dsp_program *pa = build_ok(a), *pb = build_ok(b), *pc = build_ok(c);
    if (pa && pb && pc) {
        CHECK(kr_dsp_program_equal(pa, pb)); /* folding makes them the same program */
        CHECK(!kr_dsp_program_equal(pa, pc));
    }
    kr_dsp_program_release(pa);
    kr_dsp_program_release(pb);
    kr_dsp_program_release(pc);
}

static void test_feedback_counter_is_exact(void)
{
    /* y = mem(y) + 1: counts 1, 2, 3, … exactly for a million samples. */
    kr_dsp_program *p = build_ok(IR("",
        "{\"op\": \"mem\", \"in\": [2]}, {\"op\": \"const\", \"value\": 1},"
        "{\"op\": \"add\", \"in\": [0, 1]}", "2"));
    if (!p)
        return;
    CHECK(kr_dsp_program_stats(p)->loops == 1);
    enum { N = 1000000 };
    float *out = malloc(N * sizeof(float));
    render(p, out, N, 256);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += out[i] != (float)(i + 1);
    CHECK(wrong == 0);
    free(out);
    kr_dsp_program_release(p);
}

static void test_split_calls_give_identical_output(void)
{
    /* A loop with a delay inside, a filter and an oscillator: any chunking
     * must give the same samples. */
    kr_dsp_program *p = build_ok(IR("",
        "{\"op\": \"const\", \"value\": 220}, {\"op\": \"saw\", \"in\": [0]},"
        "{\"op\": \"const\", \"value\": 0.5}, {\"op\": \"mem\", \"in\": [5]},"
        "{\"op\": \"mul\", \"in\": [3, 2]}, {\"op\": \"add\", \"in\": [1, 4]},"
        "{\"op\": \"const\", \"value\": 1200}, {\"op\": \"lowpass\", \"in\": [5, 6], \"order\": 4}",
        "7"));
    if (!p)
        return;
    enum { N = 9000 };
    static float a[N], b[N], c[N];
    render(p, a, N, N);
    render(p, b, N, 1);
    render(p, c, N, 77);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) == 0);
    kr_dsp_program_release(p);
}

static void test_rwtable_looper_plays_back_exactly(void)
{
    /* Record a counter into a 1000-sample table, then read it back one
     * table-length later: playback equals what was written. */
    kr_dsp_program *p = build_ok(IR("",
        "{\"op\": \"mem\", \"in\": [2]}, {\"op\": \"const\", \"value\": 1},"
        "{\"op\": \"add\", \"in\": [0, 1]},"                       /* 2: n+1 */
        "{\"op\": \"rwtable\", \"in\": [0, 2, 0], \"size\": 1000}", /* write n+1 at n, read n */
        "3"));
    if (!p)
        return;
    enum { N = 3000 };
    static float out[N];
    render(p, out, N, 128);
    /* Sample n writes n+1 at index n%1000, then reads index n%1000. */
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += out[i] != (float)(i + 1);
    CHECK(wrong == 0);
    kr_dsp_program_release(p);
}

static void test_controls_are_smoothed_and_gates_jump(void)
{
    kr_dsp_program *p = build_ok(IR(
        "{\"name\": \"level\", \"init\": 0, \"lo\": 0, \"hi\": 1},"
        "{\"name\": \"gate\", \"init\": 0, \"lo\": 0, \"hi\": 1}",
        "{\"op\": \"control\", \"index\": 0}, {\"op\": \"control\", \"index\": 1}", "0"));
    kr_dsp_program *g = build_ok(IR(
        "{\"name\": \"gate\", \"init\": 0, \"lo\": 0, \"hi\": 1}",
        "{\"op\": \"control\", \"index\": 0}", "0"));
    if (!p || !g)
        return;
    kr_dsp_instance *inst = kr_dsp_instance_create(p);
    float out[4800];
    float *outs[1] = {out};
    kr_dsp_instance_run(inst, NULL, outs, 1); /* running: a new value now glides */
    CHECK(out[0] == 0.0f);
    kr_dsp_instance_set_control(inst, 0, 1.0, false);
    kr_dsp_instance_run(inst, NULL, outs, 4800);
    float biggest = 0;
    for (int i = 1; i < 4800; i++)
        biggest = fmaxf(biggest, out[i] - out[i - 1]);
    /* A 0 → 1 jump through a 15 ms one-pole: no step above 1/720. */
    CHECK(out[0] > 0.0f && out[0] < 0.01f);
    CHECK(biggest < 1.0f / 700.0f);
    CHECK_NEAR(out[719], 1.0 - exp(-1.0), 0.01); /* one time constant: 63 % */
    kr_dsp_instance_destroy(inst);

    /* Before its first sample an instance has nothing to glide from: a value
     * set then (an event on the node's first block) is where it starts. */
    inst = kr_dsp_instance_create(p);
    kr_dsp_instance_set_control(inst, 0, 0.75, false);
    kr_dsp_instance_run(inst, NULL, outs, 64);
    CHECK(out[0] == 0.75f && out[63] == 0.75f);
    kr_dsp_instance_destroy(inst);

    inst = kr_dsp_instance_create(g);
    kr_dsp_instance_set_control(inst, 0, 1.0, false);
    kr_dsp_instance_run(inst, NULL, outs, 64);
    CHECK(out[0] == 1.0f && out[63] == 1.0f);
    /* Re-raising a high gate dips it for one sample: a fresh onset. */
    kr_dsp_instance_set_control(inst, 0, 1.0, false);
    kr_dsp_instance_run(inst, NULL, outs, 64);
    CHECK(out[0] == 0.0f && out[1] == 1.0f);
    kr_dsp_instance_destroy(inst);
    kr_dsp_program_release(p);
    kr_dsp_program_release(g);
}

static void test_hot_swap_crossfades_without_a_step(void)
{
    /* Swap a 200 Hz sine for a 300 Hz sine in a dsp node: the output moves
     * from one to the other over 20 ms, with no sample step bigger than the
     * sines themselves make. */
    kr_dsp_program *a = build_ok(IR("", "{\"op\": \"const\", \"value\": 200}, {\"op\": \"sine_osc\", \"in\": [0]}", "1"));
    kr_dsp_program *b = build_ok(IR("", "{\"op\": \"const\", \"value\": 300}, {\"op\": \"sine_osc\", \"in\": [0]}", "1"));
    if (!a || !b)
        return;
    kr_rt rt;
    CHECK(kr_rt_init(&rt, RATE, 2, 1.0f) == 0);
    double init = 0;
    kr_node *node = kr_dsp_node_create("s", RATE, 1.0f, kr_dsp_voices_create(a, 1, &init), &init);
    kr_graph *graph = kr_graph_create(&node, 1, NULL, 0);
    kr_rt_command cmd = {.type = KR_RT_SWAP_GRAPH, .ptr = graph};
    CHECK(kr_rt_send(&rt, &cmd));
    enum { N = 4800 };
    static float out[N * 2];
    kr_rt_process(&rt, out, 1000);
    cmd = (kr_rt_command){.type = KR_RT_NODE_SWAP, .ptr = node, .payload = kr_dsp_voices_create(b, 1, &init)};
    CHECK(kr_rt_send(&rt, &cmd));
    kr_rt_process(&rt, out + 2000, N - 1000);
    float biggest = 0;
    for (int i = 1; i < N; i++)
        biggest = fmaxf(biggest, fabsf(out[2 * i] - out[2 * i - 2]));
    /* A 300 Hz sine at amplitude 1 moves at most 2π·300/48000 ≈ 0.039 per sample. */
    CHECK(biggest < 0.045f);
    /* The replaced instance came back once the fade ended. */
    kr_rt_retired old;
    CHECK(kr_ring_pop(&rt.retired, &old));
    CHECK(old.destroy(old.ptr) == 0);
    kr_graph_destroy(rt.graph);
    kr_node_destroy(node);
    kr_rt_free(&rt);
    kr_dsp_program_release(a);
    kr_dsp_program_release(b);
}

int main(void)
{
    test_validation_errors_name_node_op_and_argument();
    test_constants_fold_and_duplicates_merge();
    test_equal_programs_compare_equal();
    test_feedback_counter_is_exact();
    test_split_calls_give_identical_output();
    test_rwtable_looper_plays_back_exactly();
    test_controls_are_smoothed_and_gates_jump();
    test_hot_swap_crossfades_without_a_step();
    return KR_TEST_REPORT("dsp");
}
