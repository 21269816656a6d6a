/* test_protocol.c — the request/reply layer without sockets: every error code,
 * the commands, auth, and offline rendering read back through libsndfile.
 *
 * Engines are opened in-process (offline backend unless a test needs a clock)
 * and logs go to a temporary directory that is removed at the end. */
#include <jansson.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fields.h"
#include "kr_test.h"
#include "krach/engine.h"
#include "krach/protocol.h"
#include "krach/safety.h"

#define TOKEN "s3cret-token-0123456789abcdef"

static char tmpdir[256];

static const char *tmp_path(const char *leaf)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, leaf);
    return p;
}

/* ---- engines ------------------------------------------------------------------ */

static int open_engine(kr_engine *e, kr_backend_kind kind, bool test_faults)
{
    kr_config cfg;
    kr_config_defaults(&cfg);
    cfg.audio.kind = kind;
    cfg.test_faults = test_faults;
    snprintf(cfg.log_path, sizeof cfg.log_path, "%s", tmp_path("engine.log"));
    snprintf(cfg.token, sizeof cfg.token, "%s", TOKEN);
    char err[512] = "";
    int rc = kr_engine_open(e, &cfg, err, sizeof err);
    if (rc)
        fprintf(stderr, "kr_engine_open: %s\n", err);
    CHECK(rc == 0);
    return rc;
}

static kr_peer unix_peer(void)
{
    kr_peer p = {.needs_auth = false, .authenticated = false, .close_after_reply = false};
    return p;
}

/* ---- requests ----------------------------------------------------------------- */

/* Sends one line (of any bytes) and parses the reply, checking the framing every
 * reply must have: one JSON object, "id" and "ok" present, exactly one newline,
 * at the end. */
static json_t *call_bytes(kr_engine *e, kr_peer *peer, const char *line, size_t len)
{
    char *text = kr_protocol_handle(e, peer, line, len);
    CHECK(text != NULL);
    if (!text)
        return json_object();
    size_t n = strlen(text);
    CHECK(n > 0 && text[n - 1] == '\n');
    CHECK(strchr(text, '\n') == text + n - 1);
    json_error_t jerr;
    json_t *reply = json_loads(text, 0, &jerr);
    CHECK(reply != NULL);
    if (!reply) {
        fprintf(stderr, "unparseable reply: %s\n", text);
        free(text);
        return json_object();
    }
    free(text);
    CHECK(json_is_object(reply));
    CHECK(json_object_get(reply, "id") != NULL);
    CHECK(json_is_boolean(json_object_get(reply, "ok")));
    return reply;
}

static json_t *call_peer(kr_engine *e, kr_peer *peer, const char *line)
{
    return call_bytes(e, peer, line, strlen(line));
}

static json_t *call(kr_engine *e, const char *line)
{
    kr_peer peer = unix_peer();
    return call_peer(e, &peer, line);
}

/* A successful reply: ok true and no error object. The caller decrefs it. */
static json_t *ok_reply(kr_engine *e, const char *line)
{
    json_t *reply = call(e, line);
    int ok = json_is_true(json_object_get(reply, "ok"));
    CHECK(ok);
    if (!ok) {
        char *dump = json_dumps(reply, 0);
        fprintf(stderr, "  request %s\n  failed: %s\n", line, dump);
        free(dump);
    }
    CHECK(json_object_get(reply, "error") == NULL);
    return reply;
}

static void expect_ok(kr_engine *e, const char *line)
{
    json_decref(ok_reply(e, line));
}

/* Checks an error reply: ok false, the code, and a message containing `needle`. */
static void check_error(json_t *reply, const char *line, const char *code, const char *needle)
{
    CHECK(json_is_false(json_object_get(reply, "ok")));
    json_t *error = json_object_get(reply, "error");
    CHECK(json_is_object(error));
    const char *got_code = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    CHECK(got_code != NULL && message != NULL && message[0] != '\0');
    if (!got_code || strcmp(got_code, code) != 0)
        fprintf(stderr, "  request %s\n  expected code %s, got %s (%s)\n", line, code,
                got_code ? got_code : "(none)", message ? message : "");
    CHECK(got_code && strcmp(got_code, code) == 0);
    if (needle)
        CHECK_STR_CONTAINS(message, needle);
}

static void expect_error_peer(kr_engine *e, kr_peer *peer, const char *line, const char *code,
                              const char *needle)
{
    json_t *reply = call_peer(e, peer, line);
    check_error(reply, line, code, needle);
    json_decref(reply);
}

static void expect_error(kr_engine *e, const char *line, const char *code, const char *needle)
{
    kr_peer peer = unix_peer();
    expect_error_peer(e, &peer, line, code, needle);
}

static json_int_t int_field(json_t *reply, const char *key)
{
    json_t *v = json_object_get(reply, key);
    CHECK(json_is_integer(v));
    return json_integer_value(v);
}

static size_t node_count(kr_engine *e)
{
    json_t *status = ok_reply(e, "{\"cmd\": \"status\"}");
    size_t n = json_array_size(json_object_get(status, "nodes"));
    json_decref(status);
    return n;
}

/* ---- sound files --------------------------------------------------------------- */

typedef struct sound {
    SF_INFO info;
    float *samples; /* interleaved */
} sound;

static int read_sound(const char *path, sound *s)
{
    memset(s, 0, sizeof *s);
    SNDFILE *file = sf_open(path, SFM_READ, &s->info);
    CHECK(file != NULL);
    if (!file)
        return -1;
    size_t n = (size_t)s->info.frames * (size_t)s->info.channels;
    s->samples = calloc(n ? n : 1, sizeof(float));
    CHECK(sf_readf_float(file, s->samples, s->info.frames) == s->info.frames);
    sf_close(file);
    return 0;
}

static float sound_peak(const sound *s)
{
    float p = 0.0f;
    for (sf_count_t i = 0; i < s->info.frames * s->info.channels; i++)
        if (fabsf(s->samples[i]) > p)
            p = fabsf(s->samples[i]);
    return p;
}

