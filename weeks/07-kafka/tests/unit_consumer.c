/* unit_consumer.c — the consumer loop (consumer.h) on a fake bus, against a real PostgreSQL,
 * and the notifier's and projector's handlers.
 *
 * No broker: the bus is tests/support/unit_fake_bus.c, which queues the messages a test gives
 * it and records every commit and dead letter, so a test asserts exactly what the loop told
 * the broker. The dedupe table is real (each test takes a fresh migrated database, as week 2's
 * unit tests do: unit_pg_fixture.h), and so is the mail (week 3's SMTP sink, SMTP_URL and
 * SMTP_SINK_DIR; `make test-week-7` starts both).
 *
 * Suites consumer_dedupe and consumer_batch need lab exercise 7.3 (the consumer's dedupe, in a
 * transaction of its own or a savepoint of a batch's); the others hold whatever the dedupe does. */
#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "consumer.h"
#include "err.h"
#include "event.h"
#include "event_bus.h"
#include "mailer.h"
#include "notifier.h"
#include "pg_pool.h"
#include "projector.h"
#include "testkit.h"
#include "unit_fake_bus.h"
#include "unit_pg_fixture.h"

/* ------------------------------------------------------------------ helpers */

/* One test's world: a fresh database, a pool on it, a libpq connection for checks, a fake bus. */
struct world {
    char url[1024];
    struct pg_pool *pool;
    PGconn *check;
    struct event_consumer *bus;
    struct consumer *c;
};

static void world_open(struct world *w)
{
    *w = (struct world){0};
    snprintf(w->url, sizeof w->url, "%s", pg_test_migrated_url());
    struct pg_pool_options o = {.url = w->url, .size = 2, .wait_ms = 2000, .connect_timeout_s = 2};
    cr_assert_eq(pg_pool_new(&o, &w->pool), 0, "expected pg_pool_new to succeed");
    w->check = pg_test_connect(w->url);
    w->bus = fake_bus_new();
}

static void world_start(struct world *w, const struct consumer_handler *h, int max_attempts)
{
    struct consumer_options o = {
        .max_attempts = max_attempts, .backoff_ms = 1, .poll_timeout_ms = 0};
    int rc = consumer_new(&o, h, w->bus, w->pool, &w->c);
    cr_assert_eq(rc, 0, "expected consumer_new to succeed, got %d (%s)", rc, err_str(rc));
}

static void world_close(struct world *w)
{
    consumer_free(w->c);
    event_consumer_free(w->bus);
    PQfinish(w->check);
    pg_pool_free(w->pool);
}

