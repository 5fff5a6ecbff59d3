/* api_monitoring.c — black-box tests of week 9's monitoring: the real Prometheus and
 * Alertmanager (monitoring/monitor.sh) watching taskd instances of the test's own.
 *
 * The unit suite checks the rules with promtool; these check the whole chain: Prometheus finds
 * every instance and scrapes it (up == 1), its recording rules see the traffic the test sent,
 * and the alert drill: an instance stops, TaskdInstanceDown fires, and Alertmanager's e-mail
 * reaches the SMTP sink. The drill runs monitor.sh --drill (scrape and evaluate every second,
 * every `for:` 5 s), so it takes seconds, not the minute the real rule waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api_helpers.h"
#include "api_w9_helpers.h"
#include "testkit.h"

#define MONITOR_SH "weeks/09-nginx-monitoring/monitoring/monitor.sh"
#define FRONT_SH   "weeks/09-nginx-monitoring/front/front.sh"
#define OUT_MAX    8192

struct mon {
    struct tk_server *inst[2];
    struct tk_proc *bg[3]; /* background programs: the worker, the relay, a consumer */
    char dir[64];
    char prom[64], am[64]; /* their URLs */
};

static struct mon g;

static void mon_down(void)
{
    if (g.dir[0]) {
        char out[OUT_MAX];
        (void)tk_sh(out, sizeof out,
                    "bash " MONITOR_SH " down %s; bash " FRONT_SH " down %s/front; rm -rf %s",
                    g.dir, g.dir, g.dir);
    }
    for (size_t i = 0; i < sizeof g.bg / sizeof g.bg[0]; i++)
        if (g.bg[i])
            tk_proc_stop(g.bg[i], SIGTERM, 15000);
    for (size_t i = 0; i < 2; i++)
        tk_server_stop(g.inst[i]);
    g = (struct mon){0};
}