static int sound_upward_crossings(const sound *s, int ch)
{
    int n = 0;
    for (sf_count_t i = 1; i < s->info.frames; i++)
        if (s->samples[(i - 1) * s->info.channels + ch] < 0.0f &&
            s->samples[i * s->info.channels + ch] >= 0.0f)
            n++;
    return n;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    size_t n = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[n] = '\0';
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* ---- basic commands ------------------------------------------------------------- */

static void test_ping(kr_engine *e)
{
    json_t *reply = ok_reply(e, "{\"id\": 1, \"cmd\": \"ping\"}");
    CHECK(int_field(reply, "id") == 1);
    const char *version = json_string_value(json_object_get(reply, "version"));
    CHECK(version && strcmp(version, KRACH_VERSION) == 0);
    json_decref(reply);
    /* Whitespace and key order do not matter. */
    expect_ok(e, "  { \"cmd\" :\"ping\" ,\t\"id\":2 }  ");
}

static void test_status_fields_and_types(kr_engine *e)
{
    json_t *r = ok_reply(e, "{\"id\": 2, \"cmd\": \"status\"}");
    CHECK(int_field(r, "id") == 2);
    CHECK(json_is_string(json_object_get(r, "version")));
    CHECK(strcmp(json_string_value(json_object_get(r, "backend")), "offline") == 0);
    CHECK(strcmp(json_string_value(json_object_get(r, "device")), "none") == 0);
    CHECK(json_object_get(r, "fallback_reason") == NULL);
    CHECK(int_field(r, "sample_rate") == 48000);
    CHECK(int_field(r, "block_size") == 256);
    CHECK(int_field(r, "channels") == 2);
    CHECK(json_is_real(json_object_get(r, "uptime")));
    CHECK(json_real_value(json_object_get(r, "uptime")) >= 0.0);
    CHECK(json_real_value(json_object_get(r, "uptime")) < 60.0);
    CHECK(int_field(r, "frames") >= 0);
    CHECK(json_is_real(json_object_get(r, "cpu_load")));
    CHECK(json_real_value(json_object_get(r, "cpu_load")) >= 0.0);
    CHECK(int_field(r, "xruns") == 0);
    CHECK(json_is_false(json_object_get(r, "stalled"))); /* an offline clock never stalls */
    CHECK(int_field(r, "nonfinite") == 0);
    CHECK(int_field(r, "clients") == 0);
    CHECK(json_is_real(json_object_get(r, "master")));
    CHECK(json_is_array(json_object_get(r, "nodes")));
    CHECK(json_is_array(json_object_get(r, "faulted")));
    CHECK(json_array_size(json_object_get(r, "faulted")) == 0);
    /* id, ok and the documented fields (faust: while the FAUST backend lands) */
    CHECK(json_object_size(r) == 22 + (json_object_get(r, "faust") != NULL));
    json_decref(r);
}

static void test_id_is_echoed(kr_engine *e)
{
    json_t *r = ok_reply(e, "{\"id\": 7, \"cmd\": \"ping\"}");
    CHECK(int_field(r, "id") == 7);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"ping\"}");
    CHECK(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = ok_reply(e, "{\"id\": null, \"cmd\": \"ping\"}");
    CHECK(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = ok_reply(e, "{\"id\": -5, \"cmd\": \"ping\"}");
    CHECK(int_field(r, "id") == -5);
    json_decref(r);
    r = ok_reply(e, "{\"id\": 9007199254740993, \"cmd\": \"ping\"}");
    CHECK(int_field(r, "id") == 9007199254740993LL); /* exact beyond 2^53 */
    json_decref(r);
    r = ok_reply(e, "{\"id\": 0, \"cmd\": \"ping\"}");
    CHECK(int_field(r, "id") == 0);
    json_decref(r);
    /* Error replies carry the id too. */
    r = call(e, "{\"id\": 42, \"cmd\": \"nope\"}");
    check_error(r, "nope", "unknown_command", NULL);
    CHECK(int_field(r, "id") == 42);
    json_decref(r);
    r = call(e, "{\"id\": 43, \"cmd\": \"tone_add\"}");
    check_error(r, "tone_add", "missing_field", NULL);
    CHECK(int_field(r, "id") == 43);
    json_decref(r);
}

static void test_shutdown_sets_the_flag(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    CHECK(!e.shutdown_requested);
    json_t *r = ok_reply(&e, "{\"id\": 3, \"cmd\": \"shutdown\"}");
    CHECK(int_field(r, "id") == 3);
    CHECK(json_object_size(r) == 2);
    json_decref(r);
    CHECK(e.shutdown_requested);
    kr_engine_close(&e);
}

/* ---- framing errors -------------------------------------------------------------- */

static void test_malformed_json(kr_engine *e)
{
    static const char *const lines[] = {
        "{",        "not json",    "",
        "}",        "{\"cmd\": \"ping\",}", "{\"cmd\": 'ping'}",
        "{\"cmd\": \"ping\"} trailing", "{\"cmd\": \"ping\"}{\"cmd\": \"ping\"}",
        "{\"cmd\": \"ping\", \"id\": NaN}", "{\"cmd\": \"ping\", \"id\": Infinity}",
        "{\"cmd\": \"master\", \"gain\": 1e400}", /* real overflow */
        "{\"cmd\": \"render\", \"frames\": 99999999999999999999}", /* integer overflow */
        "{\"cmd\": \"tone_add\", \"name\": \"a\\u0000b\"}", /* embedded NUL escape */
        "{\"cmd\": \"tone_add\", \"name\": \"\xff\xfe\"}",   /* invalid UTF-8 */
        "{\"cmd\": \"tone_add\", \"name\": \"a\tb\"}",       /* raw control char */
        "{\"cmd\": \"ping\" /* comment */}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        json_t *r = call(e, lines[i]);
        check_error(r, lines[i], "bad_json", "malformed JSON at column");
        CHECK_STR_CONTAINS(json_string_value(json_object_get(json_object_get(r, "error"),
                                                             "message")),
                           "send one JSON object per line");
        CHECK(json_is_null(json_object_get(r, "id")));
        json_decref(r);
    }
    /* JSON that is not an object is a bad request, not bad JSON. */
    const char *scalars[] = {"42", "\"ping\"", "null", "[1, 2]", "true"};
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        expect_error(e, scalars[i], "bad_request", "must be a JSON object");
    /* The column is where the parser stopped. */
    expect_error(e, "{\"cmd\": \"ping\",,}", "bad_json", "at column 16");
    expect_error(e, "{\"a\":1,\"a\":2}", "bad_json", "at column 10");
    /* A raw NUL byte inside the line is not text. */
    const char nul_line[] = "{\"cmd\": \"ping\"}\0{}";
    json_t *r = call_bytes(e, &(kr_peer){0}, nul_line, sizeof nul_line - 1);
    check_error(r, "NUL byte", "bad_json", NULL);
    json_decref(r);
    const char nul_inside[] = "{\"cmd\": \"pi\0ng\"}";
    r = call_bytes(e, &(kr_peer){0}, nul_inside, sizeof nul_inside - 1);
    check_error(r, "NUL byte in string", "bad_json", NULL);
    json_decref(r);
}

static void test_duplicate_keys_rejected(kr_engine *e)
{
    expect_error(e, "{\"cmd\": \"ping\", \"cmd\": \"status\"}", "bad_json", "duplicate");
    expect_error(e, "{\"id\": 1, \"id\": 2, \"cmd\": \"ping\"}", "bad_json", "duplicate");
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"a\", \"name\": \"b\"}", "bad_json",
                 "duplicate");
    CHECK(node_count(e) == 0);
}

static void test_non_object_request(kr_engine *e)
{
    static const char *const lines[] = {"[]", "[1, 2]", "[{\"cmd\": \"ping\"}]"};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = call(e, lines[i]);
        check_error(r, lines[i], "bad_request", "must be a JSON object");
        CHECK(json_is_null(json_object_get(r, "id")));
        json_decref(r);
    }
}

