/* api_listing_filters.c — black-box tests of GET /tasks filters and sort orders: priority, tag,
 * q, due_before/due_after, every sort with its tie-break, and paging under each sort
 * (API.md "Listing" and "Settled details: Listing").
 *
 * Each test runs its own private server, so the rows it made are the only rows there are and
 * the expected order can be written down exactly. */
#include <stdbool.h>
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

/* A filter test: a private server holding the tasks `bodies` make (in this order, up to a NULL),
 * where each listing `lists[i].query` (up to a NULL) holds exactly the tasks whose bit is set in
 * `lists[i].want` (bit k: the task of bodies[k]), in creation order. */
struct filter_case {
    const char *bodies[8];
    struct {
        const char *query;
        unsigned want;
    } lists[5];
};

static void check_filter(const struct filter_case *c)
{
    struct tk_server *s = api_private();
    long long ids[8], want[8];
    size_t n = 0;
    for (; n < 8 && c->bodies[n]; n++)
        ids[n] = tk_create_task(s, c->bodies[n]);
    for (size_t i = 0; i < 5 && c->lists[i].query; i++) {
        size_t k = 0;
        for (size_t b = 0; b < n; b++)
            if (c->lists[i].want & (1u << b))
                want[k++] = ids[b];
        expect_listed(s, c->lists[i].query, want, k);
    }
}

#define DUE_10H "\"due_at\":\"2026-12-01T10:00:00Z\""

/* One graded test per case: its name, its points, its index in filters[]. */
#define FILTER_TEST(name, points, i)                                                               \
    GRADED(filters, name, points, PRIVATE)                                                         \
    {                                                                                              \
        check_filter(&filters[i]);                                                                 \
    }

/* The cases of the filter tests below (FILTER_TEST), in their order. */
static const struct filter_case filters[] = {
    /* by priority */
    {{"{\"title\":\"a\",\"priority\":\"low\"}", "{\"title\":\"b\"}",
      "{\"title\":\"c\",\"priority\":\"high\"}"},
     {{"priority=low", 1}, {"priority=normal", 2}, {"priority=high", 4}}},
    /* by exact tag */
    {{"{\"title\":\"a\",\"tags\":[\"work\"]}", "{\"title\":\"b\",\"tags\":[\"workshop\",\"wor\"]}",
      "{\"title\":\"c\",\"tags\":[\"home\",\"work\"]}", "{\"title\":\"work\"}"},
     {{"tag=work", 5}, {"tag=nothing", 0}}},
    /* q, ignoring ASCII case */
    {{"{\"title\":\"Buy MILK today\"}", "{\"title\":\"shake\",\"description\":\"with milk\"}",
      "{\"title\":\"bread\",\"description\":\"mil k\"}"},
     {{"q=milk", 3}, {"q=MiLk", 3}}},
    /* q with %, _ and \ */
    {{"{\"title\":\"100% done\"}", "{\"title\":\"1000 done\"}", "{\"title\":\"a_b\"}",
      "{\"title\":\"axb\"}", "{\"title\":\"c\\\\d\"}", "{\"title\":\"cd\"}"},
     {{"q=0%25", 1}, {"q=a_b", 4}, {"q=%5C", 16}, {"q=c%5Cd", 16}}},
    /* + in the query string */
    {{"{\"title\":\"hello world\"}", "{\"title\":\"helloworld\"}", "{\"title\":\"hello+world\"}"},
     {{"q=hello+world", 1}, {"q=hello%20world", 1}}},
    /* strict due bounds */
    {{"{\"title\":\"a\",\"due_at\":\"2026-12-01T09:00:00Z\"}", "{\"title\":\"b\"," DUE_10H "}",
      "{\"title\":\"no due date\"}", "{\"title\":\"c\",\"due_at\":\"2026-12-01T11:00:00Z\"}"},
     {{"due_before=2026-12-01T10:00:00Z", 1},
      {"due_after=2026-12-01T10:00:00Z", 8},
      {"due_after=2026-12-01T09:00:00Z&due_before=2026-12-01T11:00:00Z", 2},
      {"due_after=2000-01-01T00:00:00Z", 11}}},
    /* due bounds with an offset */
    {{"{\"title\":\"a\",\"due_at\":\"2026-12-01T09:00:00Z\"}", "{\"title\":\"b\"," DUE_10H "}"},
     {{"due_before=2026-12-01T11:00:00%2B01:00", 1}, {"due_before=2026-12-01T04:30:00-05:00", 1}}},
    /* every filter at once: only the first task passes them all */
    {{"{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\",\"tags\":[\"work\"]," DUE_10H
      "}",
      "{\"title\":\"Report\",\"status\":\"todo\",\"priority\":\"high\",\"tags\":[\"work\"]," DUE_10H
      "}",
      "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"low\",\"tags\":[\"work\"]," DUE_10H
      "}",
      "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\",\"tags\":[\"home\"]," DUE_10H
      "}",
      "{\"title\":\"Memo\",\"status\":\"done\",\"priority\":\"high\",\"tags\":[\"work\"]," DUE_10H
      "}",
      "{\"title\":\"Report\",\"status\":\"done\",\"priority\":\"high\",\"tags\":[\"work\"],"
      "\"due_at\":\"2026-12-03T10:00:00Z\"}"},
     {{"status=done&priority=high&tag=work&q=report&due_before=2026-12-02T00:00:00Z", 1}}},
};

