/* graph.h — the ordered set of nodes and routes the audio thread runs.
 *
 * A graph is immutable once published: any change builds a new graph on the
 * server thread, which the audio thread swaps in and hands back through the
 * retire ring. Nodes and routes are shared between consecutive graphs; one
 * removed by a change is parked on the *previous* graph's dead lists and freed
 * together with it, i.e. only after the audio thread has stopped using that
 * graph.
 *
 * Processing, per block: every node's audio inputs are cleared; then, in
 * topological order (every route's source before its destination), each node
 * runs, its output goes to the master through its gain and mute, and each
 * route from it adds a copy to its destination's input: a *send* adds
 * output · gain · mute · level (post-fader, level smoothed); a *port*
 * connection adds the raw output. A stereo source feeds a mono input with the
 * mean of its channels.
 *
 * Fault isolation: a node whose block holds NaN or infinity is *faulted*: that
 * block and every later one are exact zeros (the node is no longer run) until a
 * KR_RT_NODE_SWAP replaces what it plays; rt->node_faults and the node's
 * fault_count tell the server, which reports it (kr_engine_collect). */
#ifndef KRACH_GRAPH_H
#define KRACH_GRAPH_H

#include <stdbool.h>

#include "krach/node.h"

typedef struct kr_route {
    kr_node *src, *dst;
    int port;               /* dst input index */
    bool send;              /* a send (post-fader, with level), else a direct wire */
    float level;            /* audio thread: current, smoothed */
    float level_target;     /* audio thread: where it is heading */
    double level_setting;   /* server thread only: the level last set */
} kr_route;

typedef struct kr_graph {
    int count;
    kr_node **nodes;        /* topological order (sources before their effects) */
    int route_count;
    kr_route **routes;      /* sorted by their source's position in `nodes` */
    int *first_route;       /* per node: index of its first outgoing route */
    /* Server thread only: */
    int dead_count, dead_route_count;
    kr_node **dead;         /* nodes to free when this graph is retired */
    kr_route **dead_routes; /* routes to free when this graph is retired */
} kr_graph;

/* Server thread. `nodes` must already be in topological order; copies the
 * pointers. NULL when out of memory. */
kr_graph *kr_graph_create(kr_node *const *nodes, int count, kr_route *const *routes,
                          int route_count);
/* Server thread. Parks a node or route to be freed with `graph`. -1 on OOM. */
int kr_graph_park_dead(kr_graph *graph, kr_node *node);
int kr_graph_park_dead_route(kr_graph *graph, kr_route *route);
/* Server thread. Frees the graph and what is parked on it (not the live ones).
 * Returns how many retirements those nodes still had pending (see rt.h). */
int kr_graph_destroy(kr_graph *graph);

/* Audio thread. Runs every node for `frames` (≤ KR_MAX_BLOCK) and adds the
 * dry outputs into the interleaved `mix` (`channels` wide), which the caller
 * has zeroed. */
struct kr_rt;
void kr_graph_process(kr_graph *graph, float *mix, unsigned frames, int channels,
                      struct kr_rt *rt);

#endif
