/* api_metrics.c — black-box tests of GET /metrics (stage 9).
 *
 * Prometheus reads GET /metrics every few seconds; alerts and dashboards are only as true as
 * what it says. These tests read it as Prometheus would: the format is checked by promtool,
 * Prometheus's own checker, and the values are held against traffic the test itself sent.
 * Exact counts need a server no other test talks to, so those tests start their own (a fresh
 * database, the suite's Redis and broker); the rest use the suite's shared server.
 *
 * A sample is found by its whole series, as written: `name{label="value",...} number`, labels
 * in the order the family declares them (API.md's: method, route, status). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_helpers.h"
#include "testkit.h"

/* ------------------------------------------------------------------ helpers */

static struct tk_response *scrape(struct tk_server *s)
{
    struct tk_response *r = tk_get(s, "/metrics");
    tk_expect_status(r, 200);
    return r;
}

/* The value of the sample whose series is exactly `series` (name and labels as written), or
 * NAN when the exposition has no such line. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; (p = strstr(p, series)); p++) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            if (strncmp(p + n + 1, "NaN", 3) == 0)
                return NAN;
            return strtod(p + n + 1, NULL);
        }
    }
    return NAN;
}

/* The same, failing the test when the line is missing. */
static double must_sample(const struct tk_response *r, const char *series, const char *why)
{
    double v = sample(r->body, series);
    cr_assert(!isnan(v), "GET /metrics: expected a sample %s (%s), in:\n%.3000s", series, why,
              r->body);
    return v;
}

static struct tk_server *own_server(void)
{
    tk_need_local("counts exactly on a server of its own");
    return tk_server_start(NULL);
}

static void get_n(struct tk_server *s, const char *path, int n, long status)
{
    for (int i = 0; i < n; i++) {
        struct tk_response *r = tk_get(s, path);
        tk_expect_status(r, status);
        tk_response_free(r);
    }
}

/* ------------------------------------------------------------------ the format */

GRADED(metrics, is_prometheus_text_that_promtool_accepts, 2)
{
    /* Some traffic first, so that every family has series to show. */
    get_n(tk_shared(), "/health", 2, 200);
    long long id = tk_create_task(tk_shared(), "{\"title\":\"metrics format\"}");
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    get_n(tk_shared(), path, 2, 200);
    struct tk_response *r = scrape(tk_shared());
    tk_expect_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    char file[] = "/tmp/taskd-api-metrics-XXXXXX";
    int fd = mkstemp(file);
    cr_assert(fd >= 0, "mkstemp failed");
    cr_assert(write(fd, r->body, r->body_len) == (ssize_t)r->body_len, "writing %s failed", file);
    close(fd);
    char out[4096];
    int status = tk_sh(out, sizeof out, "promtool check metrics < %s 2>&1", file);
    unlink(file);
    cr_expect(status == 0,
              "%s: promtool check metrics: expected no complaint (exit 0), got exit %d:\n%s",
              r->what, status, out);
    const char *families[] = {
        "http_requests_total", "http_request_duration_seconds", "db_pool_connections",
        "outbox_pending",      "process_resident_memory_bytes", "process_start_time_seconds",
        "process_open_fds"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char type[96];
        snprintf(type, sizeof type, "# TYPE %s ", families[i]);
        cr_expect(strstr(r->body, type), "%s: expected the family %s (API.md's list), in:\n%.3000s",
                  r->what, families[i], r->body);
    }
    tk_response_free(r);
}

GRADED(metrics, other_methods_are_405_with_allow, 1)
{
    api_expect_get_only(tk_shared(), "/metrics");
}

/* ------------------------------------------------------------------ values after known traffic */

