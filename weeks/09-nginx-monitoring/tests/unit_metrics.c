/* unit_metrics.c — the metrics registry (metrics.c), its text format, and the process reader.
 *
 * The histogram's observe is exercise 9.1 (suite "histogram"), its exposition 9.2 (suite
 * "exposition"); the request middleware, 9.3, is graded by the black-box suite. The rest checks
 * what a scrape relies on: escaping, the bound on series, the checks on names, concurrency, and the
 * numbers' text. The exposition is also given to promtool, Prometheus's own checker, so
 * "well-formed" means what Prometheus means. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "metrics.h"
#include "metrics_http.h"
#include "process_metrics.h"
#include "testkit.h"

/* ------------------------------------------------------------------ helpers */

static struct metrics *registry(void)
{
    struct metrics *m = NULL;
    cr_assert(metrics_new(&m) == 0 && m, "metrics_new: expected 0 and a registry");
    return m;
}

static struct metrics_family *family(struct metrics *m, const struct metrics_spec *spec)
{
    struct metrics_family *f = NULL;
    int rc = metrics_add(m, spec, &f);
    cr_assert(rc == 0 && f, "metrics_add(\"%s\"): expected 0, got %d", spec->name, rc);
    return f;
}

static struct metrics_series *series(struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = NULL;
    int rc = metrics_series(f, values, &s);
    cr_assert(rc == 0 && s, "metrics_series: expected 0 and a series, got %d", rc);
    return s;
}

/* The exposition as a string (free it). */
static char *expose(struct metrics *m)
{
    struct buf b = BUF_INIT;
    cr_assert(metrics_expose(m, &b) == 0, "metrics_expose: expected 0");
    buf_putc(&b, '\0');
    cr_assert(!b.failed, "metrics_expose: out of memory");
    return buf_steal(&b, NULL);
}

static void expect_line(const char *text, const char *line, const char *why)
{
    /* A whole line: "x 1" must not be found inside "x 10". */
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return;
    cr_expect_fail("expected the line\n  %s\n(%s) in the exposition:\n%s", line, why, text);
}

static const double buckets[] = {0.1, 0.5, 1};
static const struct metrics_spec histogram_spec = {
    .name = "t_seconds",
    .help = "A test histogram.",
    .type = METRICS_HISTOGRAM,
    .labels = {"route"},
    .buckets = buckets,
    .nbuckets = 3,
    .max_series = 8,
};

/* ------------------------------------------------------------------ 9.1: observe */

GRADED(histogram, counts_each_observation_in_its_bucket, 3)
{
    struct metrics *m = registry();
    struct metrics_series *s = series(family(m, &histogram_spec), (const char *const[]){"/a"});
    /* A bucket holds the values up to and including its bound (le = "less or equal"). */
    const double values[] = {0.05, 0.1, 0.2, 0.5, 0.75, 1, 1.5, 100, -3};
    const uint64_t want[] = {3, 2, 2, 2}; /* 0.05 0.1 -3 | 0.2 0.5 | 0.75 1 | 1.5 100 */
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        metrics_observe(s, values[i]);
    const char *names[] = {"le=0.1", "le=0.5", "le=1", "+Inf"};
    for (size_t i = 0; i < 4; i++)
        cr_expect(metrics_bucket_count(s, i) == want[i],
                  "lab 9.1: bucket %zu (%s, counted alone, not cumulatively): expected %llu "
                  "observations of 0.05 0.1 0.2 0.5 0.75 1 1.5 100 -3, got %llu",
                  i, names[i], (unsigned long long)want[i],
                  (unsigned long long)metrics_bucket_count(s, i));
    cr_expect(metrics_value(s) == 9, "lab 9.1: expected 9 observations in all, got %g",
              metrics_value(s));
    metrics_free(m);
}

