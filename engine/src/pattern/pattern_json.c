/* pattern_json.c — the pattern IR (docs/pattern-ir.md) to a kr_pattern tree.
 *
 * Every field is checked; a message names the node's path from the root
 * ("args[1].arg: 'factor' must be a time > 0 ...") and says what is expected. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/mini.h"
#include "krach/pattern.h"

#define KR_PATH_MAX 512
#define KR_SEED_MAX ((json_int_t)1 << 40)
#define KR_EUCLID_MAX 1024
#define KR_GRID_MAX 4096

typedef struct jcx {
    kr_error *error;
    int nodes;
    int then_depth; /* > 0 inside a `then`: `self` is allowed */
} jcx;

typedef struct op_def {
    const char *name;
    kr_pattern_kind kind;
    const char *fields[5]; /* besides "op" */
    const char *hint;
} op_def;

#define KIND_MINI ((kr_pattern_kind)-1)

static const op_def OPS[] = {
    {"atom", KR_PAT_ATOM, {"value", "label"}, "value"},
    {"silence", KR_PAT_SILENCE, {0}, ""},
    {"seq", KR_PAT_SEQ, {"args"}, "args"},
    {"cat", KR_PAT_CAT, {"args"}, "args"},
    {"stack", KR_PAT_STACK, {"args"}, "args"},
    {"fast", KR_PAT_FAST, {"factor", "arg"}, "factor, arg"},
    {"slow", KR_PAT_SLOW, {"factor", "arg"}, "factor, arg"},
    {"shift", KR_PAT_SHIFT, {"by", "arg"}, "by, arg"},
    {"rev", KR_PAT_REV, {"arg"}, "arg"},
    {"every", KR_PAT_EVERY, {"n", "offset", "then", "arg"}, "n, offset, then, arg"},
    {"euclid", KR_PAT_EUCLID, {"k", "n", "rotation", "arg"}, "k, n, rotation, arg"},
    {"degrade", KR_PAT_DEGRADE, {"prob", "seed", "arg"}, "prob, seed, arg"},
    {"sometimes", KR_PAT_SOMETIMES, {"prob", "seed", "then", "arg"}, "prob, seed, then, arg"},
    {"mask", KR_PAT_MASK, {"mask", "arg"}, "mask, arg"},
    {"struct", KR_PAT_STRUCT, {"rhythm", "arg"}, "rhythm, arg"},
    {"swing", KR_PAT_SWING, {"amount", "grid", "arg"}, "amount, grid, arg"},
    {"signal", KR_PAT_SIGNAL, {"shape", "lo", "hi", "seed"}, "shape, lo, hi, seed"},
    {"randcat", KR_PAT_RANDCAT, {"args", "seed"}, "args, seed"},
    {"polymeter", KR_PAT_POLYMETER, {"args", "steps"}, "args, steps"},
    {"mini", KIND_MINI, {"text"}, "text"},
    {"self", KR_PAT_SELF, {0}, ""},
};
#define N_OPS ((int)(sizeof OPS / sizeof OPS[0]))

static const char *SHAPES[] = {"sine", "tri", "ramp", "ramp_down", "square", "exp", "rand"};

/* ---- nodes ------------------------------------------------------------------- */

kr_pattern *kr_pattern_new(kr_pattern_kind kind)
{
    kr_pattern *p = calloc(1, sizeof *p);
    if (p)
        p->kind = kind;
    return p;
}

void kr_pattern_free(kr_pattern *pattern)
{
    if (!pattern)
        return;
    if (pattern->args) {
        for (int i = 0; i < pattern->nargs; i++)
            kr_pattern_free(pattern->args[i]);
        free(pattern->args);
    }
    free(pattern->weights);
    kr_pattern_free(pattern->then);
    kr_pattern_free(pattern->aux);
    free(pattern);
}

/* ---- errors and paths ------------------------------------------------------------ */

