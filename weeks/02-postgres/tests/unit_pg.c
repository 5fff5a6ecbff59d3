/* unit_pg.c — the PostgreSQL-only parts of stage 2: the pool and the migration runner, against
 * a real server (a fresh database per test, unit_pg_fixture.h).
 *
 * The repository's contract itself is graded by unit_repo_pg.c (week 1's tests, re-run); what
 * is here has no week-1 counterpart: what the pool does when a connection dies or is held, and
 * what the runner does with a history that does not match its files. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "migrate.h"
#include "pg_pool.h"
#include "task.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "testkit.h"
#include "unit_pg_fixture.h"

static struct pg_pool *pool_of(const char *url, size_t size, int wait_ms)
{
    struct pg_pool_options o = {
        .url = url, .size = size, .wait_ms = wait_ms, .connect_timeout_s = 2};
    struct pg_pool *p = NULL;
    cr_assert_eq(pg_pool_new(&o, &p), 0, "expected pg_pool_new to succeed");
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long backend_pid(struct pg_conn *c)
{
    PGresult *res = NULL;
    cr_assert_eq(pg_conn_exec(c, 0, "SELECT pg_backend_pid()", 0, NULL, &res), 0,
                 "expected SELECT pg_backend_pid() to run");
    long long pid = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return pid;
}

GRADED(pg_pool, a_borrow_waits_at_most_wait_ms_when_every_connection_is_lent, 2)
{
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 1, 200);
    struct pg_conn *held = NULL, *second = NULL;
    cr_assert_eq(pg_pool_acquire(p, &held), 0, "expected the first borrow to succeed");
    double t0 = now_s();
    int rc = pg_pool_acquire(p, &second);
    double waited = now_s() - t0;
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from a full pool, got %d", rc);
    cr_assert(waited >= 0.15 && waited < 2.0,
              "expected the borrow to give up after about 200 ms, it took %.3f s", waited);
    pg_pool_release(p, held);
    cr_assert_eq(pg_pool_acquire(p, &second), 0, "expected a borrow to succeed once one is back");
    pg_pool_release(p, second);
    pg_pool_free(p);
}

GRADED(pg_pool, an_unreachable_database_is_unavailable_not_a_hang, 1)
{
    log_set_level(LOG_ERROR + 1); /* the expected "cannot connect" line is noise here */
    struct pg_pool *p = pool_of("postgres://taskd:pw@127.0.0.1:1/none", 2, 100);
    struct pg_conn *c = NULL;
    double t0 = now_s();
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pg_pool_acquire(p, &c), ERR_UNAVAILABLE,
                     "expected ERR_UNAVAILABLE for a closed port (borrow %d)", i + 1);
    cr_assert(now_s() - t0 < 3.0, "expected five failed borrows to take well under 3 s");
    cr_assert_eq(pg_pool_check(p), ERR_UNAVAILABLE, "expected the check to report unavailable");
    pg_pool_free(p);
}

static volatile sig_atomic_t wait_stop;
static void on_alarm(int sig)
{
    (void)sig;
    wait_stop = 1;
}

GRADED(pg_pool, a_program_waits_for_its_database_until_it_answers_or_a_signal_stops_it, 1)
{
    log_set_level(LOG_ERROR + 1); /* the expected "waiting for PostgreSQL" line is noise here */
    wait_stop = 0;
    cr_assert_eq(pg_wait_ready(pg_test_migrated_url(), &wait_stop), 0,
                 "expected pg_wait_ready to return 0 at once for a server that answers");
    /* A closed port never answers: a signal (SIGALRM here, SIGTERM in the programs) sets the
     * flag and ends the one-second sleep. */
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0, "expected sigaction to work");
    struct itimerval in_300ms = {.it_value = {.tv_sec = 0, .tv_usec = 300000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &in_300ms, NULL), 0, "expected setitimer to work");
    int rc = pg_wait_ready("postgres://taskd:pw@127.0.0.1:1/none", &wait_stop);
    cr_assert_eq(rc, ERR_UNAVAILABLE,
                 "expected ERR_UNAVAILABLE once stopped while waiting for a closed port, got %d",
                 rc);
    cr_assert(wait_stop, "expected the stop flag to be what ended the wait");
}

