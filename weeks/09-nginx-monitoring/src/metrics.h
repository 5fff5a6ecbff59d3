/* metrics.h — counters, gauges and histograms, written out in Prometheus's text format 0.0.4.
 *
 * A service is monitored by numbers it keeps about itself: how many requests of each kind it
 * answered, how long they took, how full its pools are. Prometheus asks for them every few
 * seconds (GET /metrics, metrics_http.h) and keeps the history; the service only keeps the
 * current values. This module is the registry those values live in.
 *
 * A family is one metric name with fixed label names ("http_requests_total" by method, route
 * and status); a series is one combination of label values, created the first time it is asked
 * for. Three rules make it safe to call from every request:
 *   - The hot path takes no lock. Finding a series that exists is a lock-free hash lookup,
 *     and counting is an atomic add (relaxed: a scrape needs each value, not an order between
 *     them). Only creating a series takes the family's mutex, once per series in the process's
 *     life: series are never removed.
 *   - Cardinality is bounded. Every series costs memory here and in Prometheus for as long as
 *     it exists, so label values must come from a small set (a route template, never a raw
 *     path; a known method, never the client's word). Even so, a family holds at most its
 *     max_series series; values past that go to one overflow series whose every label is
 *     METRICS_OVERFLOW, so a client can never make the process grow.
 *   - The exposition is always well-formed: names and label names are checked when a family is
 *     added, label values and help texts are escaped when written, and a histogram's _count is
 *     its +Inf bucket, read once.
 *
 * Values that live elsewhere (the size of a pool, the process's memory) are read at exposition
 * time by collectors (metrics_on_collect), which set gauges just before the text is written. */
#ifndef TASKD_METRICS_H
#define TASKD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define METRICS_LABELS_MAX  4
#define METRICS_BUCKETS_MAX 32
#define METRICS_LABEL_MAX   128 /* bytes of one label value; longer values are cut */
#define METRICS_OVERFLOW    "_overflow"

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics_spec {
    /* [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's name ends in _total. Copied. */
    const char *name;
    const char *help; /* one line for # HELP (escaped when written); copied */
    enum metrics_type type;
    /* Label names, [a-zA-Z_][a-zA-Z0-9_]* and not starting "__", "le" reserved for
     * histograms; unused entries NULL. Copied. */
    const char *labels[METRICS_LABELS_MAX];
    /* Histograms: the buckets' upper bounds, finite and strictly increasing (the +Inf bucket
     * is added); at most METRICS_BUCKETS_MAX. Copied. Ignored for the other types. */
    const double *buckets;
    size_t nbuckets;
    /* The cardinality bound: series beyond it share the overflow series. 1..4096; a family
     * without labels has exactly one series. */
    size_t max_series;
    /* Counters only: the value is read from elsewhere by a collector (metrics_set), such as
     * the CPU time the kernel counts, instead of counted here (metrics_add_count). */
    bool collected;
};

struct metrics;
struct metrics_family;
struct metrics_series;

/* An empty registry. 0 or ERR_NOMEM. */
int metrics_new(struct metrics **out);
/* Frees the registry, its families and series. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Adds a family, written in the order added. *out is owned by m. 0, ERR_INVALID (a bad name,
 * label, bucket list or bound, or a name already added) or ERR_NOMEM. Not for the hot path:
 * add families when the stage starts. */
int metrics_add(struct metrics *m, const struct metrics_spec *spec, struct metrics_family **out);

/* The series of these label values (one per label of the family, in order; NULL reads as ""),
 * made on first use. Values are copied, cut at METRICS_LABEL_MAX bytes. When the family is
 * full, the overflow series. *out lives as long as m. 0, or ERR_NOMEM (*out is then the
 * overflow series, so a caller that ignores the error still counts somewhere). Safe from any
 * thread. */
int metrics_series(struct metrics_family *f, const char *const *values,
                   struct metrics_series **out);

/* Counters: adds n. Gauges, histograms and collected counters: ignored. */
void metrics_add_count(struct metrics_series *s, uint64_t n);
/* Gauges and collected counters: sets the value (NaN says "unknown"). Others: ignored. */
void metrics_set(struct metrics_series *s, double v);
/* Histograms: counts one observation of v in the first bucket whose bound is >= v, and adds
 * it to the sum. NaN is ignored. Others: ignored. */
void metrics_observe(struct metrics_series *s, double v);

/* The value now: a counter's count, a gauge's value, a histogram's number of observations.
 * For tests and for code that reads what it counted. */
double metrics_value(const struct metrics_series *s);
/* A histogram's bucket i (0..nbuckets; nbuckets is +Inf): observations counted in it alone,
 * not cumulatively. 0 for other types or i out of range. */
uint64_t metrics_bucket_count(const struct metrics_series *s, size_t i);
/* A histogram's sum of observations. */
double metrics_sum(const struct metrics_series *s);
/* The number of series in f, the overflow series not counted. */
size_t metrics_series_count(const struct metrics_family *f);

/* Registers collect(ctx), run at every metrics_expose before anything is written, in the order
 * registered; it sets gauges from where the values live. A collector that fails should set its
 * gauges to NaN (unknown) and return non-zero: the exposition goes on, and counts the failure
 * in metrics_collect_errors_total. release(ctx), when not NULL, runs when m is freed, or at
 * once when this fails. 0 or ERR_NOMEM. */
int metrics_on_collect(struct metrics *m, int (*collect)(void *ctx), void *ctx,
                       void (*release)(void *ctx));

/* Runs the collectors, then appends every family in text format 0.0.4 to out. Scrapes may run
 * at the same time as each other (collectors must allow that) and as the hot path. 0 or
 * ERR_NOMEM. */
int metrics_expose(struct metrics *m, struct buf *out);

/* Writes v as the text format wants a sample value: the shortest text that reads back as the
 * same double, "+Inf", "-Inf" or "NaN". dst[cap] holds at least 32 bytes. */
void metrics_format_double(double v, char *dst, size_t cap);

/* Appends s as a label value: \ " and newline escaped (\\ \" \n). */
int metrics_escape_label(struct buf *out, const char *s);

#endif
