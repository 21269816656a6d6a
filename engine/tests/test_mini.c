/* test_mini.c — mini-notation: tree shapes, syntax errors (column and caret),
 * and events against fixtures recorded from Strudel (fixtures/mini/ (JSON),
 * see tools/strudel/mini_cases.mjs) and written by hand for krach's own
 * tokens. The fixtures directory comes from KRACH_MINI_FIXTURES or argv[1].
 *
 * Each event case is queried one cycle at a time, [c, c+1) for c in
 * [from, to), or arc by arc when it lists "arcs"; the events of an arc are
 * compared as sets (sorted by part, whole and label on both sides): whole,
 * part and label, and the values when the fixture gives them. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "kr_test.h"
#include "krach/mini.h"
#include "krach/pattern.h"

#ifndef KRACH_MINI_FIXTURES
#define KRACH_MINI_FIXTURES "fixtures/mini"
#endif

static const char *fixtures = KRACH_MINI_FIXTURES;
static int verbose;

/* ---- helpers ----------------------------------------------------------------- */

static kr_pattern *parse_ok(const char *text)
{
    kr_error e = {0};
    kr_pattern *p = kr_mini_parse(text, &e);
    if (!p)
        fprintf(stderr, "parse failed for \"%s\": %s\n", text, e.message);
    return p;
}

static bool rat_is(kr_rat r, int64_t num, int64_t den) { return r.num == num && r.den == den; }

static double value_of(const kr_pattern *p, const char *name)
{
    double v = -12345;
    kr_value_get(&p->value, name, &v);
    return v;
}

/* ---- tree shapes ---------------------------------------------------------------- */

static void test_atoms_and_values(void)
{
    kr_pattern *p = parse_ok("a");
    CHECK(p && p->kind == KR_PAT_ATOM && !strcmp(p->value.label, "a") && p->value.count == 0);
    kr_pattern_free(p);

    p = parse_ok("x");
    CHECK(p && p->kind == KR_PAT_ATOM && value_of(p, "gate") == 1 && p->value.count == 1);
    kr_pattern_free(p);

    p = parse_ok("C4");
    CHECK(p && p->kind == KR_PAT_ATOM && !strcmp(p->value.label, "C4"));
    if (p) {
        CHECK_NEAR(value_of(p, "freq"), 261.6255653005986, 1e-9);
        CHECK(value_of(p, "midi") == 60);
    }
    kr_pattern_free(p);

    p = parse_ok("-0.25");
    CHECK(p && p->kind == KR_PAT_ATOM && value_of(p, "value") == -0.25 && !strcmp(p->value.label, "-0.25"));
    kr_pattern_free(p);

    const char *rests[] = {"~", "-", ".", "", "   ", "~ ~", ". -"};
    for (size_t i = 0; i < sizeof rests / sizeof rests[0]; i++) {
        p = parse_ok(rests[i]);
        CHECK(p != NULL);
        if (p && p->kind == KR_PAT_SEQ) {
            for (int j = 0; j < p->nargs; j++)
                CHECK(p->args[j]->kind == KR_PAT_SILENCE);
        } else {
            CHECK(p && p->kind == KR_PAT_SILENCE);
        }
        kr_pattern_free(p);
    }
}

