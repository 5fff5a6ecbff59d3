/* pg_pool.h — a fixed-size pool of PostgreSQL connections (libpq), shared by the HTTP threads.
 *
 * Opening a PostgreSQL connection costs a process fork on the server and several round trips,
 * so the service keeps DB_POOL_SIZE of them open and lends one to each request for the length
 * of its queries. The pool is also where an outage is contained: a connection found broken is
 * closed and re-opened on a later borrow, a borrow waits at most a bounded time, and while the
 * database is down every borrow fails fast with ERR_UNAVAILABLE (503) instead of hanging, and a
 * statement on a database that is stuck (stopped, unreachable) ends at its deadline. When
 * the database is back, the next borrow reconnects: recovery needs no restart.
 *
 * A borrowed connection also remembers which of the caller's statements it has prepared, so a
 * statement is parsed and planned once per connection, not once per request. */
#ifndef TASKD_PG_POOL_H
#define TASKD_PG_POOL_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_POOL_STATEMENTS_MAX 64 /* ids 0..63 for pg_conn_exec */
/* A prepared statement is prepared again after this many runs on one connection, so that its
 * plan follows the table as it grows (pg_pool.c, replan_if_due). */
#define PG_POOL_REPLAN_RUNS 100

struct pg_pool;
struct pg_conn;

struct pg_pool_options {
    const char *url;       /* postgres://user:password@host:port/db?... (libpq's URI form) */
    size_t size;           /* connections, 1..1000 */
    int wait_ms;           /* longest a borrow waits for a free connection */
    int connect_timeout_s; /* longest a connection attempt may take (libpq connect_timeout) */
    /* Longest one statement may run (the server's statement_timeout); the client waits for an
     * answer at most 500 ms longer, then closes the connection: ERR_UNAVAILABLE, never a hang on
     * a stopped server. 0: no deadline (the server's default, blocking waits). */
    int statement_timeout_ms;
};

/* Checks the options and makes the pool; no connection is opened yet (pg_pool_check does).
 * 0, ERR_INVALID or ERR_NOMEM. */
int pg_pool_new(const struct pg_pool_options *opts, struct pg_pool **out);
void pg_pool_free(struct pg_pool *p); /* every connection must be back; NULL is a no-op */

/* Borrows a connection that is open and idle. 0, or ERR_UNAVAILABLE when the database cannot be
 * reached or no connection came free within wait_ms. */
int pg_pool_acquire(struct pg_pool *p, struct pg_conn **out);
/* Gives it back. A connection whose last call failed at the connection level, or that was left
 * inside a transaction, is closed instead of kept. */
void pg_pool_release(struct pg_pool *p, struct pg_conn *c);

/* The pool at this moment: what week 9's metrics show (db_pool_connections{state}). */
struct pg_pool_stats {
    size_t size;    /* DB_POOL_SIZE */
    size_t in_use;  /* lent out */
    size_t idle;    /* free to lend (open, or to be opened on the next borrow) */
    size_t waiting; /* borrowers waiting for one to come back */
};
void pg_pool_stats(struct pg_pool *p, struct pg_pool_stats *out);

/* Borrows, runs `SELECT 1`, gives back: 0 or ERR_UNAVAILABLE (readiness, start-up). */
int pg_pool_check(struct pg_pool *p);

/* For a program started before its database (the worker, the week-7 programs): waits until the
 * server at url answers (PQping), trying once a second and logging once that it waits, or until
 * *stop is set (a signal handler's flag; the signal also ends the sleep early). 0, or
 * ERR_UNAVAILABLE when stopped first. */
int pg_wait_ready(const char *url, const volatile sig_atomic_t *stop);

/* One statement on a connection of its own: borrows, runs pg_conn_exec, gives back. For a call
 * that needs one statement only (no transaction, no follow-up on the same connection). */
int pg_pool_exec(struct pg_pool *p, unsigned id, const char *sql, int nparams,
                 const char *const *values, PGresult **out);
/* pg_pool_exec for a call whose next statement depends on this one's answer: on 0 the connection
 * stays borrowed in *c (the caller releases it); on an error it has been given back. */
int pg_pool_exec_keep(struct pg_pool *p, struct pg_conn **c, unsigned id, const char *sql,
                      int nparams, const char *const *values, PGresult **out);
