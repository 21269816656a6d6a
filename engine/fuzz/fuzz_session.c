/* fuzz_session.c — a stateful, structure-aware protocol fuzzer.
 *
 * The input bytes are not sent as text: they are decoded into a sequence of
 * well-formed commands chosen from the protocol's own (node_set of a few
 * small synths, node_remove, connect, unsend, control_set, mixing, batches up
 * to 1024 commands, play, hush, stop, scenes, tempo, render, record) with
 * names from a small pool so commands meet each other, field values that are
 * sometimes out of range, and now and then a generated line with one byte
 * overwritten (raw mutation). Batches come in shapes that reach the limits
 * quickly: random mixes, hundreds of node_set + node_remove pairs, more
 * node_sets than the engine holds, grids of routes.
 *
 * The harness keeps a model of what the commands that succeeded made — the
 * node names with the synth each was given, and the routes — and after every
 * step checks that the engine still answers `ping`, that `state` lists
 * exactly the model's nodes (each with the IR it was sent) and routes, that a
 * refused node, routing, mixing or batch command left `state` byte for byte
 * as it was, and that what was accepted reads back (a saved scene with
 * scene_get, a pattern in `state`).
 *
 * Differential batches (first byte odd): a second engine receives every
 * command too, but each batch as its commands one by one. When all of them
 * succeed one by one, the batch must succeed and both `state`s be equal;
 * when one fails, the batch must fail and change nothing (then the second
 * engine has diverged and the rest of the input runs on the first only).
 *
 * With KRACH_FUZZ_VERBOSE set, every request and reply go to stderr. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "krach/engine.h"
#include "krach/protocol.h"

#define MAX_STEPS 24
#define BATCH_MAX 1024

/* ---- what commands are made of ------------------------------------------------- */

static const char *const IR_TEXT[] = {
    /* a constant source (control level) */
    "{\"krach_ir\":1,\"inputs\":0,\"controls\":[{\"name\":\"level\",\"init\":0.25,\"lo\":0.0,"
    "\"hi\":1.0,\"step\":0.0}],\"nodes\":[{\"op\":\"control\",\"index\":0},{\"op\":\"const\","
    "\"value\":0.0},{\"op\":\"add\",\"in\":[0,1]}],\"outputs\":[2]}",
    /* a gated sine (freq, gate: notes drive it) */
    "{\"krach_ir\":1,\"inputs\":0,\"controls\":[{\"name\":\"freq\",\"init\":220.0,\"lo\":20.0,"
    "\"hi\":2000.0,\"step\":0.0},{\"name\":\"gate\",\"init\":0.0,\"lo\":0.0,\"hi\":1.0,"
    "\"step\":0.0}],\"nodes\":[{\"op\":\"control\",\"index\":0},{\"op\":\"sine_osc\",\"in\":[0]},"
    "{\"op\":\"control\",\"index\":1},{\"op\":\"mul\",\"in\":[1,2]}],\"outputs\":[3]}",
    /* an effect with one input */
    "{\"krach_ir\":1,\"inputs\":1,\"controls\":[{\"name\":\"amount\",\"init\":0.5,\"lo\":0.0,"
    "\"hi\":1.0,\"step\":0.0}],\"nodes\":[{\"op\":\"input\",\"index\":0},{\"op\":\"control\","
    "\"index\":0},{\"op\":\"mul\",\"in\":[0,1]}],\"outputs\":[2]}",
    /* an effect with two inputs */
    "{\"krach_ir\":1,\"inputs\":2,\"controls\":[{\"name\":\"amount\",\"init\":0.5,\"lo\":0.0,"
    "\"hi\":1.0,\"step\":0.0}],\"nodes\":[{\"op\":\"input\",\"index\":0},{\"op\":\"const\","
    "\"value\":0.5},{\"op\":\"mul\",\"in\":[0,1]},{\"op\":\"input\",\"index\":1},{\"op\":"
    "\"control\",\"index\":0},{\"op\":\"mul\",\"in\":[3,4]},{\"op\":\"add\",\"in\":[2,5]}],"
    "\"outputs\":[6]}",
};
#define IRS (int)(sizeof IR_TEXT / sizeof IR_TEXT[0])
#define FX_IR 2

