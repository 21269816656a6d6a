/* env.c — envelopes and events: adsr, ar, decay, trigger, latch.
 *
 * Edges: a signal is "high" when > 0 (NaN counts as low); a rising edge is a
 * sample that is high after one that was not. Every op starts low, so a gate
 * that is already high at the first sample is an onset.
 *
 * adsr and ar are piecewise-linear functions of continuous time, sampled: each
 * sample first moves the level along the current segment by one sample period
 * (carrying the remainder into the next segment when one ends between two
 * samples), then applies the gate edge at this sample. So an attack from 0
 * that starts at sample k reads exactly m/(attack*sr) at sample k+m, and a
 * zero time is a jump at the edge sample itself. Levels are kept in double. */
#include <math.h>

#include "kernels.h"

enum { IDLE, ATTACK, DECAY, SUSTAIN, RELEASE };

/* NaN and negative times are 0 (instantaneous); +inf is allowed (frozen). */
static inline double time_arg(float t) { return t > 0.0f ? (double)t : 0.0; }

/* Sustain is a level in [0, 1] (NaN → 0). */
static inline double level_arg(float v) { return v > 0.0f ? (v < 1.0f ? (double)v : 1.0) : 0.0; }

/* ---- adsr / ar ---- */

typedef struct env_state {
    double level;
    double rel_start; /* the level the release started from */
    double period;    /* 1 / sample rate */
    int stage;
    int high;         /* gate was > 0 at the previous sample */
} env_state;

typedef struct env_params {
    double a, d, sus, r;
    int percussive; /* ar: attack runs into release; gate falls are ignored */
} env_params;

static size_t env_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(env_state);
}

static void env_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    env_state *s = state;
    s->level = 0.0;
    s->rel_start = 0.0;
    s->period = sample_rate > 0.0 ? 1.0 / sample_rate : 0.0;
    s->stage = IDLE;
    s->high = 0;
}

static inline void enter_release(env_state *s, const env_params *p)
{
    s->rel_start = s->level;
    /* ar with release 0 still shows its peak at the onset sample. */
    if ((p->r > 0.0 || p->percussive) && s->level > 0.0) {
        s->stage = RELEASE;
    } else {
        s->level = 0.0;
        s->stage = IDLE;
    }
}

static inline void enter_decay(env_state *s, const env_params *p)
{
    s->level = 1.0;
    if (p->percussive) {
        enter_release(s, p);
    } else if (p->d > 0.0 && p->sus < 1.0) {
        s->stage = DECAY;
    } else {
        s->level = p->sus;
        s->stage = SUSTAIN;
    }
}

/* A segment ending within a millionth of a sample of this one ends here: the
 * level accumulates rounding (1e-16 a step), which must not push an end that
 * falls exactly on a sample to the next one. */
#define END_SLACK (1.0 + 1e-6)

/* Moves the level along its segments by one sample period. A time of 0 gives
 * an infinite rate, so the segment ends at once; +inf freezes it. */
static void env_advance(env_state *s, const env_params *p)
{
    double rem = s->period;
    for (;;) {
        switch (s->stage) {
        case ATTACK: {
            const double need = (1.0 - s->level) * p->a; /* seconds left to 1 */
            if (need > rem * END_SLACK) {
                s->level += rem / p->a;
                return;
            }
            /* The end may lie within the slack after this sample: what is
             * left of the period is then 0, never negative (a negative rest
             * would run the next segment backwards: +inf at release 0). */
            rem = rem > need ? rem - need : 0.0;
            enter_decay(s, p);
            continue;
        }
        case DECAY: {
            if (!(s->level > p->sus)) { /* sustain was raised past the level */
                s->level = p->sus;
                s->stage = SUSTAIN;
                return;
            }
            const double rate = (1.0 - p->sus) / p->d; /* d > 0, sus < level <= 1 */
            if ((s->level - p->sus) > rem * rate * END_SLACK) {
                s->level -= rem * rate;
            } else {
                s->level = p->sus;
                s->stage = SUSTAIN;
            }
            return;
        }
        case SUSTAIN:
            s->level = p->sus;
            return;
        case RELEASE: {
            const double rate = s->rel_start / p->r;
            if (s->level > rem * rate * END_SLACK) {
                s->level -= rem * rate;
            } else {
                s->level = 0.0;
                s->stage = IDLE;
            }
            return;
        }
        default:
            return;
        }
    }
}

/* One sample: advance, then the gate edge at this sample. */
static inline float env_step(env_state *s, const env_params *p, float gate)
{
    env_advance(s, p);
    const int high = gate > 0.0f;
    if (high && !s->high) {
        if (p->a > 0.0 && s->level < 1.0)
            s->stage = ATTACK;
        else
            enter_decay(s, p);
    } else if (!high && s->high && !p->percussive && s->stage != IDLE) {
        enter_release(s, p);
    }
    s->high = high;
    if (s->stage == SUSTAIN)
        s->level = p->sus;
    return (float)s->level;
}

static inline int env_steady(const env_state *s) { return s->stage == IDLE || s->stage == SUSTAIN; }

