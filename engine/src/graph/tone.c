/* tone.c — the built-in sine test tone (see tone.h). */
#include "krach/tone.h"

#include <math.h>
#include <stdlib.h>

typedef struct tone_state {
    double phase;        /* cycles, in [0, 1) */
    double inv_rate;     /* 1 / sample rate */
    double freq, freq_target;
    double amp, amp_target;
    double coef;         /* one-pole smoothing, ~20 ms */
    kr_tone_fault fault;
} tone_state;

static void tone_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    (void)rt;
    tone_state *s = node->state;
    float *out = node->out[0];
    const double two_pi = 6.283185307179586;
    for (unsigned i = 0; i < frames; i++) {
        s->freq = s->freq_target + (s->freq - s->freq_target) * s->coef;
        s->amp = s->amp_target + (s->amp - s->amp_target) * s->coef;
        out[i] = (float)(s->amp * sin(two_pi * s->phase));
        s->phase += s->freq * s->inv_rate;
        s->phase -= floor(s->phase);
    }
    if (s->fault == KR_TONE_FAULT_NAN)
        for (unsigned i = 0; i < frames; i += 7)
            out[i] = NAN;
    else if (s->fault == KR_TONE_FAULT_INF)
        for (unsigned i = 0; i < frames; i += 7)
            out[i] = (i & 8) ? -INFINITY : INFINITY;
}

static void tone_set_param(kr_node *node, int voice, int index, double value)
{
    (void)voice; /* a tone has one voice */
    tone_state *s = node->state;
    if (index == KR_TONE_FREQ)
        s->freq_target = value;
    else if (index == KR_TONE_GAIN)
        s->amp_target = value;
}

static const kr_node_type tone_type = {
    .kind = "tone",
    .process = tone_process,
    .set_param = tone_set_param,
    .destroy_state = free,
};

kr_node *kr_tone_create(const char *name, double sample_rate, double freq, double gain,
                        kr_tone_fault fault)
{
    tone_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->inv_rate = 1.0 / sample_rate;
    s->freq = s->freq_target = freq;
    s->amp = s->amp_target = gain;
    s->coef = exp(-1.0 / (0.02 * sample_rate));
    s->fault = fault;
    /* The node's own gain stays at 1: the tone's level is its `gain` param. */
    return kr_node_create(&tone_type, name, 1, sample_rate, 1.0f, s);
}
