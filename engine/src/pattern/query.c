/* query.c — what a pattern plays in an arc (TidalCycles/Strudel semantics).
 *
 * kr_q() appends a node's events to a list, unsorted; kr_pattern_query() sorts
 * them once at the end. Transformations query their child into the same list
 * and rewrite the new tail in place. The per-kind rules, and where they follow
 * Strudel 1.1.0 to the letter, are in docs/pattern-ir.md ("Query semantics").
 * Time transforms and signals are in query_time.c, randomness in
 * query_random.c, mask/struct/euclid in query_struct.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_internal.h"

#define KR_QUERY_RECURSION 256

/* ---- plumbing --------------------------------------------------------------- */

int kr_q_fail(kr_qcx *cx, const char *fmt, ...)
{
    if (!cx->failed) {
        char msg[480];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        kr_error_set(cx->error, "bad_pattern", "%s", msg);
        cx->failed = true;
    }
    return -1;
}

int kr_q_tick(kr_qcx *cx)
{
    if (++cx->work > KR_QUERY_WORK)
        return kr_q_fail(cx, "query too costly (more than %u steps): query a shorter span or "
                         "a simpler pattern", (unsigned)KR_QUERY_WORK);
    return 0;
}

int kr_q_check(kr_qcx *cx)
{
    if (cx->overflow)
        return kr_q_fail(cx, "time overflow: a time in this query does not fit in 64-bit "
                         "fractions (use smaller factors or query nearer cycle 0)");
    return 0;
}

int kr_q_push(kr_events *out, const kr_event *ev, kr_qcx *cx)
{
    if (kr_q_tick(cx))
        return -1;
    if (out->count >= KR_QUERY_EVENTS)
        return kr_q_fail(cx, "too many events: a query may return at most %d; query a "
                         "shorter span", KR_QUERY_EVENTS);
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        kr_event *items = realloc(out->items, cap * sizeof *items);
        if (!items)
            return kr_q_fail(cx, "out of memory while querying a pattern");
        out->items = items;
        out->cap = cap;
    }
    out->items[out->count++] = *ev;
    return 0;
}

void kr_events_free(kr_events *events)
{
    if (!events)
        return;
    free(events->items);
    events->items = NULL;
    events->count = events->cap = 0;
}

bool kr_arc_sect(kr_arc a, kr_arc b, kr_arc *out)
{
    kr_arc r = {kr_rat_max(a.begin, b.begin), kr_rat_min(a.end, b.end)};
    if (kr_rat_cmp(r.begin, r.end) >= 0)
        return false;
    *out = r;
    return true;
}

kr_rat kr_arc_mid(kr_arc a, kr_qcx *cx)
{
    kr_rat half = {1, 2};
    kr_rat d = kr_rat_sub(a.end, a.begin, &cx->overflow);
    return kr_rat_add(a.begin, kr_rat_mul(d, half, &cx->overflow), &cx->overflow);
}

static kr_rat affine(kr_rat t, kr_rat mul, kr_rat add, kr_qcx *cx)
{
    return kr_rat_add(kr_rat_mul(t, mul, &cx->overflow), add, &cx->overflow);
}

/* t -> t·mul + add on the wholes and parts of events [from, count). */
static void map_events(kr_events *ev, size_t from, kr_rat mul, kr_rat add, kr_qcx *cx)
{
    for (size_t i = from; i < ev->count; i++) {
        kr_event *e = &ev->items[i];
        e->part.begin = affine(e->part.begin, mul, add, cx);
        e->part.end = affine(e->part.end, mul, add, cx);
        if (e->has_whole) {
            e->whole.begin = affine(e->whole.begin, mul, add, cx);
            e->whole.end = affine(e->whole.end, mul, add, cx);
        }
    }
}

static kr_arc arc_affine(kr_arc a, kr_rat mul, kr_rat add, kr_qcx *cx)
{
    kr_arc r = {affine(a.begin, mul, add, cx), affine(a.end, mul, add, cx)};
    return r;
}

static int64_t floordiv64(int64_t a, int64_t n)
{
    int64_t q = a / n;
    return (a % n != 0 && (a < 0) != (n < 0)) ? q - 1 : q;
}

