/* unit_users.c — users and refresh tokens (users_repo.h) against a real PostgreSQL.
 *
 * Each test takes a fresh, migrated database (unit_pg_fixture.h; run through `make
 * test-week-4`, which sets TK_FRESH_DB_CMD), so tests see only their own rows. The rules that
 * matter are the ones that must hold under concurrency: an e-mail is taken once, and a refresh
 * token is spent once; the races are run for real, with threads released together by a
 * barrier, several rounds each. A plain libpq connection looks behind the repository (to delete
 * a user, or to see which tokens of a family are revoked). */
#include <libpq-fe.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "testkit.h"
#include "tk_race.h"
#include "timeutil.h"
#include "users_repo.h"
#include "unit_pg_fixture.h"

#define SEC    INT64_C(1000000)
#define HOUR   (3600 * SEC)
#define ROUNDS 8 /* rounds of each race: one round may not overlap the two calls at all */

/* Not a real argon2id hash (the repository stores it as text), but shaped like one, as the
 * schema's CHECK demands. */
static const char HASH_A[] = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
static const char HASH_B[] = "$argon2id$v=19$m=131072,t=3,p=1$b3RoZXJzYWx0$bmV3aGFzaG5ld2g";

/* ------------------------------------------------------------------ fixture */

struct fx {
    struct pg_pool *pool;
    PGconn *raw; /* the test's own connection, for looking behind the repository */
};

static void fx_open(struct fx *f)
{
    const char *url = pg_test_migrated_url();
    log_set_level(LOG_ERROR); /* the reuse tests' "family revoked" warnings are expected */
    struct pg_pool_options o = {.url = url, .size = 2, .wait_ms = 5000, .connect_timeout_s = 2};
    f->pool = NULL;
    int rc = pg_pool_new(&o, &f->pool);
    cr_assert_eq(rc, 0, "expected pg_pool_new to succeed, got %d (%s)", rc, err_str(rc));
    f->raw = pg_test_connect(url);
}

static void fx_close(struct fx *f)
{
    PQfinish(f->raw);
    pg_pool_free(f->pool);
}

/* Runs a statement that returns no rows on the test's connection. */
static void raw_exec(struct fx *f, const char *sql)
{
    PGresult *res = PQexec(f->raw, sql);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK, "test query failed: %s\n%s",
              PQresultErrorMessage(res), sql);
    PQclear(res);
}

static void delete_user(struct fx *f, int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE users SET deleted_at = now() WHERE id = %lld", (long long)id);
    raw_exec(f, sql);
}

/* Tokens of family that are not revoked. */
static long long live_in_family(struct fx *f, int64_t family)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM refresh_tokens WHERE family_id = %lld AND revoked_at IS NULL",
             (long long)family);
    return pg_test_scalar(f->raw, sql);
}

static struct user create_ok(struct fx *f, const char *email)
{
    struct user u;
    memset(&u, 0, sizeof u);
    int rc = users_create(f->pool, email, HASH_A, &u);
    cr_assert_eq(rc, 0, "expected users_create(%s) to succeed, got %d (%s)", email, rc,
                 err_str(rc));
    return u;
}

static void random_hash(unsigned char h[32])
{
    cr_assert_eq(getrandom(h, 32, 0), 32, "test bug: getrandom failed");
}

/* Stores a new token (random hash) for user in family (0: a new one); returns its family. */
static int64_t store_ok(struct fx *f, int64_t user, int64_t family, unsigned char hash[32],
                        int64_t expires_at)
{
    random_hash(hash);
    int64_t got = -1;
    int rc = refresh_store(f->pool, user, family, hash, expires_at, &got);
    cr_assert_eq(rc, 0, "expected refresh_store(user %lld, family %lld) to succeed, got %d (%s)",
                 (long long)user, (long long)family, rc, err_str(rc));
    cr_assert(got > 0, "expected a positive family, got %lld", (long long)got);
    if (family != 0)
        cr_assert_eq(got, family, "expected the token in family %lld, got %lld", (long long)family,
                     (long long)got);
    return got;
}

/* The fixture with one user, ada@example.com, in it. */
static struct user fx_with_ada(struct fx *f)
{
    fx_open(f);
    return create_ok(f, "ada@example.com");
}