static void test_missing_or_bad_cmd(kr_engine *e)
{
    json_t *r = call(e, "{\"id\": 4}");
    check_error(r, "{id:4}", "bad_request", "has no 'cmd'");
    CHECK(int_field(r, "id") == 4);
    json_decref(r);
    expect_error(e, "{}", "bad_request", "has no 'cmd'");
    static const char *const bad[] = {
        "{\"cmd\": 5}", "{\"cmd\": null}", "{\"cmd\": [\"ping\"]}", "{\"cmd\": {}}",
        "{\"cmd\": true}", "{\"cmd\": 1.5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(e, bad[i], "bad_request", "'cmd' must be a string");
}

static void test_id_must_be_integer(kr_engine *e)
{
    static const char *const bad[] = {
        "{\"id\": \"7\", \"cmd\": \"ping\"}", "{\"id\": 1.5, \"cmd\": \"ping\"}",
        "{\"id\": 1e20, \"cmd\": \"ping\"}",  "{\"id\": true, \"cmd\": \"ping\"}",
        "{\"id\": [1], \"cmd\": \"ping\"}",   "{\"id\": {}, \"cmd\": \"ping\"}",
        "{\"id\": 2.0, \"cmd\": \"ping\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = call(e, bad[i]);
        check_error(r, bad[i], "bad_request", "'id' must be an integer");
        CHECK(json_is_null(json_object_get(r, "id"))); /* never echo a bad id */
        json_decref(r);
    }
    /* The id check comes before the cmd check. */
    expect_error(e, "{\"id\": \"x\"}", "bad_request", "'id' must be an integer");
}

static void test_unknown_command_lists_commands(kr_engine *e)
{
    json_t *r = call(e, "{\"cmd\": \"pong\"}");
    check_error(r, "pong", "unknown_command", "unknown command 'pong'");
    const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
    static const char *const commands[] = {"ping", "status", "shutdown", "master", "tone_add",
                                           "tone_set", "tone_remove", "render", "auth"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        CHECK_STR_CONTAINS(msg, commands[i]);
    json_decref(r);
    /* Case matters; so do exact names. */
    expect_error(e, "{\"cmd\": \"PING\"}", "unknown_command", "commands: ping, status");
    expect_error(e, "{\"cmd\": \"\"}", "unknown_command", "unknown command ''");
    expect_error(e, "{\"cmd\": \"ping \"}", "unknown_command", NULL);
    /* A newline in the name stays escaped: still one reply line. */
    expect_error(e, "{\"cmd\": \"a\\nb\"}", "unknown_command", "a\nb");
    /* A huge name is cut to 100 bytes in the message. */
    char line[2200], name[2001];
    memset(name, 'x', 2000);
    name[2000] = '\0';
    snprintf(line, sizeof line, "{\"cmd\": \"%s\"}", name);
    r = call(e, line);
    check_error(r, "long cmd", "unknown_command", NULL);
    msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
    CHECK(msg && strlen(msg) < 600);
    CHECK(msg && strstr(msg, name + 1900) != NULL);  /* 100 x's */
    CHECK(msg && strstr(msg, name + 1899) == NULL);  /* not 101 */
    json_decref(r);
}

static void test_line_too_long_reply(void)
{
    char *text = kr_protocol_line_too_long();
    CHECK(text != NULL);
    size_t n = strlen(text);
    CHECK(n > 0 && text[n - 1] == '\n' && strchr(text, '\n') == text + n - 1);
    json_t *r = json_loads(text, 0, NULL);
    check_error(r, "line_too_long", "line_too_long", "1048576 bytes");
    CHECK(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    free(text);
}

/* ---- field errors ---------------------------------------------------------------- */

static void test_missing_fields(kr_engine *e)
{
    expect_error(e, "{\"cmd\": \"tone_add\"}", "missing_field", "tone_add needs field 'name'");
    expect_error(e, "{\"cmd\": \"tone_set\", \"freq\": 440}", "missing_field",
                 "tone_set needs field 'name' (a string)");
    expect_error(e, "{\"cmd\": \"tone_remove\"}", "missing_field", "field 'name'");
    expect_error(e, "{\"cmd\": \"auth\"}", "missing_field", "auth needs field 'token'");
    expect_error(e, "{\"cmd\": \"render\"}", "missing_field", "exactly one of 'frames'");
    expect_error(e, "{\"cmd\": \"render\", \"path\": \"x.wav\"}", "missing_field",
                 "exactly one of");
}

static void test_bad_types(kr_engine *e)
{
    static const struct { const char *line, *needle; } cases[] = {
        {"{\"cmd\": \"tone_add\", \"name\": 5}", "'name' must be a string, not an integer"},
        {"{\"cmd\": \"tone_add\", \"name\": null}", "not null"},
        {"{\"cmd\": \"tone_add\", \"name\": [\"a\"]}", "not an array"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": \"440\"}",
         "'freq' must be a number, not a string"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"gain\": true}", "not a boolean"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"gain\": {}}", "not an object"},
        {"{\"cmd\": \"tone_set\", \"name\": \"a\", \"freq\": null}", "must be a number"},
        {"{\"cmd\": \"master\", \"gain\": \"loud\"}", "'gain' must be a number"},
        {"{\"cmd\": \"render\", \"frames\": 1.5}", "'frames' must be an integer, not a number"},
        {"{\"cmd\": \"render\", \"frames\": \"10\"}", "must be an integer, not a string"},
        {"{\"cmd\": \"render\", \"seconds\": \"1\"}", "'seconds' must be a number"},
        {"{\"cmd\": \"render\", \"frames\": 10, \"path\": 3}", "'path' must be a string"},
        {"{\"cmd\": \"render\", \"frames\": 10, \"subtype\": 16}", "'subtype' must be a string"},
        {"{\"cmd\": \"render\", \"frames\": 10, \"append\": 1}", "must be true or false"},
        {"{\"cmd\": \"render\", \"frames\": 10, \"append\": \"yes\"}", "not a string"},
        {"{\"cmd\": \"auth\", \"token\": 123}", "'token' must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(e, cases[i].line, "bad_type", cases[i].needle);
    CHECK(node_count(e) == 0);
}

static void test_bad_values(kr_engine *e)
{
    static const struct { const char *line, *needle; } cases[] = {
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": -1}", "'freq' is -1"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 24001}", "between 0 and 24000"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 24000}", "below 24000"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 0}", "above 0"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 1e300}", "'freq'"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"gain\": 1.5}", "between 0 and 1"},
        {"{\"cmd\": \"tone_add\", \"name\": \"a\", \"gain\": -0.1}", "'gain' is -0.1"},
        {"{\"cmd\": \"tone_set\", \"name\": \"a\", \"gain\": 2}", "'gain' is 2"},
        {"{\"cmd\": \"master\", \"gain\": 4.01}", "between 0 and 4"},
        {"{\"cmd\": \"master\", \"gain\": -1}", "'gain' is -1"},
        {"{\"cmd\": \"master\", \"gain\": -1e-300}", "'gain'"},
        {"{\"cmd\": \"render\", \"frames\": -1}", "'frames' is -1; it must be between 0 and"},
        {"{\"cmd\": \"render\", \"frames\": -9223372036854775807}", "'frames'"},
        {"{\"cmd\": \"render\", \"frames\": 4147200001}", "between 0 and 4147200000"},
        {"{\"cmd\": \"render\", \"seconds\": -0.5}", "'seconds' is -0.5"},
        {"{\"cmd\": \"render\", \"seconds\": 86401}", "between 0 and 86400"},
        {"{\"cmd\": \"render\", \"seconds\": 1e308}", "'seconds'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(e, cases[i].line, "bad_value", cases[i].needle);
    CHECK(node_count(e) == 0);
    /* Nothing was rendered by the refused requests. */
    CHECK(atomic_load(&e->rt.frames) == 0);
}

static void test_node_names(kr_engine *e)
{
    char line[512], name[128];
    /* 63 bytes: the longest name. */
    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"%s\"}", name);
    json_t *r = ok_reply(e, line);
    CHECK(strcmp(json_string_value(json_object_get(r, "name")), name) == 0);
    json_decref(r);
    CHECK(kr_engine_find(e, name) != NULL);
    /* 64 bytes: one too many. */
    name[63] = 'n';
    name[64] = '\0';
    snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"%s\"}", name);
    expect_error(e, line, "bad_value", "1 to 63 bytes, this one has 64");
    snprintf(line, sizeof line, "{\"cmd\": \"tone_set\", \"name\": \"%s\"}", name);
    expect_error(e, line, "bad_value", "has 64");
    /* Bytes, not characters: 32 two-byte characters are 64 bytes. */
    char utf8[200] = "";
    for (int i = 0; i < 32; i++)
        strcat(utf8, "\xc3\xbc");
    snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"%s\"}", utf8);
    expect_error(e, line, "bad_value", "has 64");
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"gr\xc3\xbc\xc3\x9f \\u00e9 \xe2\x99\xaa\"}");
    /* Empty. */
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"\"}", "bad_value", "this one has 0");
    expect_error(e, "{\"cmd\": \"tone_remove\", \"name\": \"\"}", "bad_value", "has 0");
    /* Control characters (escaped, so the JSON itself is valid), incl. DEL. */
    static const char *const controls[] = {"a\\u0001", "\\tab", "x\\ny", "\\r", "end\\u001f",
                                           "del\\u007f", "\\u001b[31mred"};
    for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
        snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"%s\"}", controls[i]);
        expect_error(e, line, "bad_value", "may not contain control characters");
    }
    /* '/' parts a group from its members: no empty part (issue 12, D18:
     * "/" and "a/" were accepted, then `mute ""` muted "/"). Every command
     * that takes a node name says so, a batch's node_set too. */
    static const char *const empty_parts[] = {"/", "a/", "/a", "a//b", "//", "drums/kick/"};
    for (size_t i = 0; i < sizeof empty_parts / sizeof empty_parts[0]; i++) {
        snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"%s\"}", empty_parts[i]);
        expect_error(e, line, "bad_value", "has an empty part");
        snprintf(line, sizeof line, "{\"cmd\": \"input_add\", \"name\": \"%s\"}", empty_parts[i]);
        expect_error(e, line, "bad_value", "may not start or end with '/' or contain '//'");
        snprintf(line, sizeof line,
                 "{\"cmd\": \"batch\", \"commands\": [{\"cmd\": \"node_set\", \"name\": \"%s\", "
                 "\"faust\": \"process = 0;\"}]}", empty_parts[i]);
        expect_error(e, line, "bad_value", "has an empty part");
    }
    expect_error(e, "{\"cmd\": \"mute\", \"name\": \"\"}", "unknown_node", "");
    /* A scene name is not a node name: its own message, and '/' is fine. */
    expect_error(e, "{\"cmd\": \"scene_save\", \"name\": \"\"}", "bad_value",
                 "a scene name must have 1 to 63 bytes, this one has 0");
    expect_error(e, "{\"cmd\": \"scene_get\", \"name\": \"x\\ny\"}", "bad_value",
                 "a scene name may not contain control characters");
    expect_ok(e, "{\"cmd\": \"scene_save\", \"name\": \"verse/2\"}");
    /* Spaces and punctuation are fine. */
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \" a b.c-d/e \"}");
    CHECK(node_count(e) == 3);
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \" a b.c-d/e \"}");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"gr\xc3\xbc\xc3\x9f \xc3\xa9 \xe2\x99\xaa\"}");
    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(line, sizeof line, "{\"cmd\": \"tone_remove\", \"name\": \"%s\"}", name);
    expect_ok(e, line);
    CHECK(node_count(e) == 0);
}

