/* unit_watchdog.c — the watchdog pings only after its probe proves the program alive
 * (watchdog.h, probe.h), and the lifecycle hooks of stage 5 (supervisor.h) send systemd's
 * messages in the order the protocol asks: READY=1 once serving, RELOADING=1 then READY=1
 * around a reload (the new settings only when valid), STOPPING=1 last. Messages are read from a
 * fake NOTIFY_SOCKET (tk_notify.h). No test waits for time to pass: each waits for an event
 * (a probe called, a message arrived), with a generous bound. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "probe.h"
#include "supervisor.h"
#include "testkit.h"
#include "tk_notify.h"
#include "watchdog.h"

static struct tk_notify *listen_here(void)
{
    struct tk_notify *n = tk_notify_new(true);
    cr_assert(setenv("NOTIFY_SOCKET", tk_notify_address(n), 1) == 0);
    return n;
}

/* ---- the probe decides ---- */

struct fake_probe {
    pthread_mutex_t mu;
    pthread_cond_t called;
    int calls;
    int answer; /* what the probe says: 0 alive */
};

static int fake_probe(void *ctx, int timeout_ms)
{
    (void)timeout_ms;
    struct fake_probe *p = ctx;
    pthread_mutex_lock(&p->mu);
    p->calls++;
    int answer = p->answer;
    pthread_cond_broadcast(&p->called);
    pthread_mutex_unlock(&p->mu);
    return answer;
}

/* Waits (10 s at most) until the probe has been called `calls` times in all. */
static void wait_calls(struct fake_probe *p, int calls)
{
    long deadline = tk_now_ms() + 10000;
    pthread_mutex_lock(&p->mu);
    while (p->calls < calls && tk_now_ms() < deadline) {
        pthread_mutex_unlock(&p->mu);
        tk_sleep_ms(5);
        pthread_mutex_lock(&p->mu);
    }
    int got = p->calls;
    pthread_mutex_unlock(&p->mu);
    cr_assert(got >= calls, "the watchdog called its probe %d times in 10 s, expected %d", got,
              calls);
}

GRADED(watchdog, no_ping_while_the_probe_fails_then_pings_when_it_answers, 4)
{
    struct tk_notify *n = listen_here();
    struct fake_probe p = {.mu = PTHREAD_MUTEX_INITIALIZER,
                           .called = PTHREAD_COND_INITIALIZER,
                           .answer = ERR_UNAVAILABLE};
    struct watchdog *wd = NULL;
    cr_assert_eq(watchdog_start(20000, fake_probe, &p, &wd), 0); /* a 20 ms interval */
    wait_calls(&p, 3);
    /* Three probes failed: whatever arrived so far may be a status line, never a ping. */
    for (const char *m; (m = tk_notify_next(n, 0));)
        cr_assert(!tk_notify_has(m, "WATCHDOG=1"), "pinged although the probe failed: \"%s\"", m);
    pthread_mutex_lock(&p.mu);
    p.answer = 0;
    pthread_mutex_unlock(&p.mu);
    cr_assert(tk_notify_wait(n, "WATCHDOG=1", 10000, NULL),
              "no WATCHDOG=1 within 10 s once the probe answered");
    watchdog_stop(wd);
    tk_notify_free(n);
}

GRADED(watchdog, refuses_an_interval_too_short_to_halve, 1)
{
    struct fake_probe p = {.mu = PTHREAD_MUTEX_INITIALIZER, .called = PTHREAD_COND_INITIALIZER};
    struct watchdog *wd = NULL;
    cr_assert_eq(watchdog_start(1000, fake_probe, &p, &wd), ERR_INVALID);
    cr_assert_null(wd);
    watchdog_stop(NULL);
}

GRADED(watchdog, a_heartbeat_is_alive_only_when_it_moved, 2)
{
    struct heartbeat h = {0};
    cr_assert_eq(heartbeat_check(&h), ERR_UNAVAILABLE, "alive before the loop ever turned");
    heartbeat_beat(&h);
    heartbeat_beat(&h);
    cr_assert_eq(heartbeat_check(&h), 0);
    cr_assert_eq(heartbeat_check(&h), ERR_UNAVAILABLE, "alive although nothing beat since");
    heartbeat_beat(&h);
    cr_assert_eq(heartbeat_check(&h), 0);
}