static int spend(struct fx *f, const unsigned char hash[32], int64_t *user, int64_t *family)
{
    int64_t u = -1, fam = -1;
    int rc = refresh_spend(f->pool, hash, user ? user : &u, family ? family : &fam);
    return rc;
}

/* Spends hash and asserts the result is want; `what` names the token in the failure. */
static void expect_spend(struct fx *f, const unsigned char hash[32], int want, const char *what)
{
    int rc = spend(f, hash, NULL, NULL);
    cr_assert_eq(rc, want, "expected %s to be refused with %d (%s), got %d (%s)", what, want,
                 err_str(want), rc, err_str(rc));
}

/* ------------------------------------------------------------------ users */

GRADED(users_repo, a_created_user_is_found_by_email_and_by_id, 2)
{
    struct fx f;
    fx_open(&f);
    int64_t before = clock_now_us();
    struct user u = create_ok(&f, "ada@example.com");
    cr_assert(u.id > 0, "expected a positive id, got %lld", (long long)u.id);
    cr_assert_str_eq(u.email, "ada@example.com", "expected the e-mail back, got %s", u.email);
    cr_assert_str_eq(u.password_hash, HASH_A, "expected the hash back, got %s", u.password_hash);
    cr_assert(u.created_at > before - 60 * SEC && u.created_at < before + 60 * SEC,
              "expected created_at about now (%lld), got %lld", (long long)before,
              (long long)u.created_at);

    struct user got;
    int rc = users_by_email(f.pool, "ada@example.com", &got);
    cr_assert_eq(rc, 0, "expected users_by_email to find the user, got %d (%s)", rc, err_str(rc));
    cr_assert(got.id == u.id && strcmp(got.email, u.email) == 0 &&
                  strcmp(got.password_hash, HASH_A) == 0 && got.created_at == u.created_at,
              "expected users_by_email to return the created user (id %lld), got id %lld %s",
              (long long)u.id, (long long)got.id, got.email);
    rc = users_by_id(f.pool, u.id, &got);
    cr_assert_eq(rc, 0, "expected users_by_id to find the user, got %d (%s)", rc, err_str(rc));
    cr_assert(got.id == u.id && strcmp(got.email, u.email) == 0,
              "expected users_by_id to return user %lld, got %lld %s", (long long)u.id,
              (long long)got.id, got.email);

    rc = users_by_email(f.pool, "bob@example.com", &got);
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected an unknown e-mail to be ERR_NOT_FOUND, got %d (%s)",
                 rc, err_str(rc));
    rc = users_by_id(f.pool, u.id + 1000, &got);
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected an unknown id to be ERR_NOT_FOUND, got %d (%s)", rc,
                 err_str(rc));
    rc = users_create(f.pool, "eve@example.com", "plain-text", &got);
    cr_assert_eq(rc, ERR_INVALID, "expected a hash that is not argon2id to be refused, got %d (%s)",
                 rc, err_str(rc));
    fx_close(&f);
}

GRADED(users_repo, a_new_password_hash_replaces_the_old_one, 1)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    int rc = users_set_password_hash(f.pool, u.id, HASH_B);
    cr_assert_eq(rc, 0, "expected users_set_password_hash to succeed, got %d (%s)", rc,
                 err_str(rc));
    struct user got;
    rc = users_by_id(f.pool, u.id, &got);
    cr_assert_eq(rc, 0, "expected users_by_id to succeed, got %d (%s)", rc, err_str(rc));
    cr_assert_str_eq(got.password_hash, HASH_B, "expected the new hash, got %s", got.password_hash);
    rc = users_set_password_hash(f.pool, u.id + 1000, HASH_B);
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected an unknown user to be ERR_NOT_FOUND, got %d (%s)", rc,
                 err_str(rc));
    fx_close(&f);
}

/* Two calls of one operation racing: each thread waits at the gate, then runs op. */
struct racer {
    struct pg_pool *pool;
    int (*op)(struct pg_pool *pool, const void *arg);
    const void *arg;
    int rc;
};

static void *racer_thread(void *arg)
{
    struct racer *r = arg;
    tk_race_gate();
    r->rc = r->op(r->pool, r->arg);
    return NULL;
}

/* Runs op(pool, arg) on two threads released at the same moment; rc[] gets their results.
 * True when exactly one succeeded and the other was ERR_CONFLICT. */
