/* code.c — the cache of compiled FAUST code, the queue of compiles that run
 * in the helper process (job.h), and FAUST-backed kr_dsp_programs (see
 * faust.h, backend.h). Server thread only. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "code.h"
#include "job.h"
#include "../dsp/program.h"

/* One compile: queued, running in the helper, or done. A done task keeps
 * its result (code or error) while requests hold it: the request that waited
 * for it is run again and must find the result, even a failure, which the
 * cache does not keep. */
typedef struct compile_task {
    long id;
    uint64_t hash;
    char *key;                  /* "<include folder>\n<source>" */
    char *name, *include_dir;   /* include_dir NULL for none */
    kr_faust_job *job;          /* while running */
    bool done;
    double started;
    kr_faust_code *code;        /* done: the result (the task's reference), */
    kr_error error;             /* or why there is none */
    int holds;                  /* requests waiting for it or using it */
} compile_task;

struct kr_faust_cache {
    int capacity, count;
    long clock;                 /* bumped on every use, for LRU eviction */
    struct cache_entry {
        uint64_t hash;
        char *source;
        kr_faust_code *code;    /* the cache's reference */
        long last_used;
    } *entries;
    kr_faust_cache_stats stats;
    bool deferred;              /* a miss queues a task and answers "compiling" */
    compile_task **tasks;       /* oldest first: one runs at a time */
    int task_count, task_cap;
    long next_id, pending;      /* the task the last miss waits for, or 0 */
};

void kr_faust_cache_set_deferred(kr_faust_cache *cache, bool deferred)
{
    cache->deferred = deferred;
}

void kr_faust_unavailable(const char *what, kr_error *error)
{
    kr_error_set(error, "unavailable", "%s needs the FAUST backend, which this engine was built "
                 "without: install the Debian packages faust and libfaust2 (apt-get install "
                 "faust libfaust2) and rebuild krach (make)", what);
}

bool kr_faust_available(void)
{
#ifdef KRACH_HAVE_LIBFAUST
    return true;
#else
    return false;
#endif
}

kr_faust_cache *kr_faust_cache_create(int capacity)
{
    kr_faust_cache *cache = calloc(1, sizeof *cache);
    if (!cache)
        return NULL;
    cache->capacity = capacity > 0 ? capacity : 1;
    cache->entries = calloc((size_t)cache->capacity, sizeof *cache->entries);
    if (!cache->entries) {
        free(cache);
        return NULL;
    }
    return cache;
}

static void entry_clear(struct cache_entry *entry)
{
    kr_faust_code_release(entry->code);
    free(entry->source);
    memset(entry, 0, sizeof *entry);
}

static void task_free(compile_task *task)
{
    kr_faust_job_free(task->job);
    kr_faust_code_release(task->code);
    free(task->key);
    free(task->name);
    free(task->include_dir);
    free(task);
}

void kr_faust_cache_destroy(kr_faust_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < cache->count; i++)
        entry_clear(&cache->entries[i]);
    for (int i = 0; i < cache->task_count; i++)
        task_free(cache->tasks[i]);
    free(cache->tasks);
    free(cache->entries);
    free(cache);
}

kr_faust_cache_stats kr_faust_cache_stats_get(const kr_faust_cache *cache)
{
    kr_faust_cache_stats stats = cache->stats;
    stats.entries = cache->count;
    return stats;
}

/* Keeps `code` under `source`, evicting the least recently used entry when
 * full. A failure to remember only costs a recompile later. */
static void cache_put(kr_faust_cache *cache, uint64_t hash, const char *source,
                      kr_faust_code *code)
{
    char *copy = strdup(source);
    if (!copy)
        return;
    struct cache_entry *slot;
    if (cache->count < cache->capacity) {
        slot = &cache->entries[cache->count++];
    } else {
        slot = &cache->entries[0];
        for (int i = 1; i < cache->count; i++)
            if (cache->entries[i].last_used < slot->last_used)
                slot = &cache->entries[i];
        entry_clear(slot);
    }
    kr_faust_code_retain(code);
    *slot = (struct cache_entry){hash, copy, code, ++cache->clock};
}