GRADED(pg_pool, a_connection_the_server_closed_is_replaced_before_it_is_lent, 3)
{
    const char *url = pg_test_fresh_url();
    struct pg_pool *p = pool_of(url, 1, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    long long pid = backend_pid(c);
    pg_pool_release(p, c);

    PGconn *admin = pg_test_connect(url); /* the server ends our idle session, as a restart does */
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)::int", pid);
    cr_assert_eq(pg_test_scalar(admin, sql), 1, "test bug: could not terminate backend %lld", pid);
    PQfinish(admin);
    struct timespec pause = {.tv_nsec = 200 * 1000 * 1000};
    nanosleep(&pause, NULL); /* let the close reach our socket */

    cr_assert_eq(pg_pool_acquire(p, &c), 0,
                 "expected a borrow after the server closed the idle "
                 "connection to succeed with a new one");
    long long pid2 = backend_pid(c);
    cr_assert_neq(pid, pid2, "expected a new server session, got the terminated one (%lld)", pid);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

GRADED(pg_pool, a_connection_given_back_inside_a_transaction_is_not_lent_again, 2)
{
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 1, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    cr_assert_eq(pg_conn_command(c, "BEGIN"), 0, "expected BEGIN to run");
    cr_assert_eq(pg_conn_command(c, "CREATE TABLE leaked (x int)"), 0, "expected CREATE to run");
    pg_pool_release(p, c); /* a handler that forgot to COMMIT or ROLLBACK */
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected the next borrow to succeed");
    cr_assert_eq(PQtransactionStatus(pg_conn_raw(c)), PQTRANS_IDLE,
                 "expected the next borrower to get a connection outside any transaction");
    PGresult *res = NULL;
    cr_assert_eq(pg_conn_exec(c, 1, "SELECT to_regclass('leaked') IS NULL", 0, NULL, &res), 0,
                 "expected the check to run");
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "t",
                     "expected the abandoned transaction to be rolled back (table leaked exists)");
    PQclear(res);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

GRADED(pg_pool, server_errors_map_to_the_error_vocabulary, 1)
{
    log_set_level(LOG_ERROR + 1);
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 1, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, 2, "SELECT * FROM no_such_table", 0, NULL, &res);
    cr_assert_eq(rc, ERR_INTERNAL, "expected a bad statement to be ERR_INTERNAL, got %d", rc);
    cr_assert_null(res, "expected no result on failure");
    rc = pg_conn_exec(c, 3, "SELECT pg_sleep(1)", 0, NULL, &res);
    (void)rc;
    PQclear(res);
    cr_assert_eq(pg_conn_command(c, "SET statement_timeout = 10"), 0, "expected SET to run");
    rc = pg_conn_command(c, "SELECT pg_sleep(1)");
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected a statement timeout to be ERR_UNAVAILABLE, got %d",
                 rc);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

/* Stops a server process (SIGSTOP) and leaves behind a child that resumes it after `seconds`
 * however this test ends, even when it is killed at its timeout: a stopped backend would keep its
 * locks and its connection slot in the shared cluster for good. */
static void stop_backend_for(pid_t pid, unsigned seconds)
{
    pid_t watchdog = fork();
    cr_assert(watchdog >= 0, "test bug: fork failed");
    if (watchdog == 0) {
        sleep(seconds);
        kill(pid, SIGCONT);
        _exit(0);
    }
    cr_assert_eq(kill(pid, SIGSTOP), 0, "test bug: cannot stop backend %d", (int)pid);
}