GRADED(histogram, adds_each_observation_to_the_sum, 2)
{
    struct metrics *m = registry();
    struct metrics_series *s = series(family(m, &histogram_spec), (const char *const[]){"/a"});
    metrics_observe(s, 0.25);
    metrics_observe(s, 2);
    metrics_observe(s, 0.5);
    cr_expect(metrics_sum(s) == 2.75, "lab 9.1: expected the sum 0.25 + 2 + 0.5 = 2.75, got %g",
              metrics_sum(s));
    metrics_observe(s, NAN);
    cr_expect(metrics_sum(s) == 2.75 && metrics_value(s) == 3,
              "lab 9.1: NaN is not an observation: expected the sum 2.75 and 3 observations, "
              "got %g and %g",
              metrics_sum(s), metrics_value(s));
    metrics_free(m);
}

#define THREADS    4
#define PER_THREAD 50000

static void *observe_many(void *arg)
{
    struct metrics_series *s = arg;
    for (int i = 0; i < PER_THREAD; i++)
        metrics_observe(s, (i % 2) ? 0.25 : 0.75); /* exact in binary: the sum is exact too */
    return NULL;
}

GRADED(histogram, concurrent_observations_lose_nothing, 3)
{
    struct metrics *m = registry();
    struct metrics_series *s = series(family(m, &histogram_spec), (const char *const[]){"/a"});
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert(pthread_create(&t[i], NULL, observe_many, s) == 0, "pthread_create failed");
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t half = (uint64_t)THREADS * PER_THREAD / 2;
    uint64_t in_half = metrics_bucket_count(s, 1), in_one = metrics_bucket_count(s, 2);
    cr_expect(in_half == half && in_one == half,
              "lab 9.1: %d threads each observed 0.25 and 0.75 %d times: expected %llu in bucket "
              "le=0.5 and %llu in le=1, got %llu and %llu (%s)",
              THREADS, PER_THREAD / 2, (unsigned long long)half, (unsigned long long)half,
              (unsigned long long)in_half, (unsigned long long)in_one,
              in_half + in_one == 0 ? "nothing was counted"
                                    : "counts were lost: is every add atomic?");
    double want = (double)half * 0.25 + (double)half * 0.75;
    cr_expect(metrics_sum(s) == want, "lab 9.1: expected the sum %.1f, got %.1f (%s)", want,
              metrics_sum(s),
              metrics_sum(s) == 0 ? "nothing was added"
                                  : "two threads read the same old sum and one's add was lost: "
                                    "compare-and-swap until no one else wrote in between");
    metrics_free(m);
}

/* ------------------------------------------------------------------ 9.2: exposition */

GRADED(exposition, histogram_buckets_are_cumulative_then_sum_and_count, 3)
{
    struct metrics *m = registry();
    struct metrics_series *s = series(family(m, &histogram_spec), (const char *const[]){"/a"});
    metrics_observe(s, 0.05);
    metrics_observe(s, 0.3);
    metrics_observe(s, 0.3);
    metrics_observe(s, 7);
    char *text = expose(m);
    expect_line(text, "# TYPE t_seconds histogram", "the family's type");
    expect_line(text, "t_seconds_bucket{route=\"/a\",le=\"0.1\"} 1", "lab 9.2: 0.05");
    expect_line(text, "t_seconds_bucket{route=\"/a\",le=\"0.5\"} 3",
                "lab 9.2: cumulative, 0.05 and both 0.3");
    expect_line(text, "t_seconds_bucket{route=\"/a\",le=\"1\"} 3",
                "lab 9.2: cumulative: nothing new in (0.5, 1], still 3");
    expect_line(text, "t_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4",
                "lab 9.2: +Inf holds every observation");
    expect_line(text, "t_seconds_sum{route=\"/a\"} 7.65",
                "lab 9.2: the sum, every digit that reads back as the same double");
    expect_line(text, "t_seconds_count{route=\"/a\"} 4", "lab 9.2: _count equals the +Inf bucket");
    /* Order matters to readers: the buckets in increasing le, then _sum, then _count. */
    const char *b1 = strstr(text, "le=\"0.1\""), *inf = strstr(text, "le=\"+Inf\"");
    const char *sum = strstr(text, "t_seconds_sum"), *count = strstr(text, "t_seconds_count");
    cr_expect(b1 && inf && sum && count && b1 < inf && inf < sum && sum < count,
              "lab 9.2: expected the buckets (le increasing, +Inf last), then _sum, then _count:"
              "\n%s",
              text);
    free(text);
    metrics_free(m);
}

