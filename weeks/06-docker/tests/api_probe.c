/* api_probe.c — black-box tests of stage 6's healthchecks: the real taskd-probe against the
 * real programs, as a container engine would run it (its exit status, its one line).
 *
 * taskd is checked over HTTP: /health and /ready of a running server are healthy; a closed
 * port is not, in one line on stderr naming the request; /ready is not while PostgreSQL is
 * down (a cluster of the test's own, killed), while /health still is. taskd-worker is checked
 * through its health file (HEALTH_FILE): it appears once the worker serves, its time moves on
 * while the loop turns, it goes stale while the worker is frozen (SIGSTOP) and fresh again
 * after SIGCONT, and it says "stopping" from SIGTERM on; `taskd-probe file` says 0, then 1.
 * Every wait is bounded, and polls for what it waits for. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_pg_helpers.h"
#include "testkit.h"

/* ---- running taskd-probe ---- */

/* Runs taskd-probe with args (NULL-terminated); its output into out: stdout and stderr, or
 * only stderr with stderr_only (stdout goes to /dev/null, through sh). Returns its status. */
static int probe(const char *const *args, bool stderr_only, char *out, size_t len)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s", tk_bin_beside("taskd-probe", "TASKD_PROBE_BIN"));
    const char *argv[16];
    size_t n = 0;
    if (stderr_only) {
        argv[n++] = "/bin/sh";
        argv[n++] = "-c";
        argv[n++] = "exec \"$0\" \"$@\" >/dev/null";
    }
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tk_run(argv, NULL, out, len);
}

/* The port in "http://127.0.0.1:PORT". */
static const char *port_of(const struct tk_server *s)
{
    const char *colon = strrchr(tk_server_url(s), ':');
    return colon ? colon + 1 : "";
}

/* out is exactly one line: text, then one newline at its end. */
static void expect_one_line(const char *out, const char *what)
{
    const char *nl = strchr(out, '\n');
    cr_assert(nl && nl[1] == '\0', "%s: expected one line of output, got:\n%s", what, out);
    cr_assert(strncmp(out, "taskd-probe: ", 13) == 0, "%s: the line does not say who speaks: %s",
              what, out);
}

/* ---- HTTP ---- */

GRADED(probe_http, health_and_ready_of_a_running_taskd_are_healthy, 3)
{
    struct tk_server *s = tk_shared();
    char out[1024], want[128];
    int rc = probe((const char *[]){"http", port_of(s), NULL}, false, out, sizeof out);
    cr_assert_eq(rc, 0, "taskd-probe http %s: exit %d, expected 0 (healthy):\n%s", port_of(s), rc,
                 out);
    expect_one_line(out, "healthy /health");
    snprintf(want, sizeof want, "GET /health on 127.0.0.1:%s answered 200", port_of(s));
    cr_assert(strstr(out, want), "expected \"%s\", got: %s", want, out);
    rc = probe((const char *[]){"http", port_of(s), "/ready", NULL}, false, out, sizeof out);
    cr_assert_eq(rc, 0, "taskd-probe http %s /ready: exit %d, expected 0:\n%s", port_of(s), rc,
                 out);
    snprintf(want, sizeof want, "GET /ready on 127.0.0.1:%s answered 200", port_of(s));
    cr_assert(strstr(out, want), "expected \"%s\", got: %s", want, out);
}

