/* error.h — the error every fallible server-thread operation reports.
 *
 * `code` is one of the protocol's error codes (docs/protocol.md), so an error
 * can travel to the client unchanged; `message` names the problem and says
 * the fix. Messages quote what the client sent, cut to a length (%.60s) or
 * to the buffer, which can split a UTF-8 character; kr_error_set repairs the
 * text so that it is always valid UTF-8 (JSON needs it). */
#ifndef KRACH_ERROR_H
#define KRACH_ERROR_H

typedef struct kr_error {
    const char *code;
    char message[512];
} kr_error;

void kr_error_set(kr_error *error, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes `text` valid UTF-8 in place: every byte that does not belong to a
 * well-formed sequence (a cut character, stray bytes) becomes '?'. */
void kr_utf8_repair(char *text);

#endif
