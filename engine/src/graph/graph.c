/* graph.c — immutable node lists swapped into the audio thread. */
#include "krach/graph.h"

#include <stdlib.h>
#include <string.h>

kr_graph *kr_graph_create(kr_node *const *nodes, int count)
{
    kr_graph *graph = calloc(1, sizeof *graph);
    if (!graph)
        return NULL;
    if (count > 0) {
        graph->nodes = malloc((size_t)count * sizeof *graph->nodes);
        if (!graph->nodes) {
            free(graph);
            return NULL;
        }
        memcpy(graph->nodes, nodes, (size_t)count * sizeof *graph->nodes);
    }
    graph->count = count;
    return graph;
}

int kr_graph_park_dead(kr_graph *graph, kr_node *node)
{
    kr_node **dead = realloc(graph->dead, (size_t)(graph->dead_count + 1) * sizeof *dead);
    if (!dead)
        return -1;
    dead[graph->dead_count++] = node;
    graph->dead = dead;
    return 0;
}

int kr_graph_destroy(kr_graph *graph)
{
    if (!graph)
        return 0;
    int settled = 0;
    for (int i = 0; i < graph->dead_count; i++) {
        kr_node *node = graph->dead[i];
        if (node->type->unretired)
            settled += node->type->unretired(node);
        kr_node_destroy(node);
    }
    free(graph->dead);
    free(graph->nodes);
    free(graph);
    return settled;
}

void kr_graph_process(kr_graph *graph, float *mix, unsigned frames, int channels,
                      struct kr_rt *rt)
{
    for (int n = 0; n < graph->count; n++) {
        kr_node *node = graph->nodes[n];
        node->type->process(node, frames, rt);
        float gain = node->gain;
        const float target = node->gain_target, coef = node->smooth_coef;
        for (unsigned i = 0; i < frames; i++) {
            gain = target + (gain - target) * coef;
            for (int ch = 0; ch < channels; ch++) {
                /* A mono node feeds every channel; a stereo node feeds its own. */
                const float *src = node->out[node->outputs == 1 ? 0 : ch % node->outputs];
                mix[i * (unsigned)channels + (unsigned)ch] += src[i] * gain;
            }
        }
        node->gain = gain;
    }
}