FILTER_TEST(filters_by_priority, 1, 0)

GRADED(filters, rejects_an_unknown_priority_or_sort, 1)
{
    api_expect_bad_params("priority", (const char *const[]){"priority=urgent", NULL});
    api_expect_bad_params("sort", (const char *const[]){"sort=title", "sort=%2Bdue_at",
                                                        "sort=due_at,priority", NULL});
}

FILTER_TEST(filters_by_exact_tag, 2, 1)

FILTER_TEST(q_matches_title_or_description_ignoring_ascii_case, 2, 2)

FILTER_TEST(q_takes_percent_underscore_and_backslash_literally, 3, 3)

FILTER_TEST(plus_in_the_query_string_is_a_space, 2, 4)

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

FILTER_TEST(due_bounds_are_strict_and_skip_tasks_without_due_at, 3, 5)

FILTER_TEST(due_bounds_accept_an_offset, 2, 6)

GRADED(filters, rejects_a_due_bound_that_is_not_rfc3339, 1)
{
    api_expect_bad_params("due_before", (const char *const[]){"due_before=tomorrow", NULL});
    api_expect_bad_params(
        "due_after",
        (const char *const[]){"due_after=2026-12-01", "due_after=2026-12-01T10:00:00", NULL});
}

FILTER_TEST(filters_combine_with_and, 2, 7)

/* ---- sorts ---- */

/* On a private server with the sort fixture: the listing sorted by each of sorts[from..to) is
 * in that sort's order; with `default_first`, the listing without sort= is in creation order. */
static void check_sorts(bool default_first, size_t from, size_t to)
{
    struct tk_server *s = api_private();
    long long ids[9], want[9];
    create_sort_fixture(s, ids);
    if (default_first)
        expect_listed(s, "", ids, 9);
    for (size_t i = from; i < to; i++) {
        char q[64];
        snprintf(q, sizeof q, "sort=%s", sorts[i].sort);
        pick(ids, sorts[i].order, want);
        expect_listed(s, q, want, 9);
    }
}

GRADED(filters, default_sort_is_created_at_and_minus_created_at_reverses_it, 2, PRIVATE)
{
    check_sorts(true, 1, 2);
}

GRADED(filters, due_at_sort_puts_tasks_without_due_at_last, 3, PRIVATE)
{
    check_sorts(false, 2, 3);
}

GRADED(filters, minus_due_at_sort_also_puts_tasks_without_due_at_last, 3, PRIVATE)
{
    check_sorts(false, 3, 4);
}

GRADED(filters, priority_sort_orders_low_normal_high_with_ties_by_id, 3, PRIVATE)
{
    check_sorts(false, 4, 6);
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
