/* api_listing.c — black-box tests of GET /tasks: page shape, limit, status filter, keyset
 * paging with next_cursor, and the 400s for bad parameters (API.md "Listing").
 *
 * A listing's content depends on every row in the store, so each test that looks at items runs
 * its own private server (api_private, stopped by .fini even when the test fails). The
 * parameter checks don't look at rows and use the shared server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

#define PRIVATE .fini = api_private_fini

/* The collected ids are exactly want (in order). */
static void expect_collected(const long long *got, size_t n_got, const long long *want,
                             size_t n_want, const char *what)
{
    cr_assert(n_got == n_want, "%s: expected %zu rows in all, got %zu", what, n_want, n_got);
    for (size_t i = 0; i < n_want; i++)
        cr_assert(got[i] == want[i], "%s: expected row %zu to be id %lld, got %lld", what, i,
                  want[i], got[i]);
}

/* ---- shape, order, limit ---- */

GRADED(listing, empty_store_lists_no_items_and_a_null_cursor, 1, PRIVATE)
{
    struct tk_response *r = api_list(api_private(), "");
    api_expect_json_type(r);
    api_expect_ids(r, NULL, 0);
    cr_assert(api_next_cursor(r) == NULL, "%s: expected next_cursor null: %s", r->what, r->body);
    tk_response_free(r);
}

GRADED(listing, lists_whole_tasks_oldest_first, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[3];
    ids[0] = tk_create_task(s, "{\"title\":\"first\",\"tags\":[\"a\"],\"priority\":\"high\"}");
    ids[1] = tk_create_task(s, "{\"title\":\"second\",\"due_at\":\"2026-12-01T09:00:00Z\"}");
    ids[2] = tk_create_task(s, "{\"title\":\"third\",\"status\":\"done\"}");
    struct tk_response *r = api_list(s, "");
    api_expect_ids(r, ids, 3);
    cr_assert(api_next_cursor(r) == NULL, "%s: expected next_cursor null: %s", r->what, r->body);
    for (int i = 0; i < 3; i++) {
        char path[64];
        struct tk_response *one = tk_get(s, api_task_path(ids[i], path, sizeof path));
        const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "items"), i);
        cr_assert(cJSON_Compare(item, one->json, true),
                  "%s: expected item %d to be the whole task %s", r->what, i, one->body);
        tk_response_free(one);
    }
    tk_response_free(r);
}

GRADED(listing, default_page_is_20_rows, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[21];
    api_create_many(s, 21, "", ids);
    struct tk_response *r = api_list(s, "");
    api_expect_ids(r, ids, 20);
    cr_assert(api_next_cursor(r) != NULL, "%s: expected a next_cursor with 21 rows", r->what);
    tk_response_free(r);
}

GRADED(listing, limit_1_and_limit_100_are_accepted, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[101];
    api_create_many(s, 101, "", ids);
    struct tk_response *r = api_list(s, "limit=100");
    api_expect_ids(r, ids, 100);
    cr_assert(api_next_cursor(r) != NULL, "%s: expected a next_cursor with 101 rows", r->what);
    tk_response_free(r);
    r = api_list(s, "limit=1");
    api_expect_ids(r, ids, 1);
    cr_assert(api_next_cursor(r) != NULL, "%s: expected a next_cursor", r->what);
    tk_response_free(r);
}

GRADED(listing, rejects_a_limit_outside_1_to_100, 2)
{
    const char *bad[] = {"limit=0", "limit=101", "limit=-1", "limit=99999999999999999999"};
    for (size_t i = 0; i < 4; i++)
        api_expect_bad_param(tk_shared(), bad[i], "limit");
}

GRADED(listing, rejects_a_limit_that_is_not_a_whole_number, 1)
{
    const char *bad[] = {"limit=abc", "limit=1.5", "limit=10abc", "limit=1e1", "limit=%205"};
    for (size_t i = 0; i < 5; i++)
        api_expect_bad_param(tk_shared(), bad[i], "limit");
}

/* ---- status ---- */

GRADED(listing, filters_by_each_status, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    const char *statuses[] = {"todo", "in_progress", "done"};
    long long ids[3][2];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++) {
            char body[128];
            snprintf(body, sizeof body, "{\"title\":\"t\",\"status\":\"%s\"}", statuses[i]);
            ids[i][round] = tk_create_task(s, body);
        }
    for (int i = 0; i < 3; i++) {
        char q[64];
        snprintf(q, sizeof q, "status=%s", statuses[i]);
        struct tk_response *r = api_list(s, q);
        api_expect_ids(r, ids[i], 2);
        tk_response_free(r);
    }
}

GRADED(listing, rejects_an_unknown_status, 1)
{
    api_expect_bad_param(tk_shared(), "status=finished", "status");
    api_expect_bad_param(tk_shared(), "status=TODO", "status");
}

/* ---- paging ---- */

GRADED(listing, paging_yields_every_row_once_in_order, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[7], got[16];
    api_create_many(s, 7, "", ids);
    size_t n = api_collect(s, "", 3, got, 16);
    expect_collected(got, n, ids, 7, "paging 7 rows by 3");
}

