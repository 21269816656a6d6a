/* query_random.c — deterministic randomness: degrade, sometimes, randcat.
 *
 * The generator is Strudel's (signal.mjs, `timeToRand`): a time is stretched
 * over 300 cycles onto [0, 2^29), put through a 32-bit xorshift, and scaled
 * back to [0, 1). Strudel's `rand` is a signal, sampled at the middle of the
 * span it is queried over; applied to events (degradeBy, sometimesBy,
 * randcat) that span is the event's whole. A seed moves the sampling time by
 * seed·3/10000 cycles, as mini-notation's `?` and `|` do with their counters
 * (`rand.early(0.0003 * seed)`), so seed 0 matches Strudel's plain functions. */
#include <math.h>

#include "query_internal.h"

static int32_t xorwise(int32_t x)
{
    /* JavaScript's int32 shifts: << wraps, >> is arithmetic. */
    int32_t a = (int32_t)((uint32_t)x << 13) ^ x;
    int32_t b = (a >> 17) ^ a;
    return (int32_t)((uint32_t)b << 5) ^ b;
}

double kr_time_to_rand(double t)
{
    double y = t / 300.0;
    double frac = y - trunc(y);
    int32_t seed = xorwise((int32_t)trunc(frac * 536870912.0));
    double r = (double)(seed % 536870912) / 536870912.0;
    return fabs(r);
}

static kr_rat seed_offset(uint64_t seed, kr_qcx *cx)
{
    if (seed > (uint64_t)INT64_MAX / 3) {
        cx->overflow = true;
        return kr_rat_int(0);
    }
    return kr_rat_make((int64_t)seed * 3, 10000, &cx->overflow);
}

double kr_q_rand_at(kr_rat t, uint64_t seed, kr_qcx *cx)
{
    kr_rat at = kr_rat_add(t, seed_offset(seed, cx), &cx->overflow);
    return kr_time_to_rand(kr_rat_to_double(at));
}

double kr_event_rand(const kr_event *ev, uint64_t seed, kr_qcx *cx)
{
    return kr_q_rand_at(kr_arc_mid(ev->has_whole ? ev->whole : ev->part, cx), seed, cx);
}

void kr_q_filter_rand(kr_events *ev, size_t from, double prob, uint64_t seed, bool inverse,
                      kr_qcx *cx)
{
    size_t keep = from;
    for (size_t i = from; i < ev->count; i++) {
        double r = kr_event_rand(&ev->items[i], seed, cx);
        /* Strudel: degradeBy(p) keeps rand > p; undegradeBy(1 - p) keeps 1 - rand > 1 - p. */
        bool kept = inverse ? (1.0 - r) > (1.0 - prob) : r > prob;
        if (kept)
            ev->items[keep++] = ev->items[i];
    }
    ev->count = keep;
}

int kr_q_degrade(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    size_t from = out->count;
    if (kr_q(p->args[0], env, arc, out, cx))
        return -1;
    kr_q_filter_rand(out, from, p->prob, p->seed, false, cx);
    return kr_q_check(cx);
}

/* Strudel sometimesBy(p, f): stack(degradeBy(p), f(undegradeBy(1 - p))), under an
 * innerJoin that cuts the query at cycles. */
int kr_q_sometimes(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                   kr_qcx *cx)
{
    kr_qenv inner = {p->args[0], env, true, p->prob, p->seed};
    for (kr_rat b = arc.begin; kr_rat_cmp(b, arc.end) < 0;) {
        if (kr_q_tick(cx))
            return -1;
        int64_t cycle = kr_rat_floor(b);
        kr_arc piece = {b, kr_rat_min(kr_rat_int(cycle + 1), arc.end)};
        size_t from = out->count;
        if (kr_q(p->args[0], env, piece, out, cx))
            return -1;
        kr_q_filter_rand(out, from, p->prob, p->seed, false, cx);
        if (p->then && kr_q(p->then, &inner, piece, out, cx))
            return -1;
        if (kr_q_check(cx))
            return -1;
        b = piece.end;
    }
    return 0;
}

/* Strudel randcat / mini '|': chooseInWith(rand.segment(1), args) — in cycle c,
 * arg floor(rand(c + 1/2) · n) plays its own cycle c. */
int kr_q_randcat(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                 kr_qcx *cx)
{
    if (p->nargs <= 0)
        return 0;
    for (kr_rat b = arc.begin; kr_rat_cmp(b, arc.end) < 0;) {
        if (kr_q_tick(cx))
            return -1;
        int64_t cycle = kr_rat_floor(b);
        kr_arc piece = {b, kr_rat_min(kr_rat_int(cycle + 1), arc.end)};
        kr_rat mid = kr_rat_add(kr_rat_int(cycle), kr_rat_make(1, 2, &cx->overflow),
                                &cx->overflow);
        double r = kr_q_rand_at(mid, p->seed, cx) * (double)p->nargs;
        double f = floor(r);
        int i = f < 0 ? 0 : f > p->nargs - 1 ? p->nargs - 1 : (int)f;
        if (kr_q_check(cx) || kr_q(p->args[i], env, piece, out, cx))
            return -1;
        b = piece.end;
    }
    return 0;
}
