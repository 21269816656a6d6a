/* engine.c — the engine context and the session model (server thread). */
#include "krach/engine.h"
#include "krach/faust.h"
#include "krach/faust_dir.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double kr_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kr_error_set(kr_error *error, const char *code, const char *fmt, ...)
{
    error->code = code;
    va_list args;
    va_start(args, fmt);
    vsnprintf(error->message, sizeof error->message, fmt, args);
    va_end(args);
    kr_utf8_repair(error->message);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static int utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    for (int k = 1; k < len; k++) /* stops at the NUL: it is no continuation */
        if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF))
            return 0;
    return len;
}

void kr_utf8_repair(char *text)
{
    unsigned char *s = (unsigned char *)text;
    while (*s) {
        int len = utf8_sequence(s);
        if (len == 0)
            *s++ = '?';
        else
            s += len;
    }
}

static void home_path(char *out, size_t len, const char *leaf)
{
    const char *home = getenv("HOME");
    snprintf(out, len, "%s/.krach/%s", home && *home ? home : ".", leaf);
}

void kr_config_defaults(kr_config *config)
{
    memset(config, 0, sizeof *config);
    config->audio.kind = KR_BACKEND_AUTO;
    config->audio.sample_rate = 48000;
    config->audio.block_size = 256;
    config->audio.inputs = 2;
    const char *env_socket = getenv("KRACH_SOCKET");
    if (env_socket && *env_socket)
        snprintf(config->socket_path, sizeof config->socket_path, "%s", env_socket);
    else
        home_path(config->socket_path, sizeof config->socket_path, "engine.sock");
    home_path(config->token_file, sizeof config->token_file, "token");
    home_path(config->log_path, sizeof config->log_path, "engine.log");
    const char *env_dsp = getenv("KRACH_DSP_DIR");
    if (env_dsp && *env_dsp)
        snprintf(config->dsp_dir, sizeof config->dsp_dir, "%s", env_dsp);
    else
        home_path(config->dsp_dir, sizeof config->dsp_dir, "dsp");
    home_path(config->files_dir, sizeof config->files_dir, "files");
    config->log_level = KR_LOG_INFO;
}

/* The FAUST cache and folder: without them FAUST nodes are refused with a
 * clear error, so a failure here is a warning, not a failed start. */
static void open_faust(kr_engine *engine)
{
    if (!kr_faust_available())
        return;
    engine->faust_cache = kr_faust_cache_create(KR_FAUST_CACHE_ENTRIES);
    if (engine->faust_cache)
        kr_faust_cache_set_deferred(engine->faust_cache, true); /* the server never waits */
    kr_error error = {0};
    engine->faust_dir = kr_faust_dir_open(engine->config.dsp_dir, &error);
    if (!engine->faust_dir)
        kr_logf(engine->log, KR_LOG_WARN, "FAUST files disabled: %s", error.message);
}

int kr_engine_open(kr_engine *engine, const kr_config *config, char *err, size_t errlen)
{
    memset(engine, 0, sizeof *engine);
    engine->config = *config;
    engine->started_at = kr_monotonic_seconds();
    engine->master = 1.0;
    engine->log = kr_log_open(config->log_path, config->log_level, err, errlen);
    if (!engine->log)
        return -1;
    kr_logf(engine->log, KR_LOG_INFO, "krach-engine %s starting (pid %d)", KRACH_VERSION,
            (int)getpid());
    kr_scheduler_init(&engine->sched, config->audio.sample_rate);
    open_faust(engine);
    if (kr_rt_init(&engine->rt, config->audio.sample_rate, KR_MAX_CHANNELS,
                   (float)engine->master)) {
        snprintf(err, errlen, "out of memory creating the real-time core");
        return -1;
    }
    engine->rt.record_events = config->record_events;
    if (config->record_events) {
        engine->applied_cap = 1 << 20;
        engine->applied = calloc(engine->applied_cap, sizeof *engine->applied);
        if (!engine->applied) {
            snprintf(err, errlen, "out of memory for --record-events");
            return -1;
        }
    }
    if (kr_backend_start(&engine->backend, &config->audio, &engine->rt, engine->log, err,
                         errlen))
        return -1;
    engine->audio_running = true;
    return 0;
}

/* A real-time backend whose frame count stops moving has lost its device
 * (e.g. the JACK server went away). Say so once; status reports it. */
