/* compile.c — IR → program: fold, merge, prune, find loops, schedule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "../faust/backend.h"

/* ---- canonical nodes ---------------------------------------------------- */

/* A node after folding and merging. Inputs refer to canonical indices, which
 * are assigned in first-seen order, so every input except a mem's is earlier. */
typedef struct cnode {
    kr_ir_kind kind;
    const kr_op *op;
    int arity;
    int in[KR_DSP_MAX_IN];
    kr_op_attrs attrs;
    bool constant;
    double value;             /* when constant */
    bool live;
    int slot;
    /* Tarjan */
    int tindex, lowlink;
    bool on_stack;
} cnode;

static bool same_attrs(const kr_op_attrs *a, const kr_op_attrs *b)
{
    if (a->value != b->value || a->index != b->index || a->order != b->order ||
        a->shape != b->shape || a->seed != b->seed || a->max_time != b->max_time ||
        a->size != b->size || a->init != b->init || a->table_len != b->table_len)
        return false;
    return a->table_len == 0 ||
           memcmp(a->table, b->table, (size_t)a->table_len * sizeof(float)) == 0;
}

static bool same_node(const cnode *a, const cnode *b)
{
    if (a->constant || b->constant) /* bit-identical constants merge */
        return a->constant && b->constant && memcmp(&a->value, &b->value, sizeof a->value) == 0;
    if (a->kind != b->kind || a->op != b->op || a->arity != b->arity)
        return false;
    for (int k = 0; k < a->arity; k++)
        if (a->in[k] != b->in[k])
            return false;
    return same_attrs(&a->attrs, &b->attrs);
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static uint64_t node_key(const cnode *n)
{
    uint64_t h = 1469598103934665603ULL;
    if (n->constant) {
        uint64_t bits;
        memcpy(&bits, &n->value, sizeof bits);
        return mix64(h, bits);
    }
    h = mix64(h, (uint64_t)n->kind);
    h = mix64(h, (uint64_t)(uintptr_t)n->op);
    for (int k = 0; k < n->arity; k++)
        h = mix64(h, (uint64_t)n->in[k]);
    h = mix64(h, (uint64_t)n->attrs.index);
    h = mix64(h, n->attrs.seed);
    return h;
}

typedef struct compiler {
    const kr_ir *ir;
    double sample_rate;
    kr_error *error;
    cnode *nodes;
    int count;
    int *remap;               /* IR index → canonical index */
    int *table;               /* open-addressing hash of canonical indices */
    size_t table_mask;
    /* schedule */
    int *order;               /* canonical indices in execution order */
    int order_len;
    int *loop_of;             /* per position in order: loop group id or -1 */
    int *stack;
    int stack_len, tarjan_next;
    int loops;
} compiler;

/* Returns the canonical index for `n`, adding it when new. */
static int intern(compiler *c, const cnode *n, bool mergeable)
{
    uint64_t key = node_key(n);
    size_t slot = (size_t)key & c->table_mask;
    if (mergeable) {
        for (; c->table[slot] >= 0; slot = (slot + 1) & c->table_mask)
            if (same_node(&c->nodes[c->table[slot]], n))
                return c->table[slot];
    }
    int index = c->count++;
    c->nodes[index] = *n;
    if (mergeable) {
        c->table[slot] = index;
    }
    return index;
}

static int canonicalize(compiler *c)
{
    const kr_ir *ir = c->ir;
    for (int i = 0; i < ir->node_count; i++) {
        const kr_ir_node *src = &ir->nodes[i];
        cnode n;
        memset(&n, 0, sizeof n);
        n.kind = src->kind;
        n.op = src->op;
        n.arity = src->arity;
        n.attrs = src->attrs;
        n.slot = -1;
        n.tindex = -1;
        if (src->kind == KR_IR_MEM) {
            n.in[0] = src->in[0]; /* raw IR index; fixed once every node is known */
            c->remap[i] = intern(c, &n, false);
            continue;
        }
        bool all_const = true;
        double args[KR_DSP_MAX_IN];
        for (int k = 0; k < src->arity; k++) {
            n.in[k] = c->remap[src->in[k]];
            const cnode *arg = &c->nodes[n.in[k]];
            all_const &= arg->constant;
            args[k] = arg->value;
        }
        if (src->kind == KR_IR_CONST) {
            n.constant = true;
            n.value = src->attrs.value;
        } else if (src->kind == KR_IR_SR) {
            n.constant = true;
            n.value = c->sample_rate;
        } else if (src->kind == KR_IR_OP && (src->op->flags & KR_OP_PURE) && src->op->eval &&
                   all_const) {
            n.constant = true;
            n.value = src->op->eval(args);
        }
        if (n.constant) {
            /* Values are float signals: fold to what a float buffer would hold. */
            n.value = (double)(float)n.value;
            n.arity = 0;
            n.kind = KR_IR_CONST;
            n.op = NULL;
            memset(&n.attrs, 0, sizeof n.attrs);
        }
        c->remap[i] = intern(c, &n, true);
    }
    for (int i = 0; i < c->count; i++)
        if (c->nodes[i].kind == KR_IR_MEM)
            c->nodes[i].in[0] = c->remap[c->nodes[i].in[0]];
    return 0;
}

static void mark_live(compiler *c, int root)
{
    /* Iterative DFS: IR graphs can be deep (long chains), recursion could not. */
    int *todo = c->stack;
    int len = 0;
    todo[len++] = root;
    while (len > 0) {
        cnode *n = &c->nodes[todo[--len]];
        if (n->live)
            continue;
        n->live = true;
        for (int k = 0; k < n->arity; k++)
            if (!c->nodes[n->in[k]].live)
                todo[len++] = n->in[k];
    }
}

/* ---- loops: Tarjan's strongly connected components ----------------------- */

/* Edges go from a node to its inputs, so Tarjan completes every component
 * after the components it depends on: its output order is an execution order.
 * Iterative, for the same reason as mark_live. */
typedef struct frame { int node, next_arg; } frame;

static void tarjan(compiler *c, int root, frame *frames)
{
    int depth = 0;
    frames[depth++] = (frame){root, 0};
    cnode *r = &c->nodes[root];
    r->tindex = r->lowlink = c->tarjan_next++;
    c->stack[c->stack_len++] = root;
    r->on_stack = true;
    while (depth > 0) {
        frame *f = &frames[depth - 1];
        cnode *n = &c->nodes[f->node];
        if (f->next_arg < n->arity) {
            int w = n->in[f->next_arg++];
            cnode *m = &c->nodes[w];
            if (m->constant)
                continue;
            if (m->tindex < 0) {
                m->tindex = m->lowlink = c->tarjan_next++;
                c->stack[c->stack_len++] = w;
                m->on_stack = true;
                frames[depth++] = (frame){w, 0};
            } else if (m->on_stack && m->tindex < n->lowlink) {
                n->lowlink = m->tindex;
            }
            continue;
        }
        if (n->lowlink == n->tindex) {
            /* Pop one component. Members come off the stack in reverse order
             * of discovery; a loop body runs its members in index order, which
             * is a valid order once mem's (backward) edge is cut. */
            int start = c->stack_len;
            do {
                start--;
                c->nodes[c->stack[start]].on_stack = false;
            } while (c->stack[start] != f->node);
            int size = c->stack_len - start;
            bool self_loop = false;
            for (int k = 0; k < n->arity; k++)
                self_loop |= n->in[k] == f->node;
            int group = (size > 1 || self_loop) ? c->loops++ : -1;
            /* sort members by index (small groups: insertion sort) */
            int *members = c->stack + start;
            for (int i = 1; i < size; i++)
                for (int j = i; j > 0 && members[j - 1] > members[j]; j--) {
                    int t = members[j];
                    members[j] = members[j - 1];
                    members[j - 1] = t;
                }
            for (int i = 0; i < size; i++) {
                c->loop_of[c->order_len] = group;
                c->order[c->order_len++] = members[i];
            }
            c->stack_len = start;
        }
        int done = f->node;
        depth--;
        if (depth > 0) {
            cnode *parent = &c->nodes[frames[depth - 1].node];
            if (c->nodes[done].lowlink < parent->lowlink)
                parent->lowlink = c->nodes[done].lowlink;
        }
    }
}

/* ---- emission ------------------------------------------------------------ */

typedef struct sigbuf {
    unsigned char *data;
    size_t len, cap;
    bool failed;
} sigbuf;

static void sig_put(sigbuf *s, const void *bytes, size_t n)
{
    if (s->failed)
        return;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        while (cap < s->len + n)
            cap *= 2;
        unsigned char *data = realloc(s->data, cap);
        if (!data) {
            s->failed = true;
            return;
        }
        s->data = data;
        s->cap = cap;
    }
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
}