GRADED(pg_pool, a_stuck_server_is_unavailable_within_the_statement_deadline, 3, .timeout = 30)
{
    log_set_level(LOG_ERROR + 1); /* the expected "did not answer" lines are noise here */
    const char *url = pg_test_fresh_url();
    struct pg_pool_options o = {.url = url,
                                .size = 1,
                                .wait_ms = 1000,
                                .connect_timeout_s = 2,
                                .statement_timeout_ms = 300};
    struct pg_pool *p = NULL;
    cr_assert_eq(pg_pool_new(&o, &p), 0, "expected pg_pool_new to succeed");

    /* The server ends a slow statement itself (statement_timeout), and the connection survives. */
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    double t0 = now_s();
    int rc = pg_conn_command(c, "SELECT pg_sleep(3)");
    double took = now_s() - t0;
    cr_assert_eq(rc, ERR_UNAVAILABLE,
                 "expected pg_sleep(3) past a 300 ms statement timeout to be "
                 "ERR_UNAVAILABLE, got %d",
                 rc);
    cr_assert(took < 1.5, "expected pg_sleep(3) to be cancelled after about 300 ms, took %.3f s",
              took);
    long long pid = backend_pid(c);
    pg_pool_release(p, c);

    /* A stopped backend cannot cancel anything: the client's own deadline must end the wait. */
    stop_backend_for((pid_t)pid, 10);
    t0 = now_s();
    rc = pg_pool_check(p);
    took = now_s() - t0;
    kill((pid_t)pid, SIGCONT);
    cr_assert_eq(rc, ERR_UNAVAILABLE,
                 "expected the check on a stopped backend to be ERR_UNAVAILABLE, got %d", rc);
    cr_assert(took < 2.0,
              "expected the check on a stopped backend to give up after about 800 ms (300 ms "
              "statement timeout + 500 ms), took %.3f s",
              took);
    /* The late connection was closed, not lent again: the next borrow gets a new session. */
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow after the deadline to succeed");
    cr_assert_neq(backend_pid(c), pid,
                  "expected a new session, got the one that missed its "
                  "deadline");
    pg_pool_release(p, c);
    pg_pool_free(p);
}
/* Round trips, counted: the protocol messages libpq sends, traced to a file. Each Sync (the
 * extended protocol) or Query (the simple one) ends a round trip: the client then waits for the
 * server's answer. */
static FILE *trace_start(struct pg_conn *c)
{
    FILE *f = tmpfile();
    cr_assert(f != NULL, "expected a temporary file for the protocol trace");
    PQtrace(pg_conn_raw(c), f);
    PQsetTraceFlags(pg_conn_raw(c), PQTRACE_SUPPRESS_TIMESTAMPS);
    return f;
}

static int trace_round_trips(struct pg_conn *c, FILE *f)
{
    PQuntrace(pg_conn_raw(c));
    rewind(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] == 'F' && (strstr(line, "\tSync") || strstr(line, "\tQuery\t")))
            n++;
    fclose(f);
    return n;
}

