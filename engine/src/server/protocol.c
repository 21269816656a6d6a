/* protocol.c — parse a request line, dispatch the command, build the reply. */
#include "krach/protocol.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "request.h"
#include "krach/faust.h"
#include "krach/faust_dir.h"
#include "krach/limits.h"
#include "krach/soundfile.h"

typedef kr_request request;
typedef kr_handler_fn handler_fn;

/* ---- commands ----------------------------------------------------------- */

static int cmd_ping(request *req)
{
    json_object_set_new(req->reply, "version", json_string(KRACH_VERSION));
    return 0;
}

/* The FAUST backend: whether it is built, its folder, its cache. */
static json_t *faust_status(kr_engine *e)
{
    json_t *f = json_pack("{s:b}", "available", kr_faust_available());
    if (e->faust_dir)
        json_object_set_new(f, "dsp_dir", json_string(kr_faust_dir_path(e->faust_dir)));
    if (e->faust_cache) {
        kr_faust_cache_stats st = kr_faust_cache_stats_get(e->faust_cache);
        json_object_set_new(f, "cache", json_pack("{s:i, s:I, s:I, s:f}", "entries",
                                                  st.entries, "hits", (json_int_t)st.hits,
                                                  "misses", (json_int_t)st.misses,
                                                  "last_compile_ms", st.last_compile_ms));
    }
    return f;
}

/* The request's IR written as a FAUST program (faust.h); no audio involved. */
static int cmd_faust_export(request *req)
{
    json_t *json = json_object_get(req->json, "ir");
    if (!json) {
        kr_error_set(&req->error, "missing_field", "faust_export needs field 'ir' (a signal IR "
                     "object, see docs/signal-ir.md)");
        return -1;
    }
    kr_ir ir;
    if (kr_ir_parse(json, &ir, &req->error))
        return -1;
    char *program = kr_faust_export(&ir, &req->error);
    kr_ir_free(&ir);
    if (!program)
        return -1;
    json_object_set_new(req->reply, "faust", json_string(program));
    free(program);
    return 0;
}

static int cmd_status(request *req)
{
    kr_engine *e = req->engine;
    json_t *r = req->reply;
    json_object_set_new(r, "version", json_string(KRACH_VERSION));
    json_object_set_new(r, "backend", json_string(kr_backend_name(e->backend.kind)));
    json_object_set_new(r, "device", json_string(e->backend.device));
    if (e->backend.fallback_reason[0])
        json_object_set_new(r, "fallback_reason", json_string(e->backend.fallback_reason));
    json_object_set_new(r, "sample_rate", json_integer((json_int_t)e->rt.sample_rate));
    json_object_set_new(r, "block_size", json_integer(e->config.audio.block_size));
    json_object_set_new(r, "channels", json_integer(e->rt.channels));
    json_object_set_new(r, "input_channels", json_integer(e->backend.input_channels));
    json_object_set_new(r, "uptime", json_real(kr_engine_uptime(e)));
    json_object_set_new(r, "frames",
                        json_integer((json_int_t)atomic_load(&e->rt.frames)));
    json_object_set_new(r, "cpu_load",
                        json_real((double)atomic_load(&e->rt.cpu_load_permille) / 1000.0));
    json_object_set_new(r, "xruns", json_integer((json_int_t)atomic_load(&e->rt.xruns)));
    json_object_set_new(r, "stalled", json_boolean(e->backend.stalled));
    json_object_set_new(r, "recording", e->recorder.file ? json_string(e->recorder.path)
                                                          : json_null());
    json_object_set_new(r, "late_events",
                        json_integer((json_int_t)atomic_load(&e->rt.late_events)));
    json_object_set_new(r, "dropped_events",
                        json_integer((json_int_t)atomic_load(&e->rt.dropped_events)));
    json_object_set_new(r, "nonfinite",
                        json_integer((json_int_t)atomic_load(&e->rt.nonfinite)));
    json_object_set_new(r, "clients", json_integer(e->clients));
    json_object_set_new(r, "master", json_real(e->master));
    json_t *nodes = json_array();
    for (int i = 0; i < e->node_count; i++)
        json_array_append_new(nodes, json_string(e->nodes[i]->name));
    json_object_set_new(r, "nodes", nodes);
    json_t *faulted = json_array();
    for (int i = 0; i < e->node_count; i++)
        if (atomic_load(&e->nodes[i]->faulted))
            json_array_append_new(faulted, json_string(e->nodes[i]->name));
    json_object_set_new(r, "faulted", faulted);
    json_object_set_new(r, "faust", faust_status(e));
    return 0;
}

