/* dsp.h — compiled DSP programs and their running instances.
 *
 * kr_dsp_compile (server thread) turns a validated IR into a program: constants
 * folded, common subexpressions merged, dead nodes dropped, rates inferred, and
 * the survivors scheduled as a flat list of steps — kernel calls over blocks of
 * up to KR_DSP_BLOCK samples, plus loop groups for the strongly connected parts
 * closed by `mem`, which run sample by sample so feedback is exact.
 *
 * A program is immutable and may be shared by several instances (voices). An
 * instance owns its state (kernel states, mem cells, control smoothers) and its
 * buffers, all allocated when it is created on the server thread; running it
 * on the audio thread allocates nothing. */
#ifndef KRACH_DSP_H
#define KRACH_DSP_H

#include <stdbool.h>
#include <stdint.h>

#include "krach/ir.h"

/* State of one instance (one voice): enough for the largest rwtable (2^24
 * entries) and the longest delay (60 s at 384 kHz) together; more is refused
 * with bad_ir, so one request cannot take the machine's memory. */
#define KR_DSP_MAX_STATE_BYTES ((size_t)256 << 20)

typedef struct kr_dsp_program kr_dsp_program;
typedef struct kr_dsp_instance kr_dsp_instance;

typedef struct kr_dsp_stats {
    int ir_nodes;      /* nodes in the IR */
    int nodes;         /* nodes left after folding, merging and dead-code removal */
    int constants;     /* nodes folded to constants */
    int block_rate;    /* nodes that depend only on controls and constants */
    int sample_rate;   /* nodes that change every sample */
    int steps;         /* steps in the schedule */
    int loops;         /* sample-by-sample loop groups */
    size_t state_bytes;/* per instance */
} kr_dsp_stats;

/* Compiles `ir` (which the program does not keep) for `sample_rate` with the
 * native compiler. Returns NULL with error->code "bad_ir" on failure (an IR
 * with faust_expr nodes is refused: only the FAUST backend runs those). */
kr_dsp_program *kr_dsp_compile(const kr_ir *ir, double sample_rate, kr_error *error);

/* Which compiler builds a program: AUTO is native unless the IR has
 * faust_expr nodes; FAUST exports the IR and compiles it with libfaust
 * (faust.h). */
typedef enum kr_dsp_backend {
    KR_DSP_BACKEND_AUTO = 0,
    KR_DSP_BACKEND_NATIVE,
    KR_DSP_BACKEND_FAUST
} kr_dsp_backend;
struct kr_faust_cache;
/* Server thread: compiles `ir` with `backend`; `cache` (may be NULL) keeps
 * FAUST compilations. */
kr_dsp_program *kr_dsp_build(const kr_ir *ir, double sample_rate, kr_dsp_backend backend,
                             struct kr_faust_cache *cache, kr_error *error);
/* The backend that compiled `program` (NATIVE or FAUST). */
kr_dsp_backend kr_dsp_program_backend(const kr_dsp_program *program);
/* Shared ownership: a program lives while any holder keeps a reference. */
void kr_dsp_program_retain(kr_dsp_program *program);
void kr_dsp_program_release(kr_dsp_program *program);

const kr_dsp_stats *kr_dsp_program_stats(const kr_dsp_program *program);
uint64_t kr_dsp_program_hash(const kr_dsp_program *program);
/* True when two programs compute the same thing (same hash and structure). */
bool kr_dsp_program_equal(const kr_dsp_program *a, const kr_dsp_program *b);
int kr_dsp_program_inputs(const kr_dsp_program *program);
int kr_dsp_program_outputs(const kr_dsp_program *program);
int kr_dsp_program_control_count(const kr_dsp_program *program);
const kr_ir_control *kr_dsp_program_control(const kr_dsp_program *program, int index);
/* Index of the control called `name`, or -1. */
int kr_dsp_program_find_control(const kr_dsp_program *program, const char *name);

/* Server thread: a fresh instance (state zeroed, controls at their init). */
kr_dsp_instance *kr_dsp_instance_create(kr_dsp_program *program);
void kr_dsp_instance_destroy(kr_dsp_instance *instance);
const kr_dsp_program *kr_dsp_instance_program(const kr_dsp_instance *instance);

/* Control values, always kept within the control's [lo, hi] (NaN → lo).
 * set_control jumps the smoother when `immediate` (used to
 * give a new instance its values before it plays); otherwise the value is a
 * target that non-gate controls glide to. Safe on the audio thread. */
void kr_dsp_instance_set_control(kr_dsp_instance *instance, int index, double value,
                                 bool immediate);
double kr_dsp_instance_control(const kr_dsp_instance *instance, int index);

/* Audio thread: compute `frames` samples (any count). `inputs[k]` holds
 * `frames` samples of audio input k (NULL: silence); `outputs[c]` receives
 * output channel c. */
void kr_dsp_instance_run(kr_dsp_instance *instance, const float *const *inputs,
                         float *const *outputs, unsigned frames);

#endif
