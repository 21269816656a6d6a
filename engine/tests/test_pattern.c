/* test_pattern.c — pattern IR, queries (against Strudel fixtures and by hand),
 * note names, limits, and the `query` command. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kr_test.h"
#include "krach/mini.h"
#include "krach/pattern.h"
#include "request.h"

#ifndef KR_TEST_FIXTURES
#define KR_TEST_FIXTURES "fixtures"
#endif

/* ---- helpers ------------------------------------------------------------------ */

static kr_rat T(const char *text)
{
    kr_rat r = {0, 1};
    if (kr_rat_parse(text, &r))
        fprintf(stderr, "bad time in test: %s\n", text);
    return r;
}

static kr_rat json_time(json_t *j)
{
    if (json_is_integer(j))
        return kr_rat_int(json_integer_value(j));
    if (json_is_string(j))
        return T(json_string_value(j));
    kr_rat r = {0, 1};
    kr_rat_from_double(json_number_value(j), &r);
    return r;
}

static kr_pattern *ir(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j) {
        fprintf(stderr, "bad JSON in test: %s (%s)\n", text, jerr.text);
        return NULL;
    }
    kr_error err = {0};
    kr_pattern *p = kr_pattern_from_json(j, &err);
    if (!p)
        fprintf(stderr, "IR refused: %s: %s\n", text, err.message);
    json_decref(j);
    return p;
}

/* The error message for an IR that must be refused ("" if it was accepted). */
static const char *ir_error(const char *text)
{
    static kr_error err;
    memset(&err, 0, sizeof err);
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        return "(bad test JSON)";
    kr_pattern *p = kr_pattern_from_json(j, &err);
    json_decref(j);
    if (p) {
        kr_pattern_free(p);
        return "";
    }
    if (!err.code || strcmp(err.code, "bad_pattern") != 0)
        fprintf(stderr, "unexpected error code %s for %s\n", err.code ? err.code : "(null)", text);
    return err.message;
}

static kr_events query(const kr_pattern *p, const char *from, const char *to)
{
    kr_events ev = {0};
    kr_error err = {0};
    kr_arc arc = {T(from), T(to)};
    if (kr_pattern_query(p, arc, &ev, &err))
        fprintf(stderr, "query failed: %s\n", err.message);
    return ev;
}

static void arc_text(kr_arc a, char *buf, size_t len)
{
    char b[48], e[48];
    kr_rat_format(a.begin, b, sizeof b);
    kr_rat_format(a.end, e, sizeof e);
    snprintf(buf, len, "[%s, %s)", b, e);
}

/* Checks one event: whole ("" for none), part, label. */
static int expect_event(const kr_event *ev, const char *whole_b, const char *whole_e,
                        const char *part_b, const char *part_e, const char *label)
{
    int ok = 1;
    if (whole_b) {
        ok &= ev->has_whole && kr_rat_eq(ev->whole.begin, T(whole_b)) &&
              kr_rat_eq(ev->whole.end, T(whole_e));
    } else {
        ok &= !ev->has_whole;
    }
    ok &= kr_rat_eq(ev->part.begin, T(part_b)) && kr_rat_eq(ev->part.end, T(part_e));
    if (label)
        ok &= strcmp(ev->value.label, label) == 0;
    if (!ok) {
        char w[100], pt[100];
        arc_text(ev->whole, w, sizeof w);
        arc_text(ev->part, pt, sizeof pt);
        fprintf(stderr, "  got whole %s part %s label %s; expected whole [%s, %s) part [%s, %s) "
                "label %s\n", ev->has_whole ? w : "none", pt, ev->value.label,
                whole_b ? whole_b : "-", whole_e ? whole_e : "-", part_b, part_e,
                label ? label : "-");
    }
    return ok;
}

/* ---- Strudel fixtures ------------------------------------------------------------ */

static bool is_onset(const kr_event *e)
{
    return e->has_whole && kr_rat_eq(e->whole.begin, e->part.begin);
}

static bool json_is_onset(json_t *e)
{
    json_t *w = json_object_get(e, "whole"), *p = json_object_get(e, "part");
    return json_is_array(w) && kr_rat_eq(json_time(json_array_get(w, 0)),
                                         json_time(json_array_get(p, 0)));
}

