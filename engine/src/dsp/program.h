/* program.h — the compiled form shared by compile.c and exec.c (internal).
 *
 * Values live in *slots*: one per surviving node, each KR_DSP_BLOCK floats in
 * the instance, with a per-block `uniform` flag (only element 0 valid). Constant
 * slots are uniform forever. A step computes one slot; a LOOP step runs the
 * `loop_len` steps after it sample by sample. */
#ifndef KRACH_DSP_PROGRAM_H
#define KRACH_DSP_PROGRAM_H

#include <stdatomic.h>
#include <stddef.h>

#include "krach/dsp.h"

struct kr_faust_code;

typedef enum kr_step_kind {
    KR_STEP_OP = 0,   /* a kernel call */
    KR_STEP_CONTROL,  /* a control's (smoothed) value; index = control */
    KR_STEP_INPUT,    /* audio input; index = input */
    KR_STEP_MEM,      /* one-sample delay of slot in[0]; index = mem cell */
    KR_STEP_LOOP      /* the next loop_len steps run one sample at a time */
} kr_step_kind;

typedef struct kr_step {
    kr_step_kind kind;
    const kr_op *op;
    kr_op_attrs attrs;
    int arity;
    int in[KR_DSP_MAX_IN];    /* slots */
    int out;                  /* slot */
    int index;
    int loop_len;
    size_t state_offset;      /* into the instance's state arena */
} kr_step;

struct kr_dsp_program {
    atomic_int refs;
    double sample_rate;
    int inputs, outputs;
    int output_slots[KR_IR_MAX_OUTPUTS];
    int control_count;
    kr_ir_control *controls;
    int step_count;
    kr_step *steps;
    int slot_count;
    int const_count;          /* slots [0, const_count) are constants */
    float *const_values;
    int mem_count;
    size_t state_bytes;       /* kernel states, 16-byte aligned each */
    float *tables;            /* table data the steps' attrs point into */
    unsigned char *signature; /* canonical description: equality and hash */
    size_t signature_len;
    uint64_t hash;
    kr_dsp_stats stats;
    struct kr_faust_code *faust; /* FAUST backend (no steps then): its code, a reference */
};

/* FNV-1a: the programs' signature hash. */
static inline uint64_t kr_dsp_hash_bytes(const void *data, size_t n)
{
    const unsigned char *bytes = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= bytes[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
