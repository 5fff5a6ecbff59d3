/* api_concurrency.c — black-box tests of the service under concurrent clients (API.md "If-Match",
 * "Check-and-write is one statement", "Listing: keyset pagination, pages are stable under
 * inserts").
 *
 * Week 1 checks these rules one request at a time; with PostgreSQL and a pool of connections the
 * requests really overlap, which is where a read-then-write If-Match (two writers both see
 * version 1, both win), or an OFFSET cursor (an insert shifts every later row by one: a row is
 * listed twice or skipped) come apart. So the clients here are threads released together at a
 * gate (tk_race), each with its own libcurl handle and keep-alive connection (the kit's request
 * functions keep one handle per process and are not for threads); threads only record what they
 * got, and the test asserts afterwards. Each test runs on a private server with its own fresh
 * database, so counts are exact. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "buf.h"
#include "testkit.h"
#include "tk_race.h"

#define THREADS 8

/* ---- a client for threads ---- */

/* Sends one request on h; returns the status (-1: no answer) and, when body_out is given, the
 * body (the caller frees it). */
static long client_send(CURL *h, const char *url, const char *method, const char *if_match,
                        const char *json, char **body_out)
{
    struct buf body = BUF_INIT;
    struct curl_slist *headers = tk_curl_auth(curl_slist_append(NULL, "Expect:"));
    char line[128];
    if (if_match) {
        snprintf(line, sizeof line, "If-Match: %s", if_match);
        headers = curl_slist_append(headers, line);
    }
    if (json)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_reset(h);
    tk_curl_collect(h, url, headers, &body, NULL);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (json) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    }
    long status = -1;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (body_out) {
        buf_append(&body, "", 0);
        *body_out = buf_steal(&body, NULL);
    } else {
        buf_free(&body);
    }
    return status;
}

/* One racer: opens its connection (GET /health), waits at the gate with the others, then
 * sends its one request. */
struct racer {
    char url[256];
    char health[256];
    const char *method;
    const char *if_match;
    char json[128];
    long status;
};

static void *racer_thread(void *arg)
{
    struct racer *r = arg;
    CURL *h = curl_easy_init();
    if (h)
        client_send(h, r->health, "GET", NULL, NULL, NULL); /* connected before the start */
    tk_race_gate();
    r->status =
        h ? client_send(h, r->url, r->method, r->if_match, r->json[0] ? r->json : NULL, NULL) : -1;
    curl_easy_cleanup(h);
    return NULL;
}

/* Runs THREADS racers of method on /tasks/<id> with If-Match "1"; racer i sends json_i (a title
 * naming i) when with_body. Statuses land in status[]. */
static void race(struct tk_server *s, long long id, const char *method, bool with_body,
                 long status[THREADS], char titles[THREADS][64])
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    struct racer racers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        struct racer *r = &racers[i];
        *r = (struct racer){.method = method, .if_match = "\"1\""};
        snprintf(r->url, sizeof r->url, "%s/tasks/%lld", tk_server_url(s), id);
        snprintf(r->health, sizeof r->health, "%s/health", tk_server_url(s));
        if (with_body) {
            snprintf(titles[i], 64, "racer %d of task %lld", i, id);
            snprintf(r->json, sizeof r->json, "{\"title\":\"%s\"}", titles[i]);
        }
    }
    cr_assert(tk_race(THREADS, racer_thread, racers, sizeof racers[0]) == 0,
              "test bug: could not start %d racing threads: %s", THREADS, strerror(errno));
    for (int i = 0; i < THREADS; i++)
        status[i] = racers[i].status;
}

