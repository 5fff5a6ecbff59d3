/* Lab copy of weeks/04-auth/src/auth_http.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/04-auth/README.md explains them. */
/* auth_http.c — POST /auth/register, POST /auth/login, POST /auth/refresh, POST /auth/logout
 * and GET /me (see auth.h).
 *
 * Register stores an argon2id hash of the password, never the password. It looks the e-mail up
 * before hashing (a taken one is 409 without a hash) and counts every attempt against the
 * client's address (429 past REGISTER_IP_MAX_ATTEMPTS). argon2id (~60 ms of CPU) never runs on
 * an event loop: register's hash and login's verification go to the password workers
 * (auth_ctx.hashers) while the request waits deferred (http_defer), and a full queue is a 503
 * at once. Login hands out two
 * tokens: a short-lived access token (a JWT the middleware checks on every request) and a
 * long-lived refresh token (256 random bits, stored only as their SHA-256) that buys the next
 * pair. Each refresh spends its token and issues a new one in the same family; a spent token
 * coming back means two parties hold it, so the store revokes the whole family and both must
 * log in again.
 *
 * Login is built not to help someone guessing passwords:
 *   - every failure (unknown e-mail, wrong password, an e-mail we would never have registered)
 *     is the same 401, and costs the same argon2id verification, so neither the answer nor its
 *     timing says whether an account exists;
 *   - failures are counted per e-mail and per client address in Redis, and past the limit an
 *     attempt is refused with 429 before any verification. Each attempt takes its place in both
 *     counts before its password is checked, and gives it back when the password was right, so
 *     guesses sent all at once are never checked more often than the limit. If Redis is down the
 * counting is skipped (throttle.c logs the outage once): logins keep working, and argon2id still
 * makes each guess expensive. Only what a client got wrong in the body's shape (types, upper
 * bounds) is a 422.
 *
 * What never reaches a log line: passwords, tokens, hashes, the secret — and the e-mail, which
 * is personal data the request log does not need. */
#include "auth.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "email.h"
#include "err.h"
#include "field_errors.h"
#include "http.h"
#include "http_json.h"
#include "json.h"
#include "log.h"
#include "password.h"
#include "problem.h"
#include "throttle.h"
#include "timeutil.h"
#include "users_repo.h"
#include "utf8.h"
#include "work_pool.h"

#define REFRESH_TOKEN_TEXT_MAX 4096 /* an issued one has 43; longer is 422, anything else 401 */
#define EMAIL_KEY_PREFIX       "login:email:"
#define IP_KEY_PREFIX          "login:ip:"
#define REGISTER_KEY_PREFIX    "register:ip:"

_Static_assert(crypto_hash_sha256_BYTES == 32, "refresh_store takes a 32-byte SHA-256");

/* The throttle's keys for one login attempt: the lower-cased e-mail ("" when the address is not
 * one we would ever have registered: no account to protect, and it may hold characters a Redis
 * key should not) and the client's address. */
struct login_keys {
    char email[sizeof EMAIL_KEY_PREFIX + EMAIL_MAX];
    char ip[sizeof IP_KEY_PREFIX + 96];
};

/* ------------------------------------------------------------------ responses */

void auth_send_401(struct http_res *res, int token_presented, const char *detail)
{
    /* RFC 6750 §3: the challenge names the realm, and says invalid_token only when the client
     * actually presented one (a missing token is just "authentication required"). */
    http_res_header(res, "WWW-Authenticate",
                    token_presented ? "Bearer realm=\"taskd\", error=\"invalid_token\""
                                    : "Bearer realm=\"taskd\"");
    problem_send(res, 401, detail);
}

/* Sends the answer for a failed users_repo call that has no meaning of its own here. */
static void send_store_error(struct http_res *res, int rc)
{
    if (rc == ERR_UNAVAILABLE)
        problem_send_unavailable(res, "the database is not available; try again shortly");
    else
        problem_send_err(res, rc, NULL);
}

/* The one answer of a failed login: it must not say which part was wrong. */
static void send_login_failed(struct http_res *res)
{
    auth_send_401(res, 0, "the e-mail address or the password is wrong");
}

