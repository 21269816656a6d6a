/* math.c — arithmetic, comparisons, elementary functions and select2.
 *
 * Every op here is pure: `eval` computes in double for constant folding, `run`
 * in float over a block. Each run has a path for all-uniform inputs (one value,
 * return 1) and plain index loops otherwise, which the compiler vectorises where
 * the operation allows it (no calls to libm in the loop body). Binary ops also
 * get a loop per uniform operand (x*gain, x+offset), the common case with
 * controls. Semantics are those of docs/signal-ir.md. */
#include <math.h>

#include "kernels.h"

static size_t no_state(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return 0;
}

static void no_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)state;
    (void)attrs;
    (void)sample_rate;
}

/* ---- scalar definitions shared by run (float) and eval (double) ---- */

/* Python's %: the result has the sign of b. Built on fmod (exact) rather than
 * a - b*floor(a/b), whose rounding can land outside [0, b). */
static inline float pymodf(float a, float b)
{
    float m = fmodf(a, b);
    if (m != 0.0f) {
        if ((m < 0.0f) != (b < 0.0f))
            m += b;
    } else {
        m = copysignf(0.0f, b);
    }
    return m;
}

static inline double pymod(double a, double b)
{
    double m = fmod(a, b);
    if (m != 0.0) {
        if ((m < 0.0) != (b < 0.0))
            m += b;
    } else {
        m = copysign(0.0, b);
    }
    return m;
}

/* C's fminf/fmaxf (a NaN operand yields the other one), written as selects so
 * the loops vectorise. */
static inline float minf_(float a, float b) { return (a < b || b != b) ? a : b; }
static inline float maxf_(float a, float b) { return (a > b || b != b) ? a : b; }

/* x wrapped into [lo, hi) (bounds swapped if given the other way round; an
 * empty range gives lo). Computed in double so that x - lo keeps its bits. */
static inline double wrapd(double x, double lo, double hi)
{
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    double r = hi - lo;
    if (!(r > 0.0))
        return lo;
    if (x >= lo && x < hi)
        return x;
    /* d - r*trunc(d/r) is fmod exactly while r*t fits in 53 bits (r is a
     * difference of floats, t < 2^20), and needs no libm call. */
    const double d = x - lo, q = d / r;
    double m;
    if (fabs(q) < 1048576.0) {
        m = d - r * (double)(int32_t)q;
        if (m >= r)
            m -= r;
    } else {
        m = fmod(d, r);
    }
    if (m < 0.0)
        m += r;
    double y = lo + m;
    return y < hi ? y : lo;
}

/* The float nearest a result just below the top bound may be the bound
 * itself: that point is the bottom one. eval applies the same rule, so a
 * folded constant equals what run computes. */
static inline double wrap_snap(double y, double lo, double hi)
{
    const double top = hi > lo ? hi : lo, bot = hi > lo ? lo : hi;
    return ((float)y == (float)top && top > bot) ? bot : y;
}

static inline double wrap_full(double x, double lo, double hi) { return wrap_snap(wrapd(x, lo, hi), lo, hi); }

static inline float lin_to_dbf(float x)
{
    float r = 20.0f * log10f(x);
    return r < -1000.0f ? -1000.0f : r;
}

static inline double lin_to_db(double x)
{
    double r = 20.0 * log10(x);
    return r < -1000.0 ? -1000.0 : r;
}

#define LN10_OVER_20 0.11512925464970228420

/* ---- generators: one eval and one run per op ---- */

#define KR_UNARY(NAME, FEXPR, DEXPR)                                           \
    static double NAME##_eval(const double *v_)                                \
    {                                                                          \
        const double x = v_[0];                                                \
        return (DEXPR);                                                        \
    }                                                                          \
    static int NAME##_run(void *st_, const kr_dsp_call *c_)                    \
    {                                                                          \
        (void)st_;                                                             \
        const float *a_ = c_->in[0];                                           \
        float *o_ = c_->out;                                                   \
        if (c_->uniform & 1u) {                                                \
            const float x = a_[0];                                             \
            o_[0] = (FEXPR);                                                   \
            return 1;                                                          \
        }                                                                      \
        for (unsigned i_ = 0; i_ < c_->n; i_++) {                              \
            const float x = a_[i_];                                            \
            o_[i_] = (FEXPR);                                                  \
        }                                                                      \
        return 0;                                                              \
    }

