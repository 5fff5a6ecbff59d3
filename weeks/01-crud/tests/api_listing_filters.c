/* api_listing_filters.c — black-box tests of GET /tasks filters and sort orders: priority, tag,
 * q, due_before/due_after, every sort with its tie-break, and paging under each sort
 * (API.md "Listing" and "Settled details: Listing").
 *
 * Each test runs its own private server, so the rows it made are the only rows there are and
 * the expected order can be written down exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

#define PRIVATE .fini = api_private_fini

static void expect_listed(struct tk_server *s, const char *query, const long long *ids, size_t n)
{
    struct tk_response *r = api_list(s, query);
    api_expect_ids(r, ids, n);
    cr_assert(api_next_cursor(r) == NULL, "%s: expected next_cursor null: %s", r->what, r->body);
    tk_response_free(r);
}

/* Nine tasks whose due dates and priorities tie in places, for the sort tests.
 *   i:        0     1     2     3     4     5     6     7     8
 *   due:      10h   -     09h   10h   -     11h   09h   -     10h
 *   priority: high  low   normal low  high  normal low   high  normal */
static void create_sort_fixture(struct tk_server *s, long long ids[9])
{
    const char *due[] = {"10", NULL, "09", "10", NULL, "11", "09", NULL, "10"};
    const char *prio[] = {"high",   "low", "normal", "low",   "high",
                          "normal", "low", "high",   "normal"};
    for (int i = 0; i < 9; i++) {
        char body[200], due_json[64] = "null";
        if (due[i])
            snprintf(due_json, sizeof due_json, "\"2026-12-01T%s:00:00Z\"", due[i]);
        snprintf(body, sizeof body, "{\"title\":\"sort %d\",\"priority\":\"%s\",\"due_at\":%s}", i,
                 prio[i], due_json);
        ids[i] = tk_create_task(s, body);
    }
}

/* The fixture's ids in the order of the given indexes. */
static void pick(const long long ids[9], const int *order, long long *out)
{
    for (int i = 0; i < 9; i++)
        out[i] = ids[order[i]];
}

/* Expected orders of create_sort_fixture under each sort. */
static const struct {
    const char *sort;
    int order[9];
} sorts[] = {
    {"created_at", {0, 1, 2, 3, 4, 5, 6, 7, 8}}, {"-created_at", {8, 7, 6, 5, 4, 3, 2, 1, 0}},
    {"due_at", {2, 6, 0, 3, 8, 5, 1, 4, 7}},   /* nulls last, ties by id ascending */
    {"-due_at", {5, 8, 3, 0, 6, 2, 7, 4, 1}},  /* nulls last, ties by id descending */
    {"priority", {1, 3, 6, 2, 5, 8, 0, 4, 7}}, /* low < normal < high */
    {"-priority", {7, 4, 0, 8, 5, 2, 6, 3, 1}},
};

/* ---- filters ---- */

GRADED(filters, filters_by_priority, 1, PRIVATE)
{
    struct tk_server *s = api_private();
    long long low = tk_create_task(s, "{\"title\":\"a\",\"priority\":\"low\"}");
    long long normal = tk_create_task(s, "{\"title\":\"b\"}");
    long long high = tk_create_task(s, "{\"title\":\"c\",\"priority\":\"high\"}");
    expect_listed(s, "priority=low", &low, 1);
    expect_listed(s, "priority=normal", &normal, 1);
    expect_listed(s, "priority=high", &high, 1);
}

GRADED(filters, rejects_an_unknown_priority_or_sort, 1)
{
    api_expect_bad_param(tk_shared(), "priority=urgent", "priority");
    api_expect_bad_param(tk_shared(), "sort=title", "sort");
    api_expect_bad_param(tk_shared(), "sort=%2Bdue_at", "sort");
    api_expect_bad_param(tk_shared(), "sort=due_at,priority", "sort");
}

GRADED(filters, filters_by_exact_tag, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long a = tk_create_task(s, "{\"title\":\"a\",\"tags\":[\"work\"]}");
    tk_create_task(s, "{\"title\":\"b\",\"tags\":[\"workshop\",\"wor\"]}");
    long long c = tk_create_task(s, "{\"title\":\"c\",\"tags\":[\"home\",\"work\"]}");
    tk_create_task(s, "{\"title\":\"work\"}");
    expect_listed(s, "tag=work", (const long long[]){a, c}, 2);
    expect_listed(s, "tag=nothing", NULL, 0);
}