static void url_after(const char *out, const char *key, char *url, size_t cap)
{
    const char *p = strstr(out, key);
    cr_assert(p, "monitor.sh up did not print %s:\n%s", key, out);
    p += strlen(key);
    snprintf(url, cap, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Two instances on one database, and Prometheus and Alertmanager watching them. */
static void mon_up(bool drill)
{
    tk_need_local("starts Prometheus, Alertmanager and taskd instances of its own");
    g.inst[0] = tk_server_start(NULL);
    cr_assert(g.inst[0]);
    char db[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(g.inst[0]));
    g.inst[1] = tk_server_start((const char *const[]){db, NULL});
    cr_assert(g.inst[1]);
    snprintf(g.dir, sizeof g.dir, "/tmp/taskd-mon-XXXXXX");
    cr_assert(mkdtemp(g.dir));
    (void)tk_run_dir_claim(g.dir);
    char out[OUT_MAX];
    int rc =
        tk_sh(out, sizeof out, "bash " MONITOR_SH " up %s %s %s %s", g.dir, drill ? "--drill" : "",
              tk_server_url(g.inst[0]) + 7, tk_server_url(g.inst[1]) + 7);
    cr_assert_eq(rc, 0, "monitor.sh up failed (exit %d):\n%s", rc, out);
    url_after(out, "prometheus-url ", g.prom, sizeof g.prom);
    url_after(out, "alertmanager-url ", g.am, sizeof g.am);
}

/* Prometheus's answer to an instant query (the JSON text), into out. */
static void query(const char *promql, char *out, size_t cap)
{
    int rc = tk_sh(out, cap, "curl -s --max-time 5 '%s/api/v1/query' --data-urlencode 'query=%s'",
                   g.prom, promql);
    cr_assert_eq(rc, 0, "querying Prometheus for %s failed: %s", promql, out);
}

/* Asks promql until its answer holds needle, for up to timeout_ms; returns the last answer's
 * verdict. */
static bool eventually(const char *promql, const char *needle, long timeout_ms, char *out,
                       size_t cap)
{
    for (long deadline = tk_now_ms() + timeout_ms; tk_now_ms() < deadline; tk_sleep_ms(250)) {
        query(promql, out, cap);
        if (strstr(out, needle))
            return true;
    }
    return false;
}

GRADED(monitoring, prometheus_scrapes_every_instance, 2, .fini = mon_down)
{
    mon_up(false);
    char out[OUT_MAX];
    /* Both instances up: the count of taskd targets whose up is 1. */
    bool ok = eventually("count(up{job=\"taskd\"} == 1)", "\"2\"]", 20000, out, sizeof out);
    cr_assert(ok, "Prometheus should scrape both instances (up == 1) within 20 s; it says:\n%s",
              out);
    ok = eventually("up{job=\"prometheus\"} == 1 and on() up{job=\"alertmanager\"} == 1", "\"1\"]",
                    20000, out, sizeof out);
    cr_assert(ok, "Prometheus should also scrape itself and Alertmanager: %s", out);
}

/* One instance behind a front, and Prometheus (drill mode) scraping both, nginx through its
 * exporter. The front's URL into front. */
static void front_and_monitor(char *front, size_t cap)
{
    tk_need_local("starts nginx, its exporter and Prometheus of its own");
    g.inst[0] = tk_server_start(NULL);
    cr_assert(g.inst[0]);
    snprintf(g.dir, sizeof g.dir, "/tmp/taskd-mon-XXXXXX");
    cr_assert(mkdtemp(g.dir));
    cr_assert_eq(chmod(g.dir, 0755), 0); /* nginx's workers (www-data as root) live in here */
    (void)tk_run_dir_claim(g.dir);
    char out[OUT_MAX];
    int rc = tk_sh(out, sizeof out, "bash " FRONT_SH " up %s/front %s", g.dir,
                   tk_server_url(g.inst[0]) + 7);
    cr_assert_eq(rc, 0, "front.sh up failed (exit %d):\n%s", rc, out);
    char status[96];
    url_after(out, "status-url ", status, sizeof status);
    url_after(out, "front-url ", front, cap);
    rc = tk_sh(out, sizeof out, "bash " MONITOR_SH " up %s --drill --nginx %s %s", g.dir, status,
               tk_server_url(g.inst[0]) + 7);
    cr_assert_eq(rc, 0, "monitor.sh up --nginx failed (exit %d):\n%s", rc, out);
    url_after(out, "prometheus-url ", g.prom, sizeof g.prom);
}

GRADED(monitoring, nginx_is_scraped_through_its_exporter, 1, .fini = mon_down)
{
    char front[64], out[OUT_MAX];
    front_and_monitor(front, sizeof front);
    for (int i = 0; i < 5; i++)
        (void)tk_sh(out, sizeof out, "curl -s -o /dev/null %s/health", front);
    bool ok = eventually("nginx_up{job=\"nginx\"} == 1 and on() nginx_http_requests_total >= 5",
                         "\"1\"]", 20000, out, sizeof out);
    cr_assert(ok,
              "Prometheus should read nginx's stub_status through the exporter (nginx_up 1, "
              "the requests sent through the front counted): %s",
              out);
}

/* Every query of the Grafana dashboard, against a live Prometheus after some traffic, has data:
 * a panel that says "No data" on a healthy service is a broken panel. */
GRADED(monitoring, every_dashboard_query_has_data, 2, .fini = mon_down)
{
    char front[64], out[OUT_MAX];
    front_and_monitor(front, sizeof front);
    for (int i = 0; i < 5; i++)
        (void)tk_sh(out, sizeof out, "curl -s -o /dev/null %s/health", front);
    long long id = api_new_task(g.inst[0]);
    char path[64];
    for (int i = 0; i < 3; i++) { /* a miss, then hits: the cache's panel */
        struct tk_response *r = tk_get(g.inst[0], api_task_path(id, path, sizeof path));
        tk_expect_status(r, 200);
        tk_response_free(r);
    }
    cr_assert(eventually("job:slo_errors:ratio_rate5m", "\"taskd\"", 20000, out, sizeof out),
              "the SLO's recording rules never had a value: %s", out);
    tk_sleep_ms(2000); /* a few more scrapes and evaluations, for the rates */
    char *text =
        tk_read_file("weeks/09-nginx-monitoring/monitoring/grafana/taskd-dashboard.json", NULL);
    cJSON *d = text ? cJSON_Parse(text) : NULL;
    free(text);
    cr_assert(d, "cannot read the dashboard");
    const cJSON *p, *t;
    size_t n = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "panels"))
    {
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "targets"))
        {
            const char *expr = cJSON_GetObjectItemCaseSensitive(t, "expr")->valuestring;
            bool has = eventually(expr, "\"result\":[{", 10000, out, sizeof out);
            cr_assert(has, "panel \"%s\": %s has no data:\n%s",
                      cJSON_GetObjectItemCaseSensitive(p, "title")->valuestring, expr, out);
            n++;
        }
    }
    cJSON_Delete(d);
    cr_log_info("dashboard: %zu queries, each with data", n);
}

GRADED(monitoring, recording_rules_see_the_traffic, 1, .fini = mon_down)
{
    mon_up(true);
    for (int i = 0; i < 50; i++) {
        struct tk_response *r = tk_get(g.inst[i % 2], "/tasks");
        tk_expect_status(r, 200);
        tk_response_free(r);
    }
    char out[OUT_MAX];
    bool ok = eventually("job:http_requests:rate5m{job=\"taskd\"} > 0", "\"taskd\"", 20000, out,
                         sizeof out);
    cr_assert(ok, "the recording rule job:http_requests:rate5m should show the requests sent: %s",
              out);
}

/* The sink's mails that hold both strings: how many. */
static int mails_with(const char *a, const char *b)
{
    const char *dir = getenv("SMTP_SINK_DIR");
    cr_assert(dir && *dir, "SMTP_SINK_DIR is not set: run this suite through make test-week-9");
    char out[64];
    tk_sh(out, sizeof out,
          "grep -l -F -- '%s' '%s'/*.eml 2>/dev/null | xargs -r grep -l -F -- '%s' | wc -l", a, dir,
          b);
    return atoi(out);
}

