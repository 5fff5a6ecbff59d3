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

/* A connected, non-blocking socket to host:port within the deadline, or -1. */
static int connect_to(const char *host, unsigned port, int64_t deadline_us)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, service, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline_us) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

int probe_http(const char *address, unsigned port, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    const char *host = address;
    if (!host || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    int fd = connect_to(host, port, deadline);
    if (fd < 0)
        return ERR_UNAVAILABLE;
    static const char request[] = "GET /health HTTP/1.1\r\nHost: localhost\r\n"
                                  "User-Agent: taskd-watchdog\r\nConnection: close\r\n\r\n";
    int rc = ERR_UNAVAILABLE;
    /* The request is far smaller than a socket buffer: one send takes it all or fails. */
    if (send(fd, request, sizeof request - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof request - 1))
        goto done;
    /* Only the status line matters: "HTTP/1.1 200 ". */
    char got[16];
    size_t have = 0;
    while (have < 13 && wait_fd(fd, POLLIN, deadline)) {
        ssize_t n = recv(fd, got + have, sizeof got - 1 - have, 0);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
            break;
        if (n > 0)
            have += (size_t)n;
    }
    got[have] = '\0';
    if (have >= 13 && strncmp(got, "HTTP/1.", 7) == 0 && strncmp(got + 8, " 200 ", 5) == 0)
        rc = 0;
done:
    close(fd);
    return rc;
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