/* The one answer of a refresh token we will not honour, whatever the reason. */
static void send_refresh_failed(struct http_res *res)
{
    auth_send_401(res, 0,
                  "the refresh token is not valid (expired, used or revoked); log in again");
}

static void send_user(struct http_res *res, int status, const struct user *u)
{
    char created[RFC3339_MAX];
    cJSON *o = cJSON_CreateObject();
    if (!o || rfc3339_format(u->created_at, created, sizeof created) != 0 ||
        !cJSON_AddNumberToObject(o, "id", (double)u->id) ||
        !cJSON_AddStringToObject(o, "email", u->email) ||
        !cJSON_AddStringToObject(o, "created_at", created)) {
        cJSON_Delete(o);
        problem_send_err(res, ERR_NOMEM, NULL);
        return;
    }
    http_res_json(res, status, o);
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------ bodies */

/* Reads an object whose members are exactly the n string members names[]: values[i] gets
 * names[i]'s value, or NULL when it is absent or broken. Unknown, missing and non-string members
 * go to errs, one entry per field (a field the parser already reported is left alone: its value
 * may be a stand-in). Returns 0 (look at errs) or ERR_NOMEM. */
static int read_strings(const cJSON *obj, const char *const *names, size_t n, const cJSON **values,
                        struct field_errors *errs)
{
    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    for (const cJSON *m = obj->child; m; m = m->next) {
        const char *name = m->string ? m->string : "";
        if (field_errors_has(errs, name))
            continue;
        size_t i = 0;
        while (i < n && strcmp(name, names[i]) != 0)
            i++;
        const char *why = NULL;
        if (i == n)
            why = "is not a known field";
        else if (values[i]) /* a duplicate the parser did not flag (a hand-built tree) */
            why = "is given more than once";
        else if (!cJSON_IsString(m) || !m->valuestring)
            why = "must be a string";
        else
            values[i] = m;
        if (why && field_errors_add(errs, name, why) != 0)
            return ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (!values[i] && !field_errors_has(errs, names[i]) &&
            field_errors_add(errs, names[i], "is required") != 0)
            return ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (values[i] && field_errors_has(errs, names[i]))
            values[i] = NULL; /* reported (a later duplicate, say): do not check it again */
    return 0;
}

/* Code points of a string member; the JSON layer has checked that it is valid UTF-8. */
static size_t chars_of(const cJSON *v)
{
    return utf8_count(v->valuestring, strlen(v->valuestring));
}

/* ------------------------------------------------------------------ throttling */

/* email is the normalised address, or NULL when the one sent is not valid. 0 or ERR_INVALID. */
static int login_keys_of(const struct http_req *req, const char *email, struct login_keys *k)
{
    const char *ip = http_req_client_ip(req);
    k->email[0] = '\0';
    int w = 0;
    if (email) {
        w = snprintf(k->email, sizeof k->email, EMAIL_KEY_PREFIX "%s", email);
        if (w < 0 || (size_t)w >= sizeof k->email)
            return ERR_INVALID; /* cannot happen: a normalised address is at most EMAIL_MAX */
    }
    w = snprintf(k->ip, sizeof k->ip, IP_KEY_PREFIX "%s", ip ? ip : "unknown");
    if (w < 0 || (size_t)w >= sizeof k->ip)
        return ERR_INVALID;
    return 0;
}

/* Reserves this attempt on the e-mail's count and the address's at once, before the password
 * is checked, so that guesses arriving together cannot all pass a check none has counted yet.
 * Returns the seconds the client must wait when a count is at its limit (nothing reserved), or 0
 * when the attempt may go on; *reserved says whether it was counted. Redis down lets the attempt
 * through uncounted: throttling fails open, and throttle.c has logged why. */
static int throttle_reserve_attempt(const struct auth_ctx *c, const struct login_keys *k,
                                    bool *reserved)
{
    *reserved = false;
    if (!c->throttle)
        return 0;
    const char *keys[THROTTLE_KEYS_MAX];
    int limits[THROTTLE_KEYS_MAX];
    int n = 0;
    if (k->email[0] != '\0') {
        keys[n] = k->email;
        limits[n++] = c->login_max_failures;
    }
    keys[n] = k->ip;
    limits[n++] = c->login_ip_max_failures;
    bool blocked = false;
    int wait = 0;
    if (throttle_reserve(c->throttle, n, keys, limits, c->login_window_s, &blocked, &wait) != 0)
        return 0;
    if (blocked)
        return wait < 1 ? 1 : wait;
    *reserved = true;
    return 0;
}

/* A failed login counts against both the address and the client: the reservation did, unless
 * Redis was away then, when it is counted now if Redis is back. Errors are ignored for the same
 * reason as above. */
static void throttle_count_failure(const struct auth_ctx *c, const struct login_keys *k,
                                   bool reserved)
{
    if (!c->throttle || reserved)
        return;
    if (k->email[0] != '\0')
        (void)throttle_fail(c->throttle, k->email, c->login_window_s);
    (void)throttle_fail(c->throttle, k->ip, c->login_window_s);
}

/* An attempt that could not be checked (the store failed) is no failure: both reservations go
 * back. */
static void throttle_give_back(const struct auth_ctx *c, const struct login_keys *k, bool reserved)
{
    if (!c->throttle || !reserved)
        return;
    if (k->email[0] != '\0')
        (void)throttle_release(c->throttle, k->email);
    (void)throttle_release(c->throttle, k->ip);
}

/* A success forgets the address's failures, not the client's: one good password on one account
 * must not reset the count of someone trying many accounts from the same address. The client's
 * count only gets this attempt's reservation back. */
static void throttle_forget_email(const struct auth_ctx *c, const struct login_keys *k,
                                  bool reserved)
{
    if (!c->throttle)
        return;
    if (k->email[0] != '\0')
        (void)throttle_reset(c->throttle, k->email);
    if (reserved)
        (void)throttle_release(c->throttle, k->ip);
}

/* ------------------------------------------------------------------ tokens */

/* Issues an access token and a refresh token for user_id, the refresh token in family (0: a new
 * family, for a login), and sends them: 200, or an error answer. */
static void send_tokens(const struct auth_ctx *c, struct http_res *res, int64_t user_id,
                        int64_t family)
{
    char *access = NULL, *refresh = NULL;
    cJSON *out = NULL;
    int64_t now_us = clock_now_us();
    int64_t now_s = now_us / 1000000;
    struct jwt_claims claims = {.sub = user_id, .iat = now_s, .exp = now_s + c->access_ttl_s};
    int rc = jwt_sign_hs256(c->secret, c->secret_len, AUTH_ISSUER, &claims, &access);
    if (rc != 0) {
        log_kv(LOG_ERROR, "cannot sign an access token",
               (struct log_kv[]){LOG_INT("user_id", user_id), LOG_STR("error", err_str(rc))}, 2);
        problem_send_err(res, rc == ERR_NOMEM ? ERR_NOMEM : ERR_INTERNAL, NULL);
        goto done;
    }

    /* The client gets the random bytes; we keep only their hash, so a copy of the table
     * cannot be turned back into tokens. */
    unsigned char raw[REFRESH_TOKEN_BYTES], hash[crypto_hash_sha256_BYTES];
    randombytes_buf(raw, sizeof raw);
    crypto_hash_sha256(hash, raw, sizeof raw);
    rc = jwt_b64url_encode(raw, sizeof raw, &refresh);
    sodium_memzero(raw, sizeof raw);
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
        goto done;
    }
    int64_t stored_family = 0;
    rc = refresh_store(c->pool, user_id, family, hash, now_us + (int64_t)c->refresh_ttl_s * 1000000,
                       &stored_family);
    if (rc != 0) {
        send_store_error(res, rc);
        goto done;
    }

    out = cJSON_CreateObject();
    if (!out || !cJSON_AddStringToObject(out, "access_token", access) ||
        !cJSON_AddStringToObject(out, "token_type", "Bearer") ||
        !cJSON_AddNumberToObject(out, "expires_in", c->access_ttl_s) ||
        !cJSON_AddStringToObject(out, "refresh_token", refresh)) {
        problem_send_err(res, ERR_NOMEM, NULL);
        goto done;
    }
    /* RFC 6749 §5.1: a response carrying tokens must not be kept by any cache. */
    http_res_header(res, "Cache-Control", "no-store");
    http_res_json(res, 200, out);
done:
    cJSON_Delete(out);
    free(access);
    free(refresh);
}

/* A refresh token as send_tokens writes it: base64url of exactly REFRESH_TOKEN_BYTES, in the one
 * spelling we give out (another spelling of the same bytes, differing in the unused last bits,
 * was never issued). 0, ERR_INVALID or ERR_NOMEM. */
static int refresh_token_decode(const char *s, size_t n, unsigned char out[REFRESH_TOKEN_BYTES])
{
    unsigned char *bytes = NULL;
    char *again = NULL;
    size_t len = 0;
    int rc = jwt_b64url_decode(s, n, &bytes, &len);
    if (rc == 0 && len != REFRESH_TOKEN_BYTES)
        rc = ERR_INVALID;
    if (rc == 0)
        rc = jwt_b64url_encode(bytes, len, &again);
    if (rc == 0 && (strlen(again) != n || memcmp(again, s, n) != 0))
        rc = ERR_INVALID;
    if (rc == 0)
        memcpy(out, bytes, REFRESH_TOKEN_BYTES);
    else if (rc != ERR_NOMEM)
        rc = ERR_INVALID; /* whatever the decoder disliked */
    if (bytes)
        sodium_memzero(bytes, len);
    free(bytes);
    free(again);
    return rc;
}

/* ------------------------------------------------------------------ routes */

/* A register or login request's JSON body, its "email" and "password" strings (v[0], v[1]: a
 * member that is missing or not a string is NULL and reported in errs), and errs. */
struct credentials {
    cJSON *body;
    struct field_errors *errs;
    const cJSON *v[2];
};

/* Fills cr from the request's JSON object. Returns 0, or -1 when it has answered itself (the
 * body is not a JSON object, or memory ran out). cr is freed by credentials_free either way. */
static int read_credentials(struct http_req *req, struct http_res *res, struct credentials *cr)
{
    static const char *const names[] = {"email", "password"};
    if (http_json_object(req, res, &cr->body, &cr->errs) != 0)
        return -1;
    int rc = read_strings(cr->body, names, 2, cr->v, cr->errs);
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
        return -1;
    }
    return 0;
}

