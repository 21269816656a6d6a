/* Table kernels: exact reads, writes, clamping and wrapping of indices. */
#include "kr_test_run.h"

#define SR 48000.0

static const kr_op *op(const char *name)
{
    const kr_op *o = kr_ops_group_find(kr_ops_table, name);
    if (!o) {
        fprintf(stderr, "missing op %s\n", name);
        exit(1);
    }
    return o;
}

static void test_rdtable(void)
{
    static const float table[4] = { 10.0f, 20.0f, 30.0f, 40.0f };
    kr_op_attrs a;
    memset(&a, 0, sizeof a);
    a.table = table;
    a.table_len = 4;
    static const float idx[] = { 0.0f, 0.99f, 1.0f, 1.9f, 2.5f, 3.0f, 3.5f, 100.0f, -0.5f, -1.0f,
                                 NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 2.0f };
    static const float want[] = { 10, 10, 20, 20, 30, 40, 40, 40, 10, 10, 10, 40, 10, 40, 10, 30 };
    const long n = sizeof idx / sizeof *idx;
    float out[sizeof idx / sizeof *idx];
    kt_sig in[1] = { kt_arr(idx) };
    kt_render_new(op("rdtable"), &a, SR, in, out, n, KT_SPLIT);
    CHECK(kt_same_bits(out, want, n));
    CHECK(kt_split_ok(op("rdtable"), &a, SR, in, n));
    for (long i = 0; i < n; i++) {
        kt_sig u[1] = { kt_uni(&idx[i]) };
        float y[200];
        CHECK(kt_render_new(op("rdtable"), &a, SR, u, y, 200, KT_BLOCKS) == 2);
        CHECK(y[0] == want[i] && y[199] == want[i]);
    }
    /* A one-entry table reads that entry for every index. */
    a.table_len = 1;
    kt_render_new(op("rdtable"), &a, SR, in, out, n, KT_BLOCKS);
    int all = 1;
    for (long i = 0; i < n; i++)
        all &= out[i] == 10.0f;
    CHECK(all);
}

static kr_op_attrs rw_attrs(long size, double init)
{
    kr_op_attrs a;
    memset(&a, 0, sizeof a);
    a.size = size;
    a.init = init;
    return a;
}

static void test_rwtable(void)
{
    kr_op_attrs a = rw_attrs(8, 0.25);
    CHECK(op("rwtable")->state_size(&a, SR) >= 8 * sizeof(float));
    /* Per sample: write wvalue at windex, then read rindex. */
    static const float wi[] = { 3, 3, -1, 8, 9.7f, -8.5f, 1e10f, NAN, -1e10f, 2, 2 };
    static const float wv[] = { 7, 8, 5, 6, 4, 3, 2, 1, 9, 11, 12 };
    static const float ri[] = { 4, 3, 7, 0, 1, 0, 0, 0, 0, -6, 2.9f };
    /* 4 untouched -> init; 3 just written (8); -1 -> 7 (5); 8 -> 0 (6);
     * 9.7 -> 1 (4); -8.5 -> trunc -8 -> 0 (3); 1e10 = 0 mod 8 (2); NaN -> 0 (1);
     * -1e10 -> 0 (9); -6 -> 2 written this sample (11); 2.9 -> 2 (12). */
    static const float want[] = { 0.25f, 8, 5, 6, 4, 3, 2, 1, 9, 11, 12 };
    const long n = sizeof wi / sizeof *wi;
    float out[sizeof wi / sizeof *wi];
    kt_sig in[3] = { kt_arr(wi), kt_arr(wv), kt_arr(ri) };
    kt_render_new(op("rwtable"), &a, SR, in, out, n, KT_SPLIT);
    CHECK(kt_same_bits(out, want, n));
    CHECK(kt_split_ok(op("rwtable"), &a, SR, in, n));

    /* A delay line: write x at i, read i - 5 (wrapping in a 16-entry table). */
    enum { LEN = 2000 };
    static float w[LEN], x[LEN], r[LEN], y[LEN];
    for (long i = 0; i < LEN; i++) {
        w[i] = (float)i;
        x[i] = (float)sin(0.01 * (double)i);
        r[i] = (float)(i - 5);
    }
    a = rw_attrs(16, 0.0);
    kt_sig dl[3] = { kt_arr(w), kt_arr(x), kt_arr(r) };
    kt_render_new(op("rwtable"), &a, SR, dl, y, LEN, KT_SPLIT);
    int ok = 1;
    for (long i = 0; i < LEN; i++)
        ok &= y[i] == (i >= 5 ? x[i - 5] : 0.0f);
    CHECK(ok);
    CHECK(kt_split_ok(op("rwtable"), &a, SR, dl, LEN));

    /* Uniform write and read: one value for the block. Uniform write with a
     * per-sample read sees the written value wherever it reads that slot. */
    a = rw_attrs(4, -1.0);
    float two = 2.0f, val = 0.5f;
    kt_sig uu[3] = { kt_uni(&two), kt_uni(&val), kt_uni(&two) };
    CHECK(kt_render_new(op("rwtable"), &a, SR, uu, y, 256, KT_BLOCKS) == 2);
    CHECK(y[0] == 0.5f && y[255] == 0.5f);
    static const float rr[4] = { 0, 1, 2, 3 };
    static const float want2[4] = { -1.0f, -1.0f, 0.5f, -1.0f };
    kt_sig ua[3] = { kt_uni(&two), kt_uni(&val), kt_arr(rr) };
    kt_render_new(op("rwtable"), &a, SR, ua, y, 4, KT_BLOCKS);
    CHECK(kt_same_bits(y, want2, 4));
    /* Size 1: every index is slot 0. */
    a = rw_attrs(1, 0.0);
    kt_render_new(op("rwtable"), &a, SR, in, out, n, KT_BLOCKS);
    CHECK(out[0] == 7.0f && out[10] == 12.0f);
}

int main(void)
{
    test_rdtable();
    test_rwtable();
    return KR_TEST_REPORT("kernels_table");
}
