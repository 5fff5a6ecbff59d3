/* api_crud.c — black-box tests of the task lifecycle: create, read, update, delete (API.md,
 * week-1 rows).
 *
 * Each test makes its own tasks on the suite's shared server and never assumes which ids exist:
 * the same tests run again on later stages, against PostgreSQL, with other suites' rows around. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "testkit.h"

/* An id that surely does not exist on this server: one that was created and then deleted. */
static long long gone_id(struct tk_server *s)
{
    long long id = api_new_task(s);
    char path[64];
    struct tk_response *r = tk_delete(s, api_task_path(id, path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);
    return id;
}

/* `method` (with a status change as the body, for PATCH) on an id that no longer exists: a 404
 * problem. */
static void expect_gone(const char *method)
{
    char path[64];
    api_task_path(gone_id(tk_shared()), path, sizeof path);
    const char *json = strcmp(method, "PATCH") == 0 ? "{\"status\":\"done\"}" : NULL;
    struct tk_response *r = api_send(tk_shared(), method, path, json ? "application/json" : NULL,
                                     json, json ? strlen(json) : 0, NULL);
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

/* Creates a task whose title is unique (from stem, into title) with the JSON members `more`,
 * then PATCHes it with patch: 200. Returns the PATCH's response (path: the task's path). */
static struct tk_response *patched(const char *stem, const char *more, const char *patch,
                                   char title[96], char path[64], long long *id_out)
{
    char body[256];
    snprintf(body, sizeof body, "{\"title\":\"%s\"%s}", tk_unique(stem, title, 96), more);
    long long id = tk_create_task(tk_shared(), body);
    struct tk_response *r = tk_patch_json(tk_shared(), api_task_path(id, path, 64), patch);
    tk_expect_status(r, 200);
    if (id_out)
        *id_out = id;
    return r;
}

/* r answered 200 with ETag etag and the very task `want` holds (`what` names it); frees both. */
static void expect_same_task(struct tk_response *r, const char *etag, struct tk_response *want,
                             const char *what)
{
    tk_expect_status(r, 200);
    tk_expect_header(r, "ETag", etag);
    cr_assert(r->json && cJSON_Compare(r->json, want->json, true), "%s: expected %s (%s), got %s",
              r->what, what, want->body, r->body);
    tk_response_free(want);
    tk_response_free(r);
}

GRADED(crud, health_answers_200_status_ok, 1)
{
    struct tk_response *r = tk_get(tk_shared(), "/health");
    tk_expect_status(r, 200);
    api_expect_json_type(r);
    tk_expect_json_str(r, "status", "ok");
    char rid[80];
    api_expect_sane_request_id(r, rid, sizeof rid);
    tk_response_free(r);
}

GRADED(crud, create_returns_201_location_etag_and_the_task_with_defaults, 2)
{
    char title[96], body[160], location[64], want_location[64];
    tk_unique("create", title, sizeof title);
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", title);
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_json_type(r);
    api_expect_task(r, &(struct api_task_want){.title = title});
    long long id = tk_json_int(r, "id");
    cr_assert(tk_header(r, "Location", location, sizeof location), "%s: expected a Location header",
              r->what);
    cr_assert(strcmp(location, api_task_path(id, want_location, sizeof want_location)) == 0,
              "%s: expected Location: %s, got %s", r->what, want_location, location);
    tk_expect_header(r, "ETag", "\"1\"");
    cr_assert(strcmp(tk_json_str(r, "created_at"), tk_json_str(r, "updated_at")) == 0,
              "%s: a new task should have updated_at == created_at: %s", r->what, r->body);
    tk_response_free(r);
}

GRADED(crud, create_with_every_field_returns_them, 1)
{
    char title[96];
    char *body = api_format("{\"title\":\"%s\",\"description\":\"the details\",\"status\":"
                            "\"in_progress\",\"priority\":\"high\",\"due_at\":"
                            "\"2026-12-01T09:00:00Z\",\"tags\":[\"work\",\"q4\"]}",
                            tk_unique("full", title, sizeof title));
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_task(r, &(struct api_task_want){.title = title,
                                               .description = "the details",
                                               .status = "in_progress",
                                               .priority = "high",
                                               .due_at = "2026-12-01T09:00:00Z",
                                               .tags = (const char *const[]){"work", "q4", NULL}});
    tk_response_free(r);
    free(body);
}

GRADED(crud, create_gives_each_task_its_own_id, 1)
{
    long long a = api_new_task(tk_shared());
    long long b = api_new_task(tk_shared());
    cr_assert(a != b, "expected two creates to return two ids, both got %lld", a);
}

GRADED(crud, get_returns_the_created_task_with_its_etag, 1)
{
    char title[96], body[160], path[64];
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"tags\":[\"x\"]}",
             tk_unique("get", title, sizeof title));
    struct tk_response *created = api_expect_created(tk_shared(), body);
    struct tk_response *r =
        tk_get(tk_shared(), api_task_path(tk_json_int(created, "id"), path, sizeof path));
    api_expect_json_type(r);
    expect_same_task(r, "\"1\"", created, "the task as created");
}

GRADED(crud, get_of_an_unknown_id_is_404_problem, 1)
{
    expect_gone("GET");
}

GRADED(crud, patch_changes_only_the_named_fields, 2)
{
    char title[96], path[64];
    long long id;
    struct tk_response *r =
        patched("patch", ",\"description\":\"keep\",\"priority\":\"low\",\"tags\":[\"a\"]",
                "{\"status\":\"done\"}", title, path, &id);
    api_expect_json_type(r);
    api_expect_task(r, &(struct api_task_want){.title = title,
                                               .description = "keep",
                                               .status = "done",
                                               .priority = "low",
                                               .tags = (const char *const[]){"a", NULL},
                                               .version = 2});
    tk_expect_json_int(r, "id", id);
    tk_expect_header(r, "ETag", "\"2\"");
    tk_response_free(r);
}

GRADED(crud, patch_moves_updated_at_and_keeps_created_at, 2)
{
    char path[64];
    struct tk_response *before = api_new_task_read(tk_shared(), path, sizeof path);
    usleep(1100 * 1000); /* timestamps may have whole-second precision */
    struct tk_response *r = tk_patch_json(tk_shared(), path, "{\"priority\":\"high\"}");
    tk_expect_status(r, 200);
    long long s0, s1;
    long n0, n1;
    cr_assert(api_parse_utc(tk_json_str(before, "updated_at"), &s0, &n0) &&
                  api_parse_utc(tk_json_str(r, "updated_at"), &s1, &n1),
              "%s: expected RFC 3339 UTC timestamps: %s", r->what, r->body);
    cr_assert(s1 > s0 || (s1 == s0 && n1 > n0),
              "%s: expected updated_at to move forward from %s, got %s", r->what,
              tk_json_str(before, "updated_at"), tk_json_str(r, "updated_at"));
    tk_expect_json_str(r, "created_at", tk_json_str(before, "created_at"));
    tk_response_free(before);
    tk_response_free(r);
}

GRADED(crud, patch_naming_a_field_with_its_current_value_bumps_the_version, 3)
{
    char title[96], body[160], patch[160], path[64];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", tk_unique("same", title, sizeof title));
    long long id = tk_create_task(tk_shared(), body);
    snprintf(patch, sizeof patch, "{\"title\":\"%s\",\"status\":\"todo\"}", title);
    struct tk_response *r = tk_patch_json(tk_shared(), api_task_path(id, path, sizeof path), patch);
    tk_expect_status(r, 200);
    api_expect_task(r, &(struct api_task_want){.title = title, .version = 2});
    tk_expect_header(r, "ETag", "\"2\"");
    tk_response_free(r);
}

GRADED(crud, patch_with_an_empty_object_changes_nothing, 2)
{
    char path[64];
    struct tk_response *before = api_new_task_read(tk_shared(), path, sizeof path);
    expect_same_task(tk_patch_json(tk_shared(), path, "{}"), "\"1\"", before, "the task unchanged");
}

GRADED(crud, patch_due_at_null_clears_it, 2)
{
    char title[96], path[64];
    struct tk_response *r = patched("clear", ",\"due_at\":\"2026-12-01T09:00:00Z\"",
                                    "{\"due_at\":null}", title, path, NULL);
    api_expect_task(r, &(struct api_task_want){.title = title, .version = 2});
    tk_response_free(r);
}

GRADED(crud, patch_sets_due_at_and_replaces_tags_whole, 2)
{
    char title[96], path[64];
    struct tk_response *r =
        patched("tags", ",\"tags\":[\"a\",\"b\"]",
                "{\"tags\":[\"c\"],\"due_at\":\"2027-01-02T03:04:05Z\"}", title, path, NULL);
    api_expect_task(r, &(struct api_task_want){.title = title,
                                               .due_at = "2027-01-02T03:04:05Z",
                                               .tags = (const char *const[]){"c", NULL},
                                               .version = 2});
    tk_response_free(r);
    r = tk_patch_json(tk_shared(), path, "{\"tags\":[]}");
    tk_expect_status(r, 200);
    api_expect_task(
        r, &(struct api_task_want){.title = title, .due_at = "2027-01-02T03:04:05Z", .version = 3});
    tk_response_free(r);
}

GRADED(crud, patch_is_visible_to_a_later_get, 1)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    api_task_path(id, path, sizeof path);
    struct tk_response *p = tk_patch_json(tk_shared(), path, "{\"description\":\"new text\"}");
    tk_expect_status(p, 200);
    expect_same_task(tk_get(tk_shared(), path), "\"2\"", p, "the patched task");
}