static const char *outcome_name(enum consumer_outcome o)
{
    static const char *const names[] = {"idle", "handled", "duplicate", "retry", "dead", "waiting"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

/* One step, asserting it returned 0 and the outcome `want`; `why` ends the failure message. */
static void step_expect(struct world *w, enum consumer_outcome want, const char *why)
{
    enum consumer_outcome got = CONSUMER_IDLE;
    int rc = consumer_step(w->c, &got);
    cr_assert_eq(rc, 0, "expected consumer_step to return 0, got %d (%s)", rc, err_str(rc));
    cr_assert_eq(got, want, "expected outcome %s, got %s: %s", outcome_name(want),
                 outcome_name(got), why);
}

/* An event's wire form, as the relay publishes it (event.h). */
static void event_json(char *out, size_t n, const char *id, long long task_id, long long owner,
                       const char *title)
{
    int len = snprintf(
        out, n,
        "{\"event_id\":\"%s\",\"type\":\"task.created\",\"occurred_at\":\"2026-12-01T09:00:00Z\","
        "\"task_id\":%lld,\"owner_id\":%lld,\"version\":1,\"task\":{\"id\":%lld,\"title\":\"%s\","
        "\"description\":\"\",\"status\":\"todo\",\"priority\":\"normal\",\"due_at\":null,"
        "\"tags\":[]}}",
        id, task_id, owner, task_id, title);
    cr_assert(len > 0 && (size_t)len < n, "event_json: buffer too small");
}

/* processed_events rows of (consumer, event_id). */
static long long processed_rows(struct world *w, const char *consumer, const char *id)
{
    char sql[384];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM processed_events WHERE consumer = '%s' AND event_id = '%s'",
             consumer, id);
    return pg_test_scalar(w->check, sql);
}

/* A handler that counts its calls; the first `fail_first` fail with fail_rc. */
struct counting {
    int calls;
    int fail_first;
    int fail_rc;
    bool saw_conn; /* a transactional handler gets the dedupe transaction's connection */
};

static int count_handle(void *ctx, struct pg_conn *c, const struct event *e)
{
    (void)e;
    struct counting *k = ctx;
    k->calls++;
    k->saw_conn = c != NULL;
    return k->calls <= k->fail_first ? k->fail_rc : 0;
}

static struct consumer_handler counting_handler(struct counting *k, bool transactional)
{
    return (struct consumer_handler){
        .name = "counter", .transactional = transactional, .handle = count_handle, .ctx = k};
}

/* ================================================================== consumer_dedupe (7.3) */

GRADED(consumer_dedupe, the_same_event_twice_is_handled_once_and_committed_twice, 3)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, true);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "Buy milk");
    fake_bus_push(w.bus, msg);
    fake_bus_push(w.bus, msg); /* a redelivery */

    step_expect(&w, CONSUMER_HANDLED, "the first delivery of an event is handled");
    step_expect(&w, CONSUMER_DUPLICATE,
                "the second delivery of the same event_id is a duplicate (lab 7.3: the dedupe)");
    cr_assert_eq(k.calls, 1,
                 "expected the handler to run once for one event_id, ran %d times "
                 "(lab 7.3: the dedupe)",
                 k.calls);
    cr_assert(k.saw_conn, "expected a transactional handler to get the transaction's connection");
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected both deliveries committed, got %zu",
                 fake_bus_commits(w.bus));
    cr_assert_eq(fake_bus_commit_offset(w.bus, 0), 0, "expected offset 0 committed first");
    cr_assert_eq(fake_bus_commit_offset(w.bus, 1), 1, "expected offset 1 committed second");
    cr_assert_eq(processed_rows(&w, "counter", id), 1, "expected one processed_events row");
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.handled == 1 && s.duplicates == 1,
              "expected stats handled 1, duplicates 1; got %llu, %llu",
              (unsigned long long)s.handled, (unsigned long long)s.duplicates);
    step_expect(&w, CONSUMER_IDLE, "nothing is left to poll");
    world_close(&w);
}

GRADED(consumer_dedupe, the_projector_records_a_redelivered_event_once, 2)
{
    struct world w;
    world_open(&w);
    struct consumer_handler h;
    projector_handler("projector", &h);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 5, 3, "Projected");
    fake_bus_push(w.bus, msg);
    fake_bus_push(w.bus, msg);
    step_expect(&w, CONSUMER_HANDLED, "the projector handles a new event");
    step_expect(&w, CONSUMER_DUPLICATE,
                "the projector's redelivered event is a duplicate (lab 7.3: the dedupe)");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM task_activity WHERE event_id = '%s'", id);
    cr_assert_eq(pg_test_scalar(w.check, sql), 1, "expected one task_activity row for the event");
    cr_assert_eq(processed_rows(&w, "projector", id), 1, "expected one processed_events row");
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected both deliveries committed");
    world_close(&w);
}

/* ================================================================== consumer */

GRADED(consumer, a_done_event_is_not_handled_again_outside_a_transaction, 2)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, false);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "Mail me");
    fake_bus_push(w.bus, msg);
    fake_bus_push(w.bus, msg);
    step_expect(&w, CONSUMER_HANDLED, "a new event is handled");
    cr_assert(!k.saw_conn, "expected a non-transactional handler to get no connection");
    cr_assert_eq(processed_rows(&w, "counter", id), 1,
                 "expected the processed row written right after the effect");
    step_expect(&w, CONSUMER_DUPLICATE, "an event already recorded is not handled again");
    cr_assert_eq(k.calls, 1, "expected the handler to run once, ran %d times", k.calls);
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected both deliveries committed");
    world_close(&w);
}

GRADED(consumer, a_failing_handler_commits_nothing_and_its_event_is_tried_again, 3)
{
    struct world w;
    world_open(&w);
    struct counting k = {.fail_first = 1, .fail_rc = ERR_INTERNAL};
    struct consumer_handler h = counting_handler(&k, true);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "Flaky");
    fake_bus_push(w.bus, msg);
    step_expect(&w, CONSUMER_RETRY, "a handler's failure is retried");
    cr_assert_eq(fake_bus_commits(w.bus), 0,
                 "expected no commit before the effect is done, got %zu", fake_bus_commits(w.bus));
    cr_assert_eq(processed_rows(&w, "counter", id), 0,
                 "expected the failed attempt's processed row rolled back with it");
    step_expect(&w, CONSUMER_HANDLED, "the same message succeeds on its second try");
    cr_assert_eq(fake_bus_polls(w.bus), 1,
                 "expected the held message retried without a poll, got %zu polls",
                 fake_bus_polls(w.bus));
    cr_assert_eq(k.calls, 2, "expected two calls of the handler, got %d", k.calls);
    cr_assert_eq(fake_bus_commits(w.bus), 1, "expected one commit, after the success");
    cr_assert_eq(processed_rows(&w, "counter", id), 1, "expected one processed row");
    world_close(&w);
}

