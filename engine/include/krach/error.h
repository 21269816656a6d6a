/* error.h — the error every fallible server-thread operation reports.
 *
 * `code` is one of the protocol's error codes (docs/protocol.md), so an error
 * can travel to the client unchanged; `message` names the problem and says
 * the fix. */
#ifndef KRACH_ERROR_H
#define KRACH_ERROR_H

typedef struct kr_error {
    const char *code;
    char message[512];
} kr_error;

void kr_error_set(kr_error *error, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
