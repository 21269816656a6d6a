/* node.h — a sound-producing unit in the graph.
 *
 * A node is created and destroyed on the server thread. While it is part of a
 * published graph, only the audio thread touches its processing state: it calls
 * `process` once per slice and `set_param` when a parameter command arrives.
 * Output buffers are allocated at creation for KR_MAX_BLOCK frames, so nothing
 * is allocated while audio runs. */
#ifndef KRACH_NODE_H
#define KRACH_NODE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "krach/limits.h"

typedef struct kr_node kr_node;
struct kr_rt;

typedef struct kr_node_type {
    const char *kind;
    /* Audio thread: fill node->out[0 .. outputs-1][0 .. frames-1]. Objects the
     * node lets go of are handed back with kr_rt_retire (rt.h). */
    void (*process)(kr_node *node, unsigned frames, struct kr_rt *rt);
    /* Audio thread: apply parameter `index` (meaning is per kind) to one
     * voice, or to every voice when `voice` is -1. */
    void (*set_param)(kr_node *node, int voice, int index, double value);
    /* Audio thread, optional: where parameter `index` is heading now. */
    double (*get_param)(const kr_node *node, int index);
    /* Audio thread, optional: take `payload`, an object the server prepared
     * (e.g. a new DSP instance), in place of what the node holds. Whatever is
     * replaced goes back through kr_rt_retire, now or later, exactly once. */
    void (*swap)(kr_node *node, void *payload, struct kr_rt *rt);
    /* Server thread, optional, once the audio thread has let go of the node:
     * how many objects it was still due to retire (they die with it). */
    int (*unretired)(const kr_node *node);
    /* Server thread: free what `state` owns (not the node itself). */
    void (*destroy_state)(void *state);
} kr_node_type;

struct kr_node {
    const kr_node_type *type;
    char name[KR_MAX_NAME];
    int outputs;                    /* 1 = mono (sent to both sides), 2 = stereo */
    float *out[KR_MAX_CHANNELS];    /* KR_MAX_BLOCK frames each */
    float gain;                     /* audio thread: current, smoothed */
    float gain_target;              /* audio thread: where gain is heading */
    float audible, audible_target;  /* audio thread: 1, or 0 when muted (smoothed) */
    bool sounded;                   /* audio thread: has run a block; before, gain and
                                       audible take their targets at once (graph.c) */
    float *post;                    /* KR_MAX_BLOCK frames: the mono post-fader output */
    atomic_int input_count;         /* audio inputs with buffers (grows; release/acquire) */
    float *in[KR_MAX_NODE_INPUTS];  /* KR_MAX_BLOCK frames each: what routes feed in */
    float smooth_coef;              /* one-pole coefficient for ~20 ms */
    double gain_setting;            /* server thread only: the gain last set */
    bool muted, soloed;             /* server thread only: mixer state */
    /* Fault isolation (graph.c): a block with NaN or infinity silences the
     * node until a swap (a new definition) replaces what it plays. The audio
     * thread sets `faulted` and bumps `fault_count`; the server thread reports
     * each new count once (fault_seen) and reads `faulted` for status. */
    atomic_bool faulted;
    atomic_uint fault_count;
    unsigned fault_seen;            /* server thread only */
    void *state;                    /* owned by the node, freed by destroy_state */
};

/* Server thread. Allocates the node and its output buffers; takes ownership of
 * `state` (also on failure). Returns NULL when out of memory. */
kr_node *kr_node_create(const kr_node_type *type, const char *name, int outputs,
                        double sample_rate, float gain, void *state);
void kr_node_destroy(kr_node *node);

/* Server thread: gives the node `count` input buffers (growing only; buffers
 * never move while the node lives). Returns -1 when out of memory. */
int kr_node_ensure_inputs(kr_node *node, int count);

/* One-pole smoothing coefficient for a time constant in seconds: each sample
 * moves `1 - coef` of the remaining distance. */
float kr_smooth_coef(double sample_rate, double seconds);

#endif
