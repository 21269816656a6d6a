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
 * libfaust's LLVM C API on the calling (server) thread, into a kr_dsp_program
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
/* A compile (a cache miss) runs on a thread of its own while the calling
 * thread calls `pump(ctx)` every 2 ms until it is done: the engine keeps its
 * scheduler running, so a 300 ms libfaust compile does not make patterns late.
 * libfaust is not thread-safe: `pump` must not call into it. */
void kr_faust_cache_set_pump(kr_faust_cache *cache, void (*pump)(void *ctx), void *ctx);
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