/* Iterates the pieces of `arc` cut at cycle boundaries:
 *   CYCLES_BEGIN(arc) { ... piece, cycle ... } CYCLES_END */
#define CYCLES_BEGIN(arc_)                                                  \
    for (kr_rat cyc_b_ = (arc_).begin; kr_rat_cmp(cyc_b_, (arc_).end) < 0;) { \
        if (kr_q_tick(cx))                                                  \
            return -1;                                                      \
        int64_t cycle = kr_rat_floor(cyc_b_);                               \
        kr_arc piece = {cyc_b_, kr_rat_min(kr_rat_int(cycle + 1), (arc_).end)};
#define CYCLES_END      \
        cyc_b_ = piece.end; \
    }

/* ---- kinds ------------------------------------------------------------------- */

static int q_atom(const kr_pattern *p, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    CYCLES_BEGIN(arc)
        kr_event ev;
        ev.has_whole = true;
        ev.whole.begin = kr_rat_int(cycle);
        ev.whole.end = kr_rat_int(cycle + 1);
        ev.part = piece;
        ev.value = p->value;
        if (kr_q_push(out, &ev, cx))
            return -1;
    CYCLES_END
    return 0;
}

/* Strudel slowcat: cycle c plays arg c mod n, shifted so that the arg sees its
 * own consecutive cycles (the 4th cycle of a 3-arg cat is the arg 0's cycle 1). */
static int q_slowcat(kr_pattern *const *args, int n, const kr_qenv *env, kr_arc arc,
                     kr_events *out, kr_qcx *cx)
{
    if (n <= 0)
        return 0;
    if (n == 1)
        return kr_q(args[0], env, arc, out, cx);
    kr_rat one = kr_rat_int(1);
    CYCLES_BEGIN(arc)
        int64_t i = kr_mod64(cycle, n);
        kr_rat offset = kr_rat_int(cycle - floordiv64(cycle, n));
        kr_rat neg = kr_rat_neg(offset, &cx->overflow);
        size_t from = out->count;
        if (kr_q(args[i], env, arc_affine(piece, one, neg, cx), out, cx))
            return -1;
        map_events(out, from, one, offset, cx);
        if (kr_q_check(cx))
            return -1;
    CYCLES_END
    return 0;
}

/* Queries `arg` over arc·factor and maps the events back (Tidal `fast`). */
static int q_fast_by(const kr_pattern *arg, const kr_qenv *env, kr_rat factor, kr_arc arc,
                     kr_events *out, kr_qcx *cx)
{
    if (factor.den <= 0 || factor.num <= 0)
        return 0; /* fast 0 is silence; negative factors are refused by the IR */
    kr_rat zero = kr_rat_int(0);
    kr_arc sub = arc_affine(arc, factor, zero, cx);
    kr_rat inv = kr_rat_div(kr_rat_int(1), factor, &cx->overflow);
    if (kr_q_check(cx))
        return -1;
    size_t from = out->count;
    if (kr_q(arg, env, sub, out, cx))
        return -1;
    map_events(out, from, inv, zero, cx);
    return kr_q_check(cx);
}

/* Strudel fastcat: slowcat sped up by the number of args. */
static int q_fastcat(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                     kr_qcx *cx)
{
    if (p->nargs <= 1)
        return p->nargs == 1 ? kr_q(p->args[0], env, arc, out, cx) : 0;
    kr_rat n = kr_rat_int(p->nargs), zero = kr_rat_int(0);
    kr_arc sub = arc_affine(arc, n, zero, cx);
    kr_rat inv = {1, p->nargs};
    if (kr_q_check(cx))
        return -1;
    size_t from = out->count;
    if (q_slowcat(p->args, p->nargs, env, sub, out, cx))
        return -1;
    map_events(out, from, inv, zero, cx);
    return kr_q_check(cx);
}

/* Strudel compress(b, e) = fastGap(1/(e-b)) then late(b): each cycle of the
 * child squeezed into [c+b, c+e). */
