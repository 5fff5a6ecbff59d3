/* api_systemd.c — black-box tests of stage 5 under a (fake) systemd.
 *
 * Each test starts taskd (or taskd-worker) with NOTIFY_SOCKET naming a datagram socket the test
 * bound itself (tk_notify.h), as systemd does for a Type=notify unit, and reads what the
 * service says: READY=1 only once it serves, WATCHDOG=1 only while it really answers,
 * RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM while the request under
 * way still completes. Every wait is bounded; the one count over time (pings while the server
 * cannot answer) is a count of zero, and the window is made of the watchdog's own periods. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_slow_clients.h"
#include "buf.h"
#include "testkit.h"
#include "tk_notify.h"

/* A file of settings (TASKD_CONFIG_FILE), rewritten by the test. */
struct settings_file {
    char path[64];
    char env[96];
};

static void settings_write(struct settings_file *f, const char *text)
{
    if (!f->path[0]) {
        snprintf(f->path, sizeof f->path, "/tmp/taskd-env-XXXXXX");
        int fd = mkstemp(f->path);
        cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
        close(fd);
        snprintf(f->env, sizeof f->env, "TASKD_CONFIG_FILE=%s", f->path);
    }
    FILE *out = fopen(f->path, "w");
    cr_assert(out && fputs(text, out) >= 0 && fclose(out) == 0, "cannot write %s", f->path);
}

/* The port in "http://127.0.0.1:PORT". */
static const char *port_of(const struct tk_server *s)
{
    const char *colon = strrchr(tk_server_url(s), ':');
    return colon ? colon + 1 : "";
}

/* GET /health with X-Request-Id: id; expects 200. */
static void health_with_id(struct tk_server *s, const char *id)
{
    char header[128];
    snprintf(header, sizeof header, "X-Request-Id: %s", id);
    struct tk_response *r =
        tk_request(s, "GET", "/health", (const char *[]){header, NULL}, NULL, 0);
    tk_expect_status(r, 200);
    tk_response_free(r);
}

/* Waits up to ms for the server's log to hold needle; true when it does. */
static bool log_shows(const struct tk_server *s, const char *needle, long ms)
{
    long deadline = tk_now_ms() + ms;
    do {
        char *log = tk_read_file(tk_server_log_path(s), NULL);
        bool found = log && strstr(log, needle);
        free(log);
        if (found)
            return true;
        tk_sleep_ms(20);
    } while (tk_now_ms() < deadline);
    return false;
}

/* ---- readiness ---- */

/* READY=1 after the "starting" status, naming the port the kernel picked: the port is only
 * known once the server listens (the kit starts it with PORT=0), so the message cannot have
 * been made before. */
static void expect_ready_after_listening(bool abstract)
{
    struct tk_notify *n = tk_notify_new(abstract);
    struct tk_server *s = tk_server_start((const char *[]){tk_notify_env(n), NULL});
    const char *first = tk_notify_next(n, 10000);
    cr_assert(first, "taskd sent nothing to NOTIFY_SOCKET (%s)", tk_notify_address(n));
    cr_assert(!tk_notify_has(first, "READY=1"),
              "the first message is already READY=1, before the stage started: \"%s\"", first);
    cr_assert(tk_notify_has(first, "STATUS="), "the first message has no STATUS: \"%s\"", first);
    const char *ready = tk_notify_wait(n, "READY=1", 10000, NULL);
    cr_assert(ready, "no READY=1 within 10 s of a server that answers /health");
    char status[256], want[64];
    cr_assert(tk_notify_value(ready, "STATUS", status, sizeof status),
              "READY=1 without a STATUS: \"%s\"", ready);
    snprintf(want, sizeof want, ":%s", port_of(s));
    cr_assert(strstr(status, want),
              "READY=1's status \"%s\" does not name the port taskd listens on (%s): was it sent "
              "before listening?",
              status, port_of(s));
    cr_assert_eq(tk_server_stop(s), 0);
    tk_notify_free(n);
}

GRADED(systemd, ready_only_once_it_listens, 4)
{
    expect_ready_after_listening(false);
}

GRADED(systemd, ready_on_an_abstract_notify_socket, 2)
{
    expect_ready_after_listening(true);
}

/* ---- the watchdog ---- */

static int count_pings(struct tk_notify *n, long ms)
{
    int pings = 0;
    long deadline = tk_now_ms() + ms;
    for (long left; (left = deadline - tk_now_ms()) > 0;) {
        const char *m = tk_notify_next(n, left);
        if (m && tk_notify_has(m, "WATCHDOG=1"))
            pings++;
    }
    return pings;
}

