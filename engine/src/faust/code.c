/* code.c — compiling FAUST through libfaust, the cache of compiled code, and
 * FAUST-backed kr_dsp_programs (see faust.h, backend.h). Server thread only. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "code.h"
#include "../dsp/program.h"

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
    void (*pump)(void *ctx);    /* kept running while libfaust compiles */
    void *pump_ctx;
};

void kr_faust_cache_set_pump(kr_faust_cache *cache, void (*pump)(void *ctx), void *ctx)
{
    cache->pump = pump;
    cache->pump_ctx = ctx;
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

void kr_faust_cache_destroy(kr_faust_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < cache->count; i++)
        entry_clear(&cache->entries[i]);
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

typedef struct compile_job {
    const char *name, *source, *include_dir;
    kr_error error;
    kr_faust_code *code;
    atomic_bool done;
} compile_job;

static void *compile_thread(void *arg)
{
    compile_job *job = arg;
    job->code = kr_faust_code_compile(job->name, job->source, job->include_dir, &job->error);
    atomic_store(&job->done, true);
    return NULL;
}

/* libfaust takes 0.1 to 1 s, longer than the scheduler's lookahead: the
 * compile runs on its own thread while this one keeps the cache's pump (the
 * engine's scheduler) turning, so patterns keep their timing. libfaust is not
 * thread-safe: one compile at a time, and the pump must not call into it (the
 * engine's pump leaves retired FAUST voices for after the compile). */
static kr_faust_code *compile_pumping(kr_faust_cache *cache, const char *name,
                                      const char *source, const char *include_dir,
                                      kr_error *error)
{
    if (!cache || !cache->pump)
        return kr_faust_code_compile(name, source, include_dir, error);
    compile_job job = {.name = name, .source = source, .include_dir = include_dir};
    atomic_init(&job.done, false);
    pthread_t thread;
    if (pthread_create(&thread, NULL, compile_thread, &job) != 0)
        return kr_faust_code_compile(name, source, include_dir, error);
    const struct timespec nap = {0, 2000000}; /* 2 ms */
    while (!atomic_load(&job.done)) {
        cache->pump(cache->pump_ctx);
        nanosleep(&nap, NULL);
    }
    pthread_join(thread, NULL);
    if (!job.code)
        *error = job.error;
    return job.code;
}

/* Compiled code for `source`: from the cache, or compiled now and cached.
 * The key is the include folder and the source: both decide the result. */
static kr_faust_code *obtain_code(kr_faust_cache *cache, const char *name, const char *source,
                                  const char *include_dir, kr_error *error)
{
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
    kr_faust_code *code = cache_get(cache, hash, key);
    if (!code) {
        double start = kr_monotonic_seconds();
        code = compile_pumping(cache, name, source, include_dir, error);
        if (code && cache) {
            cache->stats.misses++;
            cache->stats.last_compile_ms = (kr_monotonic_seconds() - start) * 1e3;
            cache_put(cache, hash, key, code);
        }
    }
    free(key);
    return code;
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