GRADED(monitoring, the_alert_drill_mails_the_on_call, 3, .fini = mon_down)
{
    mon_up(true);
    char out[OUT_MAX];
    cr_assert(eventually("count(up{job=\"taskd\"} == 1)", "\"2\"]", 20000, out, sizeof out),
              "Prometheus never saw both instances up: %s", out);
    char instance[64];
    snprintf(instance, sizeof instance, "%s", tk_server_url(g.inst[1]) + 7);
    cr_assert_eq(mails_with("TaskdInstanceDown", instance), 0);
    /* The drill: stop an instance. */
    cr_assert_eq(tk_server_stop(g.inst[1]), 0);
    g.inst[1] = NULL;
    long stopped = tk_now_ms();
    bool firing = eventually("ALERTS{alertname=\"TaskdInstanceDown\",alertstate=\"firing\"}",
                             instance, 30000, out, sizeof out);
    cr_assert(firing, "TaskdInstanceDown did not fire for %s within 30 s of its stop: %s", instance,
              out);
    long fired = tk_now_ms();
    int mails = 0;
    for (long deadline = tk_now_ms() + 30000; tk_now_ms() < deadline && !mails; tk_sleep_ms(250))
        mails = mails_with("TaskdInstanceDown", instance);
    cr_log_info("alert drill: firing %ld ms after the stop, mailed %ld ms after that",
                fired - stopped, tk_now_ms() - fired);
    cr_assert(mails > 0,
              "Alertmanager did not mail TaskdInstanceDown for %s to the sink within 30 s "
              "(see %s/alertmanager.log)",
              instance, g.dir);
    /* The healthy instance raised nothing. */
    query("ALERTS{alertname=\"TaskdInstanceDown\"}", out, sizeof out);
    cr_assert(!strstr(out, tk_server_url(g.inst[0]) + 7),
              "the instance still running was reported down too: %s", out);
}

/* The background programs are targets too: the worker and a consumer, each on its own metrics
 * port, found by Prometheus through their jobs' files. A worker that stops is paged about
 * (TaskdBackgroundDown), as an instance is. */
GRADED(monitoring, prometheus_scrapes_the_worker_and_the_consumers, 2, .fini = mon_down)
{
    mon_up(true);
    char topic[64], env_topic[96], env_group[128];
    tk_unique("mon", topic, sizeof topic);
    snprintf(env_topic, sizeof env_topic, "EVENTS_TOPIC=%s", topic);
    snprintf(env_group, sizeof env_group, "CONSUMER_GROUP=%s-projector", topic);
    unsigned worker = 0, consumer = 0;
    g.bg[0] = w9_start_with_metrics(g.inst[0], "taskd-worker", "TASKD_WORKER_BIN",
                                    (const char *const[]){"METRICS_PORT=0", NULL},
                                    "\"msg\":\"worker started\"", &worker);
    g.bg[2] =
        w9_start_with_metrics(g.inst[0], "taskd-projector", "TASKD_BIN_PROJECTOR",
                              (const char *const[]){"METRICS_PORT=0", env_topic, env_group, NULL},
                              "\"msg\":\"consumer started\"", &consumer);
    char out[OUT_MAX];
    int rc =
        tk_sh(out, sizeof out,
              "bash " MONITOR_SH " job-targets %s taskd-worker 127.0.0.1:%u && bash " MONITOR_SH
              " job-targets %s taskd-consumers 127.0.0.1:%u",
              g.dir, worker, g.dir, consumer);
    cr_assert_eq(rc, 0, "monitor.sh job-targets failed (exit %d):\n%s", rc, out);
    bool ok = eventually("count(up{job=~\"taskd-worker|taskd-consumers\"} == 1)", "\"2\"]", 20000,
                         out, sizeof out);
    cr_assert(ok, "Prometheus should scrape the worker and the consumer (up == 1) within 20 s: %s",
              out);
    ok = eventually("count(jobs_total{job=\"taskd-worker\"})", "\"8\"]", 20000, out, sizeof out);
    cr_assert(ok, "Prometheus should hold the worker's jobs_total, 2 types x 4 statuses: %s", out);
    ok = eventually("events_dead_lettered_total{job=\"taskd-consumers\"}", "projector", 20000, out,
                    sizeof out);
    cr_assert(ok, "Prometheus should hold the consumer's events_dead_lettered_total: %s", out);

    /* The worker stops: TaskdBackgroundDown fires for it, and not for the consumer. */
    cr_assert_eq(tk_proc_stop(g.bg[0], SIGTERM, 15000), 0, "taskd-worker should stop cleanly");
    g.bg[0] = NULL;
    char instance[32];
    snprintf(instance, sizeof instance, "127.0.0.1:%u", worker);
    ok = eventually("ALERTS{alertname=\"TaskdBackgroundDown\",alertstate=\"firing\"}", instance,
                    30000, out, sizeof out);
    cr_assert(ok, "TaskdBackgroundDown did not fire for the stopped worker %s within 30 s: %s",
              instance, out);
    snprintf(instance, sizeof instance, "127.0.0.1:%u", consumer);
    cr_assert(!strstr(out, instance), "the consumer still running was reported down too: %s", out);
}