static void test_fields_direct(void)
{
    /* Paths the JSON parser never lets through (it rejects \u0000 and non-finite
     * numbers), checked on the getters themselves. */
    kr_error error = {0};
    json_t *req = json_object();
    json_object_set_new(req, "s", json_stringn("a\0b", 3));
    json_object_set_new(req, "name", json_stringn("n\0m", 3));
    json_object_set_new(req, "n", json_real(2.5));
    json_object_set_new(req, "i", json_integer(7));
    json_object_set_new(req, "b", json_false());
    const char *s = NULL;
    CHECK(kr_field_string(req, "t", "s", true, &s, &error) == -1);
    CHECK(strcmp(error.code, "bad_value") == 0);
    CHECK_STR_CONTAINS(error.message, "NUL");
    CHECK(kr_field_name(req, "t", &s, &error) == -1);
    CHECK(strcmp(error.code, "bad_value") == 0);
    /* Absent optional fields return 0 and leave the output alone. */
    double d = -1.0;
    long long ll = -1;
    bool b = true;
    CHECK(kr_field_number(req, "t", "absent", false, 0, 1, &d, &error) == 0 && d == -1.0);
    CHECK(kr_field_integer(req, "t", "absent", false, 0, 1, &ll, &error) == 0 && ll == -1);
    CHECK(kr_field_string(req, "t", "absent", false, &s, &error) == 0);
    CHECK(kr_field_bool(req, "t", "absent", &b, &error) == 0 && b);
    CHECK(kr_field_number(req, "t", "absent", true, 0, 1, &d, &error) == -1);
    CHECK(strcmp(error.code, "missing_field") == 0);
    /* Present and valid: 1. Integers count as numbers; bounds are inclusive. */
    CHECK(kr_field_number(req, "t", "n", true, 2.5, 2.5, &d, &error) == 1 && d == 2.5);
    CHECK(kr_field_number(req, "t", "i", true, 0, 10, &d, &error) == 1 && d == 7.0);
    CHECK(kr_field_integer(req, "t", "i", true, 7, 7, &ll, &error) == 1 && ll == 7);
    CHECK(kr_field_integer(req, "t", "i", true, 8, 9, &ll, &error) == -1);
    CHECK(strcmp(error.code, "bad_value") == 0);
    CHECK(kr_field_integer(req, "t", "n", true, 0, 9, &ll, &error) == -1);
    CHECK(strcmp(error.code, "bad_type") == 0);
    CHECK(kr_field_bool(req, "t", "b", &b, &error) == 1 && !b);
    json_decref(req);
}

/* ---- nodes -------------------------------------------------------------------------- */

static void test_tone_lifecycle(kr_engine *e)
{
    json_t *r = ok_reply(e, "{\"id\": 5, \"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 440, "
                            "\"gain\": 0.25}");
    CHECK(strcmp(json_string_value(json_object_get(r, "name")), "a") == 0);
    json_decref(r);
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"b\"}"); /* defaults */
    expect_ok(e, "{\"cmd\": \"tone_set\", \"name\": \"a\", \"freq\": 660}");
    expect_ok(e, "{\"cmd\": \"tone_set\", \"name\": \"a\", \"gain\": 0}");
    expect_ok(e, "{\"cmd\": \"tone_set\", \"name\": \"a\"}"); /* nothing to change is fine */
    expect_ok(e, "{\"cmd\": \"tone_set\", \"name\": \"b\", \"freq\": 100.5, \"gain\": 1}");
    r = ok_reply(e, "{\"cmd\": \"status\"}");
    json_t *nodes = json_object_get(r, "nodes");
    CHECK(json_array_size(nodes) == 2);
    CHECK(strcmp(json_string_value(json_array_get(nodes, 0)), "a") == 0);
    CHECK(strcmp(json_string_value(json_array_get(nodes, 1)), "b") == 0);
    json_decref(r);
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"a\"}");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"b\"}");
    CHECK(node_count(e) == 0);
}

static void test_exists(kr_engine *e)
{
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"dup\"}");
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"dup\", \"freq\": 880}", "exists",
                 "a node named 'dup' already exists");
    CHECK(node_count(e) == 1);
    /* Names are exact: case and spacing make different names. */
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"DUP\"}");
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"dup \"}");
    CHECK(node_count(e) == 3);
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"dup\"}");
    /* Once removed, the name is free again. */
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"dup\"}");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"dup\"}");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"DUP\"}");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"dup \"}");
    CHECK(node_count(e) == 0);
}

