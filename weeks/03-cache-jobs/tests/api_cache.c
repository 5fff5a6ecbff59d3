/* api_cache.c — black-box tests of the cache in front of GET /tasks/{id} (API.md week-3 rows and
 * "Settled details: Cache and readiness").
 *
 * Stage 3 puts Redis (or memcached) in front of the task store, and every 200 of
 * GET /tasks/{id} says whether the cache answered: X-Cache: HIT or MISS. From outside, a cache
 * must be invisible except for that header: a HIT serves exactly the bytes a MISS served, a
 * PATCH or a DELETE that has answered is never followed by an older read (not even while other
 * clients keep refilling the cache), and a cache that goes away only costs speed: requests are
 * served from the database, /ready stays 200, and the cache is used again once it is back —
 * without serving what it held from before the outage.
 *
 * Most tests share the suite's server (each with tasks of its own). Those that need other
 * settings (CACHE_BACKEND, a Redis of their own) start a private server with a fresh database;
 * the outage test kills and restarts a Redis of its own, so the suites running in parallel on
 * the developer's Redis are not disturbed. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api_helpers.h"
#include "api_w3_helpers.h"
#include "buf.h"
#include "testkit.h"

#define OUTAGE_ANSWER_MS 2000  /* longest a request may take while the cache is down */
#define RECOVERY_MS      10000 /* longest the cache may stay unused once it answers again */
#define OUTAGE_TTL       "CACHE_TTL_SECONDS=5" /* the outage test's server: < RECOVERY_MS */

/* ---- one task, read twice ---- */

/* Reads task id twice, expecting a MISS then a HIT: from here on it is in the cache. */
static void read_into_the_cache(struct tk_server *s, long long id)
{
    w3_read_version(s, id, "MISS");
    w3_read_version(s, id, "HIT");
}

GRADED(cache, first_read_is_a_miss_then_reads_are_hits, 1)
{
    struct tk_server *s = tk_shared();
    long long id = api_new_task(s);
    long long v = w3_read_version(s, id, "MISS");
    cr_assert(v == 1, "GET /tasks/%lld of a new task: expected version 1, got %lld", id, v);
    for (int i = 0; i < 3; i++)
        cr_assert(w3_read_version(s, id, "HIT") == 1,
                  "GET /tasks/%lld from the cache: expected version 1", id);
}

GRADED(cache, a_hit_serves_the_same_body_and_etag_as_the_miss, 2)
{
    struct tk_server *s = tk_shared();
    /* Every field with a value that a lossy cached form would change: escapes and non-ASCII
     * text, a due date with microseconds, tags, a status and a priority other than the
     * defaults. */
    static const char body[] =
        "{\"title\":\"cache \\\"body\\\" t\\u00e9st \\u2713\","
        "\"description\":\"line 1\\nline 2\\t\\u00fcn\\u00efcode \\\\ / \\ud83d\\ude00\","
        "\"status\":\"in_progress\",\"priority\":\"high\","
        "\"due_at\":\"2031-05-06T07:08:09.123456Z\",\"tags\":[\"alpha\",\"beta-2\"]}";
    long long id = tk_create_task(s, body);
    struct tk_response *miss = w3_get_task(s, id, "MISS");
    struct tk_response *hit = w3_get_task(s, id, "HIT");
    char miss_etag[64], hit_etag[64], miss_ct[128], hit_ct[128];
    const char *me = tk_header(miss, "ETag", miss_etag, sizeof miss_etag);
    const char *he = tk_header(hit, "ETag", hit_etag, sizeof hit_etag);
    cr_assert(me && he && strcmp(me, he) == 0,
              "GET /tasks/%lld: expected the HIT's ETag to be the MISS's (%s), got %s", id,
              me ? me : "none", he ? he : "none");
    const char *mc = tk_header(miss, "Content-Type", miss_ct, sizeof miss_ct);
    const char *hc = tk_header(hit, "Content-Type", hit_ct, sizeof hit_ct);
    cr_assert(mc && hc && strcmp(mc, hc) == 0,
              "GET /tasks/%lld: expected the HIT's Content-Type to be the MISS's (%s), got %s", id,
              mc ? mc : "none", hc ? hc : "none");
    cr_assert(miss->body_len == hit->body_len && memcmp(miss->body, hit->body, hit->body_len) == 0,
              "GET /tasks/%lld: expected the HIT to serve exactly the MISS's body\n"
              "MISS: %.600s\nHIT:  %.600s",
              id, miss->body, hit->body);
    tk_expect_json_str(hit, "status", "in_progress");
    tk_expect_json_str(hit, "priority", "high");
    api_expect_instant(hit, "due_at", "2031-05-06T07:08:09.123456Z");
    tk_response_free(miss);
    tk_response_free(hit);
}

