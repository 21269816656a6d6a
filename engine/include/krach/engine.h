/* engine.h — the engine context: the one object that owns everything.
 *
 * There are no globals: the configuration, the log, the real-time core, the
 * audio backend and the session model (the live nodes) all hang off kr_engine.
 * Every function here runs on the server thread. Session changes build a new
 * graph and hand it to the audio thread; kr_engine_collect frees what the audio
 * thread has retired and copies its notes into the log. */
#ifndef KRACH_ENGINE_H
#define KRACH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "krach/backend.h"
#include "krach/graph.h"
#include "krach/error.h"
#include "krach/log.h"
#include "krach/recorder.h"
#include "krach/rt.h"
#include "krach/scheduler.h"
#include "krach/tone.h"

#define KR_PATH_MAX 1024

typedef struct kr_config {
    kr_backend_options audio;
    char socket_path[KR_PATH_MAX];
    char tcp_host[256];         /* "" = no TCP listener */
    int tcp_port;
    char token[128];            /* "" = read or generate token_file */
    char token_file[KR_PATH_MAX];
    char log_path[KR_PATH_MAX];
    char dsp_dir[KR_PATH_MAX];  /* FAUST files: NAME.dsp is node type faust:NAME */
    char files_dir[KR_PATH_MAX]; /* the only folder TCP clients may write (render, record) */
    kr_log_level log_level;
    bool test_faults;           /* allow fault injection (tests only) */
    bool record_events;         /* keep a log of applied events (tests only) */
} kr_config;

typedef struct kr_engine {
    kr_config config;
    kr_log *log;
    kr_rt rt;
    kr_backend backend;
    bool audio_running;
    double started_at;          /* monotonic seconds */
    /* Session model (server thread): the live nodes, in graph order. */
    kr_node *nodes[KR_MAX_NODES];
    int node_count;
    kr_graph *published;        /* the graph most recently sent to the audio thread */
    int retires_pending;        /* objects the audio thread will hand back (see reserve) */
    double master;              /* master gain target */
    int clients;                /* connected clients (kept by the server) */
    /* Watchdog (real-time backends): the audio clock must keep moving. */
    uint64_t watch_frames;
    double watch_since;
    bool shutdown_requested;
    /* render "cycles": where the last such render aimed, so that a chain of
     * them (kr.wait(bars=…)) counts from the exact bar, not from the sample
     * after it (which is a little later when bars are not whole samples). */
    kr_rat render_cycle;
    int64_t render_cycle_sample;
    bool has_render_cycle;
    kr_scheduler sched;         /* patterns, tempo and the transport */
    /* Routing (server thread): the live routes, and removed ones waiting to
     * be parked on the graph they leave (routing.c). */
    kr_route *routes[KR_MAX_ROUTES];
    int route_count;
    /* Removed routes and nodes waiting to be parked. A batch defers the
     * parking, so any number can pile up: the lists grow, and every live node
     * and route owns a slot in advance (capacity >= dead + live, kept by
     * kr_engine_reserve_dead), so removing one never needs memory. */
    kr_route **dead_routes;
    int dead_route_count, dead_route_cap;
    kr_node **dead_nodes;
    int dead_node_count, dead_node_cap;
    int batch_depth;            /* > 0: graph changes wait for the batch's end */
    bool publish_due;
    kr_recorder recorder;       /* kr.record */
    struct json_t *scenes;      /* name → saved state (cmd_state.c), or NULL */
    size_t scene_bytes;         /* their size as JSON text (KR_MAX_SCENE_BYTES) */
    kr_rt_command *batch_cmds;  /* commands held back until the batch's end */
    int batch_count, batch_cap;
    /* --record-events: applied events drained from the audio thread, for
     * tests that check every event landed on its sample (bounded). */
    kr_applied_event *applied;
    size_t applied_count, applied_cap, applied_dropped;
    /* Event lines for subscribed clients (JSON + newline, malloc'd), queued by
     * kr_engine_collect and taken by the server (kr_engine_take_pushed). */
    char *pushed[KR_MAX_PUSHED];
    int pushed_count;
    uint64_t node_faults_seen;  /* rt.node_faults already looked at */
    /* FAUST backend (src/faust): compiled code by source, and the watched
     * folder of .dsp files (NULL without libfaust or if it cannot be watched). */
    struct kr_faust_cache *faust_cache;
    struct kr_faust_dir *faust_dir;
} kr_engine;

/* Fills `config` with defaults (paths under ~/.krach, KRACH_SOCKET honoured). */
void kr_config_defaults(kr_config *config);

/* Opens the log and the real-time core and starts audio. Returns 0, or -1 with
 * a message in err (then kr_engine_close is still safe to call). */
int kr_engine_open(kr_engine *engine, const kr_config *config, char *err, size_t errlen);
/* Stops audio and frees everything the engine owns. */
void kr_engine_close(kr_engine *engine);

/* Server thread: queue the event line {"event": event, "node": node,
 * "message": message} for subscribed clients (dropped beyond KR_MAX_PUSHED). */
