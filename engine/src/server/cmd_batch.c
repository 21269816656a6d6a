/* cmd_batch.c — many node, routing and mixing commands as one change.
 *
 * Two passes. The first checks everything against a simulation of the session
 * as the batch would leave it (synths compiled, names, fields, controls,
 * ports, route cycles, and the node, route and DSP-state limits), touching
 * nothing: every check the real commands make, so that a batch the first
 * pass accepts cannot fail half way (only out of memory can). Only then does the second run the commands,
 * inside kr_engine_begin_batch/end_batch, so the audio thread receives one
 * graph and every command together, at one block boundary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "krach/dsp.h"
#include "krach/dsp_node.h"
#include "krach/ir.h"
#include "node_source.h"
#include "request.h"

#define BATCH_MAX 1024

typedef struct sim_node {
    char name[KR_MAX_NAME];        /* "" once removed (indices stay valid) */
    int inputs;
    const kr_dsp_program *program; /* NULL for other kinds */
    int voices;
    size_t bytes;                  /* DSP state (dsp_node.h limits) */
} sim_node;

typedef struct sim_route {
    int src, dst, port;
    bool send;
} sim_route;

typedef struct sim {
    sim_node nodes[KR_MAX_NODES + BATCH_MAX];
    int count, live;               /* slots used; nodes not removed */
    sim_route routes[KR_MAX_ROUTES + BATCH_MAX];
    int route_count;
} sim;

static int sim_find(const sim *s, const char *name)
{
    for (int i = 0; name[0] && i < s->count; i++)
        if (!strcmp(s->nodes[i].name, name))
            return i;
    return -1;
}

static bool sim_reaches(const sim *s, int from, int to, int depth)
{
    if (from == to)
        return true;
    for (int r = 0; depth < KR_MAX_NODES && r < s->route_count; r++)
        if (s->routes[r].src == from && sim_reaches(s, s->routes[r].dst, to, depth + 1))
            return true;
    return false;
}

static void sim_load(sim *s, kr_engine *e)
{
    s->count = s->live = e->node_count;
    for (int i = 0; i < e->node_count; i++) {
        kr_node *node = e->nodes[i];
        kr_dsp_model *model = kr_dsp_node_model(node);
        snprintf(s->nodes[i].name, KR_MAX_NAME, "%s", node->name);
        s->nodes[i].inputs = atomic_load(&node->input_count);
        s->nodes[i].program = model ? model->program : NULL;
        s->nodes[i].voices = model ? model->voices : 0;
        s->nodes[i].bytes = model ? kr_dsp_voices_bytes(model->program, model->voices) : 0;
    }
    s->route_count = 0;
    for (int r = 0; r < e->route_count; r++) {
        const kr_route *route = e->routes[r];
        s->routes[s->route_count++] = (sim_route){sim_find(s, route->src->name),
                                                  sim_find(s, route->dst->name), route->port,
                                                  route->send};
    }
}

static int fail(kr_request *req, int index, const char *cmd)
{
    char message[sizeof req->error.message];
    snprintf(message, sizeof message, "batch command %d (%.40s): %.400s; nothing was changed",
             index, cmd, req->error.message);
    snprintf(req->error.message, sizeof req->error.message, "%s", message);
    return -1;
}

static int need_node(kr_request *req, const sim *s, json_t *sub, const char *field, int *out)
{
    const char *name;
    if (kr_field_string(sub, req->cmd, field, true, &name, &req->error) < 0)
        return -1;
    *out = sim_find(s, name);
    if (*out < 0) {
        kr_error_set(&req->error, "unknown_node", "unknown node '%s' (not in the engine, nor "
                     "made earlier in this batch)", name);
        return -1;
    }
    return 0;
}

/* The slot node_set `name` fills: the node's own, or a new one (-1 with an
 * error when the engine would hold too many nodes). */
