/* deferred.h — requests that wait for a FAUST compile (internal to the server).
 *
 * The engine's FAUST cache defers (faust.h): a request whose program is not
 * compiled yet starts the compile in the helper process and fails with
 * "compiling". Such a request is not answered then: its line is kept, the
 * server serves every other client, and once the compile is done the line is
 * run again from the start (its programs now come from the cache, or the
 * compile's error is its answer). A batch is checked from its start again
 * after each compile it needed, and applied only when every program is there,
 * so it stays all-or-nothing. Lines the client sends meanwhile are kept and
 * run after it, in order: each client's replies keep the order of its
 * requests. The tasks a request waited for are held until it is answered, so
 * their results cannot be evicted while it needs them. Server thread only. */
#ifndef KRACH_DEFERRED_H
#define KRACH_DEFERRED_H

#include <stdbool.h>
#include <stddef.h>

#include "krach/engine.h"
#include "krach/protocol.h"

/* Like kr_protocol_handle, but returns NULL (not an error) when the request
 * waits, or when it is kept because an earlier one of the peer waits. */
char *kr_deferred_handle(kr_engine *engine, kr_peer *peer, const char *line, size_t len);
/* True while a request of the peer waits for a compile. */
bool kr_deferred_waiting(const kr_peer *peer);
/* Once the peer's compile is done: the replies (one or more lines) of the
 * waiting request and of the lines kept after it, up to the next one that
 * waits; NULL while the compile runs or when there is nothing to say. */
char *kr_deferred_resume(kr_engine *engine, kr_peer *peer);
/* Forgets what the peer waits for (its connection is closing). */
void kr_deferred_free(kr_engine *engine, kr_peer *peer);

#endif
