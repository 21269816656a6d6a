/* overload.h — telling clients when the audio thread cannot keep up.
 *
 * The backends count missed deadlines (rt.xruns); the server loop hands the
 * count and the DSP load to kr_overload_check every turn. When xruns grow it
 * returns an `overload` event line (at most one per KR_OVERLOAD_INTERVAL
 * seconds, counting every xrun since the last report); once no xrun has come
 * for KR_OVERLOAD_CALM seconds it returns one `overload_over` line. The server
 * logs them and pushes them to subscribed clients. On a clock nobody hears
 * (`audible` false: the null backend) a missed deadline at a DSP load below
 * KR_OVERLOAD_LOAD is a timer hiccup of a busy machine, not news: it is
 * absorbed silently. Pure: time is passed in. */
#ifndef KRACH_OVERLOAD_H
#define KRACH_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>

#define KR_OVERLOAD_INTERVAL 2.0 /* seconds between two overload reports */
#define KR_OVERLOAD_CALM     3.0 /* seconds without xruns before "over" */
#define KR_OVERLOAD_LOAD     0.9 /* DSP load (share of the block time) that is overload */
#define KR_OVERLOAD_SETTLE   0.5 /* seconds a first xrun at low load waits for the
                                  * smoothed load to catch up before it is judged */

typedef struct kr_overload {
    bool primed;          /* xruns_seen holds a first reading */
    bool active;          /* reported, not yet over */
    bool pending;         /* xruns seen at low load, waiting to be judged */
    double pending_since;
    uint64_t xruns_seen;  /* xruns already reported */
    double last_report, last_xrun;
} kr_overload;

/* Returns an event line (JSON + newline, malloc'd: the caller frees it) or NULL. */
char *kr_overload_check(kr_overload *ov, uint64_t xruns, double cpu_load, bool audible,
                        double now);

#endif
