/* api_slow_clients.c — slow clients and a /health probe (see api_slow_clients.h). */
#include "api_slow_clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int server_port(const struct tk_server *s)
{
    const char *colon = strrchr(tk_server_url(s), ':');
    cr_assert(colon, "test bug: server url %s has no port", tk_server_url(s));
    return atoi(colon + 1);
}

int slow_connect(const struct tk_server *s, const char *src)
{
    struct sockaddr_in from = {.sin_family = AF_INET};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port(s))};
    cr_assert(inet_pton(AF_INET, src, &from.sin_addr) == 1, "test bug: bad address %s", src);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return fd;
}

bool slow_send(int fd, const char *text)
{
    ssize_t n = send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
    /* A full buffer (EAGAIN) is a server not reading: still open, as far as we know. */
    return n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK;
}

int slow_post_half(const struct tk_server *s, const char *body)
{
    const char *auth = tk_server_auth_header(s);
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "POST /tasks HTTP/1.1\r\nHost: drain\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s%s\r\n",
                     strlen(body), auth ? auth : "", auth ? "\r\n" : "");
    cr_assert(n > 0 && (size_t)n < sizeof head, "test bug: the request head is too long");
    char half[1024];
    size_t len = strlen(body) / 2;
    cr_assert(len < sizeof half, "test bug: the body is too long");
    memcpy(half, body, len);
    half[len] = '\0';
    int fd = slow_connect(s, "127.0.0.1");
    if (fd >= 0 && !(slow_send(fd, head) && slow_send(fd, half))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

bool slow_post_finish(int fd, const char *body, struct buf *got, long wait_ms)
{
    bool sent = slow_send(fd, body + strlen(body) / 2);
    long deadline = tk_now_ms() + wait_ms;
    while (sent && tk_now_ms() < deadline) { /* until the server closes */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - tk_now_ms())) <= 0)
            break;
        char chunk[2048];
        ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
            break;
        if (n > 0)
            cr_assert(buf_append(got, chunk, (size_t)n) == 0, "out of memory");
    }
    return sent;
}

bool slow_closed(int fd, long wait_ms)
{
    long deadline = tk_now_ms() + wait_ms;
    for (;;) {
        long left = deadline - tk_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left > 0 ? (int)left : 0);
        if (r <= 0)
            return false;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
    }
}

struct slow_pool {
    const struct tk_server *server;
    const char *src;
    size_t n, closed, refused;
    long ticks, life_min, life_max;
    long *opened; /* tk_now_ms() when each connection was opened */
    int fds[];
};

static int slow_open(const struct slow_pool *p)
{
    int fd = slow_connect(p->server, p->src);
    if (fd >= 0 && !slow_send(fd, "GET /health HTTP/1.1\r\nHost: slow\r\n")) {
        close(fd);
        return -1;
    }
    return fd;
}

struct slow_pool *slow_pool_new(const struct tk_server *s, const char *src, size_t n)
{
    struct slow_pool *p = calloc(1, sizeof *p + n * sizeof p->fds[0]);
    cr_assert(p, "out of memory");
    p->opened = calloc(n ? n : 1, sizeof *p->opened);
    cr_assert(p->opened, "out of memory");
    p->server = s;
    p->src = src;
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        p->fds[i] = slow_open(p);
        p->opened[i] = tk_now_ms();
    }
    return p;
}

void slow_pool_tick(struct slow_pool *p)
{
    char line[64];
    snprintf(line, sizeof line, "X-Slow-%ld: 1\r\n", p->ticks++);
    for (size_t i = 0; i < p->n; i++) {
        if (p->fds[i] >= 0 && slow_send(p->fds[i], line) && !slow_closed(p->fds[i], 0))
            continue;
        if (p->fds[i] >= 0) {
            close(p->fds[i]);
            long life = tk_now_ms() - p->opened[i];
            if (life < 1000) {
                p->refused++;
            } else {
                p->life_min = p->closed == 0 || life < p->life_min ? life : p->life_min;
                p->life_max = life > p->life_max ? life : p->life_max;
                p->closed++;
            }
        }
        p->fds[i] = slow_open(p);
        p->opened[i] = tk_now_ms();
    }
}

size_t slow_pool_closed(const struct slow_pool *p)
{
    return p->closed;
}

size_t slow_pool_refused(const struct slow_pool *p)
{
    return p->refused;
}

void slow_pool_lifetimes(const struct slow_pool *p, long *min_ms, long *max_ms)
{
    *min_ms = p->life_min;
    *max_ms = p->life_max;
}

void slow_pool_free(struct slow_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    free(p->opened);
    free(p);
}

long slow_health_ms(const struct tk_server *s, long timeout_ms)
{
    long start = tk_now_ms();
    int fd = slow_connect(s, "127.0.0.1");
    if (fd < 0)
        return -1;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
    char answer[4096];
    size_t len = 0;
    bool sent = slow_send(fd, req);
    while (sent && len < sizeof answer - 1) {
        long left = start + timeout_ms - tk_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t n = recv(fd, answer + len, sizeof answer - 1 - len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break; /* closed: the whole answer (Connection: close) is in */
        len += (size_t)n;
    }
    close(fd);
    answer[len] = '\0';
    bool ok = strncmp(answer, "HTTP/1.1 200", 12) == 0 && strstr(answer, "\r\n\r\n") != NULL;
    return ok ? tk_now_ms() - start : -1;
}
