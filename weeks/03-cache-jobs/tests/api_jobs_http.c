/* api_jobs_http.c — black-box tests of the job routes while no worker runs (API.md week-3 rows:
 * POST /exports, GET /jobs/{id}, GET /exports/{id}.csv).
 *
 * An export takes a while, so POST /exports answers 202 Accepted at once with where to watch the
 * job (Location: /jobs/<id>), and the CSV appears at /exports/<id>.csv once a worker has done
 * it. No worker runs against these servers (taskd-worker is tested in api_jobs_worker.c), so
 * every job here stays queued: that is exactly the state a client sees first, and the one in
 * which the CSV must not exist yet. The request body is optional and takes no options: nothing,
 * or {} as JSON; anything else is refused in the usual order (415, 400, 422) before a job is
 * made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "api_w3_helpers.h"
#include "testkit.h"

#define SHOWN 300 /* body characters quoted in a failure message */

/* The object has exactly these members (NULL-terminated), in any order. */
static void expect_members_exactly(const struct tk_response *r, const char *const *names)
{
    cr_assert(cJSON_IsObject(r->json), "%s: expected a JSON object body, got: %.*s", r->what, SHOWN,
              r->body);
    int n = 0;
    for (; names[n]; n++)
        cr_assert(cJSON_HasObjectItem(r->json, names[n]), "%s: expected a member \"%s\", got: %.*s",
                  r->what, names[n], SHOWN, r->body);
    cr_assert(cJSON_GetArraySize(r->json) == n,
              "%s: expected exactly %d members (no more), got %d: %.*s", r->what, n,
              cJSON_GetArraySize(r->json), SHOWN, r->body);
}

/* Checks a 202 of POST /exports and returns the job's id. */
static long long expect_export_accepted(const struct tk_response *r)
{
    cr_assert(r->status == 202, "%s: expected 202 Accepted, got %ld: %.*s", r->what, r->status,
              SHOWN, r->body);
    api_expect_json_type(r);
    expect_members_exactly(r, (const char *const[]){"id", "type", "status", NULL});
    long long id = tk_json_int(r, "id");
    cr_assert(id > 0, "%s: expected a positive job id, got %lld", r->what, id);
    tk_expect_json_str(r, "type", "export");
    tk_expect_json_str(r, "status", "queued");
    char want[64], got[256];
    snprintf(want, sizeof want, "/jobs/%lld", id);
    const char *loc = tk_header(r, "Location", got, sizeof got);
    cr_assert(loc && strcmp(loc, want) == 0,
              "%s: expected Location: %s (the job's id %lld), got %s", r->what, want, id,
              loc ? loc : "none");
    return id;
}

/* POST /exports with this body and Content-Type (either may be NULL: none is sent). */
static struct tk_response *post_export(struct tk_server *s, const char *content_type,
                                       const char *body)
{
    return api_send(s, "POST", "/exports", content_type, body, body ? strlen(body) : 0, NULL);
}

/* A new export job on s (no body); its id. */
static long long new_export(struct tk_server *s)
{
    struct tk_response *r = post_export(s, NULL, NULL);
    long long id = expect_export_accepted(r);
    tk_response_free(r);
    return id;
}

/* One POST /exports request: its Content-Type (NULL: none) and body. */
struct export_case {
    const char *content_type;
    const char *body;
};

/* POSTs c to /exports and asserts the status is want; the caller frees the response. */
static struct tk_response *post_export_expect(struct tk_server *s, struct export_case c, long want)
{
    struct tk_response *r = post_export(s, c.content_type, c.body);
    cr_assert(r->status == want,
              "POST /exports with Content-Type %s and body '%s': expected %ld, got %ld: %.*s",
              c.content_type ? c.content_type : "(none)", c.body, want, r->status, SHOWN, r->body);
    return r;
}

/* POSTs c to /exports and asserts it is refused with a problem of status want and no job. */
static void expect_export_refused(struct tk_server *s, struct export_case c, long want)
{
    struct tk_response *r = post_export_expect(s, c, want);
    tk_expect_problem(r, want);
    tk_expect_no_header(r, "Location");
    tk_response_free(r);
}