static const char *statuses(const long status[THREADS], char *buf, size_t len)
{
    size_t o = 0;
    for (int i = 0; i < THREADS && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%ld", i ? " " : "", status[i]);
    return buf;
}

/* ---- If-Match under contention ---- */

/* Races THREADS requests of method (If-Match "1") on a fresh task, round `round` of a test, and
 * asserts that exactly one got `win` and every other one a status in `lose` (a 0-terminated list,
 * spelled `lose_text` in the failure). Returns the task's id; *winner is the winning racer. */
static long long race_one_winner(struct tk_server *s, int round, const char *method,
                                 char titles[THREADS][64], long win, const long *lose,
                                 const char *lose_text, int *winner)
{
    long long id = api_new_task(s);
    long status[THREADS];
    race(s, id, method, titles != NULL, status, titles);
    int won = 0, lost = 0;
    for (int i = 0; i < THREADS; i++) {
        if (status[i] == win) {
            won++;
            *winner = i;
            continue;
        }
        for (const long *l = lose; *l; l++)
            lost += status[i] == *l;
    }
    char got[128];
    cr_assert(won == 1 && lost == THREADS - 1,
              "round %d: %d %s /tasks/%lld with If-Match \"1\" at once: expected exactly one %ld "
              "and %d %s, got statuses %s",
              round + 1, THREADS, method, id, win, THREADS - 1, lose_text,
              statuses(status, got, sizeof got));
    return id;
}

GRADED(concurrency, concurrent_if_match_updates_have_exactly_one_winner, 3,
       .fini = api_private_fini)
{
    struct tk_server *s = api_private();
    static const long lose[] = {412, 0};
    for (int round = 0; round < 10; round++) {
        char titles[THREADS][64];
        int winner = -1;
        long long id = race_one_winner(s, round, "PATCH", titles, 200, lose, "412", &winner);
        char path[64];
        struct tk_response *r = tk_get(s, api_task_path(id, path, sizeof path));
        tk_expect_status(r, 200);
        tk_expect_json_int(r, "version", 2);
        tk_expect_json_str(r, "title", titles[winner]);
        tk_expect_header(r, "ETag", "\"2\"");
        tk_response_free(r);
    }
}

GRADED(concurrency, concurrent_deletes_have_exactly_one_winner, 1, .fini = api_private_fini)
{
    struct tk_server *s = api_private();
    static const long lose[] = {404, 412, 0};
    for (int round = 0; round < 5; round++) {
        int winner = -1;
        long long id = race_one_winner(s, round, "DELETE", NULL, 204, lose, "404 or 412", &winner);
        char path[64];
        struct tk_response *r = tk_get(s, api_task_path(id, path, sizeof path));
        tk_expect_problem(r, 404);
        tk_response_free(r);
    }
}

/* ---- paging while others insert ---- */

struct inserter {
    char url[256];
    atomic_bool stop;
    atomic_int inserted; /* 201s so far */
    atomic_int failed;   /* other answers */
};

#define INSERTS_MAX 400 /* a bound, so that paging in created_at order always reaches the end */

static void *inserter_thread(void *arg)
{
    struct inserter *in = arg;
    CURL *h = curl_easy_init();
    for (int i = 0; h && !atomic_load(&in->stop) && i < INSERTS_MAX; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"title\":\"inserted %d\"}", i);
        if (client_send(h, in->url, "POST", NULL, json, NULL) == 201)
            atomic_fetch_add(&in->inserted, 1);
        else
            atomic_fetch_add(&in->failed, 1);
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* created_at then id, as the listing sorts them: <0, 0, >0. */
static int sort_key_cmp(long long sec_a, long nsec_a, long long id_a, long long sec_b, long nsec_b,
                        long long id_b)
{
    if (sec_a != sec_b)
        return sec_a < sec_b ? -1 : 1;
    if (nsec_a != nsec_b)
        return nsec_a < nsec_b ? -1 : 1;
    return id_a < id_b ? -1 : id_a > id_b ? 1 : 0;
}

/* Pages through GET /tasks?sort=<sort>&limit=7 while a thread inserts tasks, letting at least
 * one insert land between every two pages, and checks what was listed against the 60 tasks that
 * existed when paging began. */
static void page_while_inserting(struct tk_server *s, const char *sort, const long long *orig,
                                 size_t n_orig)
{
    enum { LIMIT = 7, MAX_IDS = 1000 };
    bool ascending = sort[0] != '-';
    static long long seen[MAX_IDS];
    long long prev_sec = 0, prev_id = 0;
    long prev_nsec = 0;
    size_t n = 0;
    int pages = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT); /* before the thread: it is not thread-safe */
    struct inserter *in = calloc(1, sizeof *in);
    cr_assert(in, "out of memory");
    snprintf(in->url, sizeof in->url, "%s/tasks", tk_server_url(s));
    pthread_t t;
    cr_assert(pthread_create(&t, NULL, inserter_thread, in) == 0, "pthread_create failed");

    char cursor[1024] = "", enc[3072], query[4096];
    for (;;) {
        /* Wait for a fresh insert (at most 2 s), so that every page boundary sees the table
         * change under it. */
        int before = atomic_load(&in->inserted);
        for (int w = 0; w < 400 && atomic_load(&in->inserted) == before &&
                        atomic_load(&in->inserted) + atomic_load(&in->failed) < INSERTS_MAX;
             w++)
            tk_sleep_ms(5);
        if (cursor[0])
            snprintf(query, sizeof query, "sort=%s&limit=%d&cursor=%s", sort, LIMIT,
                     tk_urlencode(cursor, enc, sizeof enc));
        else
            snprintf(query, sizeof query, "sort=%s&limit=%d", sort, LIMIT);
        struct tk_response *r = api_list(s, query);
        pages++;
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r->json, "items"))
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
            const cJSON *created = cJSON_GetObjectItemCaseSensitive(item, "created_at");
            long long sec;
            long nsec;
            cr_assert(cJSON_IsNumber(id) && cJSON_IsString(created) &&
                          api_parse_utc(created->valuestring, &sec, &nsec),
                      "%s: expected items with an id and a UTC created_at: %.300s", r->what,
                      r->body);
            long long this_id = (long long)id->valuedouble;
            for (size_t k = 0; k < n; k++)
                cr_assert(seen[k] != this_id,
                          "paging sort=%s while inserting: task %lld was listed twice (page %d, "
                          "%s)",
                          sort, this_id, pages, r->what);
            if (n > 0) {
                int c = sort_key_cmp(sec, nsec, this_id, prev_sec, prev_nsec, prev_id);
                cr_assert(ascending ? c > 0 : c < 0,
                          "paging sort=%s while inserting: task %lld (created_at %s) is listed "
                          "after task %lld, out of order (page %d)",
                          sort, this_id, created->valuestring, prev_id, pages);
                cr_assert(ascending ? this_id > prev_id : this_id < prev_id,
                          "paging sort=%s while inserting: ids should follow creation order, "
                          "got %lld after %lld (page %d)",
                          sort, this_id, prev_id, pages);
            }
            cr_assert(n < MAX_IDS, "paging sort=%s: more than %d ids listed", sort, MAX_IDS);
            seen[n++] = this_id;
            prev_sec = sec;
            prev_nsec = nsec;
            prev_id = this_id;
        }
        const char *next = api_next_cursor(r);
        if (next)
            snprintf(cursor, sizeof cursor, "%s", next);
        tk_response_free(r);
        if (!next)
            break;
        cr_assert(pages < 200, "paging sort=%s: still a next_cursor after 200 pages", sort);
    }
    atomic_store(&in->stop, true);
    pthread_join(t, NULL);
    int inserted = atomic_load(&in->inserted), failed = atomic_load(&in->failed);
    free(in);

    cr_assert(failed == 0, "POST /tasks while paging: %d of %d inserts did not get 201", failed,
              inserted + failed);
    cr_assert(inserted >= pages - 1,
              "test bug: expected an insert between every two pages, got %d inserts for %d pages",
              inserted, pages);
    for (size_t i = 0; i < n_orig; i++) {
        size_t times = 0;
        for (size_t k = 0; k < n; k++)
            times += seen[k] == orig[i];
        cr_assert(times == 1,
                  "paging sort=%s while inserting: task %lld existed when paging began and "
                  "should be listed exactly once, it was listed %zu times",
                  sort, orig[i], times);
    }
}

