/* mini_build.c — a mini-notation syntax tree (mini_internal.h) as a kr_pattern.
 *
 * Mirrors @strudel/mini's patternifyAST:
 *   sequence     SEQ with weights (Strudel timeCat); one step: the step itself
 *   'a!3'        three copies in the sequence (= Strudel's repeatCycles+fast)
 *   '[a, b]'     STACK            '[a | b]'  RANDCAT (seed)
 *   '<a b c>'    CAT (weights all 1), else SLOW(weight sum, SEQ) — per layer,
 *                layers in a STACK
 *   '{a b, c}%n' POLYMETER (time = n, or 0: the steps of the first layer),
 *                each layer a weighted SEQ
 *   '*n' '/n'    FAST, SLOW;  '(k,n,r)' EUCLID;  '?p' DEGRADE (prob, seed)
 *   '*<2 3>'     a patterned factor: for each distinct value v, the pattern
 *                FAST(v) masked to where the factor is v — a STACK of MASKs,
 *                which is what Strudel's innerJoin of `fast` amounts to.
 *   '(<3 5>,8)'  patterned euclid arguments: the same, over every combination
 *                of the arguments' values (apply_euclid).
 *
 * Depth (KR_PATTERN_DEPTH) and size (KR_PATTERN_NODES) are checked as nodes
 * are made, so the error can point at the step responsible. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mini_internal.h"

/* ---- nodes --------------------------------------------------------------------- */

static int check_depth(mn_parser *p, int depth, size_t at)
{
    if (depth > KR_PATTERN_DEPTH) {
        mn_fail(p, at, "nesting deeper than %d at column %d", KR_PATTERN_DEPTH, mn_column(p, at));
        return -1;
    }
    return 0;
}

static int count_nodes(mn_parser *p, int more, size_t at)
{
    if (p->nodes + more > KR_PATTERN_NODES) {
        mn_fail(p, at, "too many steps (the pattern would exceed %d nodes) at column %d",
                KR_PATTERN_NODES, mn_column(p, at));
        return -1;
    }
    p->nodes += more;
    return 0;
}

static kr_pattern *node(mn_parser *p, kr_pattern_kind kind, int depth, size_t at)
{
    if (check_depth(p, depth, at) < 0 || count_nodes(p, 1, at) < 0)
        return NULL;
    kr_pattern *n = kr_pattern_new(kind);
    if (!n)
        mn_fail(p, at, "out of memory at column %d", mn_column(p, at));
    return n;
}

/* Gives `n` room for `nargs` children (and weights, all 1, when asked). */
static int node_args(mn_parser *p, kr_pattern *n, int nargs, bool weights, size_t at)
{
    n->args = calloc((size_t)nargs, sizeof *n->args);
    if (weights && n->args) {
        n->weights = malloc((size_t)nargs * sizeof *n->weights);
        for (int i = 0; n->weights && i < nargs; i++)
            n->weights[i] = kr_rat_int(1);
    }
    if (!n->args || (weights && !n->weights)) {
        mn_fail(p, at, "out of memory at column %d", mn_column(p, at));
        return -1;
    }
    return 0;
}

static int subtree_size(const kr_pattern *n)
{
    if (!n)
        return 0;
    int size = 1 + subtree_size(n->then) + subtree_size(n->aux);
    for (int i = 0; i < n->nargs; i++)
        size += subtree_size(n->args[i]);
    return size;
}

static int subtree_depth(const kr_pattern *n)
{
    if (!n)
        return 0;
    int d = subtree_depth(n->then);
    int a = subtree_depth(n->aux);
    if (a > d)
        d = a;
    for (int i = 0; i < n->nargs; i++) {
        a = subtree_depth(n->args[i]);
        if (a > d)
            d = a;
    }
    return d + 1;
}