static bool race_two(struct pg_pool *pool, int (*op)(struct pg_pool *, const void *),
                     const void *arg, int rc[2])
{
    struct racer r[2] = {{pool, op, arg, 1}, {pool, op, arg, 1}};
    cr_assert_eq(tk_race(2, racer_thread, r, sizeof r[0]), 0,
                 "test bug: could not start 2 threads: %s", strerror(errno));
    rc[0] = r[0].rc;
    rc[1] = r[1].rc;
    int ok = (rc[0] == 0) + (rc[1] == 0);
    int conflict = (rc[0] == ERR_CONFLICT) + (rc[1] == ERR_CONFLICT);
    return ok == 1 && conflict == 1;
}

static int create_op(struct pg_pool *pool, const void *email)
{
    struct user u;
    return users_create(pool, email, HASH_A, &u);
}

GRADED(users_repo, an_email_is_taken_once_even_by_two_at_once, 2)
{
    struct fx f;
    fx_with_ada(&f);
    struct user u;
    int rc = users_create(f.pool, "ada@example.com", HASH_B, &u);
    cr_assert_eq(rc, ERR_CONFLICT, "expected a taken e-mail to be ERR_CONFLICT, got %d (%s)", rc,
                 err_str(rc));

    for (int round = 0; round < ROUNDS; round++) {
        char email[64];
        snprintf(email, sizeof email, "race%d@example.com", round);
        int raced[2];
        cr_assert(race_two(f.pool, create_op, email, raced),
                  "round %d: expected exactly one of two simultaneous registrations of %s to "
                  "succeed and the other to be ERR_CONFLICT, got %d (%s) and %d (%s)",
                  round, email, raced[0], err_str(raced[0]), raced[1], err_str(raced[1]));
    }
    long long n = pg_test_scalar(f.raw, "SELECT count(*) FROM users");
    cr_assert_eq(n, 1 + ROUNDS, "expected %d users in the table, found %lld", 1 + ROUNDS, n);
    fx_close(&f);
}

GRADED(users_repo, a_deleted_user_is_found_by_neither_lookup, 1)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    delete_user(&f, u.id);
    struct user got;
    int rc = users_by_email(f.pool, "ada@example.com", &got);
    cr_assert_eq(rc, ERR_NOT_FOUND,
                 "expected a deleted user to be ERR_NOT_FOUND by e-mail, got %d (%s)", rc,
                 err_str(rc));
    rc = users_by_id(f.pool, u.id, &got);
    cr_assert_eq(rc, ERR_NOT_FOUND,
                 "expected a deleted user to be ERR_NOT_FOUND by id, got %d (%s)", rc, err_str(rc));
    rc = users_set_password_hash(f.pool, u.id, HASH_B);
    cr_assert_eq(rc, ERR_NOT_FOUND,
                 "expected a deleted user's hash to be left alone (ERR_NOT_FOUND), got %d (%s)", rc,
                 err_str(rc));
    fx_close(&f);
}

/* ------------------------------------------------------------------ refresh tokens */

GRADED(users_repo, a_spent_refresh_token_presented_again_revokes_its_family, 3)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    unsigned char first[32], second[32], other[32];
    int64_t exp = clock_now_us() + HOUR;
    int64_t family = store_ok(&f, u.id, 0, first, exp);
    int64_t other_family = store_ok(&f, u.id, 0, other, exp);
    cr_assert_neq(family, other_family, "expected two logins to start two families, got %lld twice",
                  (long long)family);

    int64_t uid = 0, fid = 0;
    int rc = spend(&f, first, &uid, &fid);
    cr_assert_eq(rc, 0, "expected the first spend to succeed, got %d (%s)", rc, err_str(rc));
    cr_assert(uid == u.id && fid == family, "expected user %lld family %lld, got %lld %lld",
              (long long)u.id, (long long)family, (long long)uid, (long long)fid);
    /* The rotation: the next token of the same family. */
    store_ok(&f, u.id, family, second, exp);

    rc = spend(&f, first, &uid, &fid);
    cr_assert_eq(rc, ERR_CONFLICT,
                 "expected a spent token presented again to be ERR_CONFLICT, "
                 "got %d (%s)",
                 rc, err_str(rc));
    cr_assert_eq(live_in_family(&f, family), 0,
                 "expected reuse to revoke every token of the family, %lld left live",
                 live_in_family(&f, family));
    expect_spend(&f, second, ERR_CONFLICT, "the family's unspent token (revoked)");
    rc = spend(&f, other, &uid, &fid);
    cr_assert_eq(rc, 0, "expected another login's token to be untouched and spendable, got %d (%s)",
                 rc, err_str(rc));
    cr_assert_eq(fid, other_family, "expected family %lld, got %lld", (long long)other_family,
                 (long long)fid);
    fx_close(&f);
}

