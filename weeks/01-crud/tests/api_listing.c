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

/* Lists `query` on s: the items are exactly want[0..n), and next_cursor is null (next 0) or
 * not (next 1); next -1 does not look. `why` says what the cursor check expects. */
static void expect_page(struct tk_server *s, const char *query, const long long *want, size_t n,
                        int next, const char *why)
{
    struct tk_response *r = api_list(s, query);
    api_expect_ids(r, want, n);
    if (next >= 0)
        cr_assert((api_next_cursor(r) != NULL) == (next == 1), "%s: expected %s: %s", r->what, why,
                  r->body);
    tk_response_free(r);
}

/* Lists `query` on s (its items, when want is given, are want[0..n)) and writes into q the
 * query of the page after it: `next` with the page's cursor appended. */
static const char *query_after(struct tk_server *s, const char *query, const long long *want,
                               size_t n, const char *next, char *q, size_t qn)
{
    struct tk_response *r = api_list(s, query);
    if (want)
        api_expect_ids(r, want, n);
    char enc[768];
    snprintf(q, qn, "%s&cursor=%s", next, tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    return q;
}

/* Deletes task id on s: 204. */
static void expect_deleted(struct tk_server *s, long long id)
{
    char path[64];
    struct tk_response *r = tk_delete(s, api_task_path(id, path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);
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
    expect_page(s, "", ids, 20, 1, "a next_cursor with 21 rows");
}

GRADED(listing, limit_1_and_limit_100_are_accepted, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[101];
    api_create_many(s, 101, "", ids);
    expect_page(s, "limit=100", ids, 100, 1, "a next_cursor with 101 rows");
    expect_page(s, "limit=1", ids, 1, 1, "a next_cursor");
}

GRADED(listing, rejects_a_limit_outside_1_to_100, 2)
{
    api_expect_bad_params("limit", (const char *const[]){"limit=0", "limit=101", "limit=-1",
                                                         "limit=99999999999999999999", NULL});
}

GRADED(listing, rejects_a_limit_that_is_not_a_whole_number, 1)
{
    api_expect_bad_params("limit", (const char *const[]){"limit=abc", "limit=1.5", "limit=10abc",
                                                         "limit=1e1", "limit=%205", NULL});
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
        expect_page(s, q, ids[i], 2, -1, NULL);
    }
}

GRADED(listing, rejects_an_unknown_status, 1)
{
    api_expect_bad_params("status", (const char *const[]){"status=finished", "status=TODO", NULL});
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

/* Between two pages: 2 more rows are created. */
static void add_two(struct tk_server *s, const long long *ids)
{
    (void)ids;
    long long more[2];
    api_create_many(s, 2, "", more);
}

/* Between two pages: the first row, already seen, is deleted. */
static void delete_first(struct tk_server *s, const long long *ids)
{
    expect_deleted(s, ids[0]);
}

/* Paging over 6 rows: the page `first` (whose items are ids[0..first_n) when first_n > 0),
 * then `between` (if any), then the page `next` after first's cursor must hold
 * ids[from..from+n), with next_cursor as `last` says (expect_page's `next`). */
struct paging_case {
    const char *first;
    size_t first_n;
    void (*between)(struct tk_server *s, const long long *ids);
    const char *next;
    size_t from, n;
    int last;
    const char *why;
};

static void check_paging(const struct paging_case *c)
{
    struct tk_server *s = api_private();
    long long ids[6];
    api_create_many(s, 6, "", ids);
    char q[1024];
    query_after(s, c->first, c->first_n ? ids : NULL, c->first_n, c->next, q, sizeof q);
    if (c->between)
        c->between(s, ids);
    expect_page(s, q, ids + c->from, c->n, c->last, c->why);
}

/* One graded test per case: its name, its points, its index in paging[]. */
#define PAGING_TEST(name, points, i)                                                               \
    GRADED(listing, name, points, PRIVATE)                                                         \
    {                                                                                              \
        check_paging(&paging[i]);                                                                  \
    }

/* The cases of the four paging tests below (PAGING_TEST), in their order. */
static const struct paging_case paging[] = {
    {"limit=3", 0, NULL, "limit=3", 3, 3, 0, "next_cursor null on the page holding the last row"},
    {"limit=2", 2, add_two, "limit=2", 2, 2, -1, NULL},
    {"limit=2", 0, delete_first, "limit=2", 2, 2, -1, NULL},
    {"limit=2", 0, NULL, "limit=4", 2, 4, 0, "next_cursor null"},
};

PAGING_TEST(last_full_page_has_a_null_cursor, 3, 0)

PAGING_TEST(paging_is_stable_when_rows_are_added_between_pages, 3, 1)

PAGING_TEST(paging_does_not_skip_rows_when_a_seen_row_is_deleted, 3, 2)

PAGING_TEST(limit_may_change_between_pages, 2, 3)

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
    api_create_many(s, 3, "", ids);
    expect_deleted(s, ids[1]);
    expect_page(s, "", (const long long[]){ids[0], ids[2]}, 2, -1, NULL);
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
    expect_page(s, "", ids, 3, -1, NULL);
}

/* ---- cursors ---- */

GRADED(listing, rejects_a_forged_cursor, 2)
{
    /* cursor=eyJpZCI6MX0 is base64 {"id":1} */
    api_expect_bad_params(
        "cursor", (const char *const[]){"cursor=abc", "cursor=eyJpZCI6MX0", "cursor=1", NULL});
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
    api_expect_bad_params("foo", (const char *const[]){"foo=1", NULL});
    api_expect_bad_params("Status", (const char *const[]){"limit=5&Status=todo", NULL});
}

GRADED(listing, rejects_a_repeated_parameter, 2)
{
    api_expect_bad_params("status", (const char *const[]){"status=todo&status=done", NULL});
    api_expect_bad_params("limit", (const char *const[]){"limit=5&limit=5", NULL});
}

GRADED(listing, rejects_an_empty_parameter, 2)
{
    api_expect_bad_params("status", (const char *const[]){"status=", "status", NULL});
    api_expect_bad_params("limit", (const char *const[]){"limit=", NULL});
    api_expect_bad_params("cursor", (const char *const[]){"cursor=", NULL});
}