GRADED(consumer, a_poison_message_is_dead_lettered_after_max_attempts_then_the_next_runs, 3)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, true);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 9, 7, "After the poison");
    fake_bus_push(w.bus, "{not json at all");
    fake_bus_push(w.bus, msg);

    step_expect(&w, CONSUMER_RETRY, "an unparsable message is a failure (attempt 1 of 3)");
    step_expect(&w, CONSUMER_RETRY, "an unparsable message is a failure (attempt 2 of 3)");
    step_expect(&w, CONSUMER_DEAD, "after max_attempts the message goes to the dead-letter topic");
    cr_assert_eq(fake_bus_polls(w.bus), 1, "expected the poison retried in place, got %zu polls",
                 fake_bus_polls(w.bus));
    cr_assert_eq(fake_bus_dead(w.bus), 1, "expected one dead letter, got %zu",
                 fake_bus_dead(w.bus));
    cr_assert_eq(fake_bus_dead_offset(w.bus, 0), 0, "expected offset 0 dead-lettered");
    const char *reason = fake_bus_dead_reason(w.bus, 0);
    cr_assert(strstr(reason, "unparsable"), "expected the reason to say unparsable, got '%s'",
              reason);
    cr_assert_eq(k.calls, 0, "expected the handler never called for a message that does not parse");

    step_expect(&w, CONSUMER_HANDLED, "the message after the poison is handled");
    cr_assert_eq(k.calls, 1, "expected the next event handled once");
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected the poison and the next one committed");
    cr_assert_eq(fake_bus_commit_offset(w.bus, 1), 1, "expected offset 1 committed last");
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.dead == 1 && s.retries == 2 && s.handled == 1,
              "expected stats dead 1, retries 2, handled 1; got %llu, %llu, %llu",
              (unsigned long long)s.dead, (unsigned long long)s.retries,
              (unsigned long long)s.handled);
    world_close(&w);
}

GRADED(consumer, a_handler_that_keeps_failing_is_dead_lettered_with_its_reason, 2)
{
    struct world w;
    world_open(&w);
    struct counting k = {.fail_first = 100, .fail_rc = ERR_INVALID};
    struct consumer_handler h = counting_handler(&k, false);
    world_start(&w, &h, 2);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "Never works");
    fake_bus_push(w.bus, msg);
    step_expect(&w, CONSUMER_RETRY, "attempt 1 of 2 fails");
    step_expect(&w, CONSUMER_DEAD, "attempt 2 of 2 fails: dead letter");
    cr_assert_eq(k.calls, 2, "expected two calls, got %d", k.calls);
    const char *reason = fake_bus_dead_reason(w.bus, 0);
    cr_assert(strstr(reason, "counter") && strstr(reason, err_str(ERR_INVALID)),
              "expected the reason to name the consumer and the error, got '%s'", reason);
    cr_assert_eq(processed_rows(&w, "counter", id), 0,
                 "expected no processed row for an event that was never done");
    world_close(&w);
}

GRADED(consumer, unavailable_waits_without_counting_or_dead_lettering, 3)
{
    struct world w;
    world_open(&w);
    /* Five outages, more than max_attempts: none of them is the message's fault. */
    struct counting k = {.fail_first = 5, .fail_rc = ERR_UNAVAILABLE};
    struct consumer_handler h = counting_handler(&k, false);
    world_start(&w, &h, 2);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "SMTP is down");
    fake_bus_push(w.bus, msg);
    for (int i = 0; i < 5; i++) {
        step_expect(&w, CONSUMER_WAITING, "ERR_UNAVAILABLE makes the loop wait");
        cr_assert_eq(fake_bus_commits(w.bus), 0, "expected no commit while waiting");
    }
    step_expect(&w, CONSUMER_HANDLED, "the same message is handled once the service is back");
    cr_assert_eq(fake_bus_dead(w.bus), 0, "expected no dead letter for an outage, got %zu",
                 fake_bus_dead(w.bus));
    cr_assert_eq(fake_bus_polls(w.bus), 1, "expected the same message retried without a poll");
    cr_assert_eq(fake_bus_commits(w.bus), 1, "expected one commit, after the success");
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.waits == 5 && s.retries == 0 && s.dead == 0,
              "expected stats waits 5, retries 0, dead 0; got %llu, %llu, %llu",
              (unsigned long long)s.waits, (unsigned long long)s.retries,
              (unsigned long long)s.dead);
    world_close(&w);
}