static const char *const NAMES[] = {"a", "b", "c", "fx", "g/x", "g/y", "g", "zz"};
static const char *const CONTROLS[] = {"level", "freq", "gate", "amount", "gain", "nope"};
static const char *const MINIS[] = {"c4 e4 g4", "0 ~ 1 2", "<0 3>*2", "[0 1]*4 ~",
                                   "0(3,8)", "0.1 0.9", "~", "c4 . e4 g4"};
static const char *const MIXERS[] = {"mute", "unmute", "solo", "unsolo"};

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned next(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static unsigned next16(reader *r)
{
    return next(r) << 8 | next(r);
}

#define PICK(r, table) table[next(r) % (sizeof table / sizeof table[0])]

typedef struct harness {
    kr_engine *engine[2];
    bool diff;               /* engine[1] still in step with engine[0] */
    json_t *irs[IRS];
    json_t *nodes;           /* model: name → index into irs */
    json_t *routes;          /* model: "src|dst|port|send" → true */
    bool verbose;
    int frames_left;         /* render budget per input */
    char *last_state;        /* `state` text at the last check (what a refusal keeps) */
} harness;

/* ---- talking to the engine ------------------------------------------------------ */

static json_t *send_text(harness *h, int which, const char *text)
{
    kr_peer peer = {0};
    if (h->verbose)
        fprintf(stderr, "%c> %.400s\n", which ? 'B' : 'A', text);
    char *reply = kr_protocol_handle(h->engine[which], &peer, text, strlen(text));
    if (!reply)
        kr_fuzz_fail("kr_protocol_handle returned NULL");
    if (h->verbose)
        fprintf(stderr, "%c< %.400s", which ? 'B' : 'A', reply);
    json_t *parsed = NULL;
    size_t len = strlen(reply);
    static const char ok_prefix[] = "{\"id\":null,\"ok\":true,";
    if (len > 16384 && !strncmp(text, "{\"cmd\":\"batch\"", 14) &&
        !strncmp(reply, ok_prefix, sizeof ok_prefix - 1) &&
        !strcmp(reply + len - 2, "}\n")) {
        /* A big success (a batch's 1024 replies): parsing it took a fifth of
         * the time; the protocol harness checks every reply's JSON. */
        parsed = json_pack("{s:b}", "ok", 1);
    } else {
        json_error_t jerr;
        parsed = json_loads(reply, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!json_is_object(parsed) || !json_is_boolean(json_object_get(parsed, "ok")))
        kr_fuzz_fail("not a reply object with a boolean ok: %.300s", reply);
    if (json_is_false(json_object_get(parsed, "ok")) &&
        !json_string_value(json_object_get(json_object_get(parsed, "error"), "message")))
        kr_fuzz_fail("an error reply without a message: %.300s", reply);
    free(reply);
    kr_engine_collect(h->engine[which]);
    return parsed;
}

static json_t *send_json(harness *h, int which, json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT);
    if (!text)
        kr_fuzz_fail("out of memory");
    json_t *reply = send_text(h, which, text);
    free(text);
    return reply;
}

static bool ok(json_t *reply)
{
    return json_is_true(json_object_get(reply, "ok"));
}

/* `state` as compact text (the caller frees it). */
static char *state_text(harness *h, int which)
{
    json_t *reply = send_text(h, which, "{\"cmd\":\"state\"}");
    if (!ok(reply))
        kr_fuzz_fail("state failed");
    char *text = json_dumps(json_object_get(reply, "state"), JSON_COMPACT);
    json_decref(reply);
    return text;
}

/* ---- the model -------------------------------------------------------------------- */

static void route_key(char *key, size_t len, const char *src, const char *dst, const char *port,
                      bool send)
{
    snprintf(key, len, "%s|%s|%s|%d", src, dst, port, send);
}

static void drop_routes(harness *h, const char *src, const char *dst)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(h->routes, tmp, key, value) {
        char s[128], d[128];
        if (sscanf(key, "%127[^|]|%127[^|]|", s, d) == 2 &&
            ((!strcmp(s, src) && (!dst || !strcmp(d, dst))) || (!dst && !strcmp(d, src))))
            json_object_del(h->routes, key);
    }
}

