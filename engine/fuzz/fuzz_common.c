/* fuzz_common.c — see fuzz_common.h. */
#include "fuzz_common.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "krach/protocol.h"

char *kr_fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        kr_fuzz_fail("out of memory copying a %zu-byte input", size);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

void kr_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void kr_fuzz_check_error(const kr_error *error, const char *code, const char *what)
{
    if (!error->code || strcmp(error->code, code) != 0)
        kr_fuzz_fail("%s failed with code %s, expected %s (message: %s)", what,
                     error->code ? error->code : "(none)", code, error->message);
    if (!error->message[0])
        kr_fuzz_fail("%s failed with code %s but no message", what, code);
}

/* ---- pattern queries ---------------------------------------------------------- */

static void arc_text(kr_arc a, char *buf, int len)
{
    char b[48], e[48];
    kr_rat_format(a.begin, b, sizeof b);
    kr_rat_format(a.end, e, sizeof e);
    snprintf(buf, (size_t)len, "[%s, %s)", b, e);
}

static bool arc_inside(kr_arc inner, kr_arc outer)
{
    return kr_rat_cmp(outer.begin, inner.begin) <= 0 && kr_rat_cmp(inner.end, outer.end) <= 0;
}

static bool same_value(const kr_value *a, const kr_value *b)
{
    if (a->count != b->count || strcmp(a->label, b->label) != 0)
        return false;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 ||
            memcmp(&a->values[i], &b->values[i], sizeof a->values[i]) != 0)
            return false;
    return true;
}

static bool same_event(const kr_event *a, const kr_event *b)
{
    if (a->has_whole != b->has_whole || !kr_rat_eq(a->part.begin, b->part.begin) ||
        !kr_rat_eq(a->part.end, b->part.end))
        return false;
    if (a->has_whole && (!kr_rat_eq(a->whole.begin, b->whole.begin) ||
                         !kr_rat_eq(a->whole.end, b->whole.end)))
        return false;
    return same_value(&a->value, &b->value);
}

static void check_events(const kr_events *ev, kr_arc arc)
{
    char where[128];
    arc_text(arc, where, sizeof where);
    if (ev->count > KR_QUERY_EVENTS)
        kr_fuzz_fail("query %s returned %zu events (limit %d)", where, ev->count,
                     KR_QUERY_EVENTS);
    for (size_t i = 0; i < ev->count; i++) {
        const kr_event *e = &ev->items[i];
        char part[128];
        arc_text(e->part, part, sizeof part);
        if (e->part.begin.den <= 0 || e->part.end.den <= 0)
            kr_fuzz_fail("query %s: event %zu has a part %s with a bad denominator", where, i,
                         part);
        if (kr_rat_cmp(e->part.begin, e->part.end) >= 0)
            kr_fuzz_fail("query %s: event %zu has an empty part %s", where, i, part);
        if (!arc_inside(e->part, arc))
            kr_fuzz_fail("query %s: event %zu has a part %s outside the query", where, i, part);
        if (e->has_whole && !arc_inside(e->part, e->whole)) {
            char whole[128];
            arc_text(e->whole, whole, sizeof whole);
            kr_fuzz_fail("query %s: event %zu has a part %s outside its whole %s", where, i,
                         part, whole);
        }
        if (i > 0 && kr_rat_cmp(ev->items[i - 1].part.begin, e->part.begin) > 0)
            kr_fuzz_fail("query %s: event %zu starts before event %zu (not sorted)", where, i,
                         i - 1);
        if (e->value.count < 0 || e->value.count > KR_VALUE_MAX ||
            !memchr(e->value.label, '\0', sizeof e->value.label))
            kr_fuzz_fail("query %s: event %zu has a malformed value", where, i);
    }
}

#define REPEAT_EVENTS 256 /* queries with more events are not repeated */

