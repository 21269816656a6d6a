/* mini.c — mini-notation text → syntax tree (mini_internal.h), then built
 * into a kr_pattern by mini_build.c. See docs/mini-notation.md.
 *
 * A hand-written recursive-descent parser that follows Strudel's krill grammar
 * (packages/mini/krill.pegjs) closely, so that whatever Strudel accepts means
 * the same here — including its whitespace rules (an operator may follow a
 * space: "a *2" is "a*2"; "@3" and "?0.3" take their number right after the
 * sign) and the order in which '?' and '|' draw their random seeds. krach adds
 * `x` (a hit) and treats a lone `.` as a rest (Strudel: a "foot" separator). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/mini.h"
#include "mini_internal.h"

/* ---- arena arrays ----------------------------------------------------------- */

/* Grows an arena array of `*cap` items of `size` bytes to hold one more. */
static void *grow(mn_parser *p, void *items, int count, int *cap, size_t size)
{
    if (count < *cap)
        return items;
    int ncap = *cap ? *cap * 2 : 4;
    void *n = mn_alloc(p, (size_t)ncap * size);
    if (!n)
        return NULL;
    if (count)
        memcpy(n, items, (size_t)count * size);
    *cap = ncap;
    return n;
}

/* ---- characters -------------------------------------------------------------- */

static int peek(const mn_parser *p) { return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1; }

static bool at_nbsp(const mn_parser *p, size_t i)
{
    return i + 1 < p->len && (unsigned char)p->text[i] == 0xC2 && (unsigned char)p->text[i + 1] == 0xA0;
}

static void skip_ws(mn_parser *p)
{
    for (;;) {
        int c = peek(p);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            p->pos++;
        else if (at_nbsp(p, p->pos))
            p->pos += 2;
        else
            return;
    }
}

/* Strudel's step characters: letters, digits, '~', '-', '#', '.', '_' (and any
 * non-ASCII letter, taken here as any byte of a UTF-8 sequence). */