static int q_compress(const kr_pattern *arg, const kr_qenv *env, kr_rat b, kr_rat e, kr_arc arc,
                      kr_events *out, kr_qcx *cx)
{
    bool *ov = &cx->overflow;
    kr_rat one = kr_rat_int(1);
    kr_rat span = kr_rat_sub(e, b, ov);
    kr_rat factor = kr_rat_div(one, span, ov);
    kr_arc shifted = arc_affine(arc, one, kr_rat_neg(b, ov), cx);
    if (kr_q_check(cx))
        return -1;
    CYCLES_BEGIN(shifted)
        kr_rat c = kr_rat_int(cycle);
        kr_rat bpos = kr_rat_min(kr_rat_mul(kr_rat_sub(piece.begin, c, ov), factor, ov), one);
        kr_rat epos = kr_rat_min(kr_rat_mul(kr_rat_sub(piece.end, c, ov), factor, ov), one);
        if (kr_rat_cmp(bpos, one) < 0) {
            kr_arc sub = {kr_rat_add(c, bpos, ov), kr_rat_add(c, epos, ov)};
            size_t from = out->count;
            if (kr_q_check(cx) || kr_q(arg, env, sub, out, cx))
                return -1;
            for (size_t i = from; i < out->count; i++) {
                kr_event *ev = &out->items[i];
                kr_rat pb = ev->part.begin, pe = ev->part.end;
                kr_rat hc = kr_rat_int(kr_rat_floor(pb));
                kr_rat bp = kr_rat_min(kr_rat_div(kr_rat_sub(pb, hc, ov), factor, ov), one);
                kr_rat ep = kr_rat_min(kr_rat_div(kr_rat_sub(pe, hc, ov), factor, ov), one);
                kr_arc part = {kr_rat_add(hc, bp, ov), kr_rat_add(hc, ep, ov)};
                if (ev->has_whole) {
                    kr_rat lead = kr_rat_div(kr_rat_sub(pb, ev->whole.begin, ov), factor, ov);
                    kr_rat tail = kr_rat_div(kr_rat_sub(ev->whole.end, pe, ov), factor, ov);
                    ev->whole.begin = kr_rat_add(kr_rat_sub(part.begin, lead, ov), b, ov);
                    ev->whole.end = kr_rat_add(kr_rat_add(part.end, tail, ov), b, ov);
                }
                ev->part.begin = kr_rat_add(part.begin, b, ov);
                ev->part.end = kr_rat_add(part.end, b, ov);
            }
            if (kr_q_check(cx))
                return -1;
        }
    CYCLES_END
    return 0;
}

/* Strudel timecat (mini-notation '@'): each arg compressed into its share. */
static int q_timecat(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                     kr_qcx *cx)
{
    bool *ov = &cx->overflow;
    kr_rat total = kr_rat_int(0), begin = kr_rat_int(0);
    for (int i = 0; i < p->nargs; i++)
        total = kr_rat_add(total, p->weights[i], ov);
    if (kr_q_check(cx))
        return -1;
    if (total.num <= 0)
        return 0;
    if (p->nargs == 1)
        return kr_q(p->args[0], env, arc, out, cx);
    for (int i = 0; i < p->nargs; i++) {
        kr_rat w = p->weights[i];
        if (w.num <= 0 || w.den <= 0)
            continue;
        kr_rat end = kr_rat_add(begin, w, ov);
        kr_rat b = kr_rat_div(begin, total, ov), e = kr_rat_div(end, total, ov);
        if (kr_q_check(cx) || q_compress(p->args[i], env, b, e, arc, out, cx))
            return -1;
        begin = end;
    }
    return 0;
}

static int q_rev(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    bool *ov = &cx->overflow;
    CYCLES_BEGIN(arc)
        kr_rat sum = kr_rat_int(2 * cycle + 1); /* cycle + next cycle */
        kr_arc sub = {kr_rat_sub(sum, piece.end, ov), kr_rat_sub(sum, piece.begin, ov)};
        size_t from = out->count;
        if (kr_q_check(cx) || kr_q(p->args[0], env, sub, out, cx))
            return -1;
        for (size_t i = from; i < out->count; i++) {
            kr_event *ev = &out->items[i];
            kr_arc part = {kr_rat_sub(sum, ev->part.end, ov), kr_rat_sub(sum, ev->part.begin, ov)};
            ev->part = part;
            if (ev->has_whole) {
                kr_arc whole = {kr_rat_sub(sum, ev->whole.end, ov),
                                kr_rat_sub(sum, ev->whole.begin, ov)};
                ev->whole = whole;
            }
        }
        if (kr_q_check(cx))
            return -1;
    CYCLES_END
    return 0;
}

