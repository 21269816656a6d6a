/* protocol.h — one request line in, one reply line out.
 *
 * The protocol layer knows JSON (through jansson) and the command table; it
 * knows nothing about sockets. Every malformed input gets an error reply whose
 * code is listed in docs/protocol.md and whose message names the problem and
 * the fix. */
#ifndef KRACH_PROTOCOL_H
#define KRACH_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include "krach/engine.h"

/* What the protocol needs to know about the connection a line came from. */
typedef struct kr_peer {
    bool needs_auth;     /* TCP: must send a valid `auth` first */
    bool authenticated;
    bool close_after_reply; /* set by the handler: drop the connection */
    bool subscribed;     /* wants pushed event lines (`subscribe`) */
    struct kr_deferred *deferred; /* a request waiting for a FAUST compile, or NULL
                                   * (src/server/deferred.h) */
} kr_peer;

/* Handles one request line (without its newline). Returns the reply as a
 * NUL-terminated JSON line *with* its trailing newline, allocated with malloc;
 * the caller frees it. Never returns NULL except when out of memory. */
char *kr_protocol_handle(kr_engine *engine, kr_peer *peer, const char *line, size_t len);

/* The reply for a line that exceeded KR_MAX_LINE (the line itself is gone). */
char *kr_protocol_line_too_long(void);

/* Constant-time comparison of a presented token with the expected one. */
bool kr_token_equal(const char *expected, const char *presented);

#endif
