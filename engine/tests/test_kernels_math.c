/* Math kernels: run against eval over edge-case grids, every uniform
 * combination, and the exact semantics of docs/signal-ir.md. */
#include "kr_test_run.h"

#define SR 48000.0

static const char *const NAMES[] = {
    "add", "sub", "mul", "div", "floordiv", "mod", "pow", "fmod", "remainder", "atan2", "min",
    "max", "lt", "le", "gt", "ge", "eq", "ne", "neg", "abs", "sin", "cos", "tan", "asin",
    "acos", "atan", "exp", "log", "log10", "sqrt", "floor", "ceil", "round", "clip", "lerp",
    "wrap", "db_to_linear", "linear_to_db", "midi_to_freq", "freq_to_midi", "select2",
};

static kr_op_attrs attrs0;

static const kr_op *op(const char *name)
{
    const kr_op *o = kr_ops_group_find(kr_ops_math, name);
    if (!o) {
        fprintf(stderr, "missing op %s\n", name);
        exit(1);
    }
    return o;
}

/* Edge values: exact binary fractions (so float and double agree on what a/b
 * rounds to), signed zeros, infinities, NaN. */
static const float GRID[] = { 0.0f, -0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 2.5f, -2.5f, 3.0f,
                              -7.0f, 100.25f, -0.75f, 1e-3f, 69.0f, INFINITY, -INFINITY, NAN };
#define NG ((int)(sizeof GRID / sizeof *GRID))

/* run (float) agrees with eval (double) rounded to float. */
static int agrees(float run, double eval)
{
    const float e = (float)eval;
    if (isnan(e))
        return isnan(run);
    if (isinf(e) || e == 0.0f)
        return run == e || fabs(run - e) <= 1e-30;
    return fabs((double)run - (double)e) <= 2e-6 * fabs((double)e) + 1e-7;
}

static int same(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0; }

/* One op over every grid tuple, through every uniform combination: each result
 * is bit-identical to the all-uniform one and agrees with eval. */
static void check_op(const kr_op *o)
{
    const int ar = o->arity;
    long tuples = 1;
    for (int k = 0; k < ar; k++)
        tuples *= NG;
    float *ref = malloc((size_t)tuples * sizeof(float));
    int bad_eval = 0, bad_path = 0;
    /* all uniform: one call per tuple */
    for (long t = 0; t < tuples; t++) {
        float v[3];
        double dv[3];
        kt_sig in[3];
        for (int k = 0, rest = (int)t; k < ar; k++, rest /= NG) {
            v[k] = GRID[rest % NG];
            dv[k] = v[k];
        }
        for (int k = 0; k < ar; k++)
            in[k] = kt_uni(&v[k]);
        float y[3];
        CHECK(kt_render_new(o, &attrs0, SR, in, y, 3, KT_BLOCKS) == 1);
        ref[t] = y[0];
        if (!agrees(y[0], o->eval(dv))) {
            if (bad_eval++ < 3)
                fprintf(stderr, "  %s(%g, %g, %g): run %.9g, eval %.9g\n", o->name, dv[0],
                        ar > 1 ? dv[1] : 0.0, ar > 2 ? dv[2] : 0.0, y[0], o->eval(dv));
        }
    }
    /* other masks: inputs in the mask take one grid value per render, the rest
     * run over all their combinations as arrays */
    for (unsigned mask = 0; mask < (1u << ar) - 1u; mask++) {
        long outer = 1, inner = 1;
        for (int k = 0; k < ar; k++) {
            if ((mask >> k) & 1u)
                outer *= NG;
            else
                inner *= NG;
        }
        float *arr[3], *y = malloc((size_t)inner * sizeof(float));
        for (int k = 0; k < 3; k++)
            arr[k] = malloc((size_t)inner * sizeof(float));
        for (long oi = 0; oi < outer; oi++) {
            float uv[3];
            long idx[3];
            for (int k = 0, ro = (int)oi; k < ar; k++)
                if ((mask >> k) & 1u) {
                    idx[k] = ro % NG;
                    uv[k] = GRID[idx[k]];
                    ro /= NG;
                }
            for (long ii = 0; ii < inner; ii++) {
                for (int k = 0, ri = (int)ii; k < ar; k++)
                    if (!((mask >> k) & 1u)) {
                        arr[k][ii] = GRID[ri % NG];
                        ri /= NG;
                    }
            }
            kt_sig in[3];
            for (int k = 0; k < ar; k++)
                in[k] = ((mask >> k) & 1u) ? kt_uni(&uv[k]) : kt_arr(arr[k]);
            kt_render_new(o, &attrs0, SR, in, y, inner, KT_SPLIT);
            for (long ii = 0; ii < inner; ii++) {
                long t = 0, mul = 1;
                for (int k = 0, ri = (int)ii; k < ar; k++, mul *= NG) {
                    long g;
                    if ((mask >> k) & 1u) {
                        g = idx[k];
                    } else {
                        g = ri % NG;
                        ri /= NG;
                    }
                    t += g * mul;
                }
                bad_path += !same(y[ii], ref[t]);
            }
        }
        for (int k = 0; k < 3; k++)
            free(arr[k]);
        free(y);
    }
    CHECK(bad_eval == 0);
    CHECK(bad_path == 0);
    if (bad_eval || bad_path)
        fprintf(stderr, "  %s: %d eval disagreements, %d path mismatches\n", o->name, bad_eval, bad_path);
    free(ref);
}