/* Shared loop: k_gate is the gate's input index, the times come before it. */
static int env_run(env_state *s, const kr_dsp_call *c, int k_gate, int percussive)
{
    float *out = c->out;
    const unsigned n = c->n;
    env_params p;
    p.percussive = percussive;
    const unsigned param_mask = ((1u << k_gate) - 1u);
    const int params_uniform = (c->uniform & param_mask) == param_mask;
    const int gate_uniform = KR_UNIFORM(c, k_gate);
#define ENV_PARAMS(i)                                                  \
    do {                                                               \
        if (percussive) {                                              \
            p.a = time_arg(KR_IN(c, 0, i));                            \
            p.r = time_arg(KR_IN(c, 1, i));                            \
            p.d = 0.0, p.sus = 0.0;                                    \
        } else {                                                       \
            p.a = time_arg(KR_IN(c, 0, i));                            \
            p.d = time_arg(KR_IN(c, 1, i));                            \
            p.sus = level_arg(KR_IN(c, 2, i));                         \
            p.r = time_arg(KR_IN(c, 3, i));                            \
        }                                                              \
    } while (0)
    if (params_uniform) {
        ENV_PARAMS(0);
        const float *g = c->in[k_gate];
        for (unsigned i = 0; i < n; i++) {
            out[i] = env_step(s, &p, gate_uniform ? g[0] : g[i]);
            /* Nothing moves any more: the rest of the block is this value. */
            if (gate_uniform && env_steady(s)) {
                if (i == 0)
                    return 1;
                for (unsigned j = i + 1; j < n; j++)
                    out[j] = out[i];
                return 0;
            }
        }
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        ENV_PARAMS(i);
        out[i] = env_step(s, &p, KR_IN(c, k_gate, i));
    }
#undef ENV_PARAMS
    return 0;
}

static int adsr_run(void *state, const kr_dsp_call *c) { return env_run(state, c, 4, 0); }
static int ar_run(void *state, const kr_dsp_call *c) { return env_run(state, c, 2, 1); }

/* ---- decay: exponential, -60 dB after `time` ---- */

typedef struct decay_state {
    double level;
    double k;         /* per-sample factor for `time` */
    double period;
    float time;       /* the time k was computed for */
    int high;
} decay_state;

static size_t decay_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(decay_state);
}

static void decay_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    decay_state *s = state;
    s->level = 0.0;
    s->period = sample_rate > 0.0 ? 1.0 / sample_rate : 0.0;
    s->time = 0.0f;
    s->k = 0.0; /* time 0: back to 0 right after the edge */
    s->high = 0;
}

/* 1e-3 = exp(-ln(1000)): the level falls by ln(1000) nepers in `time`. */
static inline void decay_time(decay_state *s, float time)
{
    if (time == s->time)
        return;
    s->time = time;
    s->k = time > 0.0f ? exp(-6.907755278982137 * s->period / (double)time) : 0.0;
}

static int decay_run(void *state, const kr_dsp_call *c)
{
    decay_state *s = state;
    float *out = c->out;
    const unsigned n = c->n;
    if (KR_ALL_UNIFORM(c, 2)) {
        decay_time(s, c->in[1][0]);
        const int high = c->in[0][0] > 0.0f;
        if (s->level == 0.0 && !(high && !s->high)) {
            s->high = high;
            out[0] = 0.0f;
            return 1;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        decay_time(s, KR_IN(c, 1, i));
        double level = s->level * s->k;
        if (level < 1e-30) /* -600 dB: stop before denormals */
            level = 0.0;
        const int high = KR_IN(c, 0, i) > 0.0f;
        if (high && !s->high)
            level = 1.0;
        s->high = high;
        s->level = level;
        out[i] = (float)level;
    }
    return 0;
}

/* ---- trigger, latch ---- */

typedef struct edge_state {
    float held; /* latch */
    int high;
} edge_state;

static size_t edge_size(const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    return sizeof(edge_state);
}

static void edge_init(void *state, const kr_op_attrs *attrs, double sample_rate)
{
    (void)attrs;
    (void)sample_rate;
    edge_state *s = state;
    s->held = 0.0f;
    s->high = 0;
}

static int trigger_run(void *state, const kr_dsp_call *c)
{
    edge_state *s = state;
    float *out = c->out;
    const float *x = c->in[0];
    if (KR_UNIFORM(c, 0)) {
        const int high = x[0] > 0.0f, rise = high && !s->high;
        s->high = high;
        out[0] = rise ? 1.0f : 0.0f;
        if (!rise)
            return 1;
        for (unsigned i = 1; i < c->n; i++)
            out[i] = 0.0f;
        return 0;
    }
    int was = s->high;
    for (unsigned i = 0; i < c->n; i++) {
        const int high = x[i] > 0.0f;
        out[i] = (high && !was) ? 1.0f : 0.0f;
        was = high;
    }
    s->high = was;
    return 0;
}

static int latch_run(void *state, const kr_dsp_call *c)
{
    edge_state *s = state;
    float *out = c->out;
    if (KR_UNIFORM(c, 1)) {
        const int high = c->in[1][0] > 0.0f;
        if (high && !s->high)
            s->held = c->in[0][0];
        s->high = high;
        out[0] = s->held;
        return 1;
    }
    int was = s->high;
    float held = s->held;
    for (unsigned i = 0; i < c->n; i++) {
        const int high = c->in[1][i] > 0.0f;
        if (high && !was)
            held = KR_IN(c, 0, i);
        was = high;
        out[i] = held;
    }
    s->high = was;
    s->held = held;
    return 0;
}

const kr_op kr_ops_env[] = {
    { "adsr", 5, 0, env_size, env_init, adsr_run, NULL },
    { "ar", 3, 0, env_size, env_init, ar_run, NULL },
    { "decay", 2, 0, decay_size, decay_init, decay_run, NULL },
    { "trigger", 1, 0, edge_size, edge_init, trigger_run, NULL },
    { "latch", 2, 0, edge_size, edge_init, latch_run, NULL },
    { NULL, 0, 0, NULL, NULL, NULL, NULL },
};
