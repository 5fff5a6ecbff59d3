/* unit_handlers.c — the /tasks handlers (task_http.c) in-process, against test doubles.
 *
 * The lesson's "Testing with doubles" in practice: no taskd binary, no database, no JWT. Each
 * test builds the pieces main.c builds (an HTTP server on 127.0.0.1, port 0, an app) and
 * registers the real handlers over a double of what they depend on, then talks to them over
 * HTTP with libcurl:
 *   - a fake clock (clock_set): timestamps are test inputs, so they are checked exactly;
 *   - a fake store: the in-memory repository ("memory:") in place of SQLite or PostgreSQL;
 *   - a scope double: a middleware that takes the user id from an X-Test-User header, in place
 *     of the JWT middleware, so the handlers' scoping is tested alone;
 *   - a failing store: a repository whose every read answers ERR_UNAVAILABLE, so the handlers'
 *     error mapping is tested without stopping a database;
 * and the token rules of jwt.h at the edge of the leeway, with the same fake clock.
 *
 * Criterion runs each test in a process of its own; the fixture's clean-up is also registered
 * with atexit, so the server stops even when an assertion ends a test half-way. */
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "jwt.h"
#include "scope_http.h"
#include "task_http.h"
#include "task_repo.h"
#include "task_repo_factory.h"
#include "testkit.h"
#include "timeutil.h"

#define SEC INT64_C(1000000)
/* 2026-12-01T09:00:00.123456Z in µs: a fraction in every digit, so a handler that drops or
 * rounds the microseconds shows. */
#define T0     (INT64_C(1796115600000000) + 123456)
#define T0_TXT "2026-12-01T09:00:00.123456Z"

/* ------------------------------------------------------------------ the fake clock */

/* Read by the server's threads, set by the test between requests. */
static _Atomic int64_t fake_now = T0;

static int64_t fake_clock(void)
{
    return atomic_load(&fake_now);
}

/* ------------------------------------------------------------------ the failing store */

/* A repository whose reads and writes all fail as a database that is down does. It counts the
 * calls, so a test can tell the 503 came from the store and not from somewhere else. */
static atomic_int failing_calls;

static int failing_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                          struct task *out)
{
    (void)r, (void)sc, (void)in, (void)out;
    atomic_fetch_add(&failing_calls, 1);
    return ERR_UNAVAILABLE;
}

static int failing_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out)
{
    (void)r, (void)sc, (void)id, (void)out;
    atomic_fetch_add(&failing_calls, 1);
    return ERR_UNAVAILABLE;
}

static int failing_update(struct task_repo *r, const struct scope *sc, int64_t id,
                          const struct task_patch *p, const struct if_match *im, struct task *out)
{
    (void)r, (void)sc, (void)id, (void)p, (void)im, (void)out;
    atomic_fetch_add(&failing_calls, 1);
    return ERR_UNAVAILABLE;
}

static int failing_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                          const struct if_match *im)
{
    (void)r, (void)sc, (void)id, (void)im;
    atomic_fetch_add(&failing_calls, 1);
    return ERR_UNAVAILABLE;
}

static int failing_list(struct task_repo *r, const struct scope *sc,
                        const struct task_list_query *q, struct task_page *out)
{
    (void)r, (void)sc, (void)q, (void)out;
    atomic_fetch_add(&failing_calls, 1);
    return ERR_UNAVAILABLE;
}

/* The cursor key is read once at registration (a real store keeps it in a table that was
 * reachable then); a fixed key is enough for tests that never page. */
static int failing_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES])
{
    (void)r;
    memset(key, 0x5a, TASK_REPO_KEY_BYTES);
    return 0;
}

static int failing_ping(struct task_repo *r)
{
    (void)r;
    return ERR_UNAVAILABLE;
}

static void failing_free(struct task_repo *r)
{
    (void)r; /* static: nothing to release */
}

static const struct task_repo_ops failing_ops = {
    .name = "failing",
    .create = failing_create,
    .get = failing_get,
    .update = failing_update,
    .remove = failing_remove,
    .list = failing_list,
    .instance_key = failing_instance_key,
    .ping = failing_ping,
    .free = failing_free,
};

static struct task_repo failing_repo = {.ops = &failing_ops};

/* ------------------------------------------------------------------ the scope double */

/* Stands in for week 4's JWT middleware: the caller is whoever X-Test-User names (a positive
 * decimal id), made the request's owner through week 1's seam (scope_set_owner) as the real
 * middleware does; without the header the request stays anonymous (user 0). */