static int failf(jcx *cx, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(jcx *cx, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kr_error_set(cx->error, "bad_pattern", "%s: %s", path[0] ? path : "pattern", msg);
    return -1;
}

static void join_path(char *out, const char *path, const char *child)
{
    snprintf(out, KR_PATH_MAX, "%s%s%s", path, path[0] ? "." : "", child);
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- scalar fields --------------------------------------------------------------- */

/* A time: an integer, "n" / "n/d", or a float that is exactly dyadic.
 * `what` says the expectation for messages, e.g. "a time > 0". */
static int parse_time(jcx *cx, json_t *j, const char *path, const char *key, const char *what,
                      const char *examples, kr_rat *out)
{
    if (json_is_integer(j)) {
        *out = kr_rat_int((int64_t)json_integer_value(j));
        return 0;
    }
    if (json_is_string(j)) {
        if (kr_rat_parse(json_string_value(j), out) == 0)
            return 0;
        return failf(cx, path, "'%s' must be %s (%s); \"%s\" is not an exact time "
                     "(\"n\" or \"n/d\", no spaces)", key, what, examples, json_string_value(j));
    }
    if (json_is_real(j)) {
        double x = json_real_value(j);
        if (kr_rat_from_double(x, out) == 0)
            return 0;
        return failf(cx, path, "'%s' is %.17g, which is not exact in binary: write it as a "
                     "string \"n/d\" (e.g. \"1/10\" for 0.1)", key, x);
    }
    return failf(cx, path, "'%s' must be %s (%s), not %s", key, what, examples, json_kind(j));
}

static int get_time(jcx *cx, json_t *obj, const char *path, const char *op, const char *key,
                    bool required, int sign, kr_rat def, kr_rat *out)
{
    const char *what = sign > 0 ? "a time > 0" : "a time";
    const char *ex = sign > 0 ? "\"3/2\", 2 or 0.5" : "\"-1/4\", 1 or 0.25";
    json_t *j = json_object_get(obj, key);
    if (!j) {
        if (required)
            return failf(cx, path, "%s needs '%s' (%s: %s)", op, key, what, ex);
        *out = def;
        return 0;
    }
    if (parse_time(cx, j, path, key, what, ex, out))
        return -1;
    if (sign > 0 && out->num <= 0)
        return failf(cx, path, "'%s' must be %s (%s)", key, what, ex);
    return 0;
}

static int get_int(jcx *cx, json_t *obj, const char *path, const char *op, const char *key,
                   bool required, json_int_t lo, json_int_t hi, json_int_t def, json_int_t *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j) {
        if (required)
            return failf(cx, path, "%s needs '%s' (an integer from %lld to %lld)", op, key,
                         (long long)lo, (long long)hi);
        *out = def;
        return 0;
    }
    json_int_t v;
    if (json_is_integer(j)) {
        v = json_integer_value(j);
    } else if (json_is_real(j) && json_real_value(j) == floor(json_real_value(j)) &&
               fabs(json_real_value(j)) < 9e15) {
        v = (json_int_t)json_real_value(j);
    } else {
        return failf(cx, path, "'%s' must be an integer from %lld to %lld, not %s", key,
                     (long long)lo, (long long)hi, json_kind(j));
    }
    if (v < lo || v > hi)
        return failf(cx, path, "'%s' must be an integer from %lld to %lld (got %lld)", key,
                     (long long)lo, (long long)hi, (long long)v);
    *out = v;
    return 0;
}

static int get_number(jcx *cx, json_t *obj, const char *path, const char *op, const char *key,
                      bool required, double lo, double hi, double def, double *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j) {
        if (required)
            return failf(cx, path, "%s needs '%s' (a number from %g to %g)", op, key, lo, hi);
        *out = def;
        return 0;
    }
    if (!json_is_number(j))
        return failf(cx, path, "'%s' must be a number from %g to %g, not %s", key, lo, hi,
                     json_kind(j));
    double v = json_number_value(j);
    if (!isfinite(v) || v < lo || v > hi)
        return failf(cx, path, "'%s' must be a number from %g to %g (got %g)", key, lo, hi, v);
    *out = v;
    return 0;
}

/* ---- atom values ------------------------------------------------------------------- */