GRADED(consumer_dedupe, a_commit_the_broker_refuses_is_redone_as_a_duplicate, 2)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, true);
    world_start(&w, &h, 3);
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, 7, "Commit lost");
    fake_bus_push(w.bus, msg);
    fake_bus_push(w.bus, msg); /* the broker delivers it again, as it does after a refused commit */
    fake_bus_fail_commits(w.bus, ERR_UNAVAILABLE, 1);
    step_expect(&w, CONSUMER_WAITING, "a refused commit hands the message back to the broker");
    cr_assert_eq(fake_bus_polls(w.bus), 1, "expected one poll so far");
    step_expect(&w, CONSUMER_DUPLICATE,
                "the message, delivered again, is found done (lab 7.3: the dedupe), not retried "
                "in place: a refused commit cannot succeed later");
    cr_assert_eq(fake_bus_polls(w.bus), 2, "expected the redelivery polled, not a retry in place");
    cr_assert_eq(k.calls, 1, "expected the effect done once, got %d", k.calls);
    cr_assert_eq(fake_bus_commits(w.bus), 1, "expected the redelivery committed");
    cr_assert_eq(fake_bus_commit_offset(w.bus, 0), 1, "expected offset 1 (the redelivery)");
    world_close(&w);
}

GRADED(consumer, a_bus_outage_on_poll_is_a_wait, 1)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, true);
    world_start(&w, &h, 3);
    fake_bus_fail_polls(w.bus, ERR_UNAVAILABLE, 1);
    step_expect(&w, CONSUMER_WAITING, "a broker that is lost makes the loop wait");
    step_expect(&w, CONSUMER_IDLE, "then it polls again");
    world_close(&w);
}

/* A tick that asks the loop to stop once every queued message is committed. */
struct stopper {
    struct event_consumer *bus;
    volatile int stop;
    int ticks;
};

static void stop_when_done(void *ctx)
{
    struct stopper *s = ctx;
    s->ticks++;
    if (fake_bus_commits(s->bus) >= 2 || s->ticks > 100)
        s->stop = 1;
}

GRADED(consumer, run_ticks_every_turn_and_stops_after_the_message_in_hand, 1)
{
    struct world w;
    world_open(&w);
    struct counting k = {0};
    struct consumer_handler h = counting_handler(&k, true);
    struct stopper st = {.bus = w.bus};
    struct consumer_options o = {.max_attempts = 3,
                                 .backoff_ms = 1,
                                 .poll_timeout_ms = 0,
                                 .tick = stop_when_done,
                                 .tick_ctx = &st};
    cr_assert_eq(consumer_new(&o, &h, w.bus, w.pool, &w.c), 0, "expected consumer_new to work");
    char id[EVENT_ID_LEN + 1], msg[1024];
    for (int i = 0; i < 2; i++) {
        event_new_id(id);
        event_json(msg, sizeof msg, id, 10 + i, 7, "Run");
        fake_bus_push(w.bus, msg);
    }
    int rc = consumer_run(w.c, &st.stop);
    cr_assert_eq(rc, 0, "expected consumer_run to return 0 after the stop, got %d", rc);
    cr_assert_eq(k.calls, 2, "expected both events handled before the stop, got %d", k.calls);
    cr_assert_eq(st.ticks, 2, "expected one tick per turn, and the stop seen at once; got %d",
                 st.ticks);
    world_close(&w);
}

/* ================================================================== consumer_batch */

/* A transactional handler for the batch tests: records each call's transaction id (so a test
 * sees which events shared a transaction), fails call fail_at with fail_rc, and on call kill_at
 * ends its own database session, which loses the transaction it is in. */
struct batch_probe {
    int calls;
    int fail_at, fail_rc;
    int kill_at;
    char txid[16][32];
};

static int probe_handle(void *ctx, struct pg_conn *c, const struct event *e)
{
    (void)e;
    struct batch_probe *p = ctx;
    int call = ++p->calls;
    if (call == p->kill_at)
        return pg_conn_command(c, "SELECT pg_terminate_backend(pg_backend_pid())");
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, 40, "SELECT txid_current()::text", 0, NULL, &res);
    if (rc == 0 && call <= 16)
        snprintf(p->txid[call - 1], sizeof p->txid[0], "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (rc != 0)
        return rc;
    return call == p->fail_at ? p->fail_rc : 0;
}

