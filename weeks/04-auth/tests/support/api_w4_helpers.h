/* api_w4_helpers.h — helpers shared by week 4's black-box suites (api_*.c); no tests here.
 *
 * From week 4 every task, job and export route belongs to a logged-in user. With TK_AUTH=1 the
 * test kit logs in once per server and sends that one token with every request, which is how the
 * suites of weeks 1-3 keep running; week 4's own suites need more control than that: several
 * users on one server, a request with exactly the Authorization header the test chose, tokens
 * the test forged itself (signed with the servers' key, read from JWT_SECRET_FILE, or with any
 * other), and a look at the database and the server's log from outside. Those pieces live here,
 * once. Everything still goes over HTTP (or psql, for what no route can do, like deleting a
 * user). Helpers that assert fail the running test with a message naming the request. */
#ifndef TASKD_API_W4_HELPERS_H
#define TASKD_API_W4_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

#define W4_SHOWN       300  /* body characters quoted in a failure message */
#define W4_TOKEN_MAX   2048 /* an access token of ours is a few hundred bytes */
#define W4_AUTH_MAX    (W4_TOKEN_MAX + 32)
#define W4_REFRESH_MAX 256
#define W4_EMAIL_MAX   320
#define W4_ACCESS_TTL  900 /* ACCESS_TOKEN_TTL_SECONDS' default: expires_in of every token pair */

/* The WWW-Authenticate of API.md's 401, with and without a presented token. */
#define W4_CHALLENGE         "Bearer realm=\"taskd\""
#define W4_CHALLENGE_INVALID "Bearer realm=\"taskd\", error=\"invalid_token\""

/* ---- servers ---- */

/* A private server (fresh database) with these "NAME=value" settings (NULL-terminated; may be
 * NULL) plus a QUEUE_PREFIX of its own, so that its login-throttling counters in Redis are its
 * own too: every failed login a test makes counts against 127.0.0.1, and the other suites
 * running on the same Redis must not inherit them. Stopped by w4_private_fini, which tests name
 * in .fini so that it runs even when an assertion fails. */
struct tk_server *w4_private(const char *const *settings);
void w4_private_fini(void);
/* "QUEUE_PREFIX=..." of the running private server (a worker beside it needs the same). */
const char *w4_private_queue_prefix(void);

/* ---- users ---- */

struct w4_user {
    long long id;
    char email[W4_EMAIL_MAX];
    char password[160];
    char access[W4_TOKEN_MAX];    /* the last access token */
    char refresh[W4_REFRESH_MAX]; /* the last refresh token */
    char auth[W4_AUTH_MAX];       /* "Authorization: Bearer <access>" */
};

/* A lower-case e-mail no other test process uses: "<tag>-<pid>-<n>-<ms>@example.com". */
const char *w4_email(const char *tag, char *buf, size_t len);

/* POST /auth/register, /auth/login ({"email","password"}) and /auth/refresh
 * ({"refresh_token"}), bodies built with cJSON (so any string is escaped right). The caller frees
 * the response. */
struct tk_response *w4_register(struct tk_server *s, const char *email, const char *password);
struct tk_response *w4_login(struct tk_server *s, const char *email, const char *password);
struct tk_response *w4_refresh(struct tk_server *s, const char *refresh_token);

/* Registers a new user (201) with a unique e-mail made from tag and a password of its own, logs
 * in (200) and fills u. */
void w4_user_new(struct tk_server *s, const char *tag, struct w4_user *u);
/* Keeps the tokens of a 200 token pair in u (only what the other tests need: two strings; the
 * whole contract is w4_expect_token_pair's, checked by the tests about it, so that one missing
 * header does not fail every test that logs in). */
void w4_user_take_tokens(struct w4_user *u, const struct tk_response *r);
/* r is exactly the token pair of API.md: 200 JSON {"access_token","token_type":"Bearer",
 * "expires_in":900,"refresh_token"} with Cache-Control: no-store. */
void w4_expect_token_pair(const struct tk_response *r);

/* method path as whoever auth names: a whole header line ("Authorization: Bearer x",
 * "Authorization: Basic x"...), sent instead of the kit's own; json may be NULL (no body). */
struct tk_response *w4_as(struct tk_server *s, const char *auth, const char *method,
                          const char *path, const char *json);
/* "Authorization: Bearer <token>" into buf. */
const char *w4_bearer(const char *token, char *buf, size_t len);

/* A 401 problem whose WWW-Authenticate is exactly W4_CHALLENGE_INVALID (token_presented) or
 * W4_CHALLENGE. */
void w4_expect_401(const struct tk_response *r, bool token_presented);
/* A 401 problem whose WWW-Authenticate starts with W4_CHALLENGE (either form). */
void w4_expect_401_challenge(const struct tk_response *r);
/* A 429 problem whose Retry-After is whole seconds in 1..max (the rest of the window); returns
 * them. */
