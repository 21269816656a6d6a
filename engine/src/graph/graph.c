/* graph.c — immutable node and route lists swapped into the audio thread. */
#include "krach/graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "krach/rt.h"
#include "krach/safety.h"

/* A one-pole glide never arrives by itself; once it is within a millionth
 * it lands, so a muted node is exactly silent, not 1e-20 of itself. */
static inline float land(float value, float target)
{
    return fabsf(value - target) < 1e-6f ? target : value;
}

kr_graph *kr_graph_create(kr_node *const *nodes, int count, kr_route *const *routes,
                          int route_count)
{
    kr_graph *graph = calloc(1, sizeof *graph);
    if (!graph)
        return NULL;
    graph->nodes = malloc(((size_t)count + 1) * sizeof *graph->nodes);
    graph->first_route = calloc((size_t)count + 1, sizeof *graph->first_route);
    graph->routes = malloc(((size_t)route_count + 1) * sizeof *graph->routes);
    if (!graph->nodes || !graph->first_route || !graph->routes) {
        kr_graph_destroy(graph);
        return NULL;
    }
    if (count)
        memcpy(graph->nodes, nodes, (size_t)count * sizeof *graph->nodes);
    graph->count = count;
    /* Routes grouped by their source's position, so processing walks them in
     * step with the nodes. */
    int r = 0;
    for (int n = 0; n < count; n++) {
        graph->first_route[n] = r;
        for (int i = 0; i < route_count; i++)
            if (routes[i]->src == nodes[n])
                graph->routes[r++] = routes[i];
    }
    graph->first_route[count] = r;
    graph->route_count = r;
    return graph;
}

static int park(void ***list, int *count, void *item)
{
    void **grown = realloc(*list, (size_t)(*count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    grown[(*count)++] = item;
    *list = grown;
    return 0;
}

int kr_graph_park_dead(kr_graph *graph, kr_node *node)
{
    return park((void ***)&graph->dead, &graph->dead_count, node);
}

int kr_graph_park_dead_route(kr_graph *graph, kr_route *route)
{
    return park((void ***)&graph->dead_routes, &graph->dead_route_count, route);
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
    for (int i = 0; i < graph->dead_route_count; i++)
        free(graph->dead_routes[i]);
    free(graph->dead);
    free(graph->dead_routes);
    free(graph->routes);
    free(graph->first_route);
    free(graph->nodes);
    free(graph);
    return settled;
}

/* Runs one node; a block with NaN or infinity in it silences the node from
 * then on (it is no longer run: its state is poisoned) and tells the server,
 * which reports it. Its outputs are then exact zeros, so everything else in
 * the mix is what it would be without the node. */
static void run_isolated(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    if (!atomic_load_explicit(&node->faulted, memory_order_relaxed)) {
        node->type->process(node, frames, rt);
        bool finite = true;
        for (int ch = 0; ch < node->outputs; ch++)
            finite = finite && kr_safety_all_finite(node->out[ch], frames);
        if (finite)
            return;
        atomic_store_explicit(&node->faulted, true, memory_order_relaxed);
        atomic_fetch_add_explicit(&node->fault_count, 1u, memory_order_release);
        atomic_fetch_add_explicit(&rt->node_faults, 1, memory_order_release);
    }
    for (int ch = 0; ch < node->outputs; ch++)
        memset(node->out[ch], 0, frames * sizeof(float));
}

void kr_graph_process(kr_graph *graph, float *mix, unsigned frames, int channels,
                      struct kr_rt *rt)
{
    /* Inputs start silent each block; routes fill them as sources run. */
    for (int n = 0; n < graph->count; n++) {
        kr_node *node = graph->nodes[n];
        int inputs = atomic_load_explicit(&node->input_count, memory_order_acquire);
        for (int k = 0; k < inputs; k++)
            memset(node->in[k], 0, frames * sizeof(float));
    }
    for (int n = 0; n < graph->count; n++) {
        kr_node *node = graph->nodes[n];
        run_isolated(node, frames, rt);
        if (!node->sounded) {
            /* Nothing of it was heard yet: what was set before time advanced
             * (a solo, a mute, a gain) holds from its first sample, as the
             * patterns starting there do. Smoothing is for changes in play. */
            node->gain = node->gain_target;
            node->audible = node->audible_target;
            node->sounded = true;
        }
        const float *left = node->out[0];
        const float *right = node->out[node->outputs > 1 ? 1 : 0];
        float gain = node->gain, audible = node->audible;
        const float gain_to = node->gain_target, audible_to = node->audible_target;
        const float coef = node->smooth_coef;
        float *post = node->post; /* mono, post-fader: what sends carry */
        int first = graph->first_route[n], last = graph->first_route[n + 1];
        for (unsigned i = 0; i < frames; i++) {
            gain = gain_to + (gain - gain_to) * coef;
            audible = audible_to + (audible - audible_to) * coef;
            float g = gain * audible;
            mix[i * (unsigned)channels] += left[i] * g;
            if (channels > 1)
                mix[i * (unsigned)channels + 1] += right[i] * g;
            post[i] = 0.5f * (left[i] + right[i]);
            if (first < last)
                post[i] *= g;
        }
        node->gain = land(gain, gain_to);
        node->audible = land(audible, audible_to);
        for (int r = first; r < last; r++) {
            kr_route *route = graph->routes[r];
            float *dst = route->dst->in[route->port];
            if (!route->send) {
                /* A direct wire carries the raw output (no gain stage). */
                for (unsigned i = 0; i < frames; i++)
                    dst[i] += 0.5f * (left[i] + right[i]);
                continue;
            }
            float level = route->level;
            const float level_to = route->level_target;
            for (unsigned i = 0; i < frames; i++) {
                level = level_to + (level - level_to) * coef;
                dst[i] += post[i] * level;
            }
            route->level = land(level, level_to);
        }
    }
}