GRADED(exposition, an_empty_histogram_still_has_every_bucket, 1)
{
    struct metrics *m = registry();
    (void)series(family(m, &histogram_spec), (const char *const[]){"/b"});
    char *text = expose(m);
    expect_line(text, "t_seconds_bucket{route=\"/b\",le=\"0.1\"} 0",
                "lab 9.2: a series with no observations yet");
    expect_line(text, "t_seconds_bucket{route=\"/b\",le=\"+Inf\"} 0", "lab 9.2");
    expect_line(text, "t_seconds_sum{route=\"/b\"} 0", "lab 9.2");
    expect_line(text, "t_seconds_count{route=\"/b\"} 0", "lab 9.2");
    free(text);
    metrics_free(m);
}

/* Writes text to a file and runs promtool check metrics on it: 0 when it passes. */
static int promtool_check(const char *text, char *out, size_t cap)
{
    char path[] = "/tmp/taskd-metrics-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    size_t len = strlen(text);
    cr_assert(write(fd, text, len) == (ssize_t)len, "writing %s failed", path);
    close(fd);
    int status = tk_sh(out, cap, "promtool check metrics < %s 2>&1", path);
    unlink(path);
    return status;
}

GRADED(exposition, every_type_passes_promtool_check_metrics, 2)
{
    struct metrics *m = registry();
    struct metrics_series *h = series(family(m, &histogram_spec), (const char *const[]){"/x"});
    metrics_observe(h, 0.2);
    metrics_observe(h, 3);
    const struct metrics_spec counter = {.name = "t_requests_total",
                                         .help = "Requests, with a \\ and a\nnewline in help.",
                                         .type = METRICS_COUNTER,
                                         .labels = {"path", "code"},
                                         .max_series = 8};
    struct metrics_series *c =
        series(family(m, &counter), (const char *const[]){"a \"quoted\" \\ value\nhere", "200"});
    metrics_add_count(c, 3);
    const struct metrics_spec gauge = {.name = "t_temperature_celsius",
                                       .help = "A gauge.",
                                       .type = METRICS_GAUGE,
                                       .max_series = 1};
    metrics_set(series(family(m, &gauge), NULL), -1.5);
    char *text = expose(m);
    char out[4096];
    int status = promtool_check(text, out, sizeof out);
    cr_expect(status == 0,
              "promtool check metrics: expected no complaint (exit 0), got exit %d:\n"
              "%s\nof the exposition:\n%s",
              status, out, text);
    free(text);
    metrics_free(m);
}

/* ------------------------------------------------------------------ the registry */

GRADED(registry, label_values_are_escaped, 1)
{
    struct metrics *m = registry();
    const struct metrics_spec spec = {
        .name = "t_total", .help = "h", .type = METRICS_COUNTER, .labels = {"v"}, .max_series = 4};
    metrics_add_count(series(family(m, &spec), (const char *const[]){"a\\b\"c\nd"}), 1);
    char *text = expose(m);
    expect_line(text, "t_total{v=\"a\\\\b\\\"c\\nd\"} 1",
                "a backslash, a quote and a newline escaped as \\\\ \\\" \\n");
    free(text);
    metrics_free(m);
}

