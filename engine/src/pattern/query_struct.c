/* query_struct.c — structure from another pattern: struct, mask, euclid. */
#include <stdlib.h>
#include <string.h>

#include "query_internal.h"

/* Strudel struct (keepif.out / appRight): the rhythm's wholes, the arg's values
 * sampled over each "on" rhythm event. `rhythm` holds the rhythm's events. */
static int apply_struct(const kr_events *rhythm, const kr_pattern *arg, const kr_qenv *env,
                        kr_events *out, kr_qcx *cx)
{
    kr_events vals = {0};
    int rc = 0;
    for (size_t r = 0; r < rhythm->count && rc == 0; r++) {
        const kr_event *re = &rhythm->items[r];
        if (!kr_value_truthy(&re->value))
            continue;
        vals.count = 0;
        rc = kr_q(arg, env, re->has_whole ? re->whole : re->part, &vals, cx);
        for (size_t i = 0; i < vals.count && rc == 0; i++) {
            kr_event ev;
            if (!kr_arc_sect(vals.items[i].part, re->part, &ev.part))
                continue;
            ev.has_whole = re->has_whole;
            ev.whole = re->whole;
            ev.value = vals.items[i].value;
            rc = kr_q_push(out, &ev, cx);
        }
    }
    kr_events_free(&vals);
    return rc;
}

int kr_q_struct(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                    kr_qcx *cx)
{
    kr_events rhythm = {0};
    int rc = kr_q(p->aux, env, arc, &rhythm, cx);
    if (rc == 0)
        rc = apply_struct(&rhythm, p->args[0], env, out, cx);
    kr_events_free(&rhythm);
    return rc;
}

/* Strudel mask (keepif.in / appLeft): the arg's events, cut to where the mask
 * is on; wholes are kept. */
int kr_q_mask(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                  kr_qcx *cx)
{
    kr_events src = {0}, mask = {0};
    int rc = kr_q(p->args[0], env, arc, &src, cx);
    for (size_t i = 0; i < src.count && rc == 0; i++) {
        const kr_event *h = &src.items[i];
        mask.count = 0;
        rc = kr_q(p->aux, env, h->has_whole ? h->whole : h->part, &mask, cx);
        for (size_t m = 0; m < mask.count && rc == 0; m++) {
            kr_event ev = *h;
            if (!kr_value_truthy(&mask.items[m].value) ||
                !kr_arc_sect(h->part, mask.items[m].part, &ev.part))
                continue;
            rc = kr_q_push(out, &ev, cx);
        }
    }
    kr_events_free(&src);
    kr_events_free(&mask);
    return rc;
}

/* Bjorklund as in Strudel's euclid.mjs (Rohan Drape's formulation). Every
 * element of each of the two lists is the same sequence at every step, so one
 * copy of each plus a count is enough. */
static int bjorklund(int k, int n, unsigned char *bits)
{
    bool inverted = k < 0;
    if (inverted)
        k = -k;
    if (k > n)
        k = n;
    unsigned char *x = malloc((size_t)n + 1), *y = malloc((size_t)n + 1),
                  *t = malloc((size_t)n + 1);
    if (!x || !y || !t) {
        free(x);
        free(y);
        free(t);
        return -1;
    }
    int xl = 1, yl = 1, xc = k, yc = n - k;
    x[0] = 1;
    y[0] = 0;
    while ((xc < yc ? xc : yc) > 1) {
        if (xc > yc) { /* left: x' = x++y (yc of them), y' = x (xc - yc of them) */
            memcpy(t, x, (size_t)xl);
            memcpy(x + xl, y, (size_t)yl);
            memcpy(y, t, (size_t)xl);
            int nxl = xl + yl;
            yl = xl;
            xl = nxl;
            int nxc = yc;
            yc = xc - yc;
            xc = nxc;
        } else { /* right: x' = x++y (xc of them), y stays (yc - xc of them) */
            memcpy(x + xl, y, (size_t)yl);
            xl += yl;
            yc -= xc;
        }
    }
    int pos = 0;
    for (int i = 0; i < xc; i++)
        for (int j = 0; j < xl && pos < n; j++)
            bits[pos++] = x[j];
    for (int i = 0; i < yc; i++)
        for (int j = 0; j < yl && pos < n; j++)
            bits[pos++] = y[j];
    while (pos < n)
        bits[pos++] = 0;
    if (inverted)
        for (int i = 0; i < n; i++)
            bits[i] = !bits[i];
    free(x);
    free(y);
    free(t);
    return 0;
}

int kr_q_euclid(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                    kr_qcx *cx)
{
    int n = p->n;
    if (n <= 0)
        return 0;
    unsigned char *bits = malloc((size_t)n), *rot = malloc((size_t)n);
    if (!bits || !rot || bjorklund(p->k, n, bits)) {
        free(bits);
        free(rot);
        return kr_q_fail(cx, "out of memory while querying a pattern");
    }
    /* Strudel's euclidRot: rotate(bits, -rotation), i.e. later by `rotation` steps. */
    for (int j = 0; j < n; j++)
        rot[j] = bits[kr_mod64((int64_t)j - p->rotation, n)];
    free(bits);

    bool *ov = &cx->overflow;
    kr_rat nr = kr_rat_int(n);
    int64_t first = kr_rat_floor(kr_rat_mul(arc.begin, nr, ov));
    int64_t last = kr_rat_ceil(kr_rat_mul(arc.end, nr, ov));
    kr_events rhythm = {0};
    int rc = kr_q_check(cx);
    for (int64_t s = first; s < last && rc == 0; s++) {
        rc = kr_q_tick(cx);
        if (rc || !rot[kr_mod64(s, n)])
            continue;
        kr_event ev = {0};
        ev.has_whole = true;
        ev.whole.begin = kr_rat_make(s, n, ov);
        ev.whole.end = kr_rat_make(s + 1, n, ov);
        if (!kr_arc_sect(ev.whole, arc, &ev.part))
            continue;
        rc = kr_q_check(cx);
        if (rc == 0)
            rc = kr_q_push(&rhythm, &ev, cx);
    }
    free(rot);
    if (rc == 0)
        rc = apply_struct(&rhythm, p->args[0], env, out, cx);
    kr_events_free(&rhythm);
    return rc;
}
