/* deferred.c — requests that wait for a FAUST compile (see deferred.h). */
#include "deferred.h"

#include <stdlib.h>
#include <string.h>

#include "krach/faust.h"

struct kr_deferred {
    char *line;                 /* the waiting request (no newline), or NULL */
    size_t len;
    long *tasks;                /* compile tasks the request holds */
    int task_count, task_cap;
    char *held;                 /* lines sent meanwhile, each ending in '\n' */
    size_t held_len, held_cap;
};

/* Appends `n` bytes (and a newline if `newline`) to a growing buffer. */
static int append(char **buf, size_t *len, size_t *cap, const char *bytes, size_t n,
                  bool newline)
{
    size_t need = *len + n + 2;
    if (need > *cap) {
        size_t grown_cap = *cap ? *cap : 1024;
        while (grown_cap < need)
            grown_cap *= 2;
        char *grown = realloc(*buf, grown_cap);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = grown_cap;
    }
    memcpy(*buf + *len, bytes, n);
    *len += n;
    if (newline)
        (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
    return 0;
}

bool kr_deferred_waiting(const kr_peer *peer)
{
    return peer->deferred && peer->deferred->line;
}

static void release_tasks(kr_engine *engine, struct kr_deferred *d)
{
    for (int i = 0; i < d->task_count; i++)
        kr_faust_cache_release(engine->faust_cache, d->tasks[i]);
    d->task_count = 0;
}

/* The request waits for task `id`: keep its line (NULL: out of memory). */
static struct kr_deferred *wait_for(kr_peer *peer, long id, const char *line, size_t len)
{
    struct kr_deferred *d = peer->deferred;
    if (!d && !(d = peer->deferred = calloc(1, sizeof *d)))
        return NULL;
    if (d->task_count == d->task_cap) {
        int cap = d->task_cap ? 2 * d->task_cap : 4;
        long *grown = realloc(d->tasks, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        d->tasks = grown;
        d->task_cap = cap;
    }
    d->line = malloc(len + 1);
    if (!d->line)
        return NULL; /* the caller releases `id` */
    d->tasks[d->task_count++] = id;
    memcpy(d->line, line, len);
    d->line[len] = '\0';
    d->len = len;
    return d;
}

char *kr_deferred_handle(kr_engine *engine, kr_peer *peer, const char *line, size_t len)
{
    struct kr_deferred *d = peer->deferred;
    if (d && d->line) { /* an earlier request waits: this one runs after it */
        if (append(&d->held, &d->held_len, &d->held_cap, line, len, true))
            peer->close_after_reply = true; /* out of memory: hang up rather than reorder */
        return NULL;
    }
    kr_faust_cache *cache = engine->faust_cache;
    long stale = kr_faust_cache_take_pending(cache); /* a miss no request claimed */
    if (stale)
        kr_faust_cache_release(cache, stale);
    char *reply = kr_protocol_handle(engine, peer, line, len);
    long id = kr_faust_cache_take_pending(cache);
    if (!id) {
        if (d)
            release_tasks(engine, d);
        return reply;
    }
    free(reply); /* "compiling": the real answer comes later */
    if (!wait_for(peer, id, line, len)) {
        kr_faust_cache_release(cache, id);
        peer->close_after_reply = true;
        return NULL;
    }
    return NULL;
}

char *kr_deferred_resume(kr_engine *engine, kr_peer *peer)
{
    struct kr_deferred *d = peer->deferred;
    if (!d || !d->line || !kr_faust_cache_done(engine->faust_cache, d->tasks[d->task_count - 1]))
        return NULL;
    char *line = d->line, *held = d->held;
    size_t len = d->len, held_len = d->held_len;
    d->line = d->held = NULL;
    d->held_len = d->held_cap = 0;
    char *out = NULL;
    size_t out_len = 0, out_cap = 0;
    char *reply = kr_deferred_handle(engine, peer, line, len);
    if (reply && append(&out, &out_len, &out_cap, reply, strlen(reply), false))
        peer->close_after_reply = true;
    free(reply);
    free(line);
    /* The lines kept meanwhile, in order; those after a new wait are kept again. */
    for (size_t at = 0; held && at < held_len;) {
        char *nl = memchr(held + at, '\n', held_len - at);
        size_t n = (size_t)(nl - (held + at));
        reply = kr_deferred_handle(engine, peer, held + at, n);
        if (reply && append(&out, &out_len, &out_cap, reply, strlen(reply), false))
            peer->close_after_reply = true;
        free(reply);
        at += n + 1;
    }
    free(held);
    return out;
}

void kr_deferred_free(kr_engine *engine, kr_peer *peer)
{
    struct kr_deferred *d = peer->deferred;
    if (!d)
        return;
    release_tasks(engine, d);
    free(d->tasks);
    free(d->line);
    free(d->held);
    free(d);
    peer->deferred = NULL;
}