static int compare_event(const char *name, size_t i, const kr_event *got, json_t *want, double tol,
                         bool onsets)
{
    json_t *w = json_object_get(want, "whole"), *p = json_object_get(want, "part");
    json_t *v = json_object_get(want, "value");
    bool ok = true;
    if (json_is_null(w)) {
        ok &= !got->has_whole;
    } else {
        ok &= got->has_whole && kr_rat_eq(got->whole.begin, json_time(json_array_get(w, 0)));
        if (!onsets)
            ok &= kr_rat_eq(got->whole.end, json_time(json_array_get(w, 1)));
    }
    ok &= kr_rat_eq(got->part.begin, json_time(json_array_get(p, 0)));
    if (!onsets)
        ok &= kr_rat_eq(got->part.end, json_time(json_array_get(p, 1)));
    if (json_is_string(v)) {
        ok &= strcmp(got->value.label, json_string_value(v)) == 0;
    } else if (json_is_number(v)) {
        ok &= got->value.count > 0 && fabs(got->value.values[0] - json_number_value(v)) <= tol;
    } else if (json_is_boolean(v)) {
        ok &= got->value.count > 0;
    }
    if (!ok) {
        char gw[100], gp[100];
        arc_text(got->whole, gw, sizeof gw);
        arc_text(got->part, gp, sizeof gp);
        char *wtext = json_dumps(want, JSON_COMPACT);
        fprintf(stderr, "%s: event %zu: got whole %s part %s label '%s' value %.17g; Strudel: %s\n",
                name, i, got->has_whole ? gw : "none", gp, got->value.label,
                got->value.count ? got->value.values[0] : NAN, wtext);
        free(wtext);
    }
    return ok;
}

static int run_fixture_file(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/patterns/%s", KR_TEST_FIXTURES, file);
    json_error_t jerr;
    json_t *cases = json_load_file(path, 0, &jerr);
    CHECK(cases != NULL);
    if (!cases) {
        fprintf(stderr, "cannot read %s: %s\n", path, jerr.text);
        return 0;
    }
    size_t index;
    json_t *c;
    int count = 0;
    json_array_foreach(cases, index, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *events = json_object_get(c, "events");
        CHECK(events != NULL);
        if (!events)
            continue;
        kr_error err = {0};
        kr_pattern *p = kr_pattern_from_json(json_object_get(c, "ir"), &err);
        CHECK(p != NULL);
        if (!p) {
            fprintf(stderr, "%s: IR refused: %s\n", name, err.message);
            continue;
        }
        kr_arc arc = {json_time(json_object_get(c, "from")), json_time(json_object_get(c, "to"))};
        kr_events got = {0};
        int rc = kr_pattern_query(p, arc, &got, &err);
        CHECK(rc == 0);
        if (rc)
            fprintf(stderr, "%s: query failed: %s\n", name, err.message);
        json_t *tolj = json_object_get(c, "tol");
        double tol = tolj ? json_number_value(tolj) : 1e-12;
        const char *mode = json_string_value(json_object_get(c, "compare"));
        bool onsets = mode && strcmp(mode, "onsets") == 0;
        /* The events to compare (onsets mode: only events that start there). */
        kr_event *mine = calloc(got.count + 1, sizeof *mine);
        size_t nm = 0;
        for (size_t i = 0; i < got.count; i++)
            if (!onsets || is_onset(&got.items[i]))
                mine[nm++] = got.items[i];
        json_t *theirs = json_array();
        size_t k;
        json_t *e;
        json_array_foreach(events, k, e) {
            if (!onsets || json_is_onset(e))
                json_array_append(theirs, e);
        }
        bool same_count = nm == json_array_size(theirs);
        CHECK(same_count);
        if (!same_count)
            fprintf(stderr, "%s: %zu events, Strudel has %zu\n", name, nm,
                    json_array_size(theirs));
        size_t n = nm < json_array_size(theirs) ? nm : json_array_size(theirs);
        int bad = 0;
        for (size_t i = 0; i < n && bad < 3; i++) {
            int ok = compare_event(name, i, &mine[i], json_array_get(theirs, i), tol, onsets);
            CHECK(ok);
            bad += !ok;
        }
        json_decref(theirs);
        free(mine);
        kr_events_free(&got);
        kr_pattern_free(p);
        count++;
    }
    json_decref(cases);
    printf("fixtures %s: %d cases\n", file, count);
    return count;
}