static int ir_index(harness *h, json_t *ir)
{
    for (int i = 0; i < IRS; i++)
        if (json_equal(ir, h->irs[i]))
            return i;
    kr_fuzz_fail("a node_set with an IR the harness did not make");
}

/* What a command that succeeded did to the model. */
static void apply(harness *h, json_t *cmd)
{
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    if (!strcmp(name, "node_set")) {
        json_object_set_new(h->nodes, json_string_value(json_object_get(cmd, "name")),
                            json_integer(ir_index(h, json_object_get(cmd, "ir"))));
    } else if (!strcmp(name, "node_remove")) {
        /* The naming rule: a name means the node and its group "name/…". */
        const char *node = json_string_value(json_object_get(cmd, "name"));
        size_t len = strlen(node);
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(h->nodes, tmp, key, value) {
            if (!strcmp(key, node) || (!strncmp(key, node, len) && key[len] == '/')) {
                drop_routes(h, key, NULL);
                json_object_del(h->nodes, key);
            }
        }
    } else if (!strcmp(name, "connect")) {
        const char *port = json_string_value(json_object_get(cmd, "port"));
        char key[300];
        route_key(key, sizeof key, json_string_value(json_object_get(cmd, "src")),
                  json_string_value(json_object_get(cmd, "dst")), port ? port : "in0", !port);
        json_object_set_new(h->routes, key, json_true());
    } else if (!strcmp(name, "unsend")) {
        drop_routes(h, json_string_value(json_object_get(cmd, "src")),
                    json_string_value(json_object_get(cmd, "dst")));
    } else if (!strcmp(name, "batch")) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(cmd, "commands"), i, sub)
            apply(h, sub);
    }
}

/* The model, rebuilt from what `state` says (after a raw line succeeded). */
static void resync(harness *h, json_t *state)
{
    json_object_clear(h->nodes);
    json_object_clear(h->routes);
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(state, "nodes"), i, n) {
        int k = -1;
        for (int j = 0; j < IRS; j++)
            if (json_equal(json_object_get(n, "ir"), h->irs[j]))
                k = j;
        json_object_set_new(h->nodes, json_string_value(json_object_get(n, "name")),
                            json_integer(k));
    }
    json_array_foreach(json_object_get(state, "routes"), i, n) {
        char key[300];
        route_key(key, sizeof key, json_string_value(json_object_get(n, "src")),
                  json_string_value(json_object_get(n, "dst")),
                  json_string_value(json_object_get(n, "port")),
                  json_is_true(json_object_get(n, "send")));
        json_object_set_new(h->routes, key, json_true());
    }
}