static void test_sequences_and_weights(void)
{
    kr_pattern *p = parse_ok("a b");
    CHECK(p && p->kind == KR_PAT_SEQ && p->nargs == 2 && p->weights);
    if (p && p->nargs == 2) {
        CHECK(rat_is(p->weights[0], 1, 1) && rat_is(p->weights[1], 1, 1));
        CHECK(!strcmp(p->args[1]->value.label, "b"));
    }
    kr_pattern_free(p);

    p = parse_ok("a@3 b _ _");
    CHECK(p && p->kind == KR_PAT_SEQ && p->nargs == 2);
    if (p && p->nargs == 2)
        CHECK(rat_is(p->weights[0], 3, 1) && rat_is(p->weights[1], 3, 1));
    kr_pattern_free(p);

    p = parse_ok("a@1.5 b");
    CHECK(p && p->nargs == 2 && rat_is(p->weights[0], 3, 2));
    kr_pattern_free(p);

    /* '!' splices copies into the sequence */
    p = parse_ok("a!3 b ! ");
    CHECK(p && p->kind == KR_PAT_SEQ && p->nargs == 5);
    if (p && p->nargs == 5) {
        CHECK(!strcmp(p->args[2]->value.label, "a") && !strcmp(p->args[4]->value.label, "b"));
        CHECK(p->args[0] != p->args[1]);
        for (int i = 0; i < 5; i++)
            CHECK(rat_is(p->weights[i], 1, 1));
    }
    kr_pattern_free(p);

    /* ... unless weighted after: then one step holding the copies */
    p = parse_ok("a!3@2 b");
    CHECK(p && p->kind == KR_PAT_SEQ && p->nargs == 2);
    if (p && p->nargs == 2) {
        CHECK(rat_is(p->weights[0], 4, 1));
        CHECK(p->args[0]->kind == KR_PAT_SEQ && p->args[0]->nargs == 3);
    }
    kr_pattern_free(p);

    p = parse_ok("[a [b c]]");
    CHECK(p && p->kind == KR_PAT_SEQ && p->nargs == 2 && p->args[1]->kind == KR_PAT_SEQ);
    kr_pattern_free(p);

    p = parse_ok("[[[a]]]");
    CHECK(p && p->kind == KR_PAT_ATOM);
    kr_pattern_free(p);
}

static void test_groups(void)
{
    kr_pattern *p = parse_ok("a b, c");
    CHECK(p && p->kind == KR_PAT_STACK && p->nargs == 2 && p->args[0]->kind == KR_PAT_SEQ &&
          p->args[1]->kind == KR_PAT_ATOM);
    kr_pattern_free(p);

    p = parse_ok("<a b c>");
    CHECK(p && p->kind == KR_PAT_CAT && p->nargs == 3);
    kr_pattern_free(p);

    p = parse_ok("<a <b c>>");
    CHECK(p && p->kind == KR_PAT_CAT && p->nargs == 2 && p->args[1]->kind == KR_PAT_CAT);
    kr_pattern_free(p);

    p = parse_ok("<a@3 b>");
    CHECK(p && p->kind == KR_PAT_SLOW && rat_is(p->time, 4, 1));
    if (p && p->kind == KR_PAT_SLOW)
        CHECK(p->args[0]->kind == KR_PAT_SEQ && rat_is(p->args[0]->weights[0], 3, 1));
    kr_pattern_free(p);

    p = parse_ok("<a b, c d e>*2");
    CHECK(p && p->kind == KR_PAT_FAST && rat_is(p->time, 2, 1));
    if (p && p->kind == KR_PAT_FAST) {
        const kr_pattern *s = p->args[0];
        CHECK(s->kind == KR_PAT_STACK && s->nargs == 2 && s->args[1]->kind == KR_PAT_CAT &&
              s->args[1]->nargs == 3);
    }
    kr_pattern_free(p);

    p = parse_ok("{a b c}%4");
    CHECK(p && p->kind == KR_PAT_POLYMETER && rat_is(p->time, 4, 1) && p->nargs == 1);
    if (p && p->nargs == 1)
        CHECK(p->args[0]->kind == KR_PAT_SEQ && p->args[0]->nargs == 3);
    kr_pattern_free(p);

    p = parse_ok("{a, b c}");
    CHECK(p && p->kind == KR_PAT_POLYMETER && p->time.num == 0 && p->nargs == 2);
    if (p && p->nargs == 2) /* one step still counts as a SEQ of one */
        CHECK(p->args[0]->kind == KR_PAT_SEQ && p->args[0]->nargs == 1 && p->args[0]->weights);
    kr_pattern_free(p);
}