/* ---- hand-computed -------------------------------------------------------------- */

static void test_notes(void)
{
    double m = -1;
    CHECK(kr_note_parse("C4", &m) == 0 && m == 60);
    CHECK(kr_note_parse("A4", &m) == 0 && m == 69);
    CHECK(kr_note_parse("a4", &m) == 0 && m == 69);
    CHECK(kr_note_parse("Cs4", &m) == 0 && m == 61);
    CHECK(kr_note_parse("C#4", &m) == 0 && m == 61);
    CHECK(kr_note_parse("Bb3", &m) == 0 && m == 58);
    CHECK(kr_note_parse("Bf3", &m) == 0 && m == 58);
    CHECK(kr_note_parse("Cb4", &m) == 0 && m == 59);
    CHECK(kr_note_parse("A-1", &m) == 0 && m == 9);
    CHECK(kr_note_parse("C-1", &m) == 0 && m == 0);
    CHECK(kr_note_parse("A2", &m) == 0 && m == 45);
    CHECK(kr_note_parse("E##2", &m) == 0 && m == 42);
    CHECK(kr_note_parse("Gbb5", &m) == 0 && m == 77);
    CHECK(kr_note_parse("B10", &m) == 0 && m == 143);
    CHECK(kr_note_parse("H2", &m) == -1);
    CHECK(kr_note_parse("C", &m) == -1);
    CHECK(kr_note_parse("C4x", &m) == -1);
    CHECK(kr_note_parse("", &m) == -1);
    CHECK(kr_note_parse("C-", &m) == -1);
    CHECK(kr_note_parse("C123", &m) == -1);
    CHECK_NEAR(kr_midi_to_freq(69), 440.0, 1e-9);
    CHECK_NEAR(kr_midi_to_freq(45), 110.0, 1e-9);
    CHECK_NEAR(kr_midi_to_freq(60), 261.6255653005986, 1e-9);
    CHECK_NEAR(kr_midi_to_freq(69.5), 440.0 * pow(2, 0.5 / 12), 1e-9);
}

static void test_values(void)
{
    kr_pattern *p = ir("{\"op\": \"atom\", \"value\": {\"note\": \"A2\"}}");
    CHECK(p != NULL);
    if (p) {
        double f = 0, m = 0;
        CHECK(kr_value_get(&p->value, "freq", &f) && fabs(f - 110) < 1e-9);
        CHECK(kr_value_get(&p->value, "midi", &m) && m == 45);
        CHECK(strcmp(p->value.label, "A2") == 0);
        kr_pattern_free(p);
    }
    p = ir("{\"op\": \"atom\", \"value\": {\"note\": 57, \"gate\": 1, \"vel\": 0.5}}");
    CHECK(p != NULL);
    if (p) {
        double f = 0, v = 0;
        CHECK(kr_value_get(&p->value, "freq", &f) && fabs(f - 220) < 1e-9);
        CHECK(kr_value_get(&p->value, "vel", &v) && v == 0.5);
        CHECK(strcmp(p->value.label, "57") == 0);
        CHECK(p->value.count == 4);
        kr_pattern_free(p);
    }
    p = ir("{\"op\": \"atom\", \"value\": {\"freq\": 110.5}, \"label\": \"x\"}");
    CHECK(p != NULL);
    if (p) {
        CHECK(strcmp(p->value.label, "x") == 0);
        kr_pattern_free(p);
    }
    kr_value v = {0};
    kr_value_set(&v, "a", 1);
    kr_value_set(&v, "b", 2);
    kr_value_set(&v, "a", 3);
    double x = 0;
    CHECK(v.count == 2 && kr_value_get(&v, "a", &x) && x == 3);
    CHECK(!kr_value_get(&v, "c", &x));
    CHECK(kr_value_truthy(&v));
    kr_value_set(&v, "gate", 0);
    CHECK(!kr_value_truthy(&v));
    kr_value empty = {0};
    CHECK(kr_value_truthy(&empty));
    for (int i = 0; i < 12; i++) {
        char name[8];
        snprintf(name, sizeof name, "k%d", i);
        kr_value_set(&empty, name, i);
    }
    CHECK(empty.count == KR_VALUE_MAX);
}