static int cmd_subscribe(request *req)
{
    req->peer->subscribed = true;
    return 0;
}

static int cmd_shutdown(request *req)
{
    req->engine->shutdown_requested = true;
    return 0;
}

static int cmd_master(request *req)
{
    double gain;
    int has = kr_field_number(req->json, req->cmd, "gain", false, 0.0, 4.0, &gain, &req->error);
    if (has < 0)
        return -1;
    if (has && kr_engine_set_master(req->engine, gain, &req->error))
        return -1;
    json_object_set_new(req->reply, "gain", json_real(req->engine->master));
    return 0;
}

static int tone_numbers(request *req, double *freq, double *gain)
{
    double nyquist = req->engine->rt.sample_rate / 2.0;
    int has = kr_field_number(req->json, req->cmd, "freq", false, 0.0, nyquist, freq,
                              &req->error);
    if (has < 0 ||
        kr_field_number(req->json, req->cmd, "gain", false, 0.0, 1.0, gain, &req->error) < 0)
        return -1;
    if (has && (*freq <= 0.0 || *freq >= nyquist)) {
        kr_error_set(&req->error, "bad_value", "%s: field 'freq' is %g; it must be above 0 and "
                     "below %g (half the sample rate)", req->cmd, *freq, nyquist);
        return -1;
    }
    return 0;
}

static int cmd_tone_add(request *req)
{
    const char *name, *fault_name = NULL;
    double freq = 440.0, gain = 0.5;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ||
        tone_numbers(req, &freq, &gain) < 0 ||
        kr_field_string(req->json, req->cmd, "fault", false, &fault_name, &req->error) < 0)
        return -1;
    kr_tone_fault fault = KR_TONE_FAULT_NONE;
    if (fault_name) {
        if (!req->engine->config.test_faults) {
            kr_error_set(&req->error, "disabled", "fault injection is for tests only; start the "
                         "engine with --test-faults to use 'fault'");
            return -1;
        }
        if (strcmp(fault_name, "nan") == 0)
            fault = KR_TONE_FAULT_NAN;
        else if (strcmp(fault_name, "inf") == 0)
            fault = KR_TONE_FAULT_INF;
        else {
            kr_error_set(&req->error, "bad_value", "tone_add: fault must be \"nan\" or \"inf\"");
            return -1;
        }
    }
    kr_node *node = kr_tone_create(name, req->engine->rt.sample_rate, freq, gain, fault);
    if (!node) {
        kr_error_set(&req->error, "io_error", "out of memory creating tone '%s'", name);
        return -1;
    }
    if (kr_engine_add_node(req->engine, node, &req->error))
        return -1;
    json_object_set_new(req->reply, "name", json_string(name));
    return 0;
}

static kr_node *find_tone(request *req, const char *name)
{
    kr_node *node = kr_engine_find(req->engine, name);
    if (!node || strcmp(node->type->kind, "tone") != 0) {
        kr_engine_unknown_node(req->engine, name, "; create it with tone_add", &req->error);
        return NULL;
    }
    return node;
}

