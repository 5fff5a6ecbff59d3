/* pg_pool.c — a fixed-size pool of libpq connections (see pg_pool.h).
 *
 * The slots are an array, and lender.h says which of them nobody holds (the most recently used
 * connection is lent first, so its memory and the server process behind it are warm) and lets a
 * borrower wait for one with a deadline. Connecting and liveness checks happen outside the lock:
 * one slow connect must not stall every other thread.
 *
 * Outages: a connection the server closed while it sat idle (a restart, an idle timeout, a
 * failover) is noticed before it is lent — its socket is readable with nothing we asked for —
 * and replaced, so the first request after the database returns does not fail on a dead
 * socket. After a failed connect, borrows fail fast for CONNECT_BACKOFF_US instead of every
 * request paying for its own failed attempt. The log says once when the database goes away and
 * once when it is back, not once per request.
 *
 * A stuck database (a stopped backend, a dead network path that still looks connected, a
 * statement waiting on a lock forever) is the other way a request can hang. Every call has a
 * deadline: the server is told statement_timeout (it cancels its own slow statement, SQLSTATE
 * 57014), and the client waits no longer than that plus DEADLINE_GRACE_MS for the answer,
 * because a server that is not running cannot enforce its own timeout. A connection whose call
 * missed the deadline is closed: its answer may still arrive and would be read by the wrong
 * request. */
#include "pg_pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "lender.h"
#include "log.h"
#include "timeutil.h"

#define CONNECT_BACKOFF_US INT64_C(200000)
/* The client waits this much longer than statement_timeout, so that a merely slow statement is
 * cancelled by the server (the connection survives) before the client gives up on it (it does
 * not). */
#define DEADLINE_GRACE_MS 500

struct pg_conn {
    PGconn *pg;                            /* NULL: not connected */
    uint64_t prepared;                     /* bit i: statement "s<i>" is prepared on pg */
    uint32_t runs[PG_POOL_STATEMENTS_MAX]; /* runs of each since it was prepared */
    bool broken;                           /* the last call failed at the connection level */
    bool late;                             /* the last call missed its deadline (implies broken) */
    bool begin_pending; /* pg_conn_begin: BEGIN goes out with the next statement */
    int deadline_ms;    /* longest the client waits for one call's answer; 0: no bound */
};

struct pg_pool {
    pthread_mutex_t lock;  /* guards retry_after_us, down */
    struct lender *lender; /* which slots are free */
    char *url;
    size_t size;
    int wait_ms;
    int statement_timeout_ms;
    char connect_timeout[16];
    char options[48];      /* "-c statement_timeout=N" */
    char user_timeout[16]; /* tcp_user_timeout, ms */
    struct pg_conn *slots;
    int64_t retry_after_us; /* no connect attempt before this (monotonic µs) */
    bool down;              /* the last connect failed: logged once, until one succeeds */
};

int pg_pool_new(const struct pg_pool_options *opts, struct pg_pool **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!opts || !opts->url || opts->size < 1 || opts->size > 1000 || opts->wait_ms < 0 ||
        opts->connect_timeout_s < 1 || opts->statement_timeout_ms < 0)
        return ERR_INVALID;
    int rc = ERR_NOMEM;
    struct pg_pool *p = calloc(1, sizeof *p);
    if (!p)
        return ERR_NOMEM;
    p->url = strdup(opts->url);
    p->slots = calloc(opts->size, sizeof *p->slots);
    if (!p->url || !p->slots || (rc = lender_new(opts->size, &p->lender)) != 0)
        goto fail;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        rc = ERR_INTERNAL;
        goto fail;
    }
    p->size = opts->size;
    p->wait_ms = opts->wait_ms;
    p->statement_timeout_ms = opts->statement_timeout_ms;
    snprintf(p->connect_timeout, sizeof p->connect_timeout, "%d", opts->connect_timeout_s);
    int deadline_ms =
        opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms + DEADLINE_GRACE_MS : 0;
    if (opts->statement_timeout_ms > 0)
        snprintf(p->options, sizeof p->options, "-c statement_timeout=%d",
                 opts->statement_timeout_ms);
    snprintf(p->user_timeout, sizeof p->user_timeout, "%d", deadline_ms);
    for (size_t i = 0; i < p->size; i++)
        p->slots[i].deadline_ms = deadline_ms;
    *out = p;
    return 0;
