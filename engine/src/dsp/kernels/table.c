/* table.c — rdtable (read-only table owned by the program) and rwtable (a
 * table in the node's state, written and read every sample).
 *
 * Indices are truncated toward zero. rdtable clamps them to the table; rwtable
 * wraps them into [0, size), negatives too (-1 is the last entry). A NaN index
 * reads (or writes) entry 0. Float indices are compared before converting, so
 * no out-of-range float-to-integer conversion (undefined in C) happens. */
#include <math.h>

#include "kernels.h"

/* ---- rdtable ---- */

typedef struct rd_state {
    const float *table;
    long len;
} rd_state;

static size_t rd_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(rd_state);
}

static void rd_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)sample_rate;
    rd_state *s = state;
    s->table = attrs->table;
    s->len = attrs->table ? attrs->table_len : 0;
}

static inline float rd_at(const rd_state *s, float x)
{
    const float last = (float)(s->len - 1);
    long i = 0;
    if (x >= last)
        i = s->len - 1;
    else if (x > 0.0f)
        i = (long)x;
    return s->table[i];
}

static int rd_run(void *state, const kr_dsp_call *c)
{
    const rd_state *s = state;
    float *out = c->out;
    const float *x = c->in[0];
    if (s->len <= 0) {
        out[0] = 0.0f;
        return 1;
    }
    if (KR_UNIFORM(c, 0)) {
        out[0] = rd_at(s, x[0]);
        return 1;
    }
    for (unsigned i = 0; i < c->n; i++)
        out[i] = rd_at(s, x[i]);
    return 0;
}

/* ---- rwtable ---- */

typedef struct rw_state {
    long size;
    float data[]; /* size floats */
} rw_state;

static long rw_len(const kr_op_attrs *attrs) { return attrs->size > 0 ? attrs->size : 1; }

static size_t rw_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)sample_rate;
    return sizeof(rw_state) + (size_t)rw_len(attrs) * sizeof(float);
}

static void rw_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)sample_rate;
    rw_state *s = state;
    s->size = rw_len(attrs);
    const float v = (float)attrs->init;
    for (long i = 0; i < s->size; i++)
        s->data[i] = v;
}

/* trunc(x) mod size, in [0, size). Beyond ±2^31 a float is an integer, and
 * fmodf is exact, so reducing it first loses nothing. */
static inline long rw_index(float x, long size)
{
    long i;
    if (x > -2147483648.0f && x < 2147483648.0f)
        i = (long)(int32_t)x;
    else if (isfinite(x)) /* ±inf, like NaN, is index 0: fmodf would give NaN */
        i = (long)fmodf(x, (float)size); /* size <= 2^24: exact as a float */
    else
        return 0;
    i %= size;
    return i < 0 ? i + size : i;
}

static int rw_run(void *state, const kr_dsp_call *c)
{
    rw_state *s = state;
    float *out = c->out;
    const long size = s->size;
    const unsigned n = c->n;
    if ((c->uniform & 3u) == 3u) {
        /* The same write n times is one write, and it precedes every read. */
        s->data[rw_index(c->in[0][0], size)] = c->in[1][0];
        if (KR_UNIFORM(c, 2)) {
            out[0] = s->data[rw_index(c->in[2][0], size)];
            return 1;
        }
        for (unsigned i = 0; i < n; i++)
            out[i] = s->data[rw_index(c->in[2][i], size)];
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        s->data[rw_index(KR_IN(c, 0, i), size)] = KR_IN(c, 1, i);
        out[i] = s->data[rw_index(KR_IN(c, 2, i), size)];
    }
    return 0;
}

const kr_op kr_ops_table[] = {
    { "rdtable", 1, 0, rd_size, rd_init, rd_run, NULL },
    { "rwtable", 3, 0, rw_size, rw_init, rw_run, NULL },
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};