/* After the route's own rules: answers 422 with cr's errors (titled title) when a rule or a
 * member failed, or the error rc from adding to them. Returns 0 when the request may go on. */
static int credentials_refused(struct http_res *res, int rc, const struct credentials *cr,
                               const char *title)
{
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
        return -1;
    }
    /* read_strings reports a missing member, so both are set here; the check says so. */
    if (field_errors_count(cr->errs) > 0 || !cr->v[0] || !cr->v[1]) {
        problem_send_fields(res, 422, title, cr->errs);
        return -1;
    }
    return 0;
}

static void credentials_free(struct credentials *cr)
{
    cJSON_Delete(cr->body);
    field_errors_free(cr->errs);
}

/* ------------------------------------------------------------------ password work */

/* What a register or login hands to the password hashers (auth_ctx.hashers): the request to
 * answer, and a copy of what the handler had read, since the body is freed when it returns.
 * The password is wiped before the job is freed. */
struct pw_job {
    const struct auth_ctx *c;
    struct http_req *req;
    struct http_res *res;
    char email[EMAIL_MAX + 1];
    char pw[PASSWORD_MAX * 4 + 1]; /* PASSWORD_MAX code points of UTF-8 */
    size_t pw_len;
    /* login only */
    bool found; /* u is the account of email */
    struct user u;
    struct login_keys keys;
    bool reserved;
};

