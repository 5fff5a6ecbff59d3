/* api_program_metrics.c — black-box tests of the background programs' metrics (stage 9).
 *
 * taskd-worker and the consumers answer no HTTP of their own, so stage 9 gives each a metrics
 * listener (METRICS_PORT, src/program_metrics.c): jobs_total from the worker, the consumed and
 * dead-lettered counts from a consumer. These tests run the real programs beside a taskd of
 * their own, make work happen the way a user or a broken producer would (an export that fails
 * once, one that fails for good, a poison message on the topic), and read the counters back
 * from each program's GET /metrics. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "api_w4_helpers.h"
#include "api_w9_helpers.h"
#include "testkit.h"

#define WAIT_MS 30000L

struct bg {
    struct tk_server *s;
    struct tk_proc *procs[3];
    char topic[64], env_topic[96], env_group[128];
};

static struct bg g;

static void bg_stop(void)
{
    for (size_t i = 0; i < sizeof g.procs / sizeof g.procs[0]; i++)
        if (g.procs[i])
            tk_proc_stop(g.procs[i], SIGTERM, 15000);
    if (g.s)
        tk_server_stop(g.s);
    g = (struct bg){0};
}

/* A program of the stage into g.procs[slot], beside g.s, with its metrics port. */
static unsigned start_with_metrics(size_t slot, const char *name, const char *var,
                                   const char *const *env, const char *ready)
{
    unsigned port = 0;
    g.procs[slot] = w9_start_with_metrics(g.s, name, var, env, ready, &port);
    return port;
}

/* The value of the sample `series` (the whole name with labels, as written) on the program's
 * GET /metrics, or -1 when it is not there. */
static double sample(unsigned port, const char *series, char *text, size_t cap)
{
    int rc = tk_sh(text, cap, "curl -s --max-time 5 http://127.0.0.1:%u/metrics", port);
    cr_assert_eq(rc, 0, "GET /metrics on port %u: curl failed: %s", port, text);
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        const char *next = strchr(line, '\n');
        if (!next)
            break;
        line = next + 1;
    }
    return -1;
}

/* Waits until `series` on port reads want; fails the test naming it otherwise. */
static void expect_sample(unsigned port, const char *series, double want, const char *why)
{
    static char text[65536];
    long deadline = tk_now_ms() + WAIT_MS;
    double v = sample(port, series, text, sizeof text);
    while (v != want && tk_now_ms() < deadline) {
        tk_sleep_ms(200);
        v = sample(port, series, text, sizeof text);
    }
    cr_assert(v == want, "expected %s %g (%s) within %ld s, got %g; GET /metrics said:\n%.4000s",
              series, want, why, WAIT_MS / 1000, v, text);
}

/* POST /exports as u: 202. */
static void export_as(const struct w4_user *u)
{
    struct tk_response *r = w4_as(g.s, u->auth, "POST", "/exports", NULL);
    tk_expect_status(r, 202);
    tk_response_free(r);
}

/* taskd's own count of the exports it queued (its GET /metrics): the start of a job's life,
 * which the worker never sees. */
static double exports_queued(void)
{
    struct tk_response *r = tk_get(g.s, "/metrics");
    tk_expect_status(r, 200);
    const char *body = r->body;
    const char *series = "\njobs_total{type=\"export\",status=\"queued\"} ";
    const char *at = body ? strstr(body, series) : NULL;
    double v = at ? strtod(at + strlen(series), NULL) : -1;
    tk_response_free(r);
    return v;
}

