/* test_batch.c — `batch` at the engine's sizes (issue 12, A1 and A2), without
 * sockets: an offline engine opened in-process, requests through
 * kr_protocol_handle.
 *
 * A1: one batch may remove more nodes and routes than the engine holds at
 * once (the lists of removed objects waiting to be freed used to overflow).
 * A2: a batch over a limit is refused and `state` is byte for byte what it
 * was. The log goes to a temporary directory removed at the end. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kr_test.h"
#include "krach/engine.h"
#include "krach/protocol.h"

#define SOURCE_IR                                                                      \
    "{\"krach_ir\":1,\"inputs\":0,\"controls\":[{\"name\":\"level\",\"init\":0.25,"   \
    "\"lo\":0.0,\"hi\":1.0,\"step\":0.0}],\"nodes\":[{\"op\":\"control\",\"index\":0}," \
    "{\"op\":\"const\",\"value\":0.0},{\"op\":\"add\",\"in\":[0,1]}],\"outputs\":[2]}"
#define FX_IR                                                                          \
    "{\"krach_ir\":1,\"inputs\":1,\"controls\":[{\"name\":\"amount\",\"init\":0.5,"   \
    "\"lo\":0.0,\"hi\":1.0,\"step\":0.0}],\"nodes\":[{\"op\":\"input\",\"index\":0},"   \
    "{\"op\":\"control\",\"index\":0},{\"op\":\"mul\",\"in\":[0,1]}],\"outputs\":[2]}"

static char tmpdir[256];

/* The reply to `request` (parsed; the caller decrefs), NULL if it is not JSON. */
static json_t *ask(kr_engine *e, const char *request)
{
    kr_peer peer = {0};
    char *text = kr_protocol_handle(e, &peer, request, strlen(request));
    json_t *reply = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    kr_engine_collect(e);
    return reply;
}

static bool ok(kr_engine *e, const char *request)
{
    json_t *reply = ask(e, request);
    bool yes = json_is_true(json_object_get(reply, "ok"));
    if (!yes)
        fprintf(stderr, "refused: %.300s\n",
                json_string_value(json_object_get(json_object_get(reply, "error"), "message")));
    json_decref(reply);
    return yes;
}

/* `state` as compact text (the caller frees it). */
static char *state(kr_engine *e)
{
    json_t *reply = ask(e, "{\"cmd\":\"state\"}");
    char *text = json_dumps(json_object_get(reply, "state"), JSON_COMPACT);
    json_decref(reply);
    return text;
}

/* Appends one command (JSON text) to a growing batch request. */
static void add(char **batch, size_t *len, const char *fmt, const char *a, const char *b)
{
    char one[1024];
    int n = snprintf(one, sizeof one, fmt, a, b);
    char *grown = realloc(*batch, *len + (size_t)n + 64);
    if (!grown)
        abort();
    *batch = grown;
    if (*len == 0)
        *len = (size_t)sprintf(*batch, "{\"cmd\":\"batch\",\"commands\":[");
    else
        (*batch)[(*len)++] = ',';
    memcpy(*batch + *len, one, (size_t)n + 1);
    *len += (size_t)n;
}

static char *finish(char *batch, size_t len)
{
    memcpy(batch + len, "]}", 3);
    return batch;
}

static void test_a_batch_removes_more_nodes_than_the_engine_holds(kr_engine *e)
{
    char *batch = NULL, name[32];
    size_t len = 0;
    for (int i = 0; i < 512; i++) { /* 1024 commands: 512 nodes made and removed */
        snprintf(name, sizeof name, "n%d", i);
        add(&batch, &len, "{\"cmd\":\"node_set\",\"name\":\"%s\",\"ir\":%s}", name, SOURCE_IR);
        add(&batch, &len, "{\"cmd\":\"node_remove\",\"name\":\"%s\"%s}", name, "");
    }
    CHECK(ok(e, finish(batch, len)));
    CHECK(ok(e, "{\"cmd\":\"ping\"}"));
    CHECK(e->node_count == 0 && e->dead_node_count == 0);
    char *after = state(e);
    CHECK_STR_CONTAINS(after, "\"nodes\":[]");
    free(after);
    free(batch);
}

