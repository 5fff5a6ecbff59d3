/* api_ready.c — black-box tests of GET /ready while the database is up (API.md "GET /ready" row
 * and "Settled details: Cache and readiness").
 *
 * /health (week 1) says the process answers; /ready says it can serve requests right now, which
 * from week 2 on means the database answers. A load balancer reads this body and status, so both
 * must be exactly as written: 200 {"status":"ready","checks":{"database":"ok"}} (plus, from
 * week 3, optional dependencies in checks). The route is a known path, so a wrong method is 405
 * with Allow, like /health. What /ready says when the database is gone is tested in api_outage.c,
 * on a cluster of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

GRADED(ready, ready_is_200_with_the_exact_body_when_the_database_is_up, 2)
{
    struct tk_response *r = tk_get(tk_shared(), "/ready");
    tk_expect_status(r, 200);
    cr_assert(r->json && cJSON_IsObject(r->json), "%s: expected a JSON object body, got: %.300s",
              r->what, r->body);
    /* Exactly {"status":"ready","checks":{...}} with "database":"ok". Later stages add optional
     * dependencies to checks (week 3: "redis", "memcached"), each "ok" or "down"; none of them
     * changes the status. */
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r->json, "status");
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(r->json, "checks");
    cr_assert(cJSON_GetArraySize(r->json) == 2 && cJSON_IsString(status) &&
                  strcmp(status->valuestring, "ready") == 0 && cJSON_IsObject(checks),
              "%s: expected exactly {\"status\":\"ready\",\"checks\":{...}} (no member more or "
              "less), got: %.300s",
              r->what, r->body);
    const char *db = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(checks, "database"));
    cr_assert(db && strcmp(db, "ok") == 0, "%s: expected checks.database \"ok\", got: %.300s",
              r->what, r->body);
    const cJSON *c = NULL;
    cJSON_ArrayForEach(c, checks)
    {
        const char *v = cJSON_GetStringValue(c);
        cr_assert(v && (strcmp(v, "ok") == 0 || strcmp(v, "down") == 0),
                  "%s: expected every check to be \"ok\" or \"down\", got %s: %.300s", r->what,
                  c->string, r->body);
    }
    tk_response_free(r);
}

GRADED(ready, ready_is_json_with_a_request_id, 1)
{
    struct tk_response *r = tk_get(tk_shared(), "/ready");
    tk_expect_status(r, 200);
    api_expect_json_type(r);
    char id[80];
    api_expect_sane_request_id(r, id, sizeof id);
    tk_expect_no_header(r, "Retry-After");
    tk_response_free(r);
}

GRADED(ready, ready_answers_the_same_every_time, 1)
{
    /* Readiness asks the database on every call: ten in a row on one keep-alive connection must
     * all be 200 (a pooled connection that is borrowed and not given back would run out here). */
    for (int i = 0; i < 10; i++) {
        struct tk_response *r = tk_get(tk_shared(), "/ready");
        cr_assert(r->status == 200, "%s (call %d of 10): expected 200, got %ld; body: %.300s",
                  r->what, i + 1, r->status, r->body);
        tk_expect_json_str(r, "status", "ready");
        tk_response_free(r);
    }
}

GRADED(ready, wrong_method_on_ready_is_405_with_allow_get, 1)
{
    struct tk_response *r = tk_post_json(tk_shared(), "/ready", "{}");
    api_expect_allow(r, (const char *const[]){"GET", NULL});
    tk_response_free(r);
    const char *methods[] = {"PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        r = tk_request(tk_shared(), methods[i], "/ready", NULL, NULL, 0);
        tk_expect_status(r, 405);
        char allow[128];
        cr_assert(tk_header(r, "Allow", allow, sizeof allow), "%s: expected an Allow header",
                  r->what);
        cr_assert(strcmp(allow, "GET") == 0, "%s: expected Allow: GET, got Allow: %s", r->what,
                  allow);
        tk_response_free(r);
    }
}

GRADED(ready, ready_has_no_trailing_slash_twin, 1)
{
    struct tk_response *r = tk_get(tk_shared(), "/ready/");
    tk_expect_problem(r, 404);
    tk_response_free(r);
}
