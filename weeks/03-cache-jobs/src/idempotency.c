/* idempotency.c — the idempotency_keys table (see idempotency.h for the protocol).
 *
 * Every rule is in the SQL, so that it holds across threads and instances alike:
 * - the claim is one INSERT ... ON CONFLICT DO UPDATE ... WHERE <expired>: a new key inserts, an
 *   expired row is taken over, and a live row is left alone (no row RETURNed). PostgreSQL makes
 *   the second of two simultaneous inserts of one key wait for the first and then see it, so
 *   exactly one claims.
 * - a live row is then read: no status yet means in progress; another hash means another
 *   request; otherwise it is the stored answer.
 * Statement ids start at IDEM_STMT_BASE, clear of task_repo_pg's, jobs_repo's (32..43) and
 * week 4's users_repo's (44..55), which may share the pool. */
#include "idempotency.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pg_pool.h"

#define IDEM_STMT_BASE 56
enum idem_stmt {
    STMT_CLAIM = IDEM_STMT_BASE,
    STMT_READ,
    STMT_COMPLETE,
    STMT_RELEASE,
    STMT_END,
};
_Static_assert(STMT_END <= PG_POOL_STATEMENTS_MAX, "too many statements for the pool");

/* How long an answer is kept (API.md): after this a key may be used afresh. */
#define IDEM_TTL_SQL "interval '24 hours'"

/* A claim whose first read found the row gone (released between the two statements) tries
 * again this many times before calling it in progress. */
#define CLAIM_TRIES 3

bool idem_key_valid(const char *key)
{
    size_t n = 0;
    for (; key[n]; n++) {
        char c = key[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n == IDEM_KEY_MAX)
            return false;
    }
    return n > 0;
}

int idem_request_hash(const char *method, const char *path, const char *body, size_t len, char *hex)
{
    /* NUL bytes separate the parts, so "POST /a" + "b" cannot equal "POST /ab" + "". */
    crypto_hash_sha256_state st;
    unsigned char out[crypto_hash_sha256_BYTES];
    if (crypto_hash_sha256_init(&st) != 0 ||
        crypto_hash_sha256_update(&st, (const unsigned char *)method, strlen(method) + 1) != 0 ||
        crypto_hash_sha256_update(&st, (const unsigned char *)path, strlen(path) + 1) != 0 ||
        (len && crypto_hash_sha256_update(&st, (const unsigned char *)body, len) != 0) ||
        crypto_hash_sha256_final(&st, out) != 0)
        return ERR_INTERNAL;
    sodium_bin2hex(hex, IDEM_HASH_HEX + 1, out, sizeof out);
    return 0;
}

void idem_answer_free(struct idem_answer *a)
{
    if (!a)
        return;
    free(a->content_type);
    free(a->body);
    free(a->location);
    free(a->etag);
    memset(a, 0, sizeof *a);
}

