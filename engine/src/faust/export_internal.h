/* export_internal.h — the parts of the FAUST exporter (internal to src/faust).
 *
 * export.c writes the program's frame (controls, process, the node graph and
 * its feedback), export_ops.c the expression of each kernel op, and
 * export_lib.c the FAUST definitions of krach's primitives ("kr_…") that those
 * expressions call. Each primitive is written from the semantics in
 * docs/signal-ir.md and the kernels, so the FAUST program computes what the
 * native node computes (docs/faust.md, "Differential tests"). */
#ifndef KRACH_FAUST_EXPORT_INTERNAL_H
#define KRACH_FAUST_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "krach/faust.h"

/* A growing text buffer; `oom` sticks once an allocation failed. */
typedef struct kr_fx_buf {
    char *data;
    size_t len, cap;
    bool oom;
} kr_fx_buf;

void kr_fx_printf(kr_fx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kr_fx_puts(kr_fx_buf *b, const char *s);
/* A FAUST float literal (always with a '.' or an exponent; negatives in
 * parentheses), exact for a double. */
void kr_fx_number(kr_fx_buf *b, double v);
/* The same for a float value (tables): the shortest text of that float. */
void kr_fx_number_float(kr_fx_buf *b, float v);

/* The kr_… primitives, one bit each (export_lib.c). */
typedef enum kr_fx_lib {
    KR_FX_FIRST = 0, KR_FX_CTL, KR_FX_RISE, KR_FX_FLUSH, KR_FX_CLAMP01,
    KR_FX_PYMOD, KR_FX_ROUND, KR_FX_CLIP, KR_FX_WRAP, KR_FX_LIN2DB,
    KR_FX_PHASE, KR_FX_BLEP, KR_FX_SINE, KR_FX_SAW, KR_FX_RECT, KR_FX_TRI,
    KR_FX_LFO, KR_FX_WAVETABLE, KR_FX_RDTABLE, KR_FX_RWTABLE,
    KR_FX_WHITE, KR_FX_PINK,
    KR_FX_FC, KR_FX_SVF, KR_FX_ONEPOLE, KR_FX_DCBLOCK, KR_FX_SMOOTH,
    KR_FX_ENV, KR_FX_DECAY, KR_FX_LATCH,
    KR_FX_DELAY, KR_FX_ECHO, KR_FX_CUBIC, KR_FX_CHORUS, KR_FX_FLANGER, KR_FX_REVERB,
    KR_FX_LIB_COUNT
} kr_fx_lib;

typedef uint64_t kr_fx_needs; /* bit k: primitive k is used */

/* Writes the definitions of every needed primitive and of those they use. */
void kr_fx_lib_write(kr_fx_buf *b, kr_fx_needs needs);

/* Writes the right-hand side of node `index` (a KR_IR_OP node), whose
 * arguments are the definitions n<in[k]>. Returns 0, or -1 with error set. */
int kr_fx_op_write(kr_fx_buf *b, const kr_ir_node *node, int index, kr_fx_needs *needs,
                   kr_error *error);

#endif
