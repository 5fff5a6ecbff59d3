/* tk_raw.c — the test kit's plain TCP client (see tk_raw.h).
 *
 * Every wait is bounded (a send timeout, a read deadline), so a server that stops reading or
 * never answers fails the test with a message instead of hanging the suite. */
#include "tk_raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

int tk_raw_connect(const struct tk_server *s)
{
    const char *url = tk_server_url(s);
    /* Bytes on a bare socket are HTTP only without TLS: through week 9's HTTPS front, the
     * tests that need them are not applicable (the stages' own suites run them). */
    if (strncmp(url, "https://", 8) == 0)
        tk_need_local("speaks HTTP on a raw socket, which HTTPS does not allow");
    const char *colon = strrchr(url, ':');
    cr_assert(colon, "test bug: server url %s has no port", url);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    cr_assert(connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0, "connect to %s: %s", url,
              strerror(errno));
    /* a server that stops reading must not hang the test in send() */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

bool tk_raw_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == EAGAIN))
            return false;
        cr_assert(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool tk_raw_send_until_answer(int fd, const void *data, size_t len, int timeout_ms)
{
    const char *p = data;
    long deadline = tk_now_ms() + timeout_ms;
    while (len > 0) {
        long left = deadline - tk_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLOUT};
        int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n >= 0, "poll: %s", strerror(errno));
        /* An answer or a close before the body is all sent: stop pushing, the caller reads it. */
        if (n == 0 || (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            return false;
        size_t piece = len < 65536 ? len : 65536;
        ssize_t sent = send(fd, p, piece, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (sent < 0 && (errno == EPIPE || errno == ECONNRESET))
            return false;
        cr_assert(sent > 0, "send: %s", strerror(errno));
        p += sent;
        len -= (size_t)sent;
    }
    return true;
}

struct tk_response *tk_raw_request(const struct tk_server *s, const char *method, const char *path,
                                   const char *const *headers, const char *body, size_t body_len)
{
    struct buf head = BUF_INIT;
    char line[4400];
    int n = snprintf(line, sizeof line, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n",
                     method, path);
    cr_assert(n > 0 && (size_t)n < sizeof line, "test bug: request line too long");
    cr_assert(buf_append(&head, line, (size_t)n) == 0, "out of memory");
    bool has_auth = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        if (!colon || colon[1 + strspn(colon + 1, " ")] == '\0')
            continue; /* "Name:" — tk_request's way of keeping libcurl from adding one */
        has_auth = has_auth || strncasecmp(headers[i], "Authorization:", 14) == 0;
        n = snprintf(line, sizeof line, "%s\r\n", headers[i]);
        cr_assert(n > 0 && (size_t)n < sizeof line, "test bug: header too long");
        cr_assert(buf_append(&head, line, (size_t)n) == 0, "out of memory");
    }
    const char *auth = tk_server_auth_header(s);
    n = snprintf(line, sizeof line, "%s%sContent-Length: %zu\r\n\r\n",
                 auth && !has_auth ? auth : "", auth && !has_auth ? "\r\n" : "", body_len);
    cr_assert(n > 0 && (size_t)n < sizeof line, "test bug: header too long");
    cr_assert(buf_append(&head, line, (size_t)n) == 0, "out of memory");

    char what[256];
    snprintf(what, sizeof what, "%s %.200s", method, path);
    int fd = tk_raw_connect(s);
    /* The head is small and goes whole; the body may meet an early answer and a close. */
    if (tk_raw_send_until_answer(fd, head.data, head.len, 10000) && body_len > 0)
        tk_raw_send_until_answer(fd, body, body_len, 10000);
    buf_free(&head);
    struct tk_response *r = tk_raw_read(fd, what, 10000);
    close(fd);
    return r;
}

/* Reads more bytes into b; returns false on end of stream (or reset) or timeout. */
static bool read_more(int fd, struct buf *b, long deadline)
{
    long left = deadline - tk_now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
        return false;
    char chunk[16384];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0)
        return false;
    cr_assert(buf_append(b, chunk, (size_t)n) == 0, "out of memory");
    return true;
}

/* Decodes a chunked body starting at in; returns true when the last chunk has arrived. */
static bool dechunk(const char *in, size_t len, struct buf *out)
{
    size_t i = 0;
    buf_reset(out);
    for (;;) {
        const char *eol = memmem(in + i, len - i, "\r\n", 2);
        if (!eol)
            return false;
        size_t size = strtoul(in + i, NULL, 16);
        i = (size_t)(eol - in) + 2;
        if (size == 0)
            return memmem(in + i - 2, len - (i - 2), "\r\n\r\n", 4) != NULL;
        if (len - i < size + 2)
            return false;
        buf_append(out, in + i, size);
        i += size + 2;
    }
}

struct tk_response *tk_raw_read(int fd, const char *what, int timeout_ms)
{
    struct buf in = BUF_INIT, body = BUF_INIT;
    long deadline = tk_now_ms() + timeout_ms;
    const char *end = NULL;
    while (!(in.data && (end = memmem(in.data, in.len, "\r\n\r\n", 4))))
        cr_assert(read_more(fd, &in, deadline),
                  "%s: the server closed the connection or went silent without an answer "
                  "(got %zu bytes: %.*s)",
                  what, in.len, (int)(in.len < 200 ? in.len : 200), in.data ? in.data : "");
    size_t head_len = (size_t)(end - in.data) + 4;

    struct tk_response *r = calloc(1, sizeof *r);
    cr_assert(r, "out of memory");
    snprintf(r->what, sizeof r->what, "%s", what);
    r->headers = strndup(in.data, head_len);
    cr_assert(r->headers, "out of memory");
    cr_assert(sscanf(in.data, "HTTP/1.%*d %ld", &r->status) == 1, "%s: not an HTTP response: %.80s",
              what, in.data);

    char value[64];
    bool chunked =
        tk_header(r, "Transfer-Encoding", value, sizeof value) && strcasecmp(value, "chunked") == 0;
    const char *cl = tk_header(r, "Content-Length", value, sizeof value);
    if (chunked) {
        while (!dechunk(in.data + head_len, in.len - head_len, &body))
            cr_assert(read_more(fd, &in, deadline), "%s: the chunked body was cut short", what);
    } else if (cl) {
        size_t want = strtoul(cl, NULL, 10);
        while (in.len - head_len < want)
            cr_assert(read_more(fd, &in, deadline), "%s: the body was cut short", what);
        buf_append(&body, in.data + head_len, want);
    } else if (r->status >= 200 && r->status != 204 && r->status != 304) {
        while (read_more(fd, &in, deadline))
            ; /* the body ends when the server closes */
        buf_append(&body, in.data + head_len, in.len - head_len);
    }
    buf_append(&body, "", 0);
    r->body = buf_steal(&body, &r->body_len);
    char ct[128];
    if (tk_header(r, "Content-Type", ct, sizeof ct) &&
        (strncasecmp(ct, "application/json", 16) == 0 ||
         strncasecmp(ct, "application/problem+json", 24) == 0))
        r->json = cJSON_ParseWithLength(r->body, r->body_len);
    buf_free(&in);
    return r;
}