/* A deep copy (the node budget was checked by the caller). */
static kr_pattern *copy_tree(const kr_pattern *src)
{
    if (!src)
        return NULL;
    kr_pattern *n = kr_pattern_new(src->kind);
    if (!n)
        return NULL;
    kr_pattern_kind kind = n->kind;
    *n = *src;
    n->kind = kind;
    n->args = NULL, n->weights = NULL, n->then = NULL, n->aux = NULL, n->nargs = 0;
    bool ok = true;
    if (src->nargs) {
        n->args = calloc((size_t)src->nargs, sizeof *n->args);
        ok = n->args != NULL;
        if (ok)
            n->nargs = src->nargs;
        for (int i = 0; ok && i < src->nargs; i++)
            ok = (n->args[i] = copy_tree(src->args[i])) != NULL;
        if (ok && src->weights) {
            n->weights = malloc((size_t)src->nargs * sizeof *n->weights);
            ok = n->weights != NULL;
            if (ok)
                memcpy(n->weights, src->weights, (size_t)src->nargs * sizeof *n->weights);
        }
    }
    if (ok && src->then)
        ok = (n->then = copy_tree(src->then)) != NULL;
    if (ok && src->aux)
        ok = (n->aux = copy_tree(src->aux)) != NULL;
    if (!ok) {
        kr_pattern_free(n);
        return NULL;
    }
    return n;
}

static kr_pattern *copy_checked(mn_parser *p, const kr_pattern *src, int depth, size_t at)
{
    if (check_depth(p, depth + subtree_depth(src) - 1, at) < 0 ||
        count_nodes(p, subtree_size(src), at) < 0)
        return NULL;
    kr_pattern *n = copy_tree(src);
    if (!n)
        mn_fail(p, at, "out of memory at column %d", mn_column(p, at));
    return n;
}

/* ---- words ---------------------------------------------------------------------- */

static bool is_rest(const char *w) { return !strcmp(w, "~") || !strcmp(w, "-") || !strcmp(w, "."); }

/* `only`: when building the mask of a patterned factor, numbers equal to
 * *only become a gate and every other word is silence. */
typedef struct mn_ctx {
    const kr_rat *only;
} mn_ctx;

static kr_pattern *build_word(mn_parser *p, const mn_node *w, int depth, const mn_ctx *cx)
{
    size_t len = strlen(w->text);
    if (cx->only) {
        kr_rat v;
        bool on = !is_rest(w->text) && mn_number(w->text, len, &v) == 0 && kr_rat_eq(v, *cx->only);
        kr_pattern *n = node(p, on ? KR_PAT_ATOM : KR_PAT_SILENCE, depth, w->at);
        if (n && on) {
            kr_value_set(&n->value, "gate", 1.0);
            memcpy(n->value.label, w->text, len + 1);
        }
        return n;
    }
    if (is_rest(w->text))
        return node(p, KR_PAT_SILENCE, depth, w->at);
    kr_pattern *n = node(p, KR_PAT_ATOM, depth, w->at);
    if (!n)
        return NULL;
    double x, midi;
    if (mn_number_double(w->text, len, &x) == 0) {
        kr_value_set(&n->value, "value", x);
    } else if (!strcmp(w->text, "x")) {
        kr_value_set(&n->value, "gate", 1.0);
    } else if (kr_note_parse(w->text, &midi) == 0) {
        kr_value_set(&n->value, "freq", kr_midi_to_freq(midi));
        kr_value_set(&n->value, "midi", midi);
    }
    memcpy(n->value.label, w->text, len + 1); /* len < KR_LABEL_MAX (parser) */
    return n;
}

/* ---- sequences ---------------------------------------------------------------- */

static kr_pattern *build(mn_parser *p, const mn_node *n, int depth, const mn_ctx *cx);

/* A step whose last operator is '!' and whose weight is its repeat count
 * ("a!3", "a ! !") becomes that many entries of weight 1 in its sequence. */
static bool spliced(const mn_step *s)
{
    return s->nops > 0 && s->ops[s->nops - 1].kind == MN_OP_REPLICATE &&
           kr_rat_eq(s->weight, kr_rat_int(s->reps));
}

static int entry_count(const mn_node *seq)
{
    int count = 0;
    for (int i = 0; i < seq->nsteps; i++)
        count += spliced(&seq->steps[i]) ? seq->steps[i].reps : 1;
    return count;
}

/* Entries of a sequence: patterns and weights. */
typedef struct mn_entries {
    kr_pattern **pats;
    kr_rat *weights;
    int count;
} mn_entries;

static void entries_free(mn_entries *e)
{
    for (int i = 0; i < e->count; i++)
        kr_pattern_free(e->pats[i]);
    free(e->pats);
    free(e->weights);
    memset(e, 0, sizeof *e);
}

