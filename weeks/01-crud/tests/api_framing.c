/* api_framing.c — black-box tests of how the server reads the request itself: body framing
 * (Content-Length, Transfer-Encoding), the size of the request line, and the raw path it routes
 * on (API.md "Settled details: Bodies and errors" and "Paths").
 *
 * A server that disagrees with a proxy about where a body ends reads the rest of it as a second
 * request (request smuggling), so every ambiguous framing must be refused with 400 and the
 * connection closed: each test sends a bad request and a second, pipelined GET /health in the
 * same write, and expects the 400 and then the close, never an answer to the GET. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_helpers.h"
#include "tk_raw.h"
#include "testkit.h"

#define PIPELINED "GET /health HTTP/1.1\r\nHost: test\r\n\r\n"

/* Reads everything the server sends on fd until it closes, within 5 s; fails when it does not
 * close. Returns the bytes, NUL-terminated. */
static char *read_until_close(int fd, const char *what)
{
    size_t cap = 65536, len = 0;
    char *all = malloc(cap + 1);
    cr_assert(all, "out of memory");
    long deadline = tk_now_ms() + 5000;
    for (;;) {
        long left = deadline - tk_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert(left > 0 && poll(&p, 1, (int)left) > 0,
                  "%s: the connection was still open 5 s after the request (got %zu bytes: "
                  "%.200s)",
                  what, len, len ? all : "");
        ssize_t n = recv(fd, all + len, cap - len, 0);
        if (n <= 0)
            break; /* closed (or reset after the answer) */
        len += (size_t)n;
        cr_assert(len < cap, "%s: more than %zu bytes in answer", what, cap);
    }
    all[len] = '\0';
    return all;
}

/* Sends the head of a POST /tasks with `framing` (header lines) and `body`, then a pipelined
 * GET /health; expects a 400 (or `or_status`, when not 0) with Connection: close, then the
 * close. */
static void expect_framing_refused_or(const char *framing, const char *body, long or_status)
{
    /* From week 4 the route needs a login; the framing is checked before it, so none is sent. */
    char *req =
        api_format("POST /tasks HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                   "%s\r\n%s" PIPELINED,
                   framing, body);
    char what[160];
    snprintf(what, sizeof what, "POST /tasks with [%.100s] and a pipelined GET /health", framing);
    int fd = tk_raw_connect(tk_shared());
    tk_raw_send(fd, req, strlen(req));
    free(req);
    char *all = read_until_close(fd, what);
    close(fd);
    long status = 0;
    cr_assert(sscanf(all, "HTTP/1.%*d %ld", &status) == 1 && (status == 400 || status == or_status),
              "%s: expected 400, got: %.200s", what, all);
    char *head_end = strstr(all, "\r\n\r\n");
    cr_assert(head_end, "%s: no header block: %.200s", what, all);
    *head_end = '\0';
    cr_assert(strcasestr(all, "\r\nConnection: close") != NULL,
              "%s: expected Connection: close in: %s", what, all);
    /* Not "no second HTTP/1.1 line": for a Content-Length it cannot parse, libmicrohttpd
     * 0.9.75 answers 400 itself (our code never sees the request) and writes its header block
     * twice. That answer is malformed, but it closes the connection, so nothing is smuggled. */
    cr_assert(strstr(head_end + 4, "HTTP/1.1 200") == NULL &&
                  strstr(head_end + 4, "\"status\":\"ok\"") == NULL,
              "%s: the pipelined GET /health was answered after the 400: %.300s", what,
              head_end + 4);
    free(all);
}

static void expect_framing_refused(const char *framing, const char *body)
{
    expect_framing_refused_or(framing, body, 0);
}

/* ---- framing ---- */

GRADED(http, content_length_with_transfer_encoding_is_400_and_closes, 3)
{
    /* RFC 9112 §6.1: "MUST close the connection after responding". */
    expect_framing_refused("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n");
    expect_framing_refused("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n");
}

GRADED(http, two_content_lengths_are_400_and_close, 2)
{
    /* RFC 9112 §6.3 item 5: differing lengths are unrecoverable; equal ones may be refused. */
    expect_framing_refused("Content-Length: 2\r\nContent-Length: 40\r\n", "{}");
    expect_framing_refused("Content-Length: 2\r\nContent-Length: 2\r\n", "{}");
    expect_framing_refused("Content-Length: 2, 2\r\n", "{}");
}

