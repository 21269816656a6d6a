/* pattern.h — patterns: trees that answer "what happens in this arc?".
 *
 * A kr_pattern is an immutable tree built on the server thread from the
 * pattern IR (docs/pattern-ir.md) or from mini-notation (mini.h). Queries run
 * on the server/scheduler thread, never on the audio thread: they may allocate.
 * Semantics follow TidalCycles: an event has a `whole` (its full extent; absent
 * for continuous patterns) and a `part` (the piece inside the query arc). */
#ifndef KRACH_PATTERN_H
#define KRACH_PATTERN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "krach/error.h"
#include "krach/limits.h"
#include "krach/rational.h"

#define KR_VALUE_MAX     8    /* controls one event can set */
#define KR_VALUE_NAME    32
#define KR_LABEL_MAX     24
#define KR_PATTERN_DEPTH 64
#define KR_PATTERN_NODES 10000
#define KR_QUERY_EVENTS  100000

typedef struct kr_arc {
    kr_rat begin, end; /* half-open [begin, end) */
} kr_arc;

/* A small map of control name → number, plus the token it came from. */
typedef struct kr_value {
    int count;
    char names[KR_VALUE_MAX][KR_VALUE_NAME];
    double values[KR_VALUE_MAX];
    char label[KR_LABEL_MAX]; /* the atom as written ("A2", "x", "0.5"), for display and tests */
} kr_value;

typedef struct kr_event {
    bool has_whole;
    kr_arc whole;
    kr_arc part;
    kr_value value;
} kr_event;

typedef struct kr_events {
    kr_event *items;
    size_t count, cap;
} kr_events;

typedef enum kr_pattern_kind {
    KR_PAT_ATOM = 0,
    KR_PAT_SILENCE,
    KR_PAT_SEQ,        /* args with weights: one cycle, shares by weight */
    KR_PAT_CAT,        /* one arg per cycle; arg i sees its own consecutive cycles */
    KR_PAT_STACK,
    KR_PAT_FAST,       /* time: factor */
    KR_PAT_SLOW,       /* time: factor */
    KR_PAT_SHIFT,      /* time: later by */
    KR_PAT_REV,
    KR_PAT_EVERY,      /* n, offset, then */
    KR_PAT_EUCLID,     /* k, n, rotation */
    KR_PAT_DEGRADE,    /* prob, seed */
    KR_PAT_SOMETIMES,  /* prob, seed, then */
    KR_PAT_MASK,       /* aux: the mask */
    KR_PAT_STRUCT,     /* aux: the rhythm */
    KR_PAT_SWING,      /* amount, grid */
    KR_PAT_SIGNAL,     /* shape, lo, hi, seed */
    KR_PAT_RANDCAT,    /* mini '|': one arg per cycle, chosen at random (seed) */
    KR_PAT_POLYMETER,  /* mini '{ }': args aligned to `time` steps per cycle */
    KR_PAT_SELF        /* inside `then`: the pattern being transformed */
} kr_pattern_kind;

typedef enum kr_signal_shape {
    KR_SIG_SINE = 0, KR_SIG_TRI, KR_SIG_RAMP, KR_SIG_RAMP_DOWN, KR_SIG_SQUARE, KR_SIG_EXP,
    KR_SIG_RAND
} kr_signal_shape;

/* Node fields by kind (query semantics: docs/pattern-ir.md, "Query semantics"):
 *
 *   SEQ        args; weights NULL = equal shares (Tidal fastcat), non-NULL = one
 *              weight > 0 per arg (Strudel timecat, as mini-notation '@' builds)
 *   CAT, STACK args
 *   FAST, SLOW time = factor > 0          SHIFT  time = amount (later)
 *   REV        args[0]
 *   EVERY      n >= 1, offset, then (contains SELF), args[0]
 *   EUCLID     k (negative: inverted), n >= 1, rotation (> 0 rotates later,
 *              like Strudel's euclidRot), args[0]
 *   DEGRADE    prob, seed, args[0]        SOMETIMES prob, seed, then, args[0]
 *   MASK       aux = mask, args[0]        STRUCT    aux = rhythm, args[0]
 *   SWING      ratio = amount in (0, 1) (exact; `amount` is its double),
 *              grid >= 1, args[0]
 *   SIGNAL     shape, lo, hi, seed
 *   RANDCAT    args, seed
 *   POLYMETER  args, time = steps per cycle ({0, 0} or 0: the steps of args[0]);
 *              an arg's steps are its SEQ weight sum (nargs when unweighted),
 *              1 for any other kind
 *   ATOM       value
 *
 * Memory: every node, its `args` array and its `weights` array are separate
 * malloc/calloc blocks owned by the node; kr_pattern_free() frees the node,
 * args (recursively), weights, then and aux. A subtree is never shared. */
typedef struct kr_pattern kr_pattern;
struct kr_pattern {
    kr_pattern_kind kind;
    int nargs;
    kr_pattern **args;
    kr_rat *weights;        /* SEQ: one per arg (default 1) */
    kr_pattern *then;       /* EVERY, SOMETIMES (contains SELF) */
    kr_pattern *aux;        /* MASK, STRUCT */
    kr_rat time;            /* FAST, SLOW: factor; SHIFT: amount; POLYMETER: steps per cycle */
    kr_rat ratio;           /* SWING: amount as an exact fraction */
    int n, k, rotation, offset, grid;
    double prob, amount, lo, hi;
    uint64_t seed;
    kr_signal_shape shape;
    kr_value value;         /* ATOM */
};

/* A zeroed node of `kind` (NULL when out of memory). */
kr_pattern *kr_pattern_new(kr_pattern_kind kind);

/* Builds a pattern from its IR. NULL with error->code "bad_pattern" and a
 * message naming the node path (e.g. "args[2].arg: fast needs 'factor'"). */
kr_pattern *kr_pattern_from_json(json_t *ir, kr_error *error);
void kr_pattern_free(kr_pattern *pattern);

/* Appends the events of `pattern` in `arc` to `out` (sorted by part begin,
 * stable; an arc with begin >= end has no events). Returns 0, or -1 with
 * error->code "bad_pattern" (time overflow, more than KR_QUERY_EVENTS events,
 * a query too costly to answer). */
int kr_pattern_query(const kr_pattern *pattern, kr_arc arc, kr_events *out, kr_error *error);
void kr_events_free(kr_events *events);

/* Note names: "C4" = MIDI 60, "A4" = 69; '#'/'s' sharp, 'b'/'f' flat (any
 * number), octave may be negative. Returns 0 and the MIDI number, or -1. */
int kr_note_parse(const char *text, double *midi);
double kr_midi_to_freq(double midi);

/* Value helpers. */
void kr_value_set(kr_value *value, const char *name, double v); /* replaces or adds */
bool kr_value_get(const kr_value *value, const char *name, double *v);
/* Whether an event of a mask or rhythm counts as "on": its `gate` when it has
 * one, else its first value; a value with no entries is on. */
bool kr_value_truthy(const kr_value *value);

#endif