static int cmd_tone_set(request *req)
{
    const char *name;
    double freq = NAN, gain = NAN;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ||
        tone_numbers(req, &freq, &gain) < 0)
        return -1;
    kr_node *node = find_tone(req, name);
    if (!node)
        return -1;
    if (!isnan(freq) && kr_engine_set_param(req->engine, node, KR_TONE_FREQ, freq, &req->error))
        return -1;
    if (!isnan(gain) && kr_engine_set_param(req->engine, node, KR_TONE_GAIN, gain, &req->error))
        return -1;
    json_object_set_new(req->reply, "name", json_string(name));
    return 0;
}

static int cmd_tone_remove(request *req)
{
    const char *name;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 || !find_tone(req, name) ||
        kr_engine_remove_node(req->engine, name, &req->error))
        return -1;
    json_object_set_new(req->reply, "name", json_string(name));
    return 0;
}

/* Before each rendered chunk: queue the pattern events it contains. */
static int prepare_render(void *ctx, int64_t until)
{
    kr_engine *engine = ctx;
    kr_error error = {0};
    kr_engine_collect(engine); /* e.g. drain the recorder between chunks */
    if (kr_scheduler_advance(engine, until, &error)) {
        kr_logf(engine->log, KR_LOG_ERROR, "render: %s", error.message);
        return -1;
    }
    return 0;
}

static int cmd_render(request *req)
{
    kr_engine *e = req->engine;
    if (!kr_engine_is_offline(e)) {
        kr_error_set(&req->error, "not_offline", "render needs an offline engine (this one runs "
                     "the %s backend in real time); start one with --offline",
                     kr_backend_name(e->backend.kind));
        return -1;
    }
    const long long max_frames = (long long)(KR_MAX_RENDER_SECONDS * e->rt.sample_rate);
    long long frames = 0;
    double seconds = 0.0;
    int has_frames = kr_field_integer(req->json, req->cmd, "frames", false, 0, max_frames,
                                      &frames, &req->error);
    if (has_frames < 0)
        return -1;
    int has_seconds = kr_field_number(req->json, req->cmd, "seconds", false, 0.0,
                                      KR_MAX_RENDER_SECONDS, &seconds, &req->error);
    if (has_seconds < 0)
        return -1;
    kr_rat cycles;
    int has_cycles = kr_field_time(req->json, req->cmd, "cycles", false, &cycles, &req->error);
    if (has_cycles < 0)
        return -1;
    if (has_frames + has_seconds + has_cycles != 1) {
        kr_error_set(&req->error, has_frames || has_seconds ? "bad_request" : "missing_field",
                     "render needs exactly one of 'frames' (an integer), 'seconds' (a number) "
                     "or 'cycles' (a time)");
        return -1;
    }
    if (has_seconds)
        frames = llround(seconds * e->rt.sample_rate);
    if (has_cycles) {
        /* Up to the sample where the cycle position has moved on by `cycles`. */
        bool overflow = false;
        int64_t position = (int64_t)atomic_load(&e->rt.frames);
        kr_transport *t = &e->sched.transport;
        kr_rat target = kr_rat_add(kr_engine_cycle_now(e, &overflow), cycles, &overflow);
        long long end = kr_transport_sample_at(t, target, &overflow);
        if (overflow || kr_rat_cmp(cycles, kr_rat_int(0)) < 0 || end - position > max_frames) {
            kr_error_set(&req->error, "bad_value", "render: 'cycles' must be between 0 and "
                         "%g seconds' worth", KR_MAX_RENDER_SECONDS);
            return -1;
        }
        frames = end - position;
        e->render_cycle = target;
        e->render_cycle_sample = end;
    }
    e->has_render_cycle = has_cycles;

    const char *path = NULL, *subtype = NULL;
    bool append = false;
    if (kr_field_string(req->json, req->cmd, "path", false, &path, &req->error) < 0 ||
        kr_field_string(req->json, req->cmd, "subtype", false, &subtype, &req->error) < 0 ||
        kr_field_bool(req->json, req->cmd, "append", &append, &req->error) < 0)
        return -1;
    void *file = NULL;
    kr_error open_error = {0};
    if (path && !(file = kr_sound_file_open(kr_request_files_dir(req), path, subtype, append,
                                            (int)e->rt.sample_rate, e->rt.channels,
                                            &open_error))) {
        kr_error_set(&req->error, open_error.code, "render: %s", open_error.message);
        return -1;
    }
    char err[512];
    if (kr_offline_render(&e->rt, frames, file, path, prepare_render, e, err, sizeof err)) {
        kr_error_set(&req->error, "io_error", "render: %s", err);
        return -1;
    }
    kr_engine_collect(e);
    json_object_set_new(req->reply, "frames", json_integer(frames));
    if (path)
        json_object_set_new(req->reply, "path", json_string(path));
    json_object_set_new(req->reply, "position", json_integer((json_int_t)atomic_load(&e->rt.frames)));
    return 0;
}

