/* api_events.c — week 7's black-box suite: events from the outside, on the real broker.
 *
 * Each test runs a private taskd (stage 7, a fresh database) with the stage's other programs
 * beside it — taskd-relay, taskd-projector and, where mail is checked, taskd-notifier — on the
 * bus of its suite (events_kafka: the dev broker; events_rabbitmq: a real rabbitmq-server):
 * every test runs on both. Every test has a topic and consumer groups of its own,
 * so tests never see each other's events. What a test observes is what a client or an operator
 * can: the HTTP API (GET /tasks/{id}/activity is the read model the projector fills), the
 * programs' logs, the database with psql, the SMTP sink's files, and the bus through
 * taskd-events.
 *
 * Suite events: every change yields exactly one event in order; the feed is scoped to its
 * owner; the notifier mails the owner; with the broker down writes still succeed and every
 * event arrives afterwards; a relay killed mid-batch loses nothing and the duplicates it causes
 * change nothing; a killed consumer's partner takes over; a poison message goes to the
 * dead-letter topic and consumption goes on. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api_w3_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define EV_WAIT_MS 30000 /* how long an event may take to reach the read model in a test */

struct ev {
    struct tk_server *s;
    char topic[64];
    char env_topic[96];
    char env_group[128];
    struct tk_proc *relay, *projector, *notifier;
};

/* Each test runs once per bus: events_kafka::NAME and events_rabbitmq::NAME. Criterion runs every
 * test in a process of its own, so EVENT_BUS set here reaches the server, the programs and the
 * commands of that test only. */
static void on_bus(const char *bus)
{
    cr_assert_eq(setenv("EVENT_BUS", bus, 1), 0, "cannot set EVENT_BUS");
}

/* A test's private broker (private_bus below), stopped after the test even when an assertion
 * ended it early: a broker left running holds its ports and memory after the suite. */
static void private_bus_cleanup(void);

#define EVENTS_TEST(name, points, secs)                                                            \
    static void name(void);                                                                        \
    GRADED(events_kafka, name, points, .timeout = secs, .fini = private_bus_cleanup)               \
    {                                                                                              \
        on_bus("kafka");                                                                           \
        name();                                                                                    \
    }                                                                                              \
    GRADED(events_rabbitmq, name, points, .timeout = secs, .fini = private_bus_cleanup)            \
    {                                                                                              \
        on_bus("rabbitmq");                                                                        \
        name();                                                                                    \
    }                                                                                              \
    static void name(void)

static const char *bus_kind(void)
{
    const char *b = getenv("EVENT_BUS");
    return b && *b ? b : "kafka";
}

/* The environment a program of the test gets on top of the server's (TASKD_ENV, its database):
 * the test's topic and group, quick polls, and up to two settings of the test's (may be NULL). */
static const char *const *prog_env(struct ev *g, const char *group, const char *extra,
                                   const char *extra2)
{
    static const char *env[7];
    snprintf(g->env_group, sizeof g->env_group, "CONSUMER_GROUP=%s-%s", g->topic, group);
    size_t n = 0;
    /* The test's own first: of two settings of one name, getenv finds the first. */
    if (extra)
        env[n++] = extra;
    if (extra && extra2)
        env[n++] = extra2;
    env[n++] = g->env_topic;
    env[n++] = g->env_group;
    env[n++] = "OUTBOX_POLL_MS=10";
    env[n++] = "KAFKA_SESSION_TIMEOUT_MS=6000";
    env[n] = NULL;
    return env;
}

/* The stage's program `name` beside TASKD_BIN; $TASKD_BIN_<NAME> (taskd-relay: TASKD_BIN_RELAY)
 * names another build of it. */
static const char *bin(const char *name)
{
    char var[64];
    snprintf(var, sizeof var, "TASKD_BIN_%s", name + strlen("taskd-"));
    for (char *c = var; *c; c++)
        *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    return tk_bin_beside(name, var);
}

static struct tk_proc *prog_start2(struct ev *g, const char *name, const char *group,
                                   const char *extra, const char *extra2, const char *ready)
{
    const char *argv[] = {bin(name), NULL};
    struct tk_proc *p = tk_proc_start_beside(g->s, argv, prog_env(g, group, extra, extra2));
    tk_proc_wait_log(p, ready, 20000);
    return p;
}

