/* unit_relay.c — the relay's bookkeeping (relay.h) against a real PostgreSQL and a fake broker
 * (support/unit_fake_producer.h) whose delivery reports come when the test says.
 *
 * Suite relay: a row leaves the outbox only from its delivery report, never from the send; a row
 * the broker refused waits its backoff and goes again; a task's events leave in order, one in
 * flight at a time; the key of every message is its task id. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "event_bus.h"
#include "outbox.h"
#include "pg_pool.h"
#include "relay.h"
#include "task.h"
#include "testkit.h"
#include "unit_fake_producer.h"
#include "unit_pg_fixture.h"

struct rig {
    const char *url;
    struct pg_pool *pool;
    struct relay *relay;
    struct event_producer *bus;
    PGconn *sql;
};

static void rig_open(struct rig *g, bool auto_ok, int backoff_ms)
{
    g->url = pg_test_migrated_url();
    struct pg_pool_options po = {.url = g->url, .size = 2, .wait_ms = 2000, .connect_timeout_s = 2};
    cr_assert_eq(pg_pool_new(&po, &g->pool), 0, "expected a pool");
    struct relay_options o = {.topic = "task-events",
                              .batch = 100,
                              .lease_ms = 60000,
                              .delivery_ms = 50,
                              .backoff_ms = backoff_ms,
                              .poll_ms = 5,
                              .stats_s = 60};
    cr_assert_eq(relay_new(&o, g->pool, &g->relay), 0, "expected relay_new to succeed");
    g->bus = fake_producer_new(relay_delivered, g->relay, auto_ok);
    relay_use_producer(g->relay, g->bus);
    g->sql = pg_test_connect(g->url);
}

static void rig_close(struct rig *g)
{
    event_producer_free(g->bus);
    relay_free(g->relay);
    pg_pool_free(g->pool);
    PQfinish(g->sql);
}

/* An event row for task_id, as the outbox decorator writes it. */
static void add_row(struct rig *g, int64_t task_id, enum event_type type)
{
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(g->pool, &c), 0, "expected a connection");
    struct task t;
    task_init(&t);
    t.id = task_id;
    t.version = 1;
    t.title = strdup("relay me");
    t.description = strdup("");
    struct event e;
    event_init(&e);
    cr_assert_eq(event_of_task(type, &t, 1, &e), 0, "expected event_of_task");
    cr_assert_eq(outbox_add(c, &e), 0, "expected outbox_add");
    event_clear(&e);
    task_clear(&t);
    pg_pool_release(g->pool, c);
}

static size_t step(struct rig *g)
{
    size_t published = 0;
    int rc = relay_step(g->relay, &published);
    cr_assert_eq(rc, 0, "expected relay_step to succeed, got %s", err_str(rc));
    return published;
}

static long long pending(struct rig *g)
{
    return pg_test_scalar(g->sql, "SELECT count(*) FROM outbox"); /* a sent row is deleted */
}

GRADED(relay, a_row_leaves_the_outbox_only_from_its_delivery_report, 3)
{
    struct rig g = {0};
    rig_open(&g, false, 50);
    add_row(&g, 11, EVENT_TASK_CREATED);
    add_row(&g, 12, EVENT_TASK_CREATED);
    cr_assert_eq(step(&g), 2, "expected the relay to publish both pending rows");
    cr_assert_eq(fake_producer_sent(g.bus), 2, "expected two messages sent");
    cr_assert_str_eq(fake_producer_key(g.bus, 0), "11", "expected key = task id (11)");
    cr_assert_str_eq(fake_producer_key(g.bus, 1), "12", "expected key = task id (12)");
    struct event e;
    event_init(&e);
    const char *v = fake_producer_value(g.bus, 0);
    cr_assert_eq(event_parse(v, strlen(v), &e), 0, "expected the message to be the row's event");
    event_clear(&e);
    cr_assert_eq(pending(&g), 2,
                 "expected both rows still pending: sent, but no delivery report "
                 "yet (lab 7.2: remove a row only from its report)");
    fake_producer_release(g.bus, 0, 0);
    fake_producer_release(g.bus, 1, 0);
    cr_assert_eq(step(&g), 0, "expected nothing new to publish");
    cr_assert_eq(pending(&g), 0,
                 "expected both rows removed once their reports said "
                 "delivered, even though they came after the batch's wait "
                 "(lab 7.2)");
    cr_assert_eq(fake_producer_sent(g.bus), 2, "expected no message sent twice");
    struct relay_stats st;
    relay_stats(g.relay, &st);
    cr_assert(st.claimed == 2 && st.sent == 2 && st.failed == 0,
              "expected stats claimed 2 sent 2 failed 0, got %llu %llu %llu",
              (unsigned long long)st.claimed, (unsigned long long)st.sent,
              (unsigned long long)st.failed);
    rig_close(&g);
}

