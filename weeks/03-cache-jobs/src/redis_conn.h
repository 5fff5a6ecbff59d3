/* redis_conn.h — the service's one Redis client: a few hiredis connections to one server, lent
 * one call at a time, with deadlines, and recovery that needs no restart.
 *
 * Week 3 talks to Redis for two reasons (the cache, the job queue) and week 4 for a third (login
 * throttling). Each needs the same things from a connection, and getting them right once is the
 * point of this module: one URL syntax, AUTH and SELECT on every new connection, a deadline on
 * every connect and every command so a dead or frozen Redis is ERR_UNAVAILABLE and never a hang,
 * and a server that went away noticed once, backed off from, and used again when it is back.
 * It is built like week 2's pg_pool (pg_pool.h), for the same reasons: a hiredis context is not
 * thread-safe, so each call borrows one of `size` contexts and gives it back; a borrow waits at
 * at most wait_ms; a context found broken is replaced on a later borrow.
 *
 * Outages: after a connect that failed, or a command that timed out, every call fails fast with
 * ERR_UNAVAILABLE for backoff_ms (one call then goes through to probe), instead of each paying
 * for its own timeout. A connection the server closed (a restart) is simply replaced by the next
 * call. The log says once that Redis went away and once that it is back, naming the client.
 *
 * hiredis writes with write(2): a program using this module ignores SIGPIPE (main.c does), or a
 * write to a socket Redis has reset would kill it. */
#ifndef TASKD_REDIS_CONN_H
#define TASKD_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct redis_conn;

/* Deadlines in ms. A field left 0 takes the default, which suits a call made while a client
 * waits for its answer. */
struct redis_conn_deadlines {
    int wait_ms;    /* for a free connection: 500 */
    int connect_ms; /* 200 */
    int command_ms; /* 500 */
    int backoff_ms; /* after a failed connect or a timeout, calls fail fast this long: 1000 */
};

struct redis_conn_options {
    const char *url;  /* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; %XX escapes in the secret */
    const char *name; /* who uses it, for the log: "cache", "job queue", "login throttle" */
    size_t size;      /* connections, 1..64 */
    struct redis_conn_deadlines deadlines;
    /* The Lua scripts of redis_conn_eval, by index, ending with NULL (NULL: none). The array
     * must outlive the handle. */
    const char *const *scripts;
};

/* Checks the options (a URL that is not of the form above is refused and logged, without its
 * password) and makes the handle; nothing connects yet. 0, ERR_INVALID or ERR_NOMEM. */
int redis_conn_new(const struct redis_conn_options *o, struct redis_conn **out);
void redis_conn_free(struct redis_conn *r); /* NULL is a no-op */

/* Runs one command; lens may be NULL when every argument is a C string, and `what` names it in
 * the log. 0 with *out, a reply that is not an error (the caller frees it with
 * freeReplyObject); ERR_UNAVAILABLE when Redis cannot be reached, did not answer in time, or
 * refused for a passing reason (LOADING, BUSY, READONLY, OOM...); ERR_INTERNAL for any other
 * error reply (logged). *out is NULL unless 0. */
int redis_conn_command(struct redis_conn *r, const char *what, int argc, const char **argv,
                       const size_t *lens, redisReply **out);

/* The same for a command the server itself holds for up to wait_ms (BLMOVE): the connection
 * waits that much longer than command_ms for its answer. */
int redis_conn_blocking(struct redis_conn *r, const char *what, int wait_ms, int argc,
                        const char **argv, redisReply **out);

/* Runs script number `script` of the options with nkeys keys and nargs arguments (at most 8 of
 * each), atomically: Redis runs a script to its end before any other command. Sent by its SHA1
 * (EVALSHA), and by its text when the server does not know it (after a restart or a SCRIPT
 * FLUSH). Replies as redis_conn_command. */
int redis_conn_eval(struct redis_conn *r, const char *what, size_t script, int nkeys,
                    const char *const *keys, int nargs, const char *const *args, redisReply **out);

/* PING: 0 when Redis answers PONG, ERR_UNAVAILABLE otherwise (readiness checks). */
int redis_conn_ping(struct redis_conn *r);

#endif
