/* fuzz_protocol.c — whole command handling, as a client's bytes would arrive.
 *
 * Each input is a session: its bytes go through the server's own line framing
 * (kr_linebuf, 1 MiB lines) into kr_protocol_handle against an offline engine
 * in its just-opened state (kr_fuzz_engine: one engine, reset and checked
 * between inputs) — the real context with every module, no audio thread; time moves
 * only on `render`, which runs kr_rt_process here, exactly as `krach render`
 * does. After each line the harness does what the server loop does between
 * requests (kr_engine_collect), and stops where the server would stop reading
 * (shutdown, a connection closed after a wrong token). A final newline is
 * added, as a client that finishes its last line would.
 *
 * Every reply is checked: one JSON object on one line, the request's id (or
 * null), a boolean ok, and on failure an error whose code is in the table
 * of docs/protocol.md (read at start) with a message.
 *
 * With KRACH_FUZZ_VERBOSE set in the environment, every request and its reply
 * are printed to stderr (to read a reproducer).
 *
 * Optional first line of options (not sent to the engine):
 *   #tcp      the peer is a TCP client (must auth; the token is "fuzz-token-0123456789")
 *   #events   the engine runs with --record-events (applied_events answers)
 *   #nofaults the engine runs without --test-faults
 *
 * Two things are kept inside the sandbox, without changing what is tested:
 *   - a top-level "path" (render, record) is rewritten into a private
 *     temporary directory, keeping its extension (the format); a path that
 *     contains "/missing/" points at a directory that does not exist;
 *   - renders are bounded to RENDER_BUDGET frames per input: a render that
 *     would go past it is skipped (24 hours of audio are allowed and
 *     legitimately take minutes: that is not a bug). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fields.h"
#include "fuzz_common.h"
#include "krach/engine.h"
#include "krach/limits.h"
#include "krach/linebuf.h"
#include "krach/protocol.h"

#define RENDER_BUDGET 4096 /* frames per input (85 ms): four offline chunks */
#define FUZZ_TOKEN "fuzz-token-0123456789"

/* The error codes of docs/protocol.md ("### Error codes" table), read once:
 * an error reply with any other code is a bug (or an undocumented code). */
static char known_codes[64][32];
static int known_code_count;

static void load_error_codes(void)
{
    if (known_code_count)
        return;
    FILE *f = fopen(KRACH_PROTOCOL_DOC, "r");
    if (!f)
        kr_fuzz_fail("cannot read %s (the list of error codes)", KRACH_PROTOCOL_DOC);
    char line[1024];
    bool in_table = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "### ", 4) == 0)
            in_table = strncmp(line, "### Error codes", 15) == 0;
        char code[32];
        if (in_table && known_code_count < 64 && sscanf(line, "| `%31[a-z_]` |", code) == 1)
            snprintf(known_codes[known_code_count++], sizeof known_codes[0], "%s", code);
    }
    fclose(f);
    if (known_code_count < 10)
        kr_fuzz_fail("found only %d error codes in %s", known_code_count, KRACH_PROTOCOL_DOC);
}

typedef struct session {
    kr_engine *engine;
    kr_peer peer;
    bool verbose;     /* KRACH_FUZZ_VERBOSE set: print every request and reply */
    bool skip_first;  /* the first line is the options line */
    int64_t render_budget; /* frames left to render */
} session;

/* ---- sandbox -------------------------------------------------------------------- */

/* The sandboxed path for a requested one: same extension, private directory. */
static void sandbox_path(const char *requested, char *out, size_t len)
{
    const char *base = strrchr(requested, '/');
    base = base ? base + 1 : requested;
    const char *dot = strrchr(base, '.');
    char ext[12] = "";
    if (dot && strlen(dot) < sizeof ext && strspn(dot + 1, "abcdefghijklmnopqrstuvwxyz"
                                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                                               == strlen(dot + 1))
        snprintf(ext, sizeof ext, "%s", dot);
    snprintf(out, len, "%s/%sout%s", kr_fuzz_sandbox(), strstr(requested, "/missing/") ? "missing/" : "",
             ext);
}

/* ---- requests ------------------------------------------------------------------- */

/* Whether a render request would use more than `budget` frames. */
static bool render_too_long(kr_engine *e, json_t *req, int64_t budget)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd || strcmp(cmd, "render") != 0)
        return false;
    json_t *frames = json_object_get(req, "frames");
    if (json_is_integer(frames) && json_integer_value(frames) > budget)
        return true;
    json_t *seconds = json_object_get(req, "seconds");
    if (json_is_number(seconds) &&
        json_number_value(seconds) * e->rt.sample_rate > (double)budget)
        return true;
    kr_rat cycles;
    kr_error error = {0};
    if (kr_field_time(req, "render", "cycles", false, &cycles, &error) == 1) {
        bool overflow = false;
        int64_t position = (int64_t)atomic_load(&e->rt.frames);
        kr_rat target = kr_rat_add(kr_engine_cycle_now(e, &overflow), cycles, &overflow);
        int64_t end = kr_transport_sample_at(&e->sched.transport, target, &overflow);
        if (!overflow && end - position > budget)
            return true;
    }
    return false;
}