/* A copy of column col of row 0, or NULL when it is SQL NULL; *failed on out of memory. */
static char *col_dup(const PGresult *res, int col, size_t *len, bool *failed)
{
    if (PQgetisnull(res, 0, col))
        return NULL;
    size_t n = (size_t)PQgetlength(res, 0, col);
    char *s = malloc(n + 1);
    if (!s) {
        *failed = true;
        return NULL;
    }
    memcpy(s, PQgetvalue(res, 0, col), n);
    s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

/* Reads the live row of (owner, key): *found false when there is none (released meanwhile). */
static int read_row(struct pg_conn *c, const char *const *v, const char *hash, bool *found,
                    enum idem_claim *out, struct idem_answer *answer)
{
    static const char sql[] =
        "SELECT request_hash, status, content_type, body, location, etag FROM idempotency_keys"
        " WHERE owner_id = $1::bigint AND key = $2 AND created_at >= now() - " IDEM_TTL_SQL;
    PGresult *res = NULL;
    int rc = pg_conn_exec(c, STMT_READ, sql, 2, v, &res);
    if (rc != 0)
        return rc;
    *found = PQntuples(res) == 1;
    if (!*found)
        goto cleanup;
    if ((rc = pg_columns_ok(res, 6, "idempotency_keys")) != 0)
        goto cleanup;
    if (strcmp(PQgetvalue(res, 0, 0), hash) != 0) {
        *out = IDEM_MISMATCH;
    } else if (PQgetisnull(res, 0, 1)) {
        *out = IDEM_IN_PROGRESS;
    } else {
        bool failed = false;
        answer->status = atoi(PQgetvalue(res, 0, 1));
        answer->content_type = col_dup(res, 2, NULL, &failed);
        answer->body = col_dup(res, 3, &answer->body_len, &failed);
        answer->location = col_dup(res, 4, NULL, &failed);
        answer->etag = col_dup(res, 5, NULL, &failed);
        if (failed) {
            idem_answer_free(answer);
            rc = ERR_NOMEM;
            goto cleanup;
        }
        *out = IDEM_REPLAY;
    }
cleanup:
    PQclear(res);
    return rc;
}

int idem_claim(struct pg_pool *p, int64_t owner, const char *key, const char *hash,
               enum idem_claim *out, struct idem_answer *answer)
{
    /* The DO UPDATE's WHERE makes an expired row count as absent: it is reset and claimed. */
    /* LAB:BEGIN 3.11 One statement claims (owner, key): insert, or take over an expired row. */
    static const char sql[] =
        "INSERT INTO idempotency_keys (owner_id, key, request_hash) VALUES ($1::bigint, $2, $3)"
        " ON CONFLICT (owner_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
        " status = NULL, content_type = NULL, body = NULL, location = NULL, etag = NULL,"
        " created_at = now()"
        " WHERE idempotency_keys.created_at < now() - " IDEM_TTL_SQL " RETURNING owner_id";
    /* LAB:END static const char sql[] = "-- TODO(lab 3.11): INSERT ... ON CONFLICT ..."; */
    memset(answer, 0, sizeof *answer);
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, owner);
    pg_param_text(&prm, 2, key);
    pg_param_text(&prm, 3, hash);
    struct pg_conn *c = NULL;
    int rc = pg_pool_acquire(p, &c);
    if (rc != 0)
        return rc;
    *out = IDEM_IN_PROGRESS;
    for (int i = 0; i < CLAIM_TRIES; i++) {
        PGresult *res = NULL;
        if ((rc = pg_conn_exec(c, STMT_CLAIM, sql, 3, prm.v, &res)) != 0)
            break;
        bool claimed = PQntuples(res) == 1;
        PQclear(res);
        if (claimed) {
            *out = IDEM_CLAIMED;
            break;
        }
        bool found = false;
        if ((rc = read_row(c, prm.v, hash, &found, out, answer)) != 0 || found)
            break;
    }
    pg_pool_release(p, c);
    return rc;
}

int idem_complete(struct pg_pool *p, int64_t owner, const char *key,
                  const struct idem_answer_view *answer)
{
    static const char sql[] =
        "UPDATE idempotency_keys SET status = $3::integer, content_type = $4, body = $5,"
        " location = $6, etag = $7 WHERE owner_id = $1::bigint AND key = $2 AND status IS NULL";
    if (answer->status < 100 || answer->status >= 500)
        return ERR_INVALID;
    /* The body goes as text: our answers are JSON, UTF-8 without NUL bytes. */
    if (answer->body && memchr(answer->body, '\0', answer->body_len))
        return ERR_INVALID;
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, owner);
    pg_param_text(&prm, 2, key);
    pg_param_i64(&prm, 3, answer->status);
    pg_param_text(&prm, 4, answer->content_type);
    pg_param_text(&prm, 5, answer->body ? answer->body : "");
    pg_param_text(&prm, 6, answer->location);
    pg_param_text(&prm, 7, answer->etag);
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_COMPLETE, sql, 7, prm.v, &res);
    PQclear(res);
    return rc;
}

int idem_release(struct pg_pool *p, int64_t owner, const char *key)
{
    static const char sql[] = "DELETE FROM idempotency_keys"
                              " WHERE owner_id = $1::bigint AND key = $2 AND status IS NULL";
    struct pg_params prm = {0};
    pg_param_i64(&prm, 1, owner);
    pg_param_text(&prm, 2, key);
    PGresult *res = NULL;
    int rc = pg_pool_exec(p, STMT_RELEASE, sql, 2, prm.v, &res);
    PQclear(res);
    return rc;
}
