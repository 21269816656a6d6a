/* test_names.c — the one rule for what a node name means (names.c):
 * kr_name_means, kr_engine_resolve, kr_engine_resolve_target and
 * kr_engine_resolve_one on an offline engine holding drums/kick, drums/hat,
 * drumsolo, bass and bass/sub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kr_test.h"
#include "krach/engine.h"
#include "krach/tone.h"

static void test_name_means(void)
{
    CHECK(kr_name_means("drums", "drums"));
    CHECK(kr_name_means("drums", "drums/kick"));
    CHECK(kr_name_means("drums", "drums/kick/deep"));
    CHECK(kr_name_means("drums/kick", "drums/kick"));
    CHECK(!kr_name_means("drums", "drumsolo")); /* a prefix is not a group */
    CHECK(!kr_name_means("drum", "drums/kick"));
    CHECK(!kr_name_means("drums/kick", "drums"));
    CHECK(!kr_name_means("drums/hat", "drums/kick"));
}

static void add(kr_engine *e, const char *name)
{
    kr_error error = {0};
    CHECK(kr_engine_add_node(e, kr_tone_create(name, 48000.0, 440.0, 0.1, KR_TONE_FAULT_NONE),
                             &error) == 0);
}

static bool has(kr_node **nodes, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (!strcmp(nodes[i]->name, name))
            return true;
    return false;
}

static void test_resolve(kr_engine *e)
{
    kr_node *nodes[KR_MAX_NODES];
    kr_error error = {0};
    CHECK(kr_engine_resolve(e, "drums", "", nodes, &error) == 2);
    CHECK(has(nodes, 2, "drums/kick") && has(nodes, 2, "drums/hat"));
    CHECK(kr_engine_resolve(e, "drums/kick", "", nodes, &error) == 1 && has(nodes, 1, "drums/kick"));
    /* A node and its group: both. */
    CHECK(kr_engine_resolve(e, "bass", "", nodes, &error) == 2);
    CHECK(kr_engine_resolve(e, "drum", "; fix", nodes, &error) == -1);
    CHECK(!strcmp(error.code, "unknown_node"));
    CHECK_STR_CONTAINS(error.message, "unknown node 'drum' (known nodes: 'drums/kick'");
    CHECK_STR_CONTAINS(error.message, "'drumsolo'");
    CHECK_STR_CONTAINS(error.message, "; fix");
    CHECK(kr_engine_resolve(e, "", "", nodes, &error) == -1);
}

static void test_resolve_target(kr_engine *e)
{
    kr_node *nodes[KR_MAX_NODES];
    char control[KR_VALUE_NAME];
    kr_error error = {0};
    CHECK(kr_engine_resolve_target(e, "drums", "", nodes, control, &error) == 2 && !control[0]);
    CHECK(kr_engine_resolve_target(e, "drums/gain", "", nodes, control, &error) == 2);
    CHECK(!strcmp(control, "gain") && has(nodes, 2, "drums/hat"));
    CHECK(kr_engine_resolve_target(e, "drums/kick/cutoff", "", nodes, control, &error) == 1);
    CHECK(!strcmp(control, "cutoff") && has(nodes, 1, "drums/kick"));
    /* A whole name wins over a split: bass/sub is a node, not bass's control "sub". */
    CHECK(kr_engine_resolve_target(e, "bass/sub", "", nodes, control, &error) == 1 && !control[0]);
    CHECK(kr_engine_resolve_target(e, "snare/gain", "", nodes, control, &error) == -1);
    CHECK_STR_CONTAINS(error.message, "unknown node 'snare'");
    CHECK(kr_engine_resolve_target(e, "typo", "", nodes, control, &error) == -1);
    CHECK_STR_CONTAINS(error.message, "unknown node 'typo'");
    CHECK(kr_engine_resolve_target(e, "/gain", "", nodes, control, &error) == -1);
    CHECK(kr_engine_resolve_target(e, "drums/", "", nodes, control, &error) == -1);
    char longer[200];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    longer[100] = '/';
    CHECK(kr_engine_resolve_target(e, longer, "", nodes, control, &error) == -1);
    CHECK(!strcmp(error.code, "bad_value"));
}

static void test_resolve_one(kr_engine *e)
{
    kr_error error = {0};
    CHECK(kr_engine_resolve_one(e, "drums/kick", "", &error) != NULL);
    CHECK(kr_engine_resolve_one(e, "drums", "", &error) == NULL);
    CHECK(!strcmp(error.code, "bad_value"));
    CHECK_STR_CONTAINS(error.message, "'drums' is a group (2 nodes");
    CHECK_STR_CONTAINS(error.message, "acts on one node");
    CHECK(kr_engine_resolve_one(e, "nope", "", &error) == NULL);
    CHECK(!strcmp(error.code, "unknown_node"));
}

int main(void)
{
    test_name_means();
    char dir[256];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/krach-test-names-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    kr_config cfg;
    kr_config_defaults(&cfg);
    cfg.audio.kind = KR_BACKEND_OFFLINE;
    snprintf(cfg.log_path, sizeof cfg.log_path, "%s/engine.log", dir);
    kr_engine e;
    char err[512] = "";
    int rc = kr_engine_open(&e, &cfg, err, sizeof err);
    CHECK(rc == 0);
    if (rc == 0) {
        add(&e, "drums/kick");
        add(&e, "drums/hat");
        add(&e, "drumsolo");
        add(&e, "bass");
        add(&e, "bass/sub");
        test_resolve(&e);
        test_resolve_target(&e);
        test_resolve_one(&e);
    }
    kr_engine_close(&e);
    char log[512];
    snprintf(log, sizeof log, "%s/engine.log", dir);
    unlink(log);
    rmdir(dir);
    return KR_TEST_REPORT("names");
}