fail:
    lender_free(p->lender);
    free(p->url);
    free(p->slots);
    free(p);
    return rc;
}

void pg_pool_free(struct pg_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->size; i++)
        if (p->slots[i].pg)
            PQfinish(p->slots[i].pg);
    lender_free(p->lender);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->url);
    free(p);
}

/* An idle connection is alive when libpq thinks so and the server has sent nothing since we
 * last read. We never LISTEN, so whatever arrives on an idle connection is bad news: the FATAL
 * message a server sends before it closes a session (shutdown, restart, pg_terminate_backend,
 * idle timeout), or the close itself. Either way the connection is not lent: a new one is
 * cheaper than a request that fails. */
static bool conn_alive(PGconn *pg)
{
    /* LAB:BEGIN 2.6 Tell a live idle connection from one the server has closed (poll it). */
    if (PQstatus(pg) != CONNECTION_OK)
        return false;
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
    return poll(&pfd, 1, 0) == 0; /* 0: nothing to read, the session is as we left it */
    /* LAB:END return PQstatus(pg) == CONNECTION_OK; */
}

/* Our defaults come before the URL, so a setting the URL names wins over ours. With a deadline:
 * statement_timeout for the server, and tcp_user_timeout so that the kernel gives up on data the
 * server does not acknowledge (a dead path) within the client's bound; the keepalives find a dead
 * path on an idle connection. The socket is non-blocking: call_wait bounds every wait itself. */
static PGconn *conn_open(struct pg_pool *p)
{
    const char *const keys[] = {"connect_timeout",
                                "application_name",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "options",
                                "tcp_user_timeout",
                                "dbname",
                                NULL};
    const char *const values[] = {p->connect_timeout, "taskd",         "1",    "30", "5", "3",
                                  p->options,         p->user_timeout, p->url, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1 /* expand dbname as a URL */);
    if (pg && p->statement_timeout_ms > 0 && PQstatus(pg) == CONNECTION_OK &&
        PQsetnonblocking(pg, 1) != 0) {
        PQfinish(pg); /* its calls could not be bounded: treat it as a failed connect */
        return NULL;
    }
    return pg;
}

/* Connects c (outside the lock). 0 or ERR_UNAVAILABLE; logs the transitions down and up. */
static int conn_connect(struct pg_pool *p, struct pg_conn *c)
{
    pthread_mutex_lock(&p->lock);
    bool backing_off = p->down && clock_mono_us() < p->retry_after_us;
    pthread_mutex_unlock(&p->lock);
    if (backing_off)
        return ERR_UNAVAILABLE;
    PGconn *pg = conn_open(p);
    bool ok = pg && PQstatus(pg) == CONNECTION_OK;
    pthread_mutex_lock(&p->lock);
    bool was_down = p->down;
    p->down = !ok;
    if (!ok)
        p->retry_after_us = clock_mono_us() + CONNECT_BACKOFF_US;
    pthread_mutex_unlock(&p->lock);
    if (!ok) {
        if (!was_down) {
            /* libpq's message names host and port, never the password. */
            char why[256];
            snprintf(why, sizeof why, "%s", pg ? PQerrorMessage(pg) : "out of memory");
            why[strcspn(why, "\n")] = '\0';
            struct log_kv kv[] = {LOG_STR("error", why)};
            log_kv(LOG_ERROR, "cannot connect to PostgreSQL; answering 503 until it is back", kv,
                   1);
        }
        PQfinish(pg);
        return ERR_UNAVAILABLE;
    }
    if (was_down)
        log_msg(LOG_INFO, "PostgreSQL is reachable again");
    c->pg = pg;
    c->prepared = 0;
    memset(c->runs, 0, sizeof c->runs);
    c->broken = false;
    return 0;
}