static int test_user_mw(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *v = http_req_header(req, "X-Test-User");
    if (v) {
        char *end = NULL;
        long long id = strtoll(v, &end, 10);
        /* No assertion here: this runs on a server thread. A failure shows as a 500. */
        if (end != v && *end == '\0' && id > 0 && scope_set_owner(req, id) != 0) {
            http_res_empty(res, 500);
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ the in-process server */

struct fixture {
    struct config *cfg;
    struct http_server *http;
    struct app *app;
    struct task_repo *repo; /* owned unless it is &failing_repo */
    char url[64];           /* "http://127.0.0.1:PORT" */
};

static struct fixture fx;

/* Stops in main.c's order: the server first (requests under way finish), then what the
 * handlers use. Idempotent: a test calls it at its end, atexit again when the process ends. */
static void fixture_stop(void)
{
    http_server_stop(fx.http);
    app_free(fx.app);
    http_server_free(fx.http);
    config_free(fx.cfg);
    if (fx.repo != &failing_repo)
        task_repo_free(fx.repo);
    fx = (struct fixture){0};
    clock_set(NULL);
}

/* Builds what main.c builds, with repo as the store (NULL: a fresh in-memory one) and, when
 * with_user_mw, the scope double in front of the handlers. The fake clock reads T0. */
static void fixture_start(struct task_repo *repo, bool with_user_mw)
{
    static bool registered;
    if (!registered)
        cr_assert_eq(atexit(fixture_stop), 0, "test bug: atexit failed");
    registered = true;
    signal(SIGPIPE, SIG_IGN); /* as main.c: a client that hangs up is an error code, not death */
    atomic_store(&fake_now, T0);
    clock_set(fake_clock);

    if (repo) {
        fx.repo = repo;
    } else {
        int rc = task_repo_memory_open("memory:", &fx.repo);
        cr_assert_eq(rc, 0, "expected task_repo_memory_open(\"memory:\") to succeed, got %d (%s)",
                     rc, err_str(rc));
    }
    /* The handlers under test read no settings, so the configuration stays empty; the server's
     * options are main.c's defaults written out, on a port the kernel picks. */
    fx.cfg = config_new();
    cr_assert_not_null(fx.cfg, "expected config_new to succeed");
    struct http_options opts = {
        .bind_address = "127.0.0.1",
        .port = 0,
        .mode = HTTP_MODE_POOL,
        .threads = 2,
        .max_body_bytes = 1048576,
        .max_header_bytes = 16384,
        .timeout_seconds = 15,
        .max_connections = 64,
    };
    fx.http = http_server_new(&opts);
    cr_assert_not_null(fx.http, "expected http_server_new on 127.0.0.1:0 to succeed");
    fx.app = app_new(fx.cfg, fx.http, 4, "0.0.0-test");
    cr_assert_not_null(fx.app, "expected app_new to succeed");
    if (with_user_mw) {
        struct http_middleware mw = {.name = "test-user", .on_request = test_user_mw};
        cr_assert_eq(http_use(fx.http, &mw), 0, "expected http_use to add the scope double");
    }
    int rc = task_http_register(fx.app, fx.repo);
    cr_assert_eq(rc, 0, "expected task_http_register to succeed, got %d (%s)", rc, err_str(rc));
    rc = http_server_start(fx.http);
    cr_assert_eq(rc, 0, "expected http_server_start to succeed, got %d (%s)", rc, err_str(rc));
    unsigned port = http_server_port(fx.http);
    cr_assert(port > 0, "expected the server to report the port it listens on, got 0");
    snprintf(fx.url, sizeof fx.url, "http://127.0.0.1:%u", port);
}

/* ------------------------------------------------------------------ a tiny HTTP client */

struct resp {
    long status;
    struct buf body;
    cJSON *json; /* the body parsed, or NULL when it is not JSON */
    char content_type[128];
    char retry_after[32];
    char what[160]; /* "GET /tasks as user 2", for messages */
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    return buf_append(b, data, size * n) == 0 ? size * n : 0;
}

static void copy_header(CURL *c, const char *name, char *out, size_t out_len)
{
    struct curl_header *h = NULL;
    out[0] = '\0';
    if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
        snprintf(out, out_len, "%s", h->value);
}

/* Sends method path (with a JSON body when body is not NULL) as user (0: no X-Test-User).
 * Fails the test on a transport error; the caller frees the answer with resp_free. */
static struct resp *request(const char *method, const char *path, int64_t user, const char *body)
{
    struct resp *r = calloc(1, sizeof *r);
    cr_assert_not_null(r, "test bug: out of memory");
    buf_init(&r->body);
    snprintf(r->what, sizeof r->what, "%s %s%s", method, path, user ? " as user " : "");
    if (user) {
        size_t used = strlen(r->what);
        snprintf(r->what + used, sizeof r->what - used, "%lld", (long long)user);
    }
    char url[256], user_header[64];
    snprintf(url, sizeof url, "%s%s", fx.url, path);
    snprintf(user_header, sizeof user_header, "X-Test-User: %lld", (long long)user);

    CURL *c = curl_easy_init();
    cr_assert_not_null(c, "test bug: curl_easy_init failed");
    struct curl_slist *headers = NULL, *more = NULL;
    if (user && (more = curl_slist_append(headers, user_header)))
        headers = more;
    if (body && (more = curl_slist_append(headers, "Content-Type: application/json")))
        headers = more;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        copy_header(c, "Content-Type", r->content_type, sizeof r->content_type);
        copy_header(c, "Retry-After", r->retry_after, sizeof r->retry_after);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    cr_assert_eq(cc, CURLE_OK, "expected an answer to %s, got a transport error: %s", r->what,
                 curl_easy_strerror(cc));
    cr_assert(!r->body.failed, "test bug: out of memory reading the body of %s", r->what);
    if (r->body.len > 0)
        r->json = cJSON_ParseWithLength(r->body.data, r->body.len);
    return r;
}

static void resp_free(struct resp *r)
{
    if (!r)
        return;
    cJSON_Delete(r->json);
    buf_free(&r->body);
    free(r);
}

static const char *body_of(const struct resp *r)
{
    return r->body.len > 0 ? r->body.data : "(empty)";
}

static void expect_status(const struct resp *r, long status)
{
    cr_assert_eq(r->status, status, "expected %s to answer %ld, got %ld with body %s", r->what,
                 status, r->status, body_of(r));
}

/* A string member of the JSON body, failing the test when it is missing. */
static const char *str_field(const struct resp *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, name);
    cr_assert(cJSON_IsString(v), "expected %s to answer a JSON object with string \"%s\", got %s",
              r->what, name, body_of(r));
    return v->valuestring;
}

static int64_t int_field(const struct resp *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, name);
    cr_assert(cJSON_IsNumber(v), "expected %s to answer a JSON object with number \"%s\", got %s",
              r->what, name, body_of(r));
    return (int64_t)v->valuedouble;
}

/* POSTs a task with this title at the current fake time and returns its id. */
static int64_t create_task(const char *title, int64_t user)
{
    char body[128];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", title);
    struct resp *r = request("POST", "/tasks", user, body);
    expect_status(r, 201);
    int64_t id = int_field(r, "id");
    resp_free(r);
    return id;
}

/* Checks that GET path answers 200 with exactly these ids in this order, in "items". */
static void expect_ids(const char *path, int64_t user, const int64_t *ids, size_t n)
{
    struct resp *r = request("GET", path, user, NULL);
    expect_status(r, 200);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
    cr_assert(cJSON_IsArray(items), "expected %s to answer {\"items\":[...]}, got %s", r->what,
              body_of(r));
    int count = cJSON_GetArraySize(items);
    cr_assert_eq((size_t)count, n, "expected %s to list %zu tasks, got %d: %s", r->what, n, count,
                 body_of(r));
    for (size_t i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, (int)i), "id");
        cr_assert(cJSON_IsNumber(id) && (int64_t)id->valuedouble == ids[i],
                  "expected item %zu of %s to be task %lld, got %s", i, r->what, (long long)ids[i],
                  body_of(r));
    }
    resp_free(r);
}

