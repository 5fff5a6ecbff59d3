/* unit_slots.c — week 8's deploy script, graded without a server: the readiness gate (ready)
 * and the rollback of weeks/08-cicd/deploy/slots.sh.
 *
 * slots.sh runs as root on the week-5 server, where `make test-bluegreen` drives it for real
 * (minutes of booting and provisioning, under load). Here each test sources it (SLOTS_LIB=1: its
 * functions, and nothing run) in a bash whose PATH starts with fakes of systemctl, curl, nft,
 * journalctl and dpkg-query (weeks/08-cicd/tests/fakes/): a scratch directory holds what the
 * fakes answer (each unit's state and invocation, each port's HTTP statuses, the port that
 * public port 80 is redirected to) and every call they get, and slots.sh's own paths
 * (STATE_DIR, SLOTS, RELEASES, NFT_CONF) point into it. So a test sets up a server in a given
 * state, calls `ready blue inv-1` or `rollback`, and checks the exit status, what it said, and
 * what it did to the units and the firewall.
 *
 * Which slots.sh: the week's, or the learner's copy in $TASKD_LAB_FILES (labs.mk sets it for
 * lab-8, lab-check-8 and solution-8). The suites run from the repository's root. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testkit.h"

#define OUT_LEN 8192

/* A scratch server: the fakes' state, and slots.sh's directories. */
struct server {
    char dir[256];
    char out[OUT_LEN]; /* what the last call printed (stdout and stderr) */
    int status;        /* and its exit status */
};

/* The scratch directory of the test under way: removed after it, passed or failed (a failed
 * cr_assert ends the test before any clean-up of its own). */
static char scratch[256];

static void remove_scratch(void)
{
    if (!scratch[0])
        return;
    char out[256];
    tk_sh(out, sizeof out, "rm -rf '%s'", scratch);
    scratch[0] = '\0';
}

/* A test of slots.sh: its scratch server goes when it ends. */
#define SLOTS_TEST(suite, name, points) GRADED(suite, name, points, .fini = remove_scratch)

static void put(const struct server *s, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes DIR/rel (its directories made first) with the formatted text. */
static void put(const struct server *s, const char *rel, const char *fmt, ...)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    for (char *p = path + strlen(s->dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "test setup: mkdir %s: %s", path,
                  strerror(errno));
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert(f, "test setup: cannot write %s: %s", path, strerror(errno));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    cr_assert(fclose(f) == 0, "test setup: cannot write %s", path);
}

/* DIR/rel's text, "" when there is none (static: valid until the next call). */
static const char *got(const struct server *s, const char *rel)
{
    static char text[OUT_LEN];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s->dir, rel);
    char *t = tk_read_file(path, NULL);
    snprintf(text, sizeof text, "%s", t ? t : "");
    free(t);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    return text;
}

/* A server as week 5 left it and one blue/green deploy made it: slot blue runs release 1.1 and
 * slot green release 1.2, both taskd units active and answering on their ports; LIVE is the
 * slot port 80 goes to, PREVIOUS (NULL: none) the one a rollback returns to. */
