/* process_metrics.h — the standard process_* series, read from /proc at every scrape.
 *
 * Every Prometheus client library exports the same few numbers about its process, under the
 * same names, so that one dashboard and one alert ("memory keeps growing", "file descriptors
 * running out") serve every service: CPU seconds used, resident and virtual memory, when it
 * started, and its open and allowed file descriptors. The kernel already counts all of them;
 * this module reads them (Linux's /proc/self/stat, /proc/stat, /proc/self/fd) when metrics are
 * exposed, and never on the request path. */
#ifndef TASKD_PROCESS_METRICS_H
#define TASKD_PROCESS_METRICS_H

#include <stdint.h>

struct metrics;

/* What /proc/self/stat says, in the kernel's units. */
struct process_stat {
    uint64_t utime_ticks, stime_ticks; /* CPU time in user and kernel mode, clock ticks */
    uint64_t start_ticks;              /* when the process started, ticks after boot */
    uint64_t vsize_bytes;              /* virtual memory */
    int64_t rss_pages;                 /* resident memory */
};

/* Parses the text of /proc/PID/stat. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses itself, so fields are counted from the last ')'. 0 or ERR_MALFORMED. */
int process_stat_parse(const char *text, struct process_stat *out);

/* Adds the process_* families to m and a collector that fills them. 0, ERR_NOMEM or
 * ERR_INVALID (a family of the same name was already added). */
int process_metrics_register(struct metrics *m);

#endif