static kr_pattern *build_step(mn_parser *p, const mn_step *s, int nops, int depth, const mn_ctx *cx);

static int build_entries(mn_parser *p, const mn_node *seq, int depth, const mn_ctx *cx, mn_entries *e)
{
    int total = entry_count(seq);
    memset(e, 0, sizeof *e);
    e->pats = calloc((size_t)(total ? total : 1), sizeof *e->pats);
    e->weights = calloc((size_t)(total ? total : 1), sizeof *e->weights);
    if (!e->pats || !e->weights) {
        mn_fail(p, seq->at, "out of memory at column %d", mn_column(p, seq->at));
        entries_free(e);
        return -1;
    }
    for (int i = 0; i < seq->nsteps; i++) {
        const mn_step *s = &seq->steps[i];
        if (spliced(s)) {
            kr_pattern *one = build_step(p, s, s->nops - 1, depth, cx);
            if (!one)
                goto fail;
            e->pats[e->count] = one;
            e->weights[e->count++] = kr_rat_int(1);
            for (int r = 1; r < s->reps; r++) {
                kr_pattern *c = copy_checked(p, one, depth, s->ops[s->nops - 1].at);
                if (!c)
                    goto fail;
                e->pats[e->count] = c;
                e->weights[e->count++] = kr_rat_int(1);
            }
        } else {
            kr_pattern *one = build_step(p, s, s->nops, depth, cx);
            if (!one)
                goto fail;
            e->pats[e->count] = one;
            e->weights[e->count++] = s->weight;
        }
    }
    return 0;
fail:
    entries_free(e);
    return -1;
}

/* Moves the entries into a new SEQ (or CAT) node; `e` is emptied. */
static kr_pattern *entries_node(mn_parser *p, mn_entries *e, kr_pattern_kind kind, int depth, size_t at)
{
    kr_pattern *n = node(p, kind, depth, at);
    if (!n || node_args(p, n, e->count, kind == KR_PAT_SEQ, at) < 0) {
        kr_pattern_free(n);
        entries_free(e);
        return NULL;
    }
    n->nargs = e->count;
    for (int i = 0; i < e->count; i++) {
        n->args[i] = e->pats[i];
        if (n->weights)
            n->weights[i] = e->weights[i];
    }
    e->count = 0;
    entries_free(e);
    return n;
}

static kr_rat weight_sum(mn_parser *p, const mn_entries *e, size_t at, bool *ok)
{
    bool of = false;
    kr_rat sum = kr_rat_int(0);
    for (int i = 0; i < e->count; i++)
        sum = kr_rat_add(sum, e->weights[i], &of);
    *ok = !of;
    if (of)
        mn_fail(p, at, "weights too large at column %d", mn_column(p, at));
    return sum;
}

/* A sequence: one entry is the entry itself (whatever its weight), else a
 * weighted SEQ. `force_seq`: always a SEQ (polymeter layers count steps). */
static kr_pattern *build_seq(mn_parser *p, const mn_node *seq, int depth, const mn_ctx *cx, bool force_seq)
{
    if (seq->nsteps == 0)
        return node(p, KR_PAT_SILENCE, depth, seq->at);
    bool wrap = force_seq || entry_count(seq) > 1;
    mn_entries e;
    if (build_entries(p, seq, wrap ? depth + 1 : depth, cx, &e) < 0)
        return NULL;
    if (!wrap) {
        kr_pattern *one = e.pats[0];
        e.count = 0;
        entries_free(&e);
        return one;
    }
    return entries_node(p, &e, KR_PAT_SEQ, depth, seq->at);
}

