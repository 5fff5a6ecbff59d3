/* unit_outbox.c — the outbox against a real PostgreSQL: the decorator's one transaction, and
 * the relay's claims.
 *
 * Each test takes a fresh, migrated database (unit_pg_fixture.h; `make test-week-7` sets
 * TK_FRESH_DB_CMD) and looks at the outbox table directly with libpq, so what is checked is
 * what a relay would see.
 *
 * Suite outbox_write: every successful create, update and delete adds exactly one row, with
 * the event of the change; a write that fails adds none; and the row and the change commit
 * together: when the row cannot be written, the change is not made either.
 * Suite outbox_claim: oldest first, never two relays on one row (SKIP LOCKED), one event per
 * task in flight (a task's next event waits until its previous one is settled), leases that
 * end, retries that wait their backoff. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "outbox.h"
#include "pg_pool.h"
#include "task.h"
#include "task_repo.h"
#include "task_repo_outbox.h"
#include "testkit.h"
#include "unit_pg_fixture.h"

static void expect_rc(int rc, int want, const char *what)
{
    cr_assert_eq(rc, want, "%s, got %d (%s)", what, rc, err_str(rc));
}

/* The outbox decorator over a fresh PostgreSQL store; *url gets the database. */
static struct task_repo *outbox_store(const char **url)
{
    *url = pg_test_migrated_url();
    struct task_repo *pg = pg_test_repo_open(*url);
    struct task_repo *r = NULL;
    expect_rc(task_repo_outbox_new(pg, &r), 0, "expected task_repo_outbox_new to wrap the store");
    return r;
}

static void task_titled(struct task *t, const char *title)
{
    task_init(t);
    t->title = strdup(title);
    t->description = strdup("");
    cr_assert(t->title && t->description, "out of memory");
}

static long long scalar(PGconn *c, const char *sql)
{
    return pg_test_scalar(c, sql);
}

