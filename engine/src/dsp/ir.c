/* ir.c — parse and validate the signal IR (see ir.h, docs/signal-ir.md). */
#include "krach/ir.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ops the executor implements itself (no kernel). */
static const struct {
    const char *name;
    kr_ir_kind kind;
    int arity;
} builtin_ops[] = {
    {"const", KR_IR_CONST, 0},   {"input", KR_IR_INPUT, 0}, {"control", KR_IR_CONTROL, 0},
    {"sr", KR_IR_SR, 0},         {"mem", KR_IR_MEM, 1},
};

typedef struct parse_ctx {
    kr_ir *ir;
    kr_error *error;
    int node;               /* index of the node being parsed, -1 outside nodes */
    const char *op;
    long tables_used;
} parse_ctx;

static int fail(parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(parse_ctx *ctx, const char *fmt, ...)
{
    char detail[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    if (ctx->node >= 0)
        kr_error_set(ctx->error, "bad_ir", "node %d (%s): %s", ctx->node,
                     ctx->op ? ctx->op : "?", detail);
    else
        kr_error_set(ctx->error, "bad_ir", "%s", detail);
    return -1;
}

/* ---- attributes --------------------------------------------------------- */

static int attr_number(parse_ctx *ctx, json_t *node, const char *key, bool required,
                       double lo, double hi, double fallback, double *out)
{
    json_t *value = json_object_get(node, key);
    if (!value) {
        if (required)
            return fail(ctx, "attribute '%s' is missing (a number from %g to %g)", key, lo, hi);
        *out = fallback;
        return 0;
    }
    if (!json_is_number(value))
        return fail(ctx, "attribute '%s' must be a number", key);
    double x = json_number_value(value);
    if (!isfinite(x) || x < lo || x > hi)
        return fail(ctx, "attribute '%s' is %g; it must be %g to %g", key, x, lo, hi);
    *out = x;
    return 0;
}

static int attr_integer(parse_ctx *ctx, json_t *node, const char *key, bool required,
                        long long lo, long long hi, long long fallback, long long *out)
{
    json_t *value = json_object_get(node, key);
    if (!value) {
        if (required)
            return fail(ctx, "attribute '%s' is missing (an integer from %lld to %lld)", key, lo,
                        hi);
        *out = fallback;
        return 0;
    }
    if (!json_is_integer(value))
        return fail(ctx, "attribute '%s' must be an integer", key);
    long long x = json_integer_value(value);
    if (x < lo || x > hi)
        return fail(ctx, "attribute '%s' is %lld; it must be %lld to %lld", key, x, lo, hi);
    *out = x;
    return 0;
}

static int attr_table(parse_ctx *ctx, json_t *node, kr_op_attrs *attrs)
{
    json_t *table = json_object_get(node, "table");
    if (!json_is_array(table) || json_array_size(table) == 0 ||
        json_array_size(table) > KR_IR_MAX_TABLE)
        return fail(ctx, "attribute 'table' must be an array of 1 to %d numbers",
                    KR_IR_MAX_TABLE);
    long len = (long)json_array_size(table);
    float *data = ctx->ir->tables + ctx->tables_used;
    for (long i = 0; i < len; i++) {
        json_t *v = json_array_get(table, (size_t)i);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return fail(ctx, "table entry %ld is not a finite number", i);
        data[i] = (float)json_number_value(v);
    }
    attrs->table = data;
    attrs->table_len = len;
    ctx->tables_used += len;
    return 0;
}

/* Which keys each op takes besides "op" and "in". */
static const char *allowed_attrs(const char *op)
{
    static const struct { const char *op, *keys; } map[] = {
        {"const", "value"},        {"input", "index"},      {"control", "index"},
        {"lowpass", "order"},      {"highpass", "order"},   {"lfo", "shape"},
        {"white_noise", "seed"},   {"pink_noise", "seed"},  {"delay", "max_time"},
        {"echo", "max_time"},      {"rdtable", "table"},    {"wavetable", "table"},
        {"rwtable", "size init"},  {"faust_expr", "code"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].op, op) == 0)
            return map[i].keys;
    return "";
}

static bool key_in_list(const char *key, const char *list)
{
    size_t n = strlen(key);
    if (n == 0) /* no attribute is called ""; strstr would find it everywhere */
        return false;
    for (const char *p = list; (p = strstr(p, key)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static int parse_attrs(parse_ctx *ctx, json_t *node, kr_ir_node *out)
{
    const char *op = ctx->op;
    const char *allowed = allowed_attrs(op);
    const char *key;
    json_t *value;
    json_object_foreach(node, key, value) {
        if (strcmp(key, "op") && strcmp(key, "in") && !key_in_list(key, allowed))
            return fail(ctx, "unknown attribute '%.40s'%s%s", key,
                        *allowed ? "; this op takes: " : "; this op takes none",
                        allowed);
    }
    kr_op_attrs *a = &out->attrs;
    long long i64 = 0;
    double d;
    if (!strcmp(op, "const"))
        return attr_number(ctx, node, "value", true, -HUGE_VAL, HUGE_VAL, 0, &a->value);
    if (!strcmp(op, "input")) {
        if (ctx->ir->inputs == 0)
            return fail(ctx, "the IR declares no audio inputs; set \"inputs\" first");
        if (attr_integer(ctx, node, "index", true, 0, ctx->ir->inputs - 1, 0, &i64))
            return -1;
        a->index = (int)i64;
    } else if (!strcmp(op, "control")) {
        if (ctx->ir->control_count == 0)
            return fail(ctx, "the IR declares no controls");
        if (attr_integer(ctx, node, "index", true, 0, ctx->ir->control_count - 1, 0, &i64))
            return -1;
        a->index = (int)i64;
    } else if (!strcmp(op, "lowpass") || !strcmp(op, "highpass")) {
        if (attr_integer(ctx, node, "order", false, 1, 8, 2, &i64))
            return -1;
        a->order = (int)i64;
    } else if (!strcmp(op, "lfo")) {
        json_t *shape = json_object_get(node, "shape");
        const char *name = shape ? json_string_value(shape) : "sine";
        static const char *const shapes[] = {"sine", "tri", "saw", "square"};
        int found = -1;
        for (int s = 0; name && s < 4; s++)
            if (!strcmp(name, shapes[s]))
                found = s;
        if (found < 0)
            return fail(ctx, "attribute 'shape' must be \"sine\", \"tri\", \"saw\" or \"square\"");
        a->shape = (kr_lfo_shape)found;
    } else if (!strcmp(op, "white_noise") || !strcmp(op, "pink_noise")) {
        if (attr_integer(ctx, node, "seed", false, 0, INT64_MAX, 0, &i64))
            return -1;
        a->seed = (uint64_t)i64;
    } else if (!strcmp(op, "delay") || !strcmp(op, "echo")) {
        double fallback = !strcmp(op, "delay") ? 1.0 : 2.0;
        if (attr_number(ctx, node, "max_time", false, 0.0, KR_IR_MAX_DELAY_S, fallback, &d))
            return -1;
        a->max_time = d;
    } else if (!strcmp(op, "rdtable") || !strcmp(op, "wavetable")) {
        return attr_table(ctx, node, a);
    } else if (!strcmp(op, "rwtable")) {
        if (attr_integer(ctx, node, "size", true, 1, KR_IR_MAX_RWTABLE, 1, &i64) ||
            attr_number(ctx, node, "init", false, -HUGE_VAL, HUGE_VAL, 0.0, &a->init))
            return -1;
        a->size = (long)i64;
    }
    return 0;
}

/* ---- nodes -------------------------------------------------------------- */

/* Argument names for messages ("input 1 (cutoff)"), as in docs/signal-ir.md. */
static const char *arg_name(const char *op, int arity, int k)
{
    static const struct { const char *op, *args[KR_DSP_MAX_IN]; } map[] = {
        {"mem", {"x"}},
        {"select2", {"s", "a", "b"}},
        {"clip", {"x", "lo", "hi"}},
        {"wrap", {"x", "lo", "hi"}},
        {"lerp", {"a", "b", "t"}},
        {"sine_osc", {"freq"}}, {"saw", {"freq"}}, {"triangle", {"freq"}},
        {"phasor", {"freq"}}, {"lfo", {"freq"}}, {"wavetable", {"freq"}},
        {"square", {"freq", "duty"}}, {"pulse", {"freq", "width"}},
        {"lowpass", {"x", "cutoff"}}, {"highpass", {"x", "cutoff"}},
        {"onepole", {"x", "cutoff"}}, {"bandpass", {"x", "freq", "q"}},
        {"resonant", {"x", "cutoff", "q"}}, {"smooth", {"x", "time"}},
        {"adsr", {"attack", "decay", "sustain", "release", "gate"}},
        {"ar", {"attack", "release", "gate"}}, {"decay", {"trig", "time"}},
        {"latch", {"x", "trig"}}, {"delay", {"x", "time"}},
        {"echo", {"x", "time", "feedback"}}, {"chorus", {"x", "rate", "depth"}},
        {"flanger", {"x", "rate", "depth", "feedback"}},
        {"reverb", {"x", "room", "damping"}}, {"rdtable", {"index"}},
        {"rwtable", {"windex", "wvalue", "rindex"}},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].op, op) && map[i].args[k])
            return map[i].args[k];
    static const char *const generic[KR_DSP_MAX_IN] = {"a", "b", "c", "d", "e"};
    return arity == 1 ? "x" : generic[k];
}

/* faust_expr: any number of inputs (up to KR_DSP_MAX_IN) and its code. */
static int parse_faust_expr(parse_ctx *ctx, json_t *node, kr_ir_node *out)
{
    json_t *in = json_object_get(node, "in");
    size_t given = json_is_array(in) ? json_array_size(in) : 0;
    if (given > KR_DSP_MAX_IN)
        return fail(ctx, "takes at most %d inputs, got %zu: split the expression into "
                    "several faust_expr nodes", KR_DSP_MAX_IN, given);
    const char *code = json_string_value(json_object_get(node, "code"));
    if (!code || !*code)
        return fail(ctx, "attribute 'code' must be a non-empty string of FAUST code");
    size_t len = strlen(code);
    if (len > KR_IR_MAX_FAUST_CODE)
        return fail(ctx, "the code is %zu bytes; the limit is %d", len, KR_IR_MAX_FAUST_CODE);
    out->kind = KR_IR_FAUST;
    out->arity = (int)given;
    out->code = strdup(code);
    if (!out->code)
        return fail(ctx, "out of memory");
    ctx->ir->faust_nodes++;
    return 0;
}

static int parse_node(parse_ctx *ctx, json_t *node, kr_ir_node *out)
{
    if (!json_is_object(node))
        return fail(ctx, "a node must be an object like {\"op\": \"saw\", \"in\": [0]}");
    json_t *op = json_object_get(node, "op");
    if (!json_is_string(op))
        return fail(ctx, "the node has no \"op\" string");
    ctx->op = json_string_value(op);
    out->kind = KR_IR_OP;
    out->arity = -1;
    for (size_t i = 0; i < sizeof builtin_ops / sizeof builtin_ops[0]; i++) {
        if (!strcmp(builtin_ops[i].name, ctx->op)) {
            out->kind = builtin_ops[i].kind;
            out->arity = builtin_ops[i].arity;
        }
    }
    if (out->arity < 0 && !strcmp(ctx->op, "faust_expr")) {
        if (parse_faust_expr(ctx, node, out))
            return -1;
    } else if (out->arity < 0) {
        out->op = kr_op_find(ctx->op);
        if (!out->op)
            return fail(ctx, "unknown op '%.40s' (see docs/signal-ir.md for the list)", ctx->op);
        out->arity = out->op->arity;
    }

    json_t *in = json_object_get(node, "in");
    size_t given = in ? json_array_size(in) : 0;
    if (in && !json_is_array(in))
        return fail(ctx, "\"in\" must be an array of node indices");
    if ((int)given != out->arity)
        return fail(ctx, "takes %d input%s, got %zu", out->arity, out->arity == 1 ? "" : "s",
                    given);
    for (int k = 0; k < out->arity; k++) {
        json_t *ref = json_array_get(in, (size_t)k);
        if (!json_is_integer(ref))
            return fail(ctx, "input %d (%s) must be a node index", k, arg_name(ctx->op, out->arity, k));
        long long target = json_integer_value(ref);
        if (target < 0 || target >= ctx->ir->node_count)
            return fail(ctx, "input %d (%s) refers to node %lld, which does not exist", k,
                        arg_name(ctx->op, out->arity, k), target);
        if (out->kind != KR_IR_MEM && target >= ctx->node)
            return fail(ctx, "input %d (%s) refers to node %lld, which comes later: a loop must "
                        "pass through mem (krs.feedback / krs.mem) to be computable",
                        k, arg_name(ctx->op, out->arity, k), target);
        out->in[k] = (int)target;
    }
    return parse_attrs(ctx, node, out);
}

/* ---- top level ---------------------------------------------------------- */

static int parse_controls(parse_ctx *ctx, json_t *controls)
{
    kr_ir *ir = ctx->ir;
    if (!controls)
        return 0;
    if (!json_is_array(controls) || json_array_size(controls) > KR_IR_MAX_CONTROLS)
        return fail(ctx, "\"controls\" must be an array of at most %d controls",
                    KR_IR_MAX_CONTROLS);
    ir->control_count = (int)json_array_size(controls);
    ir->controls = calloc((size_t)ir->control_count + 1, sizeof *ir->controls);
    if (!ir->controls)
        return fail(ctx, "out of memory");
    for (int i = 0; i < ir->control_count; i++) {
        json_t *c = json_array_get(controls, (size_t)i);
        kr_ir_control *out = &ir->controls[i];
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!json_is_object(c) || !name || !*name || strlen(name) >= KR_MAX_NAME)
            return fail(ctx, "control %d needs a \"name\" of 1 to %d bytes", i, KR_MAX_NAME - 1);
        snprintf(out->name, sizeof out->name, "%s", name);
        for (int j = 0; j < i; j++)
            if (!strcmp(ir->controls[j].name, name))
                return fail(ctx, "control '%s' is declared twice", name);
        const char *keys[] = {"init", "lo", "hi"};
        double *dst[] = {&out->init, &out->lo, &out->hi};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(c, keys[k]);
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return fail(ctx, "control '%s' needs a finite number \"%s\"", name, keys[k]);
            *dst[k] = json_number_value(v);
        }
        json_t *step = json_object_get(c, "step");
        out->step = step && json_is_number(step) ? json_number_value(step) : 0.0;
        if (out->lo > out->hi || out->init < out->lo || out->init > out->hi || out->step < 0)
            return fail(ctx, "control '%s': need lo <= init <= hi and step >= 0 (got lo %g, "
                        "init %g, hi %g, step %g)", name, out->lo, out->init, out->hi,
                        out->step);
        out->gate = !strcmp(name, "gate");
    }
    return 0;
}