long w4_expect_429(const struct tk_response *r, long max);
/* A 404 problem (never 403: another user's resources do not exist for the caller). */
void w4_expect_404(const struct tk_response *r);

/* Follows GET /tasks?query (query may be "") page by page as auth, collecting every id;
 * returns how many (fails the test past max). */
size_t w4_list_ids(struct tk_server *s, const char *auth, const char *query, long long *ids,
                   size_t max);

/* ---- resources ---- */

/* POSTs json (may be NULL: no body) to path as u, expecting status want; returns the "id" it
 * answers. */
long long w4_post_as(struct tk_server *s, const struct w4_user *u, const char *path,
                     const char *json, long want);
/* Starts week 3's worker (taskd-worker beside TASKD_BIN, or $TASKD_WORKER_BIN) on the private
 * server s's database and queue, and waits up to start_ms for it to say it has started. Stop it
 * with tk_proc_stop before the server (it holds connections to the server's database). */
struct tk_proc *w4_worker_start(struct tk_server *s, long start_ms);
/* Polls GET /jobs/{id} as u until it has succeeded; fails the test when it failed, or has not
 * succeeded within timeout_ms. */
void w4_job_wait_succeeded(struct tk_server *s, const struct w4_user *u, long long id,
                           long timeout_ms);

/* ---- races ---- */

/* One POST of a race: body (application/json) to url; w4_race fills the rest. */
struct w4_racer {
    const char *url;
    const char *body;
    long timeout_ms;              /* how long to wait for the answer; 0: 10 s */
    long status;                  /* the answer's status, when error is "" */
    char refresh[W4_REFRESH_MAX]; /* the answer's refresh_token, if it had one */
    char error[128];              /* why there was no answer ("" when there was one) */
};

/* Sends every racer's POST from a thread of its own (a libcurl handle each), all released at
 * once by tk_race's gate, and waits for all of them, each up to its timeout_ms. The threads assert
 * nothing: the test checks the racers afterwards. Fails the test when the threads cannot be
 * started. */
void w4_race(struct w4_racer *racers, int n);

/* ---- from threads of the test (no assertions: they run off the test's thread) ---- */

struct w4_answer {
    long status;           /* 0 when no answer came: see error */
    char retry_after[32];  /* the Retry-After header, "" when absent */
    char content_type[64]; /* the Content-Type header, "" when absent */
    char error[128];       /* "" when an answer came */
    double ms;             /* from sending to the whole answer */
};

/* POST url with a JSON body on a connection of its own, sent from the local address iface
 * ("127.0.0.2": another client address on loopback; NULL: the default), waiting timeout_ms at
 * most (0: 10 s). */
void w4_post_from(const char *url, const char *json, const char *iface, long timeout_ms,
                  struct w4_answer *out);

/* ---- tokens made by the test ---- */

/* The key the servers sign with: the file that TASKD_ENV's JWT_SECRET_FILE names (default
 * .run/jwt-secret, relative to the repository root), one trailing newline dropped as the service
 * does. Returns its length; fails the test when it cannot be read. */
size_t w4_secret(unsigned char *buf, size_t len);

/* base64url without padding of len bytes (malloc'd; the caller frees it). */
char *w4_b64url(const void *data, size_t len);

/* header_json and claims_json base64url-encoded, then signed with HMAC-SHA-<sha_bits> (256 or
 * 512) under key: "h.c.sig". sha_bits 0 gives "h.c." (no signature). Malloc'd. */
char *w4_jwt(const char *header_json, const char *claims_json, int sha_bits,
             const unsigned char *key, size_t key_len);
/* The token a server of ours would accept for these claims: {"alg":"HS256","typ":"JWT"}, signed
 * with w4_secret(). Malloc'd. */
char *w4_jwt_ours(const char *claims_json);
/* Good claims for user id at now + offsets: {"sub":"<id>","iat":now+iat,"exp":now+exp,
 * "iss":"taskd","jti":"..."} into buf. */
const char *w4_claims(long long id, long iat_offset, long exp_offset, char *buf, size_t len);

/* The payload of a JWT, decoded and parsed (the caller deletes it); fails the test when the token
 * is not three parts of base64url JSON. */
cJSON *w4_jwt_payload(const char *token);

/* Seconds since the epoch (wall clock: what tokens carry). */
long long w4_epoch_s(void);
/* Microseconds on the monotonic clock (for timing). */
long long w4_now_us(void);

/* ---- outside HTTP ---- */

/* One psql statement on url; the unaligned, tuples-only result into out (may be NULL). Fails
 * the test when psql does. */
void w4_psql(const char *url, const char *sql, char *out, size_t len);
/* A brand-new empty database from TK_FRESH_DB_CMD into url; w4_drop_db drops it again with
 * TK_DROP_DB_CMD (by name only: the URL holds a password). */
const char *w4_fresh_db(char *url, size_t len);
void w4_drop_db(const char *url);
/* The whole file, NUL-terminated (malloc'd); fails the test when it cannot be read. */
char *w4_read_file(const char *path);

#endif