GRADED(crud, patch_accepts_merge_patch_content_type, 1)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    const char *json = "{\"priority\":\"low\"}";
    struct tk_response *r = api_send(tk_shared(), "PATCH", api_task_path(id, path, sizeof path),
                                     "application/merge-patch+json", json, strlen(json), NULL);
    tk_expect_status(r, 200);
    tk_expect_json_str(r, "priority", "low");
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
}

GRADED(crud, patch_of_an_unknown_id_is_404_problem, 1)
{
    expect_gone("PATCH");
}

GRADED(crud, delete_answers_204_with_no_body_and_the_task_is_gone, 1)
{
    char path[64];
    api_task_path(api_new_task(tk_shared()), path, sizeof path);
    struct tk_response *r = tk_delete(tk_shared(), path);
    tk_expect_status(r, 204);
    cr_assert(r->body_len == 0, "%s: expected no body with 204, got %zu bytes: %s", r->what,
              r->body_len, r->body);
    char rid[80];
    api_expect_sane_request_id(r, rid, sizeof rid);
    tk_response_free(r);
    r = tk_get(tk_shared(), path);
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

GRADED(crud, second_delete_is_404_problem, 1)
{
    expect_gone("DELETE");
}

GRADED(crud, delete_leaves_other_tasks_alone, 1)
{
    char path[64];
    long long keep = api_new_task(tk_shared());
    gone_id(tk_shared());
    struct tk_response *r = tk_get(tk_shared(), api_task_path(keep, path, sizeof path));
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "id", keep);
    tk_response_free(r);
}

GRADED(crud, description_is_kept_as_sent_without_trimming, 2)
{
    char title[96], body[200];
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"description\":\"  two\\nlines \\t\"}",
             tk_unique("desc", title, sizeof title));
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_task(r, &(struct api_task_want){.title = title, .description = "  two\nlines \t"});
    tk_response_free(r);
}

GRADED(crud, unicode_text_round_trips_unchanged, 2)
{
    char title[96], body[256], path[64];
    /* "日本 café 😀" sent as raw UTF-8 and as \u escapes (a surrogate pair for the emoji) */
    snprintf(body, sizeof body,
             "{\"title\":\"%s \xe6\x97\xa5\xe6\x9c\xac\",\"description\":\"caf\\u00e9 "
             "\\ud83d\\ude00\"}",
             tk_unique("utf8", title, sizeof title));
    long long id = tk_create_task(tk_shared(), body);
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_status(r, 200);
    char want_title[128];
    snprintf(want_title, sizeof want_title, "%s \xe6\x97\xa5\xe6\x9c\xac", title);
    api_expect_task(r, &(struct api_task_want){.title = want_title,
                                               .description = "caf\xc3\xa9 \xf0\x9f\x98\x80"});
    tk_response_free(r);
}
