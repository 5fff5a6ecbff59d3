/* Lab copy of weeks/09-nginx-monitoring/src/metrics.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/09-nginx-monitoring/README.md explains them. */
/* metrics.c — the registry of counters, gauges and histograms, and its exposition (metrics.h).
 *
 * A family finds its series in an open-addressing hash table of atomic pointers, sized to twice
 * its max_series so that it never fills: a lookup reads slots with acquire loads until it finds
 * the series or an empty slot, and takes no lock. Creation takes the family's mutex, looks
 * again (another thread may have just made the same series), fills the series, then publishes
 * it with release stores: first in the list that the exposition walks, then in the table. A
 * reader that sees the pointer therefore sees a finished series. Nothing is ever removed, so no
 * reader can hold a pointer to freed memory.
 *
 * Values are 64-bit atomics: a counter's count as an integer, a gauge's value and a histogram's
 * sum as the bits of a double (C11 has no atomic add for doubles: the sum is a compare-and-swap
 * loop). A histogram counts each observation in its own bucket only; the exposition makes the
 * buckets cumulative, as the format wants, from one read of each. */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#define SERIES_MAX_BOUND 4096

struct metrics_series {
    const struct metrics_family *family;
    uint64_t hash;
    char *values[METRICS_LABELS_MAX];
    size_t lens[METRICS_LABELS_MAX];
    _Atomic uint64_t value;    /* counter: the count; gauge, collected counter: double bits */
    _Atomic uint64_t sum_bits; /* histogram: the sum, as double bits */
    _Atomic uint64_t *buckets; /* histogram: nbuckets + 1 counts, the last one +Inf */
};

struct metrics_family {
    char *name;
    char *help;
    enum metrics_type type;
    bool collected;
    size_t nlabels;
    char *labels[METRICS_LABELS_MAX];
    double bounds[METRICS_BUCKETS_MAX];
    size_t nbuckets;
    size_t max_series;
    pthread_mutex_t lock; /* creating a series */
    _Atomic(struct metrics_series *) *table;
    size_t mask;                  /* table size - 1 (a power of two) */
    struct metrics_series **list; /* max_series entries, in the order made */
    _Atomic size_t n;             /* entries of list published */
    struct metrics_series *overflow;
    struct metrics_family *next;
};

struct collector {
    int (*fn)(void *ctx);
    void *ctx;
    void (*release)(void *ctx);
};

struct metrics {
    struct metrics_family *first, *last;
    struct collector *collectors;
    size_t ncollectors;
    struct metrics_series *collect_errors; /* metrics_collect_errors_total */
};

/* ------------------------------------------------------------------ values as bits */

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double double_of(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ------------------------------------------------------------------ names */

static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool letter =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!letter && !(p > s && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The spec's faults, in the words an author needs; NULL when it is good. */
static const char *spec_fault(const struct metrics_spec *spec, size_t *nlabels)
{
    if (!name_ok(spec->name, true))
        return "name";
    if (!spec->help || !*spec->help)
        return "help";
    if (spec->type == METRICS_COUNTER && !ends_with(spec->name, "_total"))
        return "counter name without _total";
    if (spec->type != METRICS_COUNTER && ends_with(spec->name, "_total"))
        return "_total on a non-counter";
    *nlabels = 0;
    while (*nlabels < METRICS_LABELS_MAX && spec->labels[*nlabels])
        (*nlabels)++;
    for (size_t i = 0; i < *nlabels; i++) {
        const char *l = spec->labels[i];
        if (!name_ok(l, false) || strncmp(l, "__", 2) == 0)
            return "label name";
        if (spec->type == METRICS_HISTOGRAM && strcmp(l, "le") == 0)
            return "label le on a histogram";
        for (size_t j = 0; j < i; j++)
            if (strcmp(l, spec->labels[j]) == 0)
                return "label named twice";
    }
    if (spec->max_series < 1 || spec->max_series > SERIES_MAX_BOUND)
        return "max_series";
    if (spec->type == METRICS_HISTOGRAM) {
        if (!spec->buckets || spec->nbuckets < 1 || spec->nbuckets > METRICS_BUCKETS_MAX)
            return "buckets";
        for (size_t i = 0; i < spec->nbuckets; i++)
            if (!isfinite(spec->buckets[i]) || (i > 0 && spec->buckets[i] <= spec->buckets[i - 1]))
                return "buckets not finite and increasing";
    }
    return NULL;
}

/* ------------------------------------------------------------------ series */

static uint64_t hash_values(const char *const *values, const size_t *lens, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < lens[i]; j++) {
            h ^= (unsigned char)values[i][j];
            h *= 1099511628211ULL;
        }
        h ^= 0xff; /* a separator no value holds: ("ab","c") and ("a","bc") differ */
        h *= 1099511628211ULL;
    }
    return h;
}