GRADED(users_repo, a_token_stored_after_its_family_was_revoked_is_refused, 1)
{
    /* The winner of a refresh race stores its next token while the loser revokes the family:
     * that token must not outlive the revocation. */
    struct fx f;
    struct user u = fx_with_ada(&f);
    unsigned char first[32], late[32];
    int64_t exp = clock_now_us() + HOUR;
    int64_t family = store_ok(&f, u.id, 0, first, exp);
    cr_assert_eq(spend(&f, first, NULL, NULL), 0, "expected the first spend to succeed");
    expect_spend(&f, first, ERR_CONFLICT, "a reused token");
    store_ok(&f, u.id, family, late, exp);
    expect_spend(&f, late, ERR_CONFLICT, "a token of a revoked family");
    cr_assert_eq(live_in_family(&f, family), 0, "expected no live token left in the family");
    fx_close(&f);
}

GRADED(users_repo, an_unknown_or_expired_refresh_token_is_not_found, 1)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    unsigned char unknown[32], expired[32];
    random_hash(unknown);
    expect_spend(&f, unknown, ERR_NOT_FOUND, "an unknown token");
    int64_t family = store_ok(&f, u.id, 0, expired, clock_now_us() - 10 * SEC);
    expect_spend(&f, expired, ERR_NOT_FOUND, "an expired token");
    cr_assert_eq(live_in_family(&f, family), 1,
                 "expected an expired token to revoke nothing (it was never spent)");
    long long spent = pg_test_scalar(f.raw, "SELECT count(*) FROM refresh_tokens "
                                            "WHERE spent_at IS NOT NULL");
    cr_assert_eq(spent, 0, "expected the expired token to stay unspent, %lld spent", spent);
    fx_close(&f);
}

static int spend_op(struct pg_pool *pool, const void *hash)
{
    int64_t uid = 0, fid = 0;
    return refresh_spend(pool, hash, &uid, &fid);
}

GRADED(users_repo, of_two_refreshes_with_one_token_exactly_one_wins, 2)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    for (int round = 0; round < ROUNDS; round++) {
        unsigned char token[32];
        int64_t family = store_ok(&f, u.id, 0, token, clock_now_us() + HOUR);
        int rc[2];
        cr_assert(race_two(f.pool, spend_op, token, rc),
                  "round %d: expected exactly one spend to succeed and the other to be "
                  "ERR_CONFLICT, got %d (%s) and %d (%s)",
                  round, rc[0], err_str(rc[0]), rc[1], err_str(rc[1]));
        cr_assert_eq(live_in_family(&f, family), 0,
                     "round %d: expected the losing spend to revoke the family", round);
    }
    fx_close(&f);
}

GRADED(users_repo, a_deleted_user_cannot_refresh, 1)
{
    struct fx f;
    struct user u = fx_with_ada(&f);
    unsigned char token[32];
    store_ok(&f, u.id, 0, token, clock_now_us() + HOUR);
    delete_user(&f, u.id);
    int64_t uid = -1, fid = -1;
    int rc = refresh_spend(f.pool, token, &uid, &fid);
    cr_assert_neq(rc, 0, "expected a deleted user's token to be refused, it was spent (user %lld)",
                  (long long)uid);
    cr_assert(rc == ERR_NOT_FOUND || rc == ERR_CONFLICT,
              "expected ERR_NOT_FOUND or ERR_CONFLICT for a deleted user's token, got %d (%s)", rc,
              err_str(rc));
    unsigned char more[32];
    random_hash(more);
    int64_t family = -1;
    rc = refresh_store(f.pool, u.id, 0, more, clock_now_us() + HOUR, &family);
    cr_assert_eq(rc, ERR_NOT_FOUND,
                 "expected no new token for a deleted user (ERR_NOT_FOUND), got %d (%s)", rc,
                 err_str(rc));
    fx_close(&f);
}