static struct pw_job *pw_job_new(const struct auth_ctx *c, struct http_req *req,
                                 struct http_res *res, const char *email, const char *pw)
{
    size_t pw_len = strlen(pw);
    struct pw_job *j = calloc(1, sizeof *j);
    if (!j || pw_len >= sizeof j->pw || strlen(email) >= sizeof j->email) {
        free(j); /* the lengths were checked before: only the allocation can fail here */
        problem_send_err(res, ERR_NOMEM, NULL);
        return NULL;
    }
    *j = (struct pw_job){.c = c, .req = req, .res = res, .pw_len = pw_len};
    memcpy(j->email, email, strlen(email) + 1);
    memcpy(j->pw, pw, pw_len + 1);
    return j;
}

static void pw_job_free(struct pw_job *j)
{
    if (!j)
        return;
    sodium_memzero(j, sizeof *j);
    free(j);
}

/* The job has built its answer: hands the request back to the HTTP layer, which sends it. */
static void pw_job_end(struct pw_job *j)
{
    struct http_req *req = j->req;
    pw_job_free(j);
    http_deferred_done(req);
}

/* Hands j to the hashers and defers the request (http_defer): an event loop must not spend the
 * ~60 ms of argon2id, every other connection it serves would wait. Returns 0 when j was taken
 * (fn answers and frees it). When the queue is full, the request is answered 503 with
 * Retry-After at once, costing nothing, and the caller still owns j: a bounded queue, so a flood
 * cannot make every request wait behind it. */