GRADED(filters, q_matches_title_or_description_ignoring_ascii_case, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long a = tk_create_task(s, "{\"title\":\"Buy MILK today\"}");
    long long b = tk_create_task(s, "{\"title\":\"shake\",\"description\":\"with milk\"}");
    tk_create_task(s, "{\"title\":\"bread\",\"description\":\"mil k\"}");
    expect_listed(s, "q=milk", (const long long[]){a, b}, 2);
    expect_listed(s, "q=MiLk", (const long long[]){a, b}, 2);
}

GRADED(filters, q_takes_percent_underscore_and_backslash_literally, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long pct = tk_create_task(s, "{\"title\":\"100% done\"}");
    tk_create_task(s, "{\"title\":\"1000 done\"}");
    long long und = tk_create_task(s, "{\"title\":\"a_b\"}");
    tk_create_task(s, "{\"title\":\"axb\"}");
    long long bs = tk_create_task(s, "{\"title\":\"c\\\\d\"}");
    tk_create_task(s, "{\"title\":\"cd\"}");
    expect_listed(s, "q=0%25", &pct, 1);
    expect_listed(s, "q=a_b", &und, 1);
    expect_listed(s, "q=%5C", &bs, 1);
    expect_listed(s, "q=c%5Cd", &bs, 1);
}

GRADED(filters, plus_in_the_query_string_is_a_space, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long a = tk_create_task(s, "{\"title\":\"hello world\"}");
    tk_create_task(s, "{\"title\":\"helloworld\"}");
    tk_create_task(s, "{\"title\":\"hello+world\"}");
    expect_listed(s, "q=hello+world", &a, 1);
    expect_listed(s, "q=hello%20world", &a, 1);
}

GRADED(filters, q_of_200_characters_is_accepted_and_201_rejected, 2)
{
    char *q200 = api_repeat("%C3%A9", 200); /* é: 200 characters, 400 bytes */
    char *q201 = api_repeat("%C3%A9", 201);
    char *ok = api_format("q=%s", q200);
    char *bad = api_format("q=%s", q201);
    struct tk_response *r = api_list(tk_shared(), ok);
    tk_response_free(r);
    api_expect_bad_param(tk_shared(), bad, "q");
    free(ok);
    free(bad);
    free(q200);
    free(q201);
}

GRADED(filters, due_bounds_are_strict_and_skip_tasks_without_due_at, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long h9 = tk_create_task(s, "{\"title\":\"a\",\"due_at\":\"2026-12-01T09:00:00Z\"}");
    long long h10 = tk_create_task(s, "{\"title\":\"b\",\"due_at\":\"2026-12-01T10:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"no due date\"}");
    long long h11 = tk_create_task(s, "{\"title\":\"c\",\"due_at\":\"2026-12-01T11:00:00Z\"}");
    expect_listed(s, "due_before=2026-12-01T10:00:00Z", &h9, 1);
    expect_listed(s, "due_after=2026-12-01T10:00:00Z", &h11, 1);
    expect_listed(s, "due_after=2026-12-01T09:00:00Z&due_before=2026-12-01T11:00:00Z", &h10, 1);
    expect_listed(s, "due_after=2000-01-01T00:00:00Z", (const long long[]){h9, h10, h11}, 3);
}

GRADED(filters, due_bounds_accept_an_offset, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long h9 = tk_create_task(s, "{\"title\":\"a\",\"due_at\":\"2026-12-01T09:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"b\",\"due_at\":\"2026-12-01T10:00:00Z\"}");
    expect_listed(s, "due_before=2026-12-01T11:00:00%2B01:00", &h9, 1);
    expect_listed(s, "due_before=2026-12-01T04:30:00-05:00", &h9, 1);
}

GRADED(filters, rejects_a_due_bound_that_is_not_rfc3339, 1)
{
    api_expect_bad_param(tk_shared(), "due_before=tomorrow", "due_before");
    api_expect_bad_param(tk_shared(), "due_after=2026-12-01", "due_after");
    api_expect_bad_param(tk_shared(), "due_after=2026-12-01T10:00:00", "due_after");
}

GRADED(filters, filters_combine_with_and, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    const char *match = "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\","
                        "\"tags\":[\"work\"],\"due_at\":\"2026-12-01T10:00:00Z\"}";
    long long want = tk_create_task(s, match);
    tk_create_task(s, "{\"title\":\"Report\",\"status\":\"todo\",\"priority\":\"high\","
                      "\"tags\":[\"work\"],\"due_at\":\"2026-12-01T10:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"low\","
                      "\"tags\":[\"work\"],\"due_at\":\"2026-12-01T10:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\","
                      "\"tags\":[\"home\"],\"due_at\":\"2026-12-01T10:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"Memo\",\"status\":\"done\",\"priority\":\"high\","
                      "\"tags\":[\"work\"],\"due_at\":\"2026-12-01T10:00:00Z\"}");
    tk_create_task(s, "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\","
                      "\"tags\":[\"work\"],\"due_at\":\"2026-12-03T10:00:00Z\"}");
    expect_listed(s, "status=done&priority=high&tag=work&q=report&due_before=2026-12-02T00:00:00Z",
                  &want, 1);
}

