/* attack_cardinality.c — a client that tries to grow GET /metrics without bound.
 *
 * Every distinct label value is a series, kept by taskd and by Prometheus for as long as they
 * run. A client picks its paths, its methods, its ids and its query strings, so if any of them
 * reached a label, a loop of requests would be a memory leak in both. This attack sends
 * ATTEMPTS requests, each with something new of the client's choosing, and checks that the
 * exposition grew by a bounded number of lines (the few series its statuses and route templates
 * really add) and names none of what was sent. Counted, not timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_w9_helpers.h"
#include "testkit.h"

#define ATTEMPTS 400 /* of each kind: four kinds */
/* What the attack may add: the counter lines of route "unmatched" (404, and 405 for method
 * "other") and of "/tasks/{id}" (404), the latency histograms of those routes (16 lines each),
 * cache misses, and HELP and TYPE lines for families that were still empty. 69 lines when it was
 * written; a label made of what the client sent would add at least ATTEMPTS. */
#define NEW_LINES_MAX 120

static void send_quietly(struct tk_server *s, const char *method, const char *path)
{
    struct tk_response *r = tk_request(s, method, path, NULL, NULL, 0);
    cr_assert(r->status > 0 && r->status < 500, "%s: expected a 4xx (or 2xx), got %ld", r->what,
              r->status);
    tk_response_free(r);
}

Test(cardinality, client_chosen_paths_methods_and_ids_mint_no_series, .timeout = 240)
{
    struct tk_server *s = tk_shared();
    char run[32];
    tk_unique("zq", run, sizeof run); /* a marker that no route, status or help text holds */
    struct tk_response *before = tk_get(s, "/metrics");
    tk_expect_status(before, 200);
    size_t lines0 = w9_lines(before->body);
    char path[256], method[48];
    for (int i = 0; i < ATTEMPTS; i++) {
        snprintf(path, sizeof path, "/%s/path/%d", run, i);
        send_quietly(s, "GET", path);
        snprintf(method, sizeof method, "M%sX%d", run, i);
        for (char *p = method; *p; p++) /* a method is a token: letters will do */
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        send_quietly(s, method, "/tasks");
        snprintf(path, sizeof path, "/tasks/%d%d", 900000 + i, 7);
        send_quietly(s, "GET", path);
        snprintf(path, sizeof path, "/health?%s=%d", run, i);
        send_quietly(s, "GET", path);
    }
    struct tk_response *after = tk_get(s, "/metrics");
    tk_expect_status(after, 200);
    size_t lines1 = w9_lines(after->body);
    printf("figure: cardinality: %d client-chosen paths, methods, ids and queries; /metrics "
           "%zu -> %zu lines\n",
           4 * ATTEMPTS, lines0, lines1);
    cr_expect(lines1 <= lines0 + NEW_LINES_MAX,
              "GET /metrics grew from %zu to %zu lines after %d requests that each chose "
              "something new: a client-chosen value became a label (expected at most %d new "
              "lines):\n%.3000s",
              lines0, lines1, 4 * ATTEMPTS, NEW_LINES_MAX, after->body);
    char lower[32], upper[32];
    snprintf(lower, sizeof lower, "%s", run);
    snprintf(upper, sizeof upper, "%s", run);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    cr_expect(!strstr(after->body, lower) && !strstr(after->body, upper) &&
                  !strstr(after->body, "9000007"),
              "GET /metrics names a path, method or id the client chose (%s):\n%.3000s", run,
              after->body);
    tk_response_free(before);
    tk_response_free(after);
}
