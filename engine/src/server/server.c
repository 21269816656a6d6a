/* server.c — Unix and TCP listeners, one poll() loop, per-client buffers. */
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
#include "krach/protocol.h"

typedef struct client {
    int fd;
    kr_peer peer;
    kr_linebuf in;
    char *out;            /* replies not yet written */
    size_t out_len, out_cap, out_sent;
    bool closing;         /* close once `out` is flushed */
} client;

struct kr_server {
    kr_engine *engine;
    int unix_fd, tcp_fd;
    bool unix_bound;
    client clients[KR_MAX_CLIENTS];
    int client_count;
};

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK | O_CLOEXEC);
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
    if (listen(fd, 16) < 0 || set_nonblocking(fd) < 0) {
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
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
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
    close(c->fd);
    kr_linebuf_free(&c->in);
    free(c->out);
    server->clients[index] = server->clients[--server->client_count];
    server->engine->clients = server->client_count;
    kr_logf(server->engine->log, KR_LOG_DEBUG, "client disconnected (%d left)",
            server->client_count);
}

static void accept_clients(kr_server *server, int listen_fd, bool needs_auth)
{
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return;
        if (server->client_count >= KR_MAX_CLIENTS) {
            static const char full[] =
                "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"limit\",\"message\":"
                "\"the engine serves at most 64 clients at once; close one and retry\"}}\n";
            (void)!send(fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        set_nonblocking(fd);
        client *c = &server->clients[server->client_count++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->peer.needs_auth = needs_auth;
        kr_linebuf_init(&c->in, KR_MAX_LINE);
        server->engine->clients = server->client_count;
        kr_logf(server->engine->log, KR_LOG_DEBUG, "%s client connected (%d now)",
                needs_auth ? "TCP" : "local", server->client_count);
    }
}

static void queue_reply(client *c, char *reply)
{
    if (!reply) {
        c->closing = true; /* out of memory: the honest thing is to hang up */
        return;
    }
    size_t n = strlen(reply);
    if (c->out_len - c->out_sent + n > KR_MAX_OUTBUF) {
        c->closing = true; /* the client does not read its replies */
        c->out_len = c->out_sent = 0;
        free(reply);
        return;
    }
    if (c->out_sent > 0 && c->out_sent == c->out_len)
        c->out_len = c->out_sent = 0;
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
        return 0;
    }
    if (len == 0)
        return 0; /* blank lines are allowed as keep-alives */
    queue_reply(c, kr_protocol_handle(ctx->server->engine, &c->peer, line, len));
    if (c->peer.close_after_reply)
        c->closing = true;
    return c->closing || ctx->server->engine->shutdown_requested;
}

/* Returns false when the client should be dropped now. */
static bool read_client(kr_server *server, client *c)
{
    char chunk[65536];
    for (int rounds = 0; rounds < 16; rounds++) { /* bounded: others get their turn */
        ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n == 0) {
            /* The client finished sending; answer what it asked, then close. */
            c->closing = true;
            return true;
        }
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        line_ctx ctx = {server, c};
        int rc = kr_linebuf_feed(&c->in, chunk, (size_t)n, on_line, &ctx);
        if (rc < 0)
            return false;
        if (rc > 0 || c->closing)
            return true;
    }
    return true;
}

static bool write_client(client *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_sent += (size_t)n;
    }
    return !c->closing;
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
            short events = c->closing ? 0 : POLLIN;
            if (c->out_sent < c->out_len)
                events |= POLLOUT;
            fds[n++] = (struct pollfd){.fd = c->fd, .events = events};
        }
        /* Wake at least every 10 ms to free retired graphs and log notes. */
        int ready = poll(fds, (nfds_t)n, 10);
        kr_engine_collect(engine);
        kr_scheduler_tick(engine);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            kr_logf(engine->log, KR_LOG_ERROR, "poll: %s", strerror(errno));
            break;
        }
        /* Clients first (indices are stable until a drop), then new ones. */
        for (int i = server->client_count - 1; i >= 0; i--) {
            client *c = &server->clients[i];
            short revents = fds[2 + i].revents;
            bool keep = true;
            if (revents & POLLIN)
                keep = read_client(server, c);
            else if (revents & (POLLHUP | POLLERR | POLLNVAL))
                keep = false;
            if (keep && c->out_sent < c->out_len)
                keep = write_client(c);
            else if (keep && c->closing)
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
