/* api_order.c — black-box tests of the order in which a write's checks apply (API.md "Settled
 * details": 404 path id → 415 → 413 → 400 → 422 → 404 no such row → 412).
 *
 * Each request breaks two adjacent rules at once, so exactly one answer is right: a server that
 * checks in another order answers with the other status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

#define MIB (1024 * 1024)

/* An id with valid syntax and no row behind it. */
#define MISSING "/tasks/9223372036854775807"

static void expect_answer(const char *method, const char *path, const char *content_type,
                          const char *body, size_t len, const char *extra, long status)
{
    struct tk_response *r = api_send(tk_shared(), method, path, content_type, body, len, extra);
    tk_expect_problem(r, status);
    tk_response_free(r);
}

GRADED(http, bad_path_id_comes_before_content_type, 3)
{
    const char *body = "{\"title\":\"x\"}";
    expect_answer("PATCH", "/tasks/abc", "text/plain", body, strlen(body), NULL, 404);
    expect_answer("PATCH", "/tasks/007", NULL, body, strlen(body), NULL, 404);
}

GRADED(http, content_type_comes_before_body_size, 3)
{
    char *big = api_repeat("x", 2 * MIB);
    expect_answer("POST", "/tasks", "text/plain", big, 2 * MIB, NULL, 415);
    free(big);
}

GRADED(http, body_size_comes_before_malformed_json, 2)
{
    char *big = api_repeat("{", 2 * MIB);
    expect_answer("POST", "/tasks", "application/json", big, 2 * MIB, NULL, 413);
    free(big);
}

GRADED(http, malformed_json_comes_before_rule_checks, 2)
{
    const char *body = "{\"title\":\"\",\"status\":\"nope\"} trailing";
    expect_answer("POST", "/tasks", "application/json", body, strlen(body), NULL, 400);
}

GRADED(http, malformed_json_comes_before_a_missing_row, 2)
{
    const char *body = "{\"status\":";
    expect_answer("PATCH", MISSING, "application/json", body, strlen(body), NULL, 400);
}

GRADED(http, content_type_comes_before_a_missing_row, 2)
{
    const char *body = "{\"status\":\"done\"}";
    expect_answer("PATCH", MISSING, "text/plain", body, strlen(body), NULL, 415);
}

GRADED(http, rule_checks_come_before_a_missing_row, 3)
{
    const char *body = "{\"title\":\"\"}";
    struct tk_response *r =
        api_send(tk_shared(), "PATCH", MISSING, "application/json", body, strlen(body), NULL);
    api_expect_invalid_only(r, "title");
    tk_response_free(r);
}

GRADED(http, missing_row_comes_before_if_match, 2)
{
    const char *body = "{\"status\":\"done\"}";
    expect_answer("PATCH", MISSING, "application/json", body, strlen(body), "If-Match: \"1\"", 404);
    expect_answer("DELETE", MISSING, NULL, NULL, 0, "If-Match: \"1\"", 404);
    expect_answer("PATCH", MISSING, "application/json", body, strlen(body), "If-Match: *", 404);
}

GRADED(http, rule_checks_come_before_if_match, 3)
{
    long long id = api_new_task(tk_shared());
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{\"priority\":\"x\"}", "\"99\"");
    api_expect_invalid_only(r, "priority");
    tk_response_free(r);
}