static int parse_value(jcx *cx, json_t *obj, const char *path, kr_value *value)
{
    json_t *j = json_object_get(obj, "value");
    if (!j)
        return failf(cx, path, "atom needs 'value' (an object such as {\"note\": \"A2\"}, "
                     "{\"note\": 45} or {\"gate\": 1})");
    if (!json_is_object(j))
        return failf(cx, path, "'value' must be an object of control names to numbers "
                     "(e.g. {\"freq\": 110}), not %s", json_kind(j));
    memset(value, 0, sizeof *value);
    json_t *note = json_object_get(j, "note");
    if (note) {
        double midi;
        if (json_is_string(note)) {
            const char *text = json_string_value(note);
            if (kr_note_parse(text, &midi))
                return failf(cx, path, "'value.note' \"%.40s\" is not a note name: a letter A-G, "
                             "then any of #/s (sharp) or b/f (flat), then an octave, e.g. "
                             "\"A2\", \"C#4\", \"Bb3\", \"A-1\"", text);
            snprintf(value->label, sizeof value->label, "%s", text);
        } else if (json_is_number(note)) {
            midi = json_number_value(note);
            if (!isfinite(midi) || midi < -256 || midi > 512)
                return failf(cx, path, "'value.note' must be a MIDI number from -256 to 512 "
                             "(got %g)", midi);
            snprintf(value->label, sizeof value->label, "%g", midi);
        } else {
            return failf(cx, path, "'value.note' must be a note name (\"A2\") or a MIDI "
                         "number (45), not %s", json_kind(note));
        }
        if (json_object_get(j, "freq"))
            return failf(cx, path, "'value' gives both 'note' and 'freq': give one");
        if (json_object_get(j, "midi"))
            return failf(cx, path, "'value' gives both 'note' and 'midi': give 'note' only");
        kr_value_set(value, "freq", kr_midi_to_freq(midi));
        kr_value_set(value, "midi", midi);
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "note") == 0)
            continue;
        if (key[0] == '\0' || strlen(key) >= KR_VALUE_NAME)
            return failf(cx, path, "'value' key \"%.40s\" must be 1 to %d characters", key,
                         KR_VALUE_NAME - 1);
        double x;
        if (json_is_boolean(v))
            x = json_is_true(v) ? 1 : 0;
        else if (json_is_number(v))
            x = json_number_value(v);
        else
            return failf(cx, path, "'value.%s' must be a number, not %s", key, json_kind(v));
        if (!isfinite(x))
            return failf(cx, path, "'value.%s' must be finite", key);
        if (value->count >= KR_VALUE_MAX)
            return failf(cx, path, "'value' sets more than %d controls", KR_VALUE_MAX);
        kr_value_set(value, key, x);
    }
    if (!note && value->count == 1)
        snprintf(value->label, sizeof value->label, "%g", value->values[0]);
    json_t *label = json_object_get(obj, "label");
    if (label) {
        if (!json_is_string(label) || strlen(json_string_value(label)) >= KR_LABEL_MAX)
            return failf(cx, path, "'label' must be a string of at most %d characters",
                         KR_LABEL_MAX - 1);
        snprintf(value->label, sizeof value->label, "%s", json_string_value(label));
    }
    return 0;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static kr_pattern *parse_node(jcx *cx, json_t *j, const char *path, int depth, bool in_seq);

static kr_pattern *child(jcx *cx, json_t *obj, const char *path, const char *op,
                         const char *key, const char *what, int depth)
{
    json_t *j = json_object_get(obj, key);
    if (!j) {
        failf(cx, path, "%s needs '%s' (%s)", op, key, what);
        return NULL;
    }
    char sub[KR_PATH_MAX];
    join_path(sub, path, key);
    return parse_node(cx, j, sub, depth + 1, false);
}

static int check_tree(jcx *cx, const kr_pattern *p, const char *path, int depth)
{
    if (!p)
        return 0;
    if (depth > KR_PATTERN_DEPTH)
        return failf(cx, path, "the pattern is nested deeper than %d levels", KR_PATTERN_DEPTH);
    if (++cx->nodes > KR_PATTERN_NODES)
        return failf(cx, path, "the pattern has more than %d nodes", KR_PATTERN_NODES);
    for (int i = 0; i < p->nargs; i++)
        if (check_tree(cx, p->args[i], path, depth + 1))
            return -1;
    if (check_tree(cx, p->then, path, depth + 1) || check_tree(cx, p->aux, path, depth + 1))
        return -1;
    return 0;
}