static bool same_values(const struct metrics_series *s, const char *const *values,
                        const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s->lens[i] != lens[i] || memcmp(s->values[i], values[i], lens[i]) != 0)
            return false;
    return true;
}

static void series_free(struct metrics_series *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < METRICS_LABELS_MAX; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static struct metrics_series *series_new(const struct metrics_family *f, const char *const *values,
                                         const size_t *lens, uint64_t hash)
{
    struct metrics_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->family = f;
    s->hash = hash;
    for (size_t i = 0; i < f->nlabels; i++) {
        if (!(s->values[i] = malloc(lens[i] + 1)))
            goto fail;
        memcpy(s->values[i], values[i], lens[i]);
        s->values[i][lens[i]] = '\0';
        s->lens[i] = lens[i];
    }
    if (f->type == METRICS_HISTOGRAM && !(s->buckets = calloc(f->nbuckets + 1, sizeof *s->buckets)))
        goto fail;
    atomic_init(&s->value, f->type == METRICS_COUNTER && !f->collected ? 0 : bits_of(0.0));
    atomic_init(&s->sum_bits, bits_of(0.0));
    return s;
fail:
    series_free(s);
    return NULL;
}

static struct metrics_series *find(struct metrics_family *f, const char *const *values,
                                   const size_t *lens, uint64_t hash)
{
    /* The table is twice max_series and never holds more: an empty slot always ends the walk. */
    for (size_t i = hash & f->mask;; i = (i + 1) & f->mask) {
        struct metrics_series *s = atomic_load_explicit(&f->table[i], memory_order_acquire);
        if (!s)
            return NULL;
        if (s->hash == hash && same_values(s, values, lens, f->nlabels))
            return s;
    }
}

/* Publishes s (made under f->lock): in the list first, so that every series a lookup can find
 * is also one the exposition writes. */
static void publish(struct metrics_family *f, struct metrics_series *s)
{
    size_t n = atomic_load_explicit(&f->n, memory_order_relaxed);
    f->list[n] = s;
    atomic_store_explicit(&f->n, n + 1, memory_order_release);
    size_t i = s->hash & f->mask;
    while (atomic_load_explicit(&f->table[i], memory_order_relaxed))
        i = (i + 1) & f->mask;
    atomic_store_explicit(&f->table[i], s, memory_order_release);
}

int metrics_series(struct metrics_family *f, const char *const *values, struct metrics_series **out)
{
    const char *vals[METRICS_LABELS_MAX] = {"", "", "", ""};
    size_t lens[METRICS_LABELS_MAX] = {0};
    for (size_t i = 0; i < f->nlabels; i++) {
        vals[i] = values && values[i] ? values[i] : "";
        lens[i] = strnlen(vals[i], METRICS_LABEL_MAX);
    }
    uint64_t hash = hash_values(vals, lens, f->nlabels);
    struct metrics_series *s = find(f, vals, lens, hash);
    if (s) {
        *out = s;
        return 0;
    }
    int rc = 0;
    pthread_mutex_lock(&f->lock);
    if (!(s = find(f, vals, lens, hash))) {
        if (atomic_load_explicit(&f->n, memory_order_relaxed) >= f->max_series) {
            s = f->overflow;
        } else if ((s = series_new(f, vals, lens, hash))) {
            publish(f, s);
        } else {
            s = f->overflow;
            rc = ERR_NOMEM;
        }
    }
    pthread_mutex_unlock(&f->lock);
    *out = s;
    return rc;
}

/* ------------------------------------------------------------------ values */

static bool counted(const struct metrics_series *s)
{
    return s->family->type == METRICS_COUNTER && !s->family->collected;
}

void metrics_add_count(struct metrics_series *s, uint64_t n)
{
    if (s && counted(s))
        atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void metrics_set(struct metrics_series *s, double v)
{
    if (s && s->family->type != METRICS_HISTOGRAM && !counted(s))
        atomic_store_explicit(&s->value, bits_of(v), memory_order_relaxed);
}

void metrics_observe(struct metrics_series *s, double v)
{
    if (!s || s->family->type != METRICS_HISTOGRAM || isnan(v))
        return;
    const struct metrics_family *f = s->family;
    /* TODO(lab 9.1): Count v in its bucket (the first bound >= v, else +Inf); add v to the sum. */
    (void)f;
}

double metrics_value(const struct metrics_series *s)
{
    if (!s)
        return 0;
    if (s->family->type == METRICS_HISTOGRAM) {
        uint64_t n = 0;
        for (size_t i = 0; i <= s->family->nbuckets; i++)
            n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        return (double)n;
    }
    uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
    return counted(s) ? (double)v : double_of(v);
}

uint64_t metrics_bucket_count(const struct metrics_series *s, size_t i)
{
    if (!s || s->family->type != METRICS_HISTOGRAM || i > s->family->nbuckets)
        return 0;
    return atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
}

double metrics_sum(const struct metrics_series *s)
{
    if (!s || s->family->type != METRICS_HISTOGRAM)
        return 0;
    return double_of(atomic_load_explicit(&s->sum_bits, memory_order_relaxed));
}

size_t metrics_series_count(const struct metrics_family *f)
{
    return f ? atomic_load_explicit(&((struct metrics_family *)f)->n, memory_order_acquire) : 0;
}

/* ------------------------------------------------------------------ the registry */

static void family_free(struct metrics_family *f)
{
    if (!f)
        return;
    size_t n = atomic_load_explicit(&f->n, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        series_free(f->list[i]);
    series_free(f->overflow);
    free(f->list);
    free((void *)f->table);
    for (size_t i = 0; i < METRICS_LABELS_MAX; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static struct metrics_family *family_new(const struct metrics_spec *spec, size_t nlabels)
{
    struct metrics_family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->type = spec->type;
    f->collected = spec->type == METRICS_COUNTER && spec->collected;
    f->nlabels = nlabels;
    f->max_series = nlabels == 0 ? 1 : spec->max_series;
    if (spec->type == METRICS_HISTOGRAM) {
        f->nbuckets = spec->nbuckets;
        memcpy(f->bounds, spec->buckets, spec->nbuckets * sizeof *spec->buckets);
    }
    size_t size = 2;
    while (size < 2 * f->max_series)
        size *= 2;
    f->mask = size - 1;
    f->table = calloc(size, sizeof *f->table);
    f->list = calloc(f->max_series, sizeof *f->list);
    f->name = strdup(spec->name);
    f->help = strdup(spec->help);
    bool ok = f->table && f->list && f->name && f->help;
    for (size_t i = 0; ok && i < nlabels; i++)
        ok = (f->labels[i] = strdup(spec->labels[i])) != NULL;
    const char *over[METRICS_LABELS_MAX] = {METRICS_OVERFLOW, METRICS_OVERFLOW, METRICS_OVERFLOW,
                                            METRICS_OVERFLOW};
    size_t over_lens[METRICS_LABELS_MAX];
    for (size_t i = 0; i < METRICS_LABELS_MAX; i++)
        over_lens[i] = strlen(METRICS_OVERFLOW);
    if (ok)
        ok = (f->overflow = series_new(f, over, over_lens, 0)) != NULL;
    if (!ok) {
        family_free(f);
        return NULL;
    }
    return f;
}

int metrics_add(struct metrics *m, const struct metrics_spec *spec, struct metrics_family **out)
{
    if (out)
        *out = NULL;
    if (!m || !spec || !out)
        return ERR_INVALID;
    size_t nlabels = 0;
    if (spec_fault(spec, &nlabels))
        return ERR_INVALID;
    for (const struct metrics_family *f = m->first; f; f = f->next)
        if (strcmp(f->name, spec->name) == 0)
            return ERR_INVALID;
    struct metrics_family *f = family_new(spec, nlabels);
    if (!f)
        return ERR_NOMEM;
    struct metrics_series *s = NULL;
    /* A family without labels has its one series from the start: a 0 is a value worth seeing. */
    if (nlabels == 0 && metrics_series(f, NULL, &s) != 0) {
        family_free(f);
        return ERR_NOMEM;
    }
    if (m->last)
        m->last->next = f;
    else
        m->first = f;
    m->last = f;
    *out = f;
    return 0;
}

int metrics_new(struct metrics **out)
{
    *out = NULL;
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return ERR_NOMEM;
    const struct metrics_spec errors = {
        .name = "metrics_collect_errors_total",
        .help = "Scrapes in which a value could not be read (it shows as NaN).",
        .type = METRICS_COUNTER,
        .max_series = 1,
    };
    struct metrics_family *f = NULL;
    int rc = metrics_add(m, &errors, &f);
    if (rc != 0) {
        metrics_free(m);
        return rc;
    }
    m->collect_errors = f->list[0];
    *out = m;
    return 0;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (struct metrics_family *f = m->first, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    for (size_t i = 0; i < m->ncollectors; i++)
        if (m->collectors[i].release)
            m->collectors[i].release(m->collectors[i].ctx);
    free(m->collectors);
    free(m);
}

int metrics_on_collect(struct metrics *m, int (*collect)(void *ctx), void *ctx,
                       void (*release)(void *ctx))
{
    struct collector *c = realloc(m->collectors, (m->ncollectors + 1) * sizeof *c);
    if (!c) {
        if (release)
            release(ctx);
        return ERR_NOMEM;
    }
    c[m->ncollectors++] = (struct collector){.fn = collect, .ctx = ctx, .release = release};
    m->collectors = c;
    return 0;
}

/* ------------------------------------------------------------------ the text format */

void metrics_format_double(double v, char *dst, size_t cap)
{
    if (isnan(v)) {
        snprintf(dst, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(dst, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* The shortest of 15, 16 or 17 significant digits that reads back as v: 0.1 stays "0.1",
     * and 0.1 + 0.2 is "0.30000000000000004", not a rounded lie. (%g follows the C locale,
     * which taskd never changes: the point is always '.'.) */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(dst, cap, "%.*g", digits, v);
        if (strtod(dst, NULL) == v)
            return;
    }
}

int metrics_escape_label(struct buf *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '"')
            buf_puts(out, "\\\"");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *p);
    }
    return out->failed ? ERR_NOMEM : 0;
}

/* # HELP escapes only \ and newline; a quote is plain text there. */
static void escape_help(struct buf *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *p);
    }
}

/* {a="x",b="y"} with le="bound" last when le is not NULL; nothing at all for no labels. */
static void write_labels(struct buf *out, const struct metrics_family *f,
                         const struct metrics_series *s, const char *le)
{
    if (f->nlabels == 0 && !le)
        return;
    buf_putc(out, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        metrics_escape_label(out, s->values[i]);
        buf_putc(out, '"');
    }
    if (le)
        buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    buf_putc(out, '}');
}

static void write_sample(struct buf *out, const struct metrics_family *f,
                         const struct metrics_series *s, const char *suffix, const char *le,
                         const char *value)
{
    buf_printf(out, "%s%s", f->name, suffix);
    write_labels(out, f, s, le);
    buf_printf(out, " %s\n", value);
}

static void write_histogram(struct buf *out, const struct metrics_family *f,
                            const struct metrics_series *s)
{
    char le[32], value[32];
    /* TODO(lab 9.2): Cumulative buckets (le=bound..., then le="+Inf"), then _sum and _count. */
    (void)le; (void)value;
}

static void write_series(struct buf *out, const struct metrics_family *f,
                         const struct metrics_series *s)
{
    char value[32];
    if (f->type == METRICS_HISTOGRAM) {
        write_histogram(out, f, s);
        return;
    }
    if (counted(s))
        snprintf(value, sizeof value, "%llu",
                 (unsigned long long)atomic_load_explicit(&s->value, memory_order_relaxed));
    else
        metrics_format_double(metrics_value(s), value, sizeof value);
    write_sample(out, f, s, "", NULL, value);
}

static const char *type_name(enum metrics_type t)
{
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

/* The overflow series is written only once something went to it. */
static bool overflow_used(const struct metrics_family *f)
{
    return f->nlabels > 0 && metrics_value(f->overflow) != 0;
}

int metrics_expose(struct metrics *m, struct buf *out)
{
    for (size_t i = 0; i < m->ncollectors; i++)
        if (m->collectors[i].fn(m->collectors[i].ctx) != 0)
            metrics_add_count(m->collect_errors, 1);
    for (struct metrics_family *f = m->first; f; f = f->next) {
        size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
        bool overflow = overflow_used(f);
        if (n == 0 && !overflow)
            continue; /* a family no one has used yet: nothing to say */
        buf_printf(out, "# HELP %s ", f->name);
        escape_help(out, f->help);
        buf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        for (size_t i = 0; i < n; i++)
            write_series(out, f, f->list[i]);
        if (overflow)
            write_series(out, f, f->overflow);
    }
    return out->failed ? ERR_NOMEM : 0;
}