static void check_reply(const char *text, json_t *request)
{
    if (!text)
        kr_fuzz_fail("kr_protocol_handle returned NULL");
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n' || strchr(text, '\n') != text + n - 1)
        kr_fuzz_fail("a reply must be one line ending in a newline: %.300s", text);
    json_error_t jerr;
    json_t *reply = json_loadb(text, n - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!reply)
        kr_fuzz_fail("the reply is not JSON (%s): %.300s", jerr.text, text);
    json_t *id = json_object_get(reply, "id");
    json_t *ok = json_object_get(reply, "ok");
    if (!id || !json_is_boolean(ok))
        kr_fuzz_fail("a reply needs 'id' and a boolean 'ok': %.300s", text);
    json_t *sent = json_is_object(request) ? json_object_get(request, "id") : NULL;
    if (json_is_integer(sent) && json_is_integer(id) &&
        json_integer_value(sent) != json_integer_value(id))
        kr_fuzz_fail("the reply's id is not the request's: %.300s", text);
    if (!json_is_integer(sent) && !json_is_null(id))
        kr_fuzz_fail("a request without an integer id got a reply with one: %.300s", text);
    if (json_is_false(ok)) {
        json_t *error = json_object_get(reply, "error");
        const char *code = json_string_value(json_object_get(error, "code"));
        const char *message = json_string_value(json_object_get(error, "message"));
        if (!code || !message || !message[0])
            kr_fuzz_fail("an error reply needs a code and a message: %.300s", text);
        bool known = false;
        for (int i = 0; i < known_code_count; i++)
            known = known || strcmp(code, known_codes[i]) == 0;
        if (!known)
            kr_fuzz_fail("error code '%s' is not in docs/protocol.md", code);
    } else if (json_object_get(reply, "error")) {
        kr_fuzz_fail("a successful reply carries an error: %.300s", text);
    }
    json_decref(reply);
}

static int on_line(void *ctx, const char *line, size_t len)
{
    session *s = ctx;
    if (s->skip_first) {
        s->skip_first = false;
        return 0;
    }
    if (!line) {
        char *reply = kr_protocol_line_too_long();
        check_reply(reply, NULL);
        free(reply);
        return 0;
    }
    if (len == 0)
        return 0; /* the server skips blank lines */

    json_error_t jerr;
    json_t *request = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    char *rewritten = NULL;
    if (json_is_object(request)) {
        if (render_too_long(s->engine, request, s->render_budget)) {
            json_decref(request);
            return 0;
        }
        const char *path = json_string_value(json_object_get(request, "path"));
        if (path) {
            char safe[512];
            sandbox_path(path, safe, sizeof safe);
            json_object_set_new(request, "path", json_string(safe));
            rewritten = json_dumps(request, JSON_COMPACT);
            if (!rewritten)
                kr_fuzz_fail("out of memory rewriting a path");
        }
    }
    if (s->verbose)
        fprintf(stderr, "> %.*s\n", (int)(rewritten ? strlen(rewritten) : len),
                rewritten ? rewritten : line);
    char *reply = rewritten ? kr_protocol_handle(s->engine, &s->peer, rewritten,
                                                 strlen(rewritten))
                            : kr_protocol_handle(s->engine, &s->peer, line, len);
    if (s->verbose)
        fprintf(stderr, "< %s", reply ? reply : "(null)\n");
    check_reply(reply, request);
    free(reply);
    /* Whatever it rendered (the engine's frame clock moves only on render). */
    s->render_budget = RENDER_BUDGET - (int64_t)atomic_load(&s->engine->rt.frames);
    free(rewritten);
    json_decref(request);
    kr_engine_collect(s->engine);
    return s->peer.close_after_reply || s->engine->shutdown_requested;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool tcp = false, events = false, faults = true, options = size > 0 && data[0] == '#';
    if (options) {
        const char *end = memchr(data, '\n', size);
        size_t n = end ? (size_t)(end - (const char *)data) : size;
        char opts[128];
        snprintf(opts, sizeof opts, "%.*s", (int)(n < sizeof opts ? n : sizeof opts - 1),
                 (const char *)data);
        tcp = strstr(opts, "tcp") != NULL;
        events = strstr(opts, "events") != NULL;
        faults = strstr(opts, "nofaults") == NULL;
    }
    load_error_codes();
    kr_config cfg;
    kr_config_defaults(&cfg);
    cfg.audio.kind = KR_BACKEND_OFFLINE;
    cfg.test_faults = faults;
    cfg.record_events = events;
    cfg.log_level = KR_LOG_DEBUG; /* every log line is formatted, to catch bad arguments */
    snprintf(cfg.log_path, sizeof cfg.log_path, "/dev/null");
    snprintf(cfg.token, sizeof cfg.token, FUZZ_TOKEN);
    snprintf(cfg.socket_path, sizeof cfg.socket_path, "%s/engine.sock", kr_fuzz_sandbox());

    kr_engine *engine = kr_fuzz_engine(&cfg, 0); /* opened once, reset between inputs */
    session s = {.engine = engine, .peer = {.needs_auth = tcp},
                 .skip_first = options, .verbose = getenv("KRACH_FUZZ_VERBOSE") != NULL,
                 .render_budget = RENDER_BUDGET};
    kr_linebuf in;
    kr_linebuf_init(&in, KR_MAX_LINE);
    int rc = kr_linebuf_feed(&in, (const char *)data, size, on_line, &s);
    if (rc == 0)
        rc = kr_linebuf_feed(&in, "\n", 1, on_line, &s);
    if (rc < 0)
        kr_fuzz_fail("kr_linebuf_feed: out of memory");
    kr_linebuf_free(&in);
    return 0;
}