/* ---- writes invalidate before they answer ---- */

GRADED(cache, a_patch_makes_the_next_read_a_miss_with_the_new_version_then_a_hit, 2)
{
    struct tk_server *s = tk_shared();
    long long id = api_new_task(s);
    read_into_the_cache(s, id);
    for (int round = 1; round <= 3; round++) {
        char title[64];
        snprintf(title, sizeof title, "patched %d", round);
        long long v = w3_patch_title(s, id, title);
        cr_assert(v == round + 1, "PATCH /tasks/%lld (round %d): expected version %d, got %lld", id,
                  round, round + 1, v);
        const char *want[] = {"MISS", "HIT", "HIT"};
        for (int k = 0; k < 3; k++) {
            struct tk_response *r = w3_get_task(s, id, want[k]);
            cr_assert(tk_json_int(r, "version") == v,
                      "%s (X-Cache: %s) right after PATCH returned version %lld: expected version "
                      "%lld, got %lld (a stale entry)",
                      r->what, want[k], v, v, tk_json_int(r, "version"));
            tk_expect_json_str(r, "title", title);
            tk_response_free(r);
        }
    }
}

GRADED(cache, a_delete_makes_the_next_read_a_404_without_x_cache, 1)
{
    struct tk_server *s = tk_shared();
    long long id = api_new_task(s);
    read_into_the_cache(s, id);
    char path[64];
    api_task_path(id, path, sizeof path);
    struct tk_response *r = tk_delete(s, path);
    tk_expect_status(r, 204);
    tk_expect_no_header(r, "X-Cache");
    tk_response_free(r);
    for (int i = 0; i < 3; i++) {
        r = tk_get(s, path);
        cr_assert(r->status == 404,
                  "%s after DELETE returned 204 (read %d): expected 404, got %ld (a deleted task "
                  "served from the cache?): %.300s",
                  r->what, i + 1, r->status, r->body);
        tk_expect_problem(r, 404);
        tk_expect_no_header(r, "X-Cache");
        tk_response_free(r);
    }
}

GRADED(cache, x_cache_is_absent_on_a_404_of_a_task_that_never_existed, 1)
{
    struct tk_server *s = tk_shared();
    static const char *const paths[] = {"/tasks/999999999", "/tasks/999999999",
                                        "/tasks/9223372036854775807", "/tasks/007"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct tk_response *r = tk_get(s, paths[i]);
        tk_expect_problem(r, 404);
        tk_expect_no_header(r, "X-Cache");
        tk_response_free(r);
    }
}

GRADED(cache, x_cache_is_only_on_get_of_a_task, 1)
{
    struct tk_server *s = tk_shared();
    char title[96], body[160], path[64];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", tk_unique("x-cache", title, sizeof title));
    struct tk_response *r = tk_post_json(s, "/tasks", body);
    tk_expect_status(r, 201);
    tk_expect_no_header(r, "X-Cache");
    long long id = tk_json_int(r, "id");
    tk_response_free(r);
    api_task_path(id, path, sizeof path);

    read_into_the_cache(s, id); /* a cached entry now: a PATCH must still not say HIT */
    r = tk_patch_json(s, path, "{\"status\":\"done\"}");
    tk_expect_status(r, 200);
    tk_expect_no_header(r, "X-Cache");
    tk_response_free(r);
    r = api_patch_if_match(s, id, "{\"status\":\"todo\"}", "\"1\"");
    tk_expect_problem(r, 412);
    tk_expect_no_header(r, "X-Cache");
    tk_response_free(r);

    read_into_the_cache(s, id);
    r = tk_delete(s, path);
    tk_expect_status(r, 204);
    tk_expect_no_header(r, "X-Cache");
    tk_response_free(r);
}

