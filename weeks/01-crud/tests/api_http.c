/* api_http.c — black-box tests of routing, path ids, 405 with Allow, and X-Request-Id
 * (API.md "Conventions" and "Settled details: Item routes").
 *
 * Bad ids are tried with every method of the item route, and the leading-zero case uses a task
 * that really exists ("/tasks/0<id>"), so a server that parses ids with atoi/strtoll and finds the
 * row is caught. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

/* GET, PATCH (a valid body) and DELETE of path all answer a 404 problem. */
static void expect_404_for_every_method(const char *path)
{
    struct tk_response *r = tk_get(tk_shared(), path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
    r = tk_patch_json(tk_shared(), path, "{\"status\":\"done\"}");
    tk_expect_problem(r, 404);
    tk_response_free(r);
    r = tk_delete(tk_shared(), path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

static struct tk_response *send_with_request_id(const char *path, const char *request_id)
{
    char header[256];
    snprintf(header, sizeof header, "X-Request-Id: %s", request_id);
    return tk_request(tk_shared(), "GET", path, (const char *const[]){header, NULL}, NULL, 0);
}

/* The request id sent is replaced by a fresh, sane one. */
static void expect_request_id_replaced(const char *request_id)
{
    struct tk_response *r = send_with_request_id("/health", request_id);
    tk_expect_status(r, 200);
    char got[128];
    api_expect_sane_request_id(r, got, sizeof got);
    cr_assert(strcmp(got, request_id) != 0, "%s: expected the unsafe X-Request-Id \"%s\" replaced",
              r->what, request_id);
    tk_response_free(r);
}

/* ---- routes ---- */

GRADED(http, unknown_route_is_404_problem, 1)
{
    const char *paths[] = {"/nope", "/task", "/tasks/1/extra", "/healthz"};
    for (size_t i = 0; i < 4; i++) {
        struct tk_response *r = tk_get(tk_shared(), paths[i]);
        tk_expect_problem(r, 404);
        tk_response_free(r);
    }
    struct tk_response *r = tk_post_json(tk_shared(), "/nope", "{}");
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

GRADED(http, trailing_slash_is_404, 2)
{
    struct tk_response *r = tk_get(tk_shared(), "/tasks/");
    tk_expect_problem(r, 404);
    tk_response_free(r);
    r = tk_post_json(tk_shared(), "/tasks/", "{\"title\":\"slash\"}");
    tk_expect_problem(r, 404);
    tk_response_free(r);
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld/", api_new_task(tk_shared()));
    r = tk_get(tk_shared(), path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

GRADED(http, leading_zero_id_of_a_real_task_is_404, 3)
{
    char path[64], padded[64];
    long long id = api_new_task(tk_shared());
    snprintf(padded, sizeof padded, "/tasks/00%lld", id);
    expect_404_for_every_method(padded);
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 1); /* neither patched nor deleted through the padded id */
    tk_response_free(r);
}

GRADED(http, non_canonical_ids_are_404, 2)
{
    const char *ids[] = {"0", "-1", "1e3", "abc", "+1", "1.0", "0x1", "007"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/tasks/%s", ids[i]);
        expect_404_for_every_method(path);
    }
}

GRADED(http, ids_past_the_64_bit_range_are_404, 2)
{
    expect_404_for_every_method("/tasks/9223372036854775808");
    expect_404_for_every_method("/tasks/18446744073709551617");
    expect_404_for_every_method("/tasks/99999999999999999999999999");
}

GRADED(http, largest_64_bit_id_is_404_not_an_error, 2)
{
    expect_404_for_every_method("/tasks/9223372036854775807");
}

/* ---- 405 ---- */

GRADED(http, wrong_method_on_tasks_is_405_with_allow_get_post, 2)
{
    const char *methods[] = {"PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 3; i++) {
        struct tk_response *r = tk_request(tk_shared(), methods[i], "/tasks", NULL, NULL, 0);
        api_expect_allow(r, (const char *const[]){"GET", "POST", NULL});
        tk_response_free(r);
    }
}

GRADED(http, wrong_method_on_a_task_is_405_with_allow_get_patch_delete, 2)
{
    char path[64];
    api_task_path(api_new_task(tk_shared()), path, sizeof path);
    const char *methods[] = {"PUT", "POST"};
    for (size_t i = 0; i < 2; i++) {
        struct tk_response *r = tk_request(tk_shared(), methods[i], path, NULL, NULL, 0);
        api_expect_allow(r, (const char *const[]){"GET", "PATCH", "DELETE", NULL});
        tk_response_free(r);
    }
}

GRADED(http, wrong_method_on_health_is_405_with_allow_get, 1)
{
    struct tk_response *r = tk_post_json(tk_shared(), "/health", "{}");
    api_expect_allow(r, (const char *const[]){"GET", NULL});
    tk_response_free(r);
}

GRADED(http, head_is_405_with_allow, 2)
{
    struct tk_response *r = tk_request(tk_shared(), "HEAD", "/tasks", NULL, NULL, 0);
    tk_expect_status(r, 405);
    char allow[128];
    cr_assert(tk_header(r, "Allow", allow, sizeof allow), "%s: expected an Allow header", r->what);
    cr_assert(strstr(allow, "GET") && strstr(allow, "POST") && !strstr(allow, "HEAD"),
              "%s: expected Allow to list GET and POST only, got \"%s\"", r->what, allow);
    cr_assert(r->body_len == 0, "%s: a HEAD answer has no body, got %zu bytes", r->what,
              r->body_len);
    tk_response_free(r);
}

GRADED(http, options_is_405_with_allow, 2)
{
    char path[64];
    api_task_path(api_new_task(tk_shared()), path, sizeof path);
    struct tk_response *r = tk_request(tk_shared(), "OPTIONS", path, NULL, NULL, 0);
    api_expect_allow(r, (const char *const[]){"GET", "PATCH", "DELETE", NULL});
    tk_response_free(r);
    r = tk_request(tk_shared(), "OPTIONS", "/tasks", NULL, NULL, 0);
    api_expect_allow(r, (const char *const[]){"GET", "POST", NULL});
    tk_response_free(r);
}

/* ---- X-Request-Id ---- */

GRADED(http, echoes_a_sane_request_id, 1)
{
    struct tk_response *r = send_with_request_id("/health", "client-42.retry_1");
    tk_expect_status(r, 200);
    tk_expect_header(r, "X-Request-Id", "client-42.retry_1");
    tk_response_free(r);
}

GRADED(http, echoes_a_request_id_of_exactly_64_characters, 2)
{
    char *id = api_repeat("aB3.-_z9", 8);
    struct tk_response *r = send_with_request_id("/health", id);
    tk_expect_status(r, 200);
    tk_expect_header(r, "X-Request-Id", id);
    tk_response_free(r);
    free(id);
}

GRADED(http, replaces_a_request_id_of_65_characters, 2)
{
    char *id = api_repeat("a", 65);
    expect_request_id_replaced(id);
    free(id);
}

GRADED(http, replaces_a_request_id_with_unsafe_characters, 2)
{
    expect_request_id_replaced("two words");
    expect_request_id_replaced("caf\xc3\xa9");
    expect_request_id_replaced("a\"b");
    expect_request_id_replaced("{\"json\":1}");
}

GRADED(http, generates_a_fresh_request_id_when_none_is_sent, 1)
{
    char a[128], b[128];
    struct tk_response *r1 = tk_get(tk_shared(), "/health");
    struct tk_response *r2 = tk_get(tk_shared(), "/health");
    api_expect_sane_request_id(r1, a, sizeof a);
    api_expect_sane_request_id(r2, b, sizeof b);
    cr_assert(strcmp(a, b) != 0, "expected two requests to get two request ids, both got \"%s\"",
              a);
    tk_response_free(r1);
    tk_response_free(r2);
}

GRADED(http, every_kind_of_answer_carries_the_request_id, 2)
{
    const char *header = "X-Request-Id: trace-7";
    const char *const headers[] = {header, "Content-Type: application/json", NULL};
    char path[64];
    api_task_path(api_new_task(tk_shared()), path, sizeof path);
    struct {
        const char *method, *path, *body;
        long status;
    } cases[] = {
        {"POST", "/tasks", "{\"title\":\"rid\"}", 201},
        {"GET", path, NULL, 200},
        {"PATCH", path, "{\"title\":\"\"}", 422},
        {"POST", "/tasks", "{", 400},
        {"PUT", path, NULL, 405},
        {"GET", "/no/such/route", NULL, 404},
        {"DELETE", path, NULL, 204},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *body = cases[i].body;
        struct tk_response *r = tk_request(tk_shared(), cases[i].method, cases[i].path, headers,
                                           body, body ? strlen(body) : 0);
        tk_expect_status(r, cases[i].status);
        tk_expect_header(r, "X-Request-Id", "trace-7");
        tk_response_free(r);
    }
}

/* ---- problem bodies ---- */

/* One request per error status the week-1 server gives. */
static struct tk_response *error_answer(size_t i)
{
    char path[64];
    switch (i) {
    case 0:
        return tk_post_json(tk_shared(), "/tasks", "{\"title\":");
    case 1:
        return tk_get(tk_shared(), "/tasks/9223372036854775807");
    case 2:
        return tk_request(tk_shared(), "PUT", "/tasks", NULL, NULL, 0);
    case 3:
        return api_patch_if_match(tk_shared(), api_new_task(tk_shared()), "{}", "\"7\"");
    case 4: {
        char *big = api_repeat(" ", 2 * 1024 * 1024);
        struct tk_response *r =
            api_send(tk_shared(), "POST", "/tasks", "application/json", big, strlen(big), NULL);
        free(big);
        return r;
    }
    case 5:
        return api_send(tk_shared(), "POST", "/tasks", "text/plain", "{}", 2, NULL);
    case 6:
        return tk_patch_json(tk_shared(),
                             api_task_path(api_new_task(tk_shared()), path, sizeof path),
                             "{\"title\":\"\"}");
    default:
        return NULL;
    }
}

GRADED(http, about_blank_problems_use_the_reason_phrase_as_title, 2)
{
    const struct {
        long status;
        const char *titles[2];
    } want[] = {
        {400, {"Bad Request", NULL}},
        {404, {"Not Found", NULL}},
        {405, {"Method Not Allowed", NULL}},
        {412, {"Precondition Failed", NULL}},
        {413, {"Content Too Large", "Payload Too Large"}},
        {415, {"Unsupported Media Type", NULL}},
        {422, {"Unprocessable Content", "Unprocessable Entity"}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct tk_response *r = error_answer(i);
        tk_expect_problem(r, want[i].status);
        const char *type = tk_json_str(r, "type");
        const char *title = tk_json_str(r, "title");
        if (strcmp(type, "about:blank") == 0)
            cr_assert(strcmp(title, want[i].titles[0]) == 0 ||
                          (want[i].titles[1] && strcmp(title, want[i].titles[1]) == 0),
                      "%s: an about:blank problem's title should be \"%s\", got \"%s\"", r->what,
                      want[i].titles[0], title);
        tk_response_free(r);
    }
}

GRADED(http, error_bodies_do_not_leak_internals, 2)
{
    const char *leaks[] = {"sqlite", "select ", "insert ", "update tasks",
                           "/tmp/",  "/work/",  ".c:",     "syntax error"};
    for (size_t i = 0; i < 7; i++) {
        struct tk_response *r = error_answer(i);
        for (size_t k = 0; k < sizeof leaks / sizeof leaks[0]; k++)
            cr_assert(!strcasestr(r->body, leaks[k]),
                      "%s: the %ld answer should not mention \"%s\": %.300s", r->what, r->status,
                      leaks[k], r->body);
        tk_response_free(r);
    }
}