void kr_faust_cache_forget(kr_faust_cache *cache, const char *include_dir)
{
    if (!cache)
        return;
    size_t n = strlen(include_dir);
    for (int i = cache->count - 1; i >= 0; i--) {
        /* Keys are "<include folder>\n<source>". */
        const char *key = cache->entries[i].source;
        if (strncmp(key, include_dir, n) == 0 && key[n] == '\n') {
            entry_clear(&cache->entries[i]);
            cache->entries[i] = cache->entries[--cache->count];
        }
    }
}

/* The cached code for `source` (a new reference), or NULL. */
static kr_faust_code *cache_get(kr_faust_cache *cache, uint64_t hash, const char *source)
{
    for (int i = 0; cache && i < cache->count; i++) {
        struct cache_entry *entry = &cache->entries[i];
        if (entry->hash == hash && strcmp(entry->source, source) == 0) {
            entry->last_used = ++cache->clock;
            cache->stats.hits++;
            kr_faust_code_retain(entry->code);
            return entry->code;
        }
    }
    return NULL;
}

/* ---- compile tasks: libfaust in the helper process (job.h) -------------- */

static compile_task *task_find_id(const kr_faust_cache *cache, long id, int *index)
{
    for (int i = 0; cache && i < cache->task_count; i++) {
        if (cache->tasks[i]->id == id) {
            if (index)
                *index = i;
            return cache->tasks[i];
        }
    }
    return NULL;
}

static void task_remove(kr_faust_cache *cache, int index)
{
    task_free(cache->tasks[index]);
    memmove(&cache->tasks[index], &cache->tasks[index + 1],
            (size_t)(cache->task_count - index - 1) * sizeof *cache->tasks);
    cache->task_count--;
}

/* Its result for a request: a new reference, or NULL with the error. */
static kr_faust_code *task_result(compile_task *task, kr_error *error)
{
    if (task->code)
        kr_faust_code_retain(task->code);
    else
        *error = task->error;
    return task->code;
}

/* A finished compile: its code goes to the cache, the result stays with the
 * task for the requests holding it. */
static void task_finish(kr_faust_cache *cache, compile_task *task)
{
    task->code = kr_faust_job_result(task->job, &task->error);
    kr_faust_job_free(task->job);
    task->job = NULL;
    task->done = true;
    if (task->code) {
        cache->stats.misses++;
        cache->stats.last_compile_ms = (kr_monotonic_seconds() - task->started) * 1e3;
        cache_put(cache, task->hash, task->key, task->code);
    }
}

/* Starts the oldest queued task if none runs (one compile at a time: the
 * machine's cores are the audio's first). */
static void task_start_next(kr_faust_cache *cache)
{
    for (int i = 0; i < cache->task_count; i++) {
        compile_task *task = cache->tasks[i];
        if (task->job)
            return;
        if (task->done)
            continue;
        task->started = kr_monotonic_seconds();
        const char *source = strchr(task->key, '\n') + 1;
        task->job = kr_faust_job_start(task->name, source, task->include_dir, &task->error);
        if (task->job)
            return;
        task->done = true; /* could not start: that is its result */
    }
}

static compile_task *task_add(kr_faust_cache *cache, uint64_t hash, char *key, const char *name,
                              const char *include_dir, kr_error *error)
{
    compile_task *task = calloc(1, sizeof *task);
    if (task && cache->task_count == cache->task_cap) {
        int cap = cache->task_cap ? cache->task_cap * 2 : 8;
        compile_task **grown = realloc(cache->tasks, (size_t)cap * sizeof *grown);
        if (grown) {
            cache->tasks = grown;
            cache->task_cap = cap;
        }
    }
    if (task) {
        task->name = strdup(name);
        task->include_dir = include_dir ? strdup(include_dir) : NULL;
    }
    if (!task || cache->task_count == cache->task_cap || !task->name ||
        (include_dir && !task->include_dir)) {
        if (task)
            task->key = NULL, task_free(task);
        free(key);
        kr_error_set(error, "io_error", "out of memory compiling %s", name);
        return NULL;
    }
    task->id = ++cache->next_id;
    task->hash = hash;
    task->key = key;
    cache->tasks[cache->task_count++] = task;
    task_start_next(cache);
    return task;
}