int pg_pool_acquire(struct pg_pool *p, struct pg_conn **out)
{
    if (!p || !out)
        return ERR_INVALID;
    *out = NULL;
    size_t slot = 0;
    if (lender_take(p->lender, p->wait_ms, &slot) != 0) {
        log_msg(LOG_WARN, "no PostgreSQL connection came free in DB_POOL_WAIT_MS");
        return ERR_UNAVAILABLE;
    }
    struct pg_conn *c = &p->slots[slot];

    if (c->pg && !conn_alive(c->pg)) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    if (!c->pg && conn_connect(p, c) != 0) {
        pg_pool_release(p, c);
        return ERR_UNAVAILABLE;
    }
    *out = c;
    return 0;
}

void pg_pool_release(struct pg_pool *p, struct pg_conn *c)
{
    if (!p || !c)
        return;
    /* LAB:BEGIN 2.7 Close, instead of keeping, a connection that is broken or mid-transaction. */
    if (c->pg && (c->broken || PQstatus(c->pg) != CONNECTION_OK ||
                  PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
        /* Never lend a connection in an unknown state: a half-done transaction would leak
         * into the next request. Closing it rolls back whatever it held. */
        PQfinish(c->pg);
        c->pg = NULL;
    }
    /* LAB:END */
    c->broken = false;
    c->late = false;
    c->begin_pending = false; /* a BEGIN never sent: nothing was begun */
    lender_give(p->lender, (size_t)(c - p->slots));
}

void pg_pool_stats(struct pg_pool *p, struct pg_pool_stats *out)
{
    size_t nfree = 0, nwaiting = 0;
    lender_stats(p->lender, &nfree, &nwaiting);
    *out = (struct pg_pool_stats){
        .size = p->size, .in_use = p->size - nfree, .idle = nfree, .waiting = nwaiting};
}

int pg_pool_check(struct pg_pool *p)
{
    struct pg_conn *c = NULL;
    if (pg_pool_acquire(p, &c) != 0)
        return ERR_UNAVAILABLE;
    int rc = pg_conn_command(c, "SELECT 1");
    pg_pool_release(p, c);
    return rc == 0 ? 0 : ERR_UNAVAILABLE;
}

int pg_pool_exec(struct pg_pool *p, unsigned id, const char *sql, int nparams,
                 const char *const *values, PGresult **out)
{
    *out = NULL;
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(p, &c);
    if (rc != 0)
        return rc;
    rc = pg_conn_exec(c, id, sql, nparams, values, out);
    pg_pool_release(p, c);
    return rc;
}

int pg_pool_exec_keep(struct pg_pool *p, struct pg_conn **c, unsigned id, const char *sql,
                      int nparams, const char *const *values, PGresult **out)
{
    *out = NULL;
    *c = NULL;
    int rc = pg_pool_acquire(p, c);
    if (rc != 0)
        return rc;
    rc = pg_conn_exec(*c, id, sql, nparams, values, out);
    if (rc != 0) {
        pg_pool_release(p, *c);
        *c = NULL;
    }
    return rc;
}

PGconn *pg_conn_raw(struct pg_conn *c)
{
    return c ? c->pg : NULL;
}

/* SQLSTATE classes and codes that mean "the database, not this request": see PostgreSQL's
 * Appendix A. */
static bool state_is(const char *state, const char *prefix)
{
    return state && strncmp(state, prefix, strlen(prefix)) == 0;
}

int pg_conn_error(struct pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (c && c->late) {
        /* A stopped or unreachable server: its statement_timeout could not fire. */
        c->broken = true;
        struct log_kv kv[] = {LOG_STR("op", what), LOG_INT("deadline_ms", c->deadline_ms)};
        log_kv(LOG_WARN,
               "PostgreSQL did not answer within DB_STATEMENT_TIMEOUT_MS; answering unavailable",
               kv, 2);
        return ERR_UNAVAILABLE;
    }
    /* LAB:BEGIN 2.8 Map the SQLSTATE: lost connection or overload 503, retryable conflict 409. */
    if (!c || !c->pg || PQstatus(c->pg) != CONNECTION_OK || state_is(state, "08") ||
        state_is(state, "57P")) {
        /* Connection lost, or the server is shutting down / restarting. */
        if (c)
            c->broken = true;
        struct log_kv kv[] = {LOG_STR("op", what)};
        log_kv(LOG_WARN, "lost the PostgreSQL connection; answering unavailable", kv, 1);
        return ERR_UNAVAILABLE;
    }
    if (state_is(state, "53") || state_is(state, "57014")) {
        /* Out of connections, memory or disk, or a statement timeout: worth a retry later. */
        struct log_kv kv[] = {LOG_STR("op", what), LOG_STR("sqlstate", state)};
        log_kv(LOG_WARN, "PostgreSQL is overloaded; answering unavailable", kv, 2);
        return ERR_UNAVAILABLE;
    }
    if (state_is(state, "40001") || state_is(state, "40P01"))
        return ERR_CONFLICT; /* serialization failure, deadlock: the caller may retry */
    /* LAB:END if (!c || !c->pg) return ERR_UNAVAILABLE; */
    /* The primary message only: DETAIL may quote a row's values. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    struct log_kv kv[] = {
        LOG_STR("op", what),
        LOG_STR("sqlstate", state ? state : "none"),
        LOG_STR("pg_error", msg ? msg : PQerrorMessage(c->pg)),
    };
    log_kv(LOG_ERROR, "PostgreSQL call failed", kv, sizeof kv / sizeof kv[0]);
    return ERR_INTERNAL;
}

bool pg_result_keep(PGresult *res, PGresult **out)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        return false;
    if (out)
        *out = res;
    else
        PQclear(res);
    return true;
}

static int result_ok(struct pg_conn *c, PGresult *res, const char *what, PGresult **out)
{
    if (pg_result_keep(res, out))
        return 0;
    int rc = pg_conn_error(c, res, what);
    PQclear(res);
    return rc;
}

/* Waits until the socket of pg is ready for `events`: 1, 0 when deadline_us passed, -1 on a
 * poll error. */
static int wait_socket(PGconn *pg, short events, int64_t deadline_us)
{
    for (;;) {
        int64_t left_us = deadline_us - clock_mono_us();
        if (left_us <= 0)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(pg), .events = events};
        int n = poll(&pfd, 1, (int)((left_us + 999) / 1000));
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* A call whose answer did not come by the deadline, or whose socket failed: the connection is
 * never lent again, because the rest of this answer may still come. Late when the deadline
 * passed; a poll or read error is a lost connection. */
static void abandon(struct pg_conn *c)
{
    c->late = PQstatus(c->pg) == CONNECTION_OK;
    c->broken = true;
}

/* The deadline of a call started now (monotonic µs), or 0 for none. */
static int64_t call_deadline(const struct pg_conn *c)
{
    return c->deadline_ms > 0 ? clock_mono_us() + (int64_t)c->deadline_ms * 1000 : 0;
}

/* Sends what libpq still holds. false on a send error, or when abandoned (deadline passed). */
static bool flush_wait(struct pg_conn *c, int64_t deadline)
{
    if (deadline == 0)
        return true; /* PQgetResult flushes as it waits */
    int flushed;
    while ((flushed = PQflush(c->pg)) == 1) {
        /* libpq: wait to write, and read meanwhile, or a server that is sending blocks us. */
        int w = wait_socket(c->pg, POLLIN | POLLOUT, deadline);
        if (w <= 0 || !PQconsumeInput(c->pg)) {
            abandon(c);
            return false;
        }
    }
    return flushed == 0;
}

/* The next result into *r, as PQgetResult gives it (NULL ends one statement's results). Without
 * a deadline this is PQgetResult's own blocking wait; with one, it reads with poll(2). false when
 * abandoned. */
static bool next_result(struct pg_conn *c, int64_t deadline, PGresult **r)
{
    *r = NULL;
    if (deadline != 0) {
        while (PQisBusy(c->pg)) {
            int w = wait_socket(c->pg, POLLIN, deadline);
            if (w <= 0 || !PQconsumeInput(c->pg)) {
                abandon(c);
                return false;
            }
        }
    }
    *r = PQgetResult(c->pg);
    return true;
}

/* One statement's answer, as PQexec would give it (its last result), or NULL when abandoned. */
static PGresult *read_answer(struct pg_conn *c, int64_t deadline)
{
    PGresult *last = NULL, *r = NULL;
    for (;;) {
        if (!next_result(c, deadline, &r)) {
            PQclear(last);
            return NULL;
        }
        if (!r)
            return last;
        PQclear(last);
        last = r;
    }
}

/* The answer to the query just sent (sent: what PQsend* returned), or NULL. A call that has no
 * complete answer by the deadline is abandoned: NULL with c->late set. */
static PGresult *call_wait(struct pg_conn *c, int sent)
{
    c->late = false;
    if (!sent)
        return NULL; /* PQsend* failed: PQerrorMessage says why, pg_conn_error maps it */
    int64_t deadline = call_deadline(c);
    if (!flush_wait(c, deadline))
        return NULL;
    return read_answer(c, deadline);
}

/* A statement as the callers give it: a slot id (prepared once per connection), or
 * STMT_UNPREPARED (planned at each call). `what` names it in the log. */
#define STMT_UNPREPARED UINT32_MAX
struct stmt {
    unsigned id;
    const char *sql;
    int nparams;
    const char *const *values;
    char name[16];
    char what[96];
};

static void stmt_init(struct stmt *s, unsigned id, const char *sql, int nparams,
                      const char *const *values)
{
    s->id = id;
    s->sql = sql;
    s->nparams = nparams;
    s->values = values;
    if (id == STMT_UNPREPARED)
        snprintf(s->name, sizeof s->name, "%s", "");
    else
        snprintf(s->name, sizeof s->name, "s%u", id);
    /* A failure is logged with the statement's name and first line: the SQL is ours (values are
     * parameters), and the line says which statement failed. */
    snprintf(s->what, sizeof s->what, "%s %.*s", s->id == STMT_UNPREPARED ? "-" : s->name,
             (int)strcspn(sql, "\n"), sql);
}

static bool stmt_prepared(const struct pg_conn *c, const struct stmt *s)
{
    return s->id == STMT_UNPREPARED || (c->prepared & (UINT64_C(1) << s->id));
}

/* Text parameters, text results: every value is bound, never spliced into SQL. */
static int stmt_send(struct pg_conn *c, const struct stmt *s)
{
    if (s->id == STMT_UNPREPARED)
        return PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, s->values, NULL, NULL, 0);
    return PQsendQueryPrepared(c->pg, s->name, s->nparams, s->values, NULL, NULL, 0);
}

/* One round trip, in libpq's pipeline mode: the BEGIN that pg_conn_begin deferred (if any), s's
 * PREPARE (the first time on this connection), s, and COMMIT when commit is set, then a Sync.
 * The server runs them in order and skips the rest after the first that fails, whose error is
 * the answer; a transaction begun here then waits for the caller's rollback. */
static int exec_pipelined(struct pg_conn *c, const struct stmt *s, bool commit, PGresult **out)
{
    enum step { STEP_BEGIN, STEP_PREPARE, STEP_STMT, STEP_COMMIT, STEPS };
    bool want[STEPS] = {c->begin_pending, !stmt_prepared(c, s), true, commit};
    static const char *const step_sql[STEPS] = {"BEGIN", NULL, NULL, "COMMIT"};
    c->begin_pending = false;
    c->late = false;
    if (!PQenterPipelineMode(c->pg))
        return pg_conn_error(c, NULL, s->what);
    for (int i = 0; i < STEPS; i++) {
        if (!want[i])
            continue;
        int sent = i == STEP_PREPARE ? PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL)
                   : i == STEP_STMT
                       ? stmt_send(c, s)
                       : PQsendQueryParams(c->pg, step_sql[i], 0, NULL, NULL, NULL, NULL, 0);
        if (!sent) {
            c->broken = true; /* half a pipeline is on its way: never lend this connection */
            return pg_conn_error(c, NULL, s->what);
        }
    }
    if (!PQpipelineSync(c->pg)) {
        c->broken = true;
        return pg_conn_error(c, NULL, s->what);
    }
    int64_t deadline = call_deadline(c);
    if (!flush_wait(c, deadline))
        return pg_conn_error(c, NULL, s->what);
    int rc = 0;
    for (int i = 0; i < STEPS; i++) {
        if (!want[i])
            continue;
        PGresult *res = read_answer(c, deadline);
        if (!res && c->broken)
            return pg_conn_error(c, NULL, s->what);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_PIPELINE_ABORTED) { /* skipped after an earlier failure */
            PQclear(res);
            continue;
        }
        if (rc == 0)
            rc =
                result_ok(c, res, step_sql[i] ? step_sql[i] : s->what, i == STEP_STMT ? out : NULL);
        else
            PQclear(res);
        if (rc == 0 && i == STEP_PREPARE)
            c->prepared |= UINT64_C(1) << s->id;
    }
    PGresult *sync = NULL;
    if (!next_result(c, deadline, &sync))
        rc = rc != 0 ? rc : pg_conn_error(c, NULL, s->what);
    else if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC || !PQexitPipelineMode(c->pg))
        c->broken = true; /* not where the protocol says we are: never lend it again */
    PQclear(sync);
    if (rc != 0 && out && *out) {
        PQclear(*out);
        *out = NULL;
    }
    return rc != 0 ? rc : c->broken ? pg_conn_error(c, NULL, s->what) : 0;
}