static void test_errors(void)
{
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"seq\", \"args\": [{\"op\": \"atom\", \"value\": {}}, "
                                "{\"op\": \"fast\", \"factor\": 0, \"arg\": {\"op\": \"silence\"}}]}"),
                       "args[1]: 'factor' must be a time > 0 (\"3/2\", 2 or 0.5)");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"seq\", \"args\": [{\"op\": \"rev\", \"arg\": "
                                "{\"op\": \"fast\", \"factor\": -1, \"arg\": {\"op\": \"silence\"}}}]}"),
                       "args[0].arg: 'factor' must be a time > 0");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"fast\", \"factor\": 0.1, \"arg\": {\"op\": \"silence\"}}"),
                       "not exact in binary");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"fast\", \"factor\": \"1/0\", \"arg\": {\"op\": \"silence\"}}"),
                       "pattern: 'factor' must be a time > 0");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"fast\", \"arg\": {\"op\": \"silence\"}}"),
                       "fast needs 'factor'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"fast\", \"factor\": 2}"), "fast needs 'arg'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"fsat\"}"), "unknown op 'fsat'");
    CHECK_STR_CONTAINS(ir_error("{\"opp\": \"fast\"}"), "needs \"op\"");
    CHECK_STR_CONTAINS(ir_error("[1, 2]"), "must be an object");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"rev\", \"arg\": {\"op\": \"self\"}}"),
                       "arg: 'self' may only appear inside a 'then'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"rev\", \"arg\": {\"op\": \"silence\"}, \"factor\": 2}"),
                       "rev has no field 'factor'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"seq\", \"args\": []}"), "non-empty list");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"seq\", \"args\": [{\"op\": \"silence\", \"weight\": 0}]}"),
                       "args[0]: 'weight' must be a time > 0");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"stack\", \"args\": [{\"op\": \"silence\", \"weight\": 2}]}"),
                       "args[0]: 'weight' is only meaningful on an item of a seq");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"atom\", \"value\": {\"note\": \"H2\"}}"),
                       "'value.note' \"H2\" is not a note name");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"atom\", \"value\": {\"note\": \"A2\", \"freq\": 3}}"),
                       "both 'note' and 'freq'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"atom\", \"value\": {\"cutoff\": \"high\"}}"),
                       "'value.cutoff' must be a number");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"atom\"}"), "atom needs 'value'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"every\", \"n\": 0, \"then\": {\"op\": \"self\"}, "
                                "\"arg\": {\"op\": \"silence\"}}"),
                       "'n' must be an integer from 1");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"every\", \"n\": 2, \"arg\": {\"op\": \"silence\"}}"),
                       "every needs 'then'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"euclid\", \"k\": 9, \"n\": 8, \"arg\": {\"op\": \"silence\"}}"),
                       "'k' must be an integer from -8 to 8");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"degrade\", \"prob\": 1.5, \"arg\": {\"op\": \"silence\"}}"),
                       "'prob' must be a number from 0 to 1");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"swing\", \"amount\": 1.2, \"arg\": {\"op\": \"silence\"}}"),
                       "'amount' must be between 0 and 1");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"signal\", \"shape\": \"saw\"}"),
                       "one of sine tri ramp ramp_down square exp rand");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"shift\", \"by\": [1], \"arg\": {\"op\": \"silence\"}}"),
                       "'by' must be a time (\"-1/4\", 1 or 0.25), not a list");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"mask\", \"mask\": {\"op\": \"bogus\"}, \"arg\": {\"op\": \"silence\"}}"),
                       "mask: unknown op 'bogus'");
    CHECK_STR_CONTAINS(ir_error("{\"op\": \"every\", \"n\": 2, \"then\": {\"op\": \"fast\", \"factor\": 2, "
                                "\"arg\": {\"op\": \"selff\"}}, \"arg\": {\"op\": \"silence\"}}"),
                       "then.arg: unknown op 'selff'");
    /* accepted forms of time */
    CHECK(strcmp(ir_error("{\"op\": \"fast\", \"factor\": \"3/2\", \"arg\": {\"op\": \"silence\"}}"), "") == 0);
    CHECK(strcmp(ir_error("{\"op\": \"fast\", \"factor\": 0.5, \"arg\": {\"op\": \"silence\"}}"), "") == 0);
    CHECK(strcmp(ir_error("{\"op\": \"shift\", \"by\": \"-1/4\", \"arg\": {\"op\": \"silence\"}}"), "") == 0);
    CHECK(strcmp(ir_error("{\"op\": \"swing\", \"amount\": \"2/3\", \"arg\": {\"op\": \"silence\"}}"), "") == 0);
}