static int q_every(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                   kr_qcx *cx)
{
    int64_t n = p->n > 0 ? p->n : 1;
    kr_qenv inner = {p->args[0], env, false, 0, 0};
    CYCLES_BEGIN(arc)
        bool apply = kr_mod64(kr_mod64(cycle, n) - kr_mod64(p->offset, n), n) == 0;
        int rc = apply && p->then ? kr_q(p->then, &inner, piece, out, cx)
                                  : kr_q(p->args[0], env, piece, out, cx);
        if (rc)
            return -1;
    CYCLES_END
    return 0;
}

/* An arg's steps in a polymeter: its SEQ weight sum (or count), else 1. */
static kr_rat polymeter_steps(const kr_pattern *arg, kr_qcx *cx)
{
    if (arg->kind != KR_PAT_SEQ || arg->nargs == 0)
        return kr_rat_int(1);
    if (!arg->weights)
        return kr_rat_int(arg->nargs);
    kr_rat sum = kr_rat_int(0);
    for (int i = 0; i < arg->nargs; i++)
        sum = kr_rat_add(sum, arg->weights[i], &cx->overflow);
    return sum;
}

/* Strudel mini '{ }': arg i at fast(steps / steps_i), queried cycle by cycle
 * (Strudel's patterned `fast` splits the query at cycles). */
static int q_polymeter(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                       kr_qcx *cx)
{
    if (p->nargs <= 0)
        return 0;
    kr_rat steps = p->time;
    if (steps.den <= 0 || steps.num <= 0)
        steps = polymeter_steps(p->args[0], cx);
    CYCLES_BEGIN(arc)
        for (int i = 0; i < p->nargs; i++) {
            kr_rat m = polymeter_steps(p->args[i], cx);
            if (m.num <= 0)
                continue;
            kr_rat factor = kr_rat_div(steps, m, &cx->overflow);
            if (kr_q_check(cx) || q_fast_by(p->args[i], env, factor, piece, out, cx))
                return -1;
        }
    CYCLES_END
    return 0;
}

static int q_self(const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    if (!env || !env->self)
        return kr_q_fail(cx, "'self' outside a 'then': it stands for the pattern a "
                         "transformation is applied to");
    size_t from = out->count;
    if (kr_q(env->self, env->parent, arc, out, cx))
        return -1;
    if (env->filter)
        kr_q_filter_rand(out, from, env->prob, env->seed, true, cx);
    return kr_q_check(cx);
}

