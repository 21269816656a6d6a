/* mini_internal.h — the mini-notation parser's syntax tree, shared by mini.c
 * (text → syntax tree) and mini_build.c (syntax tree → kr_pattern).
 *
 * The syntax tree mirrors Strudel's krill grammar: a group holds layers (one
 * sequence each) joined by ',' (stack) or '|' (random choice); a sequence holds
 * steps; a step is a slice (a word or a bracketed group) with its operators
 * (weight, replicate, euclid, fast/slow, degrade) applied in the order written.
 * All of it lives in one arena and is dropped at once after building. */
#ifndef KRACH_MINI_INTERNAL_H
#define KRACH_MINI_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "krach/engine.h"
#include "krach/pattern.h"
#include "krach/rational.h"

#define MN_MAX_REPEAT_CHOICES 16 /* distinct values in a patterned factor (`*<2 3>`) */

typedef struct mn_node mn_node;

typedef enum mn_kind {
    MN_WORD = 0, /* an atom or a rest (`~ - .`) */
    MN_SEQ,      /* steps sharing one cycle by weight */
    MN_STACK,    /* '[a, b]': layers at once */
    MN_RAND,     /* '[a | b]': one layer per cycle, at random */
    MN_ALT,      /* '<a b, c>': each layer one step per cycle */
    MN_POLY      /* '{a b, c d e}%n': layers aligned to n steps per cycle */
} mn_kind;

typedef enum mn_op_kind {
    MN_OP_FAST = 0,
    MN_OP_SLOW,
    MN_OP_REPLICATE,
    MN_OP_EUCLID,
    MN_OP_DEGRADE
} mn_op_kind;

typedef struct mn_op {
    mn_op_kind kind;
    size_t at;       /* byte offset of the operator character */
    mn_node *factor; /* FAST, SLOW: the operand (a word or a group) */
    int reps;        /* REPLICATE */
    int k, n, rotation; /* EUCLID with plain numbers (npat == 0) */
    struct mn_step *args[3]; /* EUCLID: pulses, steps, rotation as written (NULL: none) */
    int npat;                /* EUCLID: how many of them are patterns */
    double prob;     /* DEGRADE */
    uint64_t seed;
} mn_op;

typedef struct mn_step {
    mn_node *slice;
    kr_rat weight; /* '@', '_', and '!' (which sets it to the repeat count) */
    int reps;
    mn_op *ops;
    int nops, capops;
    size_t at;
} mn_step;

struct mn_node {
    mn_kind kind;
    size_t at; /* byte offset: the word, or the opening bracket */
    /* MN_WORD */
    char text[KR_LABEL_MAX];
    /* MN_SEQ */
    mn_step *steps;
    int nsteps, capsteps;
    /* MN_STACK, MN_RAND, MN_ALT, MN_POLY: each layer is an MN_SEQ */
    mn_node **layers;
    int nlayers, caplayers;
    uint64_t seed;  /* MN_RAND */
    mn_node *count; /* MN_POLY: the '%' operand, or NULL */
};

typedef struct mn_chunk mn_chunk;

typedef struct mn_parser {
    const char *text;
    size_t len, pos;
    int depth;     /* open brackets */
    int steps;     /* steps parsed so far (limit KR_PATTERN_NODES) */
    uint64_t seed; /* next seed for '?' and '|', in Strudel's order */
    int nodes;     /* kr_pattern nodes built so far */
    kr_error *error;
    mn_chunk *chunks;
} mn_parser;

/* mini_lex.c: arena allocation (zeroed; NULL with error set when memory runs
 * out) and its release. */
void *mn_alloc(mn_parser *p, size_t size);
void mn_arena_free(mn_parser *p);
/* Sets error->code "bad_mini" and the message "mini-notation: <fmt…>" (which
 * names the column, see mn_column), then the line of the text indented two
 * spaces and a caret under byte offset `at`. Keeps the first error. NULL. */
void *mn_fail(mn_parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 1-based column (in characters) of byte offset `at` in its line. */
int mn_column(const mn_parser *p, size_t at);

/* Numbers as written in mini-notation: -?digits(.digits)?(e[+-]?digits)?, also
 * ".5" and "5." (JavaScript's Number()). Returns 0 and the exact value, or -1
 * (not a number, or too many digits for 64 bits). */
int mn_number(const char *text, size_t len, kr_rat *out);
int mn_number_double(const char *text, size_t len, double *out);

/* mini_build.c: the syntax tree as a kr_pattern (NULL and error set on failure). */
kr_pattern *mn_build(mn_parser *p, mn_node *root);

#endif