bool kr_faust_cache_poll(kr_faust_cache *cache)
{
    if (!cache)
        return false;
    bool finished = false;
    for (int i = 0; i < cache->task_count; i++) {
        compile_task *task = cache->tasks[i];
        if (task->job && kr_faust_job_poll(task->job)) {
            task_finish(cache, task);
            finished = true;
        }
    }
    for (int i = cache->task_count - 1; i >= 0; i--) /* nobody waits for these */
        if (cache->tasks[i]->done && cache->tasks[i]->holds <= 0)
            task_remove(cache, i);
    task_start_next(cache);
    return finished;
}

long kr_faust_cache_take_pending(kr_faust_cache *cache)
{
    if (!cache || !cache->pending)
        return 0;
    long id = cache->pending;
    cache->pending = 0;
    compile_task *task = task_find_id(cache, id, NULL);
    if (!task)
        return 0;
    task->holds++;
    return id;
}

bool kr_faust_cache_done(const kr_faust_cache *cache, long id)
{
    compile_task *task = task_find_id(cache, id, NULL);
    return !task || task->done;
}

void kr_faust_cache_release(kr_faust_cache *cache, long id)
{
    int index;
    compile_task *task = task_find_id(cache, id, &index);
    if (task && --task->holds <= 0 && task->done)
        task_remove(cache, index);
}

/* Compiles now, waiting for the helper (no cache, or one that cannot defer). */
static kr_faust_code *compile_now(const char *name, const char *source, const char *include_dir,
                                  kr_error *error)
{
    kr_faust_job *job = kr_faust_job_start(name, source, include_dir, error);
    if (!job)
        return NULL;
    const struct timespec nap = {0, 2000000}; /* 2 ms */
    while (!kr_faust_job_poll(job))
        nanosleep(&nap, NULL);
    kr_faust_code *code = kr_faust_job_result(job, error);
    kr_faust_job_free(job);
    return code;
}

/* Compiled code for `source`: from the cache, from a finished task, or
 * compiled. A deferring cache answers a miss with error "compiling" and
 * remembers the task (kr_faust_cache_take_pending); others wait for it.
 * The key is the include folder and the source: both decide the result. */
static kr_faust_code *obtain_code(kr_faust_cache *cache, const char *name, const char *source,
                                  const char *include_dir, kr_error *error)
{
    if (!kr_faust_available()) {
        kr_faust_unavailable(name, error);
        return NULL;
    }
    size_t dir_len = include_dir ? strlen(include_dir) : 0, len = strlen(source);
    char *key = malloc(dir_len + 1 + len + 1);
    if (!key) {
        kr_error_set(error, "io_error", "out of memory compiling %s", name);
        return NULL;
    }
    memcpy(key, include_dir ? include_dir : "", dir_len);
    key[dir_len] = '\n';
    memcpy(key + dir_len + 1, source, len + 1);
    uint64_t hash = kr_dsp_hash_bytes(key, dir_len + 1 + len);
    /* A task first: the request that waited for it finds its result there
     * (a miss, not a hit), even an error. */
    compile_task *task = NULL;
    for (int i = 0; cache && i < cache->task_count && !task; i++)
        if (cache->tasks[i]->hash == hash && !strcmp(cache->tasks[i]->key, key))
            task = cache->tasks[i];
    if (task && task->done) {
        free(key);
        return task_result(task, error);
    }
    kr_faust_code *code = task ? NULL : cache_get(cache, hash, key);
    if (code || !cache || !cache->deferred) {
        if (!code) {
            double start = kr_monotonic_seconds();
            code = compile_now(name, source, include_dir, error);
            if (code && cache) {
                cache->stats.misses++;
                cache->stats.last_compile_ms = (kr_monotonic_seconds() - start) * 1e3;
                cache_put(cache, hash, key, code);
            }
        }
        free(key);
        return code;
    }
    if (task) {
        free(key);
    } else if (!(task = task_add(cache, hash, key, name, include_dir, error))) {
        return NULL;
    }
    if (task->done)
        return task_result(task, error);
    cache->pending = task->id;
    kr_error_set(error, "compiling", "FAUST is compiling %s; the reply follows when it is done",
                 name);
    return NULL;
}