GRADED(probe_http, a_closed_port_is_unhealthy_in_one_line_on_stderr, 2)
{
    /* A port that was just free: bound to learn its number, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    char port[16], out[1024], want[128];
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(sa.sin_port));
    int rc = probe((const char *[]){"http", port, NULL}, true, out, sizeof out);
    cr_assert_eq(rc, 1, "taskd-probe http %s with nothing listening: exit %d, expected 1:\n%s",
                 port, rc, out);
    expect_one_line(out, "a closed port, on stderr");
    snprintf(want, sizeof want, "GET /health on 127.0.0.1:%s: ", port);
    cr_assert(strstr(out, want) && strstr(out, "refused"),
              "expected a line naming the request (\"%s\") and saying the connection was refused, "
              "got: %s",
              want, out);
}

static char run_dir[64]; /* the outage test's cluster, "" when none */
static struct tk_server *outage_server;

static void outage_cleanup(void)
{
    if (outage_server) {
        tk_server_stop(outage_server);
        outage_server = NULL;
    }
    pg_api_cluster_destroy(run_dir);
}

static void outage_fini(void)
{
    outage_cleanup();
}

GRADED(probe_http, ready_is_unhealthy_while_postgresql_is_down, 3, .fini = outage_fini)
{
    cr_assert(atexit(outage_cleanup) == 0, "test bug: atexit failed");
    char url[512], db_env[600];
    pg_api_cluster_start("probe", run_dir, sizeof run_dir, url, sizeof url);
    snprintf(db_env, sizeof db_env, "DATABASE_URL=%s", url);
    outage_server = tk_server_start((const char *const[]){
        db_env, "DB_CONNECT_TIMEOUT_SECONDS=1", "DB_POOL_WAIT_MS=500", "AUTO_MIGRATE=1", NULL});
    const char *port = port_of(outage_server);
    char out[1024];
    int rc = probe((const char *[]){"http", port, "/ready", NULL}, false, out, sizeof out);
    cr_assert_eq(rc, 0, "/ready with PostgreSQL up: exit %d:\n%s", rc, out);

    pg_api_services(run_dir, "kill", "postgres", NULL, 0);
    /* A pooled connection may need a moment to be found dead: poll, 10 s at most. */
    bool said_503 = false;
    for (long deadline = tk_now_ms() + 10000; !said_503 && tk_now_ms() < deadline;) {
        rc = probe((const char *[]){"http", port, "/ready", NULL}, true, out, sizeof out);
        said_503 = rc == 1 && strstr(out, "answered 503");
        if (!said_503)
            tk_sleep_ms(200);
    }
    cr_assert(said_503,
              "taskd-probe http %s /ready with PostgreSQL killed: expected exit 1 and a line "
              "saying it answered 503 within 10 s, last exit %d:\n%s",
              port, rc, out);
    expect_one_line(out, "/ready 503");
    rc = probe((const char *[]){"http", port, "/health", NULL}, false, out, sizeof out);
    cr_assert_eq(rc, 0,
                 "/health with PostgreSQL down: exit %d, expected 0 (the process answers: "
                 "restarting it would not bring the database back):\n%s",
                 rc, out);
}

GRADED(probe_http, usage_errors_exit_2_with_the_usage, 1)
{
    char out[4096];
    static const char *const bad[][4] = {
        {NULL}, {"http", "0", NULL}, {"http", "8080", "ready", NULL}, {"file", "/x", "0", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[128] = "";
        for (size_t k = 0; bad[i][k]; k++)
            snprintf(args + strlen(args), sizeof args - strlen(args), " %s", bad[i][k]);
        int rc = probe(bad[i], true, out, sizeof out);
        cr_assert_eq(rc, 2, "taskd-probe%s: exit %d, expected 2 (usage):\n%s", args, rc, out);
        cr_assert(strstr(out, "usage: taskd-probe"), "taskd-probe%s: no usage on stderr:\n%s", args,
                  out);
    }
    int rc = probe((const char *[]){"--help", NULL}, false, out, sizeof out);
    cr_assert(rc == 0 && strstr(out, "usage: taskd-probe"), "--help: exit %d:\n%s", rc, out);
}

/* ---- the health file ---- */

GRADED(probe_file, both_programs_list_health_file_in_their_help, 1)
{
    tk_need_local("the stage's binaries, run with --help");
    char out[32768], taskd[512];
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    snprintf(taskd, sizeof taskd, "%s", bin);
    int rc = tk_run((const char *[]){taskd, "--help", NULL}, NULL, out, sizeof out);
    cr_assert(rc == 0 && strstr(out, "HEALTH_FILE"), "taskd --help (exit %d) lists no HEALTH_FILE",
              rc);
    rc = tk_run((const char *[]){tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN"), "--help", NULL},
                NULL, out, sizeof out);
    cr_assert(rc == 0 && strstr(out, "HEALTH_FILE"),
              "taskd-worker --help (exit %d) lists no HEALTH_FILE", rc);
}

struct health {
    char dir[64];
    char path[96];
    char env[128]; /* HEALTH_FILE=path */
};

static void health_make(struct health *h)
{
    snprintf(h->dir, sizeof h->dir, "/tmp/taskd-health-XXXXXX");
    cr_assert(mkdtemp(h->dir), "mkdtemp: %s", strerror(errno));
    snprintf(h->path, sizeof h->path, "%s/health", h->dir);
    snprintf(h->env, sizeof h->env, "HEALTH_FILE=%s", h->path);
}

static void health_remove(struct health *h)
{
    unlink(h->path);
    rmdir(h->dir);
}

/* Waits up to ms for the file to say state (for program) with a time after `after`; its time,
 * or -1 when it did not. */
static long long wait_state(const struct health *h, const char *state, const char *program,
                            long long after, long ms)
{
    long deadline = tk_now_ms() + ms;
    do {
        char *text = tk_read_file(h->path, NULL);
        char got_state[32], got_program[64];
        long long t = -1;
        bool match = text && sscanf(text, "%31s %63s %lld", got_state, got_program, &t) == 3 &&
                     strcmp(got_state, state) == 0 && strcmp(got_program, program) == 0 &&
                     t > after;
        free(text);
        if (match)
            return t;
        tk_sleep_ms(50);
    } while (tk_now_ms() < deadline);
    return -1;
}

static char *file_text(const struct health *h)
{
    char *text = tk_read_file(h->path, NULL);
    return text ? text : strdup("(no file)");
}

GRADED(probe_file, the_worker_file_appears_refreshes_and_says_stopping, 5)
{
    struct health h;
    health_make(&h);
    struct tk_server *s = tk_server_start(NULL);
    const char *argv[] = {tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN"), NULL};
    struct tk_proc *w = tk_proc_start_beside(s, argv, (const char *[]){h.env, NULL});
    long long first = wait_state(&h, "serving", "taskd-worker", 0, 30000);
    cr_assert(first > 0, "no \"serving taskd-worker TIME\" in HEALTH_FILE within 30 s: %s",
              file_text(&h));
    char out[1024];
    int rc = probe((const char *[]){"file", h.path, "5", NULL}, false, out, sizeof out);
    cr_assert_eq(rc, 0, "taskd-probe file %s 5 on a worker that serves: exit %d:\n%s", h.path, rc,
                 out);
    expect_one_line(out, "a serving worker");
    cr_assert(wait_state(&h, "serving", "taskd-worker", first, 5000) > first,
              "the file's time did not move on in 5 s although the loop turns every 0.5 s: %s",
              file_text(&h));

    cr_assert(kill(tk_proc_pid(w), SIGTERM) == 0);
    int status = tk_proc_stop(w, 0, 20000);
    cr_assert_eq(status, 0, "the worker did not exit 0 after SIGTERM (status %d)", status);
    char *text = file_text(&h);
    cr_assert(strncmp(text, "stopping taskd-worker ", 22) == 0,
              "after SIGTERM the file says \"%s\", expected \"stopping taskd-worker TIME\"", text);
    free(text);
    rc = probe((const char *[]){"file", h.path, "5", NULL}, true, out, sizeof out);
    cr_assert_eq(rc, 1, "taskd-probe file on a stopped worker: exit %d, expected 1:\n%s", rc, out);
    expect_one_line(out, "a stopped worker, on stderr");
    cr_assert(strstr(out, "stopping"), "the line does not say it is stopping: %s", out);
    cr_assert_eq(tk_server_stop(s), 0);
    health_remove(&h);
}

GRADED(probe_file, a_frozen_worker_goes_stale_and_recovers, 3)
{
    struct health h;
    health_make(&h);
    struct tk_server *s = tk_server_start(NULL);
    const char *argv[] = {tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN"), NULL};
    struct tk_proc *w = tk_proc_start_beside(s, argv, (const char *[]){h.env, NULL});
    cr_assert(wait_state(&h, "serving", "taskd-worker", 0, 30000) > 0,
              "no \"serving taskd-worker TIME\" in HEALTH_FILE within 30 s: %s", file_text(&h));
    /* Frozen, its loop cannot turn: a deadlock, or a job stuck for good, look the same. */
    cr_assert(kill(tk_proc_pid(w), SIGSTOP) == 0);
    char out[1024];
    int rc = 0;
    long frozen = tk_now_ms();
    while (rc != 1 && tk_now_ms() - frozen < 8000) {
        rc = probe((const char *[]){"file", h.path, "2", NULL}, true, out, sizeof out);
        if (rc != 1)
            tk_sleep_ms(200);
    }
    cr_assert_eq(rc, 1,
                 "taskd-probe file %s 2 still says healthy (exit %d) 8 s after the worker was "
                 "frozen:\n%s",
                 h.path, rc, out);
    cr_assert(strstr(out, "s ago"), "the line does not say how old the file is: %s", out);
    cr_assert(kill(tk_proc_pid(w), SIGCONT) == 0);
    long thawed = tk_now_ms();
    while (rc != 0 && tk_now_ms() - thawed < 5000) {
        rc = probe((const char *[]){"file", h.path, "2", NULL}, false, out, sizeof out);
        if (rc != 0)
            tk_sleep_ms(100);
    }
    cr_assert_eq(rc, 0, "still unhealthy 5 s after SIGCONT (exit %d):\n%s", rc, out);
    cr_assert_eq(tk_proc_stop(w, SIGTERM, 20000), 0);
    cr_assert_eq(tk_server_stop(s), 0);
    health_remove(&h);
}

GRADED(probe_file, taskd_writes_serving_then_stopping, 2)
{
    struct health h;
    health_make(&h);
    struct tk_server *s = tk_server_start((const char *[]){h.env, NULL});
    cr_assert(wait_state(&h, "serving", "taskd", 0, 5000) > 0,
              "taskd answers /health but its HEALTH_FILE says: %s", file_text(&h));
    cr_assert_eq(tk_server_stop(s), 0);
    char *text = file_text(&h);
    cr_assert(strncmp(text, "stopping taskd ", 15) == 0,
              "after SIGTERM taskd's file says \"%s\", expected \"stopping taskd TIME\"", text);
    free(text);
    health_remove(&h);
}
