/* mini_lex.c — the mini-notation parser's plumbing: its arena, columns and
 * error messages (with the text and a caret), and numbers as written. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mini_internal.h"

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* ---- arena ----------------------------------------------------------------- */

struct mn_chunk {
    mn_chunk *next;
    max_align_t data[];
};

void *mn_alloc(mn_parser *p, size_t size)
{
    mn_chunk *c = calloc(1, sizeof *c + size);
    if (!c) {
        kr_error_set(p->error, "bad_mini", "mini-notation: out of memory");
        return NULL;
    }
    c->next = p->chunks;
    p->chunks = c;
    return c->data;
}

void mn_arena_free(mn_parser *p)
{
    while (p->chunks) {
        mn_chunk *next = p->chunks->next;
        free(p->chunks);
        p->chunks = next;
    }
}

/* ---- errors ---------------------------------------------------------------- */

static bool is_utf8_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

static size_t line_start(const mn_parser *p, size_t at)
{
    size_t s = at;
    while (s > 0 && p->text[s - 1] != '\n')
        s--;
    return s;
}

int mn_column(const mn_parser *p, size_t at)
{
    if (at > p->len)
        at = p->len;
    int col = 1;
    for (size_t i = line_start(p, at); i < at; i++)
        if (!is_utf8_continuation((unsigned char)p->text[i]))
            col++;
    return col;
}

static int line_number(const mn_parser *p, size_t at)
{
    int line = 1;
    for (size_t i = 0; i < at && i < p->len; i++)
        line += p->text[i] == '\n';
    return line;
}

/* Appends the line holding `at` (at most ~60 characters around it) and a caret. */
static void append_excerpt(const mn_parser *p, size_t at, char *buf, size_t size)
{
    enum { WIDTH = 60, BEFORE = 40 };
    if (at > p->len)
        at = p->len;
    size_t begin = line_start(p, at), end = at;
    while (end < p->len && p->text[end] != '\n')
        end++;
    /* Keep the caret in the window: drop characters on the left. */
    int before = mn_column(p, at) - 1;
    bool cut_left = before > BEFORE;
    for (int drop = cut_left ? before - BEFORE : 0; drop > 0; drop--) {
        begin++;
        while (begin < at && is_utf8_continuation((unsigned char)p->text[begin]))
            begin++;
    }
    size_t stop = begin;
    for (int shown = 0; stop < end && shown < WIDTH; shown++) {
        stop++;
        while (stop < end && is_utf8_continuation((unsigned char)p->text[stop]))
            stop++;
    }
    size_t used = strlen(buf);
    char *out = buf + used;
    size_t room = size - used;
    int n = snprintf(out, room, "\n  %s", cut_left ? "..." : "");
    if (n < 0 || (size_t)n >= room)
        return;
    out += n, room -= (size_t)n;
    for (size_t i = begin; i < stop && room > 1; i++, room--) {
        char c = p->text[i];
        *out++ = (c == '\t' || c == '\r') ? ' ' : c;
    }
    *out = '\0';
    if (stop < end && room > 4) {
        memcpy(out, "...", 4);
        out += 3, room -= 3;
    }
    int caret = (cut_left ? 3 + BEFORE : before);
    snprintf(out, room, "\n  %*s^", caret, "");
}

void *mn_fail(mn_parser *p, size_t at, const char *fmt, ...)
{
    if (p->error->code)
        return NULL; /* keep the first error */
    char msg[512];
    int n = snprintf(msg, sizeof msg, "mini-notation: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (memchr(p->text, '\n', p->len)) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, " (line %d)", line_number(p, at));
    }
    append_excerpt(p, at, msg, sizeof msg);
    kr_error_set(p->error, "bad_mini", "%s", msg);
    return NULL;
}

/* ---- numbers ----------------------------------------------------------------- */

/* Scans a JavaScript-Number-like literal; returns its length or 0. Sets the
 * mantissa digits (without the point), the number of decimals and exponent. */
static size_t scan_number(const char *s, size_t len, bool *neg, uint64_t *mant, int *decimals,
                          long *exp10, bool *overflow)
{
    size_t i = 0;
    *neg = false, *mant = 0, *decimals = 0, *exp10 = 0, *overflow = false;
    if (i < len && s[i] == '-')
        *neg = true, i++;
    int digits = 0;
    while (i < len && is_digit(s[i])) {
        if (*mant > (UINT64_MAX - 9) / 10)
            *overflow = true;
        else
            *mant = *mant * 10 + (uint64_t)(s[i] - '0');
        i++, digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            if (*mant > (UINT64_MAX - 9) / 10)
                *overflow = true;
            else
                *mant = *mant * 10 + (uint64_t)(s[i] - '0'), (*decimals)++;
            i++, digits++;
        }
    }
    if (!digits)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        bool eneg = false;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            eneg = s[j] == '-', j++;
        if (j < len && is_digit(s[j])) {
            long e = 0;
            while (j < len && is_digit(s[j])) {
                if (e < 100000)
                    e = e * 10 + (s[j] - '0');
                j++;
            }
            *exp10 = eneg ? -e : e;
            i = j;
        }
    }
    return i;
}

int mn_number(const char *text, size_t len, kr_rat *out)
{
    bool neg, overflow;
    uint64_t mant;
    int decimals;
    long e;
    if (scan_number(text, len, &neg, &mant, &decimals, &e, &overflow) != len || overflow)
        return -1;
    long scale = e - decimals;
    if (mant > INT64_MAX || scale > 18 || scale < -18) {
        if (mant == 0) {
            *out = kr_rat_int(0);
            return 0;
        }
        return -1;
    }
    int64_t pow10 = 1;
    for (long i = 0; i < (scale < 0 ? -scale : scale); i++)
        pow10 *= 10;
    bool of = false;
    kr_rat m = kr_rat_int(neg ? -(int64_t)mant : (int64_t)mant);
    kr_rat r = scale >= 0 ? kr_rat_mul(m, kr_rat_int(pow10), &of) : kr_rat_make(m.num, pow10, &of);
    if (of)
        return -1;
    *out = r;
    return 0;
}

int mn_number_double(const char *text, size_t len, double *out)
{
    bool neg, overflow;
    uint64_t mant;
    int decimals;
    long e;
    if (len == 0 || len >= 64 || scan_number(text, len, &neg, &mant, &decimals, &e, &overflow) != len)
        return -1;
    char buf[64];
    memcpy(buf, text, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}

