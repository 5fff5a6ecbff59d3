/* unit_locals.c — a request's typed values (locals.h) and the owner seam built on them
 * (scope_http.h).
 *
 * The table itself is tested directly: keys are told apart by address, never by name, unset
 * keys read as NULL / 0, and the fixed size is a clear ERR_NOMEM, not a silent overwrite. Then
 * the whole path runs in-process over HTTP: a middleware sets the owner, the handler reads its
 * scope and notes a value through scope.locals (as a repository decorator would), and an
 * on_answer middleware turns the note into a header — with nothing left over for the next
 * request on the same connection. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "locals.h"
#include "scope_http.h"
#include "testkit.h"

static const struct locals_key key_a = {.name = "a"};
static const struct locals_key key_b = {.name = "a"}; /* same name, another key */

/* ------------------------------------------------------------------ the table */

GRADED(locals, values_are_found_by_key_identity_and_replaced_in_place, 1)
{
    struct locals l = {0};
    static int target;
    cr_assert_eq(locals_set(&l, &key_a, &target), 0, "expected set of key a to succeed");
    cr_assert_eq(locals_set_int(&l, &key_b, -42), 0, "expected set_int of key b to succeed");
    cr_assert_eq(locals_get(&l, &key_a), &target, "expected key a's pointer back");
    cr_assert_null(locals_get(&l, &key_b),
                   "expected key b (same name as a) to hold no pointer: keys are addresses");
    cr_assert_eq(locals_get_int(&l, &key_b), -42, "expected key b's integer back, got %lld",
                 (long long)locals_get_int(&l, &key_b));
    cr_assert_eq(locals_set_int(&l, &key_b, 7), 0, "expected a second set of key b to succeed");
    cr_assert_eq(locals_get_int(&l, &key_b), 7, "expected the replaced value 7, got %lld",
                 (long long)locals_get_int(&l, &key_b));
    cr_assert_eq(locals_count(&l), 2, "expected 2 keys after replacing one, got %zu",
                 locals_count(&l));
    cr_assert(locals_key_at(&l, 0) == &key_a && locals_key_at(&l, 1) == &key_b &&
                  locals_key_at(&l, 2) == NULL,
              "expected the keys listed in the order they were set, then NULL");
}

GRADED(locals, an_unknown_key_or_no_table_reads_as_nothing, 1)
{
    struct locals l = {0};
    cr_assert_null(locals_get(&l, &key_a), "expected NULL for a key never set");
    cr_assert_eq(locals_get_int(&l, &key_a), 0, "expected 0 for a key never set");
    cr_assert_eq(locals_set_int(&l, &key_b, 1), 0, "expected set_int to succeed");
    cr_assert_null(locals_get(&l, &key_a), "expected NULL for a key never set beside another");
    cr_assert_null(locals_get(NULL, &key_a), "expected NULL from no table at all");
    cr_assert_eq(locals_get_int(NULL, &key_a), 0, "expected 0 from no table at all");
    cr_assert_eq(locals_count(NULL), 0, "expected no keys in no table");
    cr_assert_eq(locals_set(NULL, &key_a, NULL), ERR_INVALID, "expected ERR_INVALID for no table");
    cr_assert_eq(locals_set(&l, NULL, NULL), ERR_INVALID, "expected ERR_INVALID for no key");
}

GRADED(locals, a_full_table_is_err_nomem_and_keeps_what_it_has, 2)
{
    static struct locals_key keys[LOCALS_MAX + 1];
    struct locals l = {0};
    for (int i = 0; i < LOCALS_MAX; i++)
        cr_assert_eq(locals_set_int(&l, &keys[i], i + 100), 0, "expected key %d of %d to fit",
                     i + 1, LOCALS_MAX);
    int rc = locals_set_int(&l, &keys[LOCALS_MAX], 1);
    cr_assert_eq(rc, ERR_NOMEM, "expected ERR_NOMEM for key %d of a table of %d, got %d (%s)",
                 LOCALS_MAX + 1, LOCALS_MAX, rc, err_str(rc));
    cr_assert_eq(locals_get_int(&l, &keys[LOCALS_MAX]), 0, "expected the refused key unset");
    cr_assert_eq(locals_set_int(&l, &keys[0], 5), 0,
                 "expected a key already in a full table to be replaced, not refused");
    for (int i = 0; i < LOCALS_MAX; i++)
        cr_assert_eq(locals_get_int(&l, &keys[i]), i == 0 ? 5 : i + 100,
                     "expected key %d to keep its value in the full table", i + 1);
}

/* ------------------------------------------------------------------ through a request */