int kr_q(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    if (!p)
        return kr_q_fail(cx, "pattern node missing");
    if (kr_rat_cmp(arc.begin, arc.end) >= 0)
        return 0;
    if (cx->depth >= KR_QUERY_RECURSION)
        return kr_q_fail(cx, "pattern nested too deeply to query (over %d levels)",
                         KR_QUERY_RECURSION);
    bool needs_arg = p->kind == KR_PAT_FAST || p->kind == KR_PAT_SLOW ||
                     p->kind == KR_PAT_SHIFT || p->kind == KR_PAT_REV ||
                     p->kind == KR_PAT_EVERY || p->kind == KR_PAT_EUCLID ||
                     p->kind == KR_PAT_DEGRADE || p->kind == KR_PAT_SOMETIMES ||
                     p->kind == KR_PAT_MASK || p->kind == KR_PAT_STRUCT ||
                     p->kind == KR_PAT_SWING;
    if (needs_arg && (p->nargs < 1 || !p->args || !p->args[0]))
        return kr_q_fail(cx, "pattern node of kind %d has no argument", (int)p->kind);
    if ((p->kind == KR_PAT_MASK || p->kind == KR_PAT_STRUCT) && !p->aux)
        return kr_q_fail(cx, "mask/struct node without its pattern");
    cx->depth++;
    int rc = 0;
    kr_rat one = kr_rat_int(1);
    switch (p->kind) {
    case KR_PAT_ATOM: rc = q_atom(p, arc, out, cx); break;
    case KR_PAT_SILENCE: break;
    case KR_PAT_SEQ: rc = p->weights ? q_timecat(p, env, arc, out, cx)
                                     : q_fastcat(p, env, arc, out, cx); break;
    case KR_PAT_CAT: rc = q_slowcat(p->args, p->nargs, env, arc, out, cx); break;
    case KR_PAT_STACK:
        for (int i = 0; i < p->nargs && rc == 0; i++)
            rc = kr_q(p->args[i], env, arc, out, cx);
        break;
    case KR_PAT_FAST: rc = q_fast_by(p->args[0], env, p->time, arc, out, cx); break;
    case KR_PAT_SLOW:
        if (p->time.num > 0 && p->time.den > 0)
            rc = q_fast_by(p->args[0], env, kr_rat_div(one, p->time, &cx->overflow), arc, out,
                           cx);
        break;
    case KR_PAT_SHIFT: {
        size_t from = out->count;
        kr_arc sub = arc_affine(arc, one, kr_rat_neg(p->time, &cx->overflow), cx);
        rc = kr_q_check(cx);
        if (rc == 0)
            rc = kr_q(p->args[0], env, sub, out, cx);
        if (rc == 0) {
            map_events(out, from, one, p->time, cx);
            rc = kr_q_check(cx);
        }
        break;
    }
    case KR_PAT_REV: rc = q_rev(p, env, arc, out, cx); break;
    case KR_PAT_EVERY: rc = q_every(p, env, arc, out, cx); break;
    case KR_PAT_EUCLID: rc = kr_q_euclid(p, env, arc, out, cx); break;
    case KR_PAT_DEGRADE: rc = kr_q_degrade(p, env, arc, out, cx); break;
    case KR_PAT_SOMETIMES: rc = kr_q_sometimes(p, env, arc, out, cx); break;
    case KR_PAT_MASK: rc = kr_q_mask(p, env, arc, out, cx); break;
    case KR_PAT_STRUCT: rc = kr_q_struct(p, env, arc, out, cx); break;
    case KR_PAT_SWING: rc = kr_q_swing(p, env, arc, out, cx); break;
    case KR_PAT_SIGNAL: rc = kr_q_signal(p, arc, out, cx); break;
    case KR_PAT_RANDCAT: rc = kr_q_randcat(p, env, arc, out, cx); break;
    case KR_PAT_POLYMETER: rc = q_polymeter(p, env, arc, out, cx); break;
    case KR_PAT_SELF: rc = q_self(env, arc, out, cx); break;
    default: rc = kr_q_fail(cx, "unknown pattern kind %d", (int)p->kind); break;
    }
    cx->depth--;
    return rc;
}

/* ---- sorting and the public entry point -------------------------------------- */

static void merge_sort(kr_event *a, kr_event *tmp, size_t n)
{
    if (n < 2)
        return;
    if (n <= 8) { /* insertion sort: stable */
        for (size_t i = 1; i < n; i++) {
            kr_event key = a[i];
            size_t j = i;
            while (j > 0 && kr_rat_cmp(a[j - 1].part.begin, key.part.begin) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = key;
        }
        return;
    }
    size_t mid = n / 2;
    merge_sort(a, tmp, mid);
    merge_sort(a + mid, tmp, n - mid);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n)
        tmp[k++] = kr_rat_cmp(a[j].part.begin, a[i].part.begin) < 0 ? a[j++] : a[i++];
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

int kr_pattern_query(const kr_pattern *pattern, kr_arc arc, kr_events *out, kr_error *error)
{
    kr_qcx cx = {error, false, false, 0, 0};
    if (!pattern || !out)
        return kr_q_fail(&cx, "query needs a pattern and an event list");
    if (arc.begin.den <= 0 || arc.end.den <= 0)
        return kr_q_fail(&cx, "query arc has a zero denominator");
    size_t from = out->count;
    int rc = kr_q(pattern, NULL, arc, out, &cx);
    if (rc == 0)
        rc = kr_q_check(&cx);
    if (rc) {
        out->count = from;
        return -1;
    }
    size_t n = out->count - from;
    if (n > 1) {
        kr_event *tmp = malloc(n * sizeof *tmp);
        if (!tmp) {
            out->count = from;
            return kr_q_fail(&cx, "out of memory while sorting events");
        }
        merge_sort(out->items + from, tmp, n);
        free(tmp);
    }
    return 0;
}