static int pw_job_submit(struct pw_job *j, work_fn fn)
{
    http_defer(j->req);
    if (work_pool_submit(j->c->hashers, fn, j) == 0)
        return 0;
    problem_send_unavailable(j->res, "the server is busy checking passwords; try again shortly");
    http_deferred_done(j->req);
    return ERR_UNAVAILABLE;
}

/* ------------------------------------------------------------------ register */

/* Every registration attempt that gets this far counts against the client's address, success
 * or not: that bounds both the hashing one address can ask for and how many e-mails it can test
 * for an account (409). Returns true when it has answered 429. Redis down lets it through, as
 * login does (throttle.c logs the outage). */
static bool register_throttled(const struct auth_ctx *c, const struct http_req *req,
                               struct http_res *res)
{
    if (!c->throttle)
        return false;
    const char *ip = http_req_client_ip(req);
    char key[sizeof REGISTER_KEY_PREFIX + 96];
    int w = snprintf(key, sizeof key, REGISTER_KEY_PREFIX "%s", ip && ip[0] ? ip : "unknown");
    if (w < 0 || (size_t)w >= sizeof key)
        return false; /* cannot happen: an address fits */
    bool blocked = false;
    int wait = 0;
    if (throttle_reserve(c->throttle, 1, (const char *[]){key}, &c->register_ip_max,
                         c->register_window_s, &blocked, &wait) != 0 ||
        !blocked)
        return false;
    char retry_after[16];
    snprintf(retry_after, sizeof retry_after, "%d", wait < 1 ? 1 : wait);
    http_res_header(res, "Retry-After", retry_after);
    problem_send(res, 429, "too many registrations from this address; try again later");
    return true;
}

