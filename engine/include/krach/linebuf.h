/* linebuf.h — split a byte stream into bounded lines.
 *
 * Bytes are fed as they arrive; every complete line is handed to a callback at
 * once, so the buffer only ever holds the one unfinished line. A line longer
 * than the limit is not stored: the callback hears about it once (as soon as
 * it passes the limit) and the rest of it, up to its newline, is discarded.
 * Memory per stream therefore never exceeds the limit, whatever a client sends. */
#ifndef KRACH_LINEBUF_H
#define KRACH_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kr_linebuf {
    char *data;          /* the unfinished line */
    size_t len, cap, limit;
    bool discarding;     /* inside an over-long line */
} kr_linebuf;

/* Called for each complete line (without newline; a trailing '\r' is removed)
 * or, with line == NULL, for a line that exceeded the limit. Return non-zero to
 * stop feeding (the rest of the chunk is dropped). */
typedef int (*kr_line_fn)(void *ctx, const char *line, size_t len);

void kr_linebuf_init(kr_linebuf *buf, size_t limit);
void kr_linebuf_free(kr_linebuf *buf);

/* Returns 0; 1 if a callback asked to stop; -1 when out of memory. */
int kr_linebuf_feed(kr_linebuf *buf, const char *bytes, size_t n, kr_line_fn fn, void *ctx);

#endif
