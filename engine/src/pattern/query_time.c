/* query_time.c — swing (a time warp) and continuous signals. */
#include <math.h>

#include "query_internal.h"

#define KR_PI 3.14159265358979323846

/* ---- swing --------------------------------------------------------------------
 * In each pair of grid steps (length P = 2/grid) the point at 1/2 moves to
 * `amount`, linearly on both sides: u in [0, 1/2) -> 2a·u, u in [1/2, 1) ->
 * a + 2(1-a)(u - 1/2). Pair boundaries stay put, so the warp is exact and
 * invertible; events are mapped through it (onsets and ends). */

static kr_rat warp(kr_rat t, kr_rat pair, kr_rat a, bool inverse, kr_qcx *cx)
{
    bool *ov = &cx->overflow;
    kr_rat half = {1, 2}, one = kr_rat_int(1);
    kr_rat pos = kr_rat_div(t, pair, ov);
    kr_rat k = kr_rat_int(kr_rat_floor(pos));
    kr_rat u = kr_rat_sub(pos, k, ov), v;
    if (!inverse) {
        if (kr_rat_cmp(u, half) < 0)
            v = kr_rat_mul(kr_rat_mul(kr_rat_int(2), a, ov), u, ov);
        else
            v = kr_rat_add(a, kr_rat_mul(kr_rat_mul(kr_rat_int(2), kr_rat_sub(one, a, ov), ov),
                                         kr_rat_sub(u, half, ov), ov), ov);
    } else {
        if (kr_rat_cmp(u, a) < 0)
            v = kr_rat_div(u, kr_rat_mul(kr_rat_int(2), a, ov), ov);
        else
            v = kr_rat_add(half, kr_rat_div(kr_rat_sub(u, a, ov),
                                            kr_rat_mul(kr_rat_int(2), kr_rat_sub(one, a, ov), ov),
                                            ov), ov);
    }
    return kr_rat_mul(kr_rat_add(k, v, ov), pair, ov);
}

int kr_q_swing(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    kr_rat a = p->ratio;
    if (a.den <= 0 || a.num <= 0 || a.num >= a.den || p->grid < 1)
        return kr_q(p->args[0], env, arc, out, cx); /* no usable swing: straight */
    kr_rat pair = kr_rat_make(2, p->grid, &cx->overflow);
    kr_arc sub = {warp(arc.begin, pair, a, true, cx), warp(arc.end, pair, a, true, cx)};
    if (kr_q_check(cx))
        return -1;
    size_t from = out->count;
    if (kr_q(p->args[0], env, sub, out, cx))
        return -1;
    for (size_t i = from; i < out->count; i++) {
        kr_event *ev = &out->items[i];
        ev->part.begin = warp(ev->part.begin, pair, a, false, cx);
        ev->part.end = warp(ev->part.end, pair, a, false, cx);
        if (ev->has_whole) {
            ev->whole.begin = warp(ev->whole.begin, pair, a, false, cx);
            ev->whole.end = warp(ev->whole.end, pair, a, false, cx);
        }
    }
    return kr_q_check(cx);
}

/* ---- signals ------------------------------------------------------------------
 * Strudel's signals: one event per query, no whole, the value taken at the
 * middle of the queried span (`signal(f)` calls f(span.midpoint())). `tri` is
 * Strudel's fastcat(isaw, saw): queries are cut at half cycles, 1 -> 0 -> 1. */

static double frac_double(double x) { return x - floor(x); }

static int push_signal(const kr_pattern *p, kr_arc part, double v, kr_events *out, kr_qcx *cx)
{
    kr_event ev = {0};
    ev.has_whole = false;
    ev.part = part;
    kr_value_set(&ev.value, "value", v * (p->hi - p->lo) + p->lo);
    return kr_q_push(out, &ev, cx);
}

int kr_q_signal(const kr_pattern *p, kr_arc arc, kr_events *out, kr_qcx *cx)
{
    bool *ov = &cx->overflow;
    if (p->shape == KR_SIG_TRI) {
        for (kr_rat b = arc.begin; kr_rat_cmp(b, arc.end) < 0;) {
            if (kr_q_tick(cx))
                return -1;
            /* the half cycle b falls in: [h/2, (h+1)/2) */
            int64_t h = kr_rat_floor(kr_rat_mul(b, kr_rat_int(2), ov));
            kr_arc piece = {b, kr_rat_min(kr_rat_make(h + 1, 2, ov), arc.end)};
            int64_t cycle = kr_rat_floor(b);
            bool rising = (h & 1) != 0;
            /* Strudel queries isaw/saw at [2b - c, 2e - c) (falling half) or
             * [2b - c - 1, 2e - c - 1) (rising half); its midpoint is b + e - c (- 1). */
            kr_rat t = kr_rat_sub(kr_rat_add(piece.begin, piece.end, ov),
                                  kr_rat_int(rising ? cycle + 1 : cycle), ov);
            double x = frac_double(kr_rat_to_double(t));
            if (kr_q_check(cx) || push_signal(p, piece, rising ? x : 1.0 - x, out, cx))
                return -1;
            b = piece.end;
        }
        return 0;
    }
    kr_rat mid = kr_arc_mid(arc, cx);
    double x = kr_rat_to_double(mid), v = 0;
    switch (p->shape) {
    case KR_SIG_SINE: v = (sin(KR_PI * 2 * x) + 1) / 2; break;
    case KR_SIG_RAMP: v = frac_double(x); break;
    case KR_SIG_RAMP_DOWN: v = 1 - frac_double(x); break;
    case KR_SIG_SQUARE: {
        kr_rat f = kr_rat_frac(mid, ov);
        v = kr_rat_cmp(f, kr_rat_make(1, 2, ov)) < 0 ? 0 : 1;
        break;
    }
    case KR_SIG_EXP: {
        /* krach's own: lo·(hi/lo)^phase (both > 0), so it is mapped here directly. */
        double ph = frac_double(x);
        if (p->lo > 0 && p->hi > 0) {
            kr_event ev = {0};
            ev.part = arc;
            kr_value_set(&ev.value, "value", p->lo * pow(p->hi / p->lo, ph));
            return kr_q_check(cx) ? -1 : kr_q_push(out, &ev, cx);
        }
        v = (exp(4 * ph) - 1) / (exp(4.0) - 1);
        break;
    }
    case KR_SIG_RAND: v = kr_q_rand_at(mid, p->seed, cx); break;
    default: v = 0; break;
    }
    if (kr_q_check(cx))
        return -1;
    return push_signal(p, arc, v, out, cx);
}