/* The invariants after every step (see the header). */
static void check(harness *h, int which, bool resync_model)
{
    json_t *pong = send_text(h, which, "{\"cmd\":\"ping\"}");
    if (!ok(pong))
        kr_fuzz_fail("ping failed");
    json_decref(pong);
    json_t *reply = send_text(h, which, "{\"cmd\":\"state\"}");
    json_t *state = json_object_get(reply, "state");
    if (!ok(reply) || !json_is_object(state))
        kr_fuzz_fail("state failed");
    if (resync_model)
        resync(h, state);
    if (which == 0) {
        free(h->last_state);
        h->last_state = json_dumps(state, JSON_COMPACT);
    }
    json_t *nodes = json_object_get(state, "nodes"), *n;
    size_t i;
    if (json_array_size(nodes) != json_object_size(h->nodes))
        kr_fuzz_fail("state has %zu nodes, the commands that succeeded made %zu",
                     json_array_size(nodes), json_object_size(h->nodes));
    json_array_foreach(nodes, i, n) {
        const char *name = json_string_value(json_object_get(n, "name"));
        json_t *k = json_object_get(h->nodes, name ? name : "");
        if (!k)
            kr_fuzz_fail("state has node '%s', which no successful command made", name);
        json_int_t ir = json_integer_value(k);
        if (ir >= 0 && !json_equal(json_object_get(n, "ir"), h->irs[ir]))
            kr_fuzz_fail("node '%s' does not read back the IR it was given", name);
    }
    json_t *routes = json_object_get(state, "routes");
    if (json_array_size(routes) != json_object_size(h->routes))
        kr_fuzz_fail("state has %zu routes, the commands that succeeded made %zu",
                     json_array_size(routes), json_object_size(h->routes));
    json_array_foreach(routes, i, n) {
        char key[300];
        route_key(key, sizeof key, json_string_value(json_object_get(n, "src")),
                  json_string_value(json_object_get(n, "dst")),
                  json_string_value(json_object_get(n, "port")),
                  json_is_true(json_object_get(n, "send")));
        if (!json_object_get(h->routes, key))
            kr_fuzz_fail("state has route %s, which no successful command made", key);
    }
    json_decref(reply);
}

/* ---- making commands ----------------------------------------------------------------- */

static const char *name_of(reader *r)
{
    return PICK(r, NAMES);
}

static json_t *make_node_command(harness *h, reader *r)
{
    unsigned kind = next(r) % 8;
    json_t *c = json_object();
    const char *name = name_of(r);
    switch (kind) {
    case 0:
    case 1:
    case 2:
        json_object_set_new(c, "cmd", json_string("node_set"));
        json_object_set_new(c, "name", json_string(name));
        json_object_set(c, "ir", h->irs[next(r) % IRS]);
        if (next(r) % 4 == 0)
            json_object_set_new(c, "gain", json_real((next(r) % 10) * 0.5)); /* up to 4.5 */
        if (next(r) % 6 == 0)
            json_object_set_new(c, "count", json_integer(next(r) % 70));
        break;
    case 3:
        /* "g" removes the group g/x, g/y too (the naming rule), alone and
         * inside batches, so the differential check covers the dry run's
         * group removal. */
        json_object_set_new(c, "cmd", json_string("node_remove"));
        json_object_set_new(c, "name", json_string(name));
        break;
    case 4:
    case 5:
        json_object_set_new(c, "cmd", json_string(kind == 4 ? "connect" : "unsend"));
        json_object_set_new(c, "src", json_string(name));
        json_object_set_new(c, "dst", json_string(name_of(r)));
        if (kind == 4 && next(r) % 3 == 0)
            json_object_set_new(c, "port", json_string(next(r) % 4 ? "in0" : "in1"));
        if (kind == 4 && next(r) % 4 == 0)
            json_object_set_new(c, "level", json_real((next(r) % 10) * 0.5));
        break;
    case 6:
        json_object_set_new(c, "cmd", json_string("control_set"));
        json_object_set_new(c, "name", json_string(name));
        json_object_set_new(c, "control", json_string(PICK(r, CONTROLS)));
        json_object_set_new(c, "value", json_real((double)(int)(next(r) - 64) / 32.0));
        break;
    default:
        if (next(r) % 3 == 0) {
            json_object_set_new(c, "cmd", json_string("node_gain"));
            json_object_set_new(c, "gain", json_real((next(r) % 10) * 0.5));
        } else {
            json_object_set_new(c, "cmd", json_string(PICK(r, MIXERS)));
        }
        json_object_set_new(c, "name", json_string(name));
    }
    return c;
}

static json_t *node_set(harness *h, const char *name, int ir)
{
    return json_pack("{s:s, s:s, s:O}", "cmd", "node_set", "name", name, "ir", h->irs[ir]);
}