static int cmd_auth(request *req)
{
    const char *token;
    if (kr_field_string(req->json, req->cmd, "token", true, &token, &req->error) < 0)
        return -1;
    if (!req->peer->needs_auth)
        return 0; /* Unix-socket clients are trusted; accept and ignore. */
    if (!kr_token_equal(req->engine->config.token, token)) {
        req->peer->close_after_reply = true;
        kr_logf(req->engine->log, KR_LOG_WARN, "TCP client presented a wrong token; closed");
        kr_error_set(&req->error, "unauthorized", "wrong token; use the one in the engine's "
                     "token file (~/.krach/token by default)");
        return -1;
    }
    req->peer->authenticated = true;
    return 0;
}

static const struct {
    const char *name;
    handler_fn fn;
} commands[] = {
    {"ping", cmd_ping},         {"status", cmd_status},       {"shutdown", cmd_shutdown},
    {"subscribe", cmd_subscribe},
    {"master", cmd_master},     {"tone_add", cmd_tone_add},   {"tone_set", cmd_tone_set},
    {"tone_remove", cmd_tone_remove}, {"render", cmd_render}, {"auth", cmd_auth},
    {"compile", kr_cmd_compile},      {"faust_export", cmd_faust_export},
    {"node_set", kr_cmd_node_set},
    {"node_remove", kr_cmd_node_remove}, {"node_gain", kr_cmd_node_gain},
    {"control_set", kr_cmd_control_set}, {"control_get", kr_cmd_control_get},
    {"nodes", kr_cmd_nodes},
    {"play", kr_cmd_play},            {"hush", kr_cmd_hush},
    {"stop", kr_cmd_hush},            {"tempo", kr_cmd_tempo},
    {"meter", kr_cmd_tempo},          {"transport", kr_cmd_transport},
    {"mod", kr_cmd_mod},              {"fade", kr_cmd_fade},
    {"applied_events", kr_cmd_applied_events},
    {"connect", kr_cmd_connect},      {"unsend", kr_cmd_unsend},
    {"routing", kr_cmd_routing},      {"mute", kr_cmd_mixer},
    {"unmute", kr_cmd_mixer},         {"solo", kr_cmd_mixer},
    {"unsolo", kr_cmd_mixer},         {"batch", kr_cmd_batch},
    {"state", kr_cmd_state},          {"scene_save", kr_cmd_scene_save},
    {"scene_get", kr_cmd_scene_get},  {"scenes", kr_cmd_scenes},
    {"record", kr_cmd_record},        {"record_stop", kr_cmd_record_stop},
    {"input_add", kr_cmd_input_add},
    {"query", kr_cmd_query},
};

/* ---- framing ------------------------------------------------------------ */

static char *finish(json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    return line;
}

