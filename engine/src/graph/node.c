/* node.c — node allocation (server thread). */
#include "krach/node.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

float kr_smooth_coef(double sample_rate, double seconds)
{
    if (seconds <= 0.0)
        return 0.0f;
    return (float)exp(-1.0 / (seconds * sample_rate));
}

kr_node *kr_node_create(const kr_node_type *type, const char *name, int outputs,
                        double sample_rate, float gain, void *state)
{
    kr_node *node = calloc(1, sizeof *node);
    if (!node || outputs < 1 || outputs > KR_MAX_CHANNELS) {
        free(node);
        if (type->destroy_state)
            type->destroy_state(state);
        return NULL;
    }
    node->type = type;
    node->state = state;
    node->outputs = outputs;
    node->gain = gain;
    node->gain_target = gain;
    node->gain_setting = gain;
    node->smooth_coef = kr_smooth_coef(sample_rate, 0.02);
    strncpy(node->name, name, KR_MAX_NAME - 1);
    for (int ch = 0; ch < outputs; ch++) {
        node->out[ch] = calloc(KR_MAX_BLOCK, sizeof(float));
        if (!node->out[ch]) {
            kr_node_destroy(node);
            return NULL;
        }
    }
    return node;
}

void kr_node_destroy(kr_node *node)
{
    if (!node)
        return;
    for (int ch = 0; ch < KR_MAX_CHANNELS; ch++)
        free(node->out[ch]);
    if (node->type->destroy_state)
        node->type->destroy_state(node->state);
    free(node);
}