/* A prepared statement's plan can go stale: after its first runs PostgreSQL may keep one
 * "generic plan" for every later run, made from the table as it was then. A table that held 25
 * rows when the plan was made gets a sequential scan and a sort, and keeps it at 20,000 rows
 * until an ANALYZE (the first page of GET /tasks fell from 3,600 to 220 requests/s while a
 * benchmark filled the table). So a statement is prepared again after PG_POOL_REPLAN_RUNS runs
 * on a connection: DEALLOCATE, one round trip in that many, then the usual PREPARE, planned for
 * the table as it is now. Not in a transaction that has failed: the server would refuse it. */
static int replan_if_due(struct pg_conn *c, const struct stmt *s)
{
    PGTransactionStatusType st = PQtransactionStatus(c->pg);
    if (s->id == STMT_UNPREPARED || !stmt_prepared(c, s) || c->runs[s->id] < PG_POOL_REPLAN_RUNS ||
        (st != PQTRANS_IDLE && st != PQTRANS_INTRANS))
        return 0;
    char sql[32];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
    int rc = result_ok(c, call_wait(c, PQsendQuery(c->pg, sql)), sql, NULL);
    if (rc == 0) {
        c->prepared &= ~(UINT64_C(1) << s->id);
        c->runs[s->id] = 0;
    }
    return rc;
}