static char *error_reply(json_t *id, const char *code, const char *text)
{
    /* JSON strings must be UTF-8; a message cut mid-character would make
     * json_pack fail and the reply lose its error (batch composes its own). */
    char message[1024]; /* every message here is shorter */
    snprintf(message, sizeof message, "%s", text);
    kr_utf8_repair(message);
    json_t *reply = json_object();
    json_object_set(reply, "id", id ? id : json_null());
    json_object_set_new(reply, "ok", json_false());
    json_object_set_new(reply, "error",
                        json_pack("{s:s, s:s}", "code", code, "message", message));
    return finish(reply);
}

char *kr_protocol_line_too_long(void)
{
    char message[160];
    snprintf(message, sizeof message,
             "request line longer than %d bytes was discarded; send smaller requests",
             KR_MAX_LINE);
    return error_reply(NULL, "line_too_long", message);
}

kr_handler_fn kr_protocol_handler(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn;
    return NULL;
}

static void list_commands(char *buf, size_t len)
{
    size_t used = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", commands[i].name);
}

char *kr_protocol_handle(kr_engine *engine, kr_peer *peer, const char *line, size_t len)
{
    json_error_t jerr;
    /* jansson rejects NUL bytes, non-finite numbers and integers beyond 64 bits. */
    json_t *json = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!json) {
        char message[400];
        snprintf(message, sizeof message,
                 "malformed JSON at column %d: %s; send one JSON object per line, e.g. "
                 "{\"id\": 1, \"cmd\": \"ping\"}",
                 jerr.column, jerr.text);
        return error_reply(NULL, "bad_json", message);
    }
    char *out;
    json_t *id = json_is_object(json) ? json_object_get(json, "id") : NULL;
    if (!json_is_object(json)) {
        out = error_reply(NULL, "bad_request", "a request must be a JSON object like "
                                               "{\"id\": 1, \"cmd\": \"ping\"}");
    } else if (id && !json_is_integer(id) && !json_is_null(id)) {
        out = error_reply(NULL, "bad_request", "'id' must be an integer (or absent)");
    } else if (!json_is_string(json_object_get(json, "cmd"))) {
        out = error_reply(id, "bad_request",
                          json_object_get(json, "cmd")
                              ? "'cmd' must be a string naming a command, e.g. \"ping\""
                              : "the request has no 'cmd'; add one, e.g. {\"cmd\": \"ping\"}");
    } else {
        request req = {.engine = engine, .peer = peer, .json = json,
                       .cmd = json_string_value(json_object_get(json, "cmd"))};
        handler_fn fn = NULL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(commands[i].name, req.cmd) == 0)
                fn = commands[i].fn;
        bool must_auth = peer->needs_auth && !peer->authenticated;
        if (must_auth && fn != cmd_auth) {
            /* Say nothing about the engine (not even its commands) before auth,
             * and hang up: it counts as a failed authentication (lockout.h). */
            peer->close_after_reply = true;
            out = error_reply(id, "unauthorized", "this TCP connection must first send "
                              "{\"cmd\": \"auth\", \"token\": \"...\"} with the engine's "
                              "token; the connection is closed");
        } else if (!fn) {
            char known[400], message[600];
            list_commands(known, sizeof known);
            snprintf(message, sizeof message, "unknown command '%.100s' (commands: %s)", req.cmd,
                     known);
            out = error_reply(id, "unknown_command", message);
        } else {
            req.reply = json_object();
            json_object_set(req.reply, "id", id ? id : json_null());
            json_object_set_new(req.reply, "ok", json_true());
            if (fn(&req) == 0) {
                out = finish(req.reply);
            } else {
                json_decref(req.reply);
                out = error_reply(id, req.error.code, req.error.message);
            }
        }
    }
    json_decref(json);
    return out;
}

bool kr_token_equal(const char *expected, const char *presented)
{
    /* Time depends only on the expected length, never on where they differ. */
    size_t n = strlen(expected), m = strlen(presented);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)expected[i] ^ (unsigned char)(i < m ? presented[i] : 0);
    return n > 0 && diff == 0;
}
