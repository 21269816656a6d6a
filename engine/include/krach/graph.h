/* graph.h — the ordered set of nodes the audio thread runs.
 *
 * A graph is immutable once published: any change builds a new graph on the
 * server thread, which the audio thread swaps in and hands back through the
 * retire ring. Nodes are shared between consecutive graphs; a node removed by a
 * change is parked on the *previous* graph's `dead` list and freed together with
 * it, i.e. only after the audio thread has stopped using that graph. */
#ifndef KRACH_GRAPH_H
#define KRACH_GRAPH_H

#include "krach/node.h"

typedef struct kr_graph {
    int count;
    kr_node **nodes;        /* topological order (sources before their effects) */
    /* Server thread only: */
    int dead_count;
    kr_node **dead;         /* nodes to free when this graph is retired */
} kr_graph;

/* Server thread. Copies the node pointers. NULL when out of memory. */
kr_graph *kr_graph_create(kr_node *const *nodes, int count);
/* Server thread. Parks `node` to be freed with `graph`. Returns -1 on OOM. */
int kr_graph_park_dead(kr_graph *graph, kr_node *node);
/* Server thread. Frees the graph and its parked nodes (not the live ones).
 * Returns how many retirements those nodes still had pending (see rt.h). */
int kr_graph_destroy(kr_graph *graph);

/* Audio thread. Runs every node for `frames` (≤ KR_MAX_BLOCK) and adds each
 * node's output, times its smoothed gain, into the interleaved `mix`
 * (`channels` wide), which the caller has zeroed. */
struct kr_rt;
void kr_graph_process(kr_graph *graph, float *mix, unsigned frames, int channels,
                      struct kr_rt *rt);

#endif