/* The payload of outbox row n (1-based, in id order), parsed as an event. */
static void outbox_event(PGconn *c, int n, struct event *out)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT payload FROM outbox ORDER BY id OFFSET %d LIMIT 1", n - 1);
    PGresult *res = PQexec(c, sql);
    cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1,
              "expected an outbox row number %d, found none", n);
    int rc = event_parse(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), out);
    cr_assert_eq(rc, 0,
                 "expected outbox row %d to hold an event of the contract's shape, got %s:"
                 " %s",
                 n, err_str(rc), PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void expect_event(const struct event *e, enum event_type type, int64_t task_id,
                         int64_t owner, int64_t version)
{
    cr_assert_eq(e->type, type, "expected a %s event, got %s", event_type_name(type),
                 event_type_name(e->type));
    cr_assert_eq(e->task_id, task_id, "expected task_id %lld, got %lld", (long long)task_id,
                 (long long)e->task_id);
    cr_assert_eq(e->owner_id, owner, "expected owner_id %lld, got %lld", (long long)owner,
                 (long long)e->owner_id);
    cr_assert_eq(e->version, version, "expected version %lld, got %lld", (long long)version,
                 (long long)e->version);
}

GRADED(outbox_write, create_update_delete_each_add_one_event_row, 3)
{
    const char *url = NULL;
    struct task_repo *r = outbox_store(&url);
    PGconn *c = pg_test_connect(url);
    const struct scope sc = {.owner_id = 7};
    struct task in, t, u;
    task_titled(&in, "write the outbox");
    task_init(&t);
    task_init(&u);
    expect_rc(task_repo_create(r, &sc, &in, &t), 0, "expected the create to succeed");
    cr_assert_eq(scalar(c, "SELECT count(*) FROM outbox"), 1,
                 "expected one outbox row after a create (lab 7.1: the event's row is written "
                 "in the write's transaction)");
    struct task_patch p;
    task_patch_init(&p);
    p.fields = TASK_F_STATUS;
    p.values.status = TASK_DONE;
    expect_rc(task_repo_update(r, &sc, t.id, &p, &(struct if_match){.kind = IF_MATCH_NONE}, &u), 0,
              "expected the update to succeed");
    expect_rc(task_repo_remove(r, &sc, t.id, &(struct if_match){.kind = IF_MATCH_NONE}), 0,
              "expected the delete to succeed");
    cr_assert_eq(scalar(c, "SELECT count(*) FROM outbox"), 3,
                 "expected three outbox rows after create, update and delete");
    struct event e;
    event_init(&e);
    outbox_event(c, 1, &e);
    expect_event(&e, EVENT_TASK_CREATED, t.id, 7, 1);
    cr_assert_eq(e.occurred_at, t.created_at, "expected a create's occurred_at to be created_at");
    outbox_event(c, 2, &e);
    expect_event(&e, EVENT_TASK_UPDATED, t.id, 7, 2);
    outbox_event(c, 3, &e);
    expect_event(&e, EVENT_TASK_DELETED, t.id, 7, 2);
    cr_assert_eq(scalar(c, "SELECT count(DISTINCT event_id) FROM outbox"), 3,
                 "expected every event to have its own event_id");
    cr_assert_eq(scalar(c, "SELECT count(*) FROM outbox WHERE task_id <> 0"), 3,
                 "expected the rows to stay in the outbox until a relay sends them");
    event_clear(&e);
    task_patch_clear(&p);
    task_clear(&in);
    task_clear(&t);
    task_clear(&u);
    PQfinish(c);
    task_repo_free(r);
}

GRADED(outbox_write, a_failed_or_empty_write_adds_no_event, 2)
{
    const char *url = NULL;
    struct task_repo *r = outbox_store(&url);
    PGconn *c = pg_test_connect(url);
    const struct scope sc = {.owner_id = 7}, other = {.owner_id = 8};
    struct task in, t, u;
    task_titled(&in, "only real changes");
    task_init(&t);
    task_init(&u);
    expect_rc(task_repo_create(r, &sc, &in, &t), 0, "expected the create to succeed");
    struct task_patch p;
    task_patch_init(&p);
    p.fields = TASK_F_PRIORITY;
    p.values.priority = TASK_HIGH;
    const struct if_match stale = {.kind = IF_MATCH_VERSION, .versions = {9}, .n = 1};
    expect_rc(task_repo_update(r, &sc, t.id, &p, &stale, &u), ERR_PRECONDITION,
              "expected a stale If-Match to be 412");
    expect_rc(task_repo_update(r, &other, t.id, &p, &(struct if_match){0}, &u), ERR_NOT_FOUND,
              "expected another owner's update to be 404");
    expect_rc(task_repo_remove(r, &sc, t.id + 1, &(struct if_match){0}), ERR_NOT_FOUND,
              "expected deleting a missing task to be 404");
    struct task_patch empty;
    task_patch_init(&empty);
    expect_rc(task_repo_update(r, &sc, t.id, &empty, &(struct if_match){0}, &u), 0,
              "expected PATCH {} to succeed");
    cr_assert_eq(scalar(c, "SELECT count(*) FROM outbox"), 1,
                 "expected only the create's event: a 412, a 404 and a PATCH that changes "
                 "nothing are not events");
    task_patch_clear(&p);
    task_patch_clear(&empty);
    task_clear(&in);
    task_clear(&t);
    task_clear(&u);
    PQfinish(c);
    task_repo_free(r);
}

GRADED(outbox_write, when_the_event_cannot_be_written_the_change_is_not_made, 3)
{
    const char *url = NULL;
    struct task_repo *r = outbox_store(&url);
    PGconn *c = pg_test_connect(url);
    const struct scope sc = {.owner_id = 7};
    struct task in, t, u;
    task_titled(&in, "all or nothing");
    task_init(&t);
    task_init(&u);
    expect_rc(task_repo_create(r, &sc, &in, &t), 0, "expected the create to succeed");
    /* From now on every outbox insert fails inside the transaction. */
    PQclear(PQexec(c, "ALTER TABLE outbox ADD CONSTRAINT no_more CHECK (task_id < 0) NOT VALID"));
    struct task_patch p;
    task_patch_init(&p);
    p.fields = TASK_F_TITLE;
    p.values.title = strdup("must not stick");
    cr_assert(p.values.title, "out of memory");
    int rc = task_repo_update(r, &sc, t.id, &p, &(struct if_match){0}, &u);
    cr_assert_neq(rc, 0, "expected the update to fail when its event cannot be written");
    rc = task_repo_create(r, &sc, &in, &u);
    cr_assert_neq(rc, 0, "expected the create to fail when its event cannot be written");
    rc = task_repo_remove(r, &sc, t.id, &(struct if_match){0});
    cr_assert_neq(rc, 0, "expected the delete to fail when its event cannot be written");
    cr_assert_eq(scalar(c, "SELECT count(*) FROM tasks"), 1,
                 "expected the failed create and delete to leave exactly the first task (lab "
                 "7.1: the change and its event commit together, or neither does)");
    cr_assert_eq(scalar(c, "SELECT version FROM tasks"), 1,
                 "expected the failed update to leave version 1 (lab 7.1: one transaction)");
    task_patch_clear(&p);
    task_clear(&in);
    task_clear(&t);
    task_clear(&u);
    PQfinish(c);
    task_repo_free(r);
}

/* ================================================================== claiming */

static struct pg_pool *pool_open(const char *url)
{
    struct pg_pool_options o = {.url = url, .size = 2, .wait_ms = 2000, .connect_timeout_s = 2};
    struct pg_pool *p = NULL;
    expect_rc(pg_pool_new(&o, &p), 0, "expected pg_pool_new to succeed");
    return p;
}

/* Adds an event row for task_id straight through outbox_add. */
static void add_row(struct pg_conn *c, int64_t task_id)
{
    struct task t;
    task_titled(&t, "row");
    t.id = task_id;
    t.version = 1;
    struct event e;
    event_init(&e);
    expect_rc(event_of_task(EVENT_TASK_UPDATED, &t, 1, &e), 0, "expected event_of_task");
    expect_rc(outbox_add(c, &e), 0, "expected outbox_add to succeed");
    event_clear(&e);
    task_clear(&t);
}

static void claim(struct pg_conn *c, size_t max, int lease_ms, struct outbox_row **rows, size_t *n)
{
    expect_rc(outbox_claim(c, max, lease_ms, rows, n), 0, "expected outbox_claim to succeed");
}

static void sleep_ms(int ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

GRADED(outbox_claim, oldest_first_and_one_event_per_task_in_flight, 3)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct pg_conn *c = NULL;
    expect_rc(pg_pool_acquire(p, &c), 0, "expected a connection");
    add_row(c, 1); /* id 1 */
    add_row(c, 2); /* id 2 */
    add_row(c, 1); /* id 3: task 1's second event */
    struct outbox_row *rows = NULL;
    size_t n = 0;
    claim(c, 10, 60000, &rows, &n);
    cr_assert_eq(n, 2, "expected 2 claimable rows (task 1's first and task 2's), got %zu", n);
    cr_assert(rows[0].id < rows[1].id, "expected the oldest row first");
    cr_assert(rows[0].task_id == 1 && rows[1].task_id == 2,
              "expected the rows of task 1 then task 2, got tasks %lld and %lld",
              (long long)rows[0].task_id, (long long)rows[1].task_id);
    cr_assert_eq(rows[0].attempts, 1, "expected a first claim to count attempt 1");
    int64_t first = rows[0].id;
    outbox_rows_free(rows, n);
    claim(c, 10, 60000, &rows, &n);
    cr_assert_eq(n, 0, "expected nothing claimable while task 1's first event is in flight");
    outbox_rows_free(rows, n);
    expect_rc(outbox_remove_sent(c, &first, 1), 0, "expected outbox_remove_sent to succeed");
    claim(c, 10, 60000, &rows, &n);
    cr_assert_eq(n, 1, "expected task 1's second event once its first was sent, got %zu", n);
    cr_assert_eq(rows[0].task_id, 1, "expected task 1's second event");
    outbox_rows_free(rows, n);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

GRADED(outbox_claim, two_relays_never_claim_the_same_row, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct pg_conn *a = NULL, *b = NULL;
    expect_rc(pg_pool_acquire(p, &a), 0, "expected a connection");
    expect_rc(pg_pool_acquire(p, &b), 0, "expected a second connection");
    for (int64_t task = 1; task <= 4; task++)
        add_row(a, task);
    /* Relay A's claim is still uncommitted (its rows are locked) when B claims. */
    expect_rc(pg_conn_command(a, "BEGIN"), 0, "expected BEGIN");
    struct outbox_row *ra = NULL, *rb = NULL;
    size_t na = 0, nb = 0;
    claim(a, 2, 60000, &ra, &na);
    claim(b, 10, 60000, &rb, &nb);
    expect_rc(pg_conn_command(a, "COMMIT"), 0, "expected COMMIT");
    cr_assert_eq(na, 2, "expected relay A to claim 2 rows, got %zu", na);
    cr_assert_eq(nb, 2,
                 "expected relay B to skip A's locked rows and claim the other 2 at once, "
                 "got %zu",
                 nb);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            cr_assert_neq(ra[i].id, rb[j].id, "expected no row claimed by both relays");
    outbox_rows_free(ra, na);
    outbox_rows_free(rb, nb);
    pg_pool_release(p, a);
    pg_pool_release(p, b);
    pg_pool_free(p);
}

GRADED(outbox_claim, a_lease_ends_and_a_failed_row_waits_its_backoff, 2)
{
    struct pg_pool *p = pool_open(pg_test_migrated_url());
    struct pg_conn *c = NULL;
    expect_rc(pg_pool_acquire(p, &c), 0, "expected a connection");
    add_row(c, 1);
    add_row(c, 2);
    struct outbox_row *rows = NULL;
    size_t n = 0;
    claim(c, 10, 150, &rows, &n); /* a relay that then dies: nobody settles these */
    cr_assert_eq(n, 2, "expected both rows claimed");
    int64_t failed = rows[1].id;
    outbox_rows_free(rows, n);
    expect_rc(outbox_retry_later(c, &failed, 1, 60000), 0, "expected outbox_retry_later");
    sleep_ms(400);
    claim(c, 10, 60000, &rows, &n);
    cr_assert_eq(n, 1,
                 "expected the row whose lease ended to be claimable again, and the failed "
                 "one to wait its minute of backoff; got %zu rows",
                 n);
    cr_assert_eq(rows[0].task_id, 1, "expected task 1's row back");
    cr_assert_eq(rows[0].attempts, 2, "expected the second claim to count attempt 2");
    outbox_rows_free(rows, n);
    struct outbox_stats st;
    expect_rc(outbox_stats(c, &st), 0, "expected outbox_stats");
    cr_assert_eq(st.pending, 2, "expected 2 pending rows, got %lld", (long long)st.pending);
    cr_assert(st.oldest_age_ms >= 300,
              "expected the oldest row to be at least 300 ms old, got "
              "%lld",
              (long long)st.oldest_age_ms);
    pg_pool_release(p, c);
    pg_pool_free(p);
}