/* One layer of '< >': one step per cycle — CAT, or SLOW(weight sum, SEQ). */
static kr_pattern *build_alt_layer(mn_parser *p, const mn_node *seq, int depth, const mn_ctx *cx)
{
    int count = entry_count(seq);
    bool unit = true;
    for (int i = 0; i < seq->nsteps; i++)
        if (!spliced(&seq->steps[i]) && !kr_rat_eq(seq->steps[i].weight, kr_rat_int(1)))
            unit = false;
    int inner = unit ? (count > 1 ? depth + 1 : depth) : depth + 2;
    mn_entries e;
    if (build_entries(p, seq, inner, cx, &e) < 0)
        return NULL;
    if (unit && e.count == 1) {
        kr_pattern *one = e.pats[0];
        e.count = 0;
        entries_free(&e);
        return one;
    }
    if (unit)
        return entries_node(p, &e, KR_PAT_CAT, depth, seq->at);
    bool ok;
    kr_rat sum = weight_sum(p, &e, seq->at, &ok);
    if (!ok) {
        entries_free(&e);
        return NULL;
    }
    kr_pattern *slow = node(p, KR_PAT_SLOW, depth, seq->at);
    if (!slow || node_args(p, slow, 1, false, seq->at) < 0) {
        kr_pattern_free(slow);
        entries_free(&e);
        return NULL;
    }
    slow->time = sum;
    slow->args[0] = entries_node(p, &e, KR_PAT_SEQ, depth + 1, seq->at);
    slow->nargs = slow->args[0] ? 1 : 0;
    if (!slow->nargs) {
        kr_pattern_free(slow);
        return NULL;
    }
    return slow;
}

/* ---- operators ------------------------------------------------------------------ */

/* Wraps `inner` (consumed) in a one-argument node. */
static kr_pattern *wrap(mn_parser *p, kr_pattern_kind kind, kr_pattern *inner, int depth, size_t at)
{
    if (!inner)
        return NULL;
    kr_pattern *n = node(p, kind, depth, at);
    if (!n || node_args(p, n, 1, false, at) < 0) {
        kr_pattern_free(n);
        kr_pattern_free(inner);
        return NULL;
    }
    n->args[0] = inner;
    n->nargs = 1;
    return n;
}

/* The distinct numbers a patterned factor can take (rests skipped); `op` '('
 * (a euclid argument) takes whole numbers of any sign. */
static int factor_values(mn_parser *p, const mn_node *n, kr_rat *vals, int *count, size_t op_at, char op)
{
    if (n->kind == MN_WORD) {
        if (is_rest(n->text))
            return 0;
        kr_rat v;
        bool number = mn_number(n->text, strlen(n->text), &v) == 0;
        if (op == '(' && (!number || v.den != 1 || v.num < -1000000 || v.num > 1000000)) {
            mn_fail(p, n->at, "euclid arguments are whole numbers, not '%s' (column %d)", n->text,
                    mn_column(p, n->at));
            return -1;
        }
        if (!number) {
            mn_fail(p, n->at, "'%c' needs numbers, not '%s' (column %d)", op, n->text, mn_column(p, n->at));
            return -1;
        }
        if (v.num <= 0 && op != '(') {
            mn_fail(p, n->at, "'%c' factor must be greater than 0, not %s (column %d)", op, n->text,
                    mn_column(p, n->at));
            return -1;
        }
        for (int i = 0; i < *count; i++)
            if (kr_rat_eq(vals[i], v))
                return 0;
        if (*count >= MN_MAX_REPEAT_CHOICES) {
            mn_fail(p, op_at, "a patterned %s takes at most %d different numbers (column %d)",
                    op == '(' ? "euclid argument" : op == '*' ? "'*'" : op == '/' ? "'/'" : "'%'",
                    MN_MAX_REPEAT_CHOICES, mn_column(p, op_at));
            return -1;
        }
        vals[(*count)++] = v;
        return 0;
    }
    for (int i = 0; i < n->nsteps; i++) {
        const mn_step *s = &n->steps[i];
        if (factor_values(p, s->slice, vals, count, op_at, op) < 0)
            return -1; /* the operands of its own operators are not values */
    }
    for (int i = 0; i < n->nlayers; i++)
        if (factor_values(p, n->layers[i], vals, count, op_at, op) < 0)
            return -1;
    return 0;
}

/* Applies a factor to `inner` (consumed): a number → FAST/SLOW (or POLYMETER's
 * steps when kind is POLYMETER, whose args are in `inner`), a pattern of
 * numbers → STACK of MASK(where factor = v, node(v)). */
