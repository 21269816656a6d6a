/* dsp_node.c — plays a voice set and crossfades hot-swaps (see dsp_node.h). */
#include "krach/dsp_node.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "krach/rt.h"

#define KR_PI 3.14159265358979323846

/* Two sections: the audio thread's (playing voice sets) and the server
 * thread's (the model). Neither thread touches the other's fields. */
typedef struct dsp_state {
    kr_dsp_model model;            /* server thread only */
    kr_dsp_voices *current;
    kr_dsp_voices *fading;         /* being faded out, or NULL */
    unsigned fade_pos, fade_len;
    float *scratch[KR_MAX_CHANNELS]; /* the fading set's output */
    float *voice_out[KR_MAX_CHANNELS]; /* one voice, before summing */
} dsp_state;

kr_dsp_voices *kr_dsp_voices_create(kr_dsp_program *program, int count, const double *values)
{
    if (count < 1 || count > KR_MAX_VOICES)
        return NULL;
    kr_dsp_voices *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    int controls = kr_dsp_program_control_count(program);
    for (int v = 0; v < count; v++) {
        set->voice[v] = kr_dsp_instance_create(program);
        if (!set->voice[v]) {
            kr_dsp_voices_destroy(set);
            return NULL;
        }
        set->count++;
        for (int c = 0; c < controls; c++)
            kr_dsp_instance_set_control(set->voice[v], c, values[c], true);
    }
    return set;
}

void kr_dsp_voices_destroy(kr_dsp_voices *set)
{
    if (!set)
        return;
    for (int v = 0; v < set->count; v++)
        kr_dsp_instance_destroy(set->voice[v]);
    free(set);
}

int kr_dsp_voices_retire(void *set)
{
    kr_dsp_voices_destroy(set);
    return 0;
}

/* Runs one instance into out[0..1] (a mono program is copied to both). */
static void render_instance(kr_dsp_instance *inst, const float *const *in, float *const *out,
                            unsigned frames)
{
    int channels = kr_dsp_program_outputs(kr_dsp_instance_program(inst));
    kr_dsp_instance_run(inst, in, out, frames);
    if (channels == 1)
        memcpy(out[1], out[0], frames * sizeof(float));
}

/* Renders a voice set into out[0..1], summing the voices. Every voice hears
 * the node's inputs (the server gave the node a buffer for each input of the
 * program before sending it). */
static void render_voices(dsp_state *s, kr_dsp_voices *set, const float *const *in,
                          float *const *out, unsigned frames)
{
    render_instance(set->voice[0], in, out, frames);
    for (int v = 1; v < set->count; v++) {
        render_instance(set->voice[v], in, s->voice_out, frames);
        for (int ch = 0; ch < KR_MAX_CHANNELS; ch++)
            for (unsigned i = 0; i < frames; i++)
                out[ch][i] += s->voice_out[ch][i];
    }
}

static void dsp_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    dsp_state *s = node->state;
    const float *const *inputs = (const float *const *)node->in;
    render_voices(s, s->current, inputs, node->out, frames);
    if (!s->fading)
        return;
    render_voices(s, s->fading, inputs, s->scratch, frames);
    const double step = KR_PI / (double)s->fade_len;
    for (unsigned i = 0; i < frames && s->fade_pos < s->fade_len; i++, s->fade_pos++) {
        /* Raised cosine: new = (1 - cos)/2 rises 0→1, old = 1 - new. */
        float in = (float)(0.5 - 0.5 * cos(step * (double)s->fade_pos));
        for (int ch = 0; ch < KR_MAX_CHANNELS; ch++)
            node->out[ch][i] = node->out[ch][i] * in + s->scratch[ch][i] * (1.0f - in);
    }
    if (s->fade_pos >= s->fade_len) {
        kr_rt_retire(rt, kr_dsp_voices_retire, s->fading);
        s->fading = NULL;
    }
}

static void dsp_set_param(kr_node *node, int voice, int index, double value)
{
    dsp_state *s = node->state;
    kr_dsp_voices *set = s->current;
    int control = index - KR_DSP_PARAM_CONTROL_BASE;
    if (voice < 0) {
        for (int v = 0; v < set->count; v++)
            kr_dsp_instance_set_control(set->voice[v], control, value, false);
    } else if (voice < set->count) {
        kr_dsp_instance_set_control(set->voice[voice], control, value, false);
    }
}

static double dsp_get_param(const kr_node *node, int index)
{
    const dsp_state *s = node->state;
    return kr_dsp_instance_control(s->current->voice[0], index - KR_DSP_PARAM_CONTROL_BASE);
}