/* Counts a run of a prepared statement (replan_if_due reads it). */
static void stmt_ran(struct pg_conn *c, const struct stmt *s)
{
    if (s->id != STMT_UNPREPARED && c->runs[s->id] < UINT32_MAX)
        c->runs[s->id]++;
}

/* Every statement goes through here. Alone, it is one round trip (two the first time a
 * prepared one runs on this connection: PREPARE, then EXECUTE); with a deferred BEGIN or a
 * COMMIT to carry, it is one pipelined round trip. */
static int exec_stmt(struct pg_conn *c, const struct stmt *s, bool commit, PGresult **out)
{
    if (out)
        *out = NULL;
    int rc = replan_if_due(c, s);
    if (rc != 0)
        return rc;
    stmt_ran(c, s);
    if (c->begin_pending || commit)
        return exec_pipelined(c, s, commit, out);
    if (!stmt_prepared(c, s)) {
        PGresult *res = call_wait(c, PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL));
        rc = result_ok(c, res, s->what, NULL);
        if (rc != 0)
            return rc;
        c->prepared |= UINT64_C(1) << s->id;
    }
    return result_ok(c, call_wait(c, stmt_send(c, s)), s->what, out);
}

int pg_conn_exec(struct pg_conn *c, unsigned id, const char *sql, int nparams,
                 const char *const *values, PGresult **out)
{
    if (!c || !c->pg || !sql || !out || id >= PG_POOL_STATEMENTS_MAX)
        return ERR_INVALID;
    struct stmt s;
    stmt_init(&s, id, sql, nparams, values);
    return exec_stmt(c, &s, false, out);
}