/* ---- no stale read with concurrent readers ---- */

#define READERS     4
#define PATCHES     400 /* the first half each followed by a read, then runs of four */
#define RUN         4
#define SAMPLES_MAX 200000 /* per reader: far more than a run takes */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What one reader saw: a request that started at start_us answered this version. */
struct sample {
    int64_t start_us;
    long long version;
};

struct reader {
    char url[256];
    atomic_bool *stop;
    struct sample *samples;
    size_t n;
    int hits, misses;
    int bad; /* answers that were not 200 with X-Cache and a version */
    char bad_why[256];
};

/* X-Cache's value in a raw header block: 'H' (HIT), 'M' (MISS), 0 (absent or other). */
static char x_cache_of(const char *headers)
{
    for (const char *line = headers; line && *line;) {
        if (strncasecmp(line, "X-Cache:", 8) == 0) {
            const char *v = line + 8 + strspn(line + 8, " \t");
            if (strncmp(v, "HIT\r", 4) == 0 || strncmp(v, "HIT\n", 4) == 0)
                return 'H';
            if (strncmp(v, "MISS\r", 5) == 0 || strncmp(v, "MISS\n", 5) == 0)
                return 'M';
            return 0;
        }
        const char *eol = strchr(line, '\n');
        line = eol ? eol + 1 : NULL;
    }
    return 0;
}

/* One reader: its own libcurl handle and keep-alive connection (the kit's request functions
 * share one handle per process and are not for threads), GETting the task until told to stop
 * and recording only what it saw; the test judges afterwards. */
static void *reader_thread(void *arg)
{
    struct reader *rd = arg;
    CURL *h = curl_easy_init();
    if (!h) {
        rd->bad++;
        snprintf(rd->bad_why, sizeof rd->bad_why, "curl_easy_init failed");
        return NULL;
    }
    struct curl_slist *auth = tk_curl_auth(NULL); /* week 4 on: a logged-in user */
    while (!atomic_load(rd->stop) && rd->n < SAMPLES_MAX) {
        struct buf body = BUF_INIT, head = BUF_INIT;
        curl_easy_reset(h);
        tk_curl_collect(h, rd->url, auth, &body, &head);
        int64_t start = now_us();
        long status = -1;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        buf_append(&body, "", 1);
        buf_append(&head, "", 1);
        char *text = buf_steal(&body, NULL), *headers = buf_steal(&head, NULL);
        cJSON *doc = text ? cJSON_Parse(text) : NULL;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "version");
        char x = headers ? x_cache_of(headers) : 0;
        if (status == 200 && cJSON_IsNumber(v) && x) {
            rd->samples[rd->n++] = (struct sample){start, (long long)v->valuedouble};
            if (x == 'H')
                rd->hits++;
            else
                rd->misses++;
        } else {
            rd->bad++;
            snprintf(rd->bad_why, sizeof rd->bad_why, "status %ld, X-Cache %s, body %.120s", status,
                     x ? "present" : "absent or not HIT/MISS", text ? text : "");
        }
        cJSON_Delete(doc);
        free(text);
        free(headers);
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(auth);
    return NULL;
}