static void test_limits(void)
{
    /* depth: 64 nested revs around an atom is 65 levels */
    char *deep = malloc(64 * 40 + 200);
    strcpy(deep, "");
    for (int i = 0; i < 64; i++)
        strcat(deep, "{\"op\": \"rev\", \"arg\": ");
    strcat(deep, "{\"op\": \"silence\"}");
    for (int i = 0; i < 64; i++)
        strcat(deep, "}");
    CHECK_STR_CONTAINS(ir_error(deep), "nested deeper than 64 levels");
    /* 63 revs + silence = 64 levels: accepted */
    CHECK(strcmp(ir_error(deep + strlen("{\"op\": \"rev\", \"arg\": ")), "") != 0); /* unbalanced */
    strcpy(deep, "");
    for (int i = 0; i < 63; i++)
        strcat(deep, "{\"op\": \"rev\", \"arg\": ");
    strcat(deep, "{\"op\": \"silence\"}");
    for (int i = 0; i < 63; i++)
        strcat(deep, "}");
    CHECK(strcmp(ir_error(deep), "") == 0);
    free(deep);

    /* nodes: a stack of 10 000 silences is 10 001 nodes */
    size_t cap = 10000 * 20 + 100;
    char *wide = malloc(cap);
    strcpy(wide, "{\"op\": \"stack\", \"args\": [");
    size_t len = strlen(wide);
    for (int i = 0; i < 10000; i++)
        len += (size_t)snprintf(wide + len, cap - len, "%s{\"op\":\"silence\"}", i ? "," : "");
    snprintf(wide + len, cap - len, "]}");
    CHECK_STR_CONTAINS(ir_error(wide), "more than 10000 nodes");
    free(wide);

    /* events: 100 001 atoms in one query */
    kr_pattern *p = ir("{\"op\": \"fast\", \"factor\": 1000, \"arg\": {\"op\": \"atom\", \"value\": {}}}");
    kr_events ev = {0};
    kr_error err = {0};
    kr_arc arc = {kr_rat_int(0), kr_rat_int(101)};
    CHECK(kr_pattern_query(p, arc, &ev, &err) == -1);
    CHECK_STR_CONTAINS(err.message, "too many events");
    CHECK(ev.count == 0);
    arc.end = kr_rat_int(100);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == 0 && ev.count == 100000);
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* work: a huge span of silence behind a cycle-by-cycle node */
    p = ir("{\"op\": \"rev\", \"arg\": {\"op\": \"silence\"}}");
    arc.end = kr_rat_int(1000000000);
    memset(&err, 0, sizeof err);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == -1);
    CHECK_STR_CONTAINS(err.message, "query too costly");
    kr_pattern_free(p);

    /* time overflow */
    p = ir("{\"op\": \"fast\", \"factor\": \"4611686018427387904\", \"arg\": {\"op\": \"atom\", \"value\": {}}}");
    arc.begin = kr_rat_int(4);
    arc.end = kr_rat_int(5);
    memset(&err, 0, sizeof err);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == -1);
    CHECK_STR_CONTAINS(err.message, "time overflow");
    CHECK(strcmp(err.code, "bad_pattern") == 0);
    kr_pattern_free(p);
    p = ir("{\"op\": \"slow\", \"factor\": \"1/3\", \"arg\": {\"op\": \"shift\", \"by\": \"1/9223372036854775807\", "
           "\"arg\": {\"op\": \"atom\", \"value\": {}}}}");
    arc.begin = kr_rat_make(1, 7, &(bool){false});
    arc.end = kr_rat_int(1);
    memset(&err, 0, sizeof err);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == -1);
    CHECK_STR_CONTAINS(err.message, "time overflow");
    kr_pattern_free(p);

    /* empty and reversed arcs have no events */
    p = ir("{\"op\": \"atom\", \"value\": {}}");
    arc.begin = kr_rat_int(1);
    arc.end = kr_rat_int(1);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == 0 && ev.count == 0);
    arc.end = kr_rat_int(0);
    CHECK(kr_pattern_query(p, arc, &ev, &err) == 0 && ev.count == 0);
    kr_pattern_free(p);
}