GRADED(listing, last_full_page_has_a_null_cursor, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[6];
    api_create_many(s, 6, "", ids);
    struct tk_response *r = api_list(s, "limit=3");
    char q[1024], enc[768];
    snprintf(q, sizeof q, "limit=3&cursor=%s", tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    r = api_list(s, q);
    api_expect_ids(r, ids + 3, 3);
    cr_assert(api_next_cursor(r) == NULL,
              "%s: expected next_cursor null on the page holding the last row: %s", r->what,
              r->body);
    tk_response_free(r);
}

GRADED(listing, paging_is_stable_when_rows_are_added_between_pages, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[6];
    api_create_many(s, 6, "", ids);
    struct tk_response *r = api_list(s, "limit=2");
    api_expect_ids(r, ids, 2);
    char q[1024], enc[768];
    snprintf(q, sizeof q, "limit=2&cursor=%s", tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    long long more[2];
    api_create_many(s, 2, "", more);
    r = api_list(s, q);
    api_expect_ids(r, ids + 2, 2);
    tk_response_free(r);
}

GRADED(listing, paging_does_not_skip_rows_when_a_seen_row_is_deleted, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[6];
    api_create_many(s, 6, "", ids);
    struct tk_response *r = api_list(s, "limit=2");
    char q[1024], enc[768], path[64];
    snprintf(q, sizeof q, "limit=2&cursor=%s", tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    r = tk_delete(s, api_task_path(ids[0], path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);
    r = api_list(s, q);
    api_expect_ids(r, ids + 2, 2);
    tk_response_free(r);
}

GRADED(listing, limit_may_change_between_pages, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[6];
    api_create_many(s, 6, "", ids);
    struct tk_response *r = api_list(s, "limit=2");
    char q[1024], enc[768];
    snprintf(q, sizeof q, "limit=4&cursor=%s", tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    r = api_list(s, q);
    api_expect_ids(r, ids + 2, 4);
    cr_assert(api_next_cursor(r) == NULL, "%s: expected next_cursor null: %s", r->what, r->body);
    tk_response_free(r);
}

GRADED(listing, paging_keeps_the_status_filter, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long done[5], got[16];
    for (int i = 0; i < 5; i++) {
        tk_create_task(s, "{\"title\":\"open\"}");
        done[i] = tk_create_task(s, "{\"title\":\"closed\",\"status\":\"done\"}");
    }
    size_t n = api_collect(s, "status=done", 2, got, 16);
    expect_collected(got, n, done, 5, "paging status=done by 2");
}

GRADED(listing, deleted_tasks_are_not_listed, 1, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[3];
    char path[64];
    api_create_many(s, 3, "", ids);
    struct tk_response *r = tk_delete(s, api_task_path(ids[1], path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);
    r = api_list(s, "");
    api_expect_ids(r, (const long long[]){ids[0], ids[2]}, 2);
    tk_response_free(r);
}

GRADED(listing, an_update_does_not_move_a_task, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[3];
    char path[64];
    api_create_many(s, 3, "", ids);
    struct tk_response *r =
        tk_patch_json(s, api_task_path(ids[0], path, sizeof path), "{\"title\":\"renamed\"}");
    tk_expect_status(r, 200);
    tk_response_free(r);
    r = api_list(s, "");
    api_expect_ids(r, ids, 3);
    tk_response_free(r);
}

/* ---- cursors ---- */

GRADED(listing, rejects_a_forged_cursor, 2)
{
    api_expect_bad_param(tk_shared(), "cursor=abc", "cursor");
    api_expect_bad_param(tk_shared(), "cursor=eyJpZCI6MX0", "cursor"); /* base64 {"id":1} */
    api_expect_bad_param(tk_shared(), "cursor=1", "cursor");
}

GRADED(listing, rejects_a_tampered_or_truncated_cursor, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[3];
    api_create_many(s, 3, "", ids);
    struct tk_response *r = api_list(s, "limit=1");
    char cursor[512], q[1200], enc[1024];
    snprintf(cursor, sizeof cursor, "%s", api_next_cursor(r));
    tk_response_free(r);
    size_t len = strlen(cursor);
    for (size_t at = 0; at < len; at += len / 4 + 1) {
        char bad[512];
        snprintf(bad, sizeof bad, "%s", cursor);
        bad[at] = bad[at] == 'A' ? 'B' : 'A';
        snprintf(q, sizeof q, "limit=1&cursor=%s", tk_urlencode(bad, enc, sizeof enc));
        api_expect_bad_param(s, q, "cursor");
    }
    cursor[len / 2] = '\0';
    snprintf(q, sizeof q, "limit=1&cursor=%s", tk_urlencode(cursor, enc, sizeof enc));
    api_expect_bad_param(s, q, "cursor");
}

GRADED(listing, rejects_a_cursor_reused_with_another_status, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    for (int i = 0; i < 3; i++)
        tk_create_task(s, "{\"title\":\"t\"}");
    struct tk_response *r = api_list(s, "status=todo&limit=1");
    char q[1200], enc[1024];
    tk_urlencode(api_next_cursor(r), enc, sizeof enc);
    tk_response_free(r);
    snprintf(q, sizeof q, "status=done&limit=1&cursor=%s", enc);
    api_expect_bad_param(s, q, "cursor");
    snprintf(q, sizeof q, "limit=1&cursor=%s", enc);
    api_expect_bad_param(s, q, "cursor");
}

/* ---- parameters ---- */

GRADED(listing, rejects_an_unknown_parameter_naming_it, 2)
{
    api_expect_bad_param(tk_shared(), "foo=1", "foo");
    api_expect_bad_param(tk_shared(), "limit=5&Status=todo", "Status");
}

GRADED(listing, rejects_a_repeated_parameter, 2)
{
    api_expect_bad_param(tk_shared(), "status=todo&status=done", "status");
    api_expect_bad_param(tk_shared(), "limit=5&limit=5", "limit");
}

GRADED(listing, rejects_an_empty_parameter, 2)
{
    api_expect_bad_param(tk_shared(), "status=", "status");
    api_expect_bad_param(tk_shared(), "limit=", "limit");
    api_expect_bad_param(tk_shared(), "cursor=", "cursor");
    api_expect_bad_param(tk_shared(), "status", "status");
}