/* The libpq connection, for calls this module does not wrap (migrations, PQexecParams). */
PGconn *pg_conn_raw(struct pg_conn *c);

/* Runs statement `id` (prepared on this connection the first time, from sql) with nparams text
 * parameters (NULL values are SQL NULL). On 0, *out holds the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK); the caller PQclears it. Otherwise *out is NULL and the error is mapped:
 * ERR_UNAVAILABLE (connection lost, server shutting down, too many connections, statement timeout,
 * no answer by the deadline), ERR_CONFLICT
 * (serialization failure or deadlock: worth a retry), ERR_INTERNAL (anything else, logged). */
int pg_conn_exec(struct pg_conn *c, unsigned id, const char *sql, int nparams,
                 const char *const *values, PGresult **out);
/* Runs SQL without parameters (SET, SAVEPOINT...); the same error mapping. */
int pg_conn_command(struct pg_conn *c, const char *sql);
/* pg_conn_exec for a statement that is planned afresh at every call, for the values given and
 * the tables as they are now (PostgreSQL's unnamed statement), instead of prepared once. For a
 * statement whose best plan changes as a table grows: a prepared statement may keep a "generic
 * plan" made while the table was empty, and PostgreSQL then never looks again. */
int pg_conn_exec_unprepared(struct pg_conn *c, const char *sql, int nparams,
                            const char *const *values, PGresult **out);

/* Transactions in fewer round trips (libpq's pipeline mode). pg_conn_begin sends nothing: BEGIN
 * goes out with the connection's next statement, in the same round trip. pg_conn_exec_commit
 * runs a statement that returns no rows and COMMIT in one round trip. So BEGIN, a write, a
 * second write, COMMIT is two round trips, not four. pg_conn_commit and pg_conn_rollback end a
 * transaction on their own (a BEGIN that never went out needs neither: they return 0).
 * pg_conn_begin: 0, or ERR_INVALID when the connection is already in a transaction. The others
 * map errors as pg_conn_exec does; after a failure inside the transaction, roll back. */
int pg_conn_begin(struct pg_conn *c);
int pg_conn_exec_commit(struct pg_conn *c, unsigned id, const char *sql, int nparams,
                        const char *const *values);
int pg_conn_commit(struct pg_conn *c);
int pg_conn_rollback(struct pg_conn *c);

/* Parameters in text form, numbered like $1..$n; numbers are formatted into the struct, so it
 * owns them. Start from {0} (every parameter NULL) and pass .v to pg_conn_exec. */
#define PG_PARAMS_MAX 20
struct pg_params {
    const char *v[PG_PARAMS_MAX];
    char num[PG_PARAMS_MAX][24];
};
void pg_param_i64(struct pg_params *p, int i, int64_t x);
void pg_param_opt_i64(struct pg_params *p, int i, bool has, int64_t x); /* !has: NULL */
void pg_param_text(struct pg_params *p, int i, const char *s);          /* NULL is SQL NULL */
void pg_param_bool(struct pg_params *p, int i, bool b);

/* Reads a bigint column's text: 0, or ERR_INTERNAL when it is not one (a broken row). */
int pg_parse_i64(const char *s, int64_t *out);

/* 0 when a row of res has at least n columns; ERR_INTERNAL, logged with table, otherwise (a
 * query and the code reading it disagree). */
int pg_columns_ok(const PGresult *res, int n, const char *table);
/* Copies a short text column into dst[cap]: ERR_INTERNAL when it is empty or does not fit (a row
 * that breaks the schema's CHECKs). */
int pg_copy_text(char *dst, size_t cap, const char *src);
/* True when res (may be NULL) succeeded (PGRES_TUPLES_OK or PGRES_COMMAND_OK): it is handed to
 * *out, or cleared when out is NULL. False leaves res to the caller's error path. */
bool pg_result_keep(PGresult *res, PGresult **out);
/* Maps a failed result (or NULL) of conn to an ERR_ code, logging what is not the client's
 * business; `what` names the operation in the log. Marks the connection broken when it is. */
int pg_conn_error(struct pg_conn *c, const PGresult *res, const char *what);

#endif
