/* Lab copy of weeks/04-auth/src/users_repo.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/04-auth/README.md explains them. */
/* users_repo.c — users and refresh tokens in PostgreSQL (users_repo.h, migration 0003_users).
 *
 * Stage 4's accounts live in two tables. Every rule that must hold under concurrency is a
 * WHERE clause or a unique index here, never a read followed by a write in C:
 * - An e-mail is taken once: the unique index users_email decides, and ON CONFLICT DO NOTHING
 *   turns the loser of two concurrent registrations into "no row", ERR_CONFLICT, instead of an
 *   error the pool would log as a bug.
 * - A deleted user (deleted_at set) is invisible to the lookups and cannot refresh.
 * - A refresh token is spent by one conditional UPDATE: of two requests presenting it at once,
 *   the row lock makes the second wait, re-check the WHERE clause on the spent row and match
 *   nothing. A token presented again after it was spent is reuse: the whole family (the tokens
 *   of one login) is revoked.
 * - A family with any revoked token is a revoked family, and spending checks that too. The
 *   winner of a race stores its next token while the loser revokes; that new row may be
 *   invisible to the revoking UPDATE, but never to a later spend.
 *
 * House style of week 2: every value is a bound parameter in text form, cast in the SQL; token
 * hashes cross as hex (decode($n, 'hex')), timestamps as µs through us_to_ts / ts_to_us.
 * Statement ids start at USERS_STMT_BASE, clear of the task repository's and jobs_repo's, so
 * these modules may share one pool. */
#include "users_repo.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "pg_pool.h"

#define USERS_STMT_BASE 44
enum users_stmt {
    STMT_CREATE = USERS_STMT_BASE,
    STMT_BY_EMAIL,
    STMT_BY_ID,
    STMT_SET_HASH,
    STMT_REFRESH_STORE,
    STMT_REFRESH_SPEND,
    STMT_REFRESH_LOOKUP,
    STMT_REFRESH_REVOKE,
    STMT_REFRESH_LOGOUT,
    STMT_END,
};
_Static_assert(STMT_END <= 56, "users_repo owns statement ids 44..55");
_Static_assert(STMT_END <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

/* The columns every statement that returns a user returns, in the order user_read reads. */
#define USER_COLUMNS "id, email, password_hash, ts_to_us(created_at)"
#define USER_NCOLS   4

#define EMAIL_MIN     3 /* the schema's CHECK */
#define HASH_PREFIX   "$argon2id$"
#define TOKEN_HEX_LEN 64 /* a SHA-256 in hex */

/* ------------------------------------------------------------------ parameters and rows */

#define I64_TEXT_MAX 24 /* "-9223372036854775808" and a NUL fit */

static void format_i64(int64_t v, char out[I64_TEXT_MAX])
{
    snprintf(out, I64_TEXT_MAX, "%lld", (long long)v);
}

/* Reads the USER_COLUMNS of row 0 into *out (untouched on failure). */
static int user_read(const PGresult *res, struct user *out)
{
    if (pg_columns_ok(res, USER_NCOLS, "users") != 0)
        return ERR_INTERNAL;
    struct user u;
    memset(&u, 0, sizeof u);
    if (pg_parse_i64(PQgetvalue(res, 0, 0), &u.id) != 0 ||
        pg_copy_text(u.email, sizeof u.email, PQgetvalue(res, 0, 1)) != 0 ||
        pg_copy_text(u.password_hash, sizeof u.password_hash, PQgetvalue(res, 0, 2)) != 0 ||
        pg_parse_i64(PQgetvalue(res, 0, 3), &u.created_at) != 0) {
        struct log_kv kv[] = {LOG_INT("user_id", u.id)};
        log_kv(LOG_ERROR, "a row of the users table breaks the schema's rules", kv, 1);
        return ERR_INTERNAL;
    }
    *out = u;
    return 0;
}

/* Runs a statement that returns at most one user: 0, ERR_NOT_FOUND (no row) or the pool's
 * error. */
static int exec_user(struct pg_pool *p, enum users_stmt id, const char *sql, int n,
                     const char *const *values, struct user *out)
{
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, id, sql, n, values, &res);
    if (rc != 0)
        return rc;
    rc = PQntuples(res) < 1 ? ERR_NOT_FOUND : user_read(res, out);
    PQclear(res);
    return rc;
}

/* The schema's rules on a password hash, checked before the database refuses it as a CHECK
 * violation (which the pool would report as ERR_INTERNAL, a bug). */
static bool hash_ok(const char *h)
{
    return h && strncmp(h, HASH_PREFIX, sizeof HASH_PREFIX - 1) == 0 &&
           strnlen(h, PASSWORD_HASH_MAX) < PASSWORD_HASH_MAX;
}

static bool email_ok(const char *e)
{
    size_t n = e ? strnlen(e, USER_EMAIL_MAX + 1) : 0;
    return n >= EMAIL_MIN && n <= USER_EMAIL_MAX;
}

/* ------------------------------------------------------------------ users */