GRADED(systemd, watchdog_pings_when_systemd_asks_for_them, 3)
{
    struct tk_notify *n = tk_notify_new(false);
    struct tk_server *s =
        tk_server_start((const char *[]){tk_notify_env(n), "WATCHDOG_USEC=1000000", NULL});
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1");
    int pings = 0;
    for (long deadline = tk_now_ms() + 20000; pings < 2 && tk_now_ms() < deadline;)
        pings += tk_notify_wait(n, "WATCHDOG=1", deadline - tk_now_ms(), NULL) != NULL;
    cr_assert_geq(pings, 2,
                  "%d WATCHDOG=1 in 20 s with WATCHDOG_USEC=1000000 (one expected "
                  "every 0.5 s)",
                  pings);
    cr_assert_eq(tk_server_stop(s), 0);
    tk_notify_free(n);
}

GRADED(systemd, watchdog_pings_stop_while_the_server_cannot_answer, 5)
{
    /* Four connections at most: the test takes every slot, so /health cannot be answered
     * although every thread of the process still runs. */
    struct tk_notify *n = tk_notify_new(false);
    struct tk_server *s = tk_server_start(
        (const char *[]){tk_notify_env(n), "WATCHDOG_USEC=400000", "HTTP_MAX_CONNECTIONS=4",
                         "HTTP_MAX_CONNECTIONS_PER_IP=4", "HTTP_HEADER_TIMEOUT_SECONDS=300",
                         "HTTP_TIMEOUT_SECONDS=300", NULL});
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1");
    cr_assert(tk_notify_wait(n, "WATCHDOG=1", 20000, NULL), "no WATCHDOG=1 while it serves");

    int held[8];
    size_t nheld = 0;
    for (size_t i = 0; i < 8; i++) {
        int fd = slow_connect(s, "127.0.0.2");
        if (fd >= 0 && !slow_closed(fd, 300))
            held[nheld++] = fd;
        else if (fd >= 0)
            close(fd);
    }
    cr_assert(slow_health_ms(s, 3000) < 0,
              "the server still answered /health with %zu connections held (test bug?)", nheld);
    /* Pings decided before the slots were taken may still be queued: skip a few periods,
     * then none may come for ten periods (a ping every 0.2 s when alive). */
    count_pings(n, 1000);
    int pings = count_pings(n, 2000);
    for (size_t i = 0; i < nheld; i++)
        close(held[i]);
    cr_assert_eq(pings, 0,
                 "%d WATCHDOG=1 in 2 s while no client could be answered: the ping does not "
                 "prove the server works",
                 pings);
    cr_assert(tk_notify_wait(n, "WATCHDOG=1", 20000, NULL),
              "no WATCHDOG=1 within 20 s once the connections were released");
    cr_assert_eq(tk_server_stop(s), 0);
    tk_notify_free(n);
}

/* ---- reload ---- */

GRADED(systemd, sighup_reloads_the_log_level_between_reloading_and_ready, 4)
{
    struct tk_notify *n = tk_notify_new(false);
    struct settings_file f = {0};
    settings_write(&f, "LOG_LEVEL=info\n");
    struct tk_server *s = tk_server_start((const char *[]){tk_notify_env(n), f.env, NULL});
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1");
    char before[64], quiet[64], after[64];
    tk_unique("before-reload", before, sizeof before);
    tk_unique("quiet", quiet, sizeof quiet);
    tk_unique("after-reload", after, sizeof after);
    health_with_id(s, before);
    cr_assert(log_shows(s, before, 5000), "the access line at info is missing before a reload");

    settings_write(&f, "# now quieter\nLOG_LEVEL=warn\n");
    cr_assert(kill(tk_server_pid(s), SIGHUP) == 0);
    int skipped = 0;
    const char *m = tk_notify_wait(n, "RELOADING=1", 10000, &skipped);
    cr_assert(m, "no RELOADING=1 within 10 s of SIGHUP");
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1 after RELOADING=1");
    health_with_id(s, quiet); /* at warn, its access line (info) is not written */

    /* Back to info, and a request whose line must appear: by then the quiet one's line would
     * have been written, if it were. */
    settings_write(&f, "LOG_LEVEL=info\n");
    cr_assert(kill(tk_server_pid(s), SIGHUP) == 0);
    cr_assert(tk_notify_wait(n, "RELOADING=1", 10000, NULL), "no RELOADING=1 for the 2nd SIGHUP");
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1 after the 2nd reload");
    health_with_id(s, after);
    cr_assert(log_shows(s, after, 5000), "no access line after reloading LOG_LEVEL=info");
    cr_assert(!log_shows(s, quiet, 0),
              "a request was logged at info while LOG_LEVEL=warn had been reloaded");
    cr_assert(log_shows(s, "\"settings reloaded\"", 0), "no \"settings reloaded\" line");
    cr_assert_eq(tk_server_stop(s), 0);
    unlink(f.path);
    tk_notify_free(n);
}