static kr_pattern *apply_factor(mn_parser *p, kr_pattern_kind kind, const mn_node *factor, kr_pattern *inner,
                                int depth, size_t op_at, char op, const mn_ctx *cx)
{
    if (factor->kind == MN_WORD) {
        kr_rat v;
        if (mn_number(factor->text, strlen(factor->text), &v) < 0 || is_rest(factor->text)) {
            kr_pattern_free(inner);
            return mn_fail(p, factor->at, "'%c' needs a number, not '%s' (column %d)", op, factor->text,
                           mn_column(p, factor->at));
        }
        if (v.num <= 0) {
            kr_pattern_free(inner);
            return mn_fail(p, factor->at, "'%c' factor must be greater than 0, not %s (column %d)", op,
                           factor->text, mn_column(p, factor->at));
        }
        if (kind == KR_PAT_POLYMETER) {
            inner->time = v;
            return inner;
        }
        kr_pattern *n = wrap(p, kind, inner, depth, op_at);
        if (n)
            n->time = v;
        return n;
    }
    kr_rat vals[MN_MAX_REPEAT_CHOICES];
    int count = 0;
    if (factor_values(p, factor, vals, &count, op_at, op) < 0) {
        kr_pattern_free(inner);
        return NULL;
    }
    if (count == 0) { /* only rests */
        kr_pattern_free(inner);
        return node(p, KR_PAT_SILENCE, depth, op_at);
    }
    /* STACK (depth) → MASK (depth+1) → FAST (depth+2) → inner (depth+3). The
     * inner pattern was built for depth+3 (see op_cost). */
    kr_pattern *stack = node(p, KR_PAT_STACK, depth, op_at);
    if (!stack || node_args(p, stack, count, false, op_at) < 0) {
        kr_pattern_free(stack);
        kr_pattern_free(inner);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        kr_pattern *arg = i == count - 1 ? inner : copy_checked(p, inner, depth + 3, op_at);
        if (i == count - 1)
            inner = NULL;
        if (!arg)
            break;
        kr_pattern *f;
        if (kind == KR_PAT_POLYMETER) {
            arg->time = vals[i];
            f = arg;
        } else {
            f = wrap(p, kind, arg, depth + 2, op_at);
            if (f)
                f->time = vals[i];
        }
        kr_pattern *mask = wrap(p, KR_PAT_MASK, f, depth + 1, op_at);
        if (!mask)
            break;
        stack->args[stack->nargs++] = mask;
        mn_ctx only = {.only = &vals[i]};
        (void)cx; /* the factor's own words are numbers: no outer context applies */
        mask->aux = build(p, factor, depth + 2, &only);
        if (!mask->aux)
            break;
    }
    kr_pattern_free(inner);
    if (stack->nargs < count || !stack->args[count - 1]->aux) {
        kr_pattern_free(stack);
        return NULL;
    }
    return stack;
}

/* ---- patterned euclid ------------------------------------------------------------ */

typedef struct mn_euclid_vals {
    kr_rat v[3][MN_MAX_REPEAT_CHOICES]; /* pulses, steps, rotation */
    int count[3];
} mn_euclid_vals;

/* The values each argument can take (a missing rotation: 0), and their ranges:
 * every pulses value must fit every steps value, as they may meet. */
static int euclid_values(mn_parser *p, const mn_op *op, mn_euclid_vals *ev)
{
    for (int a = 0; a < 3; a++) {
        ev->count[a] = 0;
        if (!op->args[a]) {
            ev->v[a][ev->count[a]++] = kr_rat_int(0);
        } else if (factor_values(p, op->args[a]->slice, ev->v[a], &ev->count[a], op->at, '(') < 0) {
            return -1;
        }
    }
    for (int j = 0; j < ev->count[1]; j++) {
        int64_t n = ev->v[1][j].num;
        if (n < 1 || n > 4096) {
            mn_fail(p, op->at, "euclid steps must be between 1 and 4096, not %lld (column %d)", (long long)n,
                    mn_column(p, op->at));
            return -1;
        }
        for (int i = 0; i < ev->count[0]; i++) {
            int64_t k = ev->v[0][i].num;
            if (k < -n || k > n) {
                mn_fail(p, op->at, "euclid pulses must be between -%lld and %lld, not %lld (column %d)",
                        (long long)n, (long long)n, (long long)k, mn_column(p, op->at));
                return -1;
            }
        }
    }
    return 0;
}