#define KR_BINARY(NAME, FEXPR, DEXPR)                                          \
    static double NAME##_eval(const double *v_)                                \
    {                                                                          \
        const double a = v_[0], b = v_[1];                                     \
        return (DEXPR);                                                        \
    }                                                                          \
    static int NAME##_run(void *st_, const kr_dsp_call *c_)                    \
    {                                                                          \
        (void)st_;                                                             \
        const float *A_ = c_->in[0], *B_ = c_->in[1];                          \
        float *o_ = c_->out;                                                   \
        const unsigned n_ = c_->n;                                             \
        switch (c_->uniform & 3u) {                                            \
        case 3u: {                                                             \
            const float a = A_[0], b = B_[0];                                  \
            o_[0] = (FEXPR);                                                   \
            return 1;                                                          \
        }                                                                      \
        case 1u: {                                                             \
            const float a = A_[0];                                             \
            for (unsigned i_ = 0; i_ < n_; i_++) {                             \
                const float b = B_[i_];                                        \
                o_[i_] = (FEXPR);                                              \
            }                                                                  \
            return 0;                                                          \
        }                                                                      \
        case 2u: {                                                             \
            const float b = B_[0];                                             \
            for (unsigned i_ = 0; i_ < n_; i_++) {                             \
                const float a = A_[i_];                                        \
                o_[i_] = (FEXPR);                                              \
            }                                                                  \
            return 0;                                                          \
        }                                                                      \
        default:                                                               \
            for (unsigned i_ = 0; i_ < n_; i_++) {                             \
                const float a = A_[i_], b = B_[i_];                            \
                o_[i_] = (FEXPR);                                              \
            }                                                                  \
            return 0;                                                          \
        }                                                                      \
    }

/* Three inputs: uniform ones are broadcast into a scratch block so that one
 * loop serves all eight combinations (n <= KR_DSP_BLOCK). */
static const float *arg_block(const kr_dsp_call *c, int k, float *scratch)
{
    if (!KR_UNIFORM(c, k))
        return c->in[k];
    const float v = c->in[k][0];
    for (unsigned i = 0; i < c->n; i++)
        scratch[i] = v;
    return scratch;
}

#define KR_TERNARY(NAME, V0, V1, V2, FEXPR, DEXPR)                             \
    static double NAME##_eval(const double *v_)                                \
    {                                                                          \
        const double V0 = v_[0], V1 = v_[1], V2 = v_[2];                       \
        return (DEXPR);                                                        \
    }                                                                          \
    static int NAME##_run(void *st_, const kr_dsp_call *c_)                    \
    {                                                                          \
        (void)st_;                                                             \
        float *o_ = c_->out;                                                   \
        if (KR_ALL_UNIFORM(c_, 3)) {                                           \
            const float V0 = c_->in[0][0], V1 = c_->in[1][0], V2 = c_->in[2][0]; \
            o_[0] = (FEXPR);                                                   \
            return 1;                                                          \
        }                                                                      \
        float s0_[KR_DSP_BLOCK], s1_[KR_DSP_BLOCK], s2_[KR_DSP_BLOCK];         \
        const float *p0_ = arg_block(c_, 0, s0_), *p1_ = arg_block(c_, 1, s1_); \
        const float *p2_ = arg_block(c_, 2, s2_);                              \
        for (unsigned i_ = 0; i_ < c_->n; i_++) {                              \
            const float V0 = p0_[i_], V1 = p1_[i_], V2 = p2_[i_];              \
            o_[i_] = (FEXPR);                                                  \
        }                                                                      \
        return 0;                                                              \
    }

/* ---- the ops ---- */