static void test_hand_computed(void)
{
    /* swing: 2/3 on a grid of 8 — 8ths pair up as 2/3 + 1/3 of a quarter */
    kr_pattern *p = ir("{\"op\": \"swing\", \"amount\": \"2/3\", \"grid\": 8, \"arg\": {\"op\": \"fast\", "
                       "\"factor\": 8, \"arg\": {\"op\": \"atom\", \"value\": {\"gate\": 1}, \"label\": \"h\"}}}");
    kr_events ev = query(p, "0", "1/2");
    CHECK(ev.count == 4);
    if (ev.count == 4) {
        CHECK(expect_event(&ev.items[0], "0", "1/6", "0", "1/6", "h"));
        CHECK(expect_event(&ev.items[1], "1/6", "1/4", "1/6", "1/4", "h"));
        CHECK(expect_event(&ev.items[2], "1/4", "5/12", "1/4", "5/12", "h"));
        CHECK(expect_event(&ev.items[3], "5/12", "1/2", "5/12", "1/2", "h"));
    }
    kr_events_free(&ev);
    /* a query starting inside a swung step cuts the part, keeps the whole */
    ev = query(p, "1/5", "1/4");
    CHECK(ev.count == 1 && expect_event(&ev.items[0], "1/6", "1/4", "1/5", "1/4", "h"));
    kr_events_free(&ev);
    kr_pattern_free(p);
    /* swing 0.67 is taken as exactly 67/100 */
    p = ir("{\"op\": \"swing\", \"amount\": 0.67, \"grid\": 2, \"arg\": {\"op\": \"fast\", \"factor\": 2, "
           "\"arg\": {\"op\": \"atom\", \"value\": {}}}}");
    CHECK(p && kr_rat_eq(p->ratio, kr_rat_make(67, 100, &(bool){false})));
    ev = query(p, "0", "1");
    CHECK(ev.count == 2 && expect_event(&ev.items[1], "67/100", "1", "67/100", "1", NULL));
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* every with an offset: cycles 1, 4, 7 reversed */
    p = ir("{\"op\": \"every\", \"n\": 3, \"offset\": 1, \"then\": {\"op\": \"rev\", \"arg\": {\"op\": \"self\"}}, "
           "\"arg\": {\"op\": \"seq\", \"args\": [{\"op\": \"atom\", \"value\": {}, \"label\": \"a\"}, "
           "{\"op\": \"atom\", \"value\": {}, \"label\": \"b\"}]}}");
    ev = query(p, "0", "5");
    CHECK(ev.count == 10);
    if (ev.count == 10) {
        const char *want = "abbaababab"; /* cycles 0..4: ab, ba, ab, ab, ba */
        const char *want2 = "abbaabab" "ba";
        (void)want;
        for (int i = 0; i < 10; i++) {
            char l[2] = {want2[i], 0};
            CHECK(strcmp(ev.items[i].value.label, l) == 0);
        }
    }
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* shift with a negative offset, queried before zero */
    p = ir("{\"op\": \"shift\", \"by\": \"-1/4\", \"arg\": {\"op\": \"atom\", \"value\": {}, \"label\": \"a\"}}");
    ev = query(p, "-1", "0");
    CHECK(ev.count == 2);
    if (ev.count == 2) {
        CHECK(expect_event(&ev.items[0], "-5/4", "-1/4", "-1", "-1/4", "a"));
        CHECK(expect_event(&ev.items[1], "-1/4", "3/4", "-1/4", "0", "a"));
    }
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* exp: lo·(hi/lo)^phase at the middle of the query */
    p = ir("{\"op\": \"signal\", \"shape\": \"exp\", \"lo\": 100, \"hi\": 1600}");
    ev = query(p, "0", "1");
    double v = 0;
    CHECK(ev.count == 1 && !ev.items[0].has_whole && kr_value_get(&ev.items[0].value, "value", &v));
    CHECK_NEAR(v, 400, 1e-9);
    kr_events_free(&ev);
    kr_pattern_free(p);
    /* sine over half a cycle: sampled at 1/4 -> 1 */
    p = ir("{\"op\": \"signal\", \"shape\": \"sine\", \"lo\": -2, \"hi\": 2}");
    ev = query(p, "0", "1/2");
    CHECK(ev.count == 1 && kr_value_get(&ev.items[0].value, "value", &v));
    CHECK_NEAR(v, 2, 1e-12);
    kr_events_free(&ev);
    kr_pattern_free(p);
    /* square is exact at its edges */
    p = ir("{\"op\": \"signal\", \"shape\": \"square\", \"lo\": 0, \"hi\": 1}");
    ev = query(p, "0", "1");
    CHECK(ev.count == 1 && kr_value_get(&ev.items[0].value, "value", &v) && v == 1);
    kr_events_free(&ev);
    ev = query(p, "-1", "-1/2");
    CHECK(ev.count == 1 && kr_value_get(&ev.items[0].value, "value", &v) && v == 0);
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* sorted by part begin, stable: stack order kept for equal begins */
    p = ir("{\"op\": \"stack\", \"args\": [{\"op\": \"slow\", \"factor\": 2, \"arg\": {\"op\": \"atom\", \"value\": {}, \"label\": \"s\"}}, "
           "{\"op\": \"fast\", \"factor\": 2, \"arg\": {\"op\": \"atom\", \"value\": {}, \"label\": \"f\"}}, "
           "{\"op\": \"atom\", \"value\": {}, \"label\": \"a\"}]}");
    ev = query(p, "0", "2");
    const char *order[] = {"s", "f", "a", "f", "f", "a", "f"};
    CHECK(ev.count == 7);
    for (size_t i = 0; i < ev.count && i < 7; i++)
        CHECK(strcmp(ev.items[i].value.label, order[i]) == 0);
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* events keep the atom's value */
    p = ir("{\"op\": \"seq\", \"args\": [{\"op\": \"atom\", \"value\": {\"note\": \"A4\", \"vel\": 0.25}}, {\"op\": \"silence\"}]}");
    ev = query(p, "0", "1");
    double f = 0;
    CHECK(ev.count == 1 && kr_value_get(&ev.items[0].value, "freq", &f) && f == 440);
    CHECK(ev.count == 1 && expect_event(&ev.items[0], "0", "1/2", "0", "1/2", "A4"));
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* polymeter with the default steps taken from a weighted first arg */
    p = ir("{\"op\": \"polymeter\", \"args\": [{\"op\": \"seq\", \"args\": [{\"op\": \"atom\", \"value\": {}, \"label\": \"a\", \"weight\": 2}, "
           "{\"op\": \"atom\", \"value\": {}, \"label\": \"b\"}]}, {\"op\": \"atom\", \"value\": {}, \"label\": \"c\"}]}");
    ev = query(p, "0", "1");
    CHECK(ev.count == 5); /* a b + c c c */
    kr_events_free(&ev);
    kr_pattern_free(p);

    /* a pattern built in C without weights, args or `then` still answers */
    kr_pattern *every = kr_pattern_new(KR_PAT_EVERY);
    every->n = 2;
    every->nargs = 1;
    every->args = calloc(1, sizeof *every->args);
    every->args[0] = kr_pattern_new(KR_PAT_ATOM);
    ev = query(every, "0", "2");
    CHECK(ev.count == 2);
    kr_events_free(&ev);
    kr_pattern_free(every);
    /* self outside a then is an error at query time for hand-built trees */
    kr_pattern *self = kr_pattern_new(KR_PAT_SELF);
    kr_error err = {0};
    kr_arc arc = {kr_rat_int(0), kr_rat_int(1)};
    CHECK(kr_pattern_query(self, arc, &ev, &err) == -1);
    CHECK_STR_CONTAINS(err.message, "'self' outside a 'then'");
    kr_pattern_free(self);
}