static struct tk_proc *prog_start(struct ev *g, const char *name, const char *group,
                                  const char *extra, const char *ready)
{
    return prog_start2(g, name, group, extra, NULL, ready);
}

/* A private server with the relay and the projector beside it (and the notifier when asked). */
static void ev_start(struct ev *g, bool notifier)
{
    tk_need_local("runs the stage's programs beside a taskd of its own");
    tk_unique("ev", g->topic, sizeof g->topic);
    snprintf(g->env_topic, sizeof g->env_topic, "EVENTS_TOPIC=%s", g->topic);
    g->s = tk_server_start((const char *const[]){g->env_topic, NULL});
    g->relay = prog_start(g, "taskd-relay", "relay", NULL, "relay started");
    g->projector = prog_start(g, "taskd-projector", "projector", NULL, "consumer started");
    if (notifier)
        g->notifier = prog_start(g, "taskd-notifier", "notifier", NULL, "consumer started");
}

static void ev_stop(struct ev *g)
{
    tk_proc_stop(g->notifier, SIGTERM, 10000);
    tk_proc_stop(g->projector, SIGTERM, 10000);
    tk_proc_stop(g->relay, SIGTERM, 15000);
    if (g->s)
        tk_server_stop(g->s);
}

/* psql's one value for sql on the test's database. */
static long long db_scalar(struct ev *g, const char *sql)
{
    char out[256];
    int rc = tk_sh(out, sizeof out, "psql '%s' -Atqc \"%s\"", tk_server_database_url(g->s), sql);
    cr_assert_eq(rc, 0, "psql failed (%d): %s", rc, out);
    return strtoll(out, NULL, 10);
}

/* While waiting for events: when none has even reached the outbox 5 s after start_ms, no wait
 * will help (the write path records no event): fail now, naming why. */
static void expect_some_outbox_row(struct ev *g, long start_ms)
{
    if (tk_now_ms() - start_ms < 5000)
        return;
    /* Sent rows are deleted, so the table may be empty again: the id sequence remembers. */
    cr_assert(db_scalar(g, "SELECT COALESCE(pg_sequence_last_value("
                           "pg_get_serial_sequence('outbox', 'id')), 0)") > 0,
              "expected the writes to have put their events in the outbox table, found none "
              "after 5 s (lab 7.1: the event's row in the change's transaction)");
}

/* GET /tasks/<id>/activity until it lists at least n events (or EV_WAIT_MS): the response. A
 * deleted task whose events have not reached the read model yet is 404 (nothing to show of
 * it): that is waited out too. */
static struct tk_response *activity(struct ev *g, long long id, int n)
{
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld/activity", id);
    long start = tk_now_ms(), deadline = start + EV_WAIT_MS;
    for (;;) {
        expect_some_outbox_row(g, start);
        struct tk_response *r = tk_get(g->s, path);
        bool waiting = r->status == 404 && tk_now_ms() < deadline;
        if (!waiting) {
            tk_expect_status(r, 200);
            cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
            cr_assert(cJSON_IsArray(items), "expected {\"items\": [...]} from %s: %s", r->what,
                      r->body);
            if (cJSON_GetArraySize(items) >= n || tk_now_ms() > deadline)
                return r;
        }
        tk_response_free(r);
        tk_sleep_ms(100);
    }
}

/* Waits up to EV_WAIT_MS for the outbox to empty (every row sent, and so deleted); asserts it. */
static void expect_drained(struct ev *g, const char *why)
{
    long deadline = tk_now_ms() + EV_WAIT_MS;
    while (db_scalar(g, "SELECT count(*) FROM outbox") > 0 && tk_now_ms() < deadline)
        tk_sleep_ms(100);
    cr_assert_eq(db_scalar(g, "SELECT count(*) FROM outbox"), 0, "expected the outbox to drain: %s",
                 why);
}

static cJSON *items_of(struct tk_response *r)
{
    return cJSON_GetObjectItemCaseSensitive(r->json, "items");
}

static long long create(struct ev *g, const char *title)
{
    char body[160];
    snprintf(body, sizeof body, "{\"title\": \"%s\"}", title);
    return tk_create_task(g->s, body);
}

