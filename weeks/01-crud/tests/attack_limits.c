/* attack_limits.c — oversized requests on a raw socket (issue 11 items 6 and 7).
 *
 * Every part of a request an attacker controls has a bound (MAX_HEADER_BYTES for the request line
 * and headers, MAX_BODY_BYTES for the body, a cap on query parameters), and a request over one
 * must get a prompt 4xx: never a 5xx, never a connection that hangs until the idle timeout
 * (libmicrohttpd once logged a 431 for 4000 query parameters and never sent it), never a 200 for
 * a request line the server promised to bound. Sizes go well past each bound, up to a few MiB,
 * and the server must still answer /health at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attack.h"
#include "api_helpers.h"
#include "testkit.h"

#define KIB 1024
#define MIB (1024 * 1024)

/* The request line and headers of the attacks below (path, query and headers built by them). */
static char *get_with(const char *target, const char *headers)
{
    return api_format("GET %s HTTP/1.1\r\nHost: attack\r\n%s\r\n", target, headers);
}

/* "/health?" and count parameters "p<i>=1". */
static char *many_params(size_t count)
{
    size_t cap = 16 + count * 16, len = 0;
    char *text = malloc(cap);
    cr_assert(text, "out of memory");
    len = (size_t)snprintf(text, cap, "/health?");
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(text + len, cap - len, "%sp%zu=1", i ? "&" : "", i);
    return text;
}

/* n headers "X-Attack-<i>: <value of width bytes>". */
static char *many_headers(size_t n, size_t width)
{
    char *value = api_repeat("v", width);
    size_t cap = n * (width + 32) + 1, len = 0;
    char *all = malloc(cap);
    cr_assert(all, "out of memory");
    all[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(all + len, cap - len, "X-Attack-%zu: %s\r\n", i, value);
    free(value);
    return all;
}

/* POST /tasks with a JSON body of size bytes, announced by Content-Length or sent chunked. */
static char *post_of(size_t size, bool chunked)
{
    char *filler = api_repeat("x", size);
    char *req;
    if (chunked)
        req =
            api_format("POST /tasks HTTP/1.1\r\nHost: attack\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
                       size, filler);
    else
        req =
            api_format("POST /tasks HTTP/1.1\r\nHost: attack\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       size, filler);
    free(filler);
    return req;
}

static void attack(struct api_attack_tally *t, long bound_ms, const char *label, char *request)
{
    struct api_attack_answer a;
    api_attack_exchange(tk_shared(), request, strlen(request), bound_ms, false, &a);
    free(request);
    api_attack_took(t, a.elapsed_ms);
    if (a.status >= 500)
        t->server_errors++;
    if (a.status == 0)
        t->hangs++;
    bool prompt_4xx = a.status >= 400 && a.status < 500 && a.elapsed_ms <= bound_ms;
    api_attack_result(t, prompt_4xx,
                      "%s: expected a 4xx within %ld ms; got %s%ld after %ld ms (%zu bytes: %.80s)",
                      label, bound_ms, a.status ? "" : "no answer, status ", a.status, a.elapsed_ms,
                      a.len, a.bytes);
    api_attack_answer_free(&a);
}

Test(limits, oversized_requests_get_a_prompt_4xx)
{
    long baseline = api_attack_baseline_ms(tk_shared());
    long bound = api_attack_bound_ms(baseline);
    struct api_attack_tally t;
    api_attack_begin(&t, "limits");
    /* A path segment or a query value of each size (the request line is what is bounded). */
    static const struct {
        const char *what, *prefix;
        size_t size;
    } lines[] = {{"path", "/tasks/", 20 * KIB},
                 {"path", "/tasks/", 100 * KIB},
                 {"path", "/tasks/", 1 * MIB},
                 {"query string", "/health?x=", 20 * KIB},
                 {"query string", "/health?x=", 250 * KIB},
                 {"query string", "/health?x=", 2 * MIB}};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char *fill = api_repeat("a", lines[i].size);
        char *target = api_format("%s%s", lines[i].prefix, fill);
        char label[64];
        snprintf(label, sizeof label, "a %zu KiB %s", lines[i].size / KIB, lines[i].what);
        attack(&t, bound, label, get_with(target, ""));
        free(target);
        free(fill);
    }
    static const size_t param_counts[] = {1001, 4000, 20000};
    for (size_t i = 0; i < sizeof param_counts / sizeof param_counts[0]; i++) {
        char *target = many_params(param_counts[i]);
        char label[64];
        snprintf(label, sizeof label, "%zu query parameters", param_counts[i]);
        attack(&t, bound, label, get_with(target, ""));
        free(target);
    }
    static const struct {
        size_t n, width;
    } header_shapes[] = {{1, 100 * KIB}, {1, 1 * MIB}, {2000, 8}, {20000, 1}, {64, 1 * KIB}};
    for (size_t i = 0; i < sizeof header_shapes / sizeof header_shapes[0]; i++) {
        char *headers = many_headers(header_shapes[i].n, header_shapes[i].width);
        char label[64];
        snprintf(label, sizeof label, "%zu headers of %zu bytes", header_shapes[i].n,
                 header_shapes[i].width);
        attack(&t, bound, label, get_with("/health", headers));
        free(headers);
    }
    static const size_t body_sizes[] = {2 * MIB, 8 * MIB};
    for (size_t i = 0; i < sizeof body_sizes / sizeof body_sizes[0]; i++) {
        for (int chunked = 0; chunked <= 1; chunked++) {
            char label[64];
            snprintf(label, sizeof label, "a %zu MiB body%s", body_sizes[i] / MIB,
                     chunked ? ", chunked" : "");
            attack(&t, bound, label, post_of(body_sizes[i], chunked));
        }
    }
    attack(&t, bound, "a 1 TiB Content-Length and no body",
           api_format("POST /tasks HTTP/1.1\r\nHost: attack\r\nContent-Type: application/json\r\n"
                      "Content-Length: 1099511627776\r\n\r\n"));

    struct tk_response *r = tk_get(tk_shared(), "/health");
    tk_expect_status(r, 200);
    tk_response_free(r);
    api_attack_figure("%ld oversized requests (paths, query strings and headers to 2 MiB, 20000 "
                      "parameters (the cap is 1000), bodies to 8 MiB): %ld prompt 4xx, %ld 5xx, "
                      "%ld hangs; slowest "
                      "%ld ms (bound %ld ms)",
                      t.tried, t.refused, t.server_errors, t.hangs, t.slowest_ms, bound);
    api_attack_end(&t);
}
