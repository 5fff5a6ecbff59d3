/* unit_container.c — stage 6's lifecycle hooks (supervisor_container.h) as a program calls
 * them: serving writes the health file and still tells systemd (stage 5's hooks run too),
 * alive rewrites it at most once a second, stopping writes "stopping" and nothing follows, a
 * file that cannot be written is logged once and stops nothing, a file of an earlier run is
 * removed at start. Time is a fake clock (clock_set), so no test waits for a second to pass;
 * systemd is a fake NOTIFY_SOCKET (tk_notify.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "supervisor_container.h"
#include "testkit.h"
#include "timeutil.h"
#include "tk_notify.h"

#define T0_US 1733450000000000LL /* 1733450000 s */

static int64_t fake_us = T0_US;

static int64_t fake_now(void)
{
    return fake_us;
}

struct fx {
    char dir[64];
    char file[160]; /* HEALTH_FILE */
    struct config *cfg;
    struct lifecycle lc;
    struct tk_notify *n;
};

/* A directory of the test's own and HEALTH_FILE in it (or health_file as given, when not NULL),
 * a fake systemd and a fake clock at T0; then the provider's hooks, as a program opens them. */
static void open_with(struct fx *f, const char *health_file)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/taskd-container-XXXXXX");
    cr_assert(mkdtemp(f->dir), "mkdtemp: %s", strerror(errno));
    snprintf(f->file, sizeof f->file, "%s/health", f->dir);
    f->n = tk_notify_new(true);
    cr_assert(setenv("NOTIFY_SOCKET", tk_notify_address(f->n), 1) == 0);
    cr_assert(unsetenv("WATCHDOG_USEC") == 0 && unsetenv("TASKD_CONFIG_FILE") == 0);
    cr_assert(setenv("LOG_LEVEL", "info", 1) == 0);
    cr_assert(setenv("HEALTH_FILE", health_file ? health_file : f->file, 1) == 0);
    fake_us = T0_US;
    clock_set(fake_now);
    f->cfg = config_new();
    cr_assert(f->cfg && log_config_declare(f->cfg) == 0 &&
              supervisor_container.declare(f->cfg) == 0 && config_load(f->cfg, stderr) == 0);
    cr_assert_eq(supervisor_container.open(f->cfg, &f->lc), 0, "open: %s", log_last_error());
}

static void close_fx(struct fx *f)
{
    lifecycle_close(&f->lc);
    config_free(f->cfg);
    clock_set(NULL);
    unlink(f->file);
    rmdir(f->dir);
    tk_notify_free(f->n);
}

static void serve_worker(struct fx *f)
{
    lifecycle_serving(&f->lc, &(struct lifecycle_serving){.program = "taskd-worker"});
}

static void expect_file(const char *path, const char *want)
{
    char *got = tk_read_file(path, NULL);
    cr_assert(got, "%s is not there (%s); expected \"%s\"", path, strerror(errno), want);
    cr_assert_str_eq(got, want, "%s holds \"%s\", expected \"%s\"", path, got, want);
    free(got);
}

/* The inode of path now, or 0 when there is none. */
static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

GRADED(container, serving_writes_the_file_and_systemd_still_hears_ready, 3)
{
    struct fx f;
    open_with(&f, NULL);
    cr_assert_eq(inode_of(f.file), 0, "a health file exists before the program serves");
    serve_worker(&f);
    expect_file(f.file, "serving taskd-worker 1733450000\n");
    const char *m = tk_notify_wait(f.n, "READY=1", 5000, NULL);
    cr_assert(m, "no READY=1: stage 6 no longer calls stage 5's hooks (under systemd it would "
                 "never be started)");
    close_fx(&f);
}

