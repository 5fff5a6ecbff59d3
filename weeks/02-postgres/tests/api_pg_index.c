/* api_pg_index.c — black-box tests that GET /tasks pages with its indexes on PostgreSQL.
 *
 * Keyset paging is only fast if each page is one range scan of the sort's index that stops
 * after LIMIT rows; a listing that reads the whole table and sorts it returns the same rows, so
 * no functional test can tell. These tests can: they seed 10 000 rows (three through the API so
 * the owner and the instance's cursor key exist, the rest with psql), then for each sort read
 * PostgreSQL's own counters — idx_scan of the sort's index (pg_stat_user_indexes) and seq_scan
 * of tasks (pg_stat_user_tables) — around a first and a next page, and expect the index used
 * twice and no sequential scan. A plain EXPLAIN of the due_at page's query checks the indexes
 * themselves (the migration's expression must match the query's).
 *
 * The counters are flushed by the server's backend when it goes idle, at most once a second
 * (else after 10 s). The private server has one pooled connection (DB_POOL_SIZE=1), so after
 * the pages a GET /ready a second later runs on that same backend and makes it flush. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "testkit.h"

#define OUT_LEN 16384

/* A private server whose store holds 10 003 tasks of owner 0 (the API's anonymous owner):
 * created_at one second apart, due_at spread over ~14 months with every fourth NULL, priority
 * cycling low/normal/high; analyzed. One pooled connection: see the header. */
static struct tk_server *seeded_server(void)
{
    const char *env[] = {"DB_POOL_SIZE=1", "AUTO_MIGRATE=1", NULL};
    struct tk_server *s = tk_server_start(env);
    for (int i = 0; i < 3; i++)
        api_new_task(s);
    pg_api_psql(
        tk_server_database_url(s),
        "INSERT INTO tasks (owner_id, title, status, priority, due_at, version, created_at, "
        "updated_at) "
        /* The owner of the tasks made through the API (0 until week 4, then the test's user). */
        "SELECT (SELECT owner_id FROM tasks ORDER BY id LIMIT 1), 'bulk ' || g, 'todo', g % 3, "
        "CASE WHEN g % 4 = 0 THEN NULL "
        "ELSE us_to_ts(1790000000000000 + (g * 7919 % 10007)::bigint * 3600000000) END, 1, "
        "us_to_ts(1700000000000000 + g::bigint * 1000000), "
        "us_to_ts(1700000000000000 + g::bigint * 1000000) "
        "FROM generate_series(1, 10000) g; ANALYZE tasks",
        NULL, 0);
    /* Let the backend flush what the POSTs counted, so it is not mistaken for a page's. */
    tk_sleep_ms(1100);
    tk_response_free(tk_get(s, "/ready"));
    return s;
}

static struct tk_server *server;

static void server_fini(void)
{
    tk_server_stop(server);
    server = NULL;
}

/* idx_scan of index and seq_scan of tasks, as the statistics have them now. */
static void counters(const char *url, const char *index, long long *idx, long long *seq)
{
    char sql[512], out[256];
    snprintf(sql, sizeof sql,
             "SELECT (SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '%s') "
             "|| ' ' || (SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tasks')",
             index);
    pg_api_psql(url, sql, out, sizeof out);
    cr_assert(sscanf(out, "%lld %lld", idx, seq) == 2,
              "expected index %s and table tasks in the statistics, psql printed \"%s\"", index,
              out);
}

/* GET /tasks?sort=sort&limit=20, then its next page: the counters must show index read at
 * least twice and no sequential scan of tasks. */
static void expect_sort_uses(struct tk_server *s, const char *sort, const char *index)
{
    const char *url = tk_server_database_url(s);
    long long idx0, seq0, idx, seq;
    counters(url, index, &idx0, &seq0);

    char query[4096], enc[2048];
    snprintf(query, sizeof query, "sort=%s&limit=20", sort);
    struct tk_response *r = api_list(s, query);
    const char *cursor = api_next_cursor(r);
    cr_assert(cursor, "GET /tasks?%s of 10 003 tasks: expected a next_cursor: %s", query, r->body);
    snprintf(query, sizeof query, "sort=%s&limit=20&cursor=%s", sort,
             tk_urlencode(cursor, enc, sizeof enc));
    tk_response_free(r);
    r = api_list(s, query);
    cr_assert(api_next_cursor(r), "GET /tasks?%s: expected a next_cursor on page 2: %s", query,
              r->body);
    tk_response_free(r);

    /* Wait for the backend to flush: a request a second later makes it (see the header). */
    for (int waited = 0;; waited += 1100) {
        tk_sleep_ms(1100);
        tk_response_free(tk_get(s, "/ready"));
        counters(url, index, &idx, &seq);
        if (idx - idx0 >= 2 || waited >= 12000)
            break;
    }
    cr_assert(idx - idx0 >= 2,
              "sort=%s: expected two pages to scan index %s at least twice, its idx_scan went "
              "%lld -> %lld (seq_scan of tasks %lld -> %lld)",
              sort, index, idx0, idx, seq0, seq);
    cr_assert(seq == seq0,
              "sort=%s: expected no sequential scan of tasks for two pages, seq_scan went "
              "%lld -> %lld (idx_scan of %s %lld -> %lld)",
              sort, seq0, seq, index, idx0, idx);
}

/* On a seeded private server: pages sorted by `sort` scan index asc, by `-sort` index desc. */
static void expect_both_directions_use(const char *sort, const char *asc, const char *desc)
{
    char minus[64];
    snprintf(minus, sizeof minus, "-%s", sort);
    server = seeded_server();
    expect_sort_uses(server, sort, asc);
    expect_sort_uses(server, minus, desc);
}

GRADED(index, created_at_pages_scan_tasks_owner_created, 1, .fini = server_fini)
{
    expect_both_directions_use("created_at", "tasks_owner_created", "tasks_owner_created");
}

GRADED(index, due_at_pages_scan_tasks_owner_due_and_due_desc, 1, .fini = server_fini)
{
    expect_both_directions_use("due_at", "tasks_owner_due", "tasks_owner_due_desc");
}

GRADED(index, priority_pages_scan_tasks_owner_priority, 1, .fini = server_fini)
{
    expect_both_directions_use("priority", "tasks_owner_priority", "tasks_owner_priority");
}

GRADED(index, explain_due_at_page_is_one_index_range_scan, 1, .fini = server_fini)
{
    server = seeded_server();
    char plan[OUT_LEN];
    pg_api_psql(
        tk_server_database_url(server),
        "EXPLAIN (FORMAT TEXT) SELECT id FROM tasks WHERE owner_id = 0 "
        "AND (coalesce(due_at, 'infinity'::timestamptz), id) > (us_to_ts(1796115600000000), 5) "
        "ORDER BY coalesce(due_at, 'infinity'::timestamptz), id LIMIT 21",
        plan, sizeof plan);
    cr_assert(strstr(plan, "using tasks_owner_due on tasks"),
              "EXPLAIN of a due_at page over 10 003 rows: expected a scan of index "
              "tasks_owner_due, got:\n%s",
              plan);
    cr_assert(!strstr(plan, "Seq Scan"),
              "EXPLAIN of a due_at page over 10 003 rows: expected no Seq Scan, got:\n%s", plan);
    cr_assert(!strstr(plan, "Sort"),
              "EXPLAIN of a due_at page over 10 003 rows: expected no Sort node (the index "
              "gives the order), got:\n%s",
              plan);
}
