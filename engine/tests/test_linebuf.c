/* test_linebuf.c — bounded line splitting: framing across feeds, CR/LF,
 * empty lines, the length limit (exact, +1, spread over chunks), memory bounds,
 * and stopping from the callback. */
#include <stdlib.h>

#include "kr_test.h"
#include "krach/linebuf.h"

/* Records every callback: lines joined with '|', an overflow as "<TOO LONG>". */
typedef struct recorder {
    char text[1 << 16];
    size_t used;
    int lines, overflows;
    int stop_after; /* return 1 from the callback number `stop_after` (0: never) */
    int calls;
    size_t last_len;
} recorder;

static int record(void *ctx, const char *line, size_t len)
{
    recorder *r = ctx;
    r->calls++;
    const char *piece = line ? line : "<TOO LONG>";
    size_t n = line ? len : strlen(piece);
    if (line) {
        r->lines++;
        r->last_len = len;
    } else {
        r->overflows++;
        CHECK(len == 0);
    }
    if (r->used + n + 2 < sizeof r->text) {
        memcpy(r->text + r->used, piece, n);
        r->used += n;
        r->text[r->used++] = '|';
        r->text[r->used] = '\0';
    }
    return r->stop_after && r->calls == r->stop_after;
}

static recorder *recorder_new(void)
{
    recorder *r = calloc(1, sizeof *r);
    return r;
}

static int feed_str(kr_linebuf *buf, const char *s, recorder *r)
{
    return kr_linebuf_feed(buf, s, strlen(s), record, r);
}

static void feed_bytewise(kr_linebuf *buf, const char *s, size_t n, recorder *r)
{
    for (size_t i = 0; i < n; i++)
        CHECK(kr_linebuf_feed(buf, s + i, 1, record, r) == 0);
}

/* ---- framing ---------------------------------------------------------------- */

static void test_one_line_per_feed(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "hello\n", r) == 0);
    CHECK(strcmp(r->text, "hello|") == 0);
    CHECK(r->last_len == 5);
    CHECK(feed_str(&buf, "world\n", r) == 0);
    CHECK(strcmp(r->text, "hello|world|") == 0);
    CHECK(buf.len == 0);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_line_split_across_byte_by_byte_feeds(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    const char *s = "{\"cmd\": \"ping\"}\nsecond line\n";
    feed_bytewise(&buf, s, strlen(s), r);
    CHECK(r->lines == 2);
    CHECK(strcmp(r->text, "{\"cmd\": \"ping\"}|second line|") == 0);
    /* Nothing is delivered until the newline arrives. */
    feed_bytewise(&buf, "partial", 7, r);
    CHECK(r->lines == 2);
    CHECK(buf.len == 7);
    feed_bytewise(&buf, "\n", 1, r);
    CHECK(r->lines == 3);
    CHECK(strcmp(r->text + strlen(r->text) - 8, "partial|") == 0);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_line_split_at_every_position(void)
{
    /* Two feeds, split at every offset: the result never depends on where. */
    const char *s = "alpha\r\nbeta\n\ngamma delta\n";
    for (size_t cut = 0; cut <= strlen(s); cut++) {
        kr_linebuf buf;
        kr_linebuf_init(&buf, 64);
        recorder *r = recorder_new();
        CHECK(kr_linebuf_feed(&buf, s, cut, record, r) == 0);
        CHECK(kr_linebuf_feed(&buf, s + cut, strlen(s) - cut, record, r) == 0);
        CHECK(strcmp(r->text, "alpha|beta||gamma delta|") == 0);
        kr_linebuf_free(&buf);
        free(r);
    }
}

static void test_several_lines_in_one_feed(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "a\nbb\nccc\ndddd", r) == 0);
    CHECK(r->lines == 3);
    CHECK(strcmp(r->text, "a|bb|ccc|") == 0);
    CHECK(buf.len == 4); /* "dddd" waits for its newline */
    CHECK(feed_str(&buf, "\ne\n", r) == 0);
    CHECK(strcmp(r->text, "a|bb|ccc|dddd|e|") == 0);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_crlf_is_stripped(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "one\r\ntwo\r\n", r) == 0);
    CHECK(strcmp(r->text, "one|two|") == 0);
    CHECK(r->last_len == 3);
    /* '\r' and '\n' in different feeds (the buffered path). */
    CHECK(feed_str(&buf, "three\r", r) == 0);
    CHECK(feed_str(&buf, "\n", r) == 0);
    CHECK(strcmp(r->text, "one|two|three|") == 0);
    /* Only one trailing '\r' is removed; an inner '\r' stays. */
    CHECK(feed_str(&buf, "a\rb\r\r\n", r) == 0);
    CHECK(r->last_len == 4);
    CHECK(strcmp(r->text, "one|two|three|a\rb\r|") == 0);
    /* A lone "\r\n" is an empty line. */
    CHECK(feed_str(&buf, "\r\n", r) == 0);
    CHECK(r->last_len == 0);
    CHECK(r->lines == 5);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_empty_lines_are_delivered_with_len_zero(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "\n\n\n", r) == 0);
    CHECK(r->lines == 3);
    CHECK(r->last_len == 0);
    CHECK(strcmp(r->text, "|||") == 0);
    feed_bytewise(&buf, "\n", 1, r);
    CHECK(r->lines == 4 && r->last_len == 0);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_bytes_after_newline_are_kept_including_nul(void)
{
    /* The splitter is byte-transparent: a NUL inside a line is passed on (the
     * protocol layer rejects it), and lengths are exact. */
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    const char s[] = {'a', '\0', 'b', '\n', 'c', '\n'};
    CHECK(kr_linebuf_feed(&buf, s, sizeof s, record, r) == 0);
    CHECK(r->lines == 2);
    CHECK(memcmp(r->text, "a\0b|c|", 6) == 0);
    kr_linebuf_free(&buf);
    free(r);
}