/* ---- sorts ---- */

GRADED(filters, default_sort_is_created_at_and_minus_created_at_reverses_it, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9];
    create_sort_fixture(s, ids);
    expect_listed(s, "", ids, 9);
    pick(ids, sorts[1].order, want);
    expect_listed(s, "sort=-created_at", want, 9);
}

GRADED(filters, due_at_sort_puts_tasks_without_due_at_last, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9];
    create_sort_fixture(s, ids);
    pick(ids, sorts[2].order, want);
    expect_listed(s, "sort=due_at", want, 9);
}

GRADED(filters, minus_due_at_sort_also_puts_tasks_without_due_at_last, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9];
    create_sort_fixture(s, ids);
    pick(ids, sorts[3].order, want);
    expect_listed(s, "sort=-due_at", want, 9);
}

GRADED(filters, priority_sort_orders_low_normal_high_with_ties_by_id, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9];
    create_sort_fixture(s, ids);
    pick(ids, sorts[4].order, want);
    expect_listed(s, "sort=priority", want, 9);
    pick(ids, sorts[5].order, want);
    expect_listed(s, "sort=-priority", want, 9);
}

GRADED(filters, paging_follows_every_sort, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9], got[16];
    create_sort_fixture(s, ids);
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++) {
        char q[64];
        snprintf(q, sizeof q, "sort=%s", sorts[i].sort);
        pick(ids, sorts[i].order, want);
        size_t n = api_collect(s, q, 2, got, 16);
        cr_assert(n == 9, "paging %s by 2: expected 9 rows, got %zu", q, n);
        for (size_t k = 0; k < 9; k++)
            cr_assert(got[k] == want[k], "paging %s by 2: expected row %zu to be id %lld, got %lld",
                      q, k, want[k], got[k]);
    }
}

GRADED(filters, paging_with_filters_and_a_sort_yields_only_matching_rows, 2, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9], got[16];
    create_sort_fixture(s, ids);
    /* strictly between 09:00 and 11:00: the three tasks due at 10:00 (0, 3, 8) */
    size_t n = api_collect(s,
                           "sort=-priority&due_after=2026-12-01T09:00:00Z&due_before="
                           "2026-12-01T11:00:00Z",
                           1, got, 16);
    const long long want[] = {ids[0], ids[8], ids[3]};
    cr_assert(n == 3, "expected the 3 tasks due at 10:00, got %zu rows", n);
    for (size_t k = 0; k < 3; k++)
        cr_assert(got[k] == want[k], "expected row %zu to be id %lld, got %lld", k, want[k],
                  got[k]);
}

GRADED(filters, newest_first_paging_is_stable_when_rows_are_added, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[6], more[2];
    api_create_many(s, 6, "", ids);
    struct tk_response *r = api_list(s, "sort=-created_at&limit=2");
    api_expect_ids(r, (const long long[]){ids[5], ids[4]}, 2);
    char q[1200], enc[1024];
    snprintf(q, sizeof q, "sort=-created_at&limit=2&cursor=%s",
             tk_urlencode(api_next_cursor(r), enc, sizeof enc));
    tk_response_free(r);
    api_create_many(s, 2, "", more);
    r = api_list(s, q);
    api_expect_ids(r, (const long long[]){ids[3], ids[2]}, 2);
    tk_response_free(r);
}

GRADED(filters, rejects_a_cursor_reused_with_another_sort_or_filter, 3, PRIVATE)
{
    struct tk_server *s = api_private();
    long long ids[9];
    create_sort_fixture(s, ids);
    struct tk_response *r = api_list(s, "sort=due_at&limit=2");
    char enc[1024], q[1200];
    tk_urlencode(api_next_cursor(r), enc, sizeof enc);
    tk_response_free(r);
    const char *others[] = {"sort=-due_at",
                            "sort=priority",
                            "",
                            "sort=due_at&priority=low",
                            "sort=due_at&q=sort",
                            "sort=due_at&due_after=2000-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(q, sizeof q, "%s%slimit=2&cursor=%s", others[i], others[i][0] ? "&" : "", enc);
        api_expect_bad_param(s, q, "cursor");
    }
}