static void batch_start(struct world *w, struct batch_probe *p, int batch_max)
{
    struct consumer_handler h = {
        .name = "batcher", .transactional = true, .handle = probe_handle, .ctx = p};
    struct consumer_options o = {
        .max_attempts = 3, .backoff_ms = 1, .poll_timeout_ms = 0, .batch_max = batch_max};
    int rc = consumer_new(&o, &h, w->bus, w->pool, &w->c);
    cr_assert_eq(rc, 0, "expected consumer_new to succeed, got %d (%s)", rc, err_str(rc));
}

/* Queues n new events; their ids go to ids[i]. */
static void push_events(struct world *w, int n, char ids[][EVENT_ID_LEN + 1])
{
    char msg[1024];
    for (int i = 0; i < n; i++) {
        event_new_id(ids[i]);
        event_json(msg, sizeof msg, ids[i], 100 + i, 7, "Batched");
        fake_bus_push(w->bus, msg);
    }
}

static void expect_commits_in_order(struct world *w, size_t n)
{
    cr_assert_eq(fake_bus_commits(w->bus), n, "expected %zu commits, got %zu", n,
                 fake_bus_commits(w->bus));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fake_bus_commit_offset(w->bus, i), (int64_t)i,
                     "expected commit %zu to be offset %zu, got %lld: a partition's offsets "
                     "are committed in order",
                     i, i, (long long)fake_bus_commit_offset(w->bus, i));
}

GRADED(consumer_batch, fetched_messages_share_one_transaction_then_commit_in_order, 2)
{
    struct world w;
    world_open(&w);
    struct batch_probe p = {0};
    batch_start(&w, &p, 64);
    char ids[5][EVENT_ID_LEN + 1];
    push_events(&w, 5, ids);

    step_expect(&w, CONSUMER_HANDLED, "one turn handles every message already fetched");
    cr_assert_eq(p.calls, 5, "expected 5 handler calls in one turn, got %d", p.calls);
    for (int i = 1; i < 5; i++)
        cr_assert_str_eq(p.txid[i], p.txid[0],
                         "expected event %d in the batch's transaction %s, got %s", i + 1,
                         p.txid[0], p.txid[i]);
    expect_commits_in_order(&w, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(processed_rows(&w, "batcher", ids[i]), 1,
                     "expected a processed row for event %d (lab 7.3 claims each event)", i + 1);
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.handled == 5 && s.batches == 1 && s.replays == 0,
              "expected stats handled 5, batches 1, replays 0; got %llu, %llu, %llu",
              (unsigned long long)s.handled, (unsigned long long)s.batches,
              (unsigned long long)s.replays);
    step_expect(&w, CONSUMER_IDLE, "nothing is left to poll");
    world_close(&w);
}

GRADED(consumer_batch, batch_max_bounds_a_transaction, 1)
{
    struct world w;
    world_open(&w);
    struct batch_probe p = {0};
    batch_start(&w, &p, 2);
    char ids[3][EVENT_ID_LEN + 1];
    push_events(&w, 3, ids);
    step_expect(&w, CONSUMER_HANDLED, "the first two messages");
    cr_assert_eq(p.calls, 2, "expected batch_max 2 to stop the batch at 2, got %d calls", p.calls);
    expect_commits_in_order(&w, 2);
    step_expect(&w, CONSUMER_HANDLED, "the third message, in a transaction of its own");
    cr_assert_str_neq(p.txid[2], p.txid[0], "expected the third event in a new transaction");
    expect_commits_in_order(&w, 3);
    world_close(&w);
}

GRADED(consumer_batch, a_failing_message_ends_the_batch_and_those_before_it_commit, 2)
{
    struct world w;
    world_open(&w);
    struct batch_probe p = {.fail_at = 2, .fail_rc = ERR_INTERNAL};
    batch_start(&w, &p, 64);
    char ids[3][EVENT_ID_LEN + 1];
    push_events(&w, 3, ids);

    step_expect(&w, CONSUMER_RETRY, "the second message fails: the batch ends there");
    expect_commits_in_order(&w, 1);
    cr_assert_eq(processed_rows(&w, "batcher", ids[0]), 1,
                 "expected the event before the failure committed with its processed row "
                 "(lab 7.3 claims each event)");
    cr_assert_eq(processed_rows(&w, "batcher", ids[1]), 0,
                 "expected the failed event's work taken back by its savepoint (lab 7.3: "
                 "t->rollback)");
    cr_assert_eq(fake_bus_delivered(w.bus), 2,
                 "expected nothing polled past the failed message, got %zu delivered",
                 fake_bus_delivered(w.bus));

    step_expect(&w, CONSUMER_HANDLED, "the failed message, retried alone, succeeds");
    expect_commits_in_order(&w, 2);
    step_expect(&w, CONSUMER_HANDLED, "then the next one");
    expect_commits_in_order(&w, 3);
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.handled == 3 && s.retries == 1,
              "expected stats handled 3, retries 1; got %llu, %llu", (unsigned long long)s.handled,
              (unsigned long long)s.retries);
    world_close(&w);
}

