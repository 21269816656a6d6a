/* faust.h — FAUST as krach's second DSP backend.
 *
 * Export (always built): any signal IR written as a FAUST program
 * (kr_faust_export). The program's controls are `hslider`s labelled with the
 * IR's control names, in IR order, with the IR's init/lo/hi/step; non-gate
 * controls are smoothed in the FAUST code exactly as the native executor does
 * (one-pole, 15 ms, starting at the value the control has on the first sample),
 * `gate` is not smoothed. Audio inputs are the program's inputs, in order.
 *
 * Backend (only with libfaust, KRACH_HAVE_LIBFAUST): FAUST source compiled by
 * libfaust's LLVM C API in a helper process (below), into a kr_dsp_program
 * that runs behind the same instance interface as a native one (dsp.h):
 * controls by index, ranges, gate retrigger, voices, crossfaded swaps. The
 * engine keeps a cache of compiled factories keyed by a hash of the source, so
 * compiling the same code again costs a lookup. Without libfaust every compile
 * fails with an error that names the packages to install. */
#ifndef KRACH_FAUST_H
#define KRACH_FAUST_H

#include <stdbool.h>
#include <stdint.h>

#include "krach/dsp.h"
#include "krach/ir.h"

/* The FAUST program for `ir` (malloc'd, NUL-terminated; the caller frees it),
 * or NULL with error->code "bad_ir". */
char *kr_faust_export(const kr_ir *ir, kr_error *error);

/* What krach pastes into a FAUST program must stay what it is. `code` (a
 * faust_expr) must be exactly one expression: ASCII FAUST characters;
 * brackets balanced; `;` and a defining `=` only inside a with, letrec or case
 * block; no string literal; none of the words import, component, library,
 * soundfile (they read files), environment, declare (they define outside the
 * expression), ffunction, fconstant, fvariable (the JIT would call into the
 * engine process). 0, or -1 with error "bad_ir" saying what and where. */
int kr_faust_expr_check(const char *code, kr_error *error);
/* A .dsp file (`name` labels the error): import, component and library may
 * only name a file by its bare name ("stdfaust.lib", "mylib.lib"), found in
 * the FAUST folder or FAUST's libraries, never a path. Each name is passed to
 * `imported` (when not NULL), so the caller can check the folder's files the
 * same way. 0, or -1 with error "bad_value". */
int kr_faust_file_check(const char *name, const char *text,
                        void (*imported)(const char *file, void *ctx), void *ctx,
                        kr_error *error);

/* True when this engine was built with libfaust. */
bool kr_faust_available(void);

typedef struct kr_faust_cache kr_faust_cache;
#define KR_FAUST_CACHE_ENTRIES 64 /* compiled programs an engine keeps */

/* Server thread. A cache of compiled FAUST code, owned by the engine context. */
kr_faust_cache *kr_faust_cache_create(int capacity);
void kr_faust_cache_destroy(kr_faust_cache *cache);
typedef struct kr_faust_cache_stats {
    long hits, misses;
    int entries;
    double last_compile_ms;   /* the last libfaust compile (a miss) */
} kr_faust_cache_stats;
kr_faust_cache_stats kr_faust_cache_stats_get(const kr_faust_cache *cache);
/* Every compile (a cache miss) runs libfaust in the helper process
 * krach-faust-child under a budget: KR_FAUST_COMPILE_SECONDS of time (CPU,
 * and wall clock: the helper is killed then) and KR_FAUST_COMPILE_MIB of
 * memory (its address space beyond the loaded compiler). Beyond either, the
 * compile fails with error "limit" ("FAUST compile of ... exceeded its budget
 * of 10 s ..."). One compile runs at a time; the others queue. */
#define KR_FAUST_COMPILE_SECONDS 10
#define KR_FAUST_COMPILE_MIB 512
/* A deferring cache (the engine's) never waits for a compile: a miss queues
 * it and fails with error code "compiling"; kr_faust_cache_take_pending then
 * gives the task's id (0 if the failure was something else) and holds the
 * task for the caller, who runs its request again once
 * kr_faust_cache_done(id): the code is then in the cache, or the task keeps
 * the compile's error until kr_faust_cache_release(id). Without deferring
 * (and with no cache) a compile waits for the helper. */
void kr_faust_cache_set_deferred(kr_faust_cache *cache, bool deferred);
long kr_faust_cache_take_pending(kr_faust_cache *cache);
bool kr_faust_cache_done(const kr_faust_cache *cache, long id);
void kr_faust_cache_release(kr_faust_cache *cache, long id);
/* Never blocks: collects a finished compile and starts the next. True when
 * one finished (requests waiting for it may run again). */
bool kr_faust_cache_poll(kr_faust_cache *cache);
/* Drops what was compiled with `include_dir` (a file there changed, and a
 * program may import it): the next compile of those sources is a miss. */
void kr_faust_cache_forget(kr_faust_cache *cache, const char *include_dir);

/* Server thread: compiles `ir` (exported with kr_faust_export) through libfaust.
 * The program's controls are the IR's. error->code "bad_ir" for FAUST compile
 * errors (FAUST's message included), "unavailable" without libfaust. */
kr_dsp_program *kr_faust_compile_ir(kr_faust_cache *cache, const kr_ir *ir, double sample_rate,
                                    kr_error *error);
/* Server thread: compiles a FAUST program (a .dsp file's text; `name` labels
 * its errors; `import`s also look in `include_dir` when not NULL). Its
 * controls are its sliders, nentries, buttons and checkboxes, named by label
 * without metadata (a control labelled "gate" is a gate). */
kr_dsp_program *kr_faust_compile_source(kr_faust_cache *cache, const char *name,
                                        const char *source, const char *include_dir,
                                        double sample_rate, kr_error *error);

#endif
