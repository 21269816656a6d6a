/* dsp_op.h — signal operations: the table the compiler reads and the calling
 * convention every kernel follows.
 *
 * A kernel is a small function over a run of samples with explicit state. The
 * executor calls it with n = 1..KR_DSP_BLOCK samples; inside a feedback loop it
 * calls it with n = 1, sample by sample, so a kernel must give identical results
 * however a span is cut into calls.
 *
 * Uniform buffers: a buffer whose value is the same for all n samples may be
 * passed *uniform* — then only element 0 is valid. Bit k of `uniform` says
 * input k is uniform; kernels read such an input once (KR_IN does it per
 * sample). A kernel returns 1 when its own output is uniform (only out[0]
 * written), else 0 after writing all n samples. This is how control-rate work
 * (a filter's coefficients from a still cutoff, arithmetic on controls) runs
 * once per block instead of once per sample.
 *
 * Kernels run on the audio thread: no allocation, locks, I/O or logging. Their
 * state is a block of `state_size` bytes, zeroed and then set up by `init` on
 * the server thread. */
#ifndef KRACH_DSP_OP_H
#define KRACH_DSP_OP_H

#include <stddef.h>
#include <stdint.h>

#define KR_DSP_BLOCK 128   /* samples per kernel call at most */
#define KR_DSP_MAX_IN 5    /* inputs of the widest op (adsr) */

typedef struct kr_dsp_call {
    const float *in[KR_DSP_MAX_IN];
    unsigned uniform;      /* bit k: in[k] is uniform (read in[k][0] only) */
    float *out;
    unsigned n;
} kr_dsp_call;

/* Input k at sample i, honouring uniformity. */
#define KR_IN(call, k, i) \
    (((call)->uniform >> (k)) & 1u ? (call)->in[k][0] : (call)->in[k][i])
#define KR_UNIFORM(call, k) ((((call)->uniform) >> (k)) & 1u)
#define KR_ALL_UNIFORM(call, arity) \
    (((call)->uniform & ((1u << (arity)) - 1u)) == ((1u << (arity)) - 1u))

/* Attributes: parsed and range-checked by the IR validator (ir.c). */
typedef enum kr_lfo_shape { KR_LFO_SINE = 0, KR_LFO_TRI, KR_LFO_SAW, KR_LFO_SQUARE } kr_lfo_shape;

typedef struct kr_op_attrs {
    double value;          /* const */
    int index;             /* input, control */
    int order;             /* lowpass, highpass: 1..8 */
    kr_lfo_shape shape;    /* lfo */
    uint64_t seed;         /* white_noise, pink_noise */
    double max_time;       /* delay, echo: seconds */
    long size;             /* rwtable */
    double init;           /* rwtable */
    const float *table;    /* rdtable, wavetable: owned by the program */
    long table_len;
} kr_op_attrs;

enum {
    KR_OP_PURE = 1u << 0,      /* no state: output depends only on inputs (foldable) */
    KR_OP_SOURCE = 1u << 1,    /* const, input, control, sr: handled by the executor */
    KR_OP_LOOP_BREAK = 1u << 2 /* mem: its argument may close a loop */
};

typedef struct kr_op {
    const char *name;
    int arity;
    unsigned flags;
    /* Bytes of state for these attributes at this rate (0 for pure ops). */
    size_t (*state_size)(const kr_op_attrs *attrs, double sample_rate);
    /* Server thread: set up zeroed state. */
    void (*init)(void *state, const kr_op_attrs *attrs, double sample_rate);
    /* Audio thread: compute call->n samples; return 1 if the output is uniform. */
    int (*run)(void *state, const kr_dsp_call *call);
    /* Pure ops: the value for constant inputs (constant folding), in double. */
    double (*eval)(const double *args);
} kr_op;

/* The op called `name`, or NULL. */
const kr_op *kr_op_find(const char *name);
/* The op at position `index` of the table (0, 1, …), NULL past the end. */
const kr_op *kr_op_at(int index);

#endif
