/* idempotency_http.c — the Idempotency-Key middleware (see idempotency_http.h). */
#include "idempotency_http.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "err.h"
#include "http.h"
#include "idempotency.h"
#include "locals.h"
#include "log.h"
#include "problem.h"
#include "scope_http.h"

/* The claim a request holds, from on_body to on_answer (freed there). */
struct idem_claim_state {
    int64_t owner;
    char key[IDEM_KEY_MAX + 1];
};

static const struct locals_key claim_key = {.name = "idempotency_claim"};

/* The routes whose repeats would write twice (API.md names these two). */
static bool covered(const struct http_req *req)
{
    const char *route = http_req_route(req);
    return route && strcmp(http_req_method(req), "POST") == 0 &&
           (strcmp(route, "/tasks") == 0 || strcmp(route, "/exports") == 0);
}

static void send_stored(struct http_res *res, const struct idem_answer *a)
{
    if (a->body_len || a->content_type)
        http_res_body(res, a->status, a->content_type ? a->content_type : "application/json",
                      a->body ? a->body : "", a->body_len);
    else
        http_res_empty(res, a->status);
    if (a->location)
        http_res_header(res, "Location", a->location);
    if (a->etag)
        http_res_header(res, "ETag", a->etag);
    http_res_header(res, "Idempotent-Replayed", "true");
}

static int on_body(struct http_req *req, struct http_res *res, void *ctx)
{
    struct pg_pool *pool = ctx;
    const char *key = http_req_header(req, "Idempotency-Key");
    if (!key || !covered(req))
        return 0;
    if (!idem_key_valid(key)) {
        problem_send(res, 400,
                     "Idempotency-Key must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -");
        return 1;
    }
    char hash[IDEM_HASH_HEX + 1];
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    int rc = idem_request_hash(http_req_method(req), http_req_path(req), body, len, hash);
    int64_t owner = scope_from_req(req).owner_id;
    enum idem_claim claim = IDEM_IN_PROGRESS;
    struct idem_answer stored;
    if (rc == 0)
        rc = idem_claim(pool, owner, key, hash, &claim, &stored);
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
        return 1;
    }
    switch (claim) {
    case IDEM_REPLAY:
        send_stored(res, &stored);
        idem_answer_free(&stored);
        return 1;
    case IDEM_IN_PROGRESS:
        problem_send(res, 409, "a request with this Idempotency-Key is still in progress");
        return 1;
    case IDEM_MISMATCH:
        problem_send(res, 422, "this Idempotency-Key was used with a different request");
        return 1;
    case IDEM_CLAIMED:
        break;
    }
    struct idem_claim_state *st = calloc(1, sizeof *st);
    if (st) {
        st->owner = owner;
        memcpy(st->key, key, strlen(key) + 1); /* checked: at most IDEM_KEY_MAX */
    }
    if (!st || locals_set(http_req_locals(req), &claim_key, st) != 0) {
        free(st);
        (void)idem_release(pool, owner, key);
        problem_send(res, 500, NULL);
        return 1;
    }
    return 0;
}

/* Stores the answer of a request that claimed a key, or releases the key after a 5xx. */
static void on_answer(struct http_req *req, struct http_res *res, void *ctx)
{
    struct pg_pool *pool = ctx;
    struct idem_claim_state *st = locals_get(http_req_locals(req), &claim_key);
    if (!st)
        return;
    (void)locals_set(http_req_locals(req), &claim_key, NULL);
    int status = http_res_status(res);
    int rc;
    /* A failed answer becomes the layer's 500: not stored either. */
    if (status >= 100 && status < 500 && !http_res_failed(res)) {
        struct idem_answer_view a = {
            .status = status,
            .content_type = http_res_get_header(res, "Content-Type"),
            .location = http_res_get_header(res, "Location"),
            .etag = http_res_get_header(res, "ETag"),
        };
        a.body = http_res_get_body(res, &a.body_len);
        rc = idem_complete(pool, st->owner, st->key, &a);
        if (rc != 0) /* not storable: free the key for a retry rather than 409 for a day */
            (void)idem_release(pool, st->owner, st->key);
    } else {
        rc = idem_release(pool, st->owner, st->key);
    }
    if (rc != 0)
        /* The answer still goes out. When even the release failed (the database is gone), the
         * key stays "in progress" (409) until it expires. */
        log_kv(
            LOG_WARN, "idempotency: could not record the answer",
            (struct log_kv[]){LOG_STR("request_id", http_req_id(req)), LOG_INT("status", status)},
            2);
    free(st);
}

int idempotency_http_use(struct app *app, struct pg_pool *pool)
{
    const struct http_middleware mw = {
        .name = "idempotency", .on_body = on_body, .on_answer = on_answer, .ctx = pool};
    return http_use(app_http(app), &mw);
}