/* ------------------------------------------------------------------ the tests */

/* Catches a handler (or store) that stamps tasks with the wall clock instead of clock_now_us(),
 * drops or rounds the microseconds when rendering, bumps created_at on a change, or forgets to
 * bump updated_at or version. */
GRADED(handlers, timestamps_follow_the_fake_clock, 3)
{
    fixture_start(NULL, false);
    struct resp *r = request("POST", "/tasks", 0, "{\"title\":\"water the plants\"}");
    expect_status(r, 201);
    int64_t id = int_field(r, "id");
    cr_assert_str_eq(str_field(r, "created_at"), T0_TXT,
                     "expected created_at to be the fake clock's time %s, got %s", T0_TXT,
                     str_field(r, "created_at"));
    cr_assert_str_eq(str_field(r, "updated_at"), T0_TXT,
                     "expected updated_at of a new task to be %s, got %s", T0_TXT,
                     str_field(r, "updated_at"));
    cr_assert_eq(int_field(r, "version"), 1, "expected version 1 for a new task, got %lld",
                 (long long)int_field(r, "version"));
    resp_free(r);

    atomic_store(&fake_now, T0 + 90 * SEC);
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", (long long)id);
    r = request("PATCH", path, 0, "{\"title\":\"water the plants twice\"}");
    expect_status(r, 200);
    cr_assert_str_eq(str_field(r, "updated_at"), "2026-12-01T09:01:30.123456Z",
                     "expected updated_at 90 s later, 2026-12-01T09:01:30.123456Z, got %s",
                     str_field(r, "updated_at"));
    cr_assert_str_eq(str_field(r, "created_at"), T0_TXT,
                     "expected created_at to stay %s after a change, got %s", T0_TXT,
                     str_field(r, "created_at"));
    cr_assert_eq(int_field(r, "version"), 2, "expected version 2 after one change, got %lld",
                 (long long)int_field(r, "version"));
    resp_free(r);

    /* What was stored, not only what the PATCH answered. */
    r = request("GET", path, 0, NULL);
    expect_status(r, 200);
    cr_assert_str_eq(str_field(r, "updated_at"), "2026-12-01T09:01:30.123456Z",
                     "expected the stored updated_at to be 09:01:30.123456Z, got %s",
                     str_field(r, "updated_at"));
    resp_free(r);
    fixture_stop();
}