GRADED(consumer_batch, a_lost_transaction_is_replayed_one_message_at_a_time, 2)
{
    struct world w;
    world_open(&w);
    /* Call 2 ends the session: event 1's work, done in the same transaction, is gone too. */
    struct batch_probe p = {.kill_at = 2};
    batch_start(&w, &p, 64);
    char ids[3][EVENT_ID_LEN + 1];
    push_events(&w, 3, ids);

    step_expect(&w, CONSUMER_WAITING, "a lost transaction waits, then replays its messages");
    cr_assert_eq(fake_bus_commits(w.bus), 0,
                 "expected nothing committed to the broker from a lost transaction");
    cr_assert_eq(processed_rows(&w, "batcher", ids[0]), 0,
                 "expected event 1's work lost with the transaction (lab 7.3)");
    step_expect(&w, CONSUMER_HANDLED, "event 1, replayed alone");
    step_expect(&w, CONSUMER_HANDLED, "event 2, replayed alone");
    cr_assert_eq(fake_bus_delivered(w.bus), 2, "expected the replays to poll nothing");
    cr_assert_str_neq(p.txid[2], p.txid[3], "expected each replayed event in its own transaction");
    step_expect(&w, CONSUMER_HANDLED, "then event 3, polled");
    expect_commits_in_order(&w, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(processed_rows(&w, "batcher", ids[i]), 1,
                     "expected event %d done exactly once (lab 7.3 claims each event)", i + 1);
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.replays == 2 && s.handled == 3,
              "expected stats replays 2, handled 3; got %llu, %llu", (unsigned long long)s.replays,
              (unsigned long long)s.handled);
    world_close(&w);
}

GRADED(consumer_batch, a_refused_commit_in_a_batch_hands_that_message_back, 1)
{
    struct world w;
    world_open(&w);
    struct batch_probe p = {0};
    batch_start(&w, &p, 64);
    char ids[3][EVENT_ID_LEN + 1];
    push_events(&w, 3, ids);
    /* The first commit is refused (a rebalance moved its partition during the batch's polls). */
    fake_bus_fail_commits(w.bus, ERR_UNAVAILABLE, 1);
    step_expect(&w, CONSUMER_WAITING, "a refused commit in the batch: the others still commit");
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected the other two committed, got %zu",
                 fake_bus_commits(w.bus));
    cr_assert_eq(fake_bus_commit_offset(w.bus, 0), 1, "expected offset 1 committed");
    cr_assert_eq(fake_bus_commit_offset(w.bus, 1), 2, "expected offset 2 committed");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(processed_rows(&w, "batcher", ids[i]), 1,
                     "expected event %d done once, committed or not (lab 7.3 claims each event)",
                     i + 1);
    step_expect(&w, CONSUMER_IDLE, "nothing is retried in place: the broker delivers it again");
    cr_assert_eq(p.calls, 3, "expected 3 handler calls, got %d", p.calls);
    world_close(&w);
}

GRADED(consumer_batch, a_bus_that_commits_one_by_one_is_not_batched, 1)
{
    struct world w;
    world_open(&w);
    event_consumer_free(w.bus);
    w.bus = fake_bus_new_one_by_one();
    struct batch_probe p = {0};
    batch_start(&w, &p, 64);
    char ids[2][EVENT_ID_LEN + 1];
    push_events(&w, 2, ids);
    step_expect(&w, CONSUMER_HANDLED, "the first message, alone");
    cr_assert_eq(fake_bus_delivered(w.bus), 1,
                 "expected no poll before the first message is committed, on a bus whose "
                 "commits name the message in hand (RabbitMQ's acks); got %zu delivered",
                 fake_bus_delivered(w.bus));
    expect_commits_in_order(&w, 1);
    step_expect(&w, CONSUMER_HANDLED, "then the second");
    cr_assert_str_neq(p.txid[1], p.txid[0], "expected a transaction per message");
    expect_commits_in_order(&w, 2);
    world_close(&w);
}

