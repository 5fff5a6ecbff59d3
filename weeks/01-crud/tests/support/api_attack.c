/* api_attack.c — the attack suite's tally, baseline and raw exchange (see api_attack.h).
 *
 * The exchange writes and reads at the same time (poll on both directions): a server that
 * refuses a large request answers before it has read it all and then closes, and a client that
 * only reads after writing everything would meet the reset instead of the answer. */
#include "api_attack.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "tk_raw.h"

#define BASELINE_RUNS 5

void api_attack_begin(struct api_attack_tally *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->name = name;
}

void api_attack_result(struct api_attack_tally *t, bool refused, const char *fmt, ...)
{
    t->tried++;
    if (refused) {
        t->refused++;
        return;
    }
    t->got_through++;
    if (t->notes_len + 8 >= sizeof t->notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->notes + t->notes_len, sizeof t->notes - t->notes_len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    t->notes_len += (size_t)n;
    if (t->notes_len >= sizeof t->notes - 1)
        t->notes_len = sizeof t->notes - 2;
    t->notes[t->notes_len++] = '\n';
    t->notes[t->notes_len] = '\0';
}

void api_attack_took(struct api_attack_tally *t, long ms)
{
    if (ms > t->slowest_ms)
        t->slowest_ms = ms;
}

void api_attack_end(struct api_attack_tally *t)
{
    cr_assert(t->got_through == 0, "%s: %ld of %ld attacks got through:\n%s", t->name,
              t->got_through, t->tried, t->notes);
}

void api_attack_figure(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* stderr is unbuffered: the line cannot interleave with another process's output */
    fprintf(stderr, "figure: %s\n", line);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

long api_attack_baseline_ms(struct tk_server *s)
{
    static const char health[] = "GET /health HTTP/1.1\r\nHost: attack\r\n\r\n";
    long runs[BASELINE_RUNS];
    for (int i = 0; i < BASELINE_RUNS; i++) {
        long start = tk_now_ms();
        int fd = tk_raw_connect(s);
        tk_raw_send(fd, health, sizeof health - 1);
        struct tk_response *r = tk_raw_read(fd, "GET /health (the baseline)", 10000);
        close(fd);
        tk_expect_status(r, 200);
        tk_response_free(r);
        runs[i] = tk_now_ms() - start;
    }
    qsort(runs, BASELINE_RUNS, sizeof runs[0], cmp_long);
    return runs[BASELINE_RUNS / 2] > 0 ? runs[BASELINE_RUNS / 2] : 1;
}

long api_attack_bound_ms(long baseline_ms)
{
    /* 50 baselines and 2 s on top, for a loaded machine; capped below the 15 s idle timeout
     * (HTTP_TIMEOUT_SECONDS' default), which is what a request that hangs runs into. */
    long bound = 2000 + 50 * baseline_ms;
    return bound < 10000 ? bound : 10000;
}

/* Walks the answer response by response, as a client or proxy reads it: each one's head, then
 * Content-Length bytes of body. Counts the responses, keeps the first one's status, and how
 * many bytes follow the last response that are not one (trailing). An answer whose length is
 * not given (chunked, or none) ends the walk: the attacks' refusals always carry one. */
static void count_responses(struct api_attack_answer *a)
{
    const char *p = a->bytes, *end = a->bytes + a->len;
    while (p < end) {
        long status = 0;
        const char *head_end = strstr(p, "\r\n\r\n");
        if (strncmp(p, "HTTP/1.", 7) != 0 || sscanf(p, "HTTP/1.%*d %ld", &status) != 1 || !head_end)
            break;
        if (a->responses++ == 0)
            a->status = status;
        const char *cl = strcasestr(p, "\r\nContent-Length:");
        if (!cl || cl > head_end) {
            p = end;
            break;
        }
        unsigned long long body = strtoull(cl + 17, NULL, 10);
        const char *next = head_end + 4;
        p = body > (unsigned long long)(end - next) ? end : next + body;
    }
    a->trailing = (size_t)(end - p);
}

/* True once in holds one whole response (its head and Content-Length bytes of body). */
static bool whole_response(const struct buf *in)
{
    const char *head_end = in->data ? strstr(in->data, "\r\n\r\n") : NULL;
    if (!head_end)
        return false;
    const char *cl = strcasestr(in->data, "\r\nContent-Length:");
    size_t body = cl && cl < head_end ? strtoul(cl + 17, NULL, 10) : 0;
    return (size_t)(in->data + in->len - (head_end + 4)) >= body;
}

void api_attack_exchange(struct tk_server *s, const char *request, size_t len, long bound_ms,
                         bool until_close, struct api_attack_answer *a)
{
    memset(a, 0, sizeof *a);
    struct buf in = BUF_INIT;
    long start = tk_now_ms(), deadline = start + bound_ms, first = 0;
    int fd = tk_raw_connect(s);
    cr_assert(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "fcntl: %s",
              strerror(errno));
    size_t sent = 0;
    bool sending = len > 0;
    for (;;) {
        long left = deadline - tk_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (sending ? POLLOUT : 0))};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char chunk[16384];
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                a->closed = true;
                break;
            }
            cr_assert(buf_append(&in, chunk, (size_t)n) == 0, "out of memory");
            if (!first)
                first = tk_now_ms();
            if (!until_close && whole_response(&in))
                break;
        } else if (sending && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                sending = false; /* the server stopped reading: its answer may follow */
                continue;
            }
            sent += (size_t)n;
            sending = sent < len;
        }
    }
    a->elapsed_ms = (until_close && a->closed) || !first ? tk_now_ms() - start : first - start;
    close(fd);
    cr_assert(buf_append(&in, "", 0) == 0, "out of memory"); /* NUL-terminated, even when empty */
    a->bytes = buf_steal(&in, &a->len);
    count_responses(a);
}

void api_attack_answer_free(struct api_attack_answer *a)
{
    free(a->bytes);
    a->bytes = NULL;
}