static void sig_int(sigbuf *s, long long v) { sig_put(s, &v, sizeof v); }
static void sig_double(sigbuf *s, double v) { sig_put(s, &v, sizeof v); }

static void sign_step(sigbuf *s, const kr_step *st)
{
    sig_int(s, st->kind);
    if (st->op)
        sig_put(s, st->op->name, strlen(st->op->name) + 1);
    sig_int(s, st->arity);
    for (int k = 0; k < st->arity; k++)
        sig_int(s, st->in[k]);
    sig_int(s, st->out);
    sig_int(s, st->index);
    sig_int(s, st->loop_len);
    const kr_op_attrs *a = &st->attrs;
    sig_double(s, a->value);
    sig_int(s, a->order);
    sig_int(s, a->shape);
    sig_int(s, (long long)a->seed);
    sig_double(s, a->max_time);
    sig_int(s, a->size);
    sig_double(s, a->init);
    sig_int(s, a->table_len);
    if (a->table_len)
        sig_put(s, a->table, (size_t)a->table_len * sizeof(float));
}

static int emit(compiler *c, kr_dsp_program *p)
{
    const kr_ir *ir = c->ir;
    /* Slots: constants first, then computed nodes in execution order. */
    int consts = 0, computed = 0;
    for (int i = 0; i < c->count; i++)
        if (c->nodes[i].live && c->nodes[i].constant)
            c->nodes[i].slot = consts++;
    for (int i = 0; i < c->order_len; i++)
        c->nodes[c->order[i]].slot = consts + computed++;
    p->const_count = consts;
    p->slot_count = consts + computed;
    p->const_values = calloc((size_t)consts + 1, sizeof(float));
    p->steps = calloc((size_t)(c->order_len + c->loops) + 1, sizeof(kr_step));
    if (!p->const_values || !p->steps)
        return -1;
    for (int i = 0; i < c->count; i++)
        if (c->nodes[i].live && c->nodes[i].constant)
            p->const_values[c->nodes[i].slot] = (float)c->nodes[i].value;

    /* Table data moves into the program. */
    if (ir->tables_len) {
        p->tables = malloc((size_t)ir->tables_len * sizeof(float));
        if (!p->tables)
            return -1;
        memcpy(p->tables, ir->tables, (size_t)ir->tables_len * sizeof(float));
    }

    size_t state = 0;
    int steps = 0, loop_header = -1;
    for (int i = 0; i < c->order_len; i++) {
        const cnode *n = &c->nodes[c->order[i]];
        int group = c->loop_of[i];
        if (group >= 0 && (i == 0 || c->loop_of[i - 1] != group)) {
            loop_header = steps;
            p->steps[steps++] = (kr_step){.kind = KR_STEP_LOOP, .out = -1};
        }
        kr_step *st = &p->steps[steps++];
        st->out = n->slot;
        st->arity = n->arity;
        for (int k = 0; k < n->arity; k++)
            st->in[k] = c->nodes[n->in[k]].slot;
        st->attrs = n->attrs;
        if (st->attrs.table)
            st->attrs.table = p->tables + (st->attrs.table - ir->tables);
        switch (n->kind) {
        case KR_IR_OP:
            st->kind = KR_STEP_OP;
            st->op = n->op;
            st->state_offset = state;
            if (n->op->state_size)
                state += (n->op->state_size(&st->attrs, c->sample_rate) + 15) & ~(size_t)15;
            break;
        case KR_IR_CONTROL:
            st->kind = KR_STEP_CONTROL;
            st->index = n->attrs.index;
            break;
        case KR_IR_INPUT:
            st->kind = KR_STEP_INPUT;
            st->index = n->attrs.index;
            break;
        case KR_IR_MEM:
            st->kind = KR_STEP_MEM;
            st->index = p->mem_count++;
            break;
        default:
            return -1; /* constants and sr never reach the schedule */
        }
        if (group >= 0)
            p->steps[loop_header].loop_len++;
    }
    p->step_count = steps;
    p->state_bytes = state;

    /* Statistics, including the static rate of each node: constant, block
     * (controls and pure functions of them) or sample. */
    bool *block = calloc((size_t)c->count + 1, sizeof(bool));
    if (!block)
        return -1;
    kr_dsp_stats *stats = &p->stats;
    stats->ir_nodes = ir->node_count;
    stats->steps = steps;
    stats->loops = c->loops;
    stats->state_bytes = state;
    for (int i = 0; i < c->count; i++) {
        const cnode *n = &c->nodes[i];
        if (!n->live)
            continue;
        stats->nodes++;
        if (n->constant) {
            stats->constants++;
            block[i] = true;
            continue;
        }
        bool b = n->kind == KR_IR_CONTROL ||
                 (n->kind == KR_IR_OP && (n->op->flags & KR_OP_PURE));
        for (int k = 0; b && n->kind != KR_IR_CONTROL && k < n->arity; k++)
            b = n->in[k] < i && block[n->in[k]];
        block[i] = b;
        if (b)
            stats->block_rate++;
        else
            stats->sample_rate++;
    }
    free(block);

    /* Signature: everything that decides what the program computes. */
    sigbuf sig = {0};
    sig_double(&sig, c->sample_rate);
    sig_int(&sig, ir->inputs);
    sig_int(&sig, ir->output_count);
    for (int o = 0; o < ir->output_count; o++)
        sig_int(&sig, c->nodes[c->remap[ir->outputs[o]]].slot);
    for (int k = 0; k < ir->control_count; k++) {
        const kr_ir_control *ctl = &ir->controls[k];
        sig_put(&sig, ctl->name, strlen(ctl->name) + 1);
        sig_double(&sig, ctl->init);
        sig_double(&sig, ctl->lo);
        sig_double(&sig, ctl->hi);
        sig_double(&sig, ctl->step);
    }
    sig_put(&sig, p->const_values, (size_t)consts * sizeof(float));
    for (int s = 0; s < steps; s++)
        sign_step(&sig, &p->steps[s]);
    if (sig.failed) {
        free(sig.data);
        return -1;
    }
    p->signature = sig.data;
    p->signature_len = sig.len;
    p->hash = kr_dsp_hash_bytes(sig.data, sig.len);
    return 0;
}