static int sim_slot(kr_request *req, sim *s, const char *name)
{
    int i = sim_find(s, name);
    if (i >= 0) {
        if (!s->nodes[i].program) {
            kr_error_set(&req->error, "exists", "node '%s' is not a synth", name);
            return -1;
        }
        return i;
    }
    if (s->live >= KR_MAX_NODES) {
        kr_error_set(&req->error, "limit", "the engine holds at most %d nodes; remove one first",
                     KR_MAX_NODES);
        return -1;
    }
    i = s->count++;
    s->live++;
    s->nodes[i] = (sim_node){.inputs = 0};
    snprintf(s->nodes[i].name, KR_MAX_NAME, "%s", name);
    return i;
}

static int check_node_set(kr_request *req, sim *s, json_t *sub, kr_dsp_program **program)
{
    const char *cmd = req->cmd, *name;
    double gain;
    if (kr_field_name(sub, cmd, &name, &req->error) < 0 ||
        kr_field_number(sub, cmd, "gain", false, 0.0, 4.0, &gain, &req->error) < 0)
        return -1;
    kr_node_source source;
    if (kr_node_source_parse(sub, cmd, &source, &req->error))
        return -1;
    *program = kr_node_source_build(req->engine, sub, &source, &req->error);
    if (!*program || kr_node_set_check(sub, cmd, name, *program, &req->error))
        return -1;
    int i = sim_slot(req, s, name);
    if (i < 0)
        return -1;
    long long count = s->nodes[i].voices > 0 ? s->nodes[i].voices : 1;
    if (kr_field_integer(sub, cmd, "count", false, 1, KR_MAX_VOICES, &count, &req->error) < 0)
        return -1;
    size_t others = 0;
    for (int k = 0; k < s->count; k++)
        if (k != i && s->nodes[k].name[0])
            others += s->nodes[k].bytes;
    size_t bytes = kr_dsp_voices_bytes(*program, (int)count);
    if (kr_dsp_check_state(name, bytes, others, &req->error))
        return -1;
    int inputs = kr_dsp_program_inputs(*program);
    if (inputs > s->nodes[i].inputs)
        s->nodes[i].inputs = inputs;
    s->nodes[i].program = *program;
    s->nodes[i].voices = (int)count;
    s->nodes[i].bytes = bytes;
    return 0;
}

/* connect's port: -1 for a send (no "port"), else its number (as cmd_route.c). */
static int check_port(kr_request *req, json_t *sub, int *port)
{
    const char *name = NULL;
    if (kr_field_string(sub, req->cmd, "port", false, &name, &req->error) < 0)
        return -1;
    *port = -1;
    if (!name)
        return 0;
    char *end;
    long k = name[0] == 'i' && name[1] == 'n' ? strtol(name + 2, &end, 10) : -1;
    if (k < 0 || k >= KR_MAX_NODE_INPUTS || !name[2] || *end) {
        kr_error_set(&req->error, "unknown_port", "unknown port '%.40s': ports are named in0, "
                     "in1, … (one per audio input of the effect)", name);
        return -1;
    }
    *port = (int)k;
    return 0;
}

static int check_connect(kr_request *req, sim *s, json_t *sub)
{
    int a, b, port;
    double level;
    if (need_node(req, s, sub, "src", &a) || need_node(req, s, sub, "dst", &b) ||
        kr_field_number(sub, req->cmd, "level", false, 0.0, 4.0, &level, &req->error) < 0 ||
        check_port(req, sub, &port))
        return -1;
    sim_route route = {a, b, port < 0 ? 0 : port, port < 0};
    if (s->nodes[b].inputs <= route.port) {
        kr_error_set(&req->error, "unknown_port", "unknown port 'in%d' on '%s', which has %d "
                     "audio inputs", route.port, s->nodes[b].name, s->nodes[b].inputs);
        return -1;
    }
    if (sim_reaches(s, b, a, 0)) {
        kr_error_set(&req->error, "routing_cycle", "'%s' → '%s' would close a loop",
                     s->nodes[a].name, s->nodes[b].name);
        return -1;
    }
    for (int r = 0; r < s->route_count; r++) {
        const sim_route *o = &s->routes[r];
        if (o->src == a && o->dst == b && o->port == route.port && o->send == route.send)
            return 0; /* the same connection again only changes its level */
    }
    if (s->route_count >= KR_MAX_ROUTES) {
        kr_error_set(&req->error, "limit", "at most %d routes; remove some first",
                     KR_MAX_ROUTES);
        return -1;
    }
    s->routes[s->route_count++] = route;
    return 0;
}