GRADED(concurrency, paging_under_concurrent_inserts_misses_and_repeats_nothing, 3,
       .fini = api_private_fini)
{
    struct tk_server *s = api_private();
    long long orig[60];
    api_create_many(s, 60, "", orig);
    page_while_inserting(s, "created_at", orig, 60);
    page_while_inserting(s, "-created_at", orig, 60);
}

/* ---- many writers ---- */

struct creator {
    char url[256];
    int index;
    long long ids[25];
    int created;
    long last_bad;
};

static void *creator_thread(void *arg)
{
    struct creator *c = arg;
    CURL *h = curl_easy_init();
    tk_race_gate();
    for (int i = 0; h && i < 25; i++) {
        char json[64], *body = NULL;
        snprintf(json, sizeof json, "{\"title\":\"writer %d task %d\"}", c->index, i);
        long status = client_send(h, c->url, "POST", NULL, json, &body);
        cJSON *doc = body ? cJSON_Parse(body) : NULL;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
        if (status == 201 && cJSON_IsNumber(id))
            c->ids[c->created++] = (long long)id->valuedouble;
        else
            c->last_bad = status;
        cJSON_Delete(doc);
        free(body);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

GRADED(concurrency, parallel_creates_all_land, 1, .fini = api_private_fini)
{
    struct tk_server *s = api_private();
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    static struct creator c[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (struct creator){.index = i};
        snprintf(c[i].url, sizeof c[i].url, "%s/tasks", tk_server_url(s));
    }
    cr_assert(tk_race(THREADS, creator_thread, c, sizeof c[0]) == 0,
              "test bug: could not start %d writer threads: %s", THREADS, strerror(errno));

    static long long created[THREADS * 25];
    size_t n = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert(c[i].created == 25,
                  "%d clients each POSTing 25 tasks at once: client %d got %d answers 201 with an "
                  "id (another was %ld)",
                  THREADS, i, c[i].created, c[i].last_bad);
        for (int k = 0; k < 25; k++)
            created[n++] = c[i].ids[k];
    }
    qsort(created, n, sizeof created[0], cmp_ll);
    for (size_t i = 1; i < n; i++)
        cr_assert(created[i] != created[i - 1], "two POST /tasks answered with the same id %lld",
                  created[i]);

    static long long listed[THREADS * 25 + 1];
    size_t got = api_collect(s, "", 100, listed, THREADS * 25 + 1);
    cr_assert(got == n, "GET /tasks after %zu parallel creates: expected %zu tasks, listed %zu", n,
              n, got);
    qsort(listed, got, sizeof listed[0], cmp_ll);
    for (size_t i = 0; i < n; i++)
        cr_assert(listed[i] == created[i],
                  "GET /tasks after parallel creates: the listed ids differ from the created "
                  "ones (listed %lld where %lld was created)",
                  listed[i], created[i]);
}