static void test_a_batch_drops_more_routes_than_the_engine_holds(kr_engine *e)
{
    char *batch = NULL, src[32], dst[32];
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(src, sizeof src, "s%d", i);
        add(&batch, &len, "{\"cmd\":\"node_set\",\"name\":\"%s\",\"ir\":%s}", src, SOURCE_IR);
    }
    for (int j = 0; j < 25; j++) {
        snprintf(dst, sizeof dst, "fx%d", j);
        add(&batch, &len, "{\"cmd\":\"node_set\",\"name\":\"%s\",\"ir\":%s}", dst, FX_IR);
    }
    CHECK(ok(e, finish(batch, len)));
    len = 0;
    for (int i = 0; i < 1000; i++) { /* 40 × 25 routes */
        snprintf(src, sizeof src, "s%d", i / 25);
        snprintf(dst, sizeof dst, "fx%d", i % 25);
        add(&batch, &len, "{\"cmd\":\"connect\",\"src\":\"%s\",\"dst\":\"%s\"}", src, dst);
    }
    CHECK(ok(e, finish(batch, len)));
    CHECK(e->route_count == 1000);
    len = 0; /* drop all 1000, make 40 more and drop those: 1040 in one batch */
    for (int j = 0; j < 25; j++) {
        snprintf(dst, sizeof dst, "fx%d", j);
        add(&batch, &len, "{\"cmd\":\"node_remove\",\"name\":\"%s\"%s}", dst, "");
    }
    add(&batch, &len, "{\"cmd\":\"node_set\",\"name\":\"%s\",\"ir\":%s}", "fx0", FX_IR);
    for (int i = 0; i < 40; i++) {
        snprintf(src, sizeof src, "s%d", i);
        add(&batch, &len, "{\"cmd\":\"connect\",\"src\":\"%s\",\"dst\":\"%s\"}", src, "fx0");
    }
    add(&batch, &len, "{\"cmd\":\"node_remove\",\"name\":\"%s\"%s}", "fx0", "");
    CHECK(ok(e, finish(batch, len)));
    CHECK(ok(e, "{\"cmd\":\"ping\"}"));
    CHECK(e->route_count == 0 && e->node_count == 40 && e->dead_route_count == 0);
    free(batch);
}

static void test_a_refused_batch_changes_nothing(kr_engine *e)
{
    char *batch = NULL, name[32];
    size_t len = 0;
    for (int i = 0; i < 300; i++) { /* 40 nodes exist: the 217th new one is too many */
        snprintf(name, sizeof name, "m%d", i);
        add(&batch, &len, "{\"cmd\":\"node_set\",\"name\":\"%s\",\"ir\":%s}", name, SOURCE_IR);
    }
    char *before = state(e);
    json_t *reply = ask(e, finish(batch, len));
    const char *message =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    CHECK(json_is_false(json_object_get(reply, "ok")));
    CHECK_STR_CONTAINS(message, "batch command 216");
    CHECK_STR_CONTAINS(message, "at most 256 nodes");
    char *after = state(e);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK(e->node_count == 40);
    json_decref(reply);
    free(before);
    free(after);
    free(batch);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/krach-test-batch-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    kr_config cfg;
    kr_config_defaults(&cfg);
    cfg.audio.kind = KR_BACKEND_OFFLINE;
    snprintf(cfg.log_path, sizeof cfg.log_path, "%s/engine.log", tmpdir);
    snprintf(cfg.dsp_dir, sizeof cfg.dsp_dir, "%s/dsp", tmpdir);
    static kr_engine engine; /* large: off the stack */
    char err[512] = "";
    int rc = kr_engine_open(&engine, &cfg, err, sizeof err);
    if (rc)
        fprintf(stderr, "kr_engine_open: %s\n", err);
    CHECK(rc == 0);
    if (rc == 0) {
        test_a_batch_removes_more_nodes_than_the_engine_holds(&engine);
        test_a_batch_drops_more_routes_than_the_engine_holds(&engine);
        test_a_refused_batch_changes_nothing(&engine);
    }
    kr_engine_close(&engine);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return KR_TEST_REPORT("batch");
}