static kr_pattern *parse_mini(jcx *cx, json_t *j, const char *path, int depth)
{
    json_t *text = json_object_get(j, "text");
    if (!text || !json_is_string(text)) {
        failf(cx, path, "mini needs 'text' (a mini-notation string such as \"A2 D3 ~ E2\")");
        return NULL;
    }
    kr_error err = {0};
    kr_pattern *p = kr_mini_parse(json_string_value(text), &err);
    if (!p) {
        kr_error_set(cx->error, err.code ? err.code : "bad_mini", "%s: %s",
                     path[0] ? path : "pattern", err.message);
        return NULL;
    }
    if (check_tree(cx, p, path, depth)) {
        kr_pattern_free(p);
        return NULL;
    }
    return p;
}

static int parse_args(jcx *cx, json_t *obj, const char *path, const char *op, kr_pattern *p,
                      int depth)
{
    json_t *args = json_object_get(obj, "args");
    if (!args)
        return failf(cx, path, "%s needs 'args' (a list of patterns)", op);
    if (!json_is_array(args) || json_array_size(args) == 0)
        return failf(cx, path, "'args' must be a non-empty list of patterns, not %s%s",
                     json_kind(args), json_is_array(args) ? " with no items" : "");
    size_t n = json_array_size(args);
    if (n > KR_PATTERN_NODES)
        return failf(cx, path, "'args' has more than %d items", KR_PATTERN_NODES);
    p->args = calloc(n, sizeof *p->args);
    if (!p->args)
        return failf(cx, path, "out of memory");
    bool seq = p->kind == KR_PAT_SEQ, weighted = false;
    for (size_t i = 0; i < n; i++) {
        char sub[KR_PATH_MAX], idx[32];
        snprintf(idx, sizeof idx, "args[%zu]", i);
        join_path(sub, path, idx);
        json_t *item = json_array_get(args, i);
        p->args[i] = parse_node(cx, item, sub, depth + 1, seq);
        p->nargs = (int)i + 1;
        if (!p->args[i])
            return -1;
        if (seq && json_object_get(item, "weight"))
            weighted = true;
    }
    if (weighted) {
        p->weights = calloc(n, sizeof *p->weights);
        if (!p->weights)
            return failf(cx, path, "out of memory");
        for (size_t i = 0; i < n; i++) {
            char sub[KR_PATH_MAX], idx[32];
            snprintf(idx, sizeof idx, "args[%zu]", i);
            join_path(sub, path, idx);
            if (get_time(cx, json_array_get(args, i), sub, "seq item", "weight", false, 1,
                         kr_rat_int(1), &p->weights[i]))
                return -1;
        }
    }
    return 0;
}

static int check_fields(jcx *cx, json_t *j, const char *path, const op_def *def, bool in_seq)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "op") == 0 || (in_seq && strcmp(key, "weight") == 0))
            continue;
        bool known = false;
        for (int i = 0; i < 5 && def->fields[i]; i++)
            if (strcmp(def->fields[i], key) == 0)
                known = true;
        if (!known) {
            if (strcmp(key, "weight") == 0)
                return failf(cx, path, "'weight' is only meaningful on an item of a seq");
            return failf(cx, path, "%s has no field '%.40s' (its fields: %s)", def->name, key,
                         def->hint[0] ? def->hint : "none");
        }
    }
    return 0;
}

