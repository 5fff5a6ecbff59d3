/* process_metrics.c — process_* series from /proc (process_metrics.h).
 *
 * The names and units are those of Prometheus's own client libraries (the Go client's process
 * collector): seconds and bytes, never ticks or pages, so that dashboards made for any service
 * read these too. When /proc cannot be read the values become NaN (unknown) and the collector
 * reports the failure, which metrics.c counts; a scrape never fails for it. */
#include "process_metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "metrics.h"

enum { CPU, RESIDENT, VIRTUAL, START, OPEN_FDS, MAX_FDS, N_SERIES };

static const struct metrics_spec specs[N_SERIES] = {
    [CPU] = {.name = "process_cpu_seconds_total",
             .help = "Total user and system CPU time spent in seconds.",
             .type = METRICS_COUNTER,
             .collected = true,
             .max_series = 1},
    [RESIDENT] = {.name = "process_resident_memory_bytes",
                  .help = "Resident memory size in bytes.",
                  .type = METRICS_GAUGE,
                  .max_series = 1},
    [VIRTUAL] = {.name = "process_virtual_memory_bytes",
                 .help = "Virtual memory size in bytes.",
                 .type = METRICS_GAUGE,
                 .max_series = 1},
    [START] = {.name = "process_start_time_seconds",
               .help = "Start time of the process since unix epoch in seconds.",
               .type = METRICS_GAUGE,
               .max_series = 1},
    [OPEN_FDS] = {.name = "process_open_fds",
                  .help = "Number of open file descriptors.",
                  .type = METRICS_GAUGE,
                  .max_series = 1},
    [MAX_FDS] = {.name = "process_max_fds",
                 .help = "Maximum number of open file descriptors.",
                 .type = METRICS_GAUGE,
                 .max_series = 1},
};

struct process_metrics {
    struct metrics_series *series[N_SERIES];
};

int process_stat_parse(const char *text, struct process_stat *out)
{
    const char *p = text ? strrchr(text, ')') : NULL;
    if (!p)
        return ERR_MALFORMED;
    /* After ')' come fields 3 (state), 4, 5...; proc(5) numbers them. */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    int got = sscanf(p + 1,
                     "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s" /* fields 3-13 */
                     " %llu %llu"                                  /* 14 utime, 15 stime */
                     " %*s %*s %*s %*s %*s %*s"                    /* 16-21 */
                     " %llu %llu %lld",                            /* 22 start, vsize, rss */
                     &utime, &stime, &start, &vsize, &rss);
    if (got != 5)
        return ERR_MALFORMED;
    *out = (struct process_stat){.utime_ticks = utime,
                                 .stime_ticks = stime,
                                 .start_ticks = start,
                                 .vsize_bytes = vsize,
                                 .rss_pages = rss};
    return 0;
}

/* The whole of a small /proc file, NUL-terminated, in dst[cap]. 0 or ERR_IO. */
static int read_small(const char *path, char *dst, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return ERR_IO;
    size_t n = fread(dst, 1, cap - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return ERR_IO;
    dst[n] = '\0';
    return 0;
}

/* The boot time, seconds since the epoch (/proc/stat's btime). */
static int boot_time(double *out)
{
    char text[16384];
    if (read_small("/proc/stat", text, sizeof text) != 0)
        return ERR_IO;
    const char *b = strstr(text, "\nbtime ");
    unsigned long long secs = 0;
    if (!b || sscanf(b, "\nbtime %llu", &secs) != 1)
        return ERR_MALFORMED;
    *out = (double)secs;
    return 0;
}

static int open_fds(double *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return ERR_IO;
    long n = 0;
    for (const struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    *out = (double)(n - 1); /* not the one opendir holds */
    return 0;
}

static int collect(void *ctx)
{
    struct metrics_series **s = ((struct process_metrics *)ctx)->series;
    double ticks = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    double btime = NAN, fds = NAN;
    struct process_stat st;
    char text[1024];
    int rc = read_small("/proc/self/stat", text, sizeof text);
    if (rc == 0)
        rc = process_stat_parse(text, &st);
    if (rc == 0) {
        metrics_set(s[CPU], (double)(st.utime_ticks + st.stime_ticks) / ticks);
        metrics_set(s[RESIDENT], (double)st.rss_pages * page);
        metrics_set(s[VIRTUAL], (double)st.vsize_bytes);
    } else {
        metrics_set(s[CPU], NAN);
        metrics_set(s[RESIDENT], NAN);
        metrics_set(s[VIRTUAL], NAN);
    }
    int brc = boot_time(&btime);
    metrics_set(s[START], rc == 0 && brc == 0 ? btime + (double)st.start_ticks / ticks : NAN);
    int frc = open_fds(&fds);
    metrics_set(s[OPEN_FDS], fds);
    struct rlimit lim;
    int lrc = getrlimit(RLIMIT_NOFILE, &lim);
    metrics_set(s[MAX_FDS], lrc == 0 && lim.rlim_cur != RLIM_INFINITY ? (double)lim.rlim_cur : NAN);
    return rc != 0 ? rc : brc != 0 ? brc : frc != 0 ? frc : lrc != 0 ? ERR_IO : 0;
}

int process_metrics_register(struct metrics *m)
{
    struct process_metrics *pm = calloc(1, sizeof *pm);
    if (!pm)
        return ERR_NOMEM;
    for (size_t i = 0; i < N_SERIES; i++) {
        struct metrics_family *f = NULL;
        int rc = metrics_add(m, &specs[i], &f);
        if (rc == 0)
            rc = metrics_series(f, NULL, &pm->series[i]);
        if (rc != 0) {
            free(pm);
            return rc;
        }
    }
    return metrics_on_collect(m, collect, pm, free); /* m frees pm, even when this fails */
}
