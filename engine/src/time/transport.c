/* transport.c — exact tempo segments (see transport.h). */
#include "krach/transport.h"

#define CYCLE_GRID_BITS 20 /* change points rounded to 2^-20 cycle when needed */

static kr_tempo_segment make_segment(int64_t rate, int64_t start_sample, kr_rat start_cycle,
                                     kr_rat bpm, int meter, bool *overflow)
{
    kr_tempo_segment s = {.start_sample = start_sample, .start_cycle = start_cycle,
                          .bpm = bpm, .meter = meter};
    /* samples per cycle = 60 · meter · rate / bpm */
    kr_rat numer = kr_rat_mul(kr_rat_int(60 * (int64_t)meter), kr_rat_int(rate), overflow);
    s.samples_per_cycle = kr_rat_div(numer, bpm, overflow);
    return s;
}

void kr_transport_init(kr_transport *t, int64_t sample_rate, kr_rat bpm, int meter,
                       bool *overflow)
{
    t->sample_rate = sample_rate;
    t->current = make_segment(sample_rate, 0, kr_rat_int(0), bpm, meter, overflow);
    t->npast = 0;
    t->changes = 0;
}

/* Keeps a change point's denominator bounded (see transport.h). */
static kr_rat bound_denominator(kr_rat c)
{
    const int64_t grid = (int64_t)1 << CYCLE_GRID_BITS;
    if (c.den <= grid)
        return c;
    __int128 scaled = (__int128)c.num * grid;
    __int128 q = scaled / c.den, r = scaled % c.den;
    if (r < 0) { /* floor division */
        q -= 1;
        r += c.den;
    }
    if (2 * r >= c.den)
        q += 1;
    bool overflow = false;
    return kr_rat_make((int64_t)q, grid, &overflow);
}

bool kr_transport_full(const kr_transport *t, int64_t at_sample)
{
    return at_sample > t->current.start_sample && t->npast >= KR_TRANSPORT_PAST;
}

int kr_transport_change(kr_transport *t, int64_t at_sample, kr_rat bpm, int meter, bool *overflow)
{
    if (at_sample < t->current.start_sample)
        at_sample = t->current.start_sample;
    if (kr_transport_full(t, at_sample))
        return -1;
    kr_rat at_cycle = bound_denominator(kr_transport_cycle_at(t, at_sample, overflow));
    if (at_sample > t->current.start_sample)
        t->past[t->npast++] = t->current;
    /* else the current segment has no sample of its own: it is replaced */
    t->current = make_segment(t->sample_rate, at_sample, at_cycle, bpm, meter, overflow);
    t->changes++;
    return 0;
}

void kr_transport_forget_before(kr_transport *t, int64_t sample)
{
    int drop = 0; /* past[i] ends where past[i + 1] (or current) starts */
    while (drop < t->npast &&
           (drop + 1 < t->npast ? t->past[drop + 1].start_sample : t->current.start_sample) <= sample)
        drop++;
    if (drop == 0)
        return;
    for (int i = drop; i < t->npast; i++)
        t->past[i - drop] = t->past[i];
    t->npast -= drop;
}

/* The segment a sample falls in; samples before every kept segment take the
 * oldest (the mapping extends it backwards). */
static const kr_tempo_segment *segment_for_sample(const kr_transport *t, int64_t sample)
{
    if (sample >= t->current.start_sample)
        return &t->current;
    for (int i = t->npast - 1; i > 0; i--)
        if (sample >= t->past[i].start_sample)
            return &t->past[i];
    return t->npast ? &t->past[0] : &t->current;
}

static const kr_tempo_segment *segment_for_cycle(const kr_transport *t, kr_rat c)
{
    if (kr_rat_cmp(c, t->current.start_cycle) >= 0)
        return &t->current;
    for (int i = t->npast - 1; i > 0; i--)
        if (kr_rat_cmp(c, t->past[i].start_cycle) >= 0)
            return &t->past[i];
    return t->npast ? &t->past[0] : &t->current;
}

kr_rat kr_transport_cycle_at(const kr_transport *t, int64_t sample, bool *overflow)
{
    const kr_tempo_segment *s = segment_for_sample(t, sample);
    kr_rat elapsed = kr_rat_int(sample - s->start_sample);
    return kr_rat_add(s->start_cycle, kr_rat_div(elapsed, s->samples_per_cycle, overflow),
                      overflow);
}

int64_t kr_transport_sample_at(const kr_transport *t, kr_rat c, bool *overflow)
{
    const kr_tempo_segment *s = segment_for_cycle(t, c);
    kr_rat offset = kr_rat_mul(kr_rat_sub(c, s->start_cycle, overflow), s->samples_per_cycle,
                               overflow);
    return s->start_sample + kr_rat_ceil(offset);
}