static long long count_rows(struct pg_pool *p, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    PGresult *res = NULL;
    cr_assert_eq(pg_pool_exec(p, 9, sql, 0, NULL, &res), 0, "expected %s to run", sql);
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* week 7's outbox writes a change and its event in one transaction: BEGIN, two INSERTs, COMMIT.
 * Each statement alone is a round trip the request waits for; pipelined, BEGIN rides with the
 * first and COMMIT with the last. */
GRADED(pg_pool, a_transaction_of_two_writes_is_two_round_trips_and_commits_both, 2)
{
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 2, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    cr_assert_eq(pg_conn_command(c, "CREATE TABLE a (x int PRIMARY KEY)"), 0, "expected a");
    cr_assert_eq(pg_conn_command(c, "CREATE TABLE b (x int PRIMARY KEY)"), 0, "expected b");
    /* Prepared once first, as a serving connection has them: what is counted is the steady
     * state, not the first call's PREPARE. */
    for (int round = 0; round < 2; round++) {
        FILE *trace = round == 1 ? trace_start(c) : NULL;
        const char *v[1] = {round == 0 ? "1" : "2"};
        PGresult *res = NULL;
        cr_assert_eq(pg_conn_begin(c), 0, "expected pg_conn_begin to succeed");
        cr_assert_eq(pg_conn_exec(c, 10, "INSERT INTO a VALUES ($1::int) RETURNING x", 1, v, &res),
                     0, "expected the first write (with its BEGIN) to succeed");
        cr_assert_str_eq(PQgetvalue(res, 0, 0), v[0], "expected the write's own answer back");
        PQclear(res);
        cr_assert_eq(PQtransactionStatus(pg_conn_raw(c)), PQTRANS_INTRANS,
                     "expected the connection inside the transaction BEGIN opened");
        cr_assert_eq(pg_conn_exec_commit(c, 11, "INSERT INTO b VALUES ($1::int)", 1, v), 0,
                     "expected the second write and COMMIT to succeed");
        cr_assert_eq(PQtransactionStatus(pg_conn_raw(c)), PQTRANS_IDLE,
                     "expected the transaction committed, the connection idle");
        if (trace) {
            int trips = trace_round_trips(c, trace);
            cr_assert_eq(trips, 2, "expected BEGIN, two writes and COMMIT in 2 round trips, got %d",
                         trips);
        }
    }
    pg_pool_release(p, c);
    cr_assert_eq(count_rows(p, "a"), 2, "expected both rows of a committed");
    cr_assert_eq(count_rows(p, "b"), 2, "expected both rows of b committed");
    pg_pool_free(p);
}

/* A failure anywhere in a pipelined transaction is that call's error, and the rollback leaves
 * nothing behind: not the first write when the second fails, not a half-open transaction. */
GRADED(pg_pool, a_failure_inside_a_pipelined_transaction_rolls_back_everything, 2)
{
    log_set_level(LOG_ERROR + 1);
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 2, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    cr_assert_eq(pg_conn_command(c, "CREATE TABLE a (x int PRIMARY KEY)"), 0, "expected a");
    cr_assert_eq(pg_conn_command(c, "INSERT INTO a VALUES (1)"), 0, "expected a's first row");
    const char *one[1] = {"1"}, *two[1] = {"2"};
    PGresult *res = NULL;

    /* The second statement fails (a duplicate key): its COMMIT never runs. */
    cr_assert_eq(pg_conn_begin(c), 0, "expected pg_conn_begin");
    cr_assert_eq(pg_conn_exec(c, 10, "INSERT INTO a VALUES ($1::int) RETURNING x", 1, two, &res), 0,
                 "expected the first write to succeed");
    PQclear(res);
    int rc = pg_conn_exec_commit(c, 11, "INSERT INTO a VALUES ($1::int)", 1, one);
    cr_assert_neq(rc, 0, "expected the duplicate key to fail the commit's round trip");
    cr_assert_eq(pg_conn_rollback(c), 0, "expected ROLLBACK to succeed");
    cr_assert_eq(count_rows(p, "a"), 1, "expected the first write rolled back with the second");

    /* The first statement fails, in the round trip that carried BEGIN. */
    cr_assert_eq(pg_conn_begin(c), 0, "expected pg_conn_begin");
    rc = pg_conn_exec(c, 10, "INSERT INTO a VALUES ($1::int) RETURNING x", 1, one, &res);
    cr_assert_neq(rc, 0, "expected the duplicate key to fail");
    cr_assert_null(res, "expected no result from a failed call");
    cr_assert_eq(pg_conn_rollback(c), 0, "expected ROLLBACK to succeed");
    cr_assert_eq(PQtransactionStatus(pg_conn_raw(c)), PQTRANS_IDLE,
                 "expected the connection out of the transaction");

    /* A BEGIN that never went out needs no ROLLBACK, and a second BEGIN is refused. */
    cr_assert_eq(pg_conn_begin(c), 0, "expected pg_conn_begin");
    cr_assert_eq(pg_conn_begin(c), ERR_INVALID, "expected a second pg_conn_begin refused");
    cr_assert_eq(pg_conn_rollback(c), 0, "expected a rollback of nothing to succeed");
    cr_assert_eq(pg_conn_exec(c, 12, "SELECT count(*) FROM a", 0, NULL, &res), 0,
                 "expected the connection to work after all that");
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "1", "expected a to hold its first row only");
    PQclear(res);
    cr_assert_eq(PQtransactionStatus(pg_conn_raw(c)), PQTRANS_IDLE,
                 "expected a statement after a rolled-back BEGIN to run outside a transaction");
    pg_pool_release(p, c);
    pg_pool_free(p);
}