/* ---- the limit ---------------------------------------------------------------- */

static char *repeat(char c, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    char *s = malloc(n + t + 1);
    memset(s, c, n);
    memcpy(s + n, tail, t + 1);
    return s;
}

static void test_exactly_limit_line_is_accepted(void)
{
    enum { LIMIT = 50 };
    char *line = repeat('x', LIMIT, "\n");
    /* In one feed (no-copy path), byte by byte (buffered path), and in two. */
    for (int mode = 0; mode < 3; mode++) {
        kr_linebuf buf;
        kr_linebuf_init(&buf, LIMIT);
        recorder *r = recorder_new();
        if (mode == 0)
            CHECK(feed_str(&buf, line, r) == 0);
        else if (mode == 1)
            feed_bytewise(&buf, line, LIMIT + 1, r);
        else {
            CHECK(kr_linebuf_feed(&buf, line, 20, record, r) == 0);
            CHECK(kr_linebuf_feed(&buf, line + 20, LIMIT + 1 - 20, record, r) == 0);
        }
        CHECK(r->overflows == 0);
        CHECK(r->lines == 1);
        CHECK(r->last_len == LIMIT);
        CHECK(strncmp(r->text, line, LIMIT) == 0);
        kr_linebuf_free(&buf);
        free(r);
    }
    free(line);
}

static void test_limit_plus_one_reported_once_then_next_line_intact(void)
{
    enum { LIMIT = 50 };
    char *line = repeat('y', LIMIT + 1, "\nnext\n");
    for (int mode = 0; mode < 3; mode++) {
        kr_linebuf buf;
        kr_linebuf_init(&buf, LIMIT);
        recorder *r = recorder_new();
        if (mode == 0)
            CHECK(feed_str(&buf, line, r) == 0);
        else if (mode == 1)
            feed_bytewise(&buf, line, strlen(line), r);
        else {
            CHECK(kr_linebuf_feed(&buf, line, LIMIT, record, r) == 0); /* just at the limit */
            CHECK(r->calls == 0);
            CHECK(feed_str(&buf, line + LIMIT, r) == 0);
        }
        CHECK(r->overflows == 1);
        CHECK(r->lines == 1);
        CHECK(strcmp(r->text, "<TOO LONG>|next|") == 0);
        CHECK(!buf.discarding);
        CHECK(buf.len == 0);
        kr_linebuf_free(&buf);
        free(r);
    }
    free(line);
}