static void server_new(struct server *s, const char *live, const char *previous)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/taskd-slots-XXXXXX");
    cr_assert(mkdtemp(s->dir), "test setup: mkdtemp: %s", strerror(errno));
    tk_run_dir_claim(s->dir); /* removed by services.sh prune-test-dbs if the test is killed */
    snprintf(scratch, sizeof scratch, "%s", s->dir);
    put(s, "nft-port", "%s\n", strcmp(live, "blue") == 0 ? "8081" : "8082");
    put(s, "nftables.conf",
        "table inet nat {\n  chain prerouting {\n    tcp dport 80 redirect to "
        ":%s\n  }\n}\n",
        strcmp(live, "blue") == 0 ? "8081" : "8082");
    if (previous)
        put(s, "state/slots.env", "PREVIOUS=%s\n", previous);
    const char *slots[] = {"blue", "green"};
    for (int i = 0; i < 2; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "unit/taskd@%s.service/state", slots[i]);
        put(s, rel, "active\n");
        snprintf(rel, sizeof rel, "unit/taskd@%s.service/inv", slots[i]);
        put(s, rel, "inv-%s\n", slots[i]);
        snprintf(rel, sizeof rel, "http/%d/_health", 8081 + i);
        put(s, rel, "200\n");
        snprintf(rel, sizeof rel, "http/%d/_ready", 8081 + i);
        put(s, rel, "200\n");
        snprintf(rel, sizeof rel, "releases/1.%d/usr/bin/.keep", i + 1);
        put(s, rel, "%s", "");
    }
    char slots_dir[300];
    snprintf(slots_dir, sizeof slots_dir, "%s/slots", s->dir);
    cr_assert(mkdir(slots_dir, 0755) == 0 || errno == EEXIST, "test setup: mkdir %s", slots_dir);
    for (int i = 0; i < 2; i++) {
        char release[300], link[320];
        snprintf(release, sizeof release, "%s/releases/1.%d", s->dir, i + 1);
        snprintf(link, sizeof link, "%s/%s", slots_dir, slots[i]);
        cr_assert(symlink(release, link) == 0, "test setup: symlink %s: %s", link, strerror(errno));
    }
    char worker[128];
    snprintf(worker, sizeof worker, "unit/taskd-worker@%s.service/state", live);
    put(s, worker, "active\n");
    put(s, "calls", "%s", "");
}

/* The slots.sh to grade. */
static const char *slots_sh(void)
{
    return tk_graded_file("slots.sh", "weeks/08-cicd/deploy/slots.sh");
}

/* Runs `CALL` (a shell command line: "ready blue inv-blue", "rollback") in a bash that has
 * sourced slots.sh, against the scratch server, READY_SECONDS=ready_seconds. */
static void call(struct server *s, int ready_seconds, const char *what)
{
    char cwd[512];
    cr_assert(getcwd(cwd, sizeof cwd), "getcwd: %s", strerror(errno));
    put(s, "calls", "%s", ""); /* only this call's */
    s->status = tk_sh(s->out, sizeof s->out,
                      "FAKE_DIR='%s' PATH='%s/weeks/08-cicd/tests/fakes':\"$PATH\" "
                      "STATE_DIR='%s/state' SLOTS='%s/slots' RELEASES='%s/releases' "
                      "NFT_CONF='%s/nftables.conf' READY_SECONDS=%d SLOTS_LIB=1 "
                      "bash -c '. \"$0\"; %s' '%s' 2>&1",
                      s->dir, cwd, s->dir, s->dir, s->dir, s->dir, ready_seconds, what, slots_sh());
}