/* A batch in one of four shapes that reach the engine's limits quickly. */
static json_t *make_batch(harness *h, reader *r)
{
    json_t *list = json_array();
    unsigned shape = next(r) % 4;
    char name[32];
    if (shape == 0) { /* a random mix */
        for (unsigned k = 1 + next(r) % 24; k > 0; k--)
            json_array_append_new(list, make_node_command(h, r));
    } else if (shape == 1) { /* nodes made and removed: more than the engine holds */
        for (unsigned i = 0, n = 1 + next16(r) % (BATCH_MAX / 2); i < n; i++) {
            snprintf(name, sizeof name, "n%u", i);
            json_array_append_new(list, node_set(h, name, 0));
            json_array_append_new(list, json_pack("{s:s, s:s}", "cmd", "node_remove", "name",
                                                  name));
        }
    } else if (shape == 2) { /* many nodes at once: now and then past the limit */
        unsigned n = 1 + (next(r) % 8 ? next(r) % 64 : next16(r) % BATCH_MAX);
        for (unsigned i = 0; i < n; i++) {
            snprintf(name, sizeof name, "m%u", i);
            json_array_append_new(list, node_set(h, name, i % 2));
        }
    } else { /* a grid of routes, its effects possibly removed again (smaller when a
              * second engine will connect them one by one, a graph each) */
        unsigned sources = 1 + next(r) % (h->diff ? 10 : 40), effects = 1 + next(r) % 30;
        bool remove = next(r) % 2;
        for (unsigned j = 0; j < effects; j++) {
            snprintf(name, sizeof name, "fx%u", j);
            json_array_append_new(list, node_set(h, name, FX_IR));
        }
        for (unsigned i = 0; i < sources; i++) {
            snprintf(name, sizeof name, "s%u", i);
            json_array_append_new(list, node_set(h, name, 0));
        }
        for (unsigned i = 0; i < sources * effects && json_array_size(list) < BATCH_MAX; i++) {
            char src[32], dst[32];
            snprintf(src, sizeof src, "s%u", i / effects);
            snprintf(dst, sizeof dst, "fx%u", i % effects);
            json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "cmd", "connect", "src",
                                                  src, "dst", dst));
        }
        for (unsigned j = 0; remove && j < effects && json_array_size(list) < BATCH_MAX; j++) {
            snprintf(name, sizeof name, "fx%u", j);
            json_array_append_new(list, json_pack("{s:s, s:s}", "cmd", "node_remove", "name",
                                                  name));
        }
    }
    return json_pack("{s:s, s:o}", "cmd", "batch", "commands", list);
}

/* Commands with no place in the model (time, patterns, scenes, files). */
static json_t *make_other(reader *r, char *saved_scene, size_t saved_len)
{
    char path[600];
    const char *target = name_of(r);
    switch (next(r) % 9) {
    case 0:
        return json_pack("{s:s, s:s, s:s, s:b}", "cmd", "play", "target", target, "mini",
                         PICK(r, MINIS), "from_zero", next(r) % 2);
    case 1: {
        char control[128];
        snprintf(control, sizeof control, "%s/%s", target, PICK(r, CONTROLS));
        return json_pack("{s:s, s:s, s:s}", "cmd", "play", "target", control, "mini",
                         PICK(r, MINIS));
    }
    case 2:
        return next(r) % 2 ? json_pack("{s:s, s:s}", "cmd", "hush", "target", target)
                           : json_pack("{s:s}", "cmd", "stop");
    case 3:
        snprintf(saved_scene, saved_len, "%s", next(r) % 2 ? "verse" : "chorus");
        return json_pack("{s:s, s:s}", "cmd", "scene_save", "name", saved_scene);
    case 4:
        return json_pack("{s:s, s:i}", "cmd", "tempo", "bpm", (int)(next(r) % 1100));
    case 5:
        return json_pack("{s:s, s:i}", "cmd", "render", "frames", 1 + (int)(next(r) % 8) * 64);
    case 6:
        snprintf(path, sizeof path, "%s/take.%s", kr_fuzz_sandbox(), next(r) % 2 ? "wav" : "flac");
        return next(r) % 2 ? json_pack("{s:s, s:s}", "cmd", "record", "path", path)
                           : json_pack("{s:s}", "cmd", "record_stop");
    case 7:
        return json_pack("{s:s, s:i}", "cmd", "meter", "beats", (int)(next(r) % 70));
    default:
        return json_pack("{s:s, s:s, s:s, s:f}", "cmd", "fade", "target", target, "control",
                         PICK(r, CONTROLS), "value", 0.5);
    }
}