/* Tasks made at T+1 µs, T, T (ids 1, 2, 3): creation order is not created_at order, and two
 * tasks tie. Catches a listing in insertion order, a sort that ignores ties or breaks them the
 * wrong way, a handler that ignores sort=-created_at, and a cursor that loses the tie-break
 * between pages. */
GRADED(handlers, listing_orders_by_created_at_then_id, 2)
{
    fixture_start(NULL, false);
    atomic_store(&fake_now, T0 + 1);
    int64_t late = create_task("made a microsecond later", 0);
    atomic_store(&fake_now, T0);
    int64_t tie_a = create_task("first of the tie", 0);
    int64_t tie_b = create_task("second of the tie", 0);
    cr_assert(late < tie_a && tie_a < tie_b,
              "test bug: expected ids in creation order, got %lld, %lld, %lld", (long long)late,
              (long long)tie_a, (long long)tie_b);

    expect_ids("/tasks", 0, (int64_t[]){tie_a, tie_b, late}, 3);
    expect_ids("/tasks?sort=created_at", 0, (int64_t[]){tie_a, tie_b, late}, 3);
    expect_ids("/tasks?sort=-created_at", 0, (int64_t[]){late, tie_b, tie_a}, 3);

    /* A page boundary inside the tie: the cursor must carry the id. */
    struct resp *r = request("GET", "/tasks?limit=1", 0, NULL);
    expect_status(r, 200);
    char path[512];
    snprintf(path, sizeof path, "/tasks?limit=1&cursor=%s", str_field(r, "next_cursor"));
    resp_free(r);
    expect_ids(path, 0, (int64_t[]){tie_b}, 1);
    fixture_stop();
}

/* Catches a handler that builds its scope from anything but scope_from_req (a constant 0, a
 * forgotten scope on one route): user 2 must see nothing of user 1's, and change nothing. */
GRADED(handlers, every_route_is_scoped_to_the_caller, 3)
{
    fixture_start(NULL, true);
    int64_t id = create_task("user one's secret", 1);
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", (long long)id);

    struct resp *r = request("GET", path, 2, NULL);
    expect_status(r, 404);
    resp_free(r);
    r = request("PATCH", path, 2, "{\"title\":\"taken over\"}");
    expect_status(r, 404);
    resp_free(r);
    r = request("DELETE", path, 2, NULL);
    expect_status(r, 404);
    resp_free(r);
    expect_ids("/tasks", 2, NULL, 0);
    expect_ids("/tasks", 0, NULL, 0); /* anonymous is a scope too, not "everyone" */

    /* The owner still has it, untouched. */
    r = request("GET", path, 1, NULL);
    expect_status(r, 200);
    cr_assert_str_eq(str_field(r, "title"), "user one's secret",
                     "expected user 1's task to keep its title after user 2's attempts, got %s",
                     str_field(r, "title"));
    cr_assert_eq(int_field(r, "version"), 1,
                 "expected user 1's task to stay at version 1 after user 2's attempts, got %lld",
                 (long long)int_field(r, "version"));
    resp_free(r);
    expect_ids("/tasks", 1, (int64_t[]){id}, 1);
    fixture_stop();
}

