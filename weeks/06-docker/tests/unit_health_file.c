/* unit_health_file.c — the health file's line (health_file.h): written whole and atomically,
 * by a rename over the old file, never in place and never leaving a temporary file behind; and
 * checked the way taskd-probe file checks it: serving and recent is healthy, anything else is
 * not, with a line that says why. Each test works in a directory of its own under /tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "health_file.h"
#include "testkit.h"

#define T0 1733450000LL /* a time to write: the checks below are relative to it */

struct dir {
    char path[64];
    char file[96]; /* path/health */
};

static void dir_make(struct dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/taskd-health-XXXXXX");
    cr_assert(mkdtemp(d->path), "mkdtemp: %s", strerror(errno));
    snprintf(d->file, sizeof d->file, "%s/health", d->path);
}

/* How many entries the directory holds (besides . and ..), and the first one's name. */
static int dir_count(const struct dir *d, char *first, size_t first_len)
{
    DIR *dir = opendir(d->path);
    cr_assert(dir, "opendir %s: %s", d->path, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n++ == 0 && first)
            snprintf(first, first_len, "%s", e->d_name);
    }
    closedir(dir);
    return n;
}

static void dir_remove(struct dir *d)
{
    DIR *dir = opendir(d->path);
    if (!dir)
        return;
    for (struct dirent *e; (e = readdir(dir));) {
        char p[400];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            snprintf(p, sizeof p, "%s/%s", d->path, e->d_name) < (int)sizeof p)
            unlink(p);
    }
    closedir(dir);
    rmdir(d->path);
}

static void write_ok(const char *path, const char *state, const char *program, long long t)
{
    char why[512] = "";
    int rc = health_file_write(path, state, program, t, why, sizeof why);
    cr_assert_eq(rc, 0, "health_file_write(%s, %s, %s) = %s: %s", path, state, program, err_str(rc),
                 why);
}

static void expect_content(const char *path, const char *want)
{
    char *got = tk_read_file(path, NULL);
    cr_assert(got, "%s cannot be read: %s", path, strerror(errno));
    cr_assert_str_eq(got, want, "%s holds \"%s\", expected \"%s\"", path, got, want);
    free(got);
}

/* ---- writing ---- */

GRADED(health_file, write_makes_one_line_state_program_time, 2)
{
    struct dir d;
    dir_make(&d);
    write_ok(d.file, "serving", "taskd-worker", T0);
    expect_content(d.file, "serving taskd-worker 1733450000\n");
    char name[256] = "";
    int n = dir_count(&d, name, sizeof name);
    cr_assert_eq(n, 1, "the directory holds %d files after one write (a temporary file left?)", n);
    cr_assert_str_eq(name, "health");
    struct stat st;
    cr_assert(stat(d.file, &st) == 0);
    cr_assert((st.st_mode & 0444) == 0444,
              "the file is mode %o: a check run as another user cannot read it",
              (unsigned)(st.st_mode & 0777));
    dir_remove(&d);
}

GRADED(health_file, write_replaces_the_file_and_never_rewrites_it_in_place, 3)
{
    struct dir d;
    dir_make(&d);
    write_ok(d.file, "serving", "taskd-worker", T0);
    /* A reader that opened the file before the next write, as a check may have. */
    int fd = open(d.file, O_RDONLY);
    cr_assert(fd >= 0);
    struct stat before, after;
    cr_assert(fstat(fd, &before) == 0);
    write_ok(d.file, "stopping", "taskd-worker", T0 + 1);
    cr_assert(stat(d.file, &after) == 0);
    cr_assert_neq(before.st_ino, after.st_ino,
                  "the file kept its inode: it was rewritten in place, so a reader can see it "
                  "empty or half written (write a new file, then rename it over)");
    char old[128] = "";
    ssize_t n = pread(fd, old, sizeof old - 1, 0);
    close(fd);
    cr_assert(n > 0 && strcmp(old, "serving taskd-worker 1733450000\n") == 0,
              "a reader of the old file now reads \"%s\": it was changed under it", old);
    expect_content(d.file, "stopping taskd-worker 1733450001\n");
    cr_assert_eq(dir_count(&d, NULL, 0), 1, "a temporary file is left beside the health file");
    dir_remove(&d);
}

