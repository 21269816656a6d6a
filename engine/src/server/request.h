/* request.h — what a command handler sees (internal to the server).
 *
 * protocol.c parses the line and finds the handler; the handler reads fields
 * from `json` (through fields.h), adds its results to `reply`, and returns 0,
 * or fills `error` and returns -1. Handlers live in protocol.c (engine
 * commands) and cmd_*.c (one file per concern). */
#ifndef KRACH_REQUEST_H
#define KRACH_REQUEST_H

#include <jansson.h>

#include "krach/engine.h"
#include "krach/protocol.h"

typedef struct kr_request {
    kr_engine *engine;
    kr_peer *peer;
    json_t *json;      /* the request object */
    const char *cmd;
    json_t *reply;     /* handlers add their fields here */
    kr_error error;
    struct kr_dsp_program *precompiled; /* batch: node_set's program, compiled ahead */
} kr_request;

typedef int (*kr_handler_fn)(kr_request *req);

/* cmd_node.c: DSP nodes and their controls. */
int kr_cmd_compile(kr_request *req);
int kr_cmd_node_set(kr_request *req);
int kr_cmd_node_remove(kr_request *req);
int kr_cmd_node_gain(kr_request *req);
int kr_cmd_control_set(kr_request *req);
int kr_cmd_control_get(kr_request *req);
int kr_cmd_nodes(kr_request *req);
struct kr_dsp_model;
/* The values a replacement starts with: the old value of each control whose
 * name survives (clamped to the new range), else the new init. */
void kr_dsp_model_carry_values(const struct kr_dsp_model *old,
                               const struct kr_dsp_program *p, double *values);
/* node_set's "gain" and "controls" checked against `p`, nothing applied (a
 * batch's dry run uses it, so a bad value stops the batch before it starts). */
int kr_node_set_check(json_t *fields, const char *cmd, const char *name,
                      const struct kr_dsp_program *p, kr_error *error);
/* Replaces synth node `node`'s program with `p` (crossfaded, same voice count,
 * surviving control values kept). */
int kr_dsp_node_redefine(kr_engine *e, kr_node *node, struct kr_dsp_program *p,
                         kr_error *error);

/* cmd_transport.c: patterns, tempo and automation. */
struct kr_pattern;
/* The request's "pattern" (IR) or "mini" (text) as a tree (NULL + error). */
struct kr_pattern *kr_request_pattern(kr_request *req);
int kr_cmd_play(kr_request *req);
int kr_cmd_hush(kr_request *req); /* also "stop" (no target) */
int kr_cmd_tempo(kr_request *req); /* also "meter" */
int kr_cmd_transport(kr_request *req);
int kr_cmd_mod(kr_request *req);
int kr_cmd_fade(kr_request *req);
int kr_cmd_applied_events(kr_request *req);

/* cmd_route.c: routing and the mixer. */
int kr_cmd_connect(kr_request *req);
int kr_cmd_unsend(kr_request *req);
int kr_cmd_routing(kr_request *req);
/* Every route as {src, dst, port, level, send}, for `routing` and `state`. */
json_t *kr_routes_json(const kr_engine *e);
int kr_cmd_mixer(kr_request *req); /* mute, unmute, solo, unsolo */
int kr_cmd_input_add(kr_request *req);
/* The nodes `name` stands for (itself, or the group "name/…"); 0 + error. */
int kr_request_group(kr_request *req, const char *name, kr_node **nodes);

/* cmd_state.c: the session as data, and scenes. */
int kr_cmd_state(kr_request *req);
int kr_cmd_scene_save(kr_request *req);
int kr_cmd_scene_get(kr_request *req);
int kr_cmd_scenes(kr_request *req);
int kr_cmd_record(kr_request *req);
/* Where this client may write files (render, record): NULL for a local
 * client, who is the user (anywhere, as the user's shell), or the engine's
 * files folder for a TCP client (see krach/safe_open.h). */
const char *kr_request_files_dir(const kr_request *req);
int kr_cmd_record_stop(kr_request *req);

/* cmd_batch.c */
int kr_cmd_batch(kr_request *req);
/* The handler for a command name (protocol.c's table), or NULL. */
kr_handler_fn kr_protocol_handler(const char *name);

/* faust_watch.c: collects finished FAUST compiles (faust.h) and recompiles
 * "faust:NAME" nodes whose file changed. Call often (it never blocks). */
void kr_faust_watch_tick(kr_engine *engine);

/* cmd_pattern.c: looking at patterns. */
int kr_cmd_query(kr_request *req);

#endif