/* A statement planned at every call sees the values it is given and the table as it is now. */
GRADED(pg_pool, an_unprepared_statement_binds_its_values_and_prepares_nothing, 1)
{
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 1, 1000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    const char *v[2] = {"40", "it's"};
    PGresult *res = NULL;
    cr_assert_eq(pg_conn_exec_unprepared(c, "SELECT $1::int + 2, $2::text", 2, v, &res), 0,
                 "expected the unprepared statement to run");
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "42", "expected the bound value used");
    cr_assert_str_eq(PQgetvalue(res, 0, 1), "it's", "expected the text bound, not spliced");
    PQclear(res);
    cr_assert_eq(pg_conn_exec(c, 13, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, &res),
                 0, "expected the count to run");
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "1",
                     "expected only the counting statement prepared, not the unprepared one");
    PQclear(res);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

/* The plan PostgreSQL would use for prepared statement `name` on c now (EXPLAIN EXECUTE). */
static void plan_of(struct pg_conn *c, const char *name, char *out, size_t cap)
{
    char sql[64];
    snprintf(sql, sizeof sql, "EXPLAIN (COSTS OFF) EXECUTE %s(1, NULL)", name);
    PGresult *res = NULL;
    cr_assert_eq(pg_conn_exec_unprepared(c, sql, 0, NULL, &res), 0, "expected %s to run", sql);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < PQntuples(res) && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s\n", PQgetvalue(res, i, 0));
    PQclear(res);
}

/* A prepared statement's plan must follow its table. PostgreSQL may keep one "generic plan"
 * for every run after the first few; made while the table held 25 rows, it reads the whole
 * table and sorts it, and it would keep doing so at 20,000 rows until an ANALYZE. The pool
 * prepares a statement again every PG_POOL_REPLAN_RUNS runs (its slot 12 is "s12" on the
 * server), so the plan is made again for the table as it is. */
GRADED(pg_pool, a_prepared_plan_is_made_again_as_its_table_grows, 2)
{
    struct pg_pool *p = pool_of(pg_test_fresh_url(), 1, 5000);
    struct pg_conn *c = NULL;
    cr_assert_eq(pg_pool_acquire(p, &c), 0, "expected a borrow to succeed");
    cr_assert_eq(pg_conn_command(c, "CREATE TABLE t (owner int, at int, id int PRIMARY KEY);"
                                    "CREATE INDEX t_owner_at ON t (owner, at, id);"
                                    "INSERT INTO t SELECT 1, g, g FROM generate_series(1, 25) g;"
                                    "ANALYZE t"),
                 0, "expected a small table");
    static const char sql[] = "SELECT id FROM t WHERE owner = $1::int"
                              " AND ($2::int IS NULL OR at > $2::int) ORDER BY at, id LIMIT 21";
    const char *v[2] = {"1", NULL};
    char plan[2048];
    int runs = 0;
    for (; runs < 10; runs++) {
        PGresult *res = NULL;
        cr_assert_eq(pg_conn_exec(c, 12, sql, 2, v, &res), 0, "expected the page to run");
        PQclear(res);
    }
    plan_of(c, "s12", plan, sizeof plan);
    cr_assert(strstr(plan, "Seq Scan") != NULL,
              "the test's premise: on 25 rows PostgreSQL plans a scan of the whole table, got:\n%s",
              plan);
    cr_assert_eq(
        pg_conn_command(c, "INSERT INTO t SELECT 1, g, g FROM generate_series(26, 20000) g"), 0,
        "expected the table to grow");
    for (; runs < PG_POOL_REPLAN_RUNS + 10; runs++) {
        PGresult *res = NULL;
        cr_assert_eq(pg_conn_exec(c, 12, sql, 2, v, &res), 0, "expected the page to run");
        cr_assert_eq(PQntuples(res), 21, "expected a page of 21 rows");
        PQclear(res);
    }
    plan_of(c, "s12", plan, sizeof plan);
    cr_assert(strstr(plan, "Index") != NULL,
              "after %d runs on a table grown to 20,000 rows, expected the statement planned again "
              "(an index scan in (owner, at, id)), got:\n%s",
              runs, plan);
    pg_pool_release(p, c);
    pg_pool_free(p);
}