static void sim_drop_routes(sim *s, int a, int b)
{
    for (int r = s->route_count - 1; r >= 0; r--)
        if ((s->routes[r].src == a && (b < 0 || s->routes[r].dst == b)) ||
            (b < 0 && s->routes[r].dst == a))
            s->routes[r] = s->routes[--s->route_count];
}

/* The nodes of the simulation that `name` means once the commands before
 * this one have run (the engine's one naming rule, names.c): its count, or
 * -1 with unknown_node. */
static int sim_means(kr_request *req, const sim *s, const char *name, int *found)
{
    int count = 0;
    for (int i = 0; i < s->count; i++)
        if (s->nodes[i].name[0] && kr_name_means(name, s->nodes[i].name))
            found[count++] = i;
    if (count == 0)
        kr_error_set(&req->error, "unknown_node", "unknown node or group '%s' (not in the "
                     "engine, nor made earlier in this batch)", name);
    return count ? count : -1;
}

/* node_gain, mute, unmute, solo, unsolo: a node or a group ("name/…") that
 * exists once the commands before this one have run. */
static int check_named(kr_request *req, const sim *s, json_t *sub)
{
    const char *cmd = req->cmd, *name = NULL;
    double gain;
    bool gain_cmd = !strcmp(cmd, "node_gain");
    if (gain_cmd ? kr_field_name(sub, cmd, &name, &req->error) < 0 ||
                       kr_field_number(sub, cmd, "gain", false, 0.0, 4.0, &gain,
                                       &req->error) < 0
                 : kr_field_string(sub, cmd, "name", strcmp(cmd, "unsolo") != 0, &name,
                                   &req->error) < 0)
        return -1;
    int found[KR_MAX_NODES + BATCH_MAX];
    return !name || sim_means(req, s, name, found) > 0 ? 0 : -1;
}

/* node_remove of a node or a whole group. */
static int check_remove(kr_request *req, sim *s, json_t *sub)
{
    const char *name;
    int found[KR_MAX_NODES + BATCH_MAX];
    int count = kr_field_string(sub, req->cmd, "name", true, &name, &req->error) < 0
                    ? -1 : sim_means(req, s, name, found);
    for (int k = 0; k < count; k++) {
        sim_drop_routes(s, found[k], -1);
        s->nodes[found[k]].name[0] = '\0'; /* gone (indices stay valid) */
        s->nodes[found[k]].bytes = 0;
        s->live--;
    }
    return count < 0 ? -1 : 0;
}

/* control_set on a node or a group: every member has the control. */
static int check_control_set(kr_request *req, sim *s, json_t *sub)
{
    const char *name, *control;
    double value;
    int found[KR_MAX_NODES + BATCH_MAX];
    int count = kr_field_string(sub, req->cmd, "name", true, &name, &req->error) < 0 ||
                        kr_field_string(sub, req->cmd, "control", true, &control,
                                        &req->error) < 0
                    ? -1 : sim_means(req, s, name, found);
    if (count < 0)
        return -1;
    for (int k = 0; k < count; k++) {
        const sim_node *n = &s->nodes[found[k]];
        if (!n->program || kr_dsp_program_find_control(n->program, control) < 0) {
            kr_error_set(&req->error, "unknown_control", "node '%s' has no control '%s'",
                         n->name, control);
            return -1;
        }
    }
    return kr_field_number(sub, req->cmd, "value", true, -HUGE_VAL, HUGE_VAL, &value,
                           &req->error) < 0 ? -1 : 0;
}

