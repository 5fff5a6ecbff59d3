/* unit_program_metrics.c — stage 9's observer of the background programs (program_metrics.c).
 *
 * What the worker's and the consumers' reports become: counters on a listener of their own,
 * and nothing at all when no port is set. The programs themselves are run by the black-box
 * suite (api_program_metrics.c); here the observer is opened as they open it, from settings in
 * the environment (each test is a process of its own, so setenv touches no other test), and
 * its GET /metrics is read with curl and by promtool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "observer.h"
#include "program_metrics.h"
#include "testkit.h"

static struct config *settings(const char *port)
{
    struct config *cfg = config_new();
    cr_assert(cfg && program_metrics_declare(cfg) == 0);
    if (port)
        cr_assert(setenv("METRICS_PORT", port, 1) == 0);
    else
        cr_assert(unsetenv("METRICS_PORT") == 0);
    cr_assert(config_load(cfg, stderr) == 0, "METRICS_PORT=%s: expected to load", port);
    return cfg;
}

static void scrape(const struct observer *o, char *text, size_t cap)
{
    unsigned port = program_metrics_port(o);
    cr_assert(port > 0, "expected the observer to listen on a port");
    int rc = tk_sh(text, cap, "curl -s --max-time 5 -i http://127.0.0.1:%u/metrics", port);
    cr_assert_eq(rc, 0, "GET /metrics: curl failed: %s", text);
}

GRADED(program_metrics, counts_jobs_and_messages_on_its_own_port, 2)
{
    struct config *cfg = settings("0");
    struct observer o;
    cr_assert_eq(program_metrics_open(cfg, "taskd-test", &o), 0);
    observe_job(&o, "export", OBSERVED_JOB_FAILED, 0); /* announced */
    observe_job(&o, "export", OBSERVED_JOB_SUCCEEDED, 1);
    observe_job(&o, "export", OBSERVED_JOB_SUCCEEDED, 2);
    observe_job(&o, "reminder", OBSERVED_JOB_RETRIED, 1);
    observe_messages(&o, "notifier", &(struct observed_messages){0});
    observe_messages(
        &o, "notifier",
        &(struct observed_messages){.handled = 5, .duplicates = 1, .dead_lettered = 2});
    observe_messages(&o, "notifier", &(struct observed_messages){.retried = 3, .dead_lettered = 1});
    static char text[65536];
    scrape(&o, text, sizeof text);
    const char *want[] = {
        "HTTP/1.1 200",
        "Content-Type: text/plain; version=0.0.4; charset=utf-8",
        "\njobs_total{type=\"export\",status=\"failed\"} 0\n",
        "\njobs_total{type=\"export\",status=\"succeeded\"} 3\n",
        "\njobs_total{type=\"reminder\",status=\"retried\"} 1\n",
        "\nevents_consumed_total{consumer=\"notifier\",outcome=\"handled\"} 5\n",
        "\nevents_consumed_total{consumer=\"notifier\",outcome=\"duplicate\"} 1\n",
        "\nevents_consumed_total{consumer=\"notifier\",outcome=\"retried\"} 3\n",
        "\nevents_dead_lettered_total{consumer=\"notifier\"} 3\n",
        "\nprocess_start_time_seconds ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(text, want[i]), "expected \"%s\" in GET /metrics:\n%.4000s", want[i],
                  text);
    observer_close(&o);
    observer_close(&o); /* a second close does nothing */
    cr_assert_null(o.job, "observer_close empties the observer");
    config_free(cfg);
}

GRADED(program_metrics, its_exposition_passes_promtool, 1)
{
    struct config *cfg = settings("0");
    struct observer o;
    cr_assert_eq(program_metrics_open(cfg, "taskd-test", &o), 0);
    observe_job(&o, "export", OBSERVED_JOB_SUCCEEDED, 1);
    observe_messages(&o, "a \"quoted\"\\group\n", &(struct observed_messages){.handled = 1});
    char out[8192];
    int rc = tk_sh(out, sizeof out,
                   "curl -s --max-time 5 http://127.0.0.1:%u/metrics | promtool check metrics",
                   program_metrics_port(&o));
    cr_assert_eq(rc, 0, "promtool check metrics refused the background program's metrics:\n%s",
                 out);
    observer_close(&o);
    config_free(cfg);
}

GRADED(program_metrics, no_port_means_no_listener_and_no_counting, 1)
{
    struct config *cfg = settings(NULL);
    struct observer o;
    cr_assert_eq(program_metrics_open(cfg, "taskd-test", &o), 0);
    cr_assert(!o.job && !o.messages && !o.close,
              "with METRICS_PORT unset the observer has no hooks");
    cr_assert_eq(program_metrics_port(&o), 0);
    observe_job(&o, "export", OBSERVED_JOB_SUCCEEDED, 1); /* safe: reports into nothing */
    observer_close(&o);
    config_free(cfg);
}

GRADED(program_metrics, a_port_in_use_is_refused_at_start, 1)
{
    struct config *cfg = settings("0");
    struct observer first;
    cr_assert_eq(program_metrics_open(cfg, "taskd-test", &first), 0);
    char taken[16];
    snprintf(taken, sizeof taken, "%u", program_metrics_port(&first));
    struct config *again = settings(taken);
    struct observer second;
    cr_assert_eq(program_metrics_open(again, "taskd-test", &second), ERR_UNAVAILABLE,
                 "a second listener on port %s: expected ERR_UNAVAILABLE (the program then does "
                 "not start)",
                 taken);
    cr_assert(!second.close, "a refused observer has nothing to close");
    observer_close(&first);
    config_free(again);
    config_free(cfg);
}