GRADED(metrics, request_counts_move_by_the_traffic_sent, 3)
{
    struct tk_server *s = own_server();
    long long id = tk_create_task(s, "{\"title\":\"counted\"}");
    char path[64], missing[64];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    snprintf(missing, sizeof missing, "/tasks/%lld", id + 1000000);
    const char *ok = "http_requests_total{method=\"GET\",route=\"/tasks/{id}\",status=\"200\"}";
    const char *nf = "http_requests_total{method=\"GET\",route=\"/tasks/{id}\",status=\"404\"}";
    const char *created = "http_requests_total{method=\"POST\",route=\"/tasks\",status=\"201\"}";
    struct tk_response *before = scrape(s);
    double ok0 = sample(before->body, ok), nf0 = sample(before->body, nf);
    double created0 = must_sample(before, created, "the task this test created");
    get_n(s, path, 5, 200);
    get_n(s, missing, 3, 404);
    struct tk_response *after = scrape(s);
    double ok1 = must_sample(after, ok, "5 GETs answered 200");
    double nf1 = must_sample(after, nf, "3 GETs answered 404");
    cr_expect(ok1 - (isnan(ok0) ? 0 : ok0) == 5,
              "%s: after 5 GETs of %s answered 200, expected %s to grow by 5, got %g -> %g",
              after->what, path, ok, ok0, ok1);
    cr_expect(
        nf1 - (isnan(nf0) ? 0 : nf0) == 3,
        "%s: after 3 GETs of a task that is not there, expected %s to grow by 3, got %g -> %g",
        after->what, nf, nf0, nf1);
    cr_expect(created0 == 1 && must_sample(after, created, "unchanged") == 1,
              "%s: one POST /tasks was answered 201: expected %s 1, got %g", after->what, created,
              created0);
    /* The scrape itself is a request like any other, counted once answered. */
    cr_expect(must_sample(after,
                          "http_requests_total{method=\"GET\",route=\"/metrics\","
                          "status=\"200\"}",
                          "the scrape before this one") >= 1,
              "%s: expected the earlier scrape counted", after->what);
    tk_response_free(before);
    tk_response_free(after);
    cr_expect(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

GRADED(metrics, latency_is_a_histogram_by_route, 2)
{
    struct tk_server *s = own_server();
    /* The kit asked /health while it waited for the server: count from here. */
    struct tk_response *before = scrape(s);
    double count0 = sample(before->body, "http_request_duration_seconds_count{route=\"/health\"}");
    double sum0 = sample(before->body, "http_request_duration_seconds_sum{route=\"/health\"}");
    count0 = isnan(count0) ? 0 : count0;
    sum0 = isnan(sum0) ? 0 : sum0;
    get_n(s, "/health", 4, 200);
    struct tk_response *r = scrape(s);
    double count = must_sample(r, "http_request_duration_seconds_count{route=\"/health\"}",
                               "4 more GETs of /health");
    double inf =
        must_sample(r, "http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"}",
                    "the +Inf bucket holds every request");
    double sum = must_sample(r, "http_request_duration_seconds_sum{route=\"/health\"}",
                             "the time they took");
    double small = must_sample(r,
                               "http_request_duration_seconds_bucket{route=\"/health\","
                               "le=\"0.001\"}",
                               "the smallest bucket");
    cr_expect(count - count0 == 4 && inf == count,
              "%s: after 4 GETs of /health, expected _count to grow by 4 (it went %g -> %g) and "
              "to equal the +Inf bucket (%g)",
              r->what, count0, count, inf);
    cr_expect(sum > sum0 && sum - sum0 < 4 * 10.0,
              "%s: expected the sum to grow by 4 short durations, got %g -> %g s", r->what, sum0,
              sum);
    cr_expect(small <= inf, "%s: buckets are cumulative: le=0.001 (%g) cannot exceed +Inf (%g)",
              r->what, small, inf);
    tk_response_free(before);
    tk_response_free(r);
    cr_expect(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

GRADED(metrics, raw_paths_and_methods_never_become_labels, 2)
{
    char unique[64], path[160];
    tk_unique("nosuchroute", unique, sizeof unique);
    snprintf(path, sizeof path, "/%s/%s", unique, unique);
    struct tk_response *r = tk_get(tk_shared(), path);
    tk_expect_status(r, 404);
    tk_response_free(r);
    r = tk_request(tk_shared(), "BREWCOFFEE", "/tasks", NULL, NULL, 0);
    tk_response_free(r);
    r = scrape(tk_shared());
    cr_expect(!strstr(r->body, unique),
              "%s: the path %s reached the metrics: each client-chosen path would be a new "
              "series (a route template, or \"unmatched\")",
              r->what, path);
    cr_expect(!strstr(r->body, "BREWCOFFEE"),
              "%s: the method BREWCOFFEE became a label: expected \"other\"", r->what);
    cr_expect(strstr(r->body, "route=\"unmatched\""),
              "%s: expected a path that matched no route counted as route=\"unmatched\"", r->what);
    cr_expect(strstr(r->body, "method=\"other\""),
              "%s: expected a method outside HTTP's usual ones counted as method=\"other\"",
              r->what);
    tk_response_free(r);
}

GRADED(metrics, cache_hits_and_misses_are_counted, 1)
{
    struct tk_server *s = own_server();
    long long id = tk_create_task(s, "{\"title\":\"cached\"}");
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    get_n(s, path, 3, 200); /* a miss fills the cache, then hits */
    struct tk_response *r = scrape(s);
    double hit = must_sample(r, "cache_requests_total{result=\"hit\"}", "reads the cache answered");
    double miss = sample(r->body, "cache_requests_total{result=\"miss\"}");
    miss = isnan(miss) ? 0 : miss;
    cr_expect(hit + miss == 3 && hit >= 1,
              "%s: 3 reads through the cache: expected hits + misses = 3 with at least one hit, "
              "got %g hits and %g misses",
              r->what, hit, miss);
    tk_response_free(r);
    cr_expect(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

GRADED(metrics, pools_outbox_and_process_are_read_at_the_scrape, 2)
{
    struct tk_server *s = own_server();
    struct tk_response *r = scrape(s);
    double in_use = must_sample(r, "db_pool_connections{pool=\"tasks\",state=\"in_use\"}",
                                "the task store's pool");
    double idle = must_sample(r, "db_pool_connections{pool=\"tasks\",state=\"idle\"}",
                              "the task store's pool");
    /* DB_POOL_SIZE's default, as taskd --help says it: every connection is in one state. */
    cr_expect(in_use + idle >= 1 && in_use >= 0 && idle >= 0,
              "%s: expected the pool's connections split into in_use (%g) and idle (%g)", r->what,
              in_use, idle);
    double pending = must_sample(r, "outbox_pending", "events not yet published, a number");
    cr_expect(pending >= 0, "%s: expected outbox_pending >= 0, got %g", r->what, pending);
    double start = must_sample(r, "process_start_time_seconds", "when taskd started");
    cr_expect(fabs(start - (double)time(NULL)) < 120,
              "%s: the server started seconds ago: expected process_start_time_seconds near %ld, "
              "got %.0f",
              r->what, (long)time(NULL), start);
    double rss = must_sample(r, "process_resident_memory_bytes", "taskd's memory");
    cr_expect(rss > 1e6 && rss < 4e9, "%s: expected a resident size between 1 MB and 4 GB, got %g",
              r->what, rss);
    double fds = must_sample(r, "process_open_fds", "taskd's open files and sockets");
    double max_fds = must_sample(r, "process_max_fds", "its limit");
    cr_expect(fds >= 3 && fds < max_fds, "%s: expected 3 <= process_open_fds (%g) < %g", r->what,
              fds, max_fds);
    tk_response_free(r);
    cr_expect(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

GRADED(metrics, metrics_off_serves_no_metrics, 1)
{
    tk_need_local("starts a server with METRICS=off");
    struct tk_server *s = tk_server_start((const char *[]){"METRICS=off", NULL});
    struct tk_response *r = tk_get(s, "/metrics");
    tk_expect_status(r, 404);
    tk_response_free(r);
    cr_expect(tk_server_stop(s) == 0, "the server did not stop cleanly");
}