static void watch_audio_clock(kr_engine *engine)
{
    if (!engine->audio_running || kr_engine_is_offline(engine))
        return;
    double now = kr_monotonic_seconds();
    uint64_t frames = atomic_load_explicit(&engine->rt.frames, memory_order_relaxed);
    if (frames != engine->watch_frames || engine->watch_since == 0.0) {
        if (engine->backend.stalled)
            kr_logf(engine->log, KR_LOG_INFO, "audio is running again");
        engine->backend.stalled = false;
        engine->watch_frames = frames;
        engine->watch_since = now;
    } else if (!engine->backend.stalled && now - engine->watch_since > 1.0) {
        engine->backend.stalled = true;
        kr_logf(engine->log, KR_LOG_ERROR, "the %s backend has not asked for audio for a "
                "second: the device or audio server is gone; restart the engine",
                kr_backend_name(engine->backend.kind));
    }
}

static void push_event(kr_engine *engine, json_t *event)
{
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    if (!line) {
        free(text);
        return;
    }
    if (engine->pushed_count >= KR_MAX_PUSHED) {
        /* Nobody drained them (there is always a server loop, so this means a
         * flood): the log still has every report. */
        free(line);
        return;
    }
    memcpy(line + n, "\n", 2);
    engine->pushed[engine->pushed_count++] = line;
}

void kr_engine_push_event(kr_engine *engine, json_t *event)
{
    push_event(engine, event);
}

void kr_engine_push(kr_engine *engine, const char *event, const char *node,
                    const char *message)
{
    push_event(engine, json_pack("{s:s, s:s, s:s}", "event", event, "node", node, "message",
                                 message));
}

char *kr_engine_take_pushed(kr_engine *engine)
{
    if (engine->pushed_count == 0)
        return NULL;
    char *line = engine->pushed[0];
    memmove(engine->pushed, engine->pushed + 1,
            (size_t)(engine->pushed_count - 1) * sizeof *engine->pushed);
    engine->pushed_count--;
    return line;
}

/* Nodes the audio thread silenced since the last look: each fault is
 * reported once, in the log and to subscribed clients. */
static void report_faults(kr_engine *engine)
{
    uint64_t faults = atomic_load_explicit(&engine->rt.node_faults, memory_order_acquire);
    if (faults == engine->node_faults_seen)
        return;
    engine->node_faults_seen = faults;
    for (int i = 0; i < engine->node_count; i++) {
        kr_node *node = engine->nodes[i];
        unsigned count = atomic_load_explicit(&node->fault_count, memory_order_acquire);
        if (count == node->fault_seen)
            continue;
        node->fault_seen = count;
        char message[256];
        snprintf(message, sizeof message, "node '%s' produced NaN or infinity and was "
                 "silenced; the rest plays on. Fix its synth (a division by zero, log or "
                 "sqrt of a negative number, an unstable filter) and define it again to "
                 "replace it", node->name);
        kr_logf(engine->log, KR_LOG_WARN, "%s", message);
        kr_engine_push(engine, "node_fault", node->name, message);
    }
}