/* ---- entry points --------------------------------------------------------- */

static void program_free(kr_dsp_program *p)
{
    if (!p)
        return;
    free(p->controls);
    free(p->steps);
    free(p->const_values);
    free(p->tables);
    free(p->signature);
    kr_faust_code_release(p->faust);
    free(p);
}

kr_dsp_program *kr_dsp_compile(const kr_ir *ir, double sample_rate, kr_error *error)
{
    if (ir->faust_nodes) {
        kr_error_set(error, "bad_ir", "the synth uses krs.faust_expr, which only the FAUST "
                     "backend compiles; leave the backend on auto or choose 'faust'");
        return NULL;
    }
    compiler c = {.ir = ir, .sample_rate = sample_rate, .error = error};
    size_t n = (size_t)ir->node_count;
    size_t table_size = 16;
    while (table_size < 2 * n)
        table_size *= 2;
    c.table_mask = table_size - 1;
    c.nodes = calloc(n, sizeof *c.nodes);
    c.remap = calloc(n, sizeof *c.remap);
    c.table = malloc(table_size * sizeof *c.table);
    c.order = calloc(n, sizeof *c.order);
    c.loop_of = calloc(n, sizeof *c.loop_of);
    c.stack = calloc(n * KR_DSP_MAX_IN + 1, sizeof *c.stack);
    frame *frames = calloc(n + 1, sizeof *frames);
    kr_dsp_program *p = calloc(1, sizeof *p);
    int ok = c.nodes && c.remap && c.table && c.order && c.loop_of && c.stack && frames && p;
    if (ok) {
        memset(c.table, 0xff, table_size * sizeof *c.table); /* all -1 */
        canonicalize(&c);
        for (int o = 0; o < ir->output_count; o++)
            mark_live(&c, c.remap[ir->outputs[o]]);
        for (int i = 0; i < c.count; i++) {
            cnode *node = &c.nodes[i];
            if (node->live && !node->constant && node->tindex < 0) {
                c.stack_len = 0;
                tarjan(&c, i, frames);
            }
        }
        p->sample_rate = sample_rate;
        p->inputs = ir->inputs;
        p->outputs = ir->output_count;
        p->control_count = ir->control_count;
        p->controls = calloc((size_t)ir->control_count + 1, sizeof *p->controls);
        ok = p->controls && emit(&c, p) == 0;
        if (ok) {
            if (ir->control_count > 0) /* an IR without controls has none to copy (NULL) */
                memcpy(p->controls, ir->controls,
                       (size_t)ir->control_count * sizeof *p->controls);
            for (int o = 0; o < ir->output_count; o++)
                p->output_slots[o] = c.nodes[c.remap[ir->outputs[o]]].slot;
            atomic_init(&p->refs, 1);
        }
    }
    free(c.nodes);
    free(c.remap);
    free(c.table);
    free(c.order);
    free(c.loop_of);
    free(c.stack);
    free(frames);
    if (!ok) {
        program_free(p);
        kr_error_set(error, "bad_ir", "out of memory compiling the synth");
        return NULL;
    }
    if (p->state_bytes > KR_DSP_MAX_STATE_BYTES) {
        /* Each op is bounded (tables, max_time) but their number is not: a
         * few KiB of IR could ask for gigabytes per voice. */
        kr_error_set(error, "bad_ir", "the synth needs %zu MiB of state per voice (delay "
                     "lines, tables, reverbs); the limit is %d MiB: use fewer of them, "
                     "shorter max_time or smaller tables", p->state_bytes >> 20,
                     (int)(KR_DSP_MAX_STATE_BYTES >> 20));
        program_free(p);
        return NULL;
    }
    return p;
}