static void test_overlong_line_over_many_chunks_reported_once(void)
{
    enum { LIMIT = 1000, CHUNK = 37 };
    kr_linebuf buf;
    kr_linebuf_init(&buf, LIMIT);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "before\n", r) == 0);
    char chunk[CHUNK];
    memset(chunk, 'z', sizeof chunk);
    /* 100 times the limit, in 37-byte pieces: reported as soon as it passes the
     * limit (not at its newline), and only once. */
    size_t sent = 0, max_len = 0, max_cap = 0;
    int reported_at_chunk = -1;
    for (int i = 0; sent < 100 * LIMIT; i++) {
        CHECK(kr_linebuf_feed(&buf, chunk, CHUNK, record, r) == 0);
        sent += CHUNK;
        if (r->overflows == 1 && reported_at_chunk < 0)
            reported_at_chunk = i;
        if (buf.len > max_len)
            max_len = buf.len;
        if (buf.cap > max_cap)
            max_cap = buf.cap;
    }
    CHECK(max_len <= LIMIT);
    CHECK(max_cap <= LIMIT + 1);
    CHECK(reported_at_chunk == LIMIT / CHUNK); /* the chunk that crossed the limit */
    CHECK(r->overflows == 1);
    CHECK(buf.discarding);
    /* The end of the long line, the next line in the same feed. */
    CHECK(feed_str(&buf, "zzz\nafter\n", r) == 0);
    CHECK(r->overflows == 1);
    CHECK(strcmp(r->text, "before|<TOO LONG>|after|") == 0);
    CHECK(!buf.discarding);
    /* A second over-long line is reported again (once). */
    char *big = repeat('q', 3 * LIMIT, "\nlast\n");
    CHECK(feed_str(&buf, big, r) == 0);
    CHECK(r->overflows == 2);
    CHECK(strcmp(r->text, "before|<TOO LONG>|after|<TOO LONG>|last|") == 0);
    free(big);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_memory_stays_bounded_by_the_limit(void)
{
    /* The header promises memory per stream never exceeds the limit: the buffer
     * may hold at most the limit plus a terminator, whatever arrives. */
    static const size_t limits[] = {2, 3, 10, 100, 1000, 1023, 1024, 1500, 70000};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        const size_t limit = limits[l];
        kr_linebuf buf;
        kr_linebuf_init(&buf, limit);
        recorder *r = recorder_new();
        /* A line of exactly the limit, arriving in two pieces (buffered). */
        char *exact = repeat('e', limit, "\n");
        size_t half = limit / 2;
        CHECK(kr_linebuf_feed(&buf, exact, half, record, r) == 0);
        CHECK(kr_linebuf_feed(&buf, exact + half, limit + 1 - half, record, r) == 0);
        CHECK(r->lines == 1 && r->last_len == limit && r->overflows == 0);
        CHECK(buf.cap <= limit + 1);
        /* Then an overflow, byte by byte, and then everything else. */
        char *over = repeat('o', limit + 5, "\nok\n");
        size_t max_cap = 0, max_len = 0;
        for (size_t i = 0; i < strlen(over); i++) {
            CHECK(kr_linebuf_feed(&buf, over + i, 1, record, r) == 0);
            if (buf.cap > max_cap)
                max_cap = buf.cap;
            if (buf.len > max_len)
                max_len = buf.len;
        }
        CHECK(max_cap <= limit + 1);
        CHECK(max_len <= limit);
        CHECK(r->overflows == 1);
        CHECK(r->lines == 2 && r->last_len == 2);
        CHECK(buf.cap <= limit + 1);
        free(exact);
        free(over);
        kr_linebuf_free(&buf);
        free(r);
    }
}

