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
