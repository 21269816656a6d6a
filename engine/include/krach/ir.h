/* ir.h — the signal IR as the engine holds it, parsed and validated.
 *
 * kr_ir_parse turns the JSON of docs/signal-ir.md into this form and checks
 * everything a compiler relies on: known ops, arity, attribute types and
 * ranges, control ranges, argument indices (only `mem` may refer forward, which
 * is how loops are closed), table sizes and the output count. A `faust_expr`
 * node is parsed (its code kept as text) whether or not this engine has the
 * FAUST backend; compiling it is the backend's business (faust.h). Every error names
 * the node index, the op and the argument, and says the fix. */
#ifndef KRACH_IR_H
#define KRACH_IR_H

#include <jansson.h>
#include <stdbool.h>

#include "krach/dsp_op.h"
#include "krach/engine.h"

#define KR_IR_MAX_NODES    65536
#define KR_IR_MAX_CONTROLS 256
#define KR_IR_MAX_INPUTS   8
#define KR_IR_MAX_OUTPUTS  KR_MAX_CHANNELS
#define KR_IR_MAX_TABLE    32768   /* entries; the JSON must fit a request line */
#define KR_IR_MAX_RWTABLE  (1L << 24)
#define KR_IR_MAX_DELAY_S  60.0
#define KR_IR_MAX_FAUST_CODE 16384 /* bytes of one faust_expr */

typedef enum kr_ir_kind {
    KR_IR_OP = 0,   /* a kernel op (op != NULL) */
    KR_IR_CONST,
    KR_IR_INPUT,
    KR_IR_CONTROL,
    KR_IR_SR,
    KR_IR_MEM,
    KR_IR_FAUST     /* faust_expr: FAUST code over `arity` inputs, one output */
} kr_ir_kind;

typedef struct kr_ir_node {
    kr_ir_kind kind;
    const kr_op *op;            /* KR_IR_OP only */
    int arity;
    int in[KR_DSP_MAX_IN];
    kr_op_attrs attrs;          /* attrs.table points into kr_ir.tables */
    char *code;                 /* KR_IR_FAUST only: the expression, owned by the IR */
} kr_ir_node;

typedef struct kr_ir_control {
    char name[KR_MAX_NAME];
    double init, lo, hi, step;
    bool gate;                  /* named "gate": a trigger, never smoothed */
} kr_ir_control;

typedef struct kr_ir {
    int inputs;
    int control_count;
    kr_ir_control *controls;
    int node_count;
    kr_ir_node *nodes;
    int output_count;
    int outputs[KR_IR_MAX_OUTPUTS];
    float *tables;              /* every table's data, back to back */
    long tables_len;
    int faust_nodes;            /* faust_expr nodes: only the FAUST backend runs them */
} kr_ir;

/* Parses and validates. Returns 0, or -1 with error->code "bad_ir". */
int kr_ir_parse(json_t *json, kr_ir *ir, kr_error *error);
void kr_ir_free(kr_ir *ir);

#endif