/* ---- one step ------------------------------------------------------------------------ */

/* Sends a node, routing, mixing or batch command; the model follows what succeeded, a
 * refusal must change nothing; in differential mode the second engine runs a batch
 * one command at a time. */
static void step_model(harness *h, json_t *cmd)
{
    const char *before = h->last_state; /* nothing ran since the last check */
    json_t *reply = send_json(h, 0, cmd);
    bool is_batch = !strcmp(json_string_value(json_object_get(cmd, "cmd")), "batch");
    if (ok(reply)) {
        apply(h, cmd);
    } else {
        char *after = state_text(h, 0);
        if (strcmp(before, after) != 0)
            kr_fuzz_fail("a refused command changed the state: %s",
                         json_string_value(json_object_get(json_object_get(reply, "error"),
                                                           "message")));
        free(after);
    }
    if (h->diff) {
        bool all_ok = true;
        if (is_batch) {
            size_t i;
            json_t *sub;
            json_array_foreach(json_object_get(cmd, "commands"), i, sub) {
                json_t *one = send_json(h, 1, sub);
                all_ok = ok(one);
                json_decref(one);
                if (!all_ok)
                    break;
            }
        } else {
            json_t *one = send_json(h, 1, cmd);
            all_ok = ok(one);
            json_decref(one);
        }
        if (all_ok != ok(reply))
            kr_fuzz_fail("differential: the %s %s, one by one it %s", is_batch ? "batch" : "command",
                         ok(reply) ? "succeeded" : "failed", all_ok ? "succeeded" : "failed");
        if (all_ok) {
            char *a = state_text(h, 0), *b = state_text(h, 1);
            if (strcmp(a, b) != 0)
                kr_fuzz_fail("differential: after a batch the state differs from the same "
                             "commands one by one:\n  batch: %.1500s\n  singly: %.1500s", a, b);
            free(a);
            free(b);
        } else if (is_batch) {
            h->diff = false; /* the second engine applied part of it: out of step now */
        }
    }
    json_decref(reply);
}

/* Whether a pattern's target in `state` stands for what `play` was given: the
 * same, or (a group, per the naming rule) a member "target/…", or for a
 * control target "name/control" a member's "name/…/control". */
static bool pattern_for(const char *played, const char *target)
{
    size_t n = strlen(played);
    if (!strncmp(target, played, n) && (target[n] == '\0' || target[n] == '/'))
        return true;
    const char *slash = strrchr(played, '/'), *tail = strrchr(target, '/');
    size_t head = slash ? (size_t)(slash - played) : 0;
    return slash && tail && !strncmp(target, played, head) && target[head] == '/' &&
           !strcmp(tail, slash);
}

static void check_pattern_reads_back(harness *h, const char *played)
{
    json_t *reply = send_text(h, 0, "{\"cmd\":\"state\"}");
    json_t *p;
    size_t i;
    bool found = false;
    json_array_foreach(json_object_get(json_object_get(reply, "state"), "patterns"), i, p) {
        const char *target = json_string_value(json_object_get(p, "target"));
        found = found || (target && pattern_for(played, target));
    }
    if (!found)
        kr_fuzz_fail("play on '%s' succeeded but state has no pattern for it", played);
    json_decref(reply);
}