static void test_operators(void)
{
    kr_pattern *p = parse_ok("a*1.5");
    CHECK(p && p->kind == KR_PAT_FAST && rat_is(p->time, 3, 2));
    kr_pattern_free(p);

    p = parse_ok("a/3");
    CHECK(p && p->kind == KR_PAT_SLOW && rat_is(p->time, 3, 1));
    kr_pattern_free(p);

    p = parse_ok("a *2 /3"); /* operators may follow a space */
    CHECK(p && p->kind == KR_PAT_SLOW && p->args[0]->kind == KR_PAT_FAST);
    kr_pattern_free(p);

    p = parse_ok("a(3,8,2)");
    CHECK(p && p->kind == KR_PAT_EUCLID && p->k == 3 && p->n == 8 && p->rotation == 2);
    kr_pattern_free(p);

    p = parse_ok("a(-3,8)");
    CHECK(p && p->kind == KR_PAT_EUCLID && p->k == -3 && p->rotation == 0);
    kr_pattern_free(p);

    p = parse_ok("a?0.3");
    CHECK(p && p->kind == KR_PAT_DEGRADE && p->prob == 0.3 && p->seed == 0);
    kr_pattern_free(p);

    p = parse_ok("a*<2 3>");
    CHECK(p && p->kind == KR_PAT_STACK && p->nargs == 2);
    if (p && p->nargs == 2) {
        const kr_pattern *m = p->args[1];
        CHECK(m->kind == KR_PAT_MASK && m->aux && m->args[0]->kind == KR_PAT_FAST &&
              rat_is(m->args[0]->time, 3, 1));
    }
    kr_pattern_free(p);

    p = parse_ok("a!2*2");
    CHECK(p && p->kind == KR_PAT_FAST && p->args[0]->kind == KR_PAT_SEQ && p->args[0]->nargs == 2);
    kr_pattern_free(p);
}

/* '?' and '|' draw seeds 0, 1, 2… in Strudel's order: a step's '?' once the
 * step is complete, a '|' group once all its choices are parsed. */
static void test_seeds(void)
{
    kr_pattern *p = parse_ok("a? b? c?");
    CHECK(p && p->nargs == 3);
    for (int i = 0; p && i < p->nargs && i < 3; i++)
        CHECK(p->args[i]->kind == KR_PAT_DEGRADE && p->args[i]->seed == (uint64_t)i &&
              p->args[i]->prob == 0.5);
    kr_pattern_free(p);

    p = parse_ok("a? | b?");
    CHECK(p && p->kind == KR_PAT_RANDCAT && p->seed == 2 && p->nargs == 2);
    if (p && p->nargs == 2)
        CHECK(p->args[0]->seed == 0 && p->args[1]->seed == 1);
    kr_pattern_free(p);

    p = parse_ok("[a? b?]? c?");
    CHECK(p && p->nargs == 2);
    if (p && p->nargs == 2) {
        const kr_pattern *outer = p->args[0];
        CHECK(outer->kind == KR_PAT_DEGRADE && outer->seed == 2);
        CHECK(outer->args[0]->args[0]->seed == 0 && outer->args[0]->args[1]->seed == 1);
        CHECK(p->args[1]->seed == 3);
    }
    kr_pattern_free(p);

    p = parse_ok("a?*<2 3?>"); /* the operand's '?' first */
    CHECK(p && p->kind == KR_PAT_STACK);
    if (p && p->nargs == 2) {
        const kr_pattern *inner = p->args[0]->args[0]->args[0];
        CHECK(inner->kind == KR_PAT_DEGRADE && inner->seed == 1);
    }
    kr_pattern_free(p);
}