/* `pat` (consumed) kept where the argument pattern `arg` holds `v`. */
static kr_pattern *mask_where(mn_parser *p, kr_pattern *pat, const mn_step *arg, const kr_rat *v, int depth,
                              size_t at)
{
    kr_pattern *mask = wrap(p, KR_PAT_MASK, pat, depth, at);
    if (!mask)
        return NULL;
    mn_ctx only = {.only = v};
    mask->aux = build_step(p, arg, arg->nops, depth + 1, &only);
    if (!mask->aux) {
        kr_pattern_free(mask);
        return NULL;
    }
    return mask;
}

/* One combination (value indexes `idx`): EUCLID(k, n, r) of `inner`
 * (consumed), masked by each patterned argument; outermost node at `depth`. */
static kr_pattern *euclid_combo(mn_parser *p, const mn_op *op, const mn_euclid_vals *ev, const int *idx,
                                kr_pattern *inner, int depth)
{
    kr_pattern *e = wrap(p, KR_PAT_EUCLID, inner, depth + op->npat, op->at);
    if (!e)
        return NULL;
    e->k = (int)ev->v[0][idx[0]].num;
    e->n = (int)ev->v[1][idx[1]].num;
    e->rotation = (int)ev->v[2][idx[2]].num;
    int d = depth + op->npat - 1;
    for (int a = 2; e && a >= 0; a--)
        if (op->args[a] && (op->args[a]->slice->kind != MN_WORD || op->args[a]->nops))
            e = mask_where(p, e, op->args[a], &ev->v[a][idx[a]], d--, op->at);
    return e;
}

/* Euclid with patterned arguments. Strudel combines the argument patterns
 * (pulses.fmap(...).appLeft(steps).appLeft(rotation)) and innerJoins
 * euclidRot: where the arguments hold (k, n, r), the events of
 * `inner.euclidRot(k, n, r)`, cut to that stretch. Here: a STACK over every
 * combination of values, each EUCLID(k, n, r) masked to where each patterned
 * argument holds its value (as for a patterned '*'). `inner` is consumed and
 * was built for depth + npat + 2 (see op_cost). */
static kr_pattern *apply_euclid(mn_parser *p, const mn_op *op, kr_pattern *inner, int depth)
{
    mn_euclid_vals ev;
    if (euclid_values(p, op, &ev) < 0) {
        kr_pattern_free(inner);
        return NULL;
    }
    int combos = ev.count[0] * ev.count[1] * ev.count[2];
    if (combos == 0) { /* only rests */
        kr_pattern_free(inner);
        return node(p, KR_PAT_SILENCE, depth, op->at);
    }
    kr_pattern *stack = node(p, KR_PAT_STACK, depth, op->at);
    if (!stack || node_args(p, stack, combos, false, op->at) < 0) {
        kr_pattern_free(stack);
        kr_pattern_free(inner);
        return NULL;
    }
    for (int c = 0; c < combos; c++) {
        int idx[3] = {c % ev.count[0], c / ev.count[0] % ev.count[1], c / (ev.count[0] * ev.count[1])};
        kr_pattern *arg = c == combos - 1 ? inner : copy_checked(p, inner, depth + op->npat + 2, op->at);
        if (c == combos - 1)
            inner = NULL;
        kr_pattern *one = arg ? euclid_combo(p, op, &ev, idx, arg, depth + 1) : NULL;
        if (!one)
            break;
        stack->args[stack->nargs++] = one;
    }
    kr_pattern_free(inner);
    if (stack->nargs < combos) {
        kr_pattern_free(stack);
        return NULL;
    }
    return stack;
}

/* Levels an operator adds above the pattern it applies to. */
static int op_cost(const mn_op *op)
{
    switch (op->kind) {
    case MN_OP_FAST:
    case MN_OP_SLOW: return op->factor->kind == MN_WORD ? 1 : 3;
    case MN_OP_REPLICATE: return op->reps > 1 ? 1 : 0;
    case MN_OP_EUCLID: return op->npat ? op->npat + 2 : 1;
    default: return 1;
    }
}