static bool is_step_char(const mn_parser *p, size_t i)
{
    unsigned char c = (unsigned char)p->text[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    if (c == '~' || c == '-' || c == '#' || c == '.' || c == '_')
        return true;
    return c >= 0x80 && !at_nbsp(p, i);
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static const char *closer_of(int open)
{
    switch (open) {
    case '[': return "]";
    case '<': return ">";
    case '{': return "}";
    default: return ")";
    }
}

static bool is_closer(int c) { return c == ']' || c == '>' || c == '}' || c == ')'; }

/* The character at `at` for messages: printable ASCII as is, else a code. */
static void describe_char(const mn_parser *p, size_t at, char *buf, size_t size)
{
    unsigned char c = (unsigned char)p->text[at];
    if (c >= 0x21 && c < 0x7F)
        snprintf(buf, size, "'%c'", c);
    else
        snprintf(buf, size, "byte 0x%02X", c);
}

/* ---- numbers ----------------------------------------------------------------- */

/* An operator's number right after its sign ("@3", "?0.3", "!2"): Strudel's
 * `number` rule, -?digits(.digits)?(e[+-]?digits)?. Returns its length (0: none). */
static size_t op_number(mn_parser *p)
{
    const char *s = p->text + p->pos;
    size_t len = p->len - p->pos, i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return 0;
    while (i < len && is_digit(s[i]))
        i++;
    if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
        i++;
        while (i < len && is_digit(s[i]))
            i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < len && is_digit(s[j])) {
            while (j < len && is_digit(s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/* ---- grammar ----------------------------------------------------------------- */

static mn_node *parse_group(mn_parser *p, int open, size_t open_at);
static mn_node *parse_slice(mn_parser *p);

static mn_node *new_node(mn_parser *p, mn_kind kind, size_t at)
{
    mn_node *n = mn_alloc(p, sizeof *n);
    if (n)
        n->kind = kind, n->at = at;
    return n;
}

static mn_node *parse_word(mn_parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && is_step_char(p, p->pos))
        p->pos++;
    size_t len = p->pos - start;
    if (len >= KR_LABEL_MAX)
        return mn_fail(p, start, "'%.*s...' at column %d is longer than %d characters", 8,
                       p->text + start, mn_column(p, start), KR_LABEL_MAX - 1);
    if (len >= 2 && strspn(p->text + start, ".") >= len)
        return mn_fail(p, start, "'..' ranges are not supported (column %d)", mn_column(p, start));
    mn_node *n = new_node(p, MN_WORD, start);
    if (!n)
        return NULL;
    memcpy(n->text, p->text + start, len);
    n->text[len] = '\0';
    return n;
}

/* A bracketed group: '[' … ']', '<' … '>', '{' … '}' (then an optional '%'). */
static mn_node *parse_bracket(mn_parser *p)
{
    size_t open_at = p->pos;
    int open = peek(p);
    if (p->depth >= KR_PATTERN_DEPTH)
        return mn_fail(p, open_at, "nesting deeper than %d at column %d", KR_PATTERN_DEPTH,
                       mn_column(p, open_at));
    p->depth++;
    p->pos++;
    mn_node *g = parse_group(p, open, open_at);
    if (!g)
        return NULL;
    skip_ws(p);
    int c = peek(p);
    if (c < 0)
        return mn_fail(p, open_at, "unclosed '%c' opened at column %d", open, mn_column(p, open_at));
    if (c != closer_of(open)[0]) {
        if (is_closer(c))
            return mn_fail(p, p->pos, "'%c' at column %d does not close '%c' opened at column %d (expected '%s')",
                           c, mn_column(p, p->pos), open, mn_column(p, open_at), closer_of(open));
        return mn_fail(p, p->pos, "unexpected '%c' at column %d", c, mn_column(p, p->pos));
    }
    p->pos++;
    p->depth--;
    if (open == '{') {
        size_t save = p->pos;
        skip_ws(p);
        if (peek(p) == '%') {
            size_t pct = p->pos++;
            skip_ws(p);
            int d = peek(p);
            if (d < 0 || !(d == '[' || d == '<' || d == '{' || is_step_char(p, p->pos)))
                return mn_fail(p, pct, "'%%' needs a number of steps at column %d", mn_column(p, pct));
            g->count = parse_slice(p);
            if (!g->count)
                return NULL;
        } else {
            p->pos = save;
        }
    }
    return g;
}

static mn_node *parse_slice(mn_parser *p)
{
    int c = peek(p);
    if (c == '[' || c == '<' || c == '{')
        return parse_bracket(p);
    if (c >= 0 && is_step_char(p, p->pos))
        return parse_word(p);
    if (c < 0)
        return mn_fail(p, p->pos, "unexpected end at column %d", mn_column(p, p->pos));
    char what[16];
    describe_char(p, p->pos, what, sizeof what);
    return mn_fail(p, p->pos, "unknown character %s at column %d", what, mn_column(p, p->pos));
}

static mn_op *add_op(mn_parser *p, mn_step *s, mn_op_kind kind, size_t at)
{
    mn_op *ops = grow(p, s->ops, s->nops, &s->capops, sizeof *s->ops);
    if (!ops)
        return NULL;
    s->ops = ops;
    mn_op *op = &ops[s->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->at = at;
    return op;
}

static int parse_step(mn_parser *p, mn_step *s);

/* A euclid argument as written is plain when it is a bare word (a number). */
static bool euclid_plain(const mn_step *s) { return s->slice->kind == MN_WORD && s->nops == 0; }

/* One euclid argument: as in Strudel's grammar, a step (a slice with its
 * operators) — a whole number, or a pattern of them (`<3 5>`, `[3 5]`, `3?`),
 * whose values the builder reads. A plain number is checked here. */
static int euclid_arg(mn_parser *p, size_t open_at, mn_step *out)
{
    skip_ws(p);
    int c = peek(p);
    if (c < 0)
        return mn_fail(p, open_at, "unclosed '(' opened at column %d", mn_column(p, open_at)), -1;
    if (c == ',' || c == ')')
        return mn_fail(p, p->pos, "euclid needs a number before '%c' at column %d", c,
                       mn_column(p, p->pos)), -1;
    if (parse_step(p, out) < 0)
        return -1;
    if (euclid_plain(out)) {
        const mn_node *w = out->slice;
        kr_rat r;
        if (mn_number(w->text, strlen(w->text), &r) < 0 || r.den != 1 || r.num < -1000000 ||
            r.num > 1000000)
            return mn_fail(p, w->at, "euclid arguments are whole numbers, not '%.12s' (column %d)", w->text,
                           mn_column(p, w->at)), -1;
    }
    skip_ws(p);
    return 0;
}

static int plain_value(const mn_step *s)
{
    kr_rat r = kr_rat_int(0);
    if (s)
        mn_number(s->slice->text, strlen(s->slice->text), &r);
    return (int)r.num;
}

/* The ranges of plain arguments; patterned ones are checked by the builder,
 * once their values are known. */
static int check_euclid(mn_parser *p, mn_op *op, size_t open_at)
{
    if (op->npat)
        return 0;
    int k = plain_value(op->args[0]), n = plain_value(op->args[1]);
    if (n < 1 || n > 4096)
        return mn_fail(p, open_at, "euclid steps must be between 1 and 4096, not %d (column %d)", n,
                       mn_column(p, open_at)), -1;
    if (k < -n || k > n) /* negative: the inverted rhythm (Strudel) */
        return mn_fail(p, open_at, "euclid pulses must be between -%d and %d, not %d (column %d)", n, n, k,
                       mn_column(p, open_at)), -1;
    op->k = k, op->n = n, op->rotation = plain_value(op->args[2]);
    return 0;
}

/* '(' k ',' n [',' [r]] ')' — the '(' is at p->pos. Arguments may nest
 * euclids (`a(3(3,8),8)`), so they count as a bracket level. */
static int parse_euclid(mn_parser *p, mn_step *s)
{
    size_t open_at = p->pos++;
    if (p->depth >= KR_PATTERN_DEPTH)
        return mn_fail(p, open_at, "nesting deeper than %d at column %d", KR_PATTERN_DEPTH,
                       mn_column(p, open_at)), -1;
    p->depth++;
    mn_step *args = mn_alloc(p, 3 * sizeof *args);
    if (!args)
        return -1;
    int nargs = 0;
    for (;;) {
        skip_ws(p);
        if (nargs == 2 && peek(p) == ')')
            break; /* "(3,8,)" — Strudel allows the trailing comma */
        if (euclid_arg(p, open_at, &args[nargs]) < 0)
            return -1;
        nargs++;
        int c = peek(p);
        if (c == ')')
            break;
        if (c < 0)
            return mn_fail(p, open_at, "unclosed '(' opened at column %d", mn_column(p, open_at)), -1;
        if (c != ',' || nargs == 3)
            return mn_fail(p, p->pos, "euclid expects '%s' at column %d", nargs == 3 ? ")" : ", or )",
                           mn_column(p, p->pos)), -1;
        p->pos++;
    }
    size_t close_at = p->pos++;
    p->depth--;
    if (nargs < 2)
        return mn_fail(p, close_at, "euclid needs (pulses,steps) or (pulses,steps,rotation) at column %d",
                       mn_column(p, close_at)), -1;
    mn_op *op = add_op(p, s, MN_OP_EUCLID, open_at);
    if (!op)
        return -1;
    for (int i = 0; i < nargs; i++) {
        op->args[i] = &args[i];
        op->npat += !euclid_plain(&args[i]);
    }
    return check_euclid(p, op, open_at);
}

/* A step: a slice and its operators. Strudel lets an operator follow spaces
 * ("a *2", "a _ _"), while '@', '_', '!' and '?' take a number only right after. */
static int parse_step(mn_parser *p, mn_step *s)
{
    size_t at = p->pos;
    memset(s, 0, sizeof *s);
    s->at = at;
    s->weight = kr_rat_int(1);
    s->reps = 1;
    if (++p->steps > KR_PATTERN_NODES)
        return mn_fail(p, at, "too many steps (more than %d) at column %d", KR_PATTERN_NODES,
                       mn_column(p, at)), -1;
    int c = peek(p);
    if (c == '!')
        return mn_fail(p, at, "'!' at column %d has no step to repeat", mn_column(p, at)), -1;
    if (c == '_' && !(p->pos + 1 < p->len && is_step_char(p, p->pos + 1)))
        return mn_fail(p, at, "'_' at column %d has no step to elongate", mn_column(p, at)), -1;
    if (c == '@' || c == '*' || c == '/' || c == '?' || c == '%')
        return mn_fail(p, at, "'%c' at column %d must follow a step", c, mn_column(p, at)), -1;
    if (c == '(')
        return mn_fail(p, at, "'(' at column %d must follow a step, as in x(3,8)", mn_column(p, at)), -1;
    s->slice = parse_slice(p);
    if (!s->slice)
        return -1;
    for (;;) {
        size_t save = p->pos;
        skip_ws(p);
        size_t op_at = p->pos;
        c = peek(p);
        if (c == '@' || c == '_') {
            p->pos++;
            size_t nlen = op_number(p);
            kr_rat add = kr_rat_int(1); /* '@' alone: +1 */
            if (nlen) {
                kr_rat v;
                if (mn_number(p->text + p->pos, nlen, &v) < 0)
                    return mn_fail(p, p->pos, "weight at column %d has too many digits",
                                   mn_column(p, p->pos)), -1;
                bool of = false;
                add = kr_rat_sub(v, kr_rat_int(1), &of);
                p->pos += nlen;
            }
            bool of = false;
            s->weight = kr_rat_add(s->weight, add, &of);
            if (of || kr_rat_cmp(s->weight, kr_rat_int(1000000)) > 0)
                return mn_fail(p, op_at, "weight too large at column %d", mn_column(p, op_at)), -1;
        } else if (c == '!') {
            p->pos++;
            size_t nlen = op_number(p);
            long add = 1;
            if (nlen) {
                kr_rat v;
                if (mn_number(p->text + p->pos, nlen, &v) < 0 || v.den != 1 || v.num < 1 ||
                    v.num > KR_PATTERN_NODES)
                    return mn_fail(p, p->pos, "'!' needs a whole number of steps from 1 to %d (column %d)",
                                   KR_PATTERN_NODES, mn_column(p, p->pos)), -1;
                add = (long)v.num - 1;
                p->pos += nlen;
            }
            if (s->reps + add > KR_PATTERN_NODES)
                return mn_fail(p, op_at, "too many repeats at column %d", mn_column(p, op_at)), -1;
            s->reps += (int)add;
            /* Strudel: one replicate, moved to the end of the operators. */
            int j = 0;
            for (int i = 0; i < s->nops; i++)
                if (s->ops[i].kind != MN_OP_REPLICATE)
                    s->ops[j++] = s->ops[i];
            s->nops = j;
            mn_op *op = add_op(p, s, MN_OP_REPLICATE, op_at);
            if (!op)
                return -1;
            op->reps = s->reps;
            s->weight = kr_rat_int(s->reps);
        } else if (c == '(') {
            if (parse_euclid(p, s) < 0)
                return -1;
        } else if (c == '*' || c == '/') {
            p->pos++;
            skip_ws(p);
            int d = peek(p);
            if (d < 0 || !(d == '[' || d == '<' || d == '{' || is_step_char(p, p->pos)))
                return mn_fail(p, op_at, "'%c' at column %d needs a number", c, mn_column(p, op_at)), -1;
            mn_node *f = parse_slice(p);
            if (!f)
                return -1;
            mn_op *op = add_op(p, s, c == '*' ? MN_OP_FAST : MN_OP_SLOW, op_at);
            if (!op)
                return -1;
            op->factor = f;
        } else if (c == '?') {
            p->pos++;
            size_t nlen = op_number(p);
            double prob = 0.5;
            if (nlen) {
                mn_number_double(p->text + p->pos, nlen, &prob);
                if (!(prob >= 0.0 && prob <= 1.0))
                    return mn_fail(p, p->pos, "'?' takes a probability from 0 to 1, not %.*s (column %d)",
                                   (int)(nlen > 12 ? 12 : nlen), p->text + p->pos, mn_column(p, p->pos)), -1;
                p->pos += nlen;
            }
            mn_op *op = add_op(p, s, MN_OP_DEGRADE, op_at);
            if (!op)
                return -1;
            op->prob = prob;
        } else if (c == '%') {
            return mn_fail(p, op_at, "'%%' at column %d only follows '{ }'", mn_column(p, op_at)), -1;
        } else {
            p->pos = save;
            break;
        }
    }
    if (kr_rat_cmp(s->weight, kr_rat_int(0)) <= 0)
        return mn_fail(p, at, "the step at column %d needs a weight greater than 0", mn_column(p, at)), -1;
    /* Strudel numbers each step's '?' when the step is complete (after the
     * '?'s inside its brackets and operands). */
    for (int i = 0; i < s->nops; i++)
        if (s->ops[i].kind == MN_OP_DEGRADE)
            s->ops[i].seed = p->seed++;
    return 0;
}

static bool ends_sequence(int c) { return c < 0 || c == ',' || c == '|' || is_closer(c); }

static mn_node *parse_sequence(mn_parser *p, size_t at)
{
    mn_node *seq = new_node(p, MN_SEQ, at);
    if (!seq)
        return NULL;
    for (;;) {
        skip_ws(p);
        if (ends_sequence(peek(p)))
            return seq;
        mn_step *steps = grow(p, seq->steps, seq->nsteps, &seq->capsteps, sizeof *seq->steps);
        if (!steps)
            return NULL;
        seq->steps = steps;
        if (parse_step(p, &steps[seq->nsteps]) < 0)
            return NULL;
        seq->nsteps++;
    }
}

static const char *group_name(int open)
{
    switch (open) {
    case '[': return "'[ ]'";
    case '<': return "'< >'";
    case '{': return "'{ }'";
    default: return "the pattern";
    }
}

/* Layers separated by ',' (all at once) or '|' (one at random per cycle).
 * `open` is the bracket ('[', '<', '{') or 0 at the top. */
static mn_node *parse_group(mn_parser *p, int open, size_t open_at)
{
    skip_ws(p);
    size_t first_at = p->pos;
    mn_node *first = parse_sequence(p, first_at);
    if (!first)
        return NULL;
    skip_ws(p);
    int sep = peek(p);
    if (first->nsteps == 0) {
        if (sep == ',' || sep == '|')
            return mn_fail(p, p->pos, "nothing before '%c' at column %d", sep, mn_column(p, p->pos));
        if (open && sep == closer_of(open)[0])
            return mn_fail(p, open_at, "empty %s at column %d", group_name(open), mn_column(p, open_at));
    }
    mn_kind kind = open == '<' ? MN_ALT : open == '{' ? MN_POLY : MN_STACK;
    if (sep == '|') {
        if (open == '<' || open == '{')
            return mn_fail(p, p->pos, "'|' at column %d can't be used inside %s: wrap the choice in '[ ]'",
                           mn_column(p, p->pos), group_name(open));
        kind = MN_RAND;
    }
    if (sep != ',' && sep != '|' && kind == MN_STACK)
        return first; /* a plain sequence */
    mn_node *g = new_node(p, kind, open ? open_at : first_at);
    if (!g)
        return NULL;
    mn_node *layer = first;
    for (;;) {
        mn_node **layers = grow(p, g->layers, g->nlayers, &g->caplayers, sizeof *g->layers);
        if (!layers)
            return NULL;
        g->layers = layers;
        layers[g->nlayers++] = layer;
        skip_ws(p);
        int c = peek(p);
        if (c != ',' && c != '|')
            break;
        if (c != sep)
            return mn_fail(p, p->pos, "',' and '|' can't be mixed in one group (column %d): use '[ ]'",
                           mn_column(p, p->pos));
        size_t sep_at = p->pos++;
        skip_ws(p);
        layer = parse_sequence(p, p->pos);
        if (!layer)
            return NULL;
        if (layer->nsteps == 0)
            return mn_fail(p, sep_at, "nothing after '%c' at column %d", c, mn_column(p, sep_at));
    }
    if (kind == MN_RAND)
        g->seed = p->seed++; /* Strudel: after every choice has been parsed */
    return g;
}

/* ---- entry point --------------------------------------------------------------- */

kr_pattern *kr_mini_parse(const char *text, kr_error *error)
{
    kr_error local = {0};
    if (!error)
        error = &local;
    error->code = NULL;
    mn_parser p = {.text = text ? text : "", .error = error};
    p.len = strlen(p.text);
    kr_pattern *result = NULL;
    mn_node *root = parse_group(&p, 0, 0);
    if (root) {
        skip_ws(&p);
        int c = peek(&p);
        if (c >= 0) {
            if (is_closer(c))
                mn_fail(&p, p.pos, "unmatched '%c' at column %d", c, mn_column(&p, p.pos));
            else
                mn_fail(&p, p.pos, "unexpected '%c' at column %d", c, mn_column(&p, p.pos));
        } else {
            result = mn_build(&p, root);
        }
    }
    mn_arena_free(&p);
    return result;
}
