/* api_etag.c — black-box tests of ETag and If-Match: optimistic concurrency on PATCH and DELETE
 * (API.md "PATCH" row and "Settled details: Item routes").
 *
 * The ETag is the version in quotes; If-Match compares strongly, "*" matches any existing task,
 * and a weak or unparsable tag matches nothing. A refused write must leave the task untouched,
 * so the 412 tests read the task back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

/* The task as stored now must still be at version (and exist). */
static void expect_version(long long id, long long version)
{
    char path[64], etag[32];
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", version);
    snprintf(etag, sizeof etag, "\"%lld\"", version);
    tk_expect_header(r, "ETag", etag);
    tk_response_free(r);
}

static void expect_patch_precondition_failed(long long id, const char *if_match)
{
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", if_match);
    tk_expect_problem(r, 412);
    tk_response_free(r);
}

/* PATCHes task id with body, without If-Match: 200. */
static void patch_ok(long long id, const char *body)
{
    char path[64];
    struct tk_response *r = tk_patch_json(tk_shared(), api_task_path(id, path, sizeof path), body);
    tk_expect_status(r, 200);
    tk_response_free(r);
}

/* DELETEs task id with If-Match: if_match, which answers 204 or a problem of that status. */
static void expect_delete(long long id, const char *if_match, int status)
{
    struct tk_response *r = api_delete_if_match(tk_shared(), id, if_match);
    if (status == 204)
        tk_expect_status(r, 204);
    else
        tk_expect_problem(r, status);
    tk_response_free(r);
}

/* A new task; a PATCH to status done with If-Match: patch_if (NULL: none), which answers
 * patch_status; a DELETE with If-Match: delete_if, which answers delete_status; the task must
 * then be at `version`. */
static void patch_then_delete(const char *patch_if, int patch_status, const char *delete_if,
                              int delete_status, long long version)
{
    long long id = api_new_task(tk_shared());
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", patch_if);
    if (patch_status == 200)
        tk_expect_status(r, 200);
    else
        tk_expect_problem(r, patch_status);
    tk_response_free(r);
    expect_delete(id, delete_if, delete_status);
    expect_version(id, version);
}

GRADED(etag, etag_follows_the_version_through_changes, 1)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    expect_version(id, 1);
    api_task_path(id, path, sizeof path);
    for (int v = 2; v <= 3; v++) {
        char etag[32];
        struct tk_response *r = tk_patch_json(tk_shared(), path, "{\"priority\":\"high\"}");
        tk_expect_status(r, 200);
        snprintf(etag, sizeof etag, "\"%d\"", v);
        tk_expect_header(r, "ETag", etag);
        tk_expect_json_int(r, "version", v);
        tk_response_free(r);
    }
    expect_version(id, 3);
}

/* PATCHes a new task (*id) with body and If-Match: "1": 200, and the response shows the
 * version the task then has, in the body and the ETag. The caller checks the rest and frees it. */
static struct tk_response *patch_current(const char *body, long long version, long long *id)
{
    *id = api_new_task(tk_shared());
    struct tk_response *r = api_patch_if_match(tk_shared(), *id, body, "\"1\"");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", version);
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", version);
    tk_expect_header(r, "ETag", etag);
    return r;
}

GRADED(etag, patch_with_the_current_if_match_succeeds, 1)
{
    long long id;
    struct tk_response *r = patch_current("{\"status\":\"done\"}", 2, &id);
    tk_expect_json_str(r, "status", "done");
    tk_response_free(r);
}

GRADED(etag, patch_with_a_stale_if_match_is_412_and_changes_nothing, 2)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    patch_ok(id, "{\"priority\":\"low\"}");
    expect_patch_precondition_failed(id, "\"1\"");
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_json_str(r, "status", "todo");
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
}

GRADED(etag, second_writer_with_the_same_version_loses, 3)
{
    long long id = api_new_task(tk_shared());
    struct tk_response *first =
        api_patch_if_match(tk_shared(), id, "{\"title\":\"first writer\"}", "\"1\"");
    tk_expect_status(first, 200);
    struct tk_response *second =
        api_patch_if_match(tk_shared(), id, "{\"title\":\"second writer\"}", "\"1\"");
    tk_expect_problem(second, 412);
    char path[64];
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_json_str(r, "title", "first writer");
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
    tk_response_free(first);
    tk_response_free(second);
}

