/* server.c — Unix and TCP listeners, one poll() loop, per-client buffers. */
#define _GNU_SOURCE /* accept4 with SOCK_CLOEXEC */
#include "krach/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "krach/limits.h"
#include "krach/linebuf.h"
#include "krach/lockout.h"
#include "krach/overload.h"
#include "krach/protocol.h"
#include "deferred.h"
#include "request.h"

/* Fairness: one client's turn reads at most this many lines and rounds of
 * 64 KiB, so a flood of tiny requests or bytes cannot hold the loop while
 * others (and the scheduler, run between turns) wait. */
#define KR_LINES_PER_TURN 64
#define KR_ROUNDS_PER_TURN 4
/* A TCP client must authenticate this soon after connecting, and at most this
 * many may be waiting to, so strangers cannot take every client slot. When
 * they are all taken, a newcomer evicts the one that has waited longest if it
 * has waited at least KR_AUTH_GRACE: a client that sends `auth` right after
 * connecting is always served before it could be evicted, so strangers that
 * keep the waiting slots full cannot keep a client with the token out. */
#define KR_AUTH_TIMEOUT   10.0
#define KR_MAX_UNAUTH     8
#define KR_AUTH_GRACE     1.0

typedef struct client {
    int fd;
    kr_peer peer;
    kr_peer_addr addr;    /* TCP: the peer's address (for the lockout) */
    double connected_at;
    kr_linebuf in;
    char *out;            /* replies not yet written */
    size_t out_len, out_cap, out_sent;
    size_t head_end;      /* end of the line being sent (in `out`), see queued_behind */
    double out_moved;     /* when `out` last drained a byte or started filling */
    bool closing;         /* close once `out` is flushed (KR_CLOSE_GRACE at most) */
    bool overflowed;      /* dropped for leaving KR_MAX_OUTBUF unread */
} client;

struct kr_server {
    kr_engine *engine;
    int unix_fd, tcp_fd;
    bool unix_bound;
    client clients[KR_MAX_CLIENTS];
    int client_count;
    kr_lockout lockout;   /* failed TCP authentications per address */
    kr_overload overload; /* xrun reports (overload.h) */
};

/* Non-blocking, and closed on exec: the FAUST compile helper is spawned from
 * this process and must not inherit the clients' sockets (F_SETFL ignores
 * O_CLOEXEC; only F_SETFD sets it). */
static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void make_parent_dir(const char *path)
{
    char dir[KR_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir)
        return;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    mkdir(dir, 0700);
}

static int open_unix(kr_server *server, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        snprintf(err, errlen, "socket path too long (%zu bytes, at most %zu): %s", strlen(path),
                 sizeof addr.sun_path - 1, path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    make_parent_dir(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket(): %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        if (errno != EADDRINUSE) {
            snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        /* A socket file exists: refuse if an engine answers, else it is stale. */
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
            close(fd);
            snprintf(err, errlen, "another engine is already listening on %s; stop it "
                     "(krach status / shutdown) or choose another --socket", path);
            return -1;
        }
        close(fd);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
    }
    chmod(path, 0600);
    if (listen(fd, SOMAXCONN) < 0 || set_nonblocking(fd) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    server->unix_fd = fd;
    server->unix_bound = true;
    return 0;
}

static int open_tcp(kr_server *server, const char *host, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve TCP host '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = found; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0 || set_nonblocking(fd) < 0) {
        snprintf(err, errlen, "cannot listen on TCP %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    server->tcp_fd = fd;
    return 0;
}

kr_server *kr_server_open(kr_engine *engine, char *err, size_t errlen)
{
    kr_server *server = calloc(1, sizeof *server);
    if (!server) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    server->engine = engine;
    server->unix_fd = server->tcp_fd = -1;
    kr_config *cfg = &engine->config;
    if (open_unix(server, cfg->socket_path, err, errlen))
        goto fail;
    if (cfg->tcp_host[0]) {
        if (!cfg->token[0] &&
            kr_token_load_or_create(cfg->token_file, cfg->token, sizeof cfg->token, err, errlen))
            goto fail;
        if (open_tcp(server, cfg->tcp_host, cfg->tcp_port, err, errlen))
            goto fail;
        kr_logf(engine->log, KR_LOG_INFO, "listening on TCP %s:%d (token required)",
                cfg->tcp_host, cfg->tcp_port);
    }
    kr_logf(engine->log, KR_LOG_INFO, "listening on %s", cfg->socket_path);
    return server;
fail:
    kr_server_close(server);
    return NULL;
}

static void drop_client(kr_server *server, int index)
{
    client *c = &server->clients[index];
    if (c->overflowed)
        kr_logf(server->engine->log, KR_LOG_WARN, "client dropped: it left more than %d MiB "
                "of replies unread behind the one it was reading (a client must read what "
                "it asks for)", KR_MAX_OUTBUF >> 20);
    close(c->fd);
    kr_deferred_free(server->engine, &c->peer);
    kr_linebuf_free(&c->in);
    free(c->out);
    server->clients[index] = server->clients[--server->client_count];
    server->engine->clients = server->client_count;
    kr_logf(server->engine->log, KR_LOG_DEBUG, "client disconnected (%d left)",
            server->client_count);
}

static kr_peer_addr peer_addr(const struct sockaddr_storage *ss, char *text, size_t len)
{
    kr_peer_addr a = {{0}};
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        memcpy(a.bytes, &in6->sin6_addr, 16);
        inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)len);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a.bytes[10] = a.bytes[11] = 0xff; /* ::ffff:a.b.c.d, as a dual-stack socket sees it */
        memcpy(a.bytes + 12, &in->sin_addr, 4);
        inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)len);
    } else {
        snprintf(text, len, "local");
    }
    return a;
}