static void test_unknown_node_lists_known_nodes(kr_engine *e)
{
    expect_error(e, "{\"cmd\": \"tone_set\", \"name\": \"ghost\", \"freq\": 100}", "unknown_node",
                 "unknown node 'ghost' (known nodes: none)");
    expect_error(e, "{\"cmd\": \"tone_remove\", \"name\": \"ghost\"}", "unknown_node",
                 "create it with tone_add");
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"x\"}");
    expect_ok(e, "{\"cmd\": \"tone_add\", \"name\": \"y\"}");
    expect_error(e, "{\"cmd\": \"tone_set\", \"name\": \"z\"}", "unknown_node",
                 "(known nodes: 'x', 'y')");
    expect_error(e, "{\"cmd\": \"tone_remove\", \"name\": \"z\"}", "unknown_node", "'x', 'y'");
    /* Field errors are reported before the lookup. */
    expect_error(e, "{\"cmd\": \"tone_set\", \"name\": \"z\", \"gain\": 9}", "bad_value", NULL);
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"x\"}");
    expect_error(e, "{\"cmd\": \"tone_remove\", \"name\": \"x\"}", "unknown_node",
                 "(known nodes: 'y')");
    expect_ok(e, "{\"cmd\": \"tone_remove\", \"name\": \"y\"}");
}

static void test_node_limit(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    char line[128];
    int added = 0;
    for (int i = 0; i < KR_MAX_NODES; i++) {
        snprintf(line, sizeof line, "{\"cmd\": \"tone_add\", \"name\": \"n%d\"}", i);
        json_t *r = call(&e, line);
        if (json_is_true(json_object_get(r, "ok")))
            added++;
        json_decref(r);
    }
    CHECK(added == KR_MAX_NODES);
    expect_error(&e, "{\"cmd\": \"tone_add\", \"name\": \"one-too-many\"}", "limit",
                 "at most 256 nodes");
    /* The unknown_node message stays bounded with 256 names to list. */
    json_t *r = call(&e, "{\"cmd\": \"tone_set\", \"name\": \"nope\"}");
    check_error(r, "tone_set nope", "unknown_node", "'n0', 'n1'");
    CHECK(strlen(json_string_value(json_object_get(json_object_get(r, "error"), "message"))) <
          1024);
    json_decref(r);
    expect_ok(&e, "{\"cmd\": \"render\", \"frames\": 64}");
    kr_engine_close(&e);
}

static void test_many_graph_swaps_without_render(void)
{
    /* More swaps than the retire ring holds, with no render in between: the
     * engine must settle them itself (offline) and free every graph and node. */
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"keep\"}");
    for (int i = 0; i < 700; i++) {
        expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"tmp\"}");
        expect_ok(&e, "{\"cmd\": \"tone_remove\", \"name\": \"tmp\"}");
    }
    CHECK(e.retires_pending < KR_RT_QUEUE);
    CHECK(node_count(&e) == 1);
    expect_ok(&e, "{\"cmd\": \"render\", \"frames\": 128}");
    CHECK(e.retires_pending == 0); /* render collects what was retired */
    kr_engine_close(&e);
}

/* ---- master ---------------------------------------------------------------------- */

static void test_master(kr_engine *e)
{
    json_t *r = ok_reply(e, "{\"id\": 4, \"cmd\": \"master\"}");
    CHECK(json_is_number(json_object_get(r, "gain")));
    CHECK(json_number_value(json_object_get(r, "gain")) == 1.0);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"master\", \"gain\": 0.5}");
    CHECK(json_number_value(json_object_get(r, "gain")) == 0.5);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"master\"}");
    CHECK(json_number_value(json_object_get(r, "gain")) == 0.5);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"status\"}");
    CHECK(json_real_value(json_object_get(r, "master")) == 0.5);
    json_decref(r);
    /* The documented range 0..4 includes both ends; integers are numbers. */
    expect_ok(e, "{\"cmd\": \"master\", \"gain\": 0}");
    expect_ok(e, "{\"cmd\": \"master\", \"gain\": 4}");
    /* A refused value leaves the gain alone. */
    expect_error(e, "{\"cmd\": \"master\", \"gain\": 5}", "bad_value", NULL);
    r = ok_reply(e, "{\"cmd\": \"master\"}");
    CHECK(json_number_value(json_object_get(r, "gain")) == 4.0);
    json_decref(r);
    expect_ok(e, "{\"cmd\": \"master\", \"gain\": 1}");
}

/* ---- render ------------------------------------------------------------------------ */

static void test_render_frames_and_seconds(kr_engine *e)
{
    json_int_t start = (json_int_t)atomic_load(&e->rt.frames);
    json_t *r = ok_reply(e, "{\"id\": 8, \"cmd\": \"render\", \"frames\": 4800}");
    CHECK(int_field(r, "frames") == 4800);
    CHECK(int_field(r, "position") == start + 4800);
    CHECK(json_object_get(r, "path") == NULL);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"render\", \"seconds\": 0.1}");
    CHECK(int_field(r, "frames") == 4800);
    CHECK(int_field(r, "position") == start + 9600);
    json_decref(r);
    /* Seconds round to the nearest frame. */
    r = ok_reply(e, "{\"cmd\": \"render\", \"seconds\": 0.00001}"); /* 0.48 frames */
    CHECK(int_field(r, "frames") == 0);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"render\", \"seconds\": 0.00003125}"); /* 1.5 frames */
    CHECK(int_field(r, "frames") == 2);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"render\", \"seconds\": 1}"); /* an integer is a number */
    CHECK(int_field(r, "frames") == 48000);
    json_decref(r);
    r = ok_reply(e, "{\"cmd\": \"render\", \"frames\": 0}");
    CHECK(int_field(r, "frames") == 0);
    CHECK(int_field(r, "position") == start + 9600 + 2 + 48000);
    json_decref(r);
    /* Both, or neither. */
    expect_error(e, "{\"cmd\": \"render\", \"frames\": 10, \"seconds\": 0.1}", "bad_request",
                 "exactly one of 'frames' (an integer), 'seconds' (a number)");
    expect_error(e, "{\"cmd\": \"render\", \"frames\": 0, \"seconds\": 0}", "bad_request", NULL);
    expect_error(e, "{\"cmd\": \"render\", \"append\": true}", "missing_field", NULL);
    r = ok_reply(e, "{\"cmd\": \"status\"}");
    CHECK(int_field(r, "frames") == start + 9600 + 2 + 48000);
    json_decref(r);
}