static void dsp_swap(kr_node *node, void *payload, struct kr_rt *rt)
{
    dsp_state *s = node->state;
    if (s->fading)
        kr_rt_retire(rt, kr_dsp_voices_retire, s->fading);
    if (atomic_load_explicit(&node->faulted, memory_order_relaxed)) {
        /* A faulted set holds NaN in its state: no crossfade from it (the
         * node was silent anyway), the new set starts at once. */
        kr_rt_retire(rt, kr_dsp_voices_retire, s->current);
        s->current = payload;
        s->fading = NULL;
        return;
    }
    s->fading = s->current;
    s->current = payload;
    s->fade_pos = 0;
}

static int dsp_unretired(const kr_node *node)
{
    const dsp_state *s = node->state;
    return s->fading ? 1 : 0;
}

static void dsp_destroy_state(void *state)
{
    dsp_state *s = state;
    if (!s)
        return;
    kr_dsp_voices_destroy(s->current);
    kr_dsp_voices_destroy(s->fading);
    kr_dsp_program_release(s->model.program);
    free(s->model.ir_text);
    free(s->model.values);
    free(s->model.clamp_warned);
    for (int ch = 0; ch < KR_MAX_CHANNELS; ch++) {
        free(s->scratch[ch]);
        free(s->voice_out[ch]);
    }
    free(s);
}

static const kr_node_type dsp_type = {
    .kind = "dsp",
    .process = dsp_process,
    .set_param = dsp_set_param,
    .get_param = dsp_get_param,
    .swap = dsp_swap,
    .unretired = dsp_unretired,
    .destroy_state = dsp_destroy_state,
};

bool kr_node_is_dsp(const kr_node *node)
{
    return node->type == &dsp_type;
}

kr_dsp_model *kr_dsp_node_model(kr_node *node)
{
    return kr_node_is_dsp(node) ? &((dsp_state *)node->state)->model : NULL;
}

int kr_dsp_model_replace(kr_dsp_model *model, kr_dsp_program *program, int voices,
                         const double *values)
{
    int n = kr_dsp_program_control_count(program);
    double *copy = calloc((size_t)n + 1, sizeof *copy);
    unsigned char *warned = calloc((size_t)n + 1, 1);
    if (!copy || !warned) {
        free(copy);
        free(warned);
        return -1;
    }
    if (n)
        memcpy(copy, values, (size_t)n * sizeof *copy);
    kr_dsp_program_retain(program);
    kr_dsp_program_release(model->program);
    free(model->values);
    free(model->clamp_warned);
    model->program = program;
    model->voices = voices;
    model->values = copy;
    model->clamp_warned = warned;
    return 0;
}

size_t kr_dsp_voices_bytes(const kr_dsp_program *program, int voices)
{
    return kr_dsp_program_stats(program)->state_bytes * (size_t)(voices > 0 ? voices : 1);
}

int kr_dsp_check_state(const char *name, size_t bytes, size_t others, kr_error *error)
{
    const double mib = 1024.0 * 1024.0;
    if (bytes > KR_MAX_NODE_STATE) {
        kr_error_set(error, "limit", "node '%s' would hold %.0f MiB of DSP state (delay lines, "
                     "tables, voices); the limit is %.0f MiB per node: use fewer voices, "
                     "shorter delays (max_time) or smaller tables", name, (double)bytes / mib,
                     (double)KR_MAX_NODE_STATE / mib);
        return -1;
    }
    if (bytes + others > KR_MAX_DSP_STATE) {
        kr_error_set(error, "limit", "node '%s' would bring the DSP state of all nodes to "
                     "%.0f MiB; the limit is %.0f MiB: remove nodes, or use fewer voices or "
                     "shorter delays", name, (double)(bytes + others) / mib,
                     (double)KR_MAX_DSP_STATE / mib);
        return -1;
    }
    return 0;
}

kr_node *kr_dsp_node_create(const char *name, double sample_rate, float gain,
                            kr_dsp_voices *voices, const double *values)
{
    dsp_state *s = calloc(1, sizeof *s);
    /* The program outlives this const view: every instance holds a reference. */
    kr_dsp_program *program = (kr_dsp_program *)kr_dsp_instance_program(voices->voice[0]);
    if (!s || kr_dsp_model_replace(&s->model, program, voices->count, values)) {
        free(s);
        kr_dsp_voices_destroy(voices);
        return NULL;
    }
    s->current = voices;
    s->fade_len = (unsigned)(KR_DSP_CROSSFADE_SECONDS * sample_rate + 0.5);
    if (s->fade_len == 0)
        s->fade_len = 1;
    for (int ch = 0; ch < KR_MAX_CHANNELS; ch++) {
        s->scratch[ch] = calloc(KR_MAX_BLOCK, sizeof(float));
        s->voice_out[ch] = calloc(KR_MAX_BLOCK, sizeof(float));
        if (!s->scratch[ch] || !s->voice_out[ch]) {
            dsp_destroy_state(s);
            return NULL;
        }
    }
    return kr_node_create(&dsp_type, name, KR_MAX_CHANNELS, sample_rate, gain, s);
}
