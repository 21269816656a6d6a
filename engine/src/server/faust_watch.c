/* faust_watch.c — recompiling "faust:NAME" nodes when NAME.dsp changes.
 *
 * The folder's inotify descriptor is read without blocking on every turn of
 * the server loop (at least every 10 ms). A file that compiles replaces the
 * sound of every node of its type with the usual crossfade; one that does not
 * is reported (log and a pushed `faust_error` event) and the nodes keep
 * playing the version they have. */
#include <jansson.h>
#include <string.h>

#include "krach/dsp_node.h"
#include "krach/faust_dir.h"
#include "node_source.h"
#include "request.h"

static void report(kr_engine *e, const char *event, const char *name, const char *message,
                   json_t *nodes)
{
    char type[KR_FAUST_NAME_MAX + 8];
    snprintf(type, sizeof type, "faust:%s", name);
    json_t *ev = json_pack("{s:s, s:s}", "event", event, "type", type);
    if (!ev) {
        json_decref(nodes);
        return;
    }
    if (message)
        json_object_set_new(ev, "message", json_string(message));
    if (nodes)
        json_object_set_new(ev, "nodes", nodes);
    kr_engine_push_event(e, ev);
}

static void reload_type(const char *name, void *ctx)
{
    kr_engine *e = ctx;
    kr_node *users[KR_MAX_NODES];
    int count = 0;
    for (int i = 0; i < e->node_count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(e->nodes[i]);
        if (model && !strcmp(model->faust_type, name))
            users[count++] = e->nodes[i];
    }
    /* Compiled even when nothing plays it: errors show as soon as the file is
     * saved, and the cache makes the first kr.node() instant. */
    kr_error error = {0};
    double start = kr_monotonic_seconds();
    kr_dsp_program *p = kr_node_source_faust_file(e, name, &error);
    if (!p) {
        char message[sizeof error.message + 100];
        snprintf(message, sizeof message, "%s.dsp does not compile; %s: %s", name,
                 count ? "its nodes keep the previous version" : "no node plays it yet",
                 error.message);
        kr_logf(e->log, KR_LOG_WARN, "%s", message);
        report(e, "faust_error", name, message, NULL);
        return;
    }
    json_t *done = json_array();
    for (int i = 0; i < count; i++) {
        kr_error swap_error = {0};
        if (kr_dsp_node_redefine(e, users[i], p, &swap_error)) {
            kr_logf(e->log, KR_LOG_WARN, "%s.dsp: node '%s' keeps its sound: %s", name,
                    users[i]->name, swap_error.message);
            report(e, "faust_error", name, swap_error.message, NULL);
        } else {
            json_array_append_new(done, json_string(users[i]->name));
        }
    }
    char message[128];
    snprintf(message, sizeof message, "%s.dsp recompiled in %.0f ms; %zu node%s play%s it",
             name, (kr_monotonic_seconds() - start) * 1e3, json_array_size(done),
             json_array_size(done) == 1 ? "" : "s", json_array_size(done) == 1 ? "s" : "");
    kr_logf(e->log, KR_LOG_INFO, "%s", message);
    report(e, "faust_reloaded", name, message, done);
    kr_dsp_program_release(p);
}

void kr_faust_watch_tick(kr_engine *engine)
{
    if (engine->faust_dir)
        kr_faust_dir_poll(engine->faust_dir, reload_type, engine);
}