void kr_fuzz_query_pattern(const kr_pattern *pattern)
{
    static const int64_t arcs[][4] = {
        {0, 1, 1, 1},        {0, 1, 4, 1},         {1, 3, 7, 4},
        {-2, 1, -1, 2},      {1000003, 1, 1000004, 1}, {7, 3, 7 * 1024 + 3, 3 * 1024},
        {-(INT64_C(1) << 40), 1, -(INT64_C(1) << 40) + 1, 1},
    };
    for (size_t i = 0; i < sizeof arcs / sizeof arcs[0]; i++) {
        bool overflow = false;
        kr_arc arc = {kr_rat_make(arcs[i][0], arcs[i][1], &overflow),
                      kr_rat_make(arcs[i][2], arcs[i][3], &overflow)};
        kr_events first = {0}, second = {0};
        kr_error e1 = {0}, e2 = {0};
        int rc1 = kr_pattern_query(pattern, arc, &first, &e1);
        /* The second query (same answer twice) only for light answers: a
         * dense pattern's query costs milliseconds under ASan, and repeating
         * it halved the mini harness's speed for little. */
        bool again = rc1 != 0 || first.count <= REPEAT_EVENTS;
        int rc2 = again ? kr_pattern_query(pattern, arc, &second, &e2) : rc1;
        char where[128];
        arc_text(arc, where, sizeof where);
        if (rc1 != rc2)
            kr_fuzz_fail("query %s succeeded once and failed once (%s)", where,
                         rc1 ? e1.message : e2.message);
        if (rc1) {
            kr_fuzz_check_error(&e1, "bad_pattern", "a pattern query");
            if (first.count != 0)
                kr_fuzz_fail("query %s failed but left %zu events", where, first.count);
        } else {
            check_events(&first, arc);
            if (again && first.count != second.count)
                kr_fuzz_fail("query %s gave %zu events, then %zu", where, first.count,
                             second.count);
            for (size_t k = 0; again && k < first.count; k++)
                if (!same_event(&first.items[k], &second.items[k]))
                    kr_fuzz_fail("query %s: event %zu differs between two runs", where, k);
        }
        kr_events_free(&first);
        kr_events_free(&second);
    }
}

/* ---- one offline engine, reused ------------------------------------------------ */

static char sandbox[256];

static void remove_sandbox(void)
{
    char cmd[300];
    if (sandbox[0] && strncmp(sandbox, "/tmp/", 5) == 0 && !strchr(sandbox, '\'')) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", sandbox);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: could not remove %s\n", sandbox);
    }
}

const char *kr_fuzz_sandbox(void)
{
    if (!sandbox[0]) {
        snprintf(sandbox, sizeof sandbox, "/tmp/krach-fuzz-XXXXXX");
        if (!mkdtemp(sandbox))
            kr_fuzz_fail("cannot create a temporary directory under /tmp");
        atexit(remove_sandbox);
    }
    return sandbox;
}

json_t *kr_fuzz_ask(kr_engine *engine, const char *request)
{
    kr_peer peer = {0};
    char *text = kr_protocol_handle(engine, &peer, request, strlen(request));
    if (!text)
        kr_fuzz_fail("kr_protocol_handle returned NULL for %s", request);
    json_error_t jerr;
    json_t *reply = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok")))
        kr_fuzz_fail("%s: the reply is not an object with ok: %.300s", request, text);
    free(text);
    kr_engine_collect(engine);
    return reply;
}

typedef struct reused {
    kr_engine engine;     /* large: static, off the stack */
    kr_config config;     /* what it was opened with */
    bool open;
    char *fresh;          /* `state` + `status` (no uptime) right after opening */
    unsigned long uses;
} reused;

static reused engines[KR_FUZZ_ENGINES];