/* The version of the newest PATCH that had returned before t (0: none had). */
static long long returned_before(const int64_t done_us[], const long long version[], int n,
                                 int64_t t)
{
    int lo = 0, hi = n; /* done_us is increasing: the first index with done_us >= t */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (done_us[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : version[lo - 1];
}

/* The race a version guard exists for: a reader misses, reads version v from the database, and
 * is slow to put it in the cache; meanwhile a writer commits v+1 and invalidates; then the
 * reader's put lands, and every later read is a HIT on v. It needs a reader and a writer really
 * running at once inside the server, so the server here serves each connection on a thread of
 * its own (with the default two event loops most requests simply queue behind each other), and
 * the second half of the PATCHes come in runs of RUN with no read of ours between them, so the
 * cache is often empty while the next write commits. Against a plain "delete on write" this
 * failed in 10 runs of the suite out of 10; against one that does not invalidate at all, at
 * the first PATCH. */
GRADED(cache, no_stale_read_after_a_patch_returned_even_with_concurrent_readers, 3, .timeout = 120,
       .fini = w3_private_fini)
{
    struct tk_server *s = w3_private((const char *const[]){"HTTP_MODE=thread", NULL});
    long long id = api_new_task(s);
    w3_read_version(s, id, NULL); /* the first entry, so readers start on hits */

    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    /* Static: if an assertion of the writer ends the test early, the readers still running
     * must not be left pointing into a stack frame that is gone. */
    static atomic_bool stop;
    static struct reader readers[READERS];
    static pthread_t t[READERS];
    atomic_init(&stop, false);
    for (int i = 0; i < READERS; i++) {
        readers[i] = (struct reader){.stop = &stop};
        snprintf(readers[i].url, sizeof readers[i].url, "%s/tasks/%lld", tk_server_url(s), id);
        readers[i].samples = malloc(SAMPLES_MAX * sizeof *readers[i].samples);
        cr_assert(readers[i].samples, "out of memory");
    }
    for (int i = 0; i < READERS; i++)
        cr_assert(pthread_create(&t[i], NULL, reader_thread, &readers[i]) == 0,
                  "pthread_create failed");

    /* The writer: sequential PATCHes; after each has returned, its version must be what every
     * later read shows, from here and from the readers. The main thread's own reads are judged
     * at once (its handle is the kit's); the readers' afterwards. */
    static int64_t done_us[PATCHES];
    static long long version[PATCHES];
    int stale_round = -1;
    long long stale_seen = 0;
    char stale_cache[16] = "";
    for (int i = 0; i < PATCHES; i++) {
        char title[64];
        snprintf(title, sizeof title, "round %d", i + 1);
        version[i] = w3_patch_title(s, id, title);
        done_us[i] = now_us();
        if (i >= PATCHES / 2 && i % RUN != RUN - 1)
            continue; /* within a run: the next PATCH follows at once */
        char path[64];
        struct tk_response *r = tk_get(s, api_task_path(id, path, sizeof path));
        long long seen = r->status == 200 && r->json ? tk_json_int(r, "version") : -1;
        if (seen < version[i] && stale_round < 0) {
            stale_round = i + 1;
            stale_seen = seen;
            if (!tk_header(r, "X-Cache", stale_cache, sizeof stale_cache))
                snprintf(stale_cache, sizeof stale_cache, "none");
        }
        tk_response_free(r);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);

    int hits = 0, misses = 0;
    for (int i = 0; i < READERS; i++) {
        hits += readers[i].hits;
        misses += readers[i].misses;
    }
    /* Judge everything before asserting, so the samples are freed either way. */
    char fault[512] = "";
    if (stale_round > 0) {
        snprintf(fault, sizeof fault,
                 "GET /tasks/%lld right after PATCH %d of %d returned version %lld: expected "
                 "version %lld or newer, got %lld (X-Cache: %s)",
                 id, stale_round, PATCHES, version[stale_round - 1], version[stale_round - 1],
                 stale_seen, stale_cache);
    }
    for (int i = 0; i < READERS && !fault[0]; i++) {
        const struct reader *rd = &readers[i];
        if (rd->bad > 0) {
            snprintf(fault, sizeof fault,
                     "reader %d of %d: %d GET /tasks/%lld were not 200 with X-Cache and a "
                     "version (the last: %s)",
                     i + 1, READERS, rd->bad, id, rd->bad_why);
            break;
        }
        for (size_t k = 0; k < rd->n; k++) {
            long long floor = returned_before(done_us, version, PATCHES, rd->samples[k].start_us);
            if (rd->samples[k].version < floor) {
                snprintf(fault, sizeof fault,
                         "reader %d of %d: a GET /tasks/%lld started after the PATCH that made "
                         "version %lld had returned, yet it showed version %lld (a stale cache "
                         "entry refilled after the invalidation?)",
                         i + 1, READERS, id, floor, rd->samples[k].version);
                break;
            }
        }
    }
    size_t reads = 0;
    for (int i = 0; i < READERS; i++) {
        reads += readers[i].n;
        free(readers[i].samples);
    }
    cr_assert(!fault[0], "%s", fault);
    cr_assert(reads >= READERS,
              "test bug: expected the %d readers to read while %d PATCHes ran, they read %zu times",
              READERS, PATCHES, reads);
    cr_assert(hits > 0,
              "GET /tasks/%lld by %d readers during %d PATCHes: expected some X-Cache: HIT (the "
              "cache must be used between the writes), got %d MISS and no HIT",
              id, READERS, PATCHES, misses);
}

/* ---- the other backends ---- */

GRADED(cache, memcached_backend_misses_then_hits_and_invalidates_on_write, 2,
       .fini = w3_private_fini)
{
    tk_need_local("a server of its own on memcached");
    const char *mc = getenv("MEMCACHED_URL");
    cr_assert(mc && *mc, "MEMCACHED_URL is not set: run this suite through `make test-week-3` "
                         "(or load .run/services.env after `services.sh up`)");
    struct tk_server *s = w3_private((const char *const[]){"CACHE_BACKEND=memcached", NULL});
    w3_expect_ready_check(s, "memcached", "ok");
    long long id = api_new_task(s);
    cr_assert(w3_read_version(s, id, "MISS") == 1, "expected version 1");
    cr_assert(w3_read_version(s, id, "HIT") == 1, "expected version 1 from memcached");
    long long v = w3_patch_title(s, id, "patched on memcached");
    for (int k = 0; k < 2; k++) {
        struct tk_response *r = w3_get_task(s, id, k == 0 ? "MISS" : "HIT");
        cr_assert(tk_json_int(r, "version") == v,
                  "%s after PATCH returned version %lld (memcached): expected version %lld, got "
                  "%lld",
                  r->what, v, v, tk_json_int(r, "version"));
        tk_expect_json_str(r, "title", "patched on memcached");
        tk_response_free(r);
    }
    char path[64];
    struct tk_response *r = tk_delete(s, api_task_path(id, path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);
    r = tk_get(s, path);
    tk_expect_problem(r, 404);
    tk_expect_no_header(r, "X-Cache");
    tk_response_free(r);
}

GRADED(cache, no_cache_backend_answers_every_read_with_miss, 1, .fini = w3_private_fini)
{
    struct tk_server *s = w3_private((const char *const[]){"CACHE_BACKEND=none", NULL});
    w3_expect_ready_check(s, "memcached", NULL);
    long long id = api_new_task(s);
    for (int i = 0; i < 3; i++)
        cr_assert(w3_read_version(s, id, "MISS") == 1, "expected version 1");
    long long v = w3_patch_title(s, id, "patched without a cache");
    for (int i = 0; i < 2; i++)
        cr_assert(w3_read_version(s, id, "MISS") == v, "expected version %lld", v);
}

/* ---- the cache goes away and comes back ---- */

static char redis_dir[64]; /* the outage test's own Redis, "" when none */

/* Runs after the outage test, passed or failed: the server first (it holds connections), then
 * the Redis and its directory. */
static void outage_fini(void)
{
    w3_private_fini();
    w3_redis_destroy(redis_dir);
}

/* GET /tasks/<id> while the cache is down or coming back: 200 from the database, promptly, with
 * version want. Returns X-Cache's value, 'H' or 'M'. */
static char read_during_outage(struct tk_server *s, long long id, long long want, const char *when)
{
    char path[64], x[16], etag[64], want_etag[64];
    long start = tk_now_ms();
    struct tk_response *r = tk_get(s, api_task_path(id, path, sizeof path));
    long took = tk_now_ms() - start;
    cr_assert(r->status == 200,
              "%s %s: expected 200 from the database (the cache is optional), got %ld after %ld "
              "ms: %.300s",
              r->what, when, r->status, took, r->body);
    cr_assert(tk_header(r, "X-Cache", x, sizeof x) &&
                  (strcmp(x, "HIT") == 0 || strcmp(x, "MISS") == 0),
              "%s %s: expected X-Cache HIT or MISS on the 200", r->what, when);
    cr_assert(tk_json_int(r, "version") == want,
              "%s %s: expected version %lld (the last PATCH had returned it), got %lld with "
              "X-Cache: %s",
              r->what, when, want, tk_json_int(r, "version"), x);
    snprintf(want_etag, sizeof want_etag, "\"%lld\"", want);
    const char *e = tk_header(r, "ETag", etag, sizeof etag);
    cr_assert(e && strcmp(e, want_etag) == 0, "%s %s: expected ETag %s, got %s (X-Cache: %s)",
              r->what, when, want_etag, e ? e : "none", x);
    cr_assert(took <= OUTAGE_ANSWER_MS, "%s %s: expected an answer within %d ms, it took %ld ms",
              r->what, when, OUTAGE_ANSWER_MS, took);
    tk_response_free(r);
    return x[0];
}

GRADED(cache, a_cache_outage_degrades_to_the_database_then_the_cache_is_used_again, 3,
       .timeout = 90, .fini = outage_fini)
{
    char url[256], setting[300];
    w3_redis_start("cache-outage", redis_dir, sizeof redis_dir, url, sizeof url);
    snprintf(setting, sizeof setting, "REDIS_URL=%s", url);
    /* A short TTL: after a write whose invalidation failed the service may ignore the cache for
     * one TTL (the old entry may still be there), and it must come back within RECOVERY_MS. */
    struct tk_server *s =
        w3_private((const char *const[]){setting, "CACHE_BACKEND=redis", OUTAGE_TTL, NULL});
    w3_expect_ready_check(s, "redis", "ok");
    long long id = api_new_task(s);
    read_into_the_cache(s, id);

    /* SIGKILL: Redis keeps what it had written (append-only file), so when it comes back it
     * still holds version 1 of the task, until that entry's TTL runs out. */
    w3_services(redis_dir, "kill", "redis");

    for (int i = 0; i < 3; i++) {
        char x = read_during_outage(s, id, 1, "while the cache is down");
        cr_assert(x == 'M',
                  "GET /tasks/%lld while the cache is down: expected X-Cache: MISS, got "
                  "HIT",
                  id);
    }
    long start = tk_now_ms();
    long long v = w3_patch_title(s, id, "patched while the cache was down");
    long took = tk_now_ms() - start;
    cr_assert(took <= OUTAGE_ANSWER_MS,
              "PATCH /tasks/%lld while the cache is down: expected 200 within %d ms, it took %ld "
              "ms",
              id, OUTAGE_ANSWER_MS, took);
    cr_assert(read_during_outage(s, id, v, "after a PATCH while the cache is down") == 'M',
              "GET /tasks/%lld while the cache is down: expected X-Cache: MISS", id);
    start = tk_now_ms();
    w3_expect_ready_check(s, "redis", "down");
    took = tk_now_ms() - start;
    cr_assert(took <= OUTAGE_ANSWER_MS,
              "GET /ready while the cache is down: expected an answer within %d ms, it took %ld "
              "ms",
              OUTAGE_ANSWER_MS, took);

    w3_services(redis_dir, "start", "redis");

    /* Every read must show the version the PATCH returned, and the first HIT above all: a
     * service that trusts the cache again as soon as it answers serves version 1, which Redis
     * kept through the crash and which the failed invalidation could not replace. */
    long back = tk_now_ms();
    int reads = 0;
    char x = 'M';
    while (x != 'H' && tk_now_ms() - back <= RECOVERY_MS) {
        x = read_during_outage(s, id, v, "after the cache came back");
        reads++;
        if (x != 'H')
            tk_sleep_ms(100);
    }
    cr_assert(x == 'H',
              "GET /tasks/%lld after the cache came back: expected X-Cache: HIT within %d ms (no "
              "restart needed), still MISS after %d reads",
              id, RECOVERY_MS, reads);
    w3_expect_ready_check(s, "redis", "ok");

    /* And writes invalidate again. */
    long long v2 = w3_patch_title(s, id, "patched after the cache came back");
    cr_assert(w3_read_version(s, id, "MISS") == v2,
              "GET /tasks/%lld after a PATCH returned version %lld: expected that version", id, v2);
    cr_assert(w3_read_version(s, id, "HIT") == v2,
              "GET /tasks/%lld from the cache after a PATCH returned version %lld: expected that "
              "version",
              id, v2);
}

/* ---- two instances: a write that could not reach the cache ---- */

static char pause_redis_dir[64]; /* the two-instance test's own Redis, "" when none */
static struct tk_server *second; /* its instance B (A is the private server) */

static void two_instances_fini(void)
{
    tk_server_stop(second);
    second = NULL;
    w3_private_fini();
    w3_redis_destroy(pause_redis_dir);
}

/* redis-cli -u url <args...>, which must answer OK. */
static void redis_cli(const char *url, const char *a1, const char *a2, const char *a3,
                      const char *a4)
{
    char out[256];
    const char *const argv[] = {"/usr/bin/env", "redis-cli", "-u", url, a1, a2, a3, a4, NULL};
    int status = tk_run(argv, NULL, out, sizeof out);
    cr_assert(status == 0 && strstr(out, "OK"), "redis-cli %s %s %s %s: exit %d, said: %s", a1,
              a2 ? a2 : "", a3 ? a3 : "", a4 ? a4 : "", status, out);
}

/* Redis that serves reads but takes no writes (paused, out of memory) for a moment: the PATCH on
 * instance A cannot invalidate the entry that instance B filled. The PATCH may still answer 200
 * (the database is the truth), but then no instance may serve the old version afterwards — not
 * A, which knows its invalidation failed, and not B, which does not. */
GRADED(cache, a_write_that_could_not_invalidate_is_not_followed_by_a_stale_hit_on_another_instance,
       3, .timeout = 90, .fini = two_instances_fini)
{
    char url[256], setting[300], db[512];
    w3_redis_start("cache-pause", pause_redis_dir, sizeof pause_redis_dir, url, sizeof url);
    snprintf(setting, sizeof setting, "REDIS_URL=%s", url);
    /* A TTL far longer than the test: only an invalidation can make B drop version 1. */
    struct tk_server *a = w3_private(
        (const char *const[]){setting, "CACHE_BACKEND=redis", "CACHE_TTL_SECONDS=120", NULL});
    snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(a));
    second = tk_server_start((const char *const[]){db, NULL});
    struct tk_server *b = second;

    long long id = api_new_task(a);
    read_into_the_cache(b, id); /* B: MISS, then HIT version 1 */

    redis_cli(url, "CLIENT", "PAUSE", "4000", "WRITE");
    long long v = w3_patch_title(a, id, "patched while the cache took no writes");
    redis_cli(url, "CLIENT", "UNPAUSE", NULL, NULL);

    for (int i = 0; i < 3; i++) {
        struct tk_response *r = w3_get_task(b, id, NULL);
        char x[16] = "";
        tk_header(r, "X-Cache", x, sizeof x);
        cr_assert(tk_json_int(r, "version") == v,
                  "%s on instance B after the PATCH on instance A returned version %lld (its "
                  "invalidation could not reach the paused Redis): expected version %lld, got "
                  "version %lld with X-Cache: %s — B served the entry A could not invalidate",
                  r->what, v, v, tk_json_int(r, "version"), x);
        tk_response_free(r);
    }
    cr_assert(w3_read_version(a, id, NULL) == v, "GET /tasks/%lld on instance A: expected %lld", id,
              v);
}
