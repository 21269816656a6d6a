/* input_node.c — one channel of the audio input as a source (see input_node.h). */
#include "krach/input_node.h"

#include <stdlib.h>
#include <string.h>

#include "krach/rt.h"

typedef struct input_state {
    int channel; /* the audio thread's */
    int setting; /* the server thread's: what `state` reports */
} input_state;

static void input_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    const input_state *s = node->state;
    float *out = node->out[0];
    if (!rt->input || s->channel >= rt->input_channels) {
        memset(out, 0, frames * sizeof(float));
        return;
    }
    const int stride = rt->input_channels;
    const float *in = rt->input + rt->input_offset * (unsigned long)stride + s->channel;
    for (unsigned i = 0; i < frames; i++)
        out[i] = in[(unsigned long)i * (unsigned long)stride];
}

static void input_set_param(kr_node *node, int voice, int index, double value)
{
    (void)voice;
    if (index == KR_INPUT_PARAM_CHANNEL)
        ((input_state *)node->state)->channel = (int)value;
}

static const kr_node_type input_type = {
    .kind = "input",
    .process = input_process,
    .set_param = input_set_param,
    .destroy_state = free,
};

kr_node *kr_input_node_create(const char *name, double sample_rate, float gain, int channel)
{
    input_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->channel = s->setting = channel;
    return kr_node_create(&input_type, name, 1, sample_rate, gain, s);
}

bool kr_node_is_input(const kr_node *node)
{
    return node->type == &input_type;
}

int kr_input_node_channel(const kr_node *node)
{
    return ((const input_state *)node->state)->setting;
}

void kr_input_node_set_channel(kr_node *node, int channel)
{
    ((input_state *)node->state)->setting = channel;
}