static void test_render_tone_to_wav_and_read_back(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    const char *path = tmp_path("tone.wav");
    char line[1024];
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"t\", \"freq\": 1000, \"gain\": 0.5}");
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 4800, \"path\": \"%s\"}", path);
    json_t *r = ok_reply(&e, line);
    CHECK(int_field(r, "frames") == 4800);
    CHECK(strcmp(json_string_value(json_object_get(r, "path")), path) == 0);
    json_decref(r);

    sound s;
    if (read_sound(path, &s) == 0) {
        CHECK(s.info.frames == 4800);
        CHECK(s.info.channels == 2);
        CHECK(s.info.samplerate == 48000);
        CHECK((s.info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV);
        CHECK((s.info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT);
        CHECK_NEAR(sound_peak(&s), 0.5, 0.005);
        int up = sound_upward_crossings(&s, 0);
        CHECK(up >= 99 && up <= 100); /* 1 kHz for 0.1 s */
        CHECK(sound_upward_crossings(&s, 1) == up);
        free(s.samples);
    }

    /* Append 0.05 s more: same file, 7200 frames, the tone continues. */
    snprintf(line, sizeof line,
             "{\"cmd\": \"render\", \"seconds\": 0.05, \"path\": \"%s\", \"append\": true}", path);
    expect_ok(&e, line);
    if (read_sound(path, &s) == 0) {
        CHECK(s.info.frames == 7200);
        CHECK(s.info.channels == 2);
        /* No discontinuity at the seam: the sine keeps its phase. */
        float a = s.samples[4799 * 2], b = s.samples[4800 * 2];
        CHECK(fabsf(b - a) < 0.07f); /* max step of a 1 kHz 0.5 sine is 0.065 */
        int up = sound_upward_crossings(&s, 0);
        CHECK(up >= 149 && up <= 150);
        free(s.samples);
    }
    /* append=false overwrites. */
    snprintf(line, sizeof line,
             "{\"cmd\": \"render\", \"frames\": 100, \"path\": \"%s\", \"append\": false}", path);
    expect_ok(&e, line);
    if (read_sound(path, &s) == 0) {
        CHECK(s.info.frames == 100);
        free(s.samples);
    }
    unlink(path);

    /* AIFF appends as well, keeping its own subtype. */
    path = tmp_path("tone.aiff");
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 300, \"path\": \"%s\", "
             "\"subtype\": \"pcm24\"}", path);
    expect_ok(&e, line);
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 200, \"path\": \"%s\", "
             "\"append\": true}", path);
    expect_ok(&e, line);
    if (read_sound(path, &s) == 0) {
        CHECK(s.info.frames == 500);
        CHECK((s.info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_AIFF);
        CHECK((s.info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_24);
        free(s.samples);
    }
    unlink(path);
    kr_engine_close(&e);
}

static void test_render_formats_and_subtypes(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"t\", \"gain\": 0.5}");
    static const struct { const char *leaf, *subtype; int major, sub; } ok_cases[] = {
        {"a.wav", "pcm16", SF_FORMAT_WAV, SF_FORMAT_PCM_16},
        {"b.wav", "pcm24", SF_FORMAT_WAV, SF_FORMAT_PCM_24},
        {"c.WAV", "float", SF_FORMAT_WAV, SF_FORMAT_FLOAT},
        {"d.flac", NULL, SF_FORMAT_FLAC, SF_FORMAT_PCM_24},
        {"e.flac", "pcm16", SF_FORMAT_FLAC, SF_FORMAT_PCM_16},
        {"f.aiff", NULL, SF_FORMAT_AIFF, SF_FORMAT_FLOAT},
        {"g.aif", "pcm16", SF_FORMAT_AIFF, SF_FORMAT_PCM_16},
        {"h.ogg", NULL, SF_FORMAT_OGG, SF_FORMAT_VORBIS},
    };
    char line[1024];
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        const char *path = tmp_path(ok_cases[i].leaf);
        if (ok_cases[i].subtype)
            snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 2000, \"path\": \"%s\","
                     " \"subtype\": \"%s\"}", path, ok_cases[i].subtype);
        else
            snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 2000, \"path\": \"%s\"}",
                     path);
        expect_ok(&e, line);
        sound s;
        if (read_sound(path, &s) == 0) {
            CHECK((s.info.format & SF_FORMAT_TYPEMASK) == ok_cases[i].major);
            CHECK((s.info.format & SF_FORMAT_SUBMASK) == ok_cases[i].sub);
            CHECK(s.info.frames == 2000);
            CHECK(s.info.channels == 2);
            CHECK(sound_peak(&s) > 0.4f && sound_peak(&s) < 0.6f);
            free(s.samples);
        }
        unlink(path);
    }
    kr_engine_close(&e);
}

static void test_render_errors(kr_engine *e)
{
    char line[1024];
    json_int_t before = (json_int_t)atomic_load(&e->rt.frames);
    /* Unwritable: the directory does not exist. */
    expect_error(e, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"/nonexistent-krach/x.wav\"}",
                 "io_error", "render: cannot write /nonexistent-krach/x.wav");
    /* The error code must not depend on words inside the path. */
    expect_error(e, "{\"cmd\": \"render\", \"frames\": 10, "
                    "\"path\": \"/nonexistent-krach/format/subtype.wav\"}", "io_error", NULL);
    /* A directory is not a file. */
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s/\"}", tmpdir);
    expect_error(e, line, "bad_value", NULL); /* no extension at all */
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\"}",
             tmp_path("dir.wav"));
    mkdir(tmp_path("dir.wav"), 0700);
    expect_error(e, line, "io_error", NULL);
    rmdir(tmp_path("dir.wav"));
    /* Appending to a file that is not there. */
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\", "
             "\"append\": true}", tmp_path("missing.wav"));
    expect_error(e, line, "io_error", "cannot append");
    CHECK(access(tmp_path("missing.wav"), F_OK) != 0); /* a failed append creates nothing */
    /* Append only to WAV/AIFF (checked before the file is looked at). */
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\", "
             "\"append\": true}", tmp_path("x.flac"));
    expect_error(e, line, "bad_value", "append works for .wav and .aiff files only");
    CHECK(access(tmp_path("x.flac"), F_OK) != 0);
    /* Append to a file of another shape: the request is at fault. */
    static const struct { const char *leaf; int rate, channels; } shapes[] = {
        {"mono.wav", 48000, 1}, {"slow.aiff", 44100, 2}};
    for (size_t i = 0; i < 2; i++) {
        const char *path = tmp_path(shapes[i].leaf);
        SF_INFO info = {.samplerate = shapes[i].rate, .channels = shapes[i].channels,
                        .format = (i ? SF_FORMAT_AIFF : SF_FORMAT_WAV) | SF_FORMAT_PCM_16};
        SNDFILE *f = sf_open(path, SFM_WRITE, &info);
        CHECK(f != NULL);
        short zeros[64] = {0};
        sf_writef_short(f, zeros, 64 / shapes[i].channels);
        sf_close(f);
        snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\", "
                 "\"append\": true}", path);
        expect_error(e, line, "bad_value", "the engine renders 2 at 48000 Hz");
        sound snd;
        if (read_sound(path, &snd) == 0) { /* untouched */
            CHECK(snd.info.frames == 64 / shapes[i].channels);
            free(snd.samples);
        }
        unlink(path);
    }
    /* Append to something that is not a sound file: I/O. */
    FILE *junk = fopen(tmp_path("junk.wav"), "w");
    CHECK(junk != NULL);
    if (junk) {
        fputs("this is not a RIFF file\n", junk);
        fclose(junk);
    }
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\", "
             "\"append\": true}", tmp_path("junk.wav"));
    expect_error(e, line, "io_error", "cannot append");
    unlink(tmp_path("junk.wav"));
    /* Formats and subtypes the caller chose badly. */
    static const struct { const char *leaf, *subtype, *needle; } bad[] = {
        {"x.mp3", NULL, "end the name with .wav, .flac, .aiff or .ogg"},
        {"noext", NULL, "cannot tell the format"},
        {"x.wav.txt", NULL, "cannot tell"},
        {"x.", NULL, "cannot tell"},
        {"x.wav", "pcm8", "unsupported subtype 'pcm8' (use float, pcm16 or pcm24)"},
        {"x.wav", "", "unsupported subtype ''"},
        {"x.wav", "FLOAT", "unsupported subtype"},
        {"x.ogg", "pcm16", "for .ogg files"},
        {"x.flac", "float", "for .flac files"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = tmp_path(bad[i].leaf);
        if (bad[i].subtype)
            snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\", "
                     "\"subtype\": \"%s\"}", path, bad[i].subtype);
        else
            snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 10, \"path\": \"%s\"}",
                     path);
        expect_error(e, line, "bad_value", bad[i].needle);
        CHECK(access(path, F_OK) != 0); /* nothing was created */
    }
    /* A failed render does not advance time. */
    CHECK((json_int_t)atomic_load(&e->rt.frames) == before);
}