GRADED(program_metrics, the_worker_counts_jobs_by_type_and_outcome, 3, .fini = bg_stop)
{
    tk_need_local("runs taskd-worker beside a taskd of its own");
    g.s = tk_server_start(NULL);
    struct w4_user u;
    w4_user_new(g.s, "jobs", &u);
    /* Every export fails its first attempt and succeeds on the second. */
    unsigned port =
        start_with_metrics(0, "taskd-worker", "TASKD_WORKER_BIN",
                           (const char *const[]){"METRICS_PORT=0", "FAULT_FAIL_EXPORT_ATTEMPTS=1",
                                                 "JOB_MAX_ATTEMPTS=2", "JOB_BACKOFF_MS=10", NULL},
                           "\"msg\":\"worker started\"");
    cr_assert_eq(exports_queued(), 0,
                 "taskd's GET /metrics: jobs_total{type=\"export\",status=\"queued\"} should be "
                 "there at 0 before any export");
    char text[65536];
    cr_assert_eq(sample(port, "jobs_total{type=\"export\",status=\"failed\"}", text, sizeof text),
                 0,
                 "before any job, every type and outcome is there at 0 (so that the first "
                 "failure is an increase):\n%.3000s",
                 text);
    export_as(&u);
    cr_assert_eq(exports_queued(), 1, "taskd's GET /metrics: one POST /exports, one export queued");
    expect_sample(port, "jobs_total{type=\"export\",status=\"retried\"}", 1,
                  "the first attempt failed and will run again");
    expect_sample(port, "jobs_total{type=\"export\",status=\"succeeded\"}", 1,
                  "the second attempt succeeded");
    expect_sample(port, "jobs_total{type=\"export\",status=\"failed\"}", 0,
                  "nothing failed for good");
    tk_proc_stop(g.procs[0], SIGTERM, 15000);
    g.procs[0] = NULL;

    /* Now every attempt fails and a job gets one: it fails for good, a dead letter. */
    port =
        start_with_metrics(0, "taskd-worker", "TASKD_WORKER_BIN",
                           (const char *const[]){"METRICS_PORT=0", "FAULT_FAIL_EXPORT_ATTEMPTS=100",
                                                 "JOB_MAX_ATTEMPTS=1", NULL},
                           "\"msg\":\"worker started\"");
    export_as(&u);
    expect_sample(port, "jobs_total{type=\"export\",status=\"failed\"}", 1,
                  "the export failed its only attempt");
    expect_sample(port, "jobs_total{type=\"export\",status=\"retried\"}", 0,
                  "a new process counts from 0; this one retried nothing");
    expect_sample(port, "jobs_total{type=\"reminder\",status=\"succeeded\"}", 0, "no reminder ran");
}

GRADED(program_metrics, a_consumer_counts_what_it_handled_and_dead_lettered, 3, .fini = bg_stop)
{
    tk_need_local("publishes to the test's own topic");
    tk_unique("pm", g.topic, sizeof g.topic);
    snprintf(g.env_topic, sizeof g.env_topic, "EVENTS_TOPIC=%s", g.topic);
    snprintf(g.env_group, sizeof g.env_group, "CONSUMER_GROUP=%s-projector", g.topic);
    g.s = tk_server_start((const char *const[]){g.env_topic, NULL});
    struct w4_user u;
    w4_user_new(g.s, "events", &u);
    const char *relay_argv[] = {tk_bin_beside("taskd-relay", "TASKD_BIN_RELAY"), NULL};
    g.procs[1] = tk_proc_start_beside(
        g.s, relay_argv, (const char *const[]){g.env_topic, "OUTBOX_POLL_MS=10", NULL});
    tk_proc_wait_log(g.procs[1], "relay started", 20000);
    unsigned port = start_with_metrics(
        2, "taskd-projector", "TASKD_BIN_PROJECTOR",
        (const char *const[]){"METRICS_PORT=0", "CONSUMER_MAX_ATTEMPTS=1", g.env_topic, g.env_group,
                              "KAFKA_SESSION_TIMEOUT_MS=6000", NULL},
        "\"msg\":\"consumer started\"");
    char dead[160], handled[160];
    snprintf(dead, sizeof dead, "events_dead_lettered_total{consumer=\"%s-projector\"}", g.topic);
    snprintf(handled, sizeof handled,
             "events_consumed_total{consumer=\"%s-projector\",outcome=\"handled\"}", g.topic);
    expect_sample(port, dead, 0, "announced at 0 when the consumer starts");

    char out[4096];
    int rc = tk_sh(out, sizeof out, "echo 'this is not an event' | EVENTS_TOPIC=%s %s publish 7",
                   g.topic, tk_bin_beside("taskd-events", "TASKD_BIN_EVENTS"));
    cr_assert_eq(rc, 0, "expected taskd-events to publish the poison message: %s", out);
    expect_sample(port, dead, 1, "the poison message went to the dead-letter topic");
    struct tk_response *r =
        w4_as(g.s, u.auth, "POST", "/tasks", "{\"title\":\"after the poison\"}");
    tk_expect_status(r, 201);
    tk_response_free(r);
    expect_sample(port, handled, 1, "the task's created event was projected");
    expect_sample(port, dead, 1, "a good event is not a dead letter");
}