/* How many calls the fakes logged that contain needle. */
static int calls(const struct server *s, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/calls", s->dir);
    char *log = tk_read_file(path, NULL);
    int n = 0;
    for (const char *p = log ? log : ""; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* The position of the first logged call that contains needle, or -1. */
static long first_call(const struct server *s, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/calls", s->dir);
    char *log = tk_read_file(path, NULL);
    const char *p = log ? strstr(log, needle) : NULL;
    long at = p ? p - log : -1;
    free(log);
    return at;
}

static const char *calls_text(const struct server *s)
{
    static char text[4096];
    char path[512];
    snprintf(path, sizeof path, "%s/calls", s->dir);
    char *log = tk_read_file(path, NULL);
    snprintf(text, sizeof text, "%s", log ? log : "(none)");
    free(log);
    return text;
}

/* ---- ready SLOT INVOCATION_BEFORE: the gate before a switch (exercise 8.2) ---- */

SLOTS_TEST(ready, a_slot_active_in_a_new_invocation_that_answers_is_ready, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    call(&s, 10, "ready blue inv-0");
    cr_assert(s.status == 0,
              "ready blue inv-0: taskd@blue.service is active in invocation inv-blue (not inv-0, "
              "the one before the restart) and 8081 answers /health and /ready with 200: expected "
              "status 0, got %d; it said:\n%s",
              s.status, s.out);
    cr_assert(calls(&s, "http://127.0.0.1:8081/ready") >= 1,
              "ready blue: expected it to ask GET /ready on blue's own port (8081): /health says "
              "the process answers, only /ready says it can serve. Calls:\n%s",
              calls_text(&s));
}

SLOTS_TEST(ready, waits_while_the_unit_is_still_activating, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    put(&s, "unit/taskd@blue.service/states", "activating\nactivating\nactive\n");
    call(&s, 20, "ready blue inv-0");
    cr_assert(s.status == 0,
              "ready blue: the unit is \"activating\" twice, then \"active\": expected it to keep "
              "asking and succeed (status 0), got %d; it said:\n%s",
              s.status, s.out);
    cr_assert(calls(&s, "show -p ActiveState --value taskd@blue.service") >= 3,
              "ready blue: expected at least 3 questions for ActiveState (activating, activating, "
              "active). Calls:\n%s",
              calls_text(&s));
}

SLOTS_TEST(ready, waits_until_ready_answers_200, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    put(&s, "http/8081/_ready", "503\n503\n200\n");
    call(&s, 20, "ready blue inv-0");
    cr_assert(s.status == 0,
              "ready blue: GET /ready on 8081 answers 503, 503, then 200 (taskd waits for its "
              "database): expected status 0 once it is 200, got %d; it said:\n%s",
              s.status, s.out);
    cr_assert(calls(&s, "http://127.0.0.1:8081/ready") >= 3,
              "ready blue: expected /ready asked until it said 200 (3 times). Calls:\n%s",
              calls_text(&s));
}

SLOTS_TEST(ready, keeps_asking_until_ready_seconds_not_a_fixed_number_of_times, 1)
{
    struct server s;
    server_new(&s, "green", "blue");
    /* About 5 s of 503 (a migration, a cold cache) with READY_SECONDS=30: a slow start is not a
     * failed one. */
    put(&s, "http/8081/_ready", "503\n503\n503\n503\n503\n503\n503\n503\n503\n503\n200\n");
    call(&s, 30, "ready blue inv-0");
    cr_assert(s.status == 0,
              "ready blue: /ready answers 503 ten times, then 200, with READY_SECONDS=30: expected "
              "it to keep asking until the deadline, not a fixed number of times, and succeed; got "
              "status %d:\n%s",
              s.status, s.out);
}

SLOTS_TEST(ready, health_and_ready_must_both_answer_200, 1)
{
    struct server s;
    server_new(&s, "green", "blue");
    put(&s, "http/8081/_health", "500\n");
    call(&s, 2, "ready blue inv-0");
    cr_assert(s.status == 1,
              "ready blue: /ready answers 200 but /health answers 500: expected status 1 (the gate "
              "asks both: /health that the process answers, /ready that it can serve), got %d:\n%s",
              s.status, s.out);
    cr_assert(calls(&s, "http://127.0.0.1:8081/health") >= 1,
              "ready blue: expected it to ask GET /health on 8081. Calls:\n%s", calls_text(&s));
}

SLOTS_TEST(ready, the_invocation_from_before_the_restart_is_not_ready, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    /* The restart has not happened yet: the unit still runs the invocation the caller saw. */
    call(&s, 2, "ready blue inv-blue");
    cr_assert(
        s.status == 1,
        "ready blue inv-blue: taskd@blue.service still runs invocation inv-blue, the one from "
        "before the restart (the old release, still answering): expected status 1 after "
        "READY_SECONDS, got %d; it said:\n%s",
        s.status, s.out);
    cr_assert(strstr(s.out, "not ready"),
              "ready blue: expected it to say the unit is \"not ready after ... s\" when it gives "
              "up, got:\n%s",
              s.out);
}

SLOTS_TEST(ready, a_failed_unit_is_refused_at_once, 2)
{
    struct server s;
    server_new(&s, "blue", "green");
    put(&s, "unit/taskd@green.service/state", "failed\n");
    call(&s, 30, "ready green inv-0");
    cr_assert(s.status == 1, "ready green: the unit has failed: expected status 1, got %d:\n%s",
              s.status, s.out);
    cr_assert(strstr(s.out, "taskd@green.service failed"),
              "ready green: expected it to say \"taskd@green.service failed\", got:\n%s", s.out);
    int asked = calls(&s, "show -p ActiveState --value taskd@green.service");
    cr_assert(asked <= 2,
              "ready green: a failed unit will not recover by itself: expected it to give up at "
              "once, not to wait out READY_SECONDS (it asked ActiveState %d times)",
              asked);
}

SLOTS_TEST(ready, asks_the_slots_own_port, 1)
{
    struct server s;
    server_new(&s, "blue", "green");
    /* Only green's port answers: a gate that asks port 80, 8080 or blue's 8081 never passes. */
    put(&s, "http/8081/_ready", "503\n");
    call(&s, 5, "ready green inv-0");
    cr_assert(s.status == 0,
              "ready green: 8082 answers /health and /ready: expected status 0, got %d:\n%s",
              s.status, s.out);
    cr_assert(calls(&s, ":8081/") == 0 && calls(&s, ":80/") == 0 && calls(&s, ":8080/") == 0,
              "ready green: expected it to ask green's own port (8082) only: through port 80 the "
              "live slot would answer instead. Calls:\n%s",
              calls_text(&s));
}

SLOTS_TEST(ready, gives_up_after_ready_seconds_saying_why, 1)
{
    struct server s;
    server_new(&s, "blue", "green");
    put(&s, "http/8082/_health", "%s", ""); /* nothing listens on 8082 */
    put(&s, "http/8082/_ready", "%s", "");
    call(&s, 2, "ready green inv-0");
    cr_assert(s.status == 1,
              "ready green: nothing listens on 8082: expected status 1 after READY_SECONDS=2, got "
              "%d:\n%s",
              s.status, s.out);
    cr_assert(strstr(s.out, "taskd@green.service") && strstr(s.out, "not ready"),
              "ready green: expected it to say \"taskd@green.service not ready after 2 s\", "
              "got:\n%s",
              s.out);
}

/* ---- rollback: back to the slot that served before (exercise 8.3) ---- */

SLOTS_TEST(rollback, switches_port_80_back_to_the_previous_slot, 3)
{
    struct server s;
    server_new(&s, "green", "blue");
    call(&s, 10, "rollback");
    cr_assert(s.status == 0, "rollback (green live, blue previous): expected status 0, got %d:\n%s",
              s.status, s.out);
    cr_assert(strcmp(got(&s, "nft-port"), "8081") == 0,
              "rollback: expected port 80 redirected to blue's 8081, it goes to %s. Calls:\n%s",
              got(&s, "nft-port"), calls_text(&s));
    cr_assert(strstr(s.out, "slots: result=rolled-back live=blue version=1.1 from=green"),
              "rollback: expected its last line to be \"slots: result=rolled-back live=blue "
              "version=1.1 from=green seconds=N\" (bluegreen.sh and the tests read it), got:\n%s",
              s.out);
    cr_assert(calls(&s, "systemctl restart") == 0 && calls(&s, "stop taskd@blue.service") == 0 &&
                  calls(&s, "start taskd@blue.service") == 0,
              "rollback: blue's taskd kept running and is active: expected the switch alone, no "
              "start, stop or restart of it (a start does nothing to an active unit, so a "
              "readiness gate after it would wait for a new invocation that never comes). "
              "Calls:\n%s",
              calls_text(&s));
}

SLOTS_TEST(rollback, the_slot_it_leaves_becomes_previous, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    call(&s, 10, "rollback");
    cr_assert(s.status == 0, "rollback: expected status 0, got %d:\n%s", s.status, s.out);
    cr_assert(strcmp(got(&s, "state/slots.env"), "PREVIOUS=green") == 0,
              "rollback from green to blue: expected the state file to say PREVIOUS=green (a "
              "second rollback undoes the first), it says \"%s\"",
              got(&s, "state/slots.env"));
    call(&s, 10, "rollback");
    cr_assert(s.status == 0 && strcmp(got(&s, "nft-port"), "8082") == 0,
              "a second rollback: expected status 0 and port 80 back on green's 8082, got status "
              "%d and port %s:\n%s",
              s.status, got(&s, "nft-port"), s.out);
}

SLOTS_TEST(rollback, without_a_previous_slot_it_refuses_and_changes_nothing, 2)
{
    struct server s;
    server_new(&s, "green", NULL);
    call(&s, 10, "rollback");
    cr_assert(s.status == 2,
              "rollback with no previous slot (one deploy only): expected status 2 (slots.sh's "
              "die), got %d:\n%s",
              s.status, s.out);
    cr_assert(strstr(s.out, "nothing to roll back to"),
              "rollback with no previous slot: expected \"nothing to roll back to\", got:\n%s",
              s.out);
    cr_assert(strcmp(got(&s, "nft-port"), "8082") == 0 && calls(&s, "nft -f") == 0,
              "rollback with no previous slot: expected the firewall untouched, port 80 on 8082; "
              "it is on %s. Calls:\n%s",
              got(&s, "nft-port"), calls_text(&s));
}

SLOTS_TEST(rollback, a_stopped_previous_slot_is_started_and_ready_before_the_switch, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    put(&s, "unit/taskd@blue.service/state", "inactive\n");
    call(&s, 10, "rollback");
    cr_assert(s.status == 0, "rollback to a stopped blue: expected status 0, got %d:\n%s", s.status,
              s.out);
    long started = first_call(&s, "systemctl start taskd@blue.service");
    long asked = first_call(&s, "http://127.0.0.1:8081/ready");
    long switched = first_call(&s, "nft -f");
    cr_assert(started >= 0 && asked > started && switched > asked,
              "rollback to a stopped blue: expected, in this order, systemctl start "
              "taskd@blue.service, its readiness checked on 8081, then the switch (nft -f). "
              "Calls:\n%s",
              calls_text(&s));
    cr_assert(strcmp(got(&s, "nft-port"), "8081") == 0,
              "rollback: expected port 80 on 8081, got %s", got(&s, "nft-port"));
}

SLOTS_TEST(rollback, a_previous_slot_that_does_not_become_ready_is_not_switched_to, 2)
{
    struct server s;
    server_new(&s, "green", "blue");
    put(&s, "unit/taskd@blue.service/state", "inactive\n");
    put(&s, "unit/taskd@blue.service/on-start", "failed\n");
    call(&s, 10, "rollback");
    cr_assert(
        s.status == 2,
        "rollback to a blue that fails to start: expected status 2 and no switch, got %d:\n%s",
        s.status, s.out);
    cr_assert(calls(&s, "systemctl start taskd@blue.service") == 1,
              "rollback to a stopped blue: expected it to try: systemctl start taskd@blue.service, "
              "then the readiness gate. Calls:\n%s",
              calls_text(&s));
    cr_assert(strcmp(got(&s, "nft-port"), "8082") == 0 && calls(&s, "nft -f") == 0,
              "rollback to a blue that fails to start: expected port 80 to stay on green's 8082 "
              "(a switch to a slot that cannot serve turns a bad release into an outage); it is "
              "on %s. Calls:\n%s",
              got(&s, "nft-port"), calls_text(&s));
}

SLOTS_TEST(rollback, the_live_slots_worker_follows, 1)
{
    struct server s;
    server_new(&s, "green", "blue");
    call(&s, 10, "rollback");
    cr_assert(s.status == 0, "rollback: expected status 0, got %d:\n%s", s.status, s.out);
    cr_assert(calls(&s, "systemctl start taskd-worker@blue.service") == 1 &&
                  calls(&s, "stop taskd-worker@green.service") == 1,
              "rollback to blue: expected blue's worker started and green's stopped (only the "
              "live slot's worker takes jobs). Calls:\n%s",
              calls_text(&s));
}