/* On a hasher thread: hash, insert, answer. */
static void register_finish(void *arg)
{
    struct pw_job *j = arg;
    char hash[PASSWORD_HASH_MAX];
    struct user u;
    int rc = password_hash(j->pw, j->pw_len, hash);
    if (rc == ERR_NOMEM) {
        /* argon2id needs its memory at once; without it we are overloaded, not broken. */
        problem_send_unavailable(j->res,
                                 "the server is too busy to hash a password; try again shortly");
    } else if (rc != 0) {
        log_kv(LOG_ERROR, "cannot hash a password",
               (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
        problem_send_err(j->res, ERR_INTERNAL, NULL);
    } else if ((rc = users_create(j->c->pool, j->email, hash, &u)) == ERR_CONFLICT) {
        /* Registered by a concurrent request since the handler's check. */
        problem_send(j->res, 409, "an account with this e-mail address already exists");
    } else if (rc != 0) {
        send_store_error(j->res, rc);
    } else {
        log_kv(LOG_INFO, "account created", (struct log_kv[]){LOG_INT("user_id", u.id)}, 1);
        send_user(j->res, 201, &u);
    }
    sodium_memzero(hash, sizeof hash);
    pw_job_end(j);
}

/* The rules, the address's throttle, then the e-mail: a taken one is 409 at once, before any
 * hashing, so asking for a taken e-mail costs the server one indexed SELECT. That answer tells
 * whether an account exists (API.md's contract: a client must learn why it cannot register);
 * the throttle bounds how many e-mails one address can test. Only a new account costs a hash,
 * and that runs on the hashers. */
static void register_user(struct http_req *req, struct http_res *res, void *arg)
{
    const struct auth_ctx *c = arg;
    struct credentials cr = {0};
    struct pw_job *job = NULL;
    if (read_credentials(req, res, &cr) != 0)
        goto done;

    /* Every rule is checked before answering, so both bad fields are reported together. */
    char email[EMAIL_MAX + 1] = "";
    const char *why = NULL;
    int rc = 0;
    if (cr.v[0] &&
        email_normalize(cr.v[0]->valuestring, strlen(cr.v[0]->valuestring), email, &why) != 0)
        rc = field_errors_add(cr.errs, "email", why);
    if (rc == 0 && cr.v[1] &&
        (chars_of(cr.v[1]) < PASSWORD_MIN || chars_of(cr.v[1]) > PASSWORD_MAX))
        rc = field_errors_add(cr.errs, "password", "must be 8..128 characters");
    if (credentials_refused(res, rc, &cr, "the account breaks the rules listed in errors") != 0)
        goto done;
    if (register_throttled(c, req, res))
        goto done;

    struct user u;
    rc = users_by_email(c->pool, email, &u);
    if (rc == 0) {
        problem_send(res, 409, "an account with this e-mail address already exists");
        goto done;
    }
    if (rc != ERR_NOT_FOUND) {
        send_store_error(res, rc);
        goto done;
    }
    job = pw_job_new(c, req, res, email, cr.v[1]->valuestring);
    if (job && pw_job_submit(job, register_finish) == 0)
        job = NULL; /* register_finish answers and frees it */
done:
    pw_job_free(job);
    credentials_free(&cr);
}

/* Replaces a hash made with weaker parameters, now that we hold the password it hashes. A
 * failure changes nothing for the client: the old hash still verifies, and we try next time. */
static void upgrade_hash(const struct auth_ctx *c, const struct user *u, const char *pw, size_t n)
{
    if (!password_needs_rehash(u->password_hash))
        return;
    char hash[PASSWORD_HASH_MAX];
    int rc = password_hash(pw, n, hash);
    if (rc == 0)
        rc = users_set_password_hash(c->pool, u->id, hash);
    if (rc != 0)
        log_kv(LOG_WARN, "cannot upgrade a password hash; the old one stays in use",
               (struct log_kv[]){LOG_INT("user_id", u->id), LOG_STR("error", err_str(rc))}, 2);
    else
        log_kv(LOG_INFO, "password hash upgraded to the current parameters",
               (struct log_kv[]){LOG_INT("user_id", u->id)}, 1);
}

/* On a hasher thread: the verification (the same cost whether the e-mail has an account or
 * not), then the throttle's bookkeeping and the answer. */
static void login_finish(void *arg)
{
    struct pw_job *j = arg;
    const struct auth_ctx *c = j->c;
    bool ok = false;
    /* TODO(lab 4.5): An e-mail with no account must cost one verification too. */
    ok = j->found && password_verify(j->u.password_hash, j->pw, j->pw_len);
    if (!ok) {
        throttle_count_failure(c, &j->keys, j->reserved);
        send_login_failed(j->res);
    } else {
        throttle_forget_email(c, &j->keys, j->reserved);
        upgrade_hash(c, &j->u, j->pw, j->pw_len);
        send_tokens(c, j->res, j->u.id, 0);
    }
    pw_job_end(j);
}

static void login(struct http_req *req, struct http_res *res, void *arg)
{
    const struct auth_ctx *c = arg;
    struct credentials cr = {0};
    if (read_credentials(req, res, &cr) != 0)
        goto done;

    /* Only the shape is a 422: a too-short password or a malformed address is just a failed
     * login, so that this route says nothing about the rules an account was made under. */
    int rc = 0;
    if (cr.v[0] && chars_of(cr.v[0]) > EMAIL_MAX)
        rc = field_errors_add(cr.errs, "email", "must be at most 254 characters");
    if (rc == 0 && cr.v[1] && chars_of(cr.v[1]) > PASSWORD_MAX)
        rc = field_errors_add(cr.errs, "password", "must be at most 128 characters");
    if (credentials_refused(res, rc, &cr, "the login request breaks the rules listed in errors") !=
        0)
        goto done;

    /* An address we would never have registered has no account: it skips the query and its
     * own throttling key, never the verification. */
    const char *sent_email = cr.v[0]->valuestring;
    const char *pw = cr.v[1]->valuestring;
    char email[EMAIL_MAX + 1];
    const char *why = NULL;
    bool valid = email_normalize(sent_email, strlen(sent_email), email, &why) == 0;
    struct login_keys keys;
    if (login_keys_of(req, valid ? email : NULL, &keys) != 0) {
        problem_send_err(res, ERR_INTERNAL, NULL);
        goto done;
    }
    bool reserved = false;
    int wait_s = throttle_reserve_attempt(c, &keys, &reserved);
    if (wait_s > 0) {
        char retry_after[16];
        snprintf(retry_after, sizeof retry_after, "%d", wait_s);
        http_res_header(res, "Retry-After", retry_after);
        problem_send(res, 429, "too many failed logins; try again later");
        goto done;
    }

    struct pw_job *job = pw_job_new(c, req, res, valid ? email : "", pw);
    if (!job) {
        throttle_give_back(c, &keys, reserved);
        goto done;
    }
    job->keys = keys;
    job->reserved = reserved;
    rc = valid ? users_by_email(c->pool, email, &job->u) : ERR_NOT_FOUND;
    job->found = rc == 0;
    if (rc != 0 && rc != ERR_NOT_FOUND) {
        throttle_give_back(c, &keys, reserved);
        send_store_error(res, rc);
    } else if (pw_job_submit(job, login_finish) == 0) {
        job = NULL; /* login_finish answers and frees it */
    } else {
        throttle_give_back(c, &keys, reserved); /* not checked: no failure */
    }
    pw_job_free(job);
done:
    credentials_free(&cr);
}

#define BODY_ANSWERED 1 /* refresh_body_hash answered the request itself (422, 413, 5xx) */

/* The body of /auth/refresh and /auth/logout, {"refresh_token": "..."}: 0 with the token's
 * SHA-256 in hash; ERR_INVALID when the body is well formed but the token is not one we could
 * have issued (each route answers that its own way); BODY_ANSWERED otherwise. */
static int refresh_body_hash(struct http_req *req, struct http_res *res, const char *what,
                             unsigned char hash[crypto_hash_sha256_BYTES])
{
    static const char *const names[] = {"refresh_token"};
    const cJSON *v[1];
    struct field_errors *errs = NULL;
    cJSON *body = NULL;
    unsigned char raw[REFRESH_TOKEN_BYTES];
    int rc = BODY_ANSWERED;
    if (http_json_object(req, res, &body, &errs) != 0)
        goto done;

    int err = read_strings(body, names, 1, v, errs);
    if (err == 0 && v[0] && chars_of(v[0]) > REFRESH_TOKEN_TEXT_MAX)
        err = field_errors_add(errs, "refresh_token", "must be at most 4096 characters");
    if (err != 0) {
        problem_send_err(res, err, NULL);
        goto done;
    }
    if (field_errors_count(errs) > 0 || !v[0]) { /* a missing member is an error already */
        problem_send_fields(res, 422, what, errs);
        goto done;
    }

    const char *token = v[0]->valuestring;
    err = refresh_token_decode(token, strlen(token), raw);
    if (err == ERR_INVALID) {
        rc = ERR_INVALID;
        goto done;
    }
    if (err != 0) {
        problem_send_err(res, err, NULL);
        goto done;
    }
    crypto_hash_sha256(hash, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    rc = 0;
done:
    cJSON_Delete(body);
    field_errors_free(errs);
    return rc;
}

static void refresh(struct http_req *req, struct http_res *res, void *arg)
{
    const struct auth_ctx *c = arg;
    unsigned char hash[crypto_hash_sha256_BYTES];
    int rc =
        refresh_body_hash(req, res, "the refresh request breaks the rules listed in errors", hash);
    if (rc == ERR_INVALID) {
        send_refresh_failed(res);
        return;
    }
    if (rc != 0)
        return;

    int64_t user_id = 0, family = 0;
    rc = refresh_spend(c->pool, hash, &user_id, &family);
    /* ERR_CONFLICT: a spent token came back, so it was copied or the client is broken. The store
     * has revoked the family (and logged it, with the ids only it knows); whoever holds its
     * tokens must log in again. ERR_NOT_FOUND: unknown, expired, or of a deleted account. The
     * client learns none of it. */
    if (rc == ERR_CONFLICT || rc == ERR_NOT_FOUND) {
        send_refresh_failed(res);
        return;
    }
    if (rc != 0) {
        send_store_error(res, rc);
        return;
    }
    send_tokens(c, res, user_id, family);
}

/* Logout revokes the refresh token's whole family: every token of that login, so a copy held
 * elsewhere dies too. Any well-formed body answers 204, even for a token that is malformed,
 * unknown, expired or already revoked, as RFC 7009 §2.2 does for revocation: what the client
 * wants (this token never refreshes again) holds either way, a retried logout is not an error,
 * and the answer says nothing about the token that /auth/refresh would not. Access tokens are
 * not stored, so they stay valid until their exp (ACCESS_TOKEN_TTL_SECONDS, 900 by default). */
static void logout(struct http_req *req, struct http_res *res, void *arg)
{
    const struct auth_ctx *c = arg;
    unsigned char hash[crypto_hash_sha256_BYTES];
    int rc =
        refresh_body_hash(req, res, "the logout request breaks the rules listed in errors", hash);
    if (rc == 0)
        rc = refresh_revoke_family(c->pool, hash);
    else if (rc == ERR_INVALID)
        rc = 0; /* no token of ours: nothing to revoke */
    else
        return;
    if (rc != 0) {
        send_store_error(res, rc);
        return;
    }
    http_res_empty(res, 204);
}

static void me(struct http_req *req, struct http_res *res, void *arg)
{
    const struct auth_ctx *c = arg;
    struct user u;
    int rc = users_by_id(c->pool, auth_user_id(req), &u);
    if (rc == ERR_NOT_FOUND) {
        /* The middleware checked the user a moment ago; it was deleted since. */
        auth_send_401(res, 1, "the token's account no longer exists");
        return;
    }
    if (rc != 0) {
        send_store_error(res, rc);
        return;
    }
    send_user(res, 200, &u);
}

/* ------------------------------------------------------------------ wiring */

int auth_http_register(struct app *app, struct auth_ctx *ctx)
{
    struct http_server *s = app_http(app);
    int rc;
    if ((rc = http_route(s, "POST", "/auth/register", register_user, ctx, HTTP_ROUTE_JSON_BODY)) ||
        (rc = http_route(s, "POST", "/auth/login", login, ctx, HTTP_ROUTE_JSON_BODY)) ||
        (rc = http_route(s, "POST", "/auth/refresh", refresh, ctx, HTTP_ROUTE_JSON_BODY)) ||
        (rc = http_route(s, "POST", "/auth/logout", logout, ctx, HTTP_ROUTE_JSON_BODY)) ||
        (rc = http_route(s, "GET", "/me", me, ctx, 0)))
        return rc;
    return 0;
}
