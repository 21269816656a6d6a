/* automation.h — controls moved by the audio thread itself (kr.mod, kr.fade).
 *
 * An automation drives one parameter of a node (or the node's gain) along a
 * shape whose phase is linear in samples: phase(s) = phase0 + (s - sample0) ·
 * rate. A periodic shape (sine, tri, ramp, square) repeats every unit of
 * phase; a fade runs once from `lo` to `hi` as the phase goes 0 → 1 and then
 * holds. The server derives phase0 and rate from the transport, and sends them
 * again when the tempo changes, so the period follows the tempo with no
 * traffic per cycle. The audio thread evaluates automations at the start of
 * every slice (at most KR_AUTOMATION_STEP frames) and hands the value to the
 * control's own smoothing, so the motion is continuous. */
#ifndef KRACH_AUTOMATION_H
#define KRACH_AUTOMATION_H

#include <stdbool.h>
#include <stdint.h>

struct kr_node;

#define KR_AUTOMATIONS      128
#define KR_AUTOMATION_STEP  128   /* frames between evaluations */
#define KR_AUTOMATION_GAIN  (-1)  /* index: the node's gain instead of a parameter */

typedef enum kr_auto_shape {
    KR_AUTO_NONE = 0, /* (in a command) remove the automation */
    KR_AUTO_SINE,
    KR_AUTO_TRI,
    KR_AUTO_RAMP,
    KR_AUTO_SQUARE,
    KR_AUTO_FADE
} kr_auto_shape;

typedef struct kr_automation {
    struct kr_node *node;
    int index;              /* parameter index, or KR_AUTOMATION_GAIN */
    kr_auto_shape shape;
    double lo, hi;          /* fade: from, to */
    double phase0;
    int64_t sample0;
    double rate;            /* phase per sample */
    bool from_current;      /* a new fade starts from the parameter's present value */
    bool retime_only;       /* update phase0, sample0, rate of an existing one only */
} kr_automation;

typedef struct kr_automations {
    kr_automation items[KR_AUTOMATIONS];
    int count;
} kr_automations;

/* Audio thread. Adds or replaces the automation of (node, index); shape NONE
 * removes it. A fade `from_current` reads where the parameter is now (a
 * pattern or a mod may have moved it) as its start; `retime_only` keeps the
 * running one's range (a tempo change). False when the set is full. */
bool kr_automations_set(kr_automations *set, const kr_automation *a);
void kr_automations_remove_node(kr_automations *set, struct kr_node *node);
/* Audio thread: applies every automation's value at sample `now`; finished
 * fades are applied one last time and removed. */
void kr_automations_apply(kr_automations *set, int64_t now);

/* The shape's value at a phase, in [lo, hi] (exposed for tests). */
double kr_automation_value(const kr_automation *a, double phase);

#endif