/* A program that runs `code`: controls `controls` (copied). Its signature is
 * the rate, the controls and libfaust's SHA key of the code *with its imports
 * expanded*, so a program is "the same" exactly when it computes the same. */
static kr_dsp_program *make_program(kr_faust_code *code, const kr_ir_control *controls,
                                    int control_count, double sample_rate, int ir_nodes,
                                    kr_error *error)
{
    kr_dsp_program *p = calloc(1, sizeof *p);
    const char *sha = kr_faust_code_sha(code);
    size_t sha_len = strlen(sha), controls_len = (size_t)control_count * sizeof *controls;
    size_t sig_len = sizeof sample_rate + sha_len + controls_len;
    if (p) {
        p->controls = calloc((size_t)control_count + 1, sizeof *p->controls);
        p->signature = malloc(sig_len);
    }
    if (!p || !p->controls || !p->signature) {
        if (p) {
            free(p->controls);
            free(p->signature);
        }
        free(p);
        kr_faust_code_release(code);
        kr_error_set(error, "io_error", "out of memory creating a FAUST program");
        return NULL;
    }
    memcpy(p->controls, controls, (size_t)control_count * sizeof *controls);
    memcpy(p->signature, &sample_rate, sizeof sample_rate);
    memcpy(p->signature + sizeof sample_rate, sha, sha_len);
    memcpy(p->signature + sizeof sample_rate + sha_len, p->controls, controls_len);
    p->signature_len = sig_len;
    p->hash = kr_dsp_hash_bytes(p->signature, sig_len);
    atomic_init(&p->refs, 1);
    p->sample_rate = sample_rate;
    p->inputs = kr_faust_code_inputs(code);
    p->outputs = kr_faust_code_outputs(code);
    p->control_count = control_count;
    p->stats.ir_nodes = ir_nodes;
    p->faust = code; /* takes the caller's reference */
    return p;
}

kr_dsp_program *kr_faust_compile_source(kr_faust_cache *cache, const char *name,
                                        const char *source, const char *include_dir,
                                        double sample_rate, kr_error *error)
{
    kr_faust_code *code = obtain_code(cache, name, source, include_dir, error);
    if (!code)
        return NULL;
    int count = kr_faust_code_control_count(code);
    return make_program(code, kr_faust_code_controls(code), count, sample_rate, 0, error);
}

kr_dsp_program *kr_faust_compile_ir(kr_faust_cache *cache, const kr_ir *ir, double sample_rate,
                                    kr_error *error)
{
    char *source = kr_faust_export(ir, error);
    if (!source)
        return NULL;
    kr_faust_code *code = obtain_code(cache, "this synth", source, NULL, error);
    kr_dsp_program *p = NULL;
    if (code) {
        /* The export names its sliders after the IR's controls; every one must
         * be there for the voices to find its zone. */
        for (int i = 0; i < ir->control_count; i++) {
            if (kr_faust_code_find_control(code, ir->controls[i].name) < 0) {
                kr_error_set(error, "bad_ir", "the FAUST export lost control '%s' (a krach "
                             "bug: please report it with the synth)", ir->controls[i].name);
                kr_faust_code_release(code);
                free(source);
                return NULL;
            }
        }
        p = make_program(code, ir->controls, ir->control_count, sample_rate, ir->node_count,
                         error);
    }
    free(source);
    return p;
}