/* Tables are copied into one allocation; count their total size first. */
static long count_table_entries(json_t *nodes)
{
    long total = 0;
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node) {
        json_t *table = json_object_get(node, "table");
        if (json_is_array(table) && json_array_size(table) <= KR_IR_MAX_TABLE)
            total += (long)json_array_size(table);
    }
    return total;
}

int kr_ir_parse(json_t *json, kr_ir *ir, kr_error *error)
{
    memset(ir, 0, sizeof *ir);
    parse_ctx ctx = {.ir = ir, .error = error, .node = -1};
    if (!json_is_object(json))
        return fail(&ctx, "the IR must be a JSON object (see docs/signal-ir.md)");
    json_t *version = json_object_get(json, "krach_ir");
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return fail(&ctx, "\"krach_ir\" must be 1 (the IR version this engine reads)");
    long long inputs = 0;
    json_t *jin = json_object_get(json, "inputs");
    if (jin) {
        if (!json_is_integer(jin) || (inputs = json_integer_value(jin)) < 0 ||
            inputs > KR_IR_MAX_INPUTS)
            return fail(&ctx, "\"inputs\" must be an integer from 0 to %d", KR_IR_MAX_INPUTS);
    }
    ir->inputs = (int)inputs;
    if (parse_controls(&ctx, json_object_get(json, "controls")))
        goto fail;

    json_t *nodes = json_object_get(json, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0 ||
        json_array_size(nodes) > KR_IR_MAX_NODES) {
        fail(&ctx, "\"nodes\" must be an array of 1 to %d nodes", KR_IR_MAX_NODES);
        goto fail;
    }
    ir->node_count = (int)json_array_size(nodes);
    ir->nodes = calloc((size_t)ir->node_count, sizeof *ir->nodes);
    long table_entries = count_table_entries(nodes);
    ir->tables = table_entries ? malloc((size_t)table_entries * sizeof(float)) : NULL;
    ir->tables_len = table_entries;
    if (!ir->nodes || (table_entries && !ir->tables)) {
        fail(&ctx, "out of memory");
        goto fail;
    }
    for (int i = 0; i < ir->node_count; i++) {
        ctx.node = i;
        ctx.op = NULL;
        if (parse_node(&ctx, json_array_get(nodes, (size_t)i), &ir->nodes[i]))
            goto fail;
    }
    ctx.node = -1;

    json_t *outputs = json_object_get(json, "outputs");
    if (!json_is_array(outputs) || json_array_size(outputs) < 1 ||
        json_array_size(outputs) > KR_IR_MAX_OUTPUTS) {
        fail(&ctx, "\"outputs\" must list 1 to %d node indices (mono or stereo)",
             KR_IR_MAX_OUTPUTS);
        goto fail;
    }
    ir->output_count = (int)json_array_size(outputs);
    for (int c = 0; c < ir->output_count; c++) {
        json_t *ref = json_array_get(outputs, (size_t)c);
        if (!json_is_integer(ref) || json_integer_value(ref) < 0 ||
            json_integer_value(ref) >= ir->node_count) {
            fail(&ctx, "output %d must be the index of a node (0 to %d)", c,
                 ir->node_count - 1);
            goto fail;
        }
        ir->outputs[c] = (int)json_integer_value(ref);
    }
    return 0;
fail:
    kr_ir_free(ir);
    return -1;
}

void kr_ir_free(kr_ir *ir)
{
    for (int i = 0; ir->nodes && i < ir->node_count; i++)
        free(ir->nodes[i].code);
    free(ir->controls);
    free(ir->nodes);
    free(ir->tables);
    memset(ir, 0, sizeof *ir);
}
