/* scheduler.h — turns playing patterns into timed events for the audio thread.
 *
 * Each playing pattern occupies a *slot*: a target (a node, or one control of
 * a node), the pattern, the cycle it starts at and, once replaced, the cycle
 * it stops at. The scheduler queries every slot a little ahead of the audio
 * (the lookahead) and sends each event to the audio thread stamped with the
 * exact sample from the transport (transport.h); the audio thread applies it
 * there by splitting its block. Live, the server thread calls
 * kr_scheduler_tick every few milliseconds; offline, the render loop calls
 * kr_scheduler_advance before each chunk, so both use the same code.
 *
 * Note slots (target "bass"): every event onset sets the controls its value
 * names (freq, vel, any other), then raises `gate`; the event's end lowers it.
 * A plain number is a MIDI note. Simultaneous notes take separate voices of a
 * node with count > 1 (a free voice, else the oldest is stolen).
 * Control slots (target "bass/cutoff"): an event's value sets the control at
 * its onset; continuous patterns are sampled every KR_SCHED_GRID samples.
 * Server thread only. */
#ifndef KRACH_SCHEDULER_H
#define KRACH_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "krach/automation.h"
#include "krach/error.h"
#include "krach/limits.h"
#include "krach/pattern.h"
#include "krach/transport.h"

#define KR_SCHED_SLOTS      256
#define KR_SCHED_GRID       256      /* samples between continuous-pattern samples */
#define KR_SCHED_LOOKAHEAD  0.1      /* seconds queued ahead of a live audio clock */
#define KR_SCHED_MARGIN     0.02     /* seconds: live changes land no earlier than this */
/* Onsets one pattern plays per cycle: `play` refuses a pattern whose first
 * cycle has more; a later cycle with more plays its first ones and drops the
 * rest (reported once), so the server and the audio queues stay bounded. */
#define KR_SCHED_CYCLE_EVENTS 4096

typedef struct kr_slot {
    uint32_t tag;                    /* events carry it, so they can be cancelled */
    char node[KR_MAX_NAME];
    char control[KR_VALUE_NAME];     /* "" for a note slot */
    char target[KR_MAX_NAME + KR_VALUE_NAME];
    kr_pattern *pattern;             /* owned */
    char *source;                    /* owned: {"pattern": IR} or {"mini": text} as JSON, for `state` */
    size_t source_bytes;             /* strlen(source): its share of KR_MAX_SOURCE_BYTES */
    bool from_zero;
    bool has_signal;                 /* contains continuous parts */
    kr_rat origin;                   /* the global cycle where pattern time 0 falls */
    kr_rat start;                    /* plays from this cycle … */
    kr_rat stop;                     /* … to this one (when `stopping`) */
    bool stopping;
    kr_rat queued_until;             /* cycles already sent */
    int64_t skip_before;             /* after a cancel: events before this sample still stand */
    bool chord_warned;
    int64_t budget_cycle;            /* the cycle whose onsets budget_used counts */
    int budget_used;
    bool dense_warned;
} kr_slot;

/* An automation as the server remembers it (the audio thread holds the
 * running copy; see automation.h). */
typedef struct kr_sched_automation {
    char node[KR_MAX_NAME];
    char control[KR_VALUE_NAME];     /* a control, or "gain" */
    kr_auto_shape shape;
    double lo, hi;                   /* fade: from, to */
    kr_rat bars;                     /* period, or fade length, in cycles */
    kr_rat start;                    /* fade: the cycle it began */
} kr_sched_automation;

typedef struct kr_scheduler {
    kr_transport transport;
    kr_slot slots[KR_SCHED_SLOTS];
    int slot_count;
    kr_sched_automation automations[KR_AUTOMATIONS];
    int automation_count;
    uint32_t next_tag;
    int64_t horizon;                 /* every event before this sample has been sent */
} kr_scheduler;

struct kr_engine;
struct kr_node;

void kr_scheduler_init(kr_scheduler *s, int64_t sample_rate);
void kr_scheduler_free(kr_scheduler *s);

/* Sends every event before `until` (a sample). */
int kr_scheduler_advance(struct kr_engine *engine, int64_t until, kr_error *error);
/* Live: advance to the audio clock plus the lookahead. */
void kr_scheduler_tick(struct kr_engine *engine);

/* The sample from which a change made now can take effect: the audio clock
 * (offline), or the clock plus KR_SCHED_MARGIN (live). */
int64_t kr_scheduler_now(struct kr_engine *engine);

/* Whether `count` nodes can each take a pattern on `control` ("" for notes,
 * "gain" for the output gain): synths with that control, room for every slot. */
int kr_scheduler_play_check(struct kr_engine *engine, struct kr_node *const *nodes, int count,
                            const char *control, kr_error *error);
/* Plays `pattern` and its `source` text (both taken over, also on failure) on
 * `node` (control "") or one of its controls ("gain": its output gain);
 * returns the start cycle and the slot's tag. */
int kr_scheduler_play(struct kr_engine *engine, struct kr_node *node, const char *control,
                      kr_pattern *pattern, char *source, bool from_zero, kr_rat *start,
                      uint32_t *tag, kr_error *error);
/* Stops the patterns and automations on what `target` means (a node or
 * group, or "node/control" of one), or (with target NULL) all; their gates
 * are released now. Returns how many. */
int kr_scheduler_hush(struct kr_engine *engine, const char *target, kr_error *error);
/* Tempo/meter change from now on; re-times everything already queued. */
int kr_scheduler_set_tempo(struct kr_engine *engine, kr_rat bpm, int meter, kr_error *error);
/* kr.mod: `shape` between lo and hi, one period per `bars` cycles, aligned to
 * the global cycle count. kr.fade: from the current value to `value` over
 * `bars` cycles. Target "node/control" or "node/gain"; the node may be a group
 * (kr_engine_resolve_target): each member gets its own. */
int kr_scheduler_mod(struct kr_engine *engine, const char *target, kr_auto_shape shape,
                     double lo, double hi, kr_rat bars, kr_error *error);
int kr_scheduler_fade(struct kr_engine *engine, const char *target, double value, kr_rat bars,
                      kr_error *error);

/* Forgets fades that have finished (state and limits count only live ones). */
void kr_scheduler_forget_finished(struct kr_engine *engine);

/* A node is going away (or its controls changed): forget its queued events
 * and, when `removed`, its slots. */
void kr_scheduler_node_changed(struct kr_engine *engine, const char *node, bool removed);

#endif