static void test_limit_zero_allows_only_empty_lines(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 0);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "\nx\n\nyy", r) == 0);
    CHECK(feed_str(&buf, "y\n\r\n", r) == 0);
    /* "\r\n" is two bytes before stripping: over a zero limit. */
    CHECK(strcmp(r->text, "|<TOO LONG>||<TOO LONG>|<TOO LONG>|") == 0);
    CHECK(buf.cap <= 1);
    kr_linebuf_free(&buf);
    free(r);
}

static void test_free_resets_and_is_idempotent(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    CHECK(buf.data == NULL && buf.len == 0 && buf.cap == 0 && buf.limit == 100);
    CHECK(!buf.discarding);
    recorder *r = recorder_new();
    CHECK(feed_str(&buf, "unfinished", r) == 0);
    CHECK(buf.data != NULL);
    kr_linebuf_free(&buf);
    CHECK(buf.data == NULL && buf.len == 0 && buf.cap == 0);
    kr_linebuf_free(&buf);
    free(r);
}

/* ---- stopping ---------------------------------------------------------------- */

static void test_callback_nonzero_stops_feeding(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 100);
    recorder *r = recorder_new();
    r->stop_after = 2;
    CHECK(feed_str(&buf, "one\ntwo\nthree\nfour\n", r) == 1);
    CHECK(r->calls == 2);
    CHECK(strcmp(r->text, "one|two|") == 0); /* the rest of the chunk is dropped */
    /* Stop from the buffered path too. */
    r->stop_after = 3;
    feed_str(&buf, "fi", r);
    CHECK(feed_str(&buf, "ve\nsix\n", r) == 1);
    CHECK(r->calls == 3);
    CHECK(strcmp(r->text, "one|two|five|") == 0);
    /* Stop from the overflow report. */
    kr_linebuf small;
    kr_linebuf_init(&small, 4);
    recorder *s = recorder_new();
    s->stop_after = 1;
    CHECK(feed_str(&small, "toolong\nnext\n", s) == 1);
    CHECK(s->overflows == 1 && s->lines == 0);
    /* Returns 0 when all callbacks return 0. */
    s->stop_after = 0;
    CHECK(feed_str(&small, "ok\n", s) == 0);
    CHECK(s->lines == 1);
    kr_linebuf_free(&small);
    kr_linebuf_free(&buf);
    free(r);
    free(s);
}

static void test_zero_length_feed_does_nothing(void)
{
    kr_linebuf buf;
    kr_linebuf_init(&buf, 10);
    recorder *r = recorder_new();
    CHECK(kr_linebuf_feed(&buf, "", 0, record, r) == 0);
    CHECK(r->calls == 0);
    CHECK(buf.data == NULL);
    kr_linebuf_free(&buf);
    free(r);
}

int main(void)
{
    test_one_line_per_feed();
    test_line_split_across_byte_by_byte_feeds();
    test_line_split_at_every_position();
    test_several_lines_in_one_feed();
    test_crlf_is_stripped();
    test_empty_lines_are_delivered_with_len_zero();
    test_bytes_after_newline_are_kept_including_nul();
    test_exactly_limit_line_is_accepted();
    test_limit_plus_one_reported_once_then_next_line_intact();
    test_overlong_line_over_many_chunks_reported_once();
    test_memory_stays_bounded_by_the_limit();
    test_limit_zero_allows_only_empty_lines();
    test_free_resets_and_is_idempotent();
    test_callback_nonzero_stops_feeding();
    test_zero_length_feed_does_nothing();
    return KR_TEST_REPORT("linebuf");
}