/* ------------------------------------------------------------------ migrations */

static const struct migration two[] = {
    {"0001_a", "CREATE TABLE a (x int);"},
    {"0002_b", "CREATE TABLE b (y int); INSERT INTO b VALUES (1), (2);"},
};

GRADED(migrate, applies_in_order_once_and_reports_status, 2)
{
    log_set_level(LOG_WARN);
    PGconn *c = pg_test_connect(pg_test_fresh_url());
    size_t pending = 0, applied = 0;
    cr_assert_eq(migrate_status(c, two, 2, NULL, &pending), 0, "expected status to work");
    cr_assert_eq(pending, 2, "expected 2 pending on an empty database, got %zu", pending);
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM pg_tables WHERE tablename = "
                                   "'schema_migrations'"),
                 0, "expected --status to write nothing (no schema_migrations table)");
    cr_assert_eq(migrate_run(c, two, 1, NULL, &applied), 0, "expected the first file to apply");
    cr_assert_eq(applied, 1, "expected 1 applied, got %zu", applied);
    cr_assert_eq(migrate_run(c, two, 2, NULL, &applied), 0, "expected the second to apply");
    cr_assert_eq(applied, 1, "expected only the new file to run, got %zu applied", applied);
    cr_assert_eq(migrate_run(c, two, 2, NULL, &applied), 0, "expected a no-op run to succeed");
    cr_assert_eq(applied, 0, "expected nothing to apply the third time, got %zu", applied);
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM b"), 2, "expected b's rows once");
    cr_assert_eq(migrate_status(c, two, 2, NULL, &pending), 0, "expected status to work");
    cr_assert_eq(pending, 0, "expected nothing pending, got %zu", pending);
    PQfinish(c);
}

GRADED(migrate, a_failing_file_is_rolled_back_whole_and_stops_the_run, 2)
{
    log_set_level(LOG_ERROR + 1);
    static const struct migration bad[] = {
        {"0001_a", "CREATE TABLE a (x int);"},
        {"0002_half", "CREATE TABLE half (y int); SELECT * FROM no_such_table;"},
        {"0003_c", "CREATE TABLE c (z int);"},
    };
    PGconn *c = pg_test_connect(pg_test_fresh_url());
    size_t applied = 9;
    cr_assert_eq(migrate_run(c, bad, 3, NULL, &applied), ERR_INTERNAL,
                 "expected the failing file to fail the run");
    cr_assert_eq(applied, 1, "expected 1 applied before the failure, got %zu", applied);
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM pg_tables WHERE tablename IN "
                                   "('half', 'c')"),
                 0, "expected neither half of the failed file nor the file after it");
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM schema_migrations"), 1,
                 "expected only the good file recorded");
    PQfinish(c);
}

GRADED(migrate, an_edited_applied_file_is_refused, 2)
{
    log_set_level(LOG_ERROR + 1);
    PGconn *c = pg_test_connect(pg_test_fresh_url());
    cr_assert_eq(migrate_run(c, two, 2, NULL, NULL), 0, "expected the files to apply");
    struct migration edited[] = {two[0], {"0002_b", "CREATE TABLE b (y bigint);"}};
    cr_assert_eq(migrate_run(c, edited, 2, NULL, NULL), ERR_CONFLICT,
                 "expected an applied file whose text changed to be refused");
    cr_assert_eq(migrate_run(c, two, 1, NULL, NULL), ERR_CONFLICT,
                 "expected a binary that does not know 0002_b to refuse the database");
    PQfinish(c);
}