int pg_conn_exec_unprepared(struct pg_conn *c, const char *sql, int nparams,
                            const char *const *values, PGresult **out)
{
    if (!c || !c->pg || !sql || !out)
        return ERR_INVALID;
    struct stmt s;
    stmt_init(&s, STMT_UNPREPARED, sql, nparams, values);
    return exec_stmt(c, &s, false, out);
}

int pg_conn_command(struct pg_conn *c, const char *sql)
{
    if (!c || !c->pg || !sql)
        return ERR_INVALID;
    if (c->begin_pending) { /* a pipeline takes the extended protocol only */
        struct stmt s;
        stmt_init(&s, STMT_UNPREPARED, sql, 0, NULL);
        return exec_stmt(c, &s, false, NULL);
    }
    return result_ok(c, call_wait(c, PQsendQuery(c->pg, sql)), sql, NULL);
}

int pg_conn_begin(struct pg_conn *c)
{
    if (!c || !c->pg || c->begin_pending || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return ERR_INVALID;
    c->begin_pending = true;
    return 0;
}

int pg_conn_exec_commit(struct pg_conn *c, unsigned id, const char *sql, int nparams,
                        const char *const *values)
{
    if (!c || !c->pg || !sql || id >= PG_POOL_STATEMENTS_MAX)
        return ERR_INVALID;
    struct stmt s;
    stmt_init(&s, id, sql, nparams, values);
    return exec_stmt(c, &s, true, NULL);
}

int pg_conn_commit(struct pg_conn *c)
{
    if (!c || !c->pg)
        return ERR_INVALID;
    if (c->begin_pending) { /* nothing ran since BEGIN: nothing to commit */
        c->begin_pending = false;
        return 0;
    }
    return pg_conn_command(c, "COMMIT");
}

int pg_conn_rollback(struct pg_conn *c)
{
    if (!c || !c->pg)
        return ERR_INVALID;
    if (c->begin_pending) {
        c->begin_pending = false;
        return 0;
    }
    return pg_conn_command(c, "ROLLBACK");
}

int pg_wait_ready(const char *url, const volatile sig_atomic_t *stop)
{
    bool logged = false;
    while (!*stop) {
        if (PQping(url) == PQPING_OK)
            return 0;
        if (!logged)
            log_msg(LOG_WARN, "waiting for PostgreSQL: retrying every second");
        logged = true;
        struct timespec second = {.tv_sec = 1, .tv_nsec = 0};
        nanosleep(&second, NULL); /* a signal ends it early */
    }
    return ERR_UNAVAILABLE;
}

/* ------------------------------------------------------------------ parameters and columns */

void pg_param_i64(struct pg_params *p, int i, int64_t x)
{
    snprintf(p->num[i - 1], sizeof p->num[i - 1], "%lld", (long long)x);
    p->v[i - 1] = p->num[i - 1];
}

void pg_param_opt_i64(struct pg_params *p, int i, bool has, int64_t x)
{
    if (has)
        pg_param_i64(p, i, x);
    else
        p->v[i - 1] = NULL;
}

void pg_param_text(struct pg_params *p, int i, const char *s)
{
    p->v[i - 1] = s;
}

void pg_param_bool(struct pg_params *p, int i, bool b)
{
    p->v[i - 1] = b ? "t" : "f";
}

int pg_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return ERR_INTERNAL;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return ERR_INTERNAL;
    *out = v;
    return 0;
}

int pg_columns_ok(const PGresult *res, int n, const char *table)
{
    if (PQnfields(res) >= n)
        return 0;
    log_kv(LOG_ERROR, "a query returned too few columns",
           (struct log_kv[]){LOG_STR("table", table), LOG_INT("columns", PQnfields(res))}, 2);
    return ERR_INTERNAL;
}

int pg_copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= cap)
        return ERR_INTERNAL;
    memcpy(dst, src, n + 1);
    return 0;
}