GRADED(consumer_batch, a_redelivery_inside_a_batch_is_a_duplicate, 2)
{
    struct world w;
    world_open(&w);
    struct batch_probe p = {0};
    batch_start(&w, &p, 64);
    char ids[2][EVENT_ID_LEN + 1], msg[1024];
    push_events(&w, 1, ids);
    event_json(msg, sizeof msg, ids[0], 100, 7, "Batched");
    fake_bus_push(w.bus, msg); /* the same event again, in the same batch */
    push_events(&w, 1, ids + 1);

    step_expect(&w, CONSUMER_HANDLED, "one turn for the three messages");
    cr_assert_eq(p.calls, 2,
                 "expected the handler to run for 2 distinct events, ran %d times "
                 "(lab 7.3: the dedupe, in a savepoint)",
                 p.calls);
    expect_commits_in_order(&w, 3);
    cr_assert_eq(processed_rows(&w, "batcher", ids[0]), 1,
                 "expected one processed row (lab 7.3: the dedupe)");
    struct consumer_stats s;
    consumer_stats(w.c, &s);
    cr_assert(s.handled == 2 && s.duplicates == 1,
              "expected stats handled 2, duplicates 1; got %llu, %llu (lab 7.3: the dedupe)",
              (unsigned long long)s.handled, (unsigned long long)s.duplicates);
    world_close(&w);
}

/* ================================================================== notifier */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v,
              "%s is not set: run these tests with make test-week-7, which starts the SMTP sink "
              "and sets SMTP_URL and SMTP_SINK_DIR",
              name);
    return v;
}

/* How many stored messages have rcpt in their envelope; the first after waiting up to 5 s for
 * it (the sink stores a message before it answers, so one sent is one there). */
static int sink_count(const char *rcpt, int at_least)
{
    const char *dir = env_or_fail("SMTP_SINK_DIR");
    char needle[320];
    snprintf(needle, sizeof needle, "X-Sink-Rcpt-To: %s\r\n", rcpt);
    long deadline = tk_now_ms() + 5000;
    int count = 0;
    do {
        count = 0;
        DIR *d = opendir(dir);
        cr_assert(d, "cannot open SMTP_SINK_DIR %s", dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            char *text = tk_read_file(path, NULL);
            if (text && strstr(text, needle))
                count++;
            free(text);
        }
        closedir(d);
        if (count >= at_least)
            break;
        tk_sleep_ms(50);
    } while (tk_now_ms() < deadline);
    return count;
}

/* The stored message for rcpt (caller frees); the test fails when there is none. */
static char *sink_message(const char *rcpt)
{
    const char *dir = env_or_fail("SMTP_SINK_DIR");
    char needle[320];
    snprintf(needle, sizeof needle, "X-Sink-Rcpt-To: %s\r\n", rcpt);
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open SMTP_SINK_DIR %s", dir);
    struct dirent *e;
    char *found = NULL;
    while (!found && (e = readdir(d)) != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = e->d_name[0] == '.' ? NULL : tk_read_file(path, NULL);
        if (text && strstr(text, needle))
            found = text;
        else
            free(text);
    }
    closedir(d);
    cr_assert(found, "expected a message for %s in %s", rcpt, dir);
    return found;
}

/* A user with a unique address; returns its id and writes the address. */
static long long add_user(struct world *w, char *email, size_t len, bool deleted)
{
    char u[64], sql[512];
    snprintf(email, len, "%s@example.com", tk_unique("notifier", u, sizeof u));
    snprintf(sql, sizeof sql,
             "INSERT INTO users (email, password_hash, deleted_at) VALUES ('%s', "
             "'$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA', %s) RETURNING id",
             email, deleted ? "now()" : "NULL");
    long long id = pg_test_scalar(w->check, sql);
    cr_assert(id > 0, "expected the test user inserted");
    return id;
}

static struct consumer_handler notifier_start(struct world *w, struct notifier *n,
                                              const char *smtp_url)
{
    *n = (struct notifier){
        .pool = w->pool,
        .mail = {.smtp_url = smtp_url, .from = "taskd@localhost", .timeout_ms = 2000}};
    struct consumer_handler h;
    notifier_handler(n, "notifier", &h);
    world_start(w, &h, 3);
    return h;
}