static void test_table(void)
{
    const size_t count = sizeof NAMES / sizeof *NAMES;
    size_t in_group = 0;
    for (const kr_op *o = kr_ops_math; o->name; o++)
        in_group++;
    CHECK(in_group == count);
    for (size_t i = 0; i < count; i++) {
        const kr_op *o = op(NAMES[i]);
        CHECK(o->flags & KR_OP_PURE);
        CHECK(o->eval != NULL && o->run != NULL);
        CHECK(o->state_size(&attrs0, SR) == 0);
        check_op(o);
    }
    printf("math: %zu ops checked against eval over a %d-value grid, every uniform combination\n", count, NG);
}

/* f(args) through run (all uniform) and through eval. */
static float run1(const char *name, float a, float b, float c)
{
    const float v[3] = { a, b, c };
    const kr_op *o = op(name);
    kt_sig in[3] = { kt_uni(&v[0]), kt_uni(&v[1]), kt_uni(&v[2]) };
    float y[1];
    kt_render_new(o, &attrs0, SR, in, y, 1, KT_BLOCKS);
    return y[0];
}
static double ev(const char *name, double a, double b, double c)
{
    const double v[3] = { a, b, c };
    return op(name)->eval(v);
}
#define BOTH(name, a, b, c, want)                                   \
    do {                                                            \
        CHECK(same(run1(name, a, b, c), (float)(want)));            \
        CHECK(same((float)ev(name, a, b, c), (float)(want)));       \
    } while (0)