/* ---- the `query` command ---------------------------------------------------------- */

static json_t *run_query(const char *request, kr_error *err)
{
    json_t *json = json_loads(request, 0, NULL);
    kr_request req = {0};
    req.json = json;
    req.cmd = "query";
    req.reply = json_object();
    int rc = kr_cmd_query(&req);
    *err = req.error;
    json_decref(json);
    if (rc) {
        json_decref(req.reply);
        return NULL;
    }
    return req.reply;
}

static void test_command(void)
{
    kr_error err;
    json_t *reply = run_query("{\"cmd\": \"query\", \"from\": 0, \"to\": \"3/2\", \"pattern\": "
                              "{\"op\": \"seq\", \"args\": [{\"op\": \"atom\", \"value\": {\"note\": \"A2\"}}, "
                              "{\"op\": \"signal\", \"shape\": \"ramp\"}]}}", &err);
    CHECK(reply != NULL);
    if (reply) {
        char *text = json_dumps(json_object_get(reply, "events"), JSON_COMPACT | JSON_REAL_PRECISION(6));
        CHECK_STR_CONTAINS(text, "{\"whole\":[\"0\",\"1/2\"],\"part\":[\"0\",\"1/2\"],"
                                 "\"value\":{\"freq\":110.0,\"midi\":45.0},\"label\":\"A2\"}");
        CHECK_STR_CONTAINS(text, "{\"whole\":null,\"part\":[\"1/2\",\"1\"],\"value\":{\"value\":0.5},\"label\":\"\"}");
        CHECK_STR_CONTAINS(text, "{\"whole\":[\"1\",\"3/2\"],\"part\":[\"1\",\"3/2\"]");
        CHECK(json_array_size(json_object_get(reply, "events")) == 3);
        free(text);
        json_decref(reply);
    }
    reply = run_query("{\"from\": \"1/2\", \"to\": 1, \"mini\": \"a b c d\"}", &err);
    CHECK(reply != NULL);
    if (reply) {
        json_t *events = json_object_get(reply, "events");
        CHECK(json_array_size(events) == 2);
        char *text = json_dumps(events, JSON_COMPACT);
        CHECK_STR_CONTAINS(text, "\"part\":[\"1/2\",\"3/4\"]");
        CHECK_STR_CONTAINS(text, "\"label\":\"c\"");
        free(text);
        json_decref(reply);
    }
    CHECK(run_query("{\"from\": 0, \"to\": 1}", &err) == NULL);
    CHECK(strcmp(err.code, "missing_field") == 0);
    CHECK(run_query("{\"from\": 0, \"to\": 1, \"mini\": \"a [b\"}", &err) == NULL);
    CHECK(strcmp(err.code, "bad_mini") == 0);
    CHECK(run_query("{\"from\": 2, \"to\": 1, \"mini\": \"a\"}", &err) == NULL);
    CHECK(strcmp(err.code, "bad_value") == 0);
    CHECK(run_query("{\"from\": 0.1, \"to\": 1, \"mini\": \"a\"}", &err) == NULL);
    CHECK(run_query("{\"to\": 1, \"mini\": \"a\"}", &err) == NULL);
    CHECK(strcmp(err.code, "missing_field") == 0);
    CHECK(run_query("{\"from\": 0, \"to\": 1, \"pattern\": {\"op\": \"fast\", \"factor\": 0, "
                    "\"arg\": {\"op\": \"silence\"}}}", &err) == NULL);
    CHECK(strcmp(err.code, "bad_pattern") == 0);
    CHECK_STR_CONTAINS(err.message, "'factor' must be a time > 0");
    /* the IR's own "mini" node */
    reply = run_query("{\"from\": 0, \"to\": 1, \"pattern\": {\"op\": \"fast\", \"factor\": 2, "
                      "\"arg\": {\"op\": \"mini\", \"text\": \"a b\"}}}", &err);
    CHECK(reply && json_array_size(json_object_get(reply, "events")) == 4);
    json_decref(reply);
    CHECK(run_query("{\"from\": 0, \"to\": 1, \"pattern\": {\"op\": \"stack\", \"args\": [{\"op\": \"silence\"}, "
                    "{\"op\": \"mini\", \"text\": \"a [b\"}]}}", &err) == NULL);
    CHECK(strcmp(err.code, "bad_mini") == 0);
    CHECK_STR_CONTAINS(err.message, "args[1]: ");
}

int main(void)
{
    test_notes();
    test_values();
    test_errors();
    test_limits();
    test_hand_computed();
    test_command();
    run_fixture_file("strudel_core.json");
    run_fixture_file("strudel_random.json");
    return KR_TEST_REPORT("pattern");
}