GRADED(etag, if_match_star_matches_any_existing_task, 2)
{
    long long id = api_new_task(tk_shared());
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", "*");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
    expect_delete(id, "*", 204);
}

GRADED(etag, weak_if_match_never_matches, 3)
{
    patch_then_delete("W/\"1\"", 412, "W/\"1\"", 412, 1);
}

GRADED(etag, if_match_that_is_not_exactly_the_current_tag_is_412, 2)
{
    long long id = api_new_task(tk_shared());
    const char *bad[] = {"1", "\"1", "garbage", "\"one\"", "\"\"", "\"01\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_patch_precondition_failed(id, bad[i]);
    expect_version(id, 1);
}

GRADED(etag, if_match_on_a_missing_task_is_404, 2)
{
    long long id = api_new_task(tk_shared());
    expect_delete(id, NULL, 204);
    const char *tags[] = {"\"1\"", "*", "W/\"1\""};
    for (size_t i = 0; i < 3; i++) {
        struct tk_response *r =
            api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", tags[i]);
        tk_expect_problem(r, 404);
        tk_response_free(r);
        expect_delete(id, tags[i], 404);
    }
}

GRADED(etag, delete_with_the_current_if_match_deletes, 1)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    expect_delete(id, "\"1\"", 204);
    struct tk_response *r = tk_get(tk_shared(), api_task_path(id, path, sizeof path));
    tk_expect_problem(r, 404);
    tk_response_free(r);
}

GRADED(etag, delete_with_a_stale_if_match_is_412_and_keeps_the_task, 2)
{
    patch_then_delete(NULL, 200, "\"1\"", 412, 2);
}

GRADED(etag, empty_patch_with_if_match_keeps_the_etag, 2)
{
    long long id;
    tk_response_free(patch_current("{}", 1, &id));
    expect_patch_precondition_failed(id, "\"2\"");
}

/* ---- lists (RFC 9110 §13.1.1: true when any listed tag matches) ---- */

GRADED(etag, if_match_list_holding_the_current_tag_matches, 3)
{
    long long id;
    /* the empty PATCH is the guarded read, the others the guarded writes */
    tk_response_free(patch_current("{}", 1, &id));
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{}", "\"5\", \"1\"");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 1);
    tk_response_free(r);
    r = api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", "\"7\", \"1\"");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
    expect_delete(id, "\"1\",\"2\" , \"3\"", 204);
}

GRADED(etag, if_match_list_without_the_current_tag_is_412, 2)
{
    long long id = api_new_task(tk_shared());
    expect_patch_precondition_failed(id, "\"7\", \"8\"");
    struct tk_response *r = api_patch_if_match(tk_shared(), id, "{}", "\"7\", \"8\"");
    tk_expect_problem(r, 412);
    tk_response_free(r);
    expect_delete(id, "\"2\", \"3\"", 412);
    expect_version(id, 1);
}

GRADED(etag, a_weak_tag_in_a_list_is_skipped_not_matched, 2)
{
    long long id = api_new_task(tk_shared());
    expect_patch_precondition_failed(id, "W/\"1\", \"2\"");
    expect_version(id, 1);
    struct tk_response *r =
        api_patch_if_match(tk_shared(), id, "{\"status\":\"done\"}", "W/\"9\", \"1\"");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 2);
    tk_response_free(r);
}

GRADED(etag, star_or_garbage_inside_a_list_matches_nothing, 2)
{
    /* "*" is only valid alone; a list with something that is not an entity tag is not an
     * If-Match we understand, even when it also names the current version. */
    long long id = api_new_task(tk_shared());
    const char *bad[] = {"\"1\", *", "*, \"1\"", "\"1\", garbage", "\"1\" \"2\"", "\"1\",\"2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_patch_precondition_failed(id, bad[i]);
    expect_version(id, 1);
    expect_delete(id, "*", 204);
}