GRADED(http, an_invalid_content_length_is_400_and_closes, 1)
{
    expect_framing_refused("Content-Length: -1\r\n", "{}");
    expect_framing_refused("Content-Length: abc\r\n", "{}");
    expect_framing_refused("Content-Length: +2\r\n", "{}");
    /* libmicrohttpd 0.9.75 answers a length past 64 bits itself, with 413, before our code
     * sees the request: also a refusal that closes, which is what matters. */
    expect_framing_refused_or("Content-Length: 99999999999999999999999\r\n", "{}", 413);
}

GRADED(http, a_transfer_encoding_other_than_chunked_is_400_at_once, 2)
{
    /* libmicrohttpd 0.9.75 waited for the idle timeout on these and sent nothing. */
    expect_framing_refused("Transfer-Encoding: identity\r\n", "{}");
    expect_framing_refused("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n");
    expect_framing_refused("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                           "0\r\n\r\n");
}

GRADED(http, whitespace_before_a_header_colon_is_400_and_closes, 2)
{
    /* RFC 9112 §5.1: "No whitespace is allowed between the field name and colon ... A server
     * MUST reject ... with a response status code of 400". libmicrohttpd 0.9.75 files the
     * header under the name "Transfer-Encoding " and framed the body by Content-Length, while a
     * proxy that trims the name frames it as chunked: the next request would be smuggled. */
    expect_framing_refused("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n");
    expect_framing_refused("Content-Length : 2\r\n", "{}");
    expect_framing_refused("X-Other\t: 1\r\nContent-Length: 2\r\n", "{}");
}

GRADED(http, a_header_name_that_is_not_a_token_is_400_and_closes, 1)
{
    /* RFC 9110 §5.1: a field name is a token. libmicrohttpd 0.9.75 accepts a name holding
     * separators and answers the pipelined request after it; a proxy in front may split or drop
     * such a line differently, which is how one request becomes two. (A line with an empty name
     * never reaches us: libmicrohttpd ends the head there and refuses what follows with 400 and
     * a close, so nothing is served twice.) */
    expect_framing_refused("Bad(Name): x\r\nContent-Length: 2\r\n", "{}");
    expect_framing_refused("X-\"Quoted\": x\r\nContent-Length: 2\r\n", "{}");
}

/* ---- the request line ---- */

/* GETs /health?query over a raw connection and expects a prompt 431 problem. */
static void expect_line_refused(const char *query, const char *what)
{
    char *head = api_format("GET /health?%s HTTP/1.1\r\nHost: test\r\n\r\n", query);
    int fd = tk_raw_connect(tk_shared());
    tk_raw_send(fd, head, strlen(head));
    free(head);
    struct tk_response *r = tk_raw_read(fd, what, 5000);
    tk_expect_problem(r, 431);
    tk_response_free(r);
    close(fd);
    r = tk_get(tk_shared(), "/health");
    tk_expect_status(r, 200);
    tk_response_free(r);
}

GRADED(http, max_header_bytes_counts_the_query_string, 2)
{
    char *x = api_repeat("x", 250 * 1000);
    char *query = api_format("q=%s", x);
    expect_line_refused(query, "GET /health?q=<250 KB>");
    free(query);
    free(x);
}

GRADED(http, thousands_of_query_parameters_get_a_prompt_431, 2)
{
    /* 4000 parameters, 31 KB: libmicrohttpd filled its memory pool with them and then had no
     * room to send its own 431; the client waited for the timeout. */
    char *query = calloc(4000, 8);
    cr_assert(query, "out of memory");
    size_t len = 0;
    for (int i = 0; i < 4000; i++)
        len += (size_t)snprintf(query + len, 4000 * 8 - len, "%sp%d=1", i ? "&" : "", i);
    expect_line_refused(query, "GET /health with 4000 query parameters");
    free(query);
}

/* ---- the raw path ---- */

static void expect_path(const char *path, long status)
{
    struct tk_response *r = tk_get(tk_shared(), path);
    tk_expect_problem(r, status);
    tk_response_free(r);
}

GRADED(http, a_nul_anywhere_in_the_path_is_400, 2)
{
    long long id = api_new_task(tk_shared());
    char path[96];
    snprintf(path, sizeof path, "/tasks/%lld%%00junk", id);
    expect_path(path, 400);
    expect_path("/tasks%00", 400);
    expect_path("/health%00.txt", 400);
    expect_path("/no/such/path/with/a/nul/at/its/end%00", 400);
}

GRADED(http, an_encoded_slash_never_splits_a_segment, 2)
{
    long long id = api_new_task(tk_shared());
    char path[96];
    snprintf(path, sizeof path, "/tasks%%2F%lld", id);
    expect_path(path, 404);
    snprintf(path, sizeof path, "/tasks%%2f%lld", id);
    expect_path(path, 404);
    snprintf(path, sizeof path, "/tasks/%lld%%2F", id);
    expect_path(path, 404);
}
