/* faust_watch.c — recompiling "faust:NAME" nodes when the FAUST folder changes.
 *
 * The folder's inotify descriptor is read without blocking on every turn of
 * the server loop (at least every 10 ms). Any change in the folder may change
 * any program of it (they can import each other), so the cache forgets what
 * it compiled from there and every type in use is compiled again, and every
 * NAME.dsp that was itself saved (to report its errors at once). A node
 * whose program really changed (libfaust's key of the expanded code differs)
 * crossfades to it, keeping control values by name; one whose program is the
 * same keeps playing untouched. A file that does not compile is reported (log
 * and a pushed `faust_error` event) and its nodes keep what they have.
 *
 * Compiles run in the helper process and are never waited for (faust.h): a
 * type whose program is being compiled waits in the folder's list
 * (kr_faust_dir_waiting) and is reloaded once its compile is done. The tick
 * also collects finished compiles for everyone (kr_faust_cache_poll). */
#include <jansson.h>
#include <stdatomic.h>
#include <string.h>

#include "krach/dsp_node.h"
#include "krach/faust.h"
#include "krach/faust_dir.h"
#include "node_source.h"
#include "request.h"

#define WATCH_TYPES 64 /* types looked at in one turn; the rest wait for the next */

typedef struct type_list {
    char name[WATCH_TYPES][KR_FAUST_NAME_MAX + 1];
    bool saved[WATCH_TYPES];    /* the file NAME.dsp itself changed */
    int count;
} type_list;

static void add_type(type_list *list, const char *name, bool saved)
{
    for (int i = 0; i < list->count; i++) {
        if (!strcmp(list->name[i], name)) {
            list->saved[i] |= saved;
            return;
        }
    }
    if (list->count == WATCH_TYPES)
        return;
    snprintf(list->name[list->count], sizeof list->name[0], "%s", name);
    list->saved[list->count++] = saved;
}

static void note_saved(const char *name, void *ctx)
{
    add_type(ctx, name, true);
}

static void report(kr_engine *e, const char *event, const char *name, const char *message,
                   json_t *nodes)
{
    char type[KR_FAUST_NAME_MAX + 8];
    snprintf(type, sizeof type, "faust:%s", name);
    json_t *ev = json_pack("{s:s, s:s, s:s}", "event", event, "type", type, "message", message);
    if (!ev) {
        json_decref(nodes);
        return;
    }
    if (nodes)
        json_object_set_new(ev, "nodes", nodes);
    kr_engine_push_event(e, ev);
}

/* Type `name` waits for compile task `task` (held): one wait per type. */
static void wait_for(kr_engine *e, const char *name, bool saved, long task, double since)
{
    kr_faust_dir_waits *waits = kr_faust_dir_waiting(e->faust_dir);
    for (int i = 0; i < waits->count; i++) {
        struct kr_faust_dir_wait *w = &waits->list[i];
        if (!strcmp(w->name, name)) {
            kr_faust_cache_release(e->faust_cache, w->task);
            w->task = task;
            w->saved |= saved;
            return;
        }
    }
    if (waits->count == KR_FAUST_DIR_WAITS) { /* 64 types compiling: the next change retries */
        kr_faust_cache_release(e->faust_cache, task);
        return;
    }
    struct kr_faust_dir_wait *w = &waits->list[waits->count++];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->saved = saved;
    w->task = task;
    w->since = since;
}

static void reload_type(kr_engine *e, const char *name, bool saved, double start)
{
    kr_node *users[KR_MAX_NODES];
    int count = 0;
    for (int i = 0; i < e->node_count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(e->nodes[i]);
        if (model && !strcmp(model->faust_type, name))
            users[count++] = e->nodes[i];
    }
    kr_error error = {0};
    kr_dsp_program *p = kr_node_source_faust_file(e, name, &error);
    long task = p ? 0 : kr_faust_cache_take_pending(e->faust_cache);
    if (task) { /* compiling: reloaded when it is done */
        wait_for(e, name, saved, task, start);
        return;
    }
    if (!p) {
        char message[sizeof error.message + 100];
        snprintf(message, sizeof message, "%s.dsp does not compile; %s: %s", name,
                 count ? "its nodes keep the previous version" : "no node plays it yet",
                 error.message);
        kr_logf(e->log, KR_LOG_WARN, "%s", message);
        report(e, "faust_error", name, message, NULL);
        return;
    }
    json_t *swapped = json_array();
    for (int i = 0; i < count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(users[i]);
        if (kr_dsp_program_equal(model->program, p) && !atomic_load(&users[i]->faulted))
            continue; /* the same DSP: nothing to swap, nothing to restart */
        kr_error swap_error = {0};
        if (kr_dsp_node_redefine(e, users[i], p, &swap_error)) {
            kr_logf(e->log, KR_LOG_WARN, "%s.dsp: node '%s' keeps its sound: %s", name,
                    users[i]->name, swap_error.message);
            report(e, "faust_error", name, swap_error.message, NULL);
        } else {
            json_array_append_new(swapped, json_string(users[i]->name));
        }
    }
    size_t n = json_array_size(swapped);
    if (n == 0 && !saved) { /* another file changed, and this program did not */
        json_decref(swapped);
        kr_dsp_program_release(p);
        return;
    }
    char message[160];
    if (n == 0 && count > 0)
        snprintf(message, sizeof message, "%s.dsp saved; it computes the same as before, so "
                 "its nodes play on untouched", name);
    else
        snprintf(message, sizeof message, "%s.dsp recompiled in %.0f ms; %zu node%s play%s it",
                 name, (kr_monotonic_seconds() - start) * 1e3, n, n == 1 ? "" : "s",
                 n == 1 ? "s" : "");
    kr_logf(e->log, KR_LOG_INFO, "%s", message);
    report(e, "faust_reloaded", name, message, swapped);
    kr_dsp_program_release(p);
}

/* Types whose compile is done are reloaded now (they may wait again, for a
 * newer version of their file). */
static void reload_ready(kr_engine *e)
{
    kr_faust_dir_waits *waits = kr_faust_dir_waiting(e->faust_dir);
    for (int i = 0; i < waits->count;) {
        struct kr_faust_dir_wait w = waits->list[i];
        if (!kr_faust_cache_done(e->faust_cache, w.task)) {
            i++;
            continue;
        }
        waits->list[i] = waits->list[--waits->count];
        reload_type(e, w.name, w.saved, w.since);
        kr_faust_cache_release(e->faust_cache, w.task);
    }
}

void kr_faust_watch_tick(kr_engine *engine)
{
    kr_faust_cache_poll(engine->faust_cache);
    if (!engine->faust_dir)
        return;
    reload_ready(engine);
    type_list types = {.count = 0};
    if (!kr_faust_dir_poll(engine->faust_dir, note_saved, &types))
        return;
    /* A changed import changes its importers: nothing compiled from the
     * folder can be trusted, and every type in use is compiled again. */
    kr_faust_cache_forget(engine->faust_cache, kr_faust_dir_path(engine->faust_dir));
    for (int i = 0; i < engine->node_count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(engine->nodes[i]);
        if (model && model->faust_type[0])
            add_type(&types, model->faust_type, false);
    }
    for (int i = 0; i < types.count; i++)
        reload_type(engine, types.name[i], types.saved[i], kr_monotonic_seconds());
}