/* GET /jobs/<id>: 200 with the whole job, still queued. */
static void expect_job_queued(struct tk_server *s, const char *path, long long id)
{
    tk_need_local("no worker beside the service (a deployed one runs taskd-worker, which may "
                  "take the job at once)");
    struct tk_response *r = tk_get(s, path);
    cr_assert(r->status == 200, "%s: expected 200, got %ld: %.*s", r->what, r->status, SHOWN,
              r->body);
    api_expect_json_type(r);
    expect_members_exactly(r,
                           (const char *const[]){"id", "type", "status", "attempts", "error",
                                                 "result_url", "created_at", "updated_at", NULL});
    tk_expect_json_int(r, "id", id);
    tk_expect_json_str(r, "type", "export");
    tk_expect_json_str(r, "status", "queued");
    tk_expect_json_int(r, "attempts", 0);
    tk_expect_json_null(r, "error");
    tk_expect_json_null(r, "result_url");
    long long created_s, updated_s;
    long created_ns, updated_ns;
    const char *created = tk_json_str(r, "created_at"), *updated = tk_json_str(r, "updated_at");
    cr_assert(api_parse_utc(created, &created_s, &created_ns),
              "%s: expected created_at as RFC 3339 in UTC with Z, got \"%s\"", r->what, created);
    cr_assert(api_parse_utc(updated, &updated_s, &updated_ns),
              "%s: expected updated_at as RFC 3339 in UTC with Z, got \"%s\"", r->what, updated);
    cr_assert(updated_s > created_s || (updated_s == created_s && updated_ns >= created_ns),
              "%s: expected updated_at (%s) not before created_at (%s)", r->what, updated, created);
    tk_response_free(r);
}

/* ---- POST /exports ---- */

GRADED(jobs_http, post_exports_is_202_with_location_and_the_queued_job, 2)
{
    struct tk_server *s = tk_shared();
    struct tk_response *r = post_export(s, NULL, NULL);
    long long id = expect_export_accepted(r);
    char location[256];
    tk_header(r, "Location", location, sizeof location);
    tk_response_free(r);
    expect_job_queued(s, location, id);

    long long other = new_export(s);
    cr_assert(other != id, "POST /exports twice: expected two jobs, got the id %lld both times",
              id);
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld", other);
    expect_job_queued(s, path, other);
    expect_job_queued(s, location, id); /* the first one is still there, still queued */
}