EVENTS_TEST(every_change_yields_exactly_one_event_in_order, 5, 90)
{
    struct ev g = {0};
    ev_start(&g, false);
    long long id = create(&g, "one event per change");
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    tk_response_free(tk_patch_json(g.s, path, "{\"status\": \"in_progress\"}"));
    tk_response_free(tk_patch_json(g.s, path, "{}")); /* changes nothing: no event */
    tk_response_free(tk_patch_json(g.s, path, "{\"status\": \"done\"}"));
    struct tk_response *del = tk_delete(g.s, path);
    tk_expect_status(del, 204);
    tk_response_free(del);
    struct tk_response *r = activity(&g, id, 4);
    cJSON *items = items_of(r);
    static const char *const types[] = {"task.created", "task.updated", "task.updated",
                                        "task.deleted"};
    static const int versions[] = {1, 2, 3, 3};
    cr_assert_eq(cJSON_GetArraySize(items), 4,
                 "expected exactly 4 events (create, 2 real updates, delete) in the feed of task "
                 "%lld on %s, got %d: %s",
                 id, bus_kind(), cJSON_GetArraySize(items), r->body);
    char seen[4][40];
    for (int i = 0; i < 4; i++) {
        cJSON *e = cJSON_GetArrayItem(items, i);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(e, "version");
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(e, "task_id");
        const cJSON *eid = cJSON_GetObjectItemCaseSensitive(e, "event_id");
        cr_assert(cJSON_IsString(type) && strcmp(type->valuestring, types[i]) == 0,
                  "expected event %d to be %s: %s", i + 1, types[i], r->body);
        cr_assert(cJSON_IsNumber(ver) && ver->valueint == versions[i],
                  "expected event %d to carry version %d: %s", i + 1, versions[i], r->body);
        cr_assert(cJSON_IsNumber(tid) && (long long)tid->valuedouble == id,
                  "expected event %d to be about task %lld", i + 1, id);
        cr_assert(cJSON_IsString(eid) && strlen(eid->valuestring) == 36,
                  "expected event %d to have a UUID event_id", i + 1);
        snprintf(seen[i], sizeof seen[i], "%s", eid->valuestring);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j], "expected distinct event_ids");
    }
    tk_response_free(r);
    expect_drained(&g, "every row removed from its delivery report");
    ev_stop(&g);
}

