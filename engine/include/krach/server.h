/* server.h — the sockets: a Unix socket always, a TCP listener on request.
 *
 * One thread (the server thread) multiplexes every client with poll(). Sockets
 * are non-blocking; replies are queued per client and written as the client
 * reads them, so a slow or stuck client never stalls the others. Between
 * events the loop calls kr_engine_collect. */
#ifndef KRACH_SERVER_H
#define KRACH_SERVER_H

#include <stddef.h>

#include "krach/engine.h"

typedef struct kr_server kr_server;

/* Binds the listeners (and makes the TCP token). Returns NULL with a message. */
kr_server *kr_server_open(kr_engine *engine, char *err, size_t errlen);
/* Serves until `shutdown` is requested or *stop becomes non-zero. */
void kr_server_run(kr_server *server, volatile int *stop);
/* Closes every connection, removes the socket file, frees the server. */
void kr_server_close(kr_server *server);

/* Reads the token file (refused unless a regular file of ours with no group or
 * other permissions), or creates it (mode 0600) with 32 random bytes in hex.
 * Returns 0, or -1 with a message. */
int kr_token_load_or_create(const char *path, char *token, size_t len, char *err,
                            size_t errlen);

#endif