static void test_limits(void)
{
    /* 10 001 steps */
    size_t n = 10001;
    char *text = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        text[2 * i] = 'a', text[2 * i + 1] = ' ';
    text[2 * n] = '\0';
    kr_error e = {0};
    CHECK(kr_mini_parse(text, &e) == NULL);
    CHECK(e.code && !strcmp(e.code, "bad_mini"));
    CHECK_STR_CONTAINS(e.message, "too many steps");
    CHECK_STR_CONTAINS(e.message, "column 20001");
    CHECK_STR_CONTAINS(e.message, "\n  ...");
    free(text);

    /* copies: 100 × 101 nodes */
    e.code = NULL;
    CHECK(kr_mini_parse("[a b c d e f g h i j]!1000", &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "too many steps");
    e.code = NULL;
    CHECK(kr_mini_parse("[[a b c d e f g h i j]!100]!100", &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "too many steps");

    /* operators nest too */
    char deep[400] = "a";
    for (int i = 0; i < 70; i++)
        strcat(deep, "*2");
    e.code = NULL;
    CHECK(kr_mini_parse(deep, &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "nesting deeper than 64");

    /* patterned euclid arguments nest through '(' (the parser recurses) */
    char nested[2000] = "a";
    for (int i = 0; i < 300; i++)
        strcat(nested, "(<3 5>");
    e.code = NULL;
    CHECK(kr_mini_parse(nested, &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "nesting deeper than 64");
    /* every combination of the argument values costs a copy of the step */
    e.code = NULL;
    CHECK(kr_mini_parse("[a b c d e f g h i j]*8(<1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16>,"
                        "<16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31>)", &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "too many steps");

    /* 64 brackets are fine */
    char ok[200] = "";
    for (int i = 0; i < 64; i++)
        strcat(ok, "[");
    strcat(ok, "a b");
    for (int i = 0; i < 64; i++)
        strcat(ok, "]");
    kr_pattern *p = parse_ok(ok);
    CHECK(p != NULL);
    kr_pattern_free(p);

    /* no error struct: still NULL, no crash */
    CHECK(kr_mini_parse("[a", NULL) == NULL);
    p = kr_mini_parse(NULL, NULL);
    CHECK(p && p->kind == KR_PAT_SILENCE);
    kr_pattern_free(p);
}

static void test_message_format(void)
{
    kr_error e = {0};
    CHECK(kr_mini_parse("bd [sn hh", &e) == NULL);
    CHECK(!strcmp(e.message, "mini-notation: unclosed '[' opened at column 4\n  bd [sn hh\n     ^"));

    e.code = NULL;
    CHECK(kr_mini_parse("a b\n  c $", &e) == NULL);
    CHECK(!strcmp(e.message, "mini-notation: unknown character '$' at column 5 (line 2)\n    c $\n      ^"));

    /* UTF-8 counts characters, not bytes */
    e.code = NULL;
    CHECK(kr_mini_parse("\xc3\xa9t\xc3\xa9 ]", &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "column 5\n");
    CHECK_STR_CONTAINS(e.message, "\n      ^");

    /* a long line is cut around the column */
    char text[400];
    text[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(text, "ab ");
    strcat(text, "$ cd");
    e.code = NULL;
    CHECK(kr_mini_parse(text, &e) == NULL);
    CHECK_STR_CONTAINS(e.message, "column 301");
    const char *caret = strrchr(e.message, '\n');
    CHECK(caret && strlen(caret) == 1 + 2 + 3 + 40 + 1 && caret[strlen(caret) - 1] == '^');
    CHECK(strlen(e.message) < sizeof e.message - 1);
}

/* ---- fixtures ------------------------------------------------------------------- */

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "%s: %s (line %d)\n", path, err.text, err.line);
    CHECK(j != NULL);
    return j;
}

static kr_rat rat_of(json_t *j)
{
    kr_rat r = {0, 1};
    if (json_is_integer(j))
        r = kr_rat_int(json_integer_value(j));
    else if (json_is_string(j))
        CHECK(kr_rat_parse(json_string_value(j), &r) == 0);
    else
        CHECK(!"a time is an integer or an \"n/d\" string");
    return r;
}

typedef struct expect_ev {
    bool has_whole;
    kr_arc whole, part;
    const char *label;
    json_t *value;  /* Strudel's value (string or number) or NULL */
    json_t *values; /* hand-written: {"gate": 1, ...} or NULL */
} expect_ev;

static int cmp_arc(kr_arc a, kr_arc b)
{
    int c = kr_rat_cmp(a.begin, b.begin);
    return c ? c : kr_rat_cmp(a.end, b.end);
}

static int cmp_key(bool hw1, kr_arc w1, kr_arc p1, const char *l1, bool hw2, kr_arc w2, kr_arc p2,
                   const char *l2)
{
    int c = cmp_arc(p1, p2);
    if (c)
        return c;
    if (hw1 != hw2)
        return hw1 ? 1 : -1;
    if (hw1 && (c = cmp_arc(w1, w2)))
        return c;
    return strcmp(l1, l2);
}

static int cmp_expect(const void *a, const void *b)
{
    const expect_ev *x = a, *y = b;
    return cmp_key(x->has_whole, x->whole, x->part, x->label, y->has_whole, y->whole, y->part, y->label);
}

static int cmp_event(const void *a, const void *b)
{
    const kr_event *x = a, *y = b;
    return cmp_key(x->has_whole, x->whole, x->part, x->value.label, y->has_whole, y->whole, y->part,
                   y->value.label);
}

static void fmt_arc(char *buf, size_t size, bool has, kr_arc a)
{
    if (!has) {
        snprintf(buf, size, "-");
        return;
    }
    char b[48], e[48];
    kr_rat_format(a.begin, b, sizeof b);
    kr_rat_format(a.end, e, sizeof e);
    snprintf(buf, size, "[%s, %s)", b, e);
}

static bool values_match(const kr_event *ev, const expect_ev *x)
{
    if (x->value && json_is_number(x->value)) {
        double v;
        if (!kr_value_get(&ev->value, "value", &v) || fabs(v - json_number_value(x->value)) > 1e-12)
            return false;
    }
    if (x->values) {
        if ((size_t)ev->value.count != json_object_size(x->values))
            return false;
        const char *key;
        json_t *val;
        json_object_foreach(x->values, key, val)
        {
            double v;
            if (!kr_value_get(&ev->value, key, &v) || fabs(v - json_number_value(val)) > 1e-9)
                return false;
        }
    }
    return true;
}

/* Compares one arc's events; returns whether all matched. */
static bool compare_arc(const char *mini, const char *where, kr_events *got, expect_ev *want, size_t nwant)
{
    if (got->count)
        qsort(got->items, got->count, sizeof *got->items, cmp_event);
    if (nwant)
        qsort(want, nwant, sizeof *want, cmp_expect);
    bool ok = got->count == nwant;
    for (size_t i = 0; ok && i < nwant; i++) {
        const kr_event *g = &got->items[i];
        const expect_ev *w = &want[i];
        ok = g->has_whole == w->has_whole && (!w->has_whole || cmp_arc(g->whole, w->whole) == 0) &&
             cmp_arc(g->part, w->part) == 0 && !strcmp(g->value.label, w->label) && values_match(g, w);
    }
    if (!ok) {
        fprintf(stderr, "  \"%s\" %s: got %zu events, want %zu\n", mini, where, got->count, nwant);
        size_t n = got->count > nwant ? got->count : nwant;
        for (size_t i = 0; i < n && i < 24; i++) {
            char gw[100] = "", gp[100] = "", ww[100] = "", wp[100] = "";
            if (i < got->count) {
                fmt_arc(gw, sizeof gw, got->items[i].has_whole, got->items[i].whole);
                fmt_arc(gp, sizeof gp, true, got->items[i].part);
            }
            if (i < nwant) {
                fmt_arc(ww, sizeof ww, want[i].has_whole, want[i].whole);
                fmt_arc(wp, sizeof wp, true, want[i].part);
            }
            fprintf(stderr, "    got %-14s %-14s %-6s | want %-14s %-14s %s\n", gw, gp,
                    i < got->count ? got->items[i].value.label : "", ww, wp, i < nwant ? want[i].label : "");
        }
    }
    return ok;
}

static int run_event_case(json_t *c)
{
    const char *mini = json_string_value(json_object_get(c, "mini"));
    json_t *events = json_object_get(c, "events");
    json_t *arcs = json_object_get(c, "arcs");
    int from = (int)json_integer_value(json_object_get(c, "from"));
    int to = (int)json_integer_value(json_object_get(c, "to"));
    size_t narcs = arcs ? json_array_size(arcs) : (size_t)(to > from ? to - from : 0);
    CHECK(mini && json_is_array(events) && narcs > 0);
    if (!mini || !json_is_array(events))
        return -1;
    kr_error e = {0};
    kr_pattern *p = kr_mini_parse(mini, &e);
    if (!p) {
        fprintf(stderr, "  \"%s\": parse failed: %s\n", mini, e.message);
        return -1;
    }
    size_t n = json_array_size(events), next = 0;
    expect_ev *want = calloc(n ? n : 1, sizeof *want);
    bool ok = true;
    for (size_t a = 0; a < narcs; a++) {
        kr_arc arc = {kr_rat_int(from + (int64_t)a), kr_rat_int(from + (int64_t)a + 1)};
        if (arcs)
            arc = (kr_arc){rat_of(json_array_get(json_array_get(arcs, a), 0)),
                           rat_of(json_array_get(json_array_get(arcs, a), 1))};
        /* this arc's expected events: those whose part begins before its end */
        size_t count = 0;
        while (next < n) {
            json_t *ev = json_array_get(events, next);
            json_t *part = json_object_get(ev, "part");
            kr_rat pb = rat_of(json_array_get(part, 0));
            if (kr_rat_cmp(pb, arc.end) >= 0)
                break;
            expect_ev *w = &want[count++];
            json_t *whole = json_object_get(ev, "whole");
            w->has_whole = json_is_array(whole);
            if (w->has_whole)
                w->whole = (kr_arc){rat_of(json_array_get(whole, 0)), rat_of(json_array_get(whole, 1))};
            w->part = (kr_arc){pb, rat_of(json_array_get(part, 1))};
            w->label = json_string_value(json_object_get(ev, "label"));
            if (!w->label)
                w->label = "";
            w->value = json_object_get(ev, "value");
            w->values = json_object_get(ev, "values");
            next++;
        }
        kr_events got = {0};
        char where[128];
        fmt_arc(where, sizeof where, true, arc);
        if (kr_pattern_query(p, arc, &got, &e) < 0) {
            fprintf(stderr, "  \"%s\" %s: query failed: %s\n", mini, where, e.message);
            ok = false;
        } else if (!compare_arc(mini, where, &got, want, count)) {
            ok = false;
        }
        kr_events_free(&got);
    }
    CHECK(next == n); /* every expected event fell in a queried arc */
    free(want);
    kr_pattern_free(p);
    if (verbose)
        fprintf(stderr, "  %s \"%s\"\n", ok ? "ok  " : "FAIL", mini);
    return ok ? 0 : -1;
}

static void test_event_fixtures(const char *name)
{
    json_t *doc = load(name);
    if (!doc)
        return;
    json_t *cases = json_object_get(doc, "cases");
    size_t i, failed = 0;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        if (run_event_case(c) < 0)
            failed++;
    }
    kr_test_checks++;
    if (failed) {
        kr_test_failures++;
        fprintf(stderr, "%s: %zu of %zu cases differ\n", name, failed, json_array_size(cases));
    }
    printf("%s: %zu cases, %zu failed\n", name, json_array_size(cases), failed);
    json_decref(doc);
}

static void test_error_fixtures(void)
{
    json_t *doc = load("errors.json");
    if (!doc)
        return;
    json_t *cases = json_object_get(doc, "cases");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *mini = json_string_value(json_object_get(c, "mini"));
        int column = (int)json_integer_value(json_object_get(c, "column"));
        const char *contains = json_string_value(json_object_get(c, "contains"));
        kr_error e = {0};
        kr_pattern *p = kr_mini_parse(mini, &e);
        CHECK(p == NULL);
        kr_pattern_free(p);
        if (p) {
            fprintf(stderr, "  \"%s\": parsed, expected an error\n", mini);
            continue;
        }
        char col[32];
        snprintf(col, sizeof col, "column %d", column);
        CHECK(e.code && !strcmp(e.code, "bad_mini"));
        CHECK_STR_CONTAINS(e.message, col);
        CHECK_STR_CONTAINS(e.message, contains);
        /* the caret sits under the column on the last line */
        const char *last = strrchr(e.message, '\n');
        bool caret_ok = last && last[strlen(last) - 1] == '^';
        if (caret_ok && !strstr(e.message, "\n  ...")) {
            int spaces = (int)strlen(last) - 1 - 2 - 1;
            caret_ok = spaces == column - 1;
        }
        CHECK(caret_ok);
        if (!caret_ok || !strstr(e.message, contains) || !strstr(e.message, col))
            fprintf(stderr, "  \"%s\" → %s\n", mini, e.message);
    }
    printf("errors.json: %zu cases\n", json_array_size(cases));
    json_decref(doc);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else
            fixtures = argv[i];
    }
    test_atoms_and_values();
    test_sequences_and_weights();
    test_groups();
    test_operators();
    test_seeds();
    test_limits();
    test_message_format();
    test_error_fixtures();
    test_event_fixtures("krach.json");
    test_event_fixtures("strudel.json");
    return KR_TEST_REPORT("test_mini");
}