EVENTS_TEST(the_activity_feed_is_its_owners_only, 2, 60)
{
    struct ev g = {0};
    ev_start(&g, false);
    long long id = create(&g, "mine");
    struct tk_response *r = activity(&g, id, 1);
    cr_assert_eq(cJSON_GetArraySize(items_of(r)), 1, "expected the create's event: %s", r->body);
    tk_response_free(r);
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld/activity", id + 1000);
    r = tk_get(g.s, path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
    r = tk_get(g.s, "/tasks/007/activity");
    tk_expect_problem(r, 404);
    tk_response_free(r);
    /* Another user: a token of their own, the same task id. */
    struct w4_user other;
    w4_user_new(g.s, "ev-other", &other);
    snprintf(path, sizeof path, "/tasks/%lld/activity", id);
    r = w4_as(g.s, other.auth, "GET", path, NULL);
    w4_expect_404(r);
    tk_response_free(r);
    r = w4_as(g.s, "Authorization:", "GET", path, NULL); /* no token at all */
    w4_expect_401_challenge(r);
    tk_response_free(r);
    ev_stop(&g);
}

/* The sink's files that hold needle (an event_id): how many. */
static int sink_count(const char *needle)
{
    const char *dir = getenv("SMTP_SINK_DIR");
    cr_assert(dir && *dir, "SMTP_SINK_DIR is not set: run this suite through make test-week-7");
    char out[64];
    tk_sh(out, sizeof out, "grep -l -F -- '%s' '%s'/*.eml 2>/dev/null | wc -l", needle, dir);
    return atoi(out);
}

EVENTS_TEST(the_notifier_mails_the_owner_once_per_event, 3, 90)
{
    struct ev g = {0};
    ev_start(&g, true);
    struct w4_user u;
    w4_user_new(g.s, "ev-mail", &u);
    long long id = w4_post_as(g.s, &u, "/tasks", "{\"title\": \"mail me\"}", 201);
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld/activity", id);
    long deadline = tk_now_ms() + EV_WAIT_MS;
    struct tk_response *r = NULL;
    long start = tk_now_ms();
    for (;;) { /* the feed, read as its owner */
        expect_some_outbox_row(&g, start);
        r = w4_as(g.s, u.auth, "GET", path, NULL);
        tk_expect_status(r, 200);
        if (cJSON_GetArraySize(items_of(r)) >= 1 || tk_now_ms() > deadline)
            break;
        tk_response_free(r);
        tk_sleep_ms(100);
    }
    cJSON *first = cJSON_GetArrayItem(items_of(r), 0);
    const cJSON *eid = cJSON_GetObjectItemCaseSensitive(first, "event_id");
    cr_assert(cJSON_IsString(eid), "expected the create's event in the feed: %s", r->body);
    char event_id[40];
    snprintf(event_id, sizeof event_id, "%s", eid->valuestring);
    tk_response_free(r);
    while (sink_count(event_id) == 0 && tk_now_ms() < deadline)
        tk_sleep_ms(200);
    cr_assert_eq(sink_count(event_id), 1,
                 "expected exactly one mail carrying event %s (its Message-ID) in the SMTP sink",
                 event_id);
    char out[64];
    tk_sh(out, sizeof out, "grep -l -F -- '%s' '%s'/*.eml | xargs grep -l -i -F -- '%s' | wc -l",
          event_id, getenv("SMTP_SINK_DIR"), u.email);
    cr_assert_eq(atoi(out), 1, "expected the mail of event %s to go to the owner %s", event_id,
                 u.email);
    ev_stop(&g);
}

/* Tasks whose create is in the read model: the projector's rows in the test's database. */
static long long projected_creates(struct ev *g)
{
    return db_scalar(g, "SELECT count(*) FROM task_activity WHERE type = 'task.created'");
}

static void wait_projected(struct ev *g, long long want, long wait_ms)
{
    long start = tk_now_ms(), deadline = start + wait_ms;
    while (projected_creates(g) < want && tk_now_ms() < deadline) {
        expect_some_outbox_row(g, start);
        tk_sleep_ms(200);
    }
}

/* A broker of the test's own (TASKD_RUN_DIR=dir services.sh), so taking it down disturbs no
 * other test: its URL setting ("KAFKA_BROKERS=..." or "AMQP_URL=...") into env. */
/* The private broker's directory while it runs ("" when none): each test runs in a process of
 * its own, so this is the running test's. */
static char private_dir[64];

static void private_bus(char *dir, size_t dir_len, char *env, size_t env_len)
{
    snprintf(dir, dir_len, "/tmp/taskd-evbus-XXXXXX");
    cr_assert(mkdtemp(dir), "cannot make a temporary directory");
    snprintf(private_dir, sizeof private_dir, "%s", dir);
    const char *svc = strcmp(bus_kind(), "rabbitmq") == 0 ? "rabbitmq" : "kafka";
    const char *var = strcmp(svc, "kafka") == 0 ? "KAFKA_BROKERS" : "AMQP_URL";
    w3_services(dir, "up", svc);
    char out[512];
    tk_sh(out, sizeof out, "grep '^%s=' '%s/services.env' | tail -1 | tr -d \"'\\n\"", var, dir);
    cr_assert(strncmp(out, var, strlen(var)) == 0, "expected %s in %s/services.env, got %s", var,
              dir, out);
    snprintf(env, env_len, "%s", out);
}

/* Takes the private broker away (down) and brings it back (up). */
static void private_bus_set(const char *dir, bool up)
{
    if (strcmp(bus_kind(), "rabbitmq") == 0)
        w3_services(dir, up ? "start" : "stop", "rabbitmq");
    else {
        char out[1024];
        int rc = tk_sh(out, sizeof out, "TASKD_RUN_DIR='%s' bash shared/scripts/services.sh %s",
                       dir, up ? "kafka-resume" : "kafka-pause");
        cr_assert_eq(rc, 0, "services.sh %s failed: %s", up ? "kafka-resume" : "kafka-pause", out);
    }
}

static void private_bus_destroy(char *dir)
{
    char out[64];
    tk_sh(out, sizeof out,
          "TASKD_RUN_DIR='%s' bash shared/scripts/services.sh destroy >/dev/null "
          "2>&1; rm -rf '%s'",
          dir, dir);
    if (strcmp(dir, private_dir) == 0)
        private_dir[0] = '\0';
}

static void private_bus_cleanup(void)
{
    if (private_dir[0])
        private_bus_destroy(private_dir);
}

EVENTS_TEST(with_the_broker_down_writes_succeed_and_every_event_arrives_after, 5, 180)
{
    tk_need_local("takes a broker of its own down");
    char dir[64], bus_env[512];
    private_bus(dir, sizeof dir, bus_env, sizeof bus_env);
    struct ev g = {0};
    tk_unique("ev", g.topic, sizeof g.topic);
    snprintf(g.env_topic, sizeof g.env_topic, "EVENTS_TOPIC=%s", g.topic);
    g.s = tk_server_start((const char *const[]){g.env_topic, bus_env, NULL});
    /* The programs get the test's broker too: tk_proc_start_beside passes TASKD_ENV and the
     * database, not the server's own extra settings. */
    g.relay = prog_start2(&g, "taskd-relay", "relay", bus_env, "EVENT_BUS_TIMEOUT_MS=2000",
                          "relay started");
    /* A group member silent for longer than its session timeout is dropped and must rejoin;
     * the outage here is about the outbox, so the session outlasts it (rejoining is the consumer
     * test's subject, and the dev broker's rejoin is slow: docs/decisions/0029). */
    g.projector = prog_start2(&g, "taskd-projector", "projector", bus_env,
                              "KAFKA_SESSION_TIMEOUT_MS=30000", "consumer started");
    long long first = create(&g, "before the outage");
    wait_projected(&g, 1, EV_WAIT_MS);
    cr_assert_eq(projected_creates(&g), 1, "expected the first event through before the outage");

    private_bus_set(dir, false);
    long t0 = tk_now_ms();
    for (int i = 0; i < 20; i++)
        create(&g, "during the outage"); /* tk_create_task asserts 201 */
    long write_ms = tk_now_ms() - t0;
    tk_sleep_ms(3000); /* past the bus deadline: the relay's sends fail and wait their backoff */
    cr_assert(db_scalar(&g, "SELECT count(*) FROM outbox") >= 20,
              "expected the outbox to hold the 20 events written while the broker was down");
    private_bus_set(dir, true);
    wait_projected(&g, 21, 60000);
    if (projected_creates(&g) != 21) { /* what the programs said, for whoever reads the failure */
        char *rl = tk_proc_log(g.relay), *pl = tk_proc_log(g.projector);
        size_t rn = strlen(rl), pn = strlen(pl);
        fprintf(stderr, "relay log (tail):\n%s\nprojector log (tail):\n%s\n",
                rn > 3000 ? rl + rn - 3000 : rl, pn > 3000 ? pl + pn - 3000 : pl);
        free(rl);
        free(pl);
    }
    cr_assert_eq(projected_creates(&g), 21,
                 "expected all 21 creates in the read model after the broker came back, none "
                 "lost (on %s; %lld projected, %lld rows still pending in the outbox)",
                 bus_kind(), projected_creates(&g), db_scalar(&g, "SELECT count(*) FROM outbox"));
    expect_drained(&g, "every event of the outage sent once the broker is back");
    fprintf(stderr,
            "figure: events: 20 writes with the broker down took %ld ms (all 201); "
            "first task %lld\n",
            write_ms, first);
    ev_stop(&g);
    private_bus_destroy(dir);
}

/* Where the relay dies: a gate in the test's own database. Once GATE_AT of the N rows are sent
 * (deleted), the next DELETE of sent rows waits inside PostgreSQL, after its batch was
 * published and confirmed, until relay_gate opens. Killing the relay there is a kill -9
 * mid-batch on every bus and at any speed (a bus that delivers 200 events in 20 ms outruns a
 * test that watches the count and kills). The statement-level trigger sees only DELETEs.
 * A DELETE that reaches the gate says so through a sequence, which no transaction hides (the
 * waiting DELETE never commits): watching for an active DELETE in pg_stat_activity instead
 * also saw the ones the gate let through, and under the sanitizers one of those ended between
 * the watch and the check. */
#define N_GATED      200
#define GATE_AT      50
#define STRINGIFY(x) #x
#define STR(x)       STRINGIFY(x)
static const char gate_sql[] =
    "CREATE TABLE relay_gate (open boolean NOT NULL); INSERT INTO relay_gate VALUES (false);"
    "CREATE SEQUENCE relay_gate_reached;"
    "CREATE FUNCTION relay_gate_wait() RETURNS trigger LANGUAGE plpgsql AS $g$ BEGIN"
    " IF (SELECT count(*) FROM outbox) <= " STR(N_GATED) " - " STR(
        GATE_AT) " THEN"
                 "  PERFORM nextval($q$relay_gate_reached$q$);"
                 "  WHILE NOT (SELECT open FROM relay_gate) LOOP PERFORM pg_sleep(0.02); END LOOP;"
                 " END IF; RETURN NULL; END $g$;"
                 "CREATE TRIGGER relay_gate BEFORE DELETE ON outbox"
                 " FOR EACH STATEMENT EXECUTE FUNCTION relay_gate_wait();";

/* How many DELETEs have reached the gate (they wait there until it opens). */
#define GATE_REACHED "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM relay_gate_reached"
/* The DELETE statements running (the one waiting at the gate among them), or terminates them. */
#define GATED_BACKENDS(what)                                                                       \
    "SELECT " what " FROM pg_stat_activity WHERE datname = current_database() AND "                \
    "pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'DELETE FROM outbox%'"

static void db_exec(struct ev *g, const char *sql)
{
    char out[1024];
    int rc = tk_sh(out, sizeof out, "psql '%s' -v ON_ERROR_STOP=1 -Atqc '%s'",
                   tk_server_database_url(g->s), sql);
    cr_assert_eq(rc, 0, "psql failed (%d): %s", rc, out);
}

/* The counter `key` of the last line of p's log that has it (-1: none). */
static long long log_counter(const struct tk_proc *p, const char *key)
{
    char *log = tk_proc_log(p), needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    long long v = -1;
    for (const char *at = strstr(log, needle); at; at = strstr(at + 1, needle))
        v = strtoll(at + strlen(needle), NULL, 10);
    free(log);
    return v;
}

EVENTS_TEST(a_relay_killed_mid_batch_loses_nothing_and_duplicates_change_nothing, 5, 180)
{
    struct ev g = {0};
    ev_start(&g, false);
    tk_proc_stop(g.relay, SIGTERM, 10000);
    g.relay = NULL;
    enum { N = N_GATED };
    for (int i = 0; i < N; i++)
        create(&g, "relay me");
    db_exec(&g, gate_sql);
    const char *argv[] = {bin("taskd-relay"), NULL};
    const char *small[] = {g.env_topic,
                           "OUTBOX_BATCH=20",
                           "EVENT_BUS_TIMEOUT_MS=1000",
                           "OUTBOX_LEASE_MS=3000",
                           "OUTBOX_POLL_MS=10",
                           NULL};
    struct tk_proc *doomed = tk_proc_start_beside(g.s, argv, small);
    tk_proc_wait_log(doomed, "relay started", 20000);
    long deadline = tk_now_ms() + 30000;
    while (db_scalar(&g, GATE_REACHED) == 0 && tk_now_ms() < deadline)
        tk_sleep_ms(10);
    cr_assert(db_scalar(&g, GATE_REACHED) > 0,
              "expected the relay to remove its first %d rows as sent and then wait at the "
              "test's gate with its next batch published (lab 7.2 removes sent rows); %lld "
              "removed",
              GATE_AT, N - db_scalar(&g, "SELECT count(*) FROM outbox"));
    tk_proc_stop(doomed, SIGKILL, 5000); /* kill -9: its end as asked, so no log is kept */
    /* The dead relay's statement would go on when the gate opens: it ends with its client. */
    (void)db_scalar(&g, GATED_BACKENDS("count(pg_terminate_backend(pid))"));
    db_exec(&g, "DROP TRIGGER relay_gate ON outbox");
    long long sent = N - db_scalar(&g, "SELECT count(*) FROM outbox");
    cr_assert(sent < N, "expected the relay to die before it had sent everything (sent %lld)",
              sent);
    /* Claimed by the dead relay and still here: published, never settled. */
    long long again = db_scalar(&g, "SELECT count(*) FROM outbox WHERE attempts > 0");
    cr_assert(again > 0, "expected the batch the dead relay had published to be still in the "
                         "outbox, to be published again; found none");
    g.relay = tk_proc_start_beside(g.s, argv, small);
    tk_proc_wait_log(g.relay, "relay started", 20000);
    wait_projected(&g, N, 90000);
    cr_assert_eq(projected_creates(&g), N,
                 "expected every one of the %d creates in the read model after the kill -9 "
                 "(%lld were sent when it died)",
                 N, sent);
    cr_assert_eq(db_scalar(&g, "SELECT count(*) FROM task_activity"), N,
                 "expected no event twice in the read model: the projector dedupes on event_id");
    expect_drained(&g, "the second relay sends what the first left");
    /* The projector's last stats line, written as it stops, counts what it skipped. */
    kill(tk_proc_pid(g.projector), SIGTERM);
    for (long stop_by = tk_now_ms() + 10000; tk_proc_running(g.projector) && tk_now_ms() < stop_by;)
        tk_sleep_ms(20);
    long long dups = log_counter(g.projector, "duplicates");
    cr_assert(dups > 0,
              "expected the projector to see the %lld republished events again and skip them as "
              "duplicates; its log counts %lld (lab 7.3)",
              again, dups);
    fprintf(stderr,
            "figure: events: relay killed with %lld of %d rows sent; %lld republished, "
            "%lld duplicates skipped\n",
            sent, N, again, dups);
    ev_stop(&g);
}

EVENTS_TEST(a_killed_consumer_hands_its_work_to_its_group_partner, 4, 180)
{
    struct ev g = {0};
    ev_start(&g, false);
    struct tk_proc *partner =
        prog_start(&g, "taskd-projector", "projector", NULL, "consumer started");
    long long first = create(&g, "shared");
    wait_projected(&g, 1, EV_WAIT_MS);
    cr_assert_eq(projected_creates(&g), 1, "expected the first event projected (task %lld)", first);
    tk_proc_stop(g.projector, SIGKILL, 5000); /* kill -9 */
    g.projector = partner;
    for (int i = 0; i < 30; i++)
        create(&g, "after the kill");
    wait_projected(&g, 31, 60000);
    cr_assert_eq(projected_creates(&g), 31,
                 "expected the surviving member of the group to take over and project all 31 "
                 "creates (on %s)",
                 bus_kind());
    ev_stop(&g);
}

EVENTS_TEST(a_poison_message_goes_to_the_dead_letter_topic_and_consumption_goes_on, 4, 120)
{
    struct ev g = {0};
    tk_need_local("publishes to the test's topic");
    tk_unique("ev", g.topic, sizeof g.topic);
    snprintf(g.env_topic, sizeof g.env_topic, "EVENTS_TOPIC=%s", g.topic);
    g.s = tk_server_start((const char *const[]){g.env_topic, NULL});
    g.relay = prog_start(&g, "taskd-relay", "relay", NULL, "relay started");
    g.projector = prog_start(&g, "taskd-projector", "projector", "CONSUMER_MAX_ATTEMPTS=2",
                             "consumer started");
    char out[4096];
    int rc = tk_sh(out, sizeof out, "echo 'this is not an event' | EVENTS_TOPIC=%s %s publish 7",
                   g.topic, bin("taskd-events"));
    cr_assert_eq(rc, 0, "expected taskd-events to publish the poison message: %s", out);
    long long id = create(&g, "after the poison");
    wait_projected(&g, 1, EV_WAIT_MS);
    cr_assert_eq(projected_creates(&g), 1,
                 "expected the projector to go on past the poison message and project task %lld",
                 id);
    rc = tk_sh(out, sizeof out,
               "EVENTS_TOPIC=%s LOG_LEVEL=error %s read --dlq --group dlq-check --max 1 "
               "--idle-ms 10000",
               g.topic, bin("taskd-events"));
    cr_assert_eq(rc, 0, "expected taskd-events to read the dead-letter topic: %s", out);
    cr_assert(strstr(out, "this is not an event") != NULL,
              "expected the poison message on %s.dlq, got: %s", g.topic, out);
    ev_stop(&g);
}
