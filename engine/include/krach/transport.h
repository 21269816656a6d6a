/* transport.h — the mapping between the sample clock and musical time.
 *
 * Musical time is measured in cycles (one cycle = one bar = `meter` beats).
 * The mapping is a list of segments, each starting at an integer sample and an
 * exact cycle position, with a constant tempo: within a segment
 *
 *     sample(c) = start_sample + (c - start_cycle) · samples_per_cycle
 *
 * evaluated in exact rational arithmetic, so no error accumulates however long
 * the session runs or however many times the tempo changes. A change of tempo
 * or meter starts a new segment at the sample where it takes effect; the cycle
 * position there is kept exact while its denominator stays below 2^20 and is
 * otherwise rounded to the nearest 2^-20 cycle (less than a tenth of a sample at
 * any practical tempo) so that denominators stay bounded.
 *
 * An event at cycle c sounds at the first sample at or after its exact time:
 * ceil(sample(c)). Server thread only.
 *
 * Live changes land ahead of the audio (the scheduling margin), so the audio
 * position can lie several changes back: every earlier segment that may still
 * be asked about is kept (`past`), until kr_transport_forget_before says the
 * audio has moved past it. A change at the start sample of the current
 * segment replaces it (that segment never sounded). */
#ifndef KRACH_TRANSPORT_H
#define KRACH_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "krach/rational.h"

typedef struct kr_tempo_segment {
    int64_t start_sample;
    kr_rat start_cycle;
    kr_rat bpm;               /* beats per minute, > 0 */
    int meter;                /* beats per cycle, ≥ 1 */
    kr_rat samples_per_cycle; /* 60 · meter · rate / bpm */
} kr_tempo_segment;

#define KR_TRANSPORT_PAST 64 /* earlier segments kept for samples behind a change */

typedef struct kr_transport {
    int64_t sample_rate;
    kr_tempo_segment current;  /* the segment in force from its start on */
    kr_tempo_segment past[KR_TRANSPORT_PAST]; /* the ones before, oldest first */
    int npast;
    int changes;               /* how many segments have been started */
} kr_transport;

/* Starts at sample 0, cycle 0. Returns -1 (with *overflow) on a bad rate. */
void kr_transport_init(kr_transport *t, int64_t sample_rate, kr_rat bpm, int meter,
                       bool *overflow);

/* A new tempo and/or meter from `at_sample` on (≥ the current segment's start).
 * Returns 0, or -1 with nothing changed when KR_TRANSPORT_PAST earlier
 * segments are still in use (kr_transport_full). */
int kr_transport_change(kr_transport *t, int64_t at_sample, kr_rat bpm, int meter, bool *overflow);
/* Whether a change at `at_sample` would be refused for want of room. */
bool kr_transport_full(const kr_transport *t, int64_t at_sample);
/* Forgets the earlier segments that end at or before `sample`: nothing before
 * it will be asked about again (the caller passes the audio position). */
void kr_transport_forget_before(kr_transport *t, int64_t sample);

/* The exact cycle position of a sample (for the segment it falls in). */
kr_rat kr_transport_cycle_at(const kr_transport *t, int64_t sample, bool *overflow);
/* The sample at which something at cycle `c` sounds: ceil of the exact time. */
int64_t kr_transport_sample_at(const kr_transport *t, kr_rat c, bool *overflow);

#endif