int users_create(struct pg_pool *p, const char *email, const char *password_hash, struct user *out)
{
    /* ON CONFLICT waits for a concurrent insert of the same e-mail to commit or roll back, then
     * inserts or does nothing: exactly one of two simultaneous registrations gets the row. The
     * index covers deleted users too, so a deleted account's e-mail stays taken. */
    static const char sql[] = "INSERT INTO users (email, password_hash) VALUES ($1, $2)\n"
                              "ON CONFLICT (email) DO NOTHING\n"
                              "RETURNING " USER_COLUMNS;
    if (!p || !email_ok(email) || !hash_ok(password_hash) || !out)
        return ERR_INVALID;
    const char *v[] = {email, password_hash};
    int rc = exec_user(p, STMT_CREATE, sql, 2, v, out);
    return rc == ERR_NOT_FOUND ? ERR_CONFLICT : rc;
}

int users_by_email(struct pg_pool *p, const char *email, struct user *out)
{
    static const char sql[] =
        "SELECT " USER_COLUMNS " FROM users WHERE email = $1 AND deleted_at IS NULL";
    if (!p || !email || !out)
        return ERR_INVALID;
    if (!email_ok(email))
        return ERR_NOT_FOUND; /* no row could match: the schema refuses such an e-mail */
    const char *v[] = {email};
    return exec_user(p, STMT_BY_EMAIL, sql, 1, v, out);
}

int users_by_id(struct pg_pool *p, int64_t id, struct user *out)
{
    static const char sql[] =
        "SELECT " USER_COLUMNS " FROM users WHERE id = $1::bigint AND deleted_at IS NULL";
    if (!p || !out)
        return ERR_INVALID;
    char sid[I64_TEXT_MAX];
    format_i64(id, sid);
    const char *v[] = {sid};
    return exec_user(p, STMT_BY_ID, sql, 1, v, out);
}

int users_set_password_hash(struct pg_pool *p, int64_t id, const char *password_hash)
{
    static const char sql[] = "UPDATE users SET password_hash = $2\n"
                              " WHERE id = $1::bigint AND deleted_at IS NULL";
    if (!p || !hash_ok(password_hash))
        return ERR_INVALID;
    char sid[I64_TEXT_MAX];
    format_i64(id, sid);
    const char *v[] = {sid, password_hash};
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_SET_HASH, sql, 2, v, &res);
    if (rc != 0)
        return rc;
    rc = strcmp(PQcmdTuples(res), "1") == 0 ? 0 : ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------ refresh tokens */

int refresh_store(struct pg_pool *p, int64_t user_id, int64_t family_id,
                  const unsigned char hash[32], int64_t expires_at, int64_t *family_out)
{
    /* INSERT ... SELECT from users: a deleted (or missing) user gets no token, as "no row",
     * rather than a foreign-key error. nextval runs only in the CASE branch that needs it. */
    static const char sql[] =
        "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)\n"
        "SELECT u.id,\n"
        "       CASE WHEN $2::bigint = 0 THEN nextval('refresh_families') ELSE $2::bigint END,\n"
        "       decode($3, 'hex'), us_to_ts($4::bigint)\n"
        "  FROM users u WHERE u.id = $1::bigint AND u.deleted_at IS NULL\n"
        "RETURNING family_id";
    if (!p || !hash || !family_out || family_id < 0)
        return ERR_INVALID;
    *family_out = 0;
    char suser[I64_TEXT_MAX], sfamily[I64_TEXT_MAX], sexpires[I64_TEXT_MAX];
    char hex[TOKEN_HEX_LEN + 1];
    format_i64(user_id, suser);
    format_i64(family_id, sfamily);
    format_i64(expires_at, sexpires);
    sodium_bin2hex(hex, sizeof hex, hash, 32); /* decode(..., 'hex') reads it */
    const char *v[] = {suser, sfamily, hex, sexpires};
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_REFRESH_STORE, sql, 4, v, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) < 1)
        rc = ERR_NOT_FOUND;
    else
        rc = pg_parse_i64(PQgetvalue(res, 0, 0), family_out);
    PQclear(res);
    return rc;
}

/* The spend found nothing to spend: tells reuse (ERR_CONFLICT, after revoking the family) from
 * an unknown or expired token (ERR_NOT_FOUND). Runs on the connection c of the spend, with its
 * parameter (the hash in hex). */
static int refresh_reuse(struct pg_conn *c, const char *const *hash_param)
{
    /* TODO(lab 4.7): Reuse: a spent or revoked token, or one of a revoked family, revokes it. */
    return ERR_NOT_FOUND;
}

int refresh_spend(struct pg_pool *p, const unsigned char hash[32], int64_t *user_id,
                  int64_t *family_id)
{
    if (!p || !hash || !user_id || !family_id)
        return ERR_INVALID;
    *user_id = 0;
    *family_id = 0;
    char hex[TOKEN_HEX_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, hash, 32); /* decode(..., 'hex') reads it */
    const char *v[] = {hex};

    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(p, &c);
    if (rc != 0)
        return rc;
    PGresult *res = NULL;
    /* TODO(lab 4.6): Spend it in one conditional UPDATE ... RETURNING; no row: refresh_reuse. */
    rc = ERR_NOT_FOUND;
    PQclear(res);
    pg_pool_release(p, c);
    return rc;
}

int refresh_revoke_family(struct pg_pool *p, const unsigned char hash[32])
{
    if (!p || !hash)
        return ERR_INVALID;
    char hex[TOKEN_HEX_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, hash, 32);
    const char *v[] = {hex};
    /* TODO(lab 4.8): Logout: revoke every live token of this token's family, in one UPDATE. */
    (void)v; return 0;
}