/* What must read the same after a reset as after opening. */
static char *fingerprint(kr_engine *e)
{
    json_t *state = kr_fuzz_ask(e, "{\"cmd\":\"state\"}");
    json_t *status = kr_fuzz_ask(e, "{\"cmd\":\"status\"}");
    json_object_del(status, "uptime");
    json_object_del(status, "cpu_load");
    json_t *both = json_pack("{s:o, s:o, s:o, s:o}", "state", state, "status", status,
                             "transport", kr_fuzz_ask(e, "{\"cmd\":\"transport\"}"),
                             "scenes", kr_fuzz_ask(e, "{\"cmd\":\"scenes\"}"));
    char *text = json_dumps(both, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(both);
    if (!text)
        kr_fuzz_fail("out of memory describing the engine");
    return text;
}

static void close_engine(reused *r)
{
    if (r->open)
        kr_engine_close(&r->engine);
    r->open = false;
    free(r->fresh);
    r->fresh = NULL;
}

static void close_engines(void)
{
    for (int i = 0; i < KR_FUZZ_ENGINES; i++)
        close_engine(&engines[i]);
}

static void open_engine(reused *r, const kr_config *config)
{
    static bool registered;
    close_engine(r);
    char err[512] = "";
    if (kr_engine_open(&r->engine, config, err, sizeof err))
        kr_fuzz_fail("kr_engine_open: %s", err);
    r->config = *config;
    r->open = true;
    r->uses = 0;
    r->fresh = fingerprint(&r->engine);
    if (!registered)
        atexit(close_engines);
    registered = true;
}

/* Brings the session back to what kr_engine_open leaves (see the header). */
static void reset_session(kr_engine *e)
{
    kr_error error = {0};
    if (e->recorder.file) {
        uint64_t frames, dropped;
        kr_recorder_stop(e, &frames, &dropped, &error);
    }
    while (e->node_count > 0)
        if (kr_engine_remove_node(e, e->nodes[e->node_count - 1]->name, &error))
            kr_fuzz_fail("reset: removing '%s': %s", e->nodes[e->node_count - 1]->name,
                         error.message);
    kr_scheduler_free(&e->sched);
    kr_scheduler_init(&e->sched, e->config.audio.sample_rate);
    kr_rt_apply_commands(&e->rt);
    kr_engine_collect(e);
    if (e->retires_pending || e->dead_node_count || e->dead_route_count || e->route_count)
        kr_fuzz_fail("reset: %d retires pending, %d dead nodes, %d dead routes, %d routes",
                     e->retires_pending, e->dead_node_count, e->dead_route_count,
                     e->route_count);
    kr_rt *rt = &e->rt;
    rt->events.count = 0;
    rt->events.next_seq = 0;
    rt->automations.count = 0;
    rt->recording_on = false;
    rt->master = rt->master_target = 1.0f;
    rt->nonfinite_reported = rt->nonfinite_report_frame = 0;
    atomic_store(&rt->frames, 0);
    atomic_store(&rt->xruns, 0);
    atomic_store(&rt->nonfinite, 0);
    atomic_store(&rt->node_faults, 0);
    atomic_store(&rt->cpu_load_permille, 0);
    atomic_store(&rt->late_events, 0);
    atomic_store(&rt->dropped_events, 0);
    atomic_store(&rt->recorded_frames, 0);
    atomic_store(&rt->dropped_frames, 0);
    kr_applied_event applied;
    while (kr_ring_pop(&rt->applied, &applied)) {
    }
    float frame[KR_MAX_CHANNELS];
    while (kr_ring_pop(&rt->recording, frame)) {
    }
    e->master = 1.0;
    e->has_render_cycle = false;
    e->render_cycle_sample = 0;
    e->shutdown_requested = false;
    json_decref(e->scenes);
    e->scenes = NULL;
    e->scene_bytes = 0;
    e->applied_count = e->applied_dropped = 0;
    e->node_faults_seen = 0;
    for (char *line; (line = kr_engine_take_pushed(e));)
        free(line);
}

kr_engine *kr_fuzz_engine(const kr_config *config, int slot)
{
    reused *r = &engines[slot];
    /* Removing many nodes one by one costs more than opening afresh. */
    if (!r->open || memcmp(&r->config, config, sizeof *config) != 0 ||
        ++r->uses >= KR_FUZZ_REOPEN || r->engine.node_count > 32) {
        open_engine(r, config);
        return &r->engine;
    }
    reset_session(&r->engine);
    char *now = fingerprint(&r->engine);
    if (strcmp(now, r->fresh) != 0)
        kr_fuzz_fail("reset left state behind:\n  fresh: %.2000s\n  reset: %.2000s", r->fresh,
                     now);
    free(now);
    return &r->engine;
}