static void test_render_needs_offline_engine(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_NULL, false))
        return;
    expect_error(&e, "{\"cmd\": \"render\", \"frames\": 100}", "not_offline",
                 "runs the null backend in real time");
    expect_error(&e, "{\"cmd\": \"render\", \"seconds\": 1, \"path\": \"x.wav\"}", "not_offline",
                 "--offline");
    json_t *r = ok_reply(&e, "{\"cmd\": \"status\"}");
    CHECK(strcmp(json_string_value(json_object_get(r, "backend")), "null") == 0);
    json_decref(r);
    /* A live engine takes commands through the audio thread just the same. */
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"live\"}");
    expect_ok(&e, "{\"cmd\": \"tone_set\", \"name\": \"live\", \"freq\": 220}");
    expect_ok(&e, "{\"cmd\": \"master\", \"gain\": 0.3}");
    expect_ok(&e, "{\"cmd\": \"tone_remove\", \"name\": \"live\"}");
    kr_engine_close(&e);
}

static void test_render_is_repeatable(void)
{
    /* Two engines, the same requests: the same samples. */
    const char *paths[2] = {tmp_path("rep0.wav"), tmp_path("rep1.wav")};
    sound s[2];
    for (int k = 0; k < 2; k++) {
        kr_engine e;
        if (open_engine(&e, KR_BACKEND_OFFLINE, false))
            return;
        char line[1024];
        expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"a\", \"freq\": 330, \"gain\": 0.3}");
        expect_ok(&e, "{\"cmd\": \"render\", \"frames\": 1000}");
        expect_ok(&e, "{\"cmd\": \"tone_set\", \"name\": \"a\", \"freq\": 550}");
        expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"b\", \"freq\": 75.5, \"gain\": 0.2}");
        expect_ok(&e, "{\"cmd\": \"master\", \"gain\": 0.8}");
        snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 9000, \"path\": \"%s\"}",
                 paths[k]);
        expect_ok(&e, line);
        kr_engine_close(&e);
        CHECK(read_sound(paths[k], &s[k]) == 0);
    }
    CHECK(s[0].info.frames == 9000 && s[1].info.frames == 9000);
    if (s[0].samples && s[1].samples)
        CHECK(memcmp(s[0].samples, s[1].samples, 9000 * 2 * sizeof(float)) == 0);
    free(s[0].samples);
    free(s[1].samples);
    unlink(paths[0]);
    unlink(paths[1]);
}

/* ---- faults ---------------------------------------------------------------------- */

static void test_fault_disabled_without_test_faults(kr_engine *e)
{
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": \"nan\"}", "disabled",
                 "--test-faults");
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": \"inf\"}", "disabled",
                 NULL);
    /* Even a bogus fault name is refused as disabled: the feature is off. */
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": \"zzz\"}", "disabled",
                 NULL);
    expect_error(e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": 1}", "bad_type", NULL);
    CHECK(node_count(e) == 0);
}

static void test_fault_with_test_faults(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, true))
        return;
    expect_error(&e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": \"zzz\"}", "bad_value",
                 "fault must be \"nan\" or \"inf\"");
    expect_error(&e, "{\"cmd\": \"tone_add\", \"name\": \"f\", \"fault\": \"NaN\"}", "bad_value",
                 NULL);
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"nan\", \"fault\": \"nan\"}");
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"inf\", \"fault\": \"inf\", \"gain\": 1}");
    expect_ok(&e, "{\"cmd\": \"tone_add\", \"name\": \"ok\", \"freq\": 300, \"gain\": 0.5}");
    expect_ok(&e, "{\"cmd\": \"master\", \"gain\": 4}");
    const char *path = tmp_path("fault.wav");
    char line[1024];
    snprintf(line, sizeof line, "{\"cmd\": \"render\", \"frames\": 4800, \"path\": \"%s\"}", path);
    expect_ok(&e, line);
    /* Both fault tones were silenced whole (per node, see graph.c): nothing
     * reached the master stage, and status names them. */
    json_t *r = ok_reply(&e, "{\"cmd\": \"status\"}");
    CHECK(int_field(r, "nonfinite") == 0);
    json_t *faulted = json_object_get(r, "faulted");
    CHECK(json_array_size(faulted) == 2);
    CHECK(json_array_size(faulted) == 2 &&
          !strcmp(json_string_value(json_array_get(faulted, 0)), "nan") &&
          !strcmp(json_string_value(json_array_get(faulted, 1)), "inf"));
    json_decref(r);
    sound s;
    if (read_sound(path, &s) == 0) {
        long bad = 0;
        for (sf_count_t i = 0; i < s.info.frames * 2; i++)
            if (!isfinite(s.samples[i]) || fabsf(s.samples[i]) > 1.0f)
                bad++;
        CHECK(bad == 0);
        CHECK(sound_peak(&s) > KR_SAFETY_KNEE);
        free(s.samples);
    }
    unlink(path);
    /* Each fault is reported once: a log line and an event line to push. */
    kr_engine_collect(&e);
    CHECK(file_contains(tmp_path("engine.log"), "node 'nan' produced NaN or infinity and was "
                        "silenced"));
    CHECK(file_contains(tmp_path("engine.log"), "node 'inf' produced NaN or infinity"));
    char *pushed = kr_engine_take_pushed(&e);
    CHECK_STR_CONTAINS(pushed, "{\"event\":\"node_fault\",\"node\":\"nan\"");
    free(pushed);
    pushed = kr_engine_take_pushed(&e);
    CHECK_STR_CONTAINS(pushed, "\"node\":\"inf\"");
    free(pushed);
    CHECK(kr_engine_take_pushed(&e) == NULL);
    kr_engine_collect(&e); /* reported once only */
    CHECK(kr_engine_take_pushed(&e) == NULL);
    kr_engine_close(&e);
}

/* ---- auth ------------------------------------------------------------------------- */

static void test_auth_required_on_tcp_peer(kr_engine *e)
{
    kr_peer tcp = {.needs_auth = true};
    static const char *const refused[] = {
        "{\"id\": 1, \"cmd\": \"ping\"}", "{\"cmd\": \"status\"}", "{\"cmd\": \"shutdown\"}",
        "{\"cmd\": \"tone_add\", \"name\": \"x\"}", "{\"cmd\": \"render\", \"frames\": 10}",
        "{\"cmd\": \"master\", \"gain\": 0}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        expect_error_peer(e, &tcp, refused[i], "unauthorized", "the connection is closed");
        CHECK(tcp.close_after_reply); /* refused, and the server hangs up */
        CHECK(!tcp.authenticated);
        tcp.close_after_reply = false;
    }
    CHECK(!e->shutdown_requested);
    CHECK(node_count(e) == 0);
    json_t *r = call_peer(e, &tcp, "{\"id\": 9, \"cmd\": \"ping\"}");
    CHECK(int_field(r, "id") == 9);
    json_decref(r);
    /* Framing errors are still answered as such. */
    expect_error_peer(e, &tcp, "{", "bad_json", NULL);
    /* Before auth even the command list stays private. */
    expect_error_peer(e, &tcp, "{\"cmd\": \"nope\"}", "unauthorized", NULL);
    tcp.close_after_reply = false;
    /* auth's own field errors are plain errors here; the server closes any
     * connection whose line before auth is not a good one (server.c). */
    expect_error_peer(e, &tcp, "{\"cmd\": \"auth\"}", "missing_field", NULL);
    expect_error_peer(e, &tcp, "{\"cmd\": \"auth\", \"token\": 5}", "bad_type", NULL);
    CHECK(!tcp.close_after_reply && !tcp.authenticated);
}