GRADED(relay, a_refused_row_waits_its_backoff_and_is_sent_later, 3)
{
    struct rig g = {0};
    rig_open(&g, false, 300);
    add_row(&g, 21, EVENT_TASK_CREATED);
    cr_assert_eq(step(&g), 1, "expected one row published");
    fake_producer_release(g.bus, 0, ERR_UNAVAILABLE); /* the broker was down past the deadline */
    cr_assert_eq(step(&g), 0,
                 "expected the refused row to wait its backoff, not go again at once "
                 "(lab 7.2: a failed report gives the row back with a backoff)");
    cr_assert_eq(pending(&g), 1, "expected the refused row to stay pending");
    cr_assert_eq(pg_test_scalar(g.sql, "SELECT count(*) FROM outbox WHERE not_before > now() + "
                                       "interval '1 second'"),
                 0, "expected its wait to be the backoff (300 ms), not the 60 s lease");
    struct timespec wait = {.tv_sec = 0, .tv_nsec = 500000000L};
    nanosleep(&wait, NULL);
    cr_assert_eq(step(&g), 1, "expected the row to be published again after its backoff");
    cr_assert_eq(pg_test_scalar(g.sql, "SELECT attempts FROM outbox"), 2,
                 "expected 2 attempts recorded");
    fake_producer_release(g.bus, 1, 0);
    step(&g);
    cr_assert_eq(pending(&g), 0, "expected the row sent (and removed) after its second delivery");
    rig_close(&g);
}

GRADED(relay, a_tasks_events_leave_in_order_one_at_a_time, 2)
{
    struct rig g = {0};
    rig_open(&g, true, 50);
    add_row(&g, 31, EVENT_TASK_CREATED);
    add_row(&g, 31, EVENT_TASK_UPDATED);
    add_row(&g, 31, EVENT_TASK_DELETED);
    add_row(&g, 32, EVENT_TASK_CREATED);
    size_t turns = 0;
    while (pending(&g) > 0 && turns < 10) {
        step(&g);
        turns++;
    }
    cr_assert_eq(pending(&g), 0, "expected every row sent within 10 turns");
    cr_assert_eq(fake_producer_sent(g.bus), 4, "expected each row sent once, got %zu",
                 fake_producer_sent(g.bus));
    static const char *const want[] = {"task.created", "task.updated", "task.deleted"};
    size_t k = 0;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(fake_producer_key(g.bus, i), "31") != 0)
            continue;
        struct event e;
        event_init(&e);
        const char *v = fake_producer_value(g.bus, i);
        cr_assert_eq(event_parse(v, strlen(v), &e), 0, "expected an event");
        cr_assert_str_eq(event_type_name(e.type), want[k],
                         "expected task 31's events in the order they were written");
        k++;
        event_clear(&e);
    }
    cr_assert_eq(k, 3, "expected three events of task 31");
    cr_assert(turns >= 3, "expected one event of task 31 per turn (3 turns at least), got %zu",
              turns);
    rig_close(&g);
}
