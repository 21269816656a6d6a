/* linebuf.c — bounded line splitting (see linebuf.h). */
#include "krach/linebuf.h"

#include <stdlib.h>
#include <string.h>

void kr_linebuf_init(kr_linebuf *buf, size_t limit)
{
    memset(buf, 0, sizeof *buf);
    buf->limit = limit;
}

void kr_linebuf_free(kr_linebuf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

static int reserve(kr_linebuf *buf, size_t need)
{
    if (need <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 1024;
    while (cap < need)
        cap *= 2;
    /* The caller keeps len + seg <= limit, so need <= limit + 1 (the line and
     * its NUL): never grow past that, or doubling would let one line of almost
     * the limit hold nearly twice the limit. */
    if (buf->limit < (size_t)-1 && cap > buf->limit + 1)
        cap = buf->limit + 1;
    char *data = realloc(buf->data, cap);
    if (!data)
        return -1;
    buf->data = data;
    buf->cap = cap;
    return 0;
}

static int emit(const char *line, size_t len, kr_line_fn fn, void *ctx)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return fn(ctx, line, len);
}

int kr_linebuf_feed(kr_linebuf *buf, const char *bytes, size_t n, kr_line_fn fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(bytes, '\n', n);
        size_t seg = nl ? (size_t)(nl - bytes) : n;   /* bytes before the newline */
        size_t used = nl ? seg + 1 : n;               /* bytes this step consumes */
        if (buf->discarding) {
            if (nl)
                buf->discarding = false;
        } else if (buf->len + seg > buf->limit) {
            buf->len = 0;
            buf->discarding = !nl;
            if (buf->cap > 65536) /* give a huge buffer back */
                kr_linebuf_free(buf);
            if (fn(ctx, NULL, 0))
                return 1;
        } else if (nl && buf->len == 0) {
            if (emit(bytes, seg, fn, ctx)) /* common case: no copy */
                return 1;
        } else {
            if (reserve(buf, buf->len + seg + 1))
                return -1;
            memcpy(buf->data + buf->len, bytes, seg);
            buf->len += seg;
            if (nl) {
                buf->data[buf->len] = '\0';
                size_t len = buf->len;
                buf->len = 0;
                if (emit(buf->data, len, fn, ctx))
                    return 1;
            }
        }
        bytes += used;
        n -= used;
    }
    return 0;
}