GRADED(registry, help_is_escaped_and_types_are_named, 1)
{
    struct metrics *m = registry();
    const struct metrics_spec spec = {.name = "t_total",
                                      .help = "two\nlines, a \\ and a \"quote\"",
                                      .type = METRICS_COUNTER,
                                      .max_series = 1};
    (void)family(m, &spec);
    char *text = expose(m);
    expect_line(text, "# HELP t_total two\\nlines, a \\\\ and a \"quote\"",
                "HELP escapes \\ and newline, and leaves quotes alone");
    expect_line(text, "# TYPE t_total counter", "the type line");
    expect_line(text, "t_total 0", "a family without labels shows its 0 from the start");
    free(text);
    metrics_free(m);
}

GRADED(registry, series_past_the_bound_share_the_overflow_series, 2)
{
    struct metrics *m = registry();
    const struct metrics_spec spec = {
        .name = "t_total", .help = "h", .type = METRICS_COUNTER, .labels = {"v"}, .max_series = 3};
    struct metrics_family *f = family(m, &spec);
    char v[16];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof v, "v%d", i);
        metrics_add_count(series(f, (const char *const[]){v}), 1);
    }
    cr_expect(metrics_series_count(f) == 3,
              "a family of max_series 3 given 10 label values: expected 3 series, got %zu",
              metrics_series_count(f));
    char *text = expose(m);
    expect_line(text, "t_total{v=\"v2\"} 1", "the third value still has a series of its own");
    expect_line(text, "t_total{v=\"" METRICS_OVERFLOW "\"} 7",
                "the 7 values past the bound counted together");
    cr_expect(!strstr(text, "v3"), "no series for a value past the bound:\n%s", text);
    free(text);
    metrics_free(m);
}

GRADED(registry, long_label_values_are_cut, 1)
{
    struct metrics *m = registry();
    const struct metrics_spec spec = {
        .name = "t_total", .help = "h", .type = METRICS_COUNTER, .labels = {"v"}, .max_series = 4};
    struct metrics_family *f = family(m, &spec);
    char a[METRICS_LABEL_MAX + 50], b[METRICS_LABEL_MAX + 50];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[METRICS_LABEL_MAX + 10] = 'y'; /* differs only past the cut */
    struct metrics_series *sa = series(f, (const char *const[]){a});
    struct metrics_series *sb = series(f, (const char *const[]){b});
    cr_expect(sa == sb && metrics_series_count(f) == 1,
              "two values equal in their first %d bytes: expected one series, got %zu",
              METRICS_LABEL_MAX, metrics_series_count(f));
    metrics_free(m);
}

static void expect_refused(const struct metrics_spec *spec, const char *why)
{
    struct metrics *m = registry();
    struct metrics_family *f = (struct metrics_family *)1;
    int rc = metrics_add(m, spec, &f);
    cr_expect(rc == ERR_INVALID && f == NULL, "metrics_add (%s): expected ERR_INVALID, got %d", why,
              rc);
    metrics_free(m);
}