/* Checks a 503 from the failing store: Retry-After and a problem+json body with status 503. */
static void expect_unavailable(const struct resp *r)
{
    cr_assert_eq(r->status, 503,
                 "expected %s to answer 503 when the store is unavailable, got %ld with %s",
                 r->what, r->status, body_of(r));
    cr_assert(r->retry_after[0] != '\0', "expected %s's 503 to carry Retry-After, it did not",
              r->what);
    cr_assert(strtol(r->retry_after, NULL, 10) > 0,
              "expected Retry-After of %s to be a positive number of seconds, got \"%s\"", r->what,
              r->retry_after);
    cr_assert(strncmp(r->content_type, "application/problem+json", 24) == 0,
              "expected %s's 503 to be application/problem+json, got \"%s\"", r->what,
              r->content_type);
    cr_assert_eq(int_field(r, "status"), 503, "expected the problem's status to be 503, got %s",
                 body_of(r));
    str_field(r, "title");
}

/* Catches a handler that maps a store outage to 500 (or 404: "no such task"), or forgets
 * Retry-After, on any route. The call count shows each answer came from the store's error. */
GRADED(handlers, an_unavailable_store_is_503_never_500, 2)
{
    fixture_start(&failing_repo, false);
    atomic_store(&failing_calls, 0);

    struct resp *r = request("GET", "/tasks/1", 0, NULL);
    expect_unavailable(r);
    resp_free(r);
    r = request("GET", "/tasks", 0, NULL);
    expect_unavailable(r);
    resp_free(r);
    r = request("POST", "/tasks", 0, "{\"title\":\"while the store is down\"}");
    expect_unavailable(r);
    resp_free(r);
    r = request("PATCH", "/tasks/1", 0, "{\"title\":\"while the store is down\"}");
    expect_unavailable(r);
    resp_free(r);
    r = request("DELETE", "/tasks/1", 0, NULL);
    expect_unavailable(r);
    resp_free(r);
    cr_assert_eq(atomic_load(&failing_calls), 5,
                 "expected each of the 5 requests to reach the store once, it was called %d times",
                 atomic_load(&failing_calls));

    /* The layer's own answers do not touch the store: still a 404 for a bad id. */
    r = request("GET", "/tasks/abc", 0, NULL);
    expect_status(r, 404);
    resp_free(r);
    fixture_stop();
}

/* Catches an off-by-one at the leeway's edge (`<` for `<=`), a leeway other than 30 s, or a
 * verifier that ignores exp — read with the fake clock the way auth_mw.c reads it, without
 * sleeping. */
GRADED(handlers, token_expiry_at_the_leeway_edge_with_a_fake_clock, 2)
{
    static const unsigned char key[] = "handler tests' HS256 key, longer than 32 bytes";
    atomic_store(&fake_now, T0);
    clock_set(fake_clock);
    int64_t t = clock_now_us() / SEC;
    struct jwt_claims c = {.sub = 7, .iat = t, .exp = t + 900};
    char *token = NULL;
    int rc = jwt_sign_hs256(key, sizeof key - 1, "taskd", &c, &token);
    cr_assert_eq(rc, 0, "expected jwt_sign_hs256 to sign, got %d (%s)", rc, err_str(rc));

    struct {
        int64_t at; /* seconds after iat */
        int want;
    } cases[] = {{0, 0}, {900, 0}, {900 + 29, 0}, {900 + 30, ERR_INVALID}, {900 + 31, ERR_INVALID}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        atomic_store(&fake_now, T0 + cases[i].at * SEC);
        struct jwt_claims got = {0};
        rc = jwt_verify_hs256(key, sizeof key - 1, "taskd", token, clock_now_us() / SEC, &got);
        cr_assert_eq(rc, cases[i].want,
                     "expected a token with exp = iat + 900 to be %s at iat + %lld s, got %d (%s)",
                     cases[i].want == 0 ? "accepted" : "refused", (long long)cases[i].at, rc,
                     err_str(rc));
        if (rc == 0)
            cr_assert_eq(got.sub, 7, "expected sub 7 from the verified token, got %lld",
                         (long long)got.sub);
    }
    free(token);
    clock_set(NULL);
}