GRADED(container, alive_rewrites_the_file_at_most_once_a_second, 3)
{
    struct fx f;
    open_with(&f, NULL);
    serve_worker(&f);
    /* Held open, the first file keeps its inode number: a rewrite is a new inode. */
    int fd = open(f.file, O_RDONLY);
    cr_assert(fd >= 0, "no health file after serving");
    struct stat first;
    cr_assert(fstat(fd, &first) == 0);
    for (int i = 0; i < 1000; i++) { /* the loop turning a thousand times in 0.999 s */
        fake_us = T0_US + i * 999;
        lifecycle_alive(&f.lc);
    }
    cr_assert_eq(inode_of(f.file), first.st_ino,
                 "the file was rewritten within a second of the last write: alive must write "
                 "at most once a second (the loop turns far more often)");
    fake_us = T0_US + 1000000;
    lifecycle_alive(&f.lc);
    cr_assert_neq(inode_of(f.file), first.st_ino, "no new file a second after the last one");
    expect_file(f.file, "serving taskd-worker 1733450001\n");
    /* The clock set back an hour: the next turn writes at once, with the new time. */
    fake_us = T0_US - 3600 * 1000000LL;
    lifecycle_alive(&f.lc);
    expect_file(f.file, "serving taskd-worker 1733446400\n");
    close(fd);
    close_fx(&f);
}

GRADED(container, stopping_writes_stopping_and_alive_writes_no_more, 2)
{
    struct fx f;
    open_with(&f, NULL);
    serve_worker(&f);
    fake_us = T0_US + 500000;
    lifecycle_stopping(&f.lc);
    expect_file(f.file, "stopping taskd-worker 1733450000\n");
    cr_assert(tk_notify_wait(f.n, "STOPPING=1", 5000, NULL), "no STOPPING=1 for systemd");
    for (int s = 2; s < 10; s++) { /* the loop finishing its job in hand */
        fake_us = T0_US + s * 1000000LL;
        lifecycle_alive(&f.lc);
    }
    expect_file(f.file, "stopping taskd-worker 1733450000\n");
    close_fx(&f);
}

/* Runs the hooks of a whole life with stderr on a pipe; returns what was logged. */
static void capture_life(struct fx *f, char *out, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    cr_assert(saved >= 0 && dup2(p[1], STDERR_FILENO) >= 0);
    serve_worker(f);
    for (int s = 1; s <= 20; s++) {
        fake_us = T0_US + s * 1000000LL;
        lifecycle_alive(&f->lc);
    }
    lifecycle_stopping(&f->lc);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

GRADED(container, an_unwritable_file_is_logged_once_and_stops_nothing, 3)
{
    struct fx f;
    char missing[200];
    snprintf(missing, sizeof missing, "/tmp/taskd-no-such-dir-%ld/health", (long)getpid());
    open_with(&f, missing);
    char log[16384];
    capture_life(&f, log, sizeof log); /* returning at all is "stops nothing" */
    int errors = count(log, "\"level\":\"error\"");
    cr_assert_eq(errors, 1,
                 "%d error lines for 22 failed writes (expected exactly one, naming the file):\n%s",
                 errors, log);
    cr_assert(strstr(log, "taskd-no-such-dir-"), "the error line does not name the file:\n%s", log);
    cr_assert(tk_notify_wait(f.n, "READY=1", 5000, NULL),
              "no READY=1: the failed write stopped the rest of serving");
    close_fx(&f);
}

GRADED(container, open_removes_the_file_of_an_earlier_run, 1)
{
    char dir[64], file[96];
    snprintf(dir, sizeof dir, "/tmp/taskd-container-XXXXXX");
    cr_assert(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/health", dir);
    FILE *old = fopen(file, "w");
    cr_assert(old && fputs("serving taskd-worker 1733450000\n", old) >= 0 && fclose(old) == 0);
    struct fx f;
    open_with(&f, file); /* a restarted container: its file system kept the last run's file */
    cr_assert_eq(inode_of(file), 0,
                 "the last run's \"serving\" is still there before this run serves: the check "
                 "would call a program that is still starting healthy");
    close_fx(&f);
    rmdir(dir);
}

GRADED(container, health_file_is_in_the_help_and_empty_means_none, 1)
{
    struct fx f;
    open_with(&f, ""); /* HEALTH_FILE= (compose's ${HEALTH_FILE:-}): accepted, and no file */
    serve_worker(&f);
    lifecycle_alive(&f.lc);
    lifecycle_stopping(&f.lc);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert(out);
    config_print_help(f.cfg, out);
    cr_assert(fclose(out) == 0);
    cr_assert(strstr(text, "HEALTH_FILE") && strstr(text, "taskd-probe file"),
              "--help does not list HEALTH_FILE with how it is checked:\n%s", text);
    free(text);
    close_fx(&f);
}