static kr_pattern *parse_node(jcx *cx, json_t *j, const char *path, int depth, bool in_seq)
{
    if (depth > KR_PATTERN_DEPTH) {
        failf(cx, path, "the pattern is nested deeper than %d levels", KR_PATTERN_DEPTH);
        return NULL;
    }
    if (!json_is_object(j)) {
        failf(cx, path, "a pattern node must be an object with \"op\", not %s", json_kind(j));
        return NULL;
    }
    json_t *opj = json_object_get(j, "op");
    char ops[400];
    size_t used = 0;
    ops[0] = '\0';
    for (int i = 0; i < N_OPS && used < sizeof ops; i++)
        used += (size_t)snprintf(ops + used, sizeof ops - used, "%s%s", i ? " " : "",
                                 OPS[i].name);
    if (!opj || !json_is_string(opj)) {
        failf(cx, path, "a pattern node needs \"op\" (a string: one of %s)", ops);
        return NULL;
    }
    const char *op = json_string_value(opj);
    const op_def *def = NULL;
    for (int i = 0; i < N_OPS; i++)
        if (strcmp(OPS[i].name, op) == 0)
            def = &OPS[i];
    if (!def) {
        failf(cx, path, "unknown op '%.40s' (one of %s)", op, ops);
        return NULL;
    }
    if (check_fields(cx, j, path, def, in_seq))
        return NULL;
    if (def->kind == KIND_MINI)
        return parse_mini(cx, j, path, depth);
    if (def->kind == KR_PAT_SELF && cx->then_depth == 0) {
        failf(cx, path, "'self' may only appear inside a 'then' (it stands for the pattern "
              "being transformed)");
        return NULL;
    }
    if (++cx->nodes > KR_PATTERN_NODES) {
        failf(cx, path, "the pattern has more than %d nodes", KR_PATTERN_NODES);
        return NULL;
    }
    kr_pattern *p = kr_pattern_new(def->kind);
    if (!p) {
        failf(cx, path, "out of memory");
        return NULL;
    }
    int rc = 0;
    json_int_t iv = 0;
    kr_rat one = kr_rat_int(1), zero = kr_rat_int(0);
    switch (def->kind) {
    case KR_PAT_ATOM: rc = parse_value(cx, j, path, &p->value); break;
    case KR_PAT_SILENCE:
    case KR_PAT_SELF: break;
    case KR_PAT_SEQ:
    case KR_PAT_CAT:
    case KR_PAT_STACK: rc = parse_args(cx, j, path, op, p, depth); break;
    case KR_PAT_RANDCAT:
        rc = get_int(cx, j, path, op, "seed", false, 0, KR_SEED_MAX, 0, &iv);
        p->seed = (uint64_t)iv;
        if (rc == 0)
            rc = parse_args(cx, j, path, op, p, depth);
        break;
    case KR_PAT_POLYMETER:
        rc = get_time(cx, j, path, op, "steps", false, 1, zero, &p->time);
        if (rc == 0)
            rc = parse_args(cx, j, path, op, p, depth);
        break;
    case KR_PAT_FAST:
    case KR_PAT_SLOW: rc = get_time(cx, j, path, op, "factor", true, 1, one, &p->time); break;
    case KR_PAT_SHIFT: rc = get_time(cx, j, path, op, "by", true, 0, zero, &p->time); break;
    case KR_PAT_REV: break;
    case KR_PAT_EVERY:
        rc = get_int(cx, j, path, op, "n", true, 1, INT32_MAX, 1, &iv);
        p->n = (int)iv;
        if (rc == 0)
            rc = get_int(cx, j, path, op, "offset", false, INT32_MIN, INT32_MAX, 0, &iv);
        p->offset = (int)iv;
        break;
    case KR_PAT_EUCLID:
        rc = get_int(cx, j, path, op, "n", true, 1, KR_EUCLID_MAX, 1, &iv);
        p->n = (int)iv;
        if (rc == 0)
            rc = get_int(cx, j, path, op, "k", true, -p->n, p->n, 0, &iv);
        p->k = (int)iv;
        if (rc == 0)
            rc = get_int(cx, j, path, op, "rotation", false, INT32_MIN, INT32_MAX, 0, &iv);
        p->rotation = (int)iv;
        break;
    case KR_PAT_DEGRADE:
    case KR_PAT_SOMETIMES:
        rc = get_number(cx, j, path, op, "prob", true, 0, 1, 0.5, &p->prob);
        if (rc == 0)
            rc = get_int(cx, j, path, op, "seed", false, 0, KR_SEED_MAX, 0, &iv);
        p->seed = (uint64_t)iv;
        break;
    case KR_PAT_MASK:
        p->aux = child(cx, j, path, op, "mask", "a pattern: on where its events are non-zero",
                       depth);
        rc = p->aux ? 0 : -1;
        break;
    case KR_PAT_STRUCT:
        p->aux = child(cx, j, path, op, "rhythm", "a pattern whose events give the structure",
                       depth);
        rc = p->aux ? 0 : -1;
        break;
    case KR_PAT_SWING: {
        json_t *a = json_object_get(j, "amount");
        p->ratio = kr_rat_make(67, 100, &(bool){false});
        if (a) {
            if (json_is_real(a) && kr_rat_from_double(json_real_value(a), &p->ratio) != 0 &&
                kr_rat_approx(json_real_value(a), 10000, &p->ratio) != 0)
                rc = failf(cx, path, "'amount' must be a number between 0 and 1 (e.g. 0.67)");
            else if (!json_is_real(a))
                rc = parse_time(cx, a, path, "amount", "a number between 0 and 1",
                                "0.67 or \"2/3\"", &p->ratio);
            if (rc == 0 && (p->ratio.num <= 0 || p->ratio.num >= p->ratio.den))
                rc = failf(cx, path, "'amount' must be between 0 and 1, exclusive (0.5 is "
                           "straight, 0.67 a triplet swing)");
        }
        p->amount = kr_rat_to_double(p->ratio);
        if (rc == 0)
            rc = get_int(cx, j, path, op, "grid", false, 1, KR_GRID_MAX, 8, &iv);
        p->grid = (int)iv;
        break;
    }
    case KR_PAT_SIGNAL: {
        json_t *s = json_object_get(j, "shape");
        int shape = -1;
        for (int i = 0; s && json_is_string(s) && i < (int)(sizeof SHAPES / sizeof *SHAPES); i++)
            if (strcmp(SHAPES[i], json_string_value(s)) == 0)
                shape = i;
        if (shape < 0) {
            rc = failf(cx, path, "signal needs 'shape': one of sine tri ramp ramp_down square "
                       "exp rand");
            break;
        }
        p->shape = (kr_signal_shape)shape;
        rc = get_number(cx, j, path, op, "lo", false, -1e15, 1e15, 0, &p->lo);
        if (rc == 0)
            rc = get_number(cx, j, path, op, "hi", false, -1e15, 1e15, 1, &p->hi);
        if (rc == 0)
            rc = get_int(cx, j, path, op, "seed", false, 0, KR_SEED_MAX, 0, &iv);
        p->seed = (uint64_t)iv;
        break;
    }
    default: break;
    }
    /* `then` and `arg` */
    if (rc == 0 && (def->kind == KR_PAT_EVERY || def->kind == KR_PAT_SOMETIMES)) {
        cx->then_depth++;
        p->then = child(cx, j, path, op, "then",
                        "a pattern in which {\"op\": \"self\"} stands for 'arg'", depth);
        cx->then_depth--;
        rc = p->then ? 0 : -1;
    }
    bool has_arg = false;
    for (int i = 0; i < 5 && def->fields[i]; i++)
        if (strcmp(def->fields[i], "arg") == 0)
            has_arg = true;
    if (rc == 0 && has_arg) {
        p->args = calloc(1, sizeof *p->args);
        if (!p->args) {
            rc = failf(cx, path, "out of memory");
        } else {
            p->args[0] = child(cx, j, path, op, "arg", "the pattern to transform", depth);
            p->nargs = 1;
            rc = p->args[0] ? 0 : -1;
        }
    }
    if (rc) {
        kr_pattern_free(p);
        return NULL;
    }
    return p;
}

kr_pattern *kr_pattern_from_json(json_t *ir, kr_error *error)
{
    jcx cx = {error, 0, 0};
    if (!ir) {
        kr_error_set(error, "bad_pattern", "pattern: missing (a pattern IR object, see "
                     "docs/pattern-ir.md)");
        return NULL;
    }
    return parse_node(&cx, ir, "", 1, false);
}