static void test_auth_wrong_token_closes(kr_engine *e)
{
    static const char *const wrong[] = {
        "", "x", "s3cret-token-0123456789abcde", /* prefix */
        "s3cret-token-0123456789abcdef0",         /* longer */
        "S3cret-token-0123456789abcdef",          /* case */
        "s3cret-token-0123456789abcdeF",          /* last byte */
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        kr_peer tcp = {.needs_auth = true};
        char line[256];
        snprintf(line, sizeof line, "{\"id\": 11, \"cmd\": \"auth\", \"token\": \"%s\"}",
                 wrong[i]);
        json_t *r = call_peer(e, &tcp, line);
        check_error(r, line, "unauthorized", "wrong token");
        CHECK(int_field(r, "id") == 11);
        json_decref(r);
        CHECK(tcp.close_after_reply);
        CHECK(!tcp.authenticated);
    }
}

static void test_auth_right_token_works(kr_engine *e)
{
    kr_peer tcp = {.needs_auth = true};
    json_t *r = call_peer(e, &tcp, "{\"id\": 1, \"cmd\": \"auth\", \"token\": \"" TOKEN "\"}");
    CHECK(json_is_true(json_object_get(r, "ok")));
    CHECK(int_field(r, "id") == 1);
    CHECK(json_object_size(r) == 2);
    json_decref(r);
    CHECK(tcp.authenticated);
    CHECK(!tcp.close_after_reply);
    r = call_peer(e, &tcp, "{\"id\": 2, \"cmd\": \"ping\"}");
    CHECK(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    r = call_peer(e, &tcp, "{\"cmd\": \"status\"}");
    CHECK(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    /* Authenticating again is harmless. */
    r = call_peer(e, &tcp, "{\"cmd\": \"auth\", \"token\": \"" TOKEN "\"}");
    CHECK(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
}

static void test_auth_on_unix_socket_is_accepted_and_ignored(kr_engine *e)
{
    kr_peer local = unix_peer();
    json_t *r = call_peer(e, &local, "{\"cmd\": \"auth\", \"token\": \"anything\"}");
    CHECK(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    CHECK(!local.close_after_reply);
    expect_error_peer(e, &local, "{\"cmd\": \"auth\"}", "missing_field", NULL);
}

static void test_auth_with_empty_engine_token_never_succeeds(void)
{
    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false))
        return;
    e.config.token[0] = '\0';
    kr_peer tcp = {.needs_auth = true};
    expect_error_peer(&e, &tcp, "{\"cmd\": \"auth\", \"token\": \"\"}", "unauthorized", NULL);
    CHECK(tcp.close_after_reply && !tcp.authenticated);
    kr_engine_close(&e);
}

static void test_token_equal(void)
{
    CHECK(kr_token_equal("abc", "abc"));
    CHECK(kr_token_equal(TOKEN, TOKEN));
    CHECK(!kr_token_equal("abc", "abd"));
    CHECK(!kr_token_equal("abc", "xbc"));
    CHECK(!kr_token_equal("abc", "ab"));   /* prefix */
    CHECK(!kr_token_equal("abc", "abcd")); /* longer */
    CHECK(!kr_token_equal("abc", ""));
    CHECK(!kr_token_equal("", "abc"));
    CHECK(!kr_token_equal("", ""));        /* no token configured: nothing matches */
    CHECK(!kr_token_equal("abc", "ABC"));
    CHECK(!kr_token_equal("a", "a\xff"));
    CHECK(kr_token_equal("\xff\x01", "\xff\x01"));
    /* A difference that XORs to a bit the others already set still counts. */
    CHECK(!kr_token_equal("ab", "ba"));
    char long_a[300], long_b[300];
    memset(long_a, 'k', 299);
    long_a[299] = '\0';
    memcpy(long_b, long_a, sizeof long_a);
    CHECK(kr_token_equal(long_a, long_b));
    long_b[150] = 'j';
    CHECK(!kr_token_equal(long_a, long_b));
}

/* ---- main ------------------------------------------------------------------------- */

static void remove_tmpdir(void)
{
    unlink(tmp_path("engine.log"));
    if (rmdir(tmpdir) != 0)
        fprintf(stderr, "note: could not remove %s (files left behind)\n", tmpdir);
}

/* faust_export: the IR as a FAUST program, or the validator's error. */
static void test_faust_export(kr_engine *e)
{
    json_t *r = ok_reply(e, "{\"cmd\": \"faust_export\", \"ir\": {\"krach_ir\": 1, \"inputs\": 0, "
                            "\"controls\": [{\"name\": \"freq\", \"init\": 440, \"lo\": 20, \"hi\": 2000}], "
                            "\"nodes\": [{\"op\": \"control\", \"index\": 0}, {\"op\": \"sine_osc\", \"in\": [0]}], "
                            "\"outputs\": [1]}}");
    const char *program = json_string_value(json_object_get(r, "faust"));
    CHECK_STR_CONTAINS(program, "import(\"stdfaust.lib\");");
    CHECK_STR_CONTAINS(program, "ctl0 = hslider(\"freq\", 440.0, 20.0, 2000.0, 0.0) : kr_ctl;");
    CHECK_STR_CONTAINS(program, "n1 = kr_sine(n0);");
    json_decref(r);
    expect_error(e, "{\"cmd\": \"faust_export\"}", "missing_field", "needs field 'ir'");
    expect_error(e, "{\"cmd\": \"faust_export\", \"ir\": {\"krach_ir\": 1, \"controls\": [], "
                    "\"nodes\": [{\"op\": \"const\", \"value\": 1}, {\"op\": \"lowpass\", \"in\": [0, 0], "
                    "\"order\": 12}], \"outputs\": [1]}}",
                 "bad_ir", "node 1 (lowpass): attribute 'order' is 12; it must be 1 to 8");
    expect_error(e, "{\"cmd\": \"faust_export\", \"ir\": {\"krach_ir\": 1, \"controls\": "
                    "[{\"name\": \"a]b\", \"init\": 0, \"lo\": 0, \"hi\": 1}], \"nodes\": "
                    "[{\"op\": \"control\", \"index\": 0}], \"outputs\": [0]}}",
                 "bad_ir", "FAUST cannot carry the character ']'");
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/krach-test-protocol-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }

    kr_engine e;
    if (open_engine(&e, KR_BACKEND_OFFLINE, false) == 0) {
        test_ping(&e);
        test_faust_export(&e);
        test_status_fields_and_types(&e);
        test_id_is_echoed(&e);
        test_malformed_json(&e);
        test_duplicate_keys_rejected(&e);
        test_non_object_request(&e);
        test_missing_or_bad_cmd(&e);
        test_id_must_be_integer(&e);
        test_unknown_command_lists_commands(&e);
        test_missing_fields(&e);
        test_bad_types(&e);
        test_bad_values(&e);
        test_node_names(&e);
        test_tone_lifecycle(&e);
        test_exists(&e);
        test_unknown_node_lists_known_nodes(&e);
        test_master(&e);
        test_render_frames_and_seconds(&e);
        test_render_errors(&e);
        test_fault_disabled_without_test_faults(&e);
        test_auth_required_on_tcp_peer(&e);
        test_auth_wrong_token_closes(&e);
        test_auth_right_token_works(&e);
        test_auth_on_unix_socket_is_accepted_and_ignored(&e);
    }
    kr_engine_close(&e);

    test_line_too_long_reply();
    test_fields_direct();
    test_shutdown_sets_the_flag();
    test_node_limit();
    test_many_graph_swaps_without_render();
    test_render_tone_to_wav_and_read_back();
    test_render_formats_and_subtypes();
    test_render_needs_offline_engine();
    test_render_is_repeatable();
    test_fault_with_test_faults();
    test_auth_with_empty_engine_token_never_succeeds();
    test_token_equal();

    remove_tmpdir();
    return KR_TEST_REPORT("protocol");
}
