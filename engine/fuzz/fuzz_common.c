/* fuzz_common.c — see fuzz_common.h. */
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kr_fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        kr_fuzz_fail("out of memory copying a %zu-byte input", size);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

void kr_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void kr_fuzz_check_error(const kr_error *error, const char *code, const char *what)
{
    if (!error->code || strcmp(error->code, code) != 0)
        kr_fuzz_fail("%s failed with code %s, expected %s (message: %s)", what,
                     error->code ? error->code : "(none)", code, error->message);
    if (!error->message[0])
        kr_fuzz_fail("%s failed with code %s but no message", what, code);
}

/* ---- pattern queries ---------------------------------------------------------- */

static void arc_text(kr_arc a, char *buf, int len)
{
    char b[48], e[48];
    kr_rat_format(a.begin, b, sizeof b);
    kr_rat_format(a.end, e, sizeof e);
    snprintf(buf, (size_t)len, "[%s, %s)", b, e);
}

static bool arc_inside(kr_arc inner, kr_arc outer)
{
    return kr_rat_cmp(outer.begin, inner.begin) <= 0 && kr_rat_cmp(inner.end, outer.end) <= 0;
}

static bool same_value(const kr_value *a, const kr_value *b)
{
    if (a->count != b->count || strcmp(a->label, b->label) != 0)
        return false;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 ||
            memcmp(&a->values[i], &b->values[i], sizeof a->values[i]) != 0)
            return false;
    return true;
}

static bool same_event(const kr_event *a, const kr_event *b)
{
    if (a->has_whole != b->has_whole || !kr_rat_eq(a->part.begin, b->part.begin) ||
        !kr_rat_eq(a->part.end, b->part.end))
        return false;
    if (a->has_whole && (!kr_rat_eq(a->whole.begin, b->whole.begin) ||
                         !kr_rat_eq(a->whole.end, b->whole.end)))
        return false;
    return same_value(&a->value, &b->value);
}

static void check_events(const kr_events *ev, kr_arc arc)
{
    char where[128];
    arc_text(arc, where, sizeof where);
    if (ev->count > KR_QUERY_EVENTS)
        kr_fuzz_fail("query %s returned %zu events (limit %d)", where, ev->count,
                     KR_QUERY_EVENTS);
    for (size_t i = 0; i < ev->count; i++) {
        const kr_event *e = &ev->items[i];
        char part[128];
        arc_text(e->part, part, sizeof part);
        if (e->part.begin.den <= 0 || e->part.end.den <= 0)
            kr_fuzz_fail("query %s: event %zu has a part %s with a bad denominator", where, i,
                         part);
        if (kr_rat_cmp(e->part.begin, e->part.end) >= 0)
            kr_fuzz_fail("query %s: event %zu has an empty part %s", where, i, part);
        if (!arc_inside(e->part, arc))
            kr_fuzz_fail("query %s: event %zu has a part %s outside the query", where, i, part);
        if (e->has_whole && !arc_inside(e->part, e->whole)) {
            char whole[128];
            arc_text(e->whole, whole, sizeof whole);
            kr_fuzz_fail("query %s: event %zu has a part %s outside its whole %s", where, i,
                         part, whole);
        }
        if (i > 0 && kr_rat_cmp(ev->items[i - 1].part.begin, e->part.begin) > 0)
            kr_fuzz_fail("query %s: event %zu starts before event %zu (not sorted)", where, i,
                         i - 1);
        if (e->value.count < 0 || e->value.count > KR_VALUE_MAX ||
            !memchr(e->value.label, '\0', sizeof e->value.label))
            kr_fuzz_fail("query %s: event %zu has a malformed value", where, i);
    }
}

void kr_fuzz_query_pattern(const kr_pattern *pattern)
{
    static const int64_t arcs[][4] = {
        {0, 1, 1, 1},        {0, 1, 4, 1},         {1, 3, 7, 4},
        {-2, 1, -1, 2},      {1000003, 1, 1000004, 1}, {7, 3, 7 * 1024 + 3, 3 * 1024},
        {-(INT64_C(1) << 40), 1, -(INT64_C(1) << 40) + 1, 1},
    };
    for (size_t i = 0; i < sizeof arcs / sizeof arcs[0]; i++) {
        bool overflow = false;
        kr_arc arc = {kr_rat_make(arcs[i][0], arcs[i][1], &overflow),
                      kr_rat_make(arcs[i][2], arcs[i][3], &overflow)};
        kr_events first = {0}, second = {0};
        kr_error e1 = {0}, e2 = {0};
        int rc1 = kr_pattern_query(pattern, arc, &first, &e1);
        int rc2 = kr_pattern_query(pattern, arc, &second, &e2);
        char where[128];
        arc_text(arc, where, sizeof where);
        if (rc1 != rc2)
            kr_fuzz_fail("query %s succeeded once and failed once (%s)", where,
                         rc1 ? e1.message : e2.message);
        if (rc1) {
            kr_fuzz_check_error(&e1, "bad_pattern", "a pattern query");
            if (first.count != 0)
                kr_fuzz_fail("query %s failed but left %zu events", where, first.count);
        } else {
            check_events(&first, arc);
            if (first.count != second.count)
                kr_fuzz_fail("query %s gave %zu events, then %zu", where, first.count,
                             second.count);
            for (size_t k = 0; k < first.count; k++)
                if (!same_event(&first.items[k], &second.items[k]))
                    kr_fuzz_fail("query %s: event %zu differs between two runs", where, k);
        }
        kr_events_free(&first);
        kr_events_free(&second);
    }
}