GRADED(watchdog, the_http_probe_fails_where_nothing_answers, 1)
{
    /* A port that was just free: bound to learn its number, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    cr_assert_eq(probe_http("127.0.0.1", ntohs(sa.sin_port), 1000), ERR_UNAVAILABLE,
                 "a closed port answered /health");
    cr_assert_eq(probe_http("not an address", 8080, 1000), ERR_UNAVAILABLE);
}

/* ---- the lifecycle hooks ---- */

struct fx {
    struct config *cfg;
    struct lifecycle lc;
    struct tk_notify *n;
    char file[64];
};

static void write_settings(struct fx *f, const char *text)
{
    FILE *out = fopen(f->file, "w");
    cr_assert(out && fputs(text, out) >= 0 && fclose(out) == 0);
}

/* The hooks as a program gets them, with LOG_LEVEL=info and TASKD_CONFIG_FILE set. */
static void open_hooks(struct fx *f, const char *settings, const char *watchdog_usec)
{
    f->n = listen_here();
    snprintf(f->file, sizeof f->file, "/tmp/taskd-env-XXXXXX");
    int fd = mkstemp(f->file);
    cr_assert(fd >= 0);
    close(fd);
    write_settings(f, settings);
    cr_assert(setenv("LOG_LEVEL", "info", 1) == 0 && setenv("TASKD_CONFIG_FILE", f->file, 1) == 0);
    if (watchdog_usec)
        cr_assert(setenv("WATCHDOG_USEC", watchdog_usec, 1) == 0);
    else
        cr_assert(unsetenv("WATCHDOG_USEC") == 0);
    f->cfg = config_new();
    cr_assert(f->cfg && log_config_declare(f->cfg) == 0 &&
              supervisor_systemd.declare(f->cfg) == 0 && config_load(f->cfg, stderr) == 0);
    cr_assert_eq(supervisor_systemd.open(f->cfg, &f->lc), 0, "open: %s", log_last_error());
}

static void close_hooks(struct fx *f)
{
    lifecycle_close(&f->lc);
    config_free(f->cfg);
    unlink(f->file);
    tk_notify_free(f->n);
}

static const char *expect_next(struct fx *f, const char *line)
{
    const char *m = tk_notify_next(f->n, 5000);
    cr_assert(m, "no message arrived (expected %s)", line);
    cr_assert(tk_notify_has(m, line), "expected %s next, got \"%s\"", line, m);
    return m;
}

GRADED(lifecycle, start_applies_the_file_and_serving_says_ready_where, 3)
{
    struct fx f;
    open_hooks(&f, "LOG_LEVEL=warn\n", NULL);
    cr_assert(!log_enabled(LOG_INFO), "LOG_LEVEL=warn from the file was not applied at start");
    lifecycle_serving(&f.lc, &(struct lifecycle_serving){
                                 .program = "taskd", .address = "127.0.0.1", .port = 8080});
    const char *m = expect_next(&f, "READY=1");
    cr_assert(tk_notify_has(m, "STATUS=taskd serving on 127.0.0.1:8080"), "got \"%s\"", m);
    close_hooks(&f);
}

GRADED(lifecycle, reload_swaps_in_valid_settings_between_reloading_and_ready, 3)
{
    struct fx f;
    open_hooks(&f, "LOG_LEVEL=info\n", NULL);
    lifecycle_serving(&f.lc, &(struct lifecycle_serving){.program = "taskd-worker"});
    expect_next(&f, "READY=1");
    write_settings(&f, "LOG_LEVEL=error\n");
    cr_assert_eq(lifecycle_reload(&f.lc), 0);
    expect_next(&f, "RELOADING=1");
    expect_next(&f, "READY=1");
    cr_assert(!log_enabled(LOG_WARN) && log_enabled(LOG_ERROR), "LOG_LEVEL=error not applied");
    close_hooks(&f);
}

GRADED(lifecycle, an_invalid_reload_keeps_the_settings_and_still_says_ready, 3)
{
    struct fx f;
    open_hooks(&f, "LOG_LEVEL=warn\n", NULL);
    write_settings(&f, "LOG_LEVEL=debug\nLOG_LEVEL=shouting\n");
    cr_assert_neq(lifecycle_reload(&f.lc), 0, "an invalid file was accepted");
    expect_next(&f, "RELOADING=1");
    expect_next(&f, "READY=1");
    cr_assert(!log_enabled(LOG_INFO) && log_enabled(LOG_WARN),
              "a refused reload changed the log level (half applied?)");
    close_hooks(&f);
}

GRADED(lifecycle, the_loop_heartbeat_feeds_the_watchdog_and_stopping_is_last, 3)
{
    struct fx f;
    open_hooks(&f, "", "20000");
    lifecycle_serving(&f.lc, &(struct lifecycle_serving){.program = "taskd-worker"});
    expect_next(&f, "READY=1");
    /* The worker's loop turning: each beat lets the watchdog ping once more. */
    const char *m = NULL;
    for (long deadline = tk_now_ms() + 10000; !m && tk_now_ms() < deadline;) {
        lifecycle_alive(&f.lc);
        m = tk_notify_wait(f.n, "WATCHDOG=1", 50, NULL);
    }
    cr_assert(m, "no WATCHDOG=1 within 10 s although the loop kept beating");
    lifecycle_stopping(&f.lc);
    m = tk_notify_wait(f.n, "STOPPING=1", 5000, NULL);
    cr_assert(m, "no STOPPING=1");
    cr_assert(tk_notify_has(m, "STATUS="), "STOPPING=1 without a STATUS: \"%s\"", m);
    /* The watchdog stopped before STOPPING=1 was sent: nothing may follow it. */
    lifecycle_alive(&f.lc);
    cr_assert_null(tk_notify_next(f.n, 200), "a message came after STOPPING=1");
    close_hooks(&f);
}