void kr_dsp_program_retain(kr_dsp_program *program)
{
    atomic_fetch_add(&program->refs, 1);
}

void kr_dsp_program_release(kr_dsp_program *program)
{
    if (program && atomic_fetch_sub(&program->refs, 1) == 1)
        program_free(program);
}

const kr_dsp_stats *kr_dsp_program_stats(const kr_dsp_program *p) { return &p->stats; }
uint64_t kr_dsp_program_hash(const kr_dsp_program *p) { return p->hash; }
int kr_dsp_program_inputs(const kr_dsp_program *p) { return p->inputs; }
int kr_dsp_program_outputs(const kr_dsp_program *p) { return p->outputs; }
int kr_dsp_program_control_count(const kr_dsp_program *p) { return p->control_count; }

const kr_ir_control *kr_dsp_program_control(const kr_dsp_program *p, int index)
{
    return index >= 0 && index < p->control_count ? &p->controls[index] : NULL;
}

int kr_dsp_program_find_control(const kr_dsp_program *p, const char *name)
{
    for (int i = 0; i < p->control_count; i++)
        if (!strcmp(p->controls[i].name, name))
            return i;
    return -1;
}

kr_dsp_backend kr_dsp_program_backend(const kr_dsp_program *p)
{
    return p->faust ? KR_DSP_BACKEND_FAUST : KR_DSP_BACKEND_NATIVE;
}

bool kr_dsp_program_equal(const kr_dsp_program *a, const kr_dsp_program *b)
{
    return a->hash == b->hash && a->signature_len == b->signature_len &&
           memcmp(a->signature, b->signature, a->signature_len) == 0;
}