GRADED(systemd, an_invalid_reload_keeps_serving_with_the_old_settings, 4)
{
    struct tk_notify *n = tk_notify_new(false);
    struct settings_file f = {0};
    settings_write(&f, "LOG_LEVEL=info\n");
    struct tk_server *s = tk_server_start((const char *[]){tk_notify_env(n), f.env, NULL});
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1");
    settings_write(&f, "LOG_LEVEL=warn\nLOG_LEVEL=shouting\n");
    cr_assert(kill(tk_server_pid(s), SIGHUP) == 0);
    cr_assert(tk_notify_wait(n, "RELOADING=1", 10000, NULL), "no RELOADING=1 within 10 s");
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL),
              "no READY=1 after a refused reload: systemd would wait for it");
    cr_assert(log_shows(s, "reload refused", 5000), "no log line says the reload was refused");
    char id[64];
    tk_unique("still-info", id, sizeof id);
    health_with_id(s, id);
    cr_assert(log_shows(s, id, 5000),
              "after a refused reload the access line (info) is gone: the bad file was half "
              "applied");
    cr_assert_eq(tk_server_stop(s), 0, "the server did not exit cleanly after a refused reload");
    unlink(f.path);
    tk_notify_free(n);
}

/* ---- stopping ---- */

struct stopper {
    struct tk_server *server;
    int status;
};

static void *stop_server(void *arg)
{
    struct stopper *st = arg;
    st->status = tk_server_stop(st->server);
    return NULL;
}

GRADED(systemd, sigterm_says_stopping_and_finishes_the_request_under_way, 5)
{
    struct tk_notify *n = tk_notify_new(false);
    struct tk_server *s = tk_server_start((const char *[]){tk_notify_env(n), NULL});
    cr_assert(tk_notify_wait(n, "READY=1", 10000, NULL), "no READY=1");
    static const char body[] = "{\"title\":\"sent across a SIGTERM under systemd\"}";
    int fd = slow_post_half(s, body); /* the request is under way */
    cr_assert(fd >= 0, "cannot connect");
    tk_sleep_ms(200);

    pthread_t t;
    struct stopper st = {.server = s};
    cr_assert(pthread_create(&t, NULL, stop_server, &st) == 0);
    const char *m = tk_notify_wait(n, "STOPPING=1", 10000, NULL);
    bool stopping = m != NULL;
    bool has_status = m && tk_notify_has(m, "STATUS=");
    struct buf got = BUF_INIT;
    slow_post_finish(fd, body, &got, 10000);
    close(fd);
    pthread_join(t, NULL);
    const char *answer = got.data ? got.data : "";
    cr_assert(stopping, "no STOPPING=1 within 10 s of SIGTERM");
    cr_assert(has_status, "STOPPING=1 came without a STATUS= saying what happens");
    cr_assert(strncmp(answer, "HTTP/1.1 201", 12) == 0,
              "the POST under way at SIGTERM got no 201 (got %zu bytes: %.200s)", got.len, answer);
    cr_assert_eq(st.status, 0, "taskd did not exit 0 after SIGTERM (status %d)", st.status);
    buf_free(&got);
    tk_notify_free(n);
}

/* ---- the worker ---- */

GRADED(systemd, the_worker_is_ready_pinged_by_its_loop_and_stops_cleanly, 4)
{
    struct tk_server *s = tk_server_start(NULL);
    struct tk_notify *n = tk_notify_new(true);
    const char *argv[] = {tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN"), NULL};
    struct tk_proc *w = tk_proc_start_beside(
        s, argv, (const char *[]){tk_notify_env(n), "WATCHDOG_USEC=1000000", NULL});
    const char *m = tk_notify_wait(n, "READY=1", 30000, NULL);
    cr_assert(m, "the worker sent no READY=1 within 30 s");
    char status[256];
    cr_assert(tk_notify_value(m, "STATUS", status, sizeof status) && strstr(status, "taskd-worker"),
              "the worker's READY=1 has no STATUS naming it: \"%s\"", m);
    cr_assert(tk_notify_wait(n, "WATCHDOG=1", 20000, NULL),
              "the worker sent no WATCHDOG=1 within 20 s (its loop turns every 0.5 s)");
    cr_assert(kill(tk_proc_pid(w), SIGTERM) == 0);
    m = tk_notify_wait(n, "STOPPING=1", 10000, NULL);
    int status_code = tk_proc_stop(w, 0, 20000);
    cr_assert(m, "the worker sent no STOPPING=1 on SIGTERM");
    cr_assert_eq(status_code, 0, "the worker did not exit 0 after SIGTERM (status %d)",
                 status_code);
    cr_assert_eq(tk_server_stop(s), 0);
    tk_notify_free(n);
}