GRADED(notifier, one_mail_per_event_with_the_event_id_as_message_id, 3)
{
    struct world w;
    world_open(&w);
    struct notifier n;
    notifier_start(&w, &n, env_or_fail("SMTP_URL"));
    char email[128], id[EVENT_ID_LEN + 1], msg[1024];
    long long owner = add_user(&w, email, sizeof email, false);
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, owner, "Buy milk");
    fake_bus_push(w.bus, msg);
    fake_bus_push(w.bus, msg); /* redelivered: no second mail */
    step_expect(&w, CONSUMER_HANDLED, "the owner is mailed");
    step_expect(&w, CONSUMER_DUPLICATE, "a redelivered event sends nothing");
    cr_assert_eq(sink_count(email, 1), 1, "expected exactly one mail to the owner");
    tk_sleep_ms(200);
    cr_assert_eq(sink_count(email, 1), 1, "expected still exactly one mail to the owner");
    char *text = sink_message(email);
    char want_id[128];
    snprintf(want_id, sizeof want_id, "Message-ID: <%s@localhost>\r\n", id);
    cr_assert(strstr(text, want_id), "expected header %s in the mail:\n%s", want_id, text);
    cr_assert(strstr(text, "Subject: Task 42 created: Buy milk\r\n"),
              "expected the subject 'Task 42 created: Buy milk' in:\n%s", text);
    cr_assert(strstr(text, "Status:   todo"), "expected the task's status in the body:\n%s", text);
    free(text);
    cr_assert_eq(processed_rows(&w, "notifier", id), 1, "expected one processed row");
    world_close(&w);
}

GRADED(notifier, no_mail_for_owner_0_or_a_deleted_user, 2)
{
    struct world w;
    world_open(&w);
    struct notifier n;
    notifier_start(&w, &n, env_or_fail("SMTP_URL"));
    char email[128], id0[EVENT_ID_LEN + 1], id1[EVENT_ID_LEN + 1], msg[1024];
    long long gone = add_user(&w, email, sizeof email, true);
    event_new_id(id0);
    event_json(msg, sizeof msg, id0, 1, 0, "Anonymous");
    fake_bus_push(w.bus, msg);
    event_new_id(id1);
    event_json(msg, sizeof msg, id1, 2, gone, "Deleted owner");
    fake_bus_push(w.bus, msg);
    step_expect(&w, CONSUMER_HANDLED, "owner 0: nothing to send is success");
    step_expect(&w, CONSUMER_HANDLED, "a deleted owner: nothing to send is success");
    cr_assert_eq(fake_bus_commits(w.bus), 2, "expected both events committed");
    tk_sleep_ms(300);
    cr_assert_eq(sink_count(email, 0), 0, "expected no mail to a deleted user");
    world_close(&w);
}

GRADED(notifier, smtp_down_is_a_wait_not_a_failure, 2)
{
    struct world w;
    world_open(&w);
    struct notifier n;
    notifier_start(&w, &n, "smtp://127.0.0.1:1"); /* nothing listens on port 1 */
    char email[128], id[EVENT_ID_LEN + 1], msg[1024];
    long long owner = add_user(&w, email, sizeof email, false);
    event_new_id(id);
    event_json(msg, sizeof msg, id, 42, owner, "Mail server down");
    fake_bus_push(w.bus, msg);
    for (int i = 0; i < 4; i++) /* max_attempts is 3: waits never count */
        step_expect(&w, CONSUMER_WAITING, "an SMTP server that cannot be reached is a wait");
    cr_assert_eq(fake_bus_commits(w.bus), 0, "expected nothing committed");
    cr_assert_eq(fake_bus_dead(w.bus), 0, "expected no dead letter");
    cr_assert_eq(processed_rows(&w, "notifier", id), 0, "expected no processed row");
    world_close(&w);
}

GRADED(notifier, the_mail_says_what_changed, 1)
{
    char id[EVENT_ID_LEN + 1], msg[1024];
    event_new_id(id);
    event_json(msg, sizeof msg, id, 17, 3, "Write tests");
    struct event e;
    event_init(&e);
    cr_assert_eq(event_parse(msg, strlen(msg), &e), 0, "expected the test event to parse");
    struct buf subject = BUF_INIT, body = BUF_INIT;
    cr_assert_eq(notifier_compose(&e, &subject, &body), 0, "expected notifier_compose to work");
    cr_assert_str_eq(subject.data, "Task 17 created: Write tests");
    cr_assert(strstr(body.data, "Your task 17 was created at 2026-12-01T09:00:00Z."),
              "expected what happened and when in the body:\n%s", body.data);
    cr_assert(strstr(body.data, id), "expected the event_id in the body:\n%s", body.data);
    buf_free(&subject);
    buf_free(&body);
    event_clear(&e);
}