static void step_other(harness *h, json_t *cmd, const char *scene)
{
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    if (!strcmp(name, "render")) {
        json_int_t frames = json_integer_value(json_object_get(cmd, "frames"));
        if (frames > h->frames_left)
            return;
        h->frames_left -= (int)frames;
    }
    bool file = !strcmp(name, "record") || !strcmp(name, "record_stop");
    json_t *reply = send_json(h, 0, cmd);
    if (h->diff && !file) {
        json_t *other = send_json(h, 1, cmd);
        if (ok(other) != ok(reply))
            kr_fuzz_fail("differential: '%s' succeeded on one engine only", name);
        json_decref(other);
    }
    if (ok(reply) && !strcmp(name, "scene_save")) {
        char get[128];
        snprintf(get, sizeof get, "{\"cmd\":\"scene_get\",\"name\":\"%s\"}", scene);
        json_t *back = send_text(h, 0, get);
        if (!ok(back))
            kr_fuzz_fail("scene '%s' was saved but scene_get fails", scene);
        json_decref(back);
    }
    if (ok(reply) && !strcmp(name, "play"))
        check_pattern_reads_back(h, json_string_value(json_object_get(cmd, "target")));
    json_decref(reply);
}

/* A generated command with one byte overwritten, sent as text. Returns
 * whether it succeeded (then the model is rebuilt from `state`). */
static bool step_raw(harness *h, reader *r)
{
    char scene[32];
    json_t *cmd = next(r) % 2 ? make_node_command(h, r) : make_other(r, scene, sizeof scene);
    const char *name = json_string_value(json_object_get(cmd, "cmd"));
    if (!strcmp(name, "render") || json_object_get(cmd, "path")) {
        json_decref(cmd); /* time and files only through step_other */
        return false;
    }
    char *text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    if (!text)
        kr_fuzz_fail("out of memory");
    size_t len = strlen(text);
    text[next16(r) % len] = (char)(next(r) | 1); /* never a NUL */
    json_t *reply = send_text(h, 0, text);
    bool succeeded = ok(reply);
    if (h->diff) {
        json_t *other = send_text(h, 1, text);
        if (ok(other) != succeeded)
            kr_fuzz_fail("differential: a raw line succeeded on one engine only: %s", text);
        json_decref(other);
    }
    json_decref(reply);
    free(text);
    return succeeded;
}

/* ---- the input ------------------------------------------------------------------------- */

static void open_engines(harness *h, bool diff)
{
    kr_config cfg;
    kr_config_defaults(&cfg);
    cfg.audio.kind = KR_BACKEND_OFFLINE;
    cfg.log_level = KR_LOG_WARN;
    snprintf(cfg.log_path, sizeof cfg.log_path, "/dev/null");
    snprintf(cfg.socket_path, sizeof cfg.socket_path, "%s/engine.sock", kr_fuzz_sandbox());
    snprintf(cfg.dsp_dir, sizeof cfg.dsp_dir, "%s/dsp", kr_fuzz_sandbox());
    h->engine[0] = kr_fuzz_engine(&cfg, 0);
    h->engine[1] = diff ? kr_fuzz_engine(&cfg, 1) : NULL;
    h->diff = diff;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *irs[IRS];
    for (int i = 0; i < IRS && !irs[i]; i++) {
        json_error_t jerr;
        if (!(irs[i] = json_loads(IR_TEXT[i], 0, &jerr)))
            kr_fuzz_fail("IR %d does not parse: %s", i, jerr.text);
    }
    reader r = {data, size};
    harness h = {.nodes = json_object(), .routes = json_object(),
                 .verbose = getenv("KRACH_FUZZ_VERBOSE") != NULL, .frames_left = 4096};
    memcpy(h.irs, irs, sizeof irs);
    open_engines(&h, next(&r) % 2);
    check(&h, 0, false);
    for (int steps = 0; r.n > 0 && steps < MAX_STEPS; steps++) {
        unsigned op = next(&r) % 16;
        bool resync_model = false;
        char scene[32] = "";
        json_t *cmd = NULL;
        if (op < 6) {
            step_model(&h, cmd = make_node_command(&h, &r));
        } else if (op < 9) {
            step_model(&h, cmd = make_batch(&h, &r));
        } else if (op < 14) {
            step_other(&h, cmd = make_other(&r, scene, sizeof scene), scene);
        } else {
            resync_model = step_raw(&h, &r);
        }
        json_decref(cmd);
        check(&h, 0, resync_model);
    }
    json_decref(h.nodes);
    json_decref(h.routes);
    free(h.last_state);
    return 0;
}