GRADED(jobs_http, post_exports_accepts_no_body_or_an_empty_object, 1)
{
    struct tk_server *s = tk_shared();
    static const struct export_case ok[] = {
        {NULL, ""},                 /* Content-Length: 0 */
        {"application/json", ""},   /* a JSON type, but nothing sent */
        {"text/plain", ""},         /* no body: its type does not matter */
        {"application/json", "{}"}, /* the one body there is */
        {"application/json; charset=utf-8", " { } "},
        {"Application/JSON;charset=\"UTF-8\"", "{}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct tk_response *r = post_export_expect(s, ok[i], 202);
        long long id = expect_export_accepted(r);
        tk_response_free(r);
        char path[64];
        snprintf(path, sizeof path, "/jobs/%lld", id);
        expect_job_queued(s, path, id);
    }
}

GRADED(jobs_http, post_exports_with_a_body_that_is_not_json_is_415, 1)
{
    struct tk_server *s = tk_shared();
    static const struct export_case bad[] = {
        {NULL, "{}"},
        {"text/plain", "{}"},
        {"application/x-www-form-urlencoded", "format=csv"},
        {"application/json; charset=latin1", "{}"},
        {"application/jsonx", "{}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_export_refused(s, bad[i], 415);
    }
}

GRADED(jobs_http, post_exports_with_malformed_json_or_not_an_object_is_400, 1)
{
    struct tk_server *s = tk_shared();
    static const char *const bad[] = {"{",    "{}x", "{\"a\":}", "[]",   "[{}]",          "\"{}\"",
                                      "null", "0",   "true",     "{}{}", "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_export_refused(s, (struct export_case){"application/json", bad[i]}, 400);
    }
}

GRADED(jobs_http, post_exports_with_members_is_422_naming_each, 1)
{
    struct tk_server *s = tk_shared();
    struct tk_response *r = post_export(s, "application/json", "{\"format\":\"csv\"}");
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(r, (const char *const[]){"format", NULL});
    tk_expect_no_header(r, "Location");
    tk_response_free(r);

    r = post_export(s, "application/json", "{\"status\":\"done\",\"id\":7,\"tags\":[]}");
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(r, (const char *const[]){"status", "id", "tags", NULL});
    tk_response_free(r);
}

GRADED(jobs_http, a_refused_export_request_makes_no_job, 1, .fini = w3_private_fini)
{
    /* A database of its own, so ids are consecutive: a job made for a refused request would
     * show as a gap between the two accepted ones. */
    struct tk_server *s = w3_private(NULL);
    long long first = new_export(s);
    struct {
        const char *content_type;
        const char *body;
        long status;
    } refused[] = {
        {"text/plain", "{}", 415},
        {"application/json", "[]", 400},
        {"application/json", "{\"format\":\"csv\"}", 422},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct tk_response *r = post_export(s, refused[i].content_type, refused[i].body);
        tk_expect_problem(r, refused[i].status);
        tk_response_free(r);
    }
    long long next = new_export(s);
    cr_assert(next == first + 1,
              "POST /exports, three refused POST /exports, POST /exports on a new database: "
              "expected job ids %lld then %lld, got %lld then %lld (a refused request made a "
              "job?)",
              first, first + 1, first, next);
}

/* ---- GET /jobs/{id} ---- */

GRADED(jobs_http, get_job_of_an_unknown_id_is_404, 1)
{
    struct tk_server *s = tk_shared();
    static const char *const paths[] = {"/jobs/999999", "/jobs/9223372036854775807",
                                        "/jobs/0",      "/jobs/007",
                                        "/jobs/-1",     "/jobs/abc",
                                        "/jobs/1e3",    "/jobs/99999999999999999999",
                                        "/jobs/",       "/jobs/1/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct tk_response *r = tk_get(s, paths[i]);
        tk_expect_problem(r, 404);
        tk_response_free(r);
    }
}

/* ---- GET /exports/{id}.csv ---- */

GRADED(jobs_http, export_csv_is_404_while_its_job_is_queued, 1)
{
    tk_need_local("no worker beside the service (a deployed one runs taskd-worker, which may "
                  "finish the export at once)");
    struct tk_server *s = tk_shared();
    long long id = new_export(s);
    char path[64];
    snprintf(path, sizeof path, "/exports/%lld.csv", id);
    for (int i = 0; i < 2; i++) {
        struct tk_response *r = tk_get(s, path);
        cr_assert(r->status == 404,
                  "%s while job %lld is queued (no worker runs): expected 404, got %ld: %.*s",
                  r->what, id, r->status, SHOWN, r->body);
        tk_expect_problem(r, 404);
        tk_expect_no_header(r, "Content-Disposition");
        tk_response_free(r);
    }
    struct tk_response *r = tk_get(s, "/exports/999999.csv");
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

GRADED(jobs_http, malformed_export_names_are_404, 1)
{
    struct tk_server *s = tk_shared();
    long long id = new_export(s);
    static const char *const names[] = {"01.csv",  "1.csvx", "abc.csv", "0.csv",
                                        "-1.csv",  ".csv",   "1.CSV",   "1.csv.csv",
                                        "1e3.csv", "1",      "1.",      "99999999999999999999.csv"};
    /* The queued job's own id, mangled: what comes before and after it. */
    static const char *const around[][2] = {{"", ""},      {"0", ".csv"},   {"", "."},
                                            {"", ".cs"},   {"", ".csvx"},   {"", ".csv/"},
                                            {"+", ".csv"}, {"", ".csv.csv"}};
    size_t n_names = sizeof names / sizeof names[0], n_around = sizeof around / sizeof around[0];
    for (size_t i = 0; i < n_names + n_around; i++) {
        char path[128];
        if (i < n_names)
            snprintf(path, sizeof path, "/exports/%s", names[i]);
        else
            snprintf(path, sizeof path, "/exports/%s%lld%s", around[i - n_names][0], id,
                     around[i - n_names][1]);
        struct tk_response *r = tk_get(s, path);
        cr_assert(r->status == 404, "%s: expected 404 (not a <job id>.csv name), got %ld: %.*s",
                  r->what, r->status, SHOWN, r->body);
        tk_expect_problem(r, 404);
        tk_response_free(r);
    }
}

GRADED(jobs_http, an_export_name_with_an_encoded_nul_or_slash_is_never_the_csv, 1)
{
    /* Routing uses the path as sent (API.md "Item routes"): decoded first, "1.csv%00.txt" was
     * "1.csv" to every C string after the NUL, and "%2F" split a segment. */
    struct tk_server *s = tk_shared();
    long long id = new_export(s);
    char path[128];
    snprintf(path, sizeof path, "/exports/%lld.csv%%00.txt", id);
    struct tk_response *r = tk_get(s, path);
    tk_expect_problem(r, 400);
    tk_response_free(r);
    snprintf(path, sizeof path, "/exports%%2F%lld.csv", id);
    r = tk_get(s, path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

/* ---- methods ---- */

GRADED(jobs_http, wrong_methods_are_405_with_allow, 1)
{
    struct tk_server *s = tk_shared();
    long long id = new_export(s);
    char job[64], csv[64];
    snprintf(job, sizeof job, "/jobs/%lld", id);
    snprintf(csv, sizeof csv, "/exports/%lld.csv", id);
    struct {
        const char *method;
        const char *path;
        const char *allow;
    } cases[] = {
        {"GET", "/exports", "POST"},   {"PUT", "/exports", "POST"}, {"DELETE", "/exports", "POST"},
        {"PATCH", "/exports", "POST"}, {"POST", job, "GET"},        {"PUT", job, "GET"},
        {"PATCH", job, "GET"},         {"DELETE", job, "GET"},      {"POST", csv, "GET"},
        {"DELETE", csv, "GET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tk_response *r = tk_request(s, cases[i].method, cases[i].path, NULL, NULL, 0);
        api_expect_allow(r, (const char *const[]){cases[i].allow, NULL});
        tk_response_free(r);
    }
    /* A refused DELETE changed nothing. */
    expect_job_queued(s, job, id);
}
