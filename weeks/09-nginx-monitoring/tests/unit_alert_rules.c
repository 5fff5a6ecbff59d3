/* unit_alert_rules.c — Prometheus's rules for taskd (monitoring/taskd.rules.yml), checked by
 * Prometheus's own tool.
 *
 * `promtool check rules` reads them as Prometheus would at start-up (syntax, PromQL, names);
 * `promtool test rules` runs monitoring/taskd.rules.test.yml, which feeds known series and says
 * which alerts must fire when. These tests also hold the test file to its promise: every alert in
 * the rules has a case where it fires and one where it stays quiet. The outbox alert is lab 9.5:
 * the rules file is the learner's copy in the lab ($TASKD_LAB_FILES), the test file is always
 * the week's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testkit.h"

#define RULES_REPO "weeks/09-nginx-monitoring/monitoring/taskd.rules.yml"
#define TESTS_REPO "weeks/09-nginx-monitoring/monitoring/taskd.rules.test.yml"
#define OUT_MAX    16384
#define ALERTS_MAX 32

static char scratch[64];

static void remove_scratch(void)
{
    if (scratch[0]) {
        char out[256];
        (void)tk_sh(out, sizeof out, "rm -rf '%s'", scratch);
        scratch[0] = '\0';
    }
}

/* The rules (the graded copy) and the week's tests side by side in a scratch directory, as
 * the test file names its rules file by a relative path. Returns the directory. */
static const char *side_by_side(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/taskd-rules-XXXXXX");
    cr_assert(mkdtemp(scratch), "mkdtemp failed");
    char out[1024];
    const char *rules = tk_graded_file("taskd.rules.yml", RULES_REPO);
    int rc = tk_sh(out, sizeof out, "cp '%s' '%s/taskd.rules.yml' && cp '%s' '%s/'", rules, scratch,
                   TESTS_REPO, scratch);
    cr_assert_eq(rc, 0, "copying the rules: %s", out);
    return scratch;
}

/* The names after "- alert:" in the rules, in order. */
static size_t alert_names(const char *rules, char names[][64], size_t max)
{
    size_t n = 0;
    for (const char *p = rules; (p = strstr(p, "- alert:")) && n < max; p++) {
        const char *line_start = p;
        while (line_start > rules && line_start[-1] != '\n')
            line_start--;
        if (strspn(line_start, " ") != (size_t)(p - line_start))
            continue; /* in a comment */
        const char *v = p + strlen("- alert:");
        v += strspn(v, " ");
        snprintf(names[n], sizeof names[n], "%.*s", (int)strcspn(v, " \r\n#"), v);
        n++;
    }
    return n;
}

GRADED(rules, promtool_accepts_the_rules, 1, .fini = remove_scratch)
{
    char out[OUT_MAX];
    const char *rules = tk_graded_file("taskd.rules.yml", RULES_REPO);
    int rc = tk_sh(out, sizeof out, "promtool check rules '%s' 2>&1", rules);
    cr_assert_eq(rc, 0, "promtool check rules %s:\n%s", rules, out);
}

/* Every alert of the rules has a case in the test file where it fires (exp_alerts with an
 * entry) and one where it must not (exp_alerts: []). Read as text: each case is an
 * "alertname: X" line followed by its exp_alerts line. */
GRADED(rules, every_alert_is_tested_firing_and_quiet, 2)
{
    char *rules = tk_read_file(tk_graded_file("taskd.rules.yml", RULES_REPO), NULL);
    char *tests = tk_read_file(TESTS_REPO, NULL);
    cr_assert(rules && tests, "cannot read the rules or their tests");
    char names[ALERTS_MAX][64];
    size_t n = alert_names(rules, names, ALERTS_MAX);
    cr_assert(n >= 10,
              "expected at least 10 alerts in the rules (instance, front and background down, "
              "two error burn rates, 5xx, latency, p99, jobs and events dead-lettered), found %zu",
              n);
    for (size_t i = 0; i < n; i++) {
        char key[96];
        snprintf(key, sizeof key, "alertname: %s\n", names[i]);
        bool fires = false, quiet = false;
        for (const char *p = tests; (p = strstr(p, key)); p++) {
            const char *e = strstr(p, "exp_alerts:");
            if (!e)
                break;
            e += strlen("exp_alerts:");
            if (strncmp(e, " []", 3) == 0)
                quiet = true;
            else
                fires = true;
        }
        cr_assert(fires && quiet,
                  "%s has %s in %s: every alert needs a case that fires and one "
                  "that stays quiet",
                  names[i], !fires ? "no firing case" : "no quiet case", TESTS_REPO);
    }
    free(rules);
    free(tests);
}

/* promtool test rules, once: what it printed and its status. */
static int run_rule_tests(char *out, size_t cap)
{
    const char *dir = side_by_side();
    return tk_sh(out, cap, "cd '%s' && promtool test rules taskd.rules.test.yml 2>&1", dir);
}

GRADED(rules, the_alerts_fire_when_their_tests_say, 3, .fini = remove_scratch)
{
    char out[OUT_MAX];
    int rc = run_rule_tests(out, sizeof out);
    /* The outbox alert's failures belong to the next test (lab 9.5); any other is this one's. */
    bool others = false;
    for (const char *p = out; (p = strstr(p, "alertname: ")); p++)
        if (strncmp(p + strlen("alertname: "), "TaskdOutboxLagging", 18) != 0)
            others = true;
    cr_assert(rc == 0 || (!others && strstr(out, "TaskdOutboxLagging")),
              "promtool test rules failed (exit %d):\n%s", rc, out);
}

GRADED(rules, the_outbox_lag_alert_fires_after_five_minutes, 3, .fini = remove_scratch)
{
    char out[OUT_MAX];
    int rc = run_rule_tests(out, sizeof out);
    cr_assert(strstr(out, "SUCCESS") || strstr(out, "FAILED"),
              "promtool test rules did not run (exit %d):\n%s", rc, out);
    cr_assert(!strstr(out, "alertname: TaskdOutboxLagging"),
              "TaskdOutboxLagging (lab 9.5) does not behave as taskd.rules.test.yml says:\n%s",
              out);
}
