/* probe.c — the liveness checks (see probe.h). */
#include "probe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "timeutil.h"

/* Waits for fd to be ready for events until the deadline (clock_mono_us). */
static bool wait_fd(int fd, short events, int64_t deadline_us)
{
    for (;;) {
        int64_t left_ms = (deadline_us - clock_mono_us()) / 1000;
        if (left_ms <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left_ms);
        if (n > 0)
            return (p.revents & (events | POLLHUP | POLLERR)) != 0;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

/* A connected, non-blocking socket to host:port within the deadline, or -1 with why. */
static int connect_to(const char *host, unsigned port, int64_t deadline_us, int timeout_ms,
                      char *why, size_t why_len)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, service, &hints, &ai) != 0) {
        snprintf(why, why_len, "'%s' is not a numeric address", host);
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        snprintf(why, why_len, "cannot make a socket: %s", strerror(errno));
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = errno;
        if (err == EINPROGRESS) { /* the usual case: wait for the handshake, then its result */
            socklen_t len = sizeof err;
            if (!wait_fd(fd, POLLOUT, deadline_us))
                err = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
        if (err == ETIMEDOUT)
            snprintf(why, why_len, "no connection within %d ms", timeout_ms);
        else if (err != 0)
            snprintf(why, why_len, "cannot connect: %s", strerror(err));
        if (err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

bool probe_http_path_ok(const char *path)
{
    size_t n = path ? strnlen(path, PROBE_PATH_MAX + 1) : 0;
    if (n == 0 || n > PROBE_PATH_MAX || path[0] != '/')
        return false;
    for (size_t i = 0; i < n; i++)
        if (path[i] <= ' ' || path[i] > '~')
            return false;
    return true;
}

/* The status code of a status line "HTTP/1.x DDD " (RFC 9112 section 4: the space after the
 * code is there even when the reason phrase is empty), or -1. */
static int status_of(const char *line, size_t len)
{
    if (len < 13 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[12] != ' ')
        return -1;
    int code = 0;
    for (size_t i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9')
            return -1;
        code = code * 10 + (line[i] - '0');
    }
    return code >= 100 ? code : -1;
}

int probe_http_get(const char *address, unsigned port, const char *path, const char *agent,
                   int timeout_ms, struct probe_answer *out)
{
    *out = (struct probe_answer){0};
    if (!probe_http_path_ok(path)) {
        snprintf(out->why, sizeof out->why,
                 "the path must be /... of printable ASCII, at most %d bytes", PROBE_PATH_MAX);
        return ERR_INVALID;
    }
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    const char *host = address;
    if (!host || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    int fd = connect_to(host, port, deadline, timeout_ms, out->why, sizeof out->why);
    if (fd < 0)
        return ERR_UNAVAILABLE;
    int rc = ERR_UNAVAILABLE;
    char request[PROBE_PATH_MAX + 192];
    int len = snprintf(request, sizeof request,
                       "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: %.64s\r\n"
                       "Connection: close\r\n\r\n",
                       path, agent ? agent : "taskd-probe");
    /* The request is far smaller than a socket buffer: one send takes it all or fails. */
    if (len < 0 || (size_t)len >= sizeof request ||
        send(fd, request, (size_t)len, MSG_NOSIGNAL) != (ssize_t)len) {
        snprintf(out->why, sizeof out->why, "cannot send the request: %s", strerror(errno));
        goto done;
    }
    /* Only the status line matters: "HTTP/1.1 200 ". */
    char got[16];
    size_t have = 0;
    bool closed = false, timed_out = false;
    while (have < 13) {
        if (!wait_fd(fd, POLLIN, deadline)) {
            timed_out = true;
            break;
        }
        ssize_t n = recv(fd, got + have, sizeof got - 1 - have, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            closed = true;
            break;
        }
        if (n > 0)
            have += (size_t)n;
    }
    got[have] = '\0';
    if (have >= 13 && (out->status = status_of(got, have)) > 0)
        rc = 0;
    else if (have == 0 && timed_out)
        snprintf(out->why, sizeof out->why, "no answer within %d ms", timeout_ms);
    else if (have == 0 && closed)
        snprintf(out->why, sizeof out->why, "the connection closed without an answer");
    else
        snprintf(out->why, sizeof out->why, "the answer is not HTTP/1.x");
    if (rc != 0)
        out->status = 0;
done:
    close(fd);
    return rc;
}

int probe_http(const char *address, unsigned port, int timeout_ms)
{
    struct probe_answer a;
    int rc = probe_http_get(address, port, "/health", "taskd-watchdog", timeout_ms, &a);
    return rc == 0 && a.status == 200 ? 0 : ERR_UNAVAILABLE;
}

void heartbeat_beat(struct heartbeat *h)
{
    atomic_fetch_add(&h->beats, 1);
}

int heartbeat_check(struct heartbeat *h)
{
    unsigned long long now = atomic_load(&h->beats);
    bool moved = now != h->seen;
    h->seen = now;
    return moved ? 0 : ERR_UNAVAILABLE;
}