static void test_semantics(void)
{
    BOTH("div", 1, 0, 0, INFINITY);
    BOTH("div", -1, 0, 0, -INFINITY);
    BOTH("div", 1, -0.0f, 0, -INFINITY);
    BOTH("div", 0, 0, 0, NAN);
    BOTH("floordiv", 7, 2, 0, 3);
    BOTH("floordiv", -7, 2, 0, -4);
    BOTH("floordiv", 7, -2, 0, -4);
    BOTH("floordiv", -7, -2, 0, 3);
    BOTH("floordiv", 1, 0, 0, INFINITY);
    BOTH("mod", 7, 3, 0, 1);
    BOTH("mod", -7, 3, 0, 2);
    BOTH("mod", 7, -3, 0, -2);
    BOTH("mod", -7, -3, 0, -1);
    BOTH("mod", 5.5f, 2, 0, 1.5f);
    BOTH("mod", -0.5f, 1, 0, 0.5f);
    BOTH("mod", 6, -3, 0, -0.0f); /* zero takes the sign of b */
    BOTH("mod", 5, 0, 0, NAN);
    BOTH("mod", -5, INFINITY, 0, INFINITY); /* as Python */
    BOTH("fmod", -7, 3, 0, -1);
    BOTH("remainder", 7, 2, 0, -1);
    BOTH("remainder", 5, 2, 0, 1);
    BOTH("pow", 2, 10, 0, 1024);
    BOTH("pow", -8, 1.0f / 3.0f, 0, NAN);
    CHECK_NEAR(run1("atan2", 1, -1, 0), 3.0 * KT_PI / 4.0, 1e-6);
    BOTH("min", NAN, 1, 0, 1);
    BOTH("min", 1, NAN, 0, 1);
    BOTH("max", NAN, -1, 0, -1);
    BOTH("min", -2, 3, 0, -2);
    BOTH("max", -2, 3, 0, 3);
    BOTH("lt", 1, 2, 0, 1);
    BOTH("lt", 2, 2, 0, 0);
    BOTH("le", 2, 2, 0, 1);
    BOTH("gt", 3, 2, 0, 1);
    BOTH("ge", 1, 2, 0, 0);
    BOTH("eq", 0.0f, -0.0f, 0, 1);
    BOTH("eq", NAN, NAN, 0, 0);
    BOTH("ne", NAN, NAN, 0, 1);
    BOTH("lt", NAN, 1, 0, 0);
    BOTH("neg", 0, 0, 0, -0.0f);
    BOTH("abs", -3, 0, 0, 3);
    BOTH("round", 2.5f, 0, 0, 3);
    BOTH("round", -2.5f, 0, 0, -3);
    BOTH("round", 0.5f, 0, 0, 1);
    BOTH("floor", -0.5f, 0, 0, -1);
    BOTH("ceil", -0.5f, 0, 0, -0.0f);
    BOTH("log", -1, 0, 0, NAN);
    BOTH("log", 0, 0, 0, -INFINITY);
    BOTH("sqrt", -1, 0, 0, NAN);
    BOTH("clip", 5, 0, 1, 1);
    BOTH("clip", -1, 0, 1, 0);
    BOTH("clip", 0.25f, 0, 1, 0.25f);
    BOTH("lerp", 2, 4, 0.25f, 2.5f);
    BOTH("lerp", 2, 4, 1.5f, 5);
    BOTH("wrap", 1.25f, 0, 1, 0.25f);
    BOTH("wrap", -0.25f, 0, 1, 0.75f);
    BOTH("wrap", 1, 0, 1, 0);
    BOTH("wrap", 7, 2, 5, 4);
    BOTH("wrap", -1, 2, 5, 2);
    BOTH("wrap", 7, 5, 2, 4); /* bounds given high to low */
    BOTH("wrap", 9, 3, 3, 3); /* empty range: lo */
    BOTH("wrap", 0.5f, 0, 1, 0.5f);
    CHECK(run1("wrap", -1e-9f, 0, 1) < 1.0f); /* never reaches hi */
    CHECK(run1("wrap", -1e-9f, 0, 1) >= 0.0f);
    /* wrap against fmod in double on pseudo-random values and ranges. */
    unsigned seed = 1;
    int wrap_ok = 1;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1664525u + 1013904223u;
        const float x = (float)((double)(seed >> 8) / 16777216.0 * 2e6 - 1e6) / (float)(1 + i % 1000);
        seed = seed * 1664525u + 1013904223u;
        const float lo = (float)((double)(seed >> 8) / 16777216.0 * 20.0 - 10.0);
        const float hi = lo + 0.001f + (float)(i % 97) * 0.37f;
        const double r = (double)hi - lo;
        double ref = fmod((double)x - lo, r);
        ref += ref < 0.0 ? r : 0.0;
        const float y = run1("wrap", x, lo, hi);
        wrap_ok &= y >= lo && y < hi;
        /* equal up to float rounding, or both at the seam (lo vs just under hi) */
        const double e = fabs((double)y - (lo + ref));
        wrap_ok &= e <= 2e-7 * fmax(fabs(lo), fabs(hi)) + 1e-12 || fabs(e - r) <= 2e-7 * fabs(hi) + 1e-12;
    }
    CHECK(wrap_ok);
    BOTH("db_to_linear", 0, 0, 0, 1);
    CHECK_NEAR(run1("db_to_linear", 20, 0, 0), 10.0, 1e-5);
    CHECK_NEAR(run1("db_to_linear", -6.0206f, 0, 0), 0.5, 1e-6);
    BOTH("linear_to_db", 0, 0, 0, -1000);
    CHECK_NEAR(run1("linear_to_db", 10, 0, 0), 20.0, 1e-5);
    CHECK_NEAR(run1("linear_to_db", 1e-45f, 0, 0), -897.0, 0.1); /* smallest denormal */
    BOTH("linear_to_db", -1, 0, 0, NAN);
    BOTH("midi_to_freq", 69, 0, 0, 440);
    BOTH("midi_to_freq", 81, 0, 0, 880);
    CHECK_NEAR(run1("midi_to_freq", 60, 0, 0), 261.6255653, 1e-4);
    BOTH("freq_to_midi", 440, 0, 0, 69);
    BOTH("freq_to_midi", 0, 0, 0, -INFINITY);
    CHECK_NEAR(run1("freq_to_midi", 261.6255653f, 0, 0), 60.0, 1e-5);
    BOTH("select2", 0, 3, 4, 3);
    BOTH("select2", -0.0f, 3, 4, 3);
    BOTH("select2", 1, 3, 4, 4);
    BOTH("select2", -2, 3, 4, 4);
    BOTH("select2", NAN, 3, 4, 4);
}

/* A longer mixed signal through the uniform-operand loops of mul and add. */
static void test_blocks(void)
{
    enum { LEN = 1000 };
    static float x[LEN], y[LEN];
    for (int i = 0; i < LEN; i++)
        x[i] = (float)sin(i * 0.1);
    const float g = 0.5f;
    kt_sig in[2] = { kt_arr(x), kt_uni(&g) };
    kt_render_new(op("mul"), &attrs0, SR, in, y, LEN, KT_SPLIT);
    int ok = 1;
    for (int i = 0; i < LEN; i++)
        ok &= y[i] == x[i] * 0.5f;
    kt_sig in2[2] = { kt_uni(&g), kt_arr(x) };
    kt_render_new(op("add"), &attrs0, SR, in2, y, LEN, KT_BLOCKS);
    for (int i = 0; i < LEN; i++)
        ok &= y[i] == 0.5f + x[i];
    CHECK(ok);
}

int main(void)
{
    test_table();
    test_semantics();
    test_blocks();
    return KR_TEST_REPORT("kernels_math");
}