/* Answers a connection we will not serve with one error line, then hangs up. */
static void refuse(int fd, const char *code, const char *message)
{
    char line[400];
    int n = snprintf(line, sizeof line,
                     "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
                     code, message);
    (void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static bool waiting_for_auth(const client *c)
{
    return c->peer.needs_auth && !c->peer.authenticated;
}

static int unauthenticated_count(const kr_server *server)
{
    int n = 0;
    for (int i = 0; i < server->client_count; i++)
        n += waiting_for_auth(&server->clients[i]);
    return n;
}

/* After an unauthenticated TCP client's request: a success forgets its
 * address's failures; anything else (a refusal, an over-long line, no auth
 * in time, an eviction: the connection is closed) counts one. */
static void note_auth(kr_server *server, client *c)
{
    if (c->peer.authenticated) {
        kr_lockout_success(&server->lockout, &c->addr);
        return;
    }
    double lock = kr_lockout_fail(&server->lockout, &c->addr, kr_monotonic_seconds());
    if (lock > 0.0)
        kr_logf(server->engine->log, KR_LOG_WARN, "repeated failed TCP authentications: "
                "that address is locked out for %.0f s", lock);
}

/* Makes room for a TCP newcomer: the client waiting longest for its auth, if
 * it has waited KR_AUTH_GRACE, is told why and dropped (a failure of its
 * address). Returns 0, or -1 when every waiting client is younger. */
static int evict_waiting(kr_server *server, double now)
{
    int oldest = -1;
    for (int i = 0; i < server->client_count; i++) {
        const client *c = &server->clients[i];
        if (waiting_for_auth(c) && now - c->connected_at >= KR_AUTH_GRACE &&
            (oldest < 0 || c->connected_at < server->clients[oldest].connected_at))
            oldest = i;
    }
    if (oldest < 0)
        return -1;
    client *c = &server->clients[oldest];
    static const char line[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"unauthorized\","
                               "\"message\":\"evicted: every slot for clients waiting to "
                               "authenticate was taken and this one had waited longest; send "
                               "auth right after connecting\"}}\n";
    if (c->out_sent == c->out_len)
        (void)!send(c->fd, line, sizeof line - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (!c->closing)
        note_auth(server, c);
    drop_client(server, oldest);
    return 0;
}

static void accept_clients(kr_server *server, int listen_fd, bool needs_auth)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
        if (fd < 0)
            return;
        char who[INET6_ADDRSTRLEN] = "local", message[200];
        kr_peer_addr addr = needs_auth ? peer_addr(&ss, who, sizeof who) : (kr_peer_addr){{0}};
        double now = kr_monotonic_seconds();
        double locked = needs_auth ? kr_lockout_remaining(&server->lockout, &addr, now) : 0.0;
        if (locked > 0.0) {
            /* Refused before reading anything: guessing costs the full wait. */
            snprintf(message, sizeof message, "too many failed authentications from %s; "
                     "this address may try again in %.1f s", who, locked);
            refuse(fd, "locked_out", message);
            continue;
        }
        double flood = needs_auth ? kr_lockout_global_remaining(&server->lockout, &addr, now)
                                  : 0.0;
        if (flood > 0.0) {
            snprintf(message, sizeof message, "too many failed authentications from all "
                     "addresses; an address that has not authenticated before may try again "
                     "in %.1f s", flood);
            refuse(fd, "locked_out", message);
            continue;
        }
        bool crowded = server->client_count >= KR_MAX_CLIENTS ||
                       unauthenticated_count(server) >= KR_MAX_UNAUTH;
        if (needs_auth && crowded)
            evict_waiting(server, now);
        if (server->client_count >= KR_MAX_CLIENTS) {
            snprintf(message, sizeof message, "the engine serves at most %d clients at once; "
                     "close one and retry", KR_MAX_CLIENTS);
            refuse(fd, "limit", message);
            continue;
        }
        if (needs_auth && unauthenticated_count(server) >= KR_MAX_UNAUTH) {
            snprintf(message, sizeof message, "%d TCP clients are already waiting to "
                     "authenticate; retry in a few seconds", KR_MAX_UNAUTH);
            refuse(fd, "limit", message);
            continue;
        }
        set_nonblocking(fd);
        client *c = &server->clients[server->client_count++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->peer.needs_auth = needs_auth;
        c->addr = addr;
        c->connected_at = now;
        kr_linebuf_init(&c->in, KR_MAX_LINE);
        server->engine->clients = server->client_count;
        kr_logf(server->engine->log, KR_LOG_DEBUG, "%s client connected from %s (%d now)",
                needs_auth ? "TCP" : "local", who, server->client_count);
    }
}

/* Bytes queued behind the line the client is reading now (the first one not
 * wholly sent). One reply of any size may be in flight: what the engine
 * accepted (a `state`, a scene) can always be read back; the backlog behind
 * it is what a client that does not read leaves to pile up. */
static size_t queued_behind(client *c)
{
    if (c->out_sent >= c->out_len)
        return 0;
    if (c->head_end <= c->out_sent) {
        const char *nl = memchr(c->out + c->out_sent, '\n', c->out_len - c->out_sent);
        c->head_end = nl ? (size_t)(nl - c->out) + 1 : c->out_len;
    }
    return c->out_len - c->head_end;
}

/* Moves the unread bytes to the front once they are no more than the read
 * ones (so the copying is paid for by the bytes already sent). */
static void compact_out(client *c)
{
    size_t unread = c->out_len - c->out_sent;
    if (c->out_sent == 0 || unread > c->out_sent)
        return;
    memmove(c->out, c->out + c->out_sent, unread);
    c->head_end = c->head_end > c->out_sent ? c->head_end - c->out_sent : 0;
    c->out_len = unread;
    c->out_sent = 0;
}

/* Before auth a TCP client gets a few short lines at most; after it (and on
 * the Unix socket) at most KR_MAX_OUTBUF may wait behind the line in flight. */
static bool over_outbuf(client *c, size_t n)
{
    size_t unread = c->out_len - c->out_sent;
    if (waiting_for_auth(c))
        return unread + n > KR_MAX_PREAUTH_OUTBUF;
    return unread > 0 && queued_behind(c) > KR_MAX_OUTBUF;
}

static void queue_reply(client *c, char *reply)
{
    if (!reply) {
        c->closing = true; /* out of memory: the honest thing is to hang up */
        return;
    }
    size_t n = strlen(reply);
    if (over_outbuf(c, n)) {
        c->closing = true; /* the client does not read its replies */
        c->overflowed = !waiting_for_auth(c);
        c->out_len = c->out_sent = c->head_end = 0;
        free(reply);
        return;
    }
    if (c->out_sent == c->out_len) {
        c->out_len = c->out_sent = c->head_end = 0;
        c->out_moved = kr_monotonic_seconds(); /* the grace counts from here */
    }
    compact_out(c);
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *out = realloc(c->out, cap);
        if (!out) {
            c->closing = true;
            free(reply);
            return;
        }
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, reply, n);
    c->out_len += n;
    free(reply);
}

typedef struct line_ctx {
    kr_server *server;
    client *c;
} line_ctx;

static int on_line(void *arg, const char *line, size_t len)
{
    line_ctx *ctx = arg;
    client *c = ctx->c;
    if (!line) {
        queue_reply(c, kr_protocol_line_too_long());
        if (!waiting_for_auth(c))
            return 0;
        /* Before auth, a megabyte that is not a token is a failed auth. */
        c->closing = true;
        note_auth(ctx->server, c);
        return 1;
    }
    if (len == 0)
        return 0; /* blank lines are allowed as keep-alives */
    bool was_pending = waiting_for_auth(c);
    /* NULL while a FAUST compile keeps the request (or an earlier one)
     * waiting: its reply comes from resume_waiting (deferred.h). */
    char *reply = kr_deferred_handle(ctx->server->engine, &c->peer, line, len);
    if (reply || !kr_deferred_waiting(&c->peer))
        queue_reply(c, reply);
    /* Before auth, anything but the right token ends the connection. */
    if (c->peer.close_after_reply || (was_pending && !c->peer.authenticated))
        c->closing = true;
    if (was_pending)
        note_auth(ctx->server, c);
    return c->closing || ctx->server->engine->shutdown_requested;
}

/* Returns false when the client should be dropped now. Bytes are peeked, and
 * only whole lines up to the turn's budget are taken off the socket, so what
 * is left waits in the kernel for the next turn (nothing is dropped). */
static bool read_client(kr_server *server, client *c)
{
    char chunk[65536];
    int lines = 0;
    for (int rounds = 0; rounds < KR_ROUNDS_PER_TURN && lines < KR_LINES_PER_TURN; rounds++) {
        ssize_t n = recv(c->fd, chunk, sizeof chunk, MSG_PEEK);
        if (n == 0) {
            /* The client finished sending; answer what it asked, then close. */
            c->closing = true;
            return true;
        }
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        size_t take = (size_t)n;
        for (const char *p = chunk, *nl; (nl = memchr(p, '\n', (size_t)(chunk + n - p)));) {
            p = nl + 1;
            if (++lines == KR_LINES_PER_TURN) {
                take = (size_t)(p - chunk);
                break;
            }
        }
        n = recv(c->fd, chunk, take, 0); /* the same bytes: this thread is the only reader */
        if (n <= 0)
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        line_ctx ctx = {server, c};
        int rc = kr_linebuf_feed(&c->in, chunk, (size_t)n, on_line, &ctx);
        if (rc < 0)
            return false;
        if (rc > 0 || c->closing || kr_deferred_waiting(&c->peer))
            return true;
    }
    return true;
}

/* TCP clients that have not authenticated in time are told so and dropped. */
static void expire_unauthenticated(kr_server *server, double now)
{
    for (int i = 0; i < server->client_count; i++) {
        client *c = &server->clients[i];
        if (!c->peer.needs_auth || c->peer.authenticated || c->closing ||
            now - c->connected_at < KR_AUTH_TIMEOUT)
            continue;
        char *reply = strdup("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"unauthorized\","
                             "\"message\":\"no auth within 10 s of connecting; the connection "
                             "is closed\"}}\n");
        queue_reply(c, reply);
        c->closing = true;
        note_auth(server, c); /* holding a slot without a token is a failed try */
    }
}

static bool write_client(client *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_sent += (size_t)n;
        c->out_moved = kr_monotonic_seconds();
    }
    return !c->closing;
}

/* A closing client (it sent EOF, failed auth, asked to be closed…) whose
 * output has not moved for KR_CLOSE_GRACE is closed with it unread: a client
 * that never reads cannot keep a slot and its buffer by hanging up half-way. */
static bool closing_stalled(kr_server *server, const client *c, double now)
{
    if (!c->closing || c->out_sent >= c->out_len || now - c->out_moved < KR_CLOSE_GRACE)
        return false;
    kr_logf(server->engine->log, KR_LOG_INFO, "client closed with %zu bytes of replies unread "
            "(it stopped reading for %.0f s while hanging up)", c->out_len - c->out_sent,
            KR_CLOSE_GRACE);
    return true;
}

/* Requests whose FAUST compile is done get their replies (deferred.h). */
static void resume_waiting(kr_server *server)
{
    for (int i = 0; i < server->client_count; i++) {
        client *c = &server->clients[i];
        if (!kr_deferred_waiting(&c->peer))
            continue;
        char *replies = kr_deferred_resume(server->engine, &c->peer);
        if (replies)
            queue_reply(c, replies);
        if (c->peer.close_after_reply)
            c->closing = true;
    }
}

/* Event lines the engine queued go to every client that subscribed. */
static void push_events(kr_server *server)
{
    for (char *line; (line = kr_engine_take_pushed(server->engine));) {
        for (int i = 0; i < server->client_count; i++) {
            client *c = &server->clients[i];
            if (c->peer.subscribed && !c->closing)
                queue_reply(c, strdup(line));
        }
        free(line);
    }
}

/* Overload and recovery: logged, and pushed like the engine's events. */
static void watch_overload(kr_server *server)
{
    kr_engine *e = server->engine;
    if (kr_engine_is_offline(e))
        return; /* no deadlines offline */
    char *line = kr_overload_check(&server->overload, atomic_load(&e->rt.xruns),
                                   (double)atomic_load(&e->rt.cpu_load_permille) / 1000.0,
                                   e->backend.kind == KR_BACKEND_PORTAUDIO,
                                   kr_monotonic_seconds());
    if (!line)
        return;
    kr_logf(e->log, KR_LOG_WARN, "%.*s", (int)strlen(line) - 1, line);
    for (int i = 0; i < server->client_count; i++) {
        client *c = &server->clients[i];
        if (c->peer.subscribed && !c->closing)
            queue_reply(c, strdup(line));
    }
    free(line);
}

void kr_server_run(kr_server *server, volatile int *stop)
{
    kr_engine *engine = server->engine;
    struct pollfd fds[KR_MAX_CLIENTS + 2];
    while (!*stop && !engine->shutdown_requested) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = server->unix_fd, .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = server->tcp_fd, .events = POLLIN};
        for (int i = 0; i < server->client_count; i++) {
            client *c = &server->clients[i];
            /* A waiting client's next lines stay in the kernel until its reply. */
            short events = c->closing || kr_deferred_waiting(&c->peer) ? 0 : POLLIN;
            if (c->out_sent < c->out_len)
                events |= POLLOUT;
            fds[n++] = (struct pollfd){.fd = c->fd, .events = events};
        }
        /* Wake at least every 10 ms to free retired graphs and log notes. */
        int ready = poll(fds, (nfds_t)n, 10);
        int poll_errno = errno; /* before the calls below can change it */
        kr_engine_collect(engine);
        kr_scheduler_tick(engine);
        kr_faust_watch_tick(engine);
        resume_waiting(server);
        push_events(server);
        watch_overload(server);
        if (server->tcp_fd >= 0)
            expire_unauthenticated(server, kr_monotonic_seconds());
        if (ready < 0) {
            /* A signal, or a moment without kernel memory: try again; only a
             * broken poll set (a bug) ends the loop. */
            if (poll_errno == EINTR || poll_errno == EAGAIN || poll_errno == ENOMEM)
                continue;
            kr_logf(engine->log, KR_LOG_ERROR, "poll: %s", strerror(poll_errno));
            break;
        }
        /* Clients first (indices are stable until a drop), then new ones. */
        for (int i = server->client_count - 1; i >= 0; i--) {
            client *c = &server->clients[i];
            short revents = fds[2 + i].revents;
            bool keep = true;
            if (revents & POLLIN) {
                keep = read_client(server, c);
                kr_scheduler_tick(engine); /* patterns stay queued ahead whatever clients send */
            }
            else if (revents & (POLLHUP | POLLERR | POLLNVAL))
                keep = false;
            if (keep && c->out_sent < c->out_len)
                keep = write_client(c) && !closing_stalled(server, c, kr_monotonic_seconds());
            else if (keep && c->closing && !kr_deferred_waiting(&c->peer))
                keep = false;
            if (!keep)
                drop_client(server, i);
        }
        if (fds[0].revents & POLLIN)
            accept_clients(server, server->unix_fd, false);
        if (server->tcp_fd >= 0 && (fds[1].revents & POLLIN))
            accept_clients(server, server->tcp_fd, true);
    }
    /* Say goodbye: flush what is queued (e.g. the reply to shutdown). */
    for (int i = 0; i < server->client_count; i++) {
        client *c = &server->clients[i];
        for (int tries = 0; tries < 100 && c->out_sent < c->out_len; tries++) {
            write_client(c);
            if (c->out_sent < c->out_len) {
                struct pollfd p = {.fd = c->fd, .events = POLLOUT};
                poll(&p, 1, 10);
            }
        }
    }
}

void kr_server_close(kr_server *server)
{
    if (!server)
        return;
    while (server->client_count > 0)
        drop_client(server, server->client_count - 1);
    if (server->unix_fd >= 0)
        close(server->unix_fd);
    if (server->unix_bound)
        unlink(server->engine->config.socket_path);
    if (server->tcp_fd >= 0)
        close(server->tcp_fd);
    free(server);
}