void kr_engine_push(kr_engine *engine, const char *event, const char *node,
                    const char *message);

/* Server thread: the next event line to push to subscribed clients (the
 * caller frees it), or NULL. */
char *kr_engine_take_pushed(kr_engine *engine);

/* Server thread: queues `event` (taken) for subscribed clients. */
void kr_engine_push_event(kr_engine *engine, struct json_t *event);

/* Frees retired graphs and logs the audio thread's notes; reports nodes the
 * audio thread silenced for non-finite output (log + pushed event). Call often. */
void kr_engine_collect(kr_engine *engine);

/* The cycle the clock is at: cycle_at(the current sample), except right after
 * a render by cycles, where it is exactly the cycle that render aimed at (the
 * sample is the first at or after it). Chained renders and the transport
 * report use it, so bars add up exactly. */
kr_rat kr_engine_cycle_now(kr_engine *engine, bool *overflow);

double kr_engine_uptime(const kr_engine *engine);
bool kr_engine_is_offline(const kr_engine *engine);

/* Session operations. Each returns 0, or -1 with an error (error.h). */

/* Queues a command for the audio thread (waiting briefly when the queue is
 * full; offline, applying it directly). */
int kr_engine_send(kr_engine *engine, const kr_rt_command *cmd, kr_error *error);
/* Call before sending a command that will make the audio thread retire an
 * object, then count it in retires_pending once sent. Waits for room. */
int kr_engine_reserve_retire(kr_engine *engine, kr_error *error);

/* A batch: between begin and end, commands for the audio thread are held
 * back and graph changes are deferred; end publishes one graph and hands
 * everything over in one KR_RT_BATCH command, applied at one block boundary. */
void kr_engine_begin_batch(kr_engine *engine);
int kr_engine_end_batch(kr_engine *engine, kr_error *error);

/* Before a node or a route joins the model: makes sure the dead lists can
 * take every live node and route, plus one of each. Returns 0, or -1 with
 * "io_error" when out of memory (then nothing may be added). */
int kr_engine_reserve_dead(kr_engine *engine, kr_error *error);

/* Builds and sends a graph of the current nodes and routes (see engine.c). */
int kr_engine_publish(kr_engine *engine, kr_node *removed, kr_error *error);

/* routing.c: connections and the mixer. Each returns 0, or -1 with error. */
/* Node order with every route's source before its destination. */
void kr_engine_topological_order(const kr_engine *engine, kr_node **order);
/* port < 0: a send into input 0 at `level`; else a direct wire into `port`.
 * Connecting again changes the level (no new graph). */
int kr_engine_connect(kr_engine *engine, kr_node *src, kr_node *dst, int port, double level,
                      kr_route **route, kr_error *error);
/* Removes every route from src to dst; returns how many, or -1. */
int kr_engine_unsend(kr_engine *engine, kr_node *src, kr_node *dst, kr_error *error);
/* The routes touching a node leave with it (called before it is unpublished). */
void kr_engine_drop_routes_of(kr_engine *engine, kr_node *node);
/* Recomputes which nodes are heard (mute and solo) and sends the changes. */
int kr_engine_apply_mixer(kr_engine *engine, kr_error *error);

kr_node *kr_engine_find(kr_engine *engine, const char *name);
int kr_engine_add_node(kr_engine *engine, kr_node *node, kr_error *error);
int kr_engine_remove_node(kr_engine *engine, const char *name, kr_error *error);
int kr_engine_set_param(kr_engine *engine, kr_node *node, int index, double value,
                        kr_error *error);
int kr_engine_set_master(kr_engine *engine, double gain, kr_error *error);
/* Lists the known node names into buf, comma-separated ("none" if empty). */
void kr_engine_list_nodes(const kr_engine *engine, char *buf, size_t len);
/* Sets error "unknown_node": "unknown node 'NAME' (known nodes: …)" followed by
 * `fix` (e.g. "; create it first with kr.node()", or ""). */
void kr_engine_unknown_node(const kr_engine *engine, const char *name, const char *fix,
                            kr_error *error);

/* names.c — the one rule for what a node name means (docs/routing.md): the
 * node of that name and every node of the group "name/…". */
bool kr_name_means(const char *name, const char *node);
/* The nodes `name` means, into `nodes` (KR_MAX_NODES room); their count
 * (>= 1), or -1 with "unknown_node" (known nodes listed, then `fix`). */
int kr_engine_resolve(kr_engine *engine, const char *name, const char *fix, kr_node **nodes,
                      kr_error *error);
/* The same for a target: a name that means some node (control ""), else
 * "name/control" with `name` meaning some node (the control into `control`). */
int kr_engine_resolve_target(kr_engine *engine, const char *target, const char *fix,
                             kr_node **nodes, char control[KR_VALUE_NAME], kr_error *error);
/* For a command that acts on one node: the node called `name`, else NULL with
 * "unknown_node", or "bad_value" naming the members when `name` is a group. */
kr_node *kr_engine_resolve_one(kr_engine *engine, const char *name, const char *fix,
                               kr_error *error);


double kr_monotonic_seconds(void);

#endif