void kr_engine_collect(kr_engine *engine)
{
    report_faults(engine);
    watch_audio_clock(engine);
    kr_recorder_drain(engine);
    kr_rt_note note;
    while (kr_ring_pop(&engine->rt.notes, &note)) {
        char text[512];
        /* The format is one of the audio thread's static strings with at most
         * two %g conversions, so passing both numbers is always safe. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(text, sizeof text, note.fmt, note.a, note.b);
#pragma GCC diagnostic pop
        kr_logf(engine->log, note.level, "audio: %s", text);
    }
    kr_applied_event rec;
    while (engine->rt.mix && kr_ring_pop(&engine->rt.applied, &rec)) {
        if (engine->applied_count < engine->applied_cap)
            engine->applied[engine->applied_count++] = rec;
        else
            engine->applied_dropped++;
    }
    kr_rt_retired old;
    while (kr_ring_pop(&engine->rt.retired, &old)) {
        engine->retires_pending -= 1 + old.destroy(old.ptr);
    }
}

/* Hands a command to the audio thread. When the queue is full: offline, apply
 * it here (there is no other audio thread); live, wait up to half a second for
 * the audio thread to catch up. */
int kr_engine_send(kr_engine *engine, const kr_rt_command *cmd, kr_error *error)
{
    if (engine->batch_depth > 0) {
        if (engine->batch_count == engine->batch_cap) {
            int cap = engine->batch_cap ? 2 * engine->batch_cap : 64;
            kr_rt_command *grown = realloc(engine->batch_cmds, (size_t)cap * sizeof *grown);
            if (!grown) {
                kr_error_set(error, "io_error", "out of memory collecting a batch");
                return -1;
            }
            engine->batch_cmds = grown;
            engine->batch_cap = cap;
        }
        engine->batch_cmds[engine->batch_count++] = *cmd;
        return 0;
    }
    for (int waited_ms = 0;; waited_ms++) {
        if (kr_rt_send(&engine->rt, cmd))
            return 0;
        if (kr_engine_is_offline(engine) || !engine->audio_running) {
            kr_rt_apply_commands(&engine->rt);
        } else {
            if (waited_ms >= 500) {
                kr_error_set(error, "busy", "the audio thread has not taken commands for 0.5 s "
                             "(overloaded or stopped); try again, or check engine.log");
                return -1;
            }
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
        kr_engine_collect(engine);
    }
}

int kr_engine_reserve_retire(kr_engine *engine, kr_error *error)
{
    /* Everything the audio thread will retire comes back through a ring that
     * must never be full when it pushes: wait for room before sending more. */
    for (int waited_ms = 0; engine->retires_pending >= KR_RT_QUEUE - 1; waited_ms++) {
        if (kr_engine_is_offline(engine) || !engine->audio_running) {
            kr_rt_apply_commands(&engine->rt);
        } else {
            if (waited_ms >= 500) {
                kr_error_set(error, "busy", "the audio thread has not handed back replaced "
                             "objects for 0.5 s (overloaded or stopped); try again");
                return -1;
            }
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
        kr_engine_collect(engine);
    }
    return 0;
}

static int kr_engine_publish_now(kr_engine *engine, kr_error *error);

/* Grows `*list` (of pointers) to hold at least `need` items. */
static int grow_list(void ***list, int *cap, int need)
{
    if (need <= *cap)
        return 0;
    int next = *cap ? *cap : 64;
    while (next < need)
        next *= 2;
    void **grown = realloc(*list, (size_t)next * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    *cap = next;
    return 0;
}

int kr_engine_reserve_dead(kr_engine *engine, kr_error *error)
{
    if (grow_list((void ***)&engine->dead_nodes, &engine->dead_node_cap,
                  engine->dead_node_count + engine->node_count + 1) ||
        grow_list((void ***)&engine->dead_routes, &engine->dead_route_cap,
                  engine->dead_route_count + engine->route_count + 1)) {
        kr_error_set(error, "io_error", "out of memory reserving room for removals");
        return -1;
    }
    return 0;
}

/* Builds a graph of the current model and sends it; `removed` (if any) and
 * the routes in engine->dead_routes are parked on the previous graph so they
 * are freed only once that one is retired. Inside a batch it only notes that
 * a graph is due (kr_engine_end_batch publishes once). */
int kr_engine_publish(kr_engine *engine, kr_node *removed, kr_error *error)
{
    if (removed) {
        /* Cannot overflow: the node had its slot reserved when it was added. */
        if (engine->dead_node_count >= engine->dead_node_cap) {
            kr_error_set(error, "io_error", "internal: no slot reserved for removed node '%s'",
                         removed->name);
            return -1;
        }
        engine->dead_nodes[engine->dead_node_count++] = removed;
    }
    if (engine->batch_depth > 0) {
        engine->publish_due = true;
        return 0;
    }
    return kr_engine_publish_now(engine, error);
}

static int kr_engine_publish_now(kr_engine *engine, kr_error *error)
{
    engine->publish_due = false;
    if (engine->published && kr_engine_reserve_retire(engine, error))
        return -1;
    kr_node *order[KR_MAX_NODES];
    kr_engine_topological_order(engine, order);
    kr_graph *graph = kr_graph_create(order, engine->node_count, engine->routes,
                                      engine->route_count);
    /* What left the model waits on the graph being replaced, which the audio
     * thread may still be running. (With no graph yet, nothing can be using it.) */
    kr_graph *old = engine->published;
    bool parked = graph != NULL;
    while (parked && engine->dead_node_count > 0) {
        kr_node *dead = engine->dead_nodes[engine->dead_node_count - 1];
        if (old)
            parked = kr_graph_park_dead(old, dead) == 0;
        else
            kr_node_destroy(dead);
        engine->dead_node_count -= parked;
    }
    while (parked && engine->dead_route_count > 0) {
        kr_route *dead = engine->dead_routes[engine->dead_route_count - 1];
        if (old)
            parked = kr_graph_park_dead_route(old, dead) == 0;
        else
            free(dead);
        engine->dead_route_count -= parked;
    }
    if (!parked) {
        kr_graph_destroy(graph);
        kr_error_set(error, "io_error", "out of memory building the graph");
        return -1;
    }
    kr_rt_command cmd = {.type = KR_RT_SWAP_GRAPH, .ptr = graph};
    if (kr_engine_send(engine, &cmd, error)) {
        kr_graph_destroy(graph);
        return -1;
    }
    if (engine->published)
        engine->retires_pending++;
    engine->published = graph;
    return 0;
}

kr_node *kr_engine_find(kr_engine *engine, const char *name)
{
    for (int i = 0; i < engine->node_count; i++)
        if (strcmp(engine->nodes[i]->name, name) == 0)
            return engine->nodes[i];
    return NULL;
}

void kr_engine_unknown_node(const kr_engine *engine, const char *name, const char *fix,
                            kr_error *error)
{
    char known[512];
    kr_engine_list_nodes(engine, known, sizeof known);
    kr_error_set(error, "unknown_node", "unknown node '%s' (known nodes: %s)%s", name, known, fix);
}

void kr_engine_list_nodes(const kr_engine *engine, char *buf, size_t len)
{
    buf[0] = '\0';
    if (engine->node_count == 0) {
        snprintf(buf, len, "none");
        return;
    }
    size_t used = 0;
    for (int i = 0; i < engine->node_count && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s'%s'", i ? ", " : "",
                                 engine->nodes[i]->name);
}

int kr_engine_add_node(kr_engine *engine, kr_node *node, kr_error *error)
{
    if (kr_engine_find(engine, node->name)) {
        kr_error_set(error, "exists", "a node named '%s' already exists; remove it first or "
                     "choose another name", node->name);
        kr_node_destroy(node);
        return -1;
    }
    if (engine->node_count >= KR_MAX_NODES) {
        kr_error_set(error, "limit", "the engine holds at most %d nodes; remove one first",
                     KR_MAX_NODES);
        kr_node_destroy(node);
        return -1;
    }
    if (kr_engine_reserve_dead(engine, error)) {
        kr_node_destroy(node);
        return -1;
    }
    engine->nodes[engine->node_count++] = node;
    if (kr_engine_publish(engine, NULL, error)) {
        engine->node_count--;
        kr_node_destroy(node);
        return -1;
    }
    kr_logf(engine->log, KR_LOG_INFO, "node '%s' (%s) added", node->name, node->type->kind);
    return 0;
}

int kr_engine_remove_node(kr_engine *engine, const char *name, kr_error *error)
{
    int index = -1;
    for (int i = 0; i < engine->node_count; i++)
        if (strcmp(engine->nodes[i]->name, name) == 0)
            index = i;
    if (index < 0) {
        kr_engine_unknown_node(engine, name, "", error);
        return -1;
    }
    kr_node *node = engine->nodes[index];
    /* Patterns, events, automations and routes let go of it before it leaves. */
    kr_scheduler_node_changed(engine, name, true);
    kr_engine_drop_routes_of(engine, node);
    memmove(engine->nodes + index, engine->nodes + index + 1,
            (size_t)(engine->node_count - index - 1) * sizeof *engine->nodes);
    engine->node_count--;
    if (kr_engine_publish(engine, node, error)) {
        /* Put it back where it was: the audio thread still plays it. */
        for (int i = 0; i < engine->dead_node_count; i++)
            if (engine->dead_nodes[i] == node)
                engine->dead_nodes[i] = engine->dead_nodes[--engine->dead_node_count];
        memmove(engine->nodes + index + 1, engine->nodes + index,
                (size_t)(engine->node_count - index) * sizeof *engine->nodes);
        engine->nodes[index] = node;
        engine->node_count++;
        return -1;
    }
    kr_logf(engine->log, KR_LOG_INFO, "node '%s' removed", name);
    return 0;
}

int kr_engine_set_param(kr_engine *engine, kr_node *node, int index, double value,
                        kr_error *error)
{
    kr_rt_command cmd = {.type = KR_RT_SET_PARAM, .ptr = node, .index = index, .value = value};
    return kr_engine_send(engine, &cmd, error);
}

int kr_engine_set_master(kr_engine *engine, double gain, kr_error *error)
{
    kr_rt_command cmd = {.type = KR_RT_SET_MASTER, .value = gain};
    if (kr_engine_send(engine, &cmd, error))
        return -1;
    engine->master = gain;
    return 0;
}

void kr_engine_begin_batch(kr_engine *engine)
{
    engine->batch_depth++;
}

int kr_engine_end_batch(kr_engine *engine, kr_error *error)
{
    if (--engine->batch_depth > 0)
        return 0;
    /* The graph goes into the batch too, after the commands that needed it. */
    engine->batch_depth++;
    int rc = engine->publish_due ? kr_engine_publish_now(engine, error) : 0;
    engine->batch_depth--;
    int count = engine->batch_count;
    engine->batch_count = 0;
    if (count == 0)
        return rc;
    kr_rt_command *list = malloc((size_t)count * sizeof *list);
    if (!list || kr_engine_reserve_retire(engine, error)) {
        if (!list)
            kr_error_set(error, "io_error", "out of memory sending a batch");
        free(list);
        return -1;
    }
    memcpy(list, engine->batch_cmds, (size_t)count * sizeof *list);
    kr_rt_command cmd = {.type = KR_RT_BATCH, .ptr = list, .index = count};
    if (kr_engine_send(engine, &cmd, error)) {
        free(list);
        return -1;
    }
    engine->retires_pending++;
    return rc;
}

kr_rat kr_engine_cycle_now(kr_engine *engine, bool *overflow)
{
    int64_t position = (int64_t)atomic_load(&engine->rt.frames);
    kr_transport *t = &engine->sched.transport;
    if (engine->has_render_cycle && engine->render_cycle_sample == position &&
        kr_transport_sample_at(t, engine->render_cycle, overflow) == position)
        return engine->render_cycle;
    return kr_transport_cycle_at(t, position, overflow);
}

double kr_engine_uptime(const kr_engine *engine)
{
    return kr_monotonic_seconds() - engine->started_at;
}

bool kr_engine_is_offline(const kr_engine *engine)
{
    return engine->backend.kind == KR_BACKEND_OFFLINE;
}

void kr_engine_close(kr_engine *engine)
{
    if (engine->recorder.file) { /* an unfinished recording is still a valid file */
        uint64_t frames, dropped;
        kr_error error = {0};
        kr_recorder_stop(engine, &frames, &dropped, &error);
    }
    if (engine->audio_running) {
        kr_backend_stop(&engine->backend);
        engine->audio_running = false;
    }
    if (engine->rt.mix) {
        /* No audio thread any more: settle queued swaps here, then free. */
        kr_rt_apply_commands(&engine->rt);
        kr_engine_collect(engine);
        kr_graph_destroy(engine->rt.graph);
        engine->rt.graph = NULL;
        engine->published = NULL;
        for (int i = 0; i < engine->node_count; i++)
            kr_node_destroy(engine->nodes[i]);
        engine->node_count = 0;
        for (int i = 0; i < engine->dead_node_count; i++)
            kr_node_destroy(engine->dead_nodes[i]);
        for (int i = 0; i < engine->route_count; i++)
            free(engine->routes[i]);
        for (int i = 0; i < engine->dead_route_count; i++)
            free(engine->dead_routes[i]);
        engine->dead_node_count = engine->route_count = engine->dead_route_count = 0;
        kr_rt_free(&engine->rt);
    }
    free(engine->dead_nodes);
    free(engine->dead_routes);
    engine->dead_nodes = NULL;
    engine->dead_routes = NULL;
    engine->dead_node_cap = engine->dead_route_cap = 0;
    kr_scheduler_free(&engine->sched);
    kr_faust_dir_close(engine->faust_dir);
    engine->faust_dir = NULL;
    kr_faust_cache_destroy(engine->faust_cache); /* programs keep their own code */
    engine->faust_cache = NULL;
    json_decref(engine->scenes);
    engine->scenes = NULL;
    free(engine->batch_cmds);
    engine->batch_cmds = NULL;
    free(engine->applied);
    engine->applied = NULL;
    for (char *line; (line = kr_engine_take_pushed(engine));)
        free(line);
    if (engine->log) {
        kr_logf(engine->log, KR_LOG_INFO, "krach-engine stopped");
        kr_log_close(engine->log);
        engine->log = NULL;
    }
}