GRADED(health_file, write_refuses_words_a_line_could_break_on, 1)
{
    struct dir d;
    dir_make(&d);
    char why[256];
    const char *bad[][2] = {{"serving now", "taskd"},
                            {"serving", "taskd\nserving"},
                            {"", "taskd"},
                            {"serving", ""},
                            {"serving", "taskd worker"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        int rc = health_file_write(d.file, bad[i][0], bad[i][1], T0, why, sizeof why);
        cr_assert_eq(rc, ERR_INVALID, "state \"%s\" program \"%s\" was written (%s)", bad[i][0],
                     bad[i][1], err_str(rc));
        cr_assert(why[0], "refused without saying why");
    }
    cr_assert_eq(dir_count(&d, NULL, 0), 0, "a refused write left a file");
    dir_remove(&d);
}

GRADED(health_file, write_in_a_missing_directory_fails_saying_where, 1)
{
    struct dir d;
    dir_make(&d);
    char path[160], why[512] = "";
    snprintf(path, sizeof path, "%s/no-such-dir/health", d.path);
    int rc = health_file_write(path, "serving", "taskd-worker", T0, why, sizeof why);
    cr_assert_eq(rc, ERR_IO, "expected ERR_IO, got %s", err_str(rc));
    cr_assert(strstr(why, "no-such-dir") && strstr(why, "No such file"),
              "the reason does not name the file and the error: \"%s\"", why);
    dir_remove(&d);
}

/* ---- checking ---- */

/* health_file_check of a file holding text, at now with max_age; what goes into what. */
static int check_text(const char *text, long long now, int max_age, char *what, size_t what_len)
{
    struct dir d;
    dir_make(&d);
    FILE *f = fopen(d.file, "w");
    cr_assert(f && fputs(text, f) >= 0 && fclose(f) == 0);
    int rc = health_file_check(d.file, now, max_age, what, what_len);
    dir_remove(&d);
    return rc;
}

GRADED(health_check, serving_and_recent_is_healthy, 2)
{
    char what[512] = "";
    int rc = check_text("serving taskd-worker 1733450000\n", T0 + 30, 30, what, sizeof what);
    cr_assert_eq(rc, 0, "written 30 s ago with MAX_AGE 30: %s (%s)", err_str(rc), what);
    cr_assert(strstr(what, "serving") && strstr(what, "taskd-worker"), "what: \"%s\"", what);
    rc = check_text("serving taskd 1733450000", T0, 5, what, sizeof what);
    cr_assert_eq(rc, 0, "the line without its newline, just written: %s (%s)", err_str(rc), what);
}

GRADED(health_check, stopping_is_unhealthy_at_once, 2)
{
    char what[512] = "";
    int rc = check_text("stopping taskd-worker 1733450000\n", T0, 30, what, sizeof what);
    cr_assert_eq(rc, ERR_UNAVAILABLE, "a stopping worker was called %s (%s)",
                 rc == 0 ? "healthy" : err_str(rc), what);
    cr_assert(strstr(what, "stopping"), "the reason does not say it is stopping: \"%s\"", what);
}

GRADED(health_check, older_than_max_age_is_unhealthy_and_says_how_old, 3)
{
    char what[512] = "";
    int rc = check_text("serving taskd-worker 1733450000\n", T0 + 31, 30, what, sizeof what);
    cr_assert_eq(rc, ERR_UNAVAILABLE, "written 31 s ago with MAX_AGE 30: called %s (%s)",
                 rc == 0 ? "healthy" : err_str(rc), what);
    cr_assert(strstr(what, "31 s"), "the reason does not say how old it is (31 s): \"%s\"", what);
}

GRADED(health_check, dated_in_the_future_is_unhealthy, 1)
{
    char what[512] = "";
    int rc = check_text("serving taskd-worker 1733450000\n", T0 - 3600, 30, what, sizeof what);
    cr_assert_eq(rc, ERR_UNAVAILABLE,
                 "a file dated an hour ahead was called %s (%s): after the clock is set back it "
                 "would look fresh for an hour whatever became of the worker",
                 rc == 0 ? "healthy" : err_str(rc), what);
}

static void expect_refused(const char *text)
{
    char what[512] = "";
    int rc = check_text(text, T0, 30, what, sizeof what);
    cr_assert_neq(rc, 0, "the file \"%s\" was called healthy", text);
    cr_assert(strstr(what, "/tmp/taskd-health-"), "the reason does not name the file: \"%s\"",
              what);
}

GRADED_EACH(health_check, a_file_that_is_not_the_line_is_unhealthy, 2, expect_refused, "", "\n",
            "serving taskd-worker\n", "serving taskd-worker 17334x0000\n",
            "serving  taskd-worker 1733450000\n", "serving taskd-worker 1733450000\nserving\n",
            "serving taskd-worker -1733450000\n", "serving taskd-worker 1733450000\r\n",
            "serving taskd-worker 99999999999999999999999\n",
            "serving taskd-worker 1733450000 and a very long tail that goes on and on past the "
            "length of any line a health file holds, which is one hundred and twenty eight\n")

GRADED(health_check, a_missing_file_is_unhealthy_saying_so, 1)
{
    char what[512] = "";
    int rc = health_file_check("/tmp/taskd-no-such-health-file", T0, 30, what, sizeof what);
    cr_assert_eq(rc, ERR_IO, "expected ERR_IO, got %s", err_str(rc));
    cr_assert(strstr(what, "/tmp/taskd-no-such-health-file") && strstr(what, "No such file"),
              "the reason does not name the file and the error: \"%s\"", what);
}
