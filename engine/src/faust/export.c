/* export.c — a signal IR written as a FAUST program (faust.h).
 *
 * The program reads top to bottom: the controls (one hslider each, in IR
 * order, smoothed as the engine smooths them), the kr_… primitives it uses
 * (export_lib.c), and `process`, where every reachable node is one definition
 * n<index> in a `with` block, so the FAUST text mirrors the IR. A `mem` whose
 * argument comes earlier is FAUST's one-sample delay (x'); one whose argument
 * comes later (or is itself) closes a loop: those become the feedback
 * parameters m<index> of a function kr_graph that returns their next values
 * before the outputs, run as `kr_graph ~ si.bus(K)` (FAUST's `~` delays by one
 * sample, which is exactly `mem`). Controls the graph never reads are attached
 * to the first output so that the program still declares all of them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_internal.h"

/* ---- the text buffer ------------------------------------------------------ */

static void reserve(kr_fx_buf *b, size_t more)
{
    if (b->oom || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->oom = true;
        return;
    }
    b->data = data;
    b->cap = cap;
}

void kr_fx_printf(kr_fx_buf *b, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(args, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, args);
    va_end(args);
    b->len += (size_t)n;
}

void kr_fx_puts(kr_fx_buf *b, const char *s)
{
    size_t n = strlen(s);
    reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

/* The shortest text that reads back as v (as a float when `single`). */
static void number(kr_fx_buf *b, double v, bool single)
{
    char text[40];
    for (int digits = single ? 6 : 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        double back = strtod(text, NULL);
        if (single ? (float)back == (float)v : back == v)
            break;
    }
    /* FAUST reads "2" as an integer: every constant is a float. */
    char *e = strchr(text, 'e');
    if (!strchr(text, '.')) {
        if (e) {
            char tail[40];
            snprintf(tail, sizeof tail, "%s", e);
            snprintf(e, sizeof text - (size_t)(e - text), ".0%s", tail);
        } else {
            strncat(text, ".0", sizeof text - strlen(text) - 1);
        }
    }
    kr_fx_puts(b, text);
}

void kr_fx_number(kr_fx_buf *b, double v) { number(b, v, false); }
void kr_fx_number_float(kr_fx_buf *b, float v) { number(b, v, true); }

/* ---- the program ------------------------------------------------------- */

typedef struct export_ctx {
    const kr_ir *ir;
    unsigned char *reach;   /* node reachable from an output */
    unsigned char *ctl_used;/* control read by a reachable node */
    int feedback;           /* mems that close a loop */
    kr_fx_needs needs;
    kr_error *error;
} export_ctx;

/* A mem closes a loop when its argument is not computed before it. */
static bool is_loop_mem(const kr_ir *ir, int i)
{
    return ir->nodes[i].kind == KR_IR_MEM && ir->nodes[i].in[0] >= i;
}

static int mark_reachable(export_ctx *ctx)
{
    const kr_ir *ir = ctx->ir;
    /* Nodes are marked when pushed, so each is pushed once at most. */
    int *stack = malloc(sizeof(int) * ((size_t)ir->node_count + 1));
    if (!stack)
        return -1;
    int top = 0;
    for (int c = 0; c < ir->output_count; c++)
        if (!ctx->reach[ir->outputs[c]]) {
            ctx->reach[ir->outputs[c]] = 1;
            stack[top++] = ir->outputs[c];
        }
    while (top > 0) {
        const kr_ir_node *node = &ir->nodes[stack[--top]];
        if (node->kind == KR_IR_CONTROL)
            ctx->ctl_used[node->attrs.index] = 1;
        for (int k = 0; k < node->arity; k++)
            if (!ctx->reach[node->in[k]]) {
                ctx->reach[node->in[k]] = 1;
                stack[top++] = node->in[k];
            }
    }
    free(stack);
    for (int i = 0; i < ir->node_count; i++)
        ctx->feedback += ctx->reach[i] && is_loop_mem(ir, i);
    return 0;
}

/* Characters FAUST reads as label syntax (groups, metadata) or cannot quote. */
static int check_label(const kr_ir_control *ctl, kr_error *error)
{
    size_t n = strlen(ctl->name);
    /* FAUST trims a label's spaces: "cut " would come back as "cut". */
    if (n && (ctl->name[0] == ' ' || ctl->name[n - 1] == ' ')) {
        kr_error_set(error, "bad_ir", "control '%s': FAUST drops spaces at the start and end "
                     "of a control's label; rename the control", ctl->name);
        return -1;
    }
    for (const char *p = ctl->name; *p; p++) {
        if (strchr("\"\\[]/", *p) || (unsigned char)*p < 0x20) {
            kr_error_set(error, "bad_ir", "control '%s': FAUST cannot carry the character "
                         "'%c' in a control's label; rename the control", ctl->name, *p);
            return -1;
        }
    }
    return 0;
}

static int write_controls(export_ctx *ctx, kr_fx_buf *b)
{
    const kr_ir *ir = ctx->ir;
    if (ir->control_count > 0)
        kr_fx_puts(b, "// Controls, in IR order (the engine's 15 ms smoothing; gate unsmoothed).\n");
    for (int k = 0; k < ir->control_count; k++) {
        const kr_ir_control *c = &ir->controls[k];
        if (check_label(c, ctx->error))
            return -1;
        kr_fx_printf(b, "ctl%d = hslider(\"%s\", ", k, c->name);
        kr_fx_number(b, c->init);
        kr_fx_puts(b, ", ");
        kr_fx_number(b, c->lo);
        kr_fx_puts(b, ", ");
        kr_fx_number(b, c->hi);
        kr_fx_puts(b, ", ");
        kr_fx_number(b, c->step);
        kr_fx_puts(b, c->gate ? ");\n" : ") : kr_ctl;\n");
        if (!c->gate)
            ctx->needs |= (kr_fx_needs)1 << KR_FX_CTL;
    }
    return 0;
}

static int write_node(export_ctx *ctx, kr_fx_buf *b, int i)
{
    const kr_ir_node *node = &ctx->ir->nodes[i];
    kr_fx_printf(b, "    n%d = ", i);
    switch (node->kind) {
    case KR_IR_CONST:
        kr_fx_number(b, node->attrs.value);
        break;
    case KR_IR_INPUT:
        kr_fx_printf(b, "in%d", node->attrs.index);
        break;
    case KR_IR_CONTROL:
        kr_fx_printf(b, "ctl%d", node->attrs.index);
        break;
    case KR_IR_SR:
        kr_fx_puts(b, "ma.SR");
        break;
    case KR_IR_MEM:
        if (is_loop_mem(ctx->ir, i))
            kr_fx_printf(b, "m%d", i);
        else
            kr_fx_printf(b, "n%d'", node->in[0]);
        break;
    case KR_IR_FAUST:
        if (kr_faust_expr_check(node->code, ctx->error)) {
            char message[sizeof ctx->error->message];
            snprintf(message, sizeof message, "node %d (faust_expr): %.480s", i,
                     ctx->error->message);
            kr_error_set(ctx->error, "bad_ir", "%s", message);
            return -1;
        }
        if (node->arity > 0) {
            kr_fx_puts(b, "(");
            for (int k = 0; k < node->arity; k++)
                kr_fx_printf(b, k ? ", n%d" : "n%d", node->in[k]);
            kr_fx_puts(b, ") : ");
        }
        /* on a line of its own if it may end in a // comment */
        kr_fx_printf(b, strstr(node->code, "//") ? "(%s\n    )" : "(%s)", node->code);
        break;
    case KR_IR_OP:
        if (kr_fx_op_write(b, node, i, &ctx->needs, ctx->error))
            return -1;
        break;
    }
    kr_fx_puts(b, ";\n");
    return 0;
}

/* The outputs, each "n<i>"; unread controls attached to the first. */
static void write_outputs(export_ctx *ctx, kr_fx_buf *b)
{
    const kr_ir *ir = ctx->ir;
    for (int c = 0; c < ir->output_count; c++) {
        if (c)
            kr_fx_puts(b, ", ");
        int attached = 0;
        for (int k = 0; c == 0 && k < ir->control_count; k++)
            attached += !ctx->ctl_used[k];
        for (int k = 0; k < attached; k++)
            kr_fx_puts(b, "attach(");
        kr_fx_printf(b, "n%d", ir->outputs[c]);
        for (int k = 0; c == 0 && k < ir->control_count; k++)
            if (!ctx->ctl_used[k])
                kr_fx_printf(b, ", ctl%d)", k);
    }
}

static void write_params(const kr_ir *ir, kr_fx_buf *b, const export_ctx *ctx)
{
    int n = 0;
    for (int i = 0; ctx && i < ir->node_count; i++)
        if (ctx->reach[i] && is_loop_mem(ir, i))
            kr_fx_printf(b, n++ ? ", m%d" : "m%d", i);
    for (int k = 0; k < ir->inputs; k++)
        kr_fx_printf(b, n++ ? ", in%d" : "in%d", k);
}

static int write_process(export_ctx *ctx, kr_fx_buf *b)
{
    const kr_ir *ir = ctx->ir;
    const char *indent = "";
    if (ctx->feedback > 0) {
        kr_fx_printf(b, "\n// m<i>: the loop-closing mems, fed back through FAUST's one-sample `~`.\n"
                        "process = kr_graph ~ si.bus(%d) : si.block(%d), si.bus(%d)\n"
                        "with {\n"
                        "  kr_graph(",
                     ctx->feedback, ctx->feedback, ir->output_count);
        write_params(ir, b, ctx);
        kr_fx_puts(b, ") = ");
        for (int i = 0; i < ir->node_count; i++)
            if (ctx->reach[i] && is_loop_mem(ir, i))
                kr_fx_printf(b, "n%d, ", ir->nodes[i].in[0]);
        indent = "  ";
    } else {
        kr_fx_puts(b, "\nprocess");
        if (ir->inputs > 0) {
            kr_fx_puts(b, "(");
            write_params(ir, b, NULL);
            kr_fx_puts(b, ")");
        }
        kr_fx_puts(b, " = ");
    }
    write_outputs(ctx, b);
    kr_fx_printf(b, "\n%swith {\n", indent);
    for (int i = 0; i < ir->node_count; i++) {
        if (!ctx->reach[i])
            continue;
        if (*indent)
            kr_fx_puts(b, indent);
        if (write_node(ctx, b, i))
            return -1;
    }
    kr_fx_printf(b, "%s};\n", indent);
    if (*indent)
        kr_fx_puts(b, "};\n");
    return 0;
}

char *kr_faust_export(const kr_ir *ir, kr_error *error)
{
    export_ctx ctx = {.ir = ir, .error = error};
    kr_fx_buf head = {0}, body = {0};
    char *result = NULL;
    ctx.reach = calloc((size_t)ir->node_count + 1, 1);
    ctx.ctl_used = calloc((size_t)ir->control_count + 1, 1);
    if (!ctx.reach || !ctx.ctl_used || mark_reachable(&ctx)) {
        kr_error_set(error, "bad_ir", "out of memory exporting the IR to FAUST");
        goto done;
    }
    /* The body first: it decides which primitives the head defines. */
    if (write_controls(&ctx, &body) || write_process(&ctx, &body))
        goto done;
    kr_fx_printf(&head, "// A krach signal IR (%d nodes) as FAUST. Compile with -double: the\n"
                        "// native kernels keep phases and filter states in double.\n"
                        "import(\"stdfaust.lib\");\n\n",
                 ir->node_count);
    kr_fx_lib_write(&head, ctx.needs);
    kr_fx_puts(&head, "\n");
    kr_fx_puts(&head, body.data ? body.data : "");
    if (head.oom || body.oom) {
        kr_error_set(error, "bad_ir", "out of memory exporting the IR to FAUST");
        goto done;
    }
    result = head.data;
    head.data = NULL;
done:
    free(head.data);
    free(body.data);
    free(ctx.reach);
    free(ctx.ctl_used);
    return result;
}