/* A step with its first `nops` operators applied, its outermost node at `depth`. */
static kr_pattern *build_step(mn_parser *p, const mn_step *s, int nops, int depth, const mn_ctx *cx)
{
    int d = depth;
    for (int i = 0; i < nops; i++)
        d += op_cost(&s->ops[i]);
    kr_pattern *pat = build(p, s->slice, d, cx);
    for (int i = 0; pat && i < nops; i++) {
        const mn_op *op = &s->ops[i];
        d -= op_cost(op);
        switch (op->kind) {
        case MN_OP_FAST:
        case MN_OP_SLOW:
            pat = apply_factor(p, op->kind == MN_OP_FAST ? KR_PAT_FAST : KR_PAT_SLOW, op->factor, pat, d,
                               op->at, op->kind == MN_OP_FAST ? '*' : '/', cx);
            break;
        case MN_OP_REPLICATE: {
            if (op->reps <= 1)
                break;
            kr_pattern *seq = node(p, KR_PAT_SEQ, d, op->at);
            if (!seq || node_args(p, seq, op->reps, true, op->at) < 0) {
                kr_pattern_free(seq);
                kr_pattern_free(pat);
                return NULL;
            }
            seq->args[0] = pat;
            seq->nargs = 1;
            pat = seq;
            for (int r = 1; r < op->reps; r++) {
                kr_pattern *c = copy_checked(p, seq->args[0], d + 1, op->at);
                if (!c) {
                    kr_pattern_free(seq);
                    return NULL;
                }
                seq->args[seq->nargs++] = c;
            }
            break;
        }
        case MN_OP_EUCLID:
            if (op->npat) {
                pat = apply_euclid(p, op, pat, d);
                break;
            }
            pat = wrap(p, KR_PAT_EUCLID, pat, d, op->at);
            if (pat)
                pat->k = op->k, pat->n = op->n, pat->rotation = op->rotation;
            break;
        case MN_OP_DEGRADE:
            pat = wrap(p, KR_PAT_DEGRADE, pat, d, op->at);
            if (pat)
                pat->prob = op->prob, pat->seed = op->seed;
            break;
        }
    }
    return pat;
}

/* ---- groups --------------------------------------------------------------------- */

static kr_pattern *build_layers(mn_parser *p, const mn_node *g, kr_pattern_kind kind, int depth,
                                const mn_ctx *cx)
{
    kr_pattern *n = node(p, kind, depth, g->at);
    if (!n || node_args(p, n, g->nlayers, false, g->at) < 0) {
        kr_pattern_free(n);
        return NULL;
    }
    for (int i = 0; i < g->nlayers; i++) {
        kr_pattern *layer;
        if (g->kind == MN_ALT)
            layer = build_alt_layer(p, g->layers[i], depth + 1, cx);
        else
            layer = build_seq(p, g->layers[i], depth + 1, cx, g->kind == MN_POLY);
        if (!layer) {
            kr_pattern_free(n);
            return NULL;
        }
        n->args[n->nargs++] = layer;
    }
    return n;
}

static kr_pattern *build(mn_parser *p, const mn_node *n, int depth, const mn_ctx *cx)
{
    switch (n->kind) {
    case MN_WORD: return build_word(p, n, depth, cx);
    case MN_SEQ: return build_seq(p, n, depth, cx, false);
    case MN_STACK: return build_layers(p, n, KR_PAT_STACK, depth, cx);
    case MN_RAND: {
        kr_pattern *r = build_layers(p, n, KR_PAT_RANDCAT, depth, cx);
        if (r)
            r->seed = n->seed;
        return r;
    }
    case MN_ALT:
        if (n->nlayers == 1)
            return build_alt_layer(p, n->layers[0], depth, cx);
        return build_layers(p, n, KR_PAT_STACK, depth, cx);
    case MN_POLY: {
        int extra = n->count && n->count->kind != MN_WORD ? 2 : 0;
        kr_pattern *poly = build_layers(p, n, KR_PAT_POLYMETER, depth + extra, cx);
        if (!poly)
            return NULL;
        poly->time = kr_rat_int(0); /* the steps of the first layer */
        if (!n->count)
            return poly;
        return apply_factor(p, KR_PAT_POLYMETER, n->count, poly, depth, n->count->at, '%', cx);
    }
    }
    return NULL;
}

kr_pattern *mn_build(mn_parser *p, mn_node *root)
{
    mn_ctx cx = {0};
    return build(p, root, 1, &cx);
}