/* First pass for one command: every check its real run makes, against the
 * simulation. `program` receives node_set's program. */
static int check(kr_request *req, sim *s, json_t *sub, kr_dsp_program **program)
{
    const char *cmd = req->cmd;
    int a, b;
    if (!strcmp(cmd, "node_set"))
        return check_node_set(req, s, sub, program);
    if (!strcmp(cmd, "node_remove"))
        return check_remove(req, s, sub);
    if (!strcmp(cmd, "connect"))
        return check_connect(req, s, sub);
    if (!strcmp(cmd, "unsend")) {
        if (need_node(req, s, sub, "src", &a) || need_node(req, s, sub, "dst", &b))
            return -1;
        sim_drop_routes(s, a, b);
        return 0;
    }
    if (!strcmp(cmd, "control_set"))
        return check_control_set(req, s, sub);
    return check_named(req, s, sub);
}

int kr_cmd_batch(kr_request *req)
{
    static const char *const allowed[] = {"node_set", "node_remove", "node_gain", "control_set",
                                          "connect", "unsend", "mute", "unmute", "solo",
                                          "unsolo"};
    json_t *list = json_object_get(req->json, "commands");
    if (!json_is_array(list) || json_array_size(list) > BATCH_MAX) {
        kr_error_set(&req->error, list ? "bad_type" : "missing_field", "batch needs "
                     "'commands', a list of at most %d command objects", BATCH_MAX);
        return -1;
    }
    size_t n = json_array_size(list);
    kr_dsp_program *programs[BATCH_MAX] = {0};
    sim *s = malloc(sizeof *s); /* ~120 KB: not for the stack */
    if (!s) {
        kr_error_set(&req->error, "io_error", "out of memory checking a batch");
        return -1;
    }
    sim_load(s, req->engine);
    int rc = kr_source_check_batch(req->engine, list, &req->error); /* node_source.h */
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *sub = json_array_get(list, i);
        const char *cmd = json_string_value(json_object_get(sub, "cmd"));
        bool ok = cmd != NULL;
        for (size_t k = 0; ok && k < sizeof allowed / sizeof allowed[0]; k++)
            if (!strcmp(cmd, allowed[k]))
                break;
            else if (k + 1 == sizeof allowed / sizeof allowed[0])
                ok = false;
        if (!ok) {
            kr_error_set(&req->error, "bad_request", "batch command %zu: 'cmd' must be one of "
                         "node_set, node_remove, node_gain, control_set, connect, unsend, mute, "
                         "unmute, solo, unsolo", i);
            rc = -1;
            break;
        }
        kr_request probe = {.engine = req->engine, .peer = req->peer, .json = sub, .cmd = cmd};
        if (check(&probe, s, sub, &programs[i])) {
            req->error = probe.error;
            rc = fail(req, (int)i, cmd);
        }
    }
    json_t *replies = json_array();
    if (rc == 0) {
        kr_engine_begin_batch(req->engine);
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_t *sub = json_array_get(list, i);
            kr_request one = {.engine = req->engine, .peer = req->peer, .json = sub,
                              .cmd = json_string_value(json_object_get(sub, "cmd")),
                              .precompiled = programs[i]};
            one.reply = json_object();
            json_object_set_new(one.reply, "ok", json_true());
            if (kr_protocol_handler(one.cmd)(&one)) {
                /* Only what the first pass cannot see (a group name, memory). */
                req->error = one.error;
                rc = fail(req, (int)i, one.cmd);
                json_decref(one.reply);
            } else {
                json_array_append_new(replies, one.reply);
            }
        }
        kr_error end_error = {0};
        if (kr_engine_end_batch(req->engine, &end_error) && rc == 0) {
            req->error = end_error;
            rc = -1;
        }
    }
    free(s);
    for (size_t i = 0; i < n; i++)
        kr_dsp_program_release(programs[i]);
    if (rc == 0)
        json_object_set_new(req->reply, "replies", replies);
    else
        json_decref(replies);
    return rc;
}
