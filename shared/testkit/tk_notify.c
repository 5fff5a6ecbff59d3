/* tk_notify.c — a fake systemd notify socket (see tk_notify.h). */
#include "tk_notify.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testkit.h"

struct tk_notify {
    int fd;
    bool abstract;
    char dir[64];      /* the temp directory of a path socket */
    char address[108]; /* as NOTIFY_SOCKET spells it */
    char env[128];
    char message[4097];
};

struct tk_notify *tk_notify_new(bool abstract)
{
    static int count;
    struct tk_notify *n = calloc(1, sizeof *n);
    cr_assert(n, "out of memory");
    n->abstract = abstract;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    if (abstract) {
        snprintf(n->address, sizeof n->address, "@taskd-test-%ld-%d", (long)getpid(), ++count);
        /* The abstract namespace: a NUL first byte, then the name (no terminating NUL). */
        size_t name_len = strlen(n->address) - 1;
        memcpy(sa.sun_path + 1, n->address + 1, name_len);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_len);
    } else {
        snprintf(n->dir, sizeof n->dir, "/tmp/taskd-notify-XXXXXX");
        cr_assert(mkdtemp(n->dir), "mkdtemp: %s", strerror(errno));
        snprintf(n->address, sizeof n->address, "%s/notify", n->dir);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", n->address);
        len = (socklen_t)sizeof sa;
    }
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(n->fd >= 0, "socket: %s", strerror(errno));
    cr_assert(bind(n->fd, (struct sockaddr *)&sa, len) == 0, "bind %s: %s", n->address,
              strerror(errno));
    snprintf(n->env, sizeof n->env, "NOTIFY_SOCKET=%s", n->address);
    return n;
}

const char *tk_notify_address(const struct tk_notify *n)
{
    return n->address;
}

const char *tk_notify_env(const struct tk_notify *n)
{
    return n->env;
}

const char *tk_notify_next(struct tk_notify *n, long timeout_ms)
{
    long deadline = tk_now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - tk_now_ms();
        struct pollfd p = {.fd = n->fd, .events = POLLIN};
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        ssize_t got = recv(n->fd, n->message, sizeof n->message - 1, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got < 0)
            return NULL;
        n->message[got] = '\0';
        return n->message;
    }
}

bool tk_notify_has(const char *message, const char *line)
{
    size_t len = strlen(line);
    bool prefix = len > 0 && line[len - 1] == '=';
    for (const char *p = message; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (prefix ? n >= len && strncmp(p, line, len) == 0 : n == len && strncmp(p, line, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

const char *tk_notify_value(const char *message, const char *name, char *buf, unsigned buf_len)
{
    size_t len = strlen(name);
    for (const char *p = message; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > len && strncmp(p, name, len) == 0 && p[len] == '=') {
            snprintf(buf, buf_len, "%.*s", (int)(n - len - 1), p + len + 1);
            return buf;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

const char *tk_notify_wait(struct tk_notify *n, const char *line, long timeout_ms, int *skipped)
{
    long deadline = tk_now_ms() + timeout_ms;
    int before = 0;
    for (;;) {
        long left = deadline - tk_now_ms();
        const char *m = tk_notify_next(n, left > 0 ? left : 0);
        if (!m || tk_notify_has(m, line)) {
            if (skipped)
                *skipped = before;
            return m;
        }
        before++;
    }
}

void tk_notify_free(struct tk_notify *n)
{
    if (!n)
        return;
    close(n->fd);
    if (!n->abstract) {
        unlink(n->address);
        rmdir(n->dir);
    }
    free(n);
}
