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
    node->audible = node->audible_target = 1.0f;
    atomic_init(&node->faulted, false);
    atomic_init(&node->fault_count, 0u);
    node->post = calloc(KR_MAX_BLOCK, sizeof(float));
    if (!node->post) {
        kr_node_destroy(node);
        return NULL;
    }
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
    for (int k = 0; k < KR_MAX_NODE_INPUTS; k++)
        free(node->in[k]);
    free(node->post);
    if (node->type->destroy_state)
        node->type->destroy_state(node->state);
    free(node);
}

int kr_node_ensure_inputs(kr_node *node, int count)
{
    if (count > KR_MAX_NODE_INPUTS)
        return -1;
    for (int k = atomic_load(&node->input_count); k < count; k++) {
        node->in[k] = calloc(KR_MAX_BLOCK, sizeof(float));
        if (!node->in[k])
            return -1;
        /* The release makes the buffer visible before the count that covers it. */
        atomic_store_explicit(&node->input_count, k + 1, memory_order_release);
    }
    return 0;
}
