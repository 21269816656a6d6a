/* query_internal.h — shared by query.c, query_time.c and query_random.c. */
#ifndef KRACH_QUERY_INTERNAL_H
#define KRACH_QUERY_INTERNAL_H

#include "krach/pattern.h"

/* What `self` means inside a `then`: the transformed pattern, queried in the
 * environment it came from, optionally filtered (the `sometimes` branch keeps
 * only the events the random test sends to `then`). */
typedef struct kr_qenv kr_qenv;
struct kr_qenv {
    const kr_pattern *self;
    const kr_qenv *parent;
    bool filter;
    double prob;
    uint64_t seed;
};

/* One query's state: the sticky overflow flag, the error, the work budget. */
typedef struct kr_qcx {
    kr_error *error;
    bool overflow;
    bool failed;
    uint64_t work;
    int depth;
} kr_qcx;

/* Cycle-pieces plus events produced, across all intermediate lists. */
#define KR_QUERY_WORK (40u * KR_QUERY_EVENTS)

/* Appends the events of `p` in `arc` (unsorted). 0 or -1 (cx->error set). */
int kr_q(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);

int kr_q_push(kr_events *out, const kr_event *ev, kr_qcx *cx);
int kr_q_fail(kr_qcx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Counts one unit of work; -1 when the budget is spent. */
int kr_q_tick(kr_qcx *cx);
/* -1 (with the error) if an operation overflowed. */
int kr_q_check(kr_qcx *cx);

/* Half-open intersection; false when empty. */
bool kr_arc_sect(kr_arc a, kr_arc b, kr_arc *out);
kr_rat kr_arc_mid(kr_arc a, kr_qcx *cx);

static inline int64_t kr_mod64(int64_t a, int64_t n)
{
    int64_t r = a % n;
    return r < 0 ? r + n : r;
}

/* query_struct.c */
int kr_q_struct(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);
int kr_q_mask(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);
int kr_q_euclid(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);

/* query_time.c */
int kr_q_swing(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);
int kr_q_signal(const kr_pattern *p, kr_arc arc, kr_events *out, kr_qcx *cx);

/* query_random.c */
double kr_time_to_rand(double t);
/* Strudel's rand at time t moved by seed·3/10000 cycles. */
double kr_q_rand_at(kr_rat t, uint64_t seed, kr_qcx *cx);
/* The random number for an event (Strudel: rand sampled over the event's whole,
 * i.e. at its midpoint, moved by seed·3/10000 cycles). */
double kr_event_rand(const kr_event *ev, uint64_t seed, kr_qcx *cx);
/* Keeps events [from, count) with rand > prob (degrade) or with 1 - rand > 1 - prob
 * (the events `sometimes` hands to `then`). */
void kr_q_filter_rand(kr_events *ev, size_t from, double prob, uint64_t seed, bool inverse,
                      kr_qcx *cx);
int kr_q_degrade(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out, kr_qcx *cx);
int kr_q_sometimes(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                   kr_qcx *cx);
int kr_q_randcat(const kr_pattern *p, const kr_qenv *env, kr_arc arc, kr_events *out,
                 kr_qcx *cx);

#endif