/* Expand/contract: what a newer release applied is fine for an older binary only when the newer
 * file said so on its first line. */
GRADED(migrate, an_older_binary_runs_on_a_newer_schema_only_if_marked_compatible, 2)
{
    log_set_level(LOG_ERROR + 1); /* the expected warning and refusal are noise here */
    static const struct migration newer[] = {
        {"0001_a", "CREATE TABLE a (x int);"},
        {"0002_expand", "-- compat: expand\nALTER TABLE a ADD COLUMN note text;"},
        {"0003_contract", "ALTER TABLE a DROP COLUMN x;"},
    };
    cr_assert(migrate_is_expand(newer[1].sql), "expected the mark on the first line to count");
    cr_assert(!migrate_is_expand("-- compat: expanded\n") && !migrate_is_expand(newer[2].sql) &&
                  !migrate_is_expand("SELECT 1;\n-- compat: expand\n"),
              "expected only an exact first line `-- compat: expand` to count");
    PGconn *c = pg_test_connect(pg_test_fresh_url());
    size_t pending = 0;
    cr_assert_eq(migrate_run(c, newer, 2, NULL, NULL), 0, "expected the newer binary to migrate");
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM schema_migrations WHERE "
                                   "backward_compatible AND name = '0002_expand'"),
                 1, "expected schema_migrations to record 0002_expand as backward compatible");
    cr_assert_eq(migrate_status(c, newer, 1, NULL, &pending), 0,
                 "expected the older binary (0001 only) to accept a schema whose only unknown "
                 "migration is marked `-- compat: expand`");
    cr_assert_eq(migrate_run(c, newer, 1, NULL, NULL), 0,
                 "expected the older binary's migrate to accept the expanded schema");
    cr_assert_eq(migrate_run(c, newer, 3, NULL, NULL), 0, "expected the contract step to apply");
    cr_assert_eq(migrate_status(c, newer, 1, NULL, &pending), ERR_CONFLICT,
                 "expected the older binary to refuse once an unmarked (contract) migration it "
                 "does not know is recorded");
    cr_assert_eq(migrate_status(c, newer, 2, NULL, &pending), ERR_CONFLICT,
                 "expected the binary that knows 0002 but not 0003 to refuse too");
    PQfinish(c);
}

/* CREATE INDEX CONCURRENTLY builds without blocking writes, and PostgreSQL refuses it inside a
 * transaction block: such a file opts out of the runner's per-file transaction. */
GRADED(migrate, a_file_can_opt_out_of_the_transaction_for_create_index_concurrently, 1)
{
    log_set_level(LOG_ERROR + 1);
    static const struct migration files[] = {
        {"0001_t", "CREATE TABLE t (x int);"},
        {"0002_t_x", "-- 0002: an index built without blocking writes\n"
                     "-- migrate: no-transaction\n"
                     "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);"},
    };
    cr_assert(migrate_no_transaction(files[1].sql) && !migrate_no_transaction(files[0].sql),
              "expected the header line to mark the file");
    PGconn *c = pg_test_connect(pg_test_fresh_url());
    size_t applied = 0;
    int rc = migrate_run(c, files, 2, NULL, &applied);
    cr_assert_eq(rc, 0,
                 "expected a no-transaction file with CREATE INDEX CONCURRENTLY to apply, "
                 "got %d",
                 rc);
    cr_assert_eq(applied, 2, "expected both files applied, got %zu", applied);
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM pg_indexes WHERE indexname = 't_x'"), 1,
                 "expected the index t_x to exist");
    cr_assert_eq(pg_test_scalar(c, "SELECT count(*) FROM schema_migrations WHERE name = "
                                   "'0002_t_x'"),
                 1, "expected 0002_t_x to be recorded");
    PQfinish(c);
}