KR_BINARY(add, a + b, a + b)
KR_BINARY(sub, a - b, a - b)
KR_BINARY(mul, a * b, a * b)
KR_BINARY(div, a / b, a / b)
KR_BINARY(floordiv, (float)floor((double)a / b), floor(a / b))
KR_BINARY(mod, pymodf(a, b), pymod(a, b))
KR_BINARY(pow, powf(a, b), pow(a, b))
KR_BINARY(fmod, fmodf(a, b), fmod(a, b))
KR_BINARY(remainder, remainderf(a, b), remainder(a, b))
KR_BINARY(atan2, atan2f(a, b), atan2(a, b))
KR_BINARY(min, minf_(a, b), fmin(a, b))
KR_BINARY(max, maxf_(a, b), fmax(a, b))
KR_BINARY(lt, a < b ? 1.0f : 0.0f, a < b ? 1.0 : 0.0)
KR_BINARY(le, a <= b ? 1.0f : 0.0f, a <= b ? 1.0 : 0.0)
KR_BINARY(gt, a > b ? 1.0f : 0.0f, a > b ? 1.0 : 0.0)
KR_BINARY(ge, a >= b ? 1.0f : 0.0f, a >= b ? 1.0 : 0.0)
KR_BINARY(eq, a == b ? 1.0f : 0.0f, a == b ? 1.0 : 0.0)
KR_BINARY(ne, a != b ? 1.0f : 0.0f, a != b ? 1.0 : 0.0)

KR_UNARY(neg, -x, -x)
KR_UNARY(abs, fabsf(x), fabs(x))
KR_UNARY(sin, sinf(x), sin(x))
KR_UNARY(cos, cosf(x), cos(x))
KR_UNARY(tan, tanf(x), tan(x))
KR_UNARY(asin, asinf(x), asin(x))
KR_UNARY(acos, acosf(x), acos(x))
KR_UNARY(atan, atanf(x), atan(x))
KR_UNARY(exp, expf(x), exp(x))
KR_UNARY(log, logf(x), log(x))
KR_UNARY(log10, log10f(x), log10(x))
KR_UNARY(sqrt, sqrtf(x), sqrt(x))
KR_UNARY(floor, floorf(x), floor(x))
KR_UNARY(ceil, ceilf(x), ceil(x))
KR_UNARY(round, roundf(x), round(x))
KR_UNARY(db_to_linear, expf(x * (float)LN10_OVER_20), exp(x * LN10_OVER_20))
KR_UNARY(linear_to_db, lin_to_dbf(x), lin_to_db(x))
KR_UNARY(midi_to_freq, 440.0f * exp2f((x - 69.0f) / 12.0f), 440.0 * exp2((x - 69.0) / 12.0))
KR_UNARY(freq_to_midi, 69.0f + 12.0f * log2f(x / 440.0f), 69.0 + 12.0 * log2(x / 440.0))

KR_TERNARY(clip, x, lo, hi, x < lo ? lo : (x > hi ? hi : x), x < lo ? lo : (x > hi ? hi : x))
/* lerp and floordiv run in double: b-a and (b-a)*t are exact there, and a/b
 * rounded in float can cross an integer; so run equals eval bit for bit. */
KR_TERNARY(lerp, a, b, t, (float)(a + ((double)b - a) * t), a + (b - a) * t)
KR_TERNARY(wrap, x, lo, hi, (float)wrap_full(x, lo, hi), wrap_full(x, lo, hi))
KR_TERNARY(select2, s, a, b, s == 0.0f ? a : b, s == 0.0 ? a : b)

#define PURE(NAME, ARITY) \
    { #NAME, ARITY, KR_OP_PURE, no_state, no_init, NAME##_run, NAME##_eval }

const kr_op kr_ops_math[] = {
    PURE(add, 2), PURE(sub, 2), PURE(mul, 2), PURE(div, 2), PURE(floordiv, 2),
    PURE(mod, 2), PURE(pow, 2), PURE(fmod, 2), PURE(remainder, 2), PURE(atan2, 2),
    PURE(min, 2), PURE(max, 2),
    PURE(lt, 2), PURE(le, 2), PURE(gt, 2), PURE(ge, 2), PURE(eq, 2), PURE(ne, 2),
    PURE(neg, 1), PURE(abs, 1), PURE(sin, 1), PURE(cos, 1), PURE(tan, 1),
    PURE(asin, 1), PURE(acos, 1), PURE(atan, 1), PURE(exp, 1), PURE(log, 1),
    PURE(log10, 1), PURE(sqrt, 1), PURE(floor, 1), PURE(ceil, 1), PURE(round, 1),
    PURE(db_to_linear, 1), PURE(linear_to_db, 1), PURE(midi_to_freq, 1),
    PURE(freq_to_midi, 1),
    PURE(clip, 3), PURE(lerp, 3), PURE(wrap, 3), PURE(select2, 3),
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};