/* Set by the handler through the scope, read back by the on_answer middleware. */
static const struct locals_key noted_key = {.name = "noted"};

static int owner_from_header(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *v = http_req_header(req, "X-Owner");
    if (v && scope_set_owner(req, strtoll(v, NULL, 10)) != 0) {
        http_res_empty(res, 500); /* no assertion here: this runs on a server thread */
        return 1;
    }
    return 0;
}

static void probe(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    struct scope sc = scope_from_req(req);
    char body[64];
    int n = snprintf(body, sizeof body, "owner=%lld", (long long)sc.owner_id);
    if (locals_set_int(sc.locals, &noted_key, sc.owner_id + 1) != 0)
        n = snprintf(body, sizeof body, "could not note");
    http_res_body(res, 200, "text/plain", body, (size_t)n);
}

static void send_noted(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const struct locals *l = http_req_locals_const(req);
    if (locals_count(l) == 0)
        return;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)locals_get_int(l, &noted_key));
    http_res_header(res, "X-Noted", v);
}

struct answer {
    long status;
    char body[128];
    char noted[32]; /* X-Noted, "" when absent */
};

/* GET base+path on the handle curl (reused: one keep-alive connection), with X-Owner when
 * owner is not NULL; the body and the headers collected by the kit's tk_curl_collect. */
static struct answer get(CURL *curl, const char *base, const char *path, const char *owner)
{
    struct answer a = {0};
    char url[128], hdr[64];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct curl_slist *h = NULL;
    if (owner) {
        snprintf(hdr, sizeof hdr, "X-Owner: %s", owner);
        h = curl_slist_append(NULL, hdr);
        cr_assert_not_null(h, "test bug: curl_slist_append failed");
    }
    struct buf body = BUF_INIT, head = BUF_INIT;
    tk_curl_collect(curl, url, h, &body, &head);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    cr_assert_eq(rc, CURLE_OK, "GET %s: %s", path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    snprintf(a.body, sizeof a.body, "%s", body.data ? body.data : "");
    const struct tk_response r = {.headers = head.data};
    if (!tk_header(&r, "X-Noted", a.noted, sizeof a.noted))
        a.noted[0] = '\0';
    buf_free(&body);
    buf_free(&head);
    return a;
}

GRADED(locals, carry_the_owner_and_a_note_through_one_request_only, 2)
{
    signal(SIGPIPE, SIG_IGN);
    struct http_options opts = {.bind_address = "127.0.0.1",
                                .mode = HTTP_MODE_POOL,
                                .threads = 2,
                                .max_body_bytes = 1024,
                                .max_header_bytes = 8192,
                                .timeout_seconds = 10,
                                .max_connections = 8};
    struct http_server *s = http_server_new(&opts);
    cr_assert_not_null(s, "expected http_server_new to succeed");
    const struct http_middleware owner_mw = {.name = "owner", .on_request = owner_from_header};
    const struct http_middleware noted_mw = {.name = "noted", .on_answer = send_noted};
    cr_assert(http_use(s, &owner_mw) == 0 && http_use(s, &noted_mw) == 0,
              "expected both middleware to be added");
    cr_assert_eq(http_route(s, "GET", "/probe", probe, NULL, 0), 0, "expected the route");
    cr_assert_eq(http_server_start(s), 0, "expected the server to start");
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", http_server_port(s));
    CURL *curl = curl_easy_init();
    cr_assert_not_null(curl, "test bug: curl_easy_init failed");

    struct answer a = get(curl, base, "/probe", "42");
    cr_assert(a.status == 200 && strcmp(a.body, "owner=42") == 0,
              "expected 200 \"owner=42\" (the middleware's owner in the handler's scope), got "
              "%ld \"%s\"",
              a.status, a.body);
    cr_assert_str_eq(a.noted, "43",
                     "expected X-Noted: 43 (noted through scope.locals, sent by on_answer), "
                     "got \"%s\"",
                     a.noted);
    a = get(curl, base, "/probe", NULL);
    cr_assert(a.status == 200 && strcmp(a.body, "owner=0") == 0,
              "expected the next request on the connection to be anonymous again (\"owner=0\"), "
              "got %ld \"%s\"",
              a.status, a.body);
    cr_assert_str_eq(a.noted, "1", "expected X-Noted: 1 for owner 0, got \"%s\"", a.noted);
    a = get(curl, base, "/nowhere", "42");
    cr_assert(a.status == 404 && a.noted[0] == '\0',
              "expected the layer's 404 with no X-Noted (nothing noted), got %ld X-Noted \"%s\"",
              a.status, a.noted);

    curl_easy_cleanup(curl);
    http_server_stop(s);
    http_server_free(s);
}