GRADED(registry, refuses_what_prometheus_would_not_read, 2)
{
    const double down[] = {1, 0.5};
    const double inf[] = {1, INFINITY};
    const struct {
        struct metrics_spec spec;
        const char *why;
    } cases[] = {
        {{.name = "9lives_total", .help = "h", .max_series = 1}, "a name starting with a digit"},
        {{.name = "a-b_total", .help = "h", .max_series = 1}, "a '-' in a name"},
        {{.name = "requests", .help = "h", .max_series = 1}, "a counter without _total"},
        {{.name = "x_total", .help = "h", .type = METRICS_GAUGE, .max_series = 1},
         "_total on a gauge"},
        {{.name = "x_total", .help = "", .max_series = 1}, "no help"},
        {{.name = "x_total", .help = "h", .labels = {"__name"}, .max_series = 1},
         "a label starting with __ (reserved)"},
        {{.name = "x_total", .help = "h", .labels = {"a", "a"}, .max_series = 1},
         "a label named twice"},
        {{.name = "x_total", .help = "h", .labels = {"a"}, .max_series = 0}, "max_series 0"},
        {{.name = "x_seconds",
          .help = "h",
          .type = METRICS_HISTOGRAM,
          .labels = {"le"},
          .buckets = buckets,
          .nbuckets = 3,
          .max_series = 1},
         "le on a histogram (its buckets' label)"},
        {{.name = "x_seconds",
          .help = "h",
          .type = METRICS_HISTOGRAM,
          .buckets = down,
          .nbuckets = 2,
          .max_series = 1},
         "buckets not increasing"},
        {{.name = "x_seconds",
          .help = "h",
          .type = METRICS_HISTOGRAM,
          .buckets = inf,
          .nbuckets = 2,
          .max_series = 1},
         "an infinite bucket (+Inf is added)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_refused(&cases[i].spec, cases[i].why);
    struct metrics *m = registry();
    const struct metrics_spec ok = {.name = "x_total", .help = "h", .max_series = 1};
    (void)family(m, &ok);
    struct metrics_family *f = NULL;
    cr_expect(metrics_add(m, &ok, &f) == ERR_INVALID, "a name added twice: expected ERR_INVALID");
    metrics_free(m);
}

struct racer {
    struct metrics_family *f;
    struct metrics_series *got[16];
};

static void *make_series(void *arg)
{
    struct racer *r = arg;
    char v[8];
    for (int i = 0; i < 16; i++) {
        snprintf(v, sizeof v, "r%d", i);
        (void)metrics_series(r->f, (const char *const[]){v}, &r->got[i]);
        metrics_add_count(r->got[i], 1);
    }
    return NULL;
}

GRADED(registry, threads_asking_for_the_same_series_get_one, 2)
{
    struct metrics *m = registry();
    const struct metrics_spec spec = {
        .name = "t_total", .help = "h", .type = METRICS_COUNTER, .labels = {"v"}, .max_series = 64};
    struct metrics_family *f = family(m, &spec);
    struct racer r[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){.f = f};
        cr_assert(pthread_create(&t[i], NULL, make_series, &r[i]) == 0, "pthread_create failed");
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    cr_expect(metrics_series_count(f) == 16,
              "16 values from %d threads: expected 16 series, "
              "got %zu",
              THREADS, metrics_series_count(f));
    for (int k = 0; k < 16; k++) {
        for (int i = 1; i < THREADS; i++)
            cr_expect(r[i].got[k] == r[0].got[k],
                      "value r%d: threads 0 and %d got different "
                      "series",
                      k, i);
        cr_expect(metrics_value(r[0].got[k]) == THREADS, "value r%d: expected %d counts, got %g", k,
                  THREADS, metrics_value(r[0].got[k]));
    }
    metrics_free(m);
}

GRADED(registry, numbers_are_written_to_read_back_exactly, 1)
{
    const struct {
        double v;
        const char *want;
    } cases[] = {{0.1, "0.1"},
                 {0.1 + 0.2, "0.30000000000000004"},
                 {2, "2"},
                 {-1.5, "-1.5"},
                 {1e300, "1e+300"},
                 {INFINITY, "+Inf"},
                 {-INFINITY, "-Inf"},
                 {NAN, "NaN"}};
    char out[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        metrics_format_double(cases[i].v, out, sizeof out);
        cr_expect(strcmp(out, cases[i].want) == 0,
                  "metrics_format_double: expected \"%s\", got "
                  "\"%s\"",
                  cases[i].want, out);
    }
}

static int failing_collector(void *ctx)
{
    metrics_set(ctx, NAN);
    return ERR_UNAVAILABLE;
}

static int counting_collector(void *ctx)
{
    metrics_set(ctx, metrics_value(ctx) + 1);
    return 0;
}

GRADED(registry, collectors_run_at_every_scrape_and_failures_are_counted, 1)
{
    struct metrics *m = registry();
    const struct metrics_spec a = {
        .name = "t_scrapes", .help = "h", .type = METRICS_GAUGE, .max_series = 1};
    const struct metrics_spec b = {
        .name = "t_broken", .help = "h", .type = METRICS_GAUGE, .max_series = 1};
    struct metrics_series *sa = series(family(m, &a), NULL), *sb = series(family(m, &b), NULL);
    cr_assert(metrics_on_collect(m, counting_collector, sa, NULL) == 0, "metrics_on_collect");
    cr_assert(metrics_on_collect(m, failing_collector, sb, NULL) == 0, "metrics_on_collect");
    free(expose(m));
    char *text = expose(m);
    expect_line(text, "t_scrapes 2", "the collector ran once per scrape");
    expect_line(text, "t_broken NaN", "a value that could not be read is NaN, not a stale number");
    expect_line(text, "metrics_collect_errors_total 2", "the two failed reads counted");
    free(text);
    metrics_free(m);
}

/* ------------------------------------------------------------------ around the registry */

GRADED(registry, proc_stat_is_read_past_a_command_name_with_spaces, 1)
{
    /* A command name may hold spaces and ')': fields are counted from the last ')'. */
    const char *line = "4242 (my (odd) taskd) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 "
                       "20 0 9 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 "
                       "0 0 0 17 1 0 0 0 0 0\n";
    struct process_stat st;
    cr_assert(process_stat_parse(line, &st) == 0, "process_stat_parse: expected 0");
    cr_expect(st.utime_ticks == 250 && st.stime_ticks == 50 && st.start_ticks == 123456 &&
                  st.vsize_bytes == 104857600 && st.rss_pages == 2560,
              "expected utime 250, stime 50, start 123456, vsize 104857600, rss 2560; got %llu "
              "%llu %llu %llu %lld",
              (unsigned long long)st.utime_ticks, (unsigned long long)st.stime_ticks,
              (unsigned long long)st.start_ticks, (unsigned long long)st.vsize_bytes,
              (long long)st.rss_pages);
    cr_expect(process_stat_parse("4242 taskd S 1", &st) == ERR_MALFORMED,
              "a line without the (name): expected ERR_MALFORMED");
    cr_expect(process_stat_parse("4242 (taskd) S 1 2", &st) == ERR_MALFORMED,
              "a cut line: expected ERR_MALFORMED");
}

GRADED(registry, process_series_describe_this_process, 1)
{
    struct metrics *m = registry();
    cr_assert(process_metrics_register(m) == 0, "process_metrics_register: expected 0");
    char *text = expose(m);
    char out[4096];
    int status = promtool_check(text, out, sizeof out);
    cr_expect(status == 0, "promtool check metrics: exit %d:\n%s\n%s", status, out, text);
    double rss = 0, start = 0, fds = 0;
    const char *p;
    cr_expect((p = strstr(text, "\nprocess_resident_memory_bytes ")) &&
                  sscanf(p, "\nprocess_resident_memory_bytes %lf", &rss) == 1 && rss > 1e5,
              "expected a resident size over 100 kB:\n%s", text);
    cr_expect((p = strstr(text, "\nprocess_start_time_seconds ")) &&
                  sscanf(p, "\nprocess_start_time_seconds %lf", &start) == 1 &&
                  fabs(start - (double)time(NULL)) < 3600,
              "expected a start time within the hour (this test's process):\n%s", text);
    cr_expect((p = strstr(text, "\nprocess_open_fds ")) &&
                  sscanf(p, "\nprocess_open_fds %lf", &fds) == 1 && fds >= 3,
              "expected at least 3 open descriptors (stdin, stdout, stderr):\n%s", text);
    free(text);
    metrics_free(m);
}

GRADED(registry, methods_outside_http_are_one_label, 1)
{
    const char *known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        cr_expect(strcmp(metrics_http_method_label(known[i]), known[i]) == 0,
                  "method %s: expected the label %s", known[i], known[i]);
    const char *others[] = {"BREW", "get", "PROPFIND", "", "GETX"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        cr_expect(strcmp(metrics_http_method_label(others[i]), "other") == 0,
                  "method \"%s\": expected the label \"other\" (a client picks the method: each "
                  "word of its own would be a new series)",
                  others[i]);
}
