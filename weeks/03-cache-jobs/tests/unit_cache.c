/* unit_cache.c — the versioned cache (cache.h), graded against both backends.
 *
 * Each CACHE_TEST is written once and graded twice: in suite cache_redis against the Redis at
 * REDIS_URL and in suite cache_memcached against the memcached at MEMCACHED_URL. The two
 * backends reach atomicity in different ways (a Lua script, a gets/cas loop), and these tests
 * are how they prove they agree on what is stored: the version rules of put and invalidate,
 * tombstones, TTLs, concurrent writers, and an answer (not a hang) when the server is gone.
 *
 * The servers are shared with other tests running at the same time, so every test works under
 * keys of its own: a random prefix per test. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache.h"
#include "err.h"
#include "log.h"
#include "task.h"
#include "task_repo.h"
#include "task_repo_cached.h"
#include "task_repo_factory.h"
#include "testkit.h"
#include "tk_race.h"

enum backend { BACKEND_REDIS, BACKEND_MEMCACHED };

#define TTL 60 /* seconds: longer than any test, short enough to clean up after it */

/* The test's cache and key prefix; the macro below opens and frees them. */
struct fixture {
    enum backend backend;
    struct cache *cache;
    char prefix[48]; /* "unit-cache:<random hex>" */
};

static const char *backend_url(enum backend b)
{
    const char *var = b == BACKEND_REDIS ? "REDIS_URL" : "MEMCACHED_URL";
    const char *url = getenv(var);
    cr_assert(url && *url,
              "%s is not set: run this suite through `make test-week-3`, which starts the "
              "services and exports their addresses",
              var);
    return url;
}

static struct cache *open_url(const char *url)
{
    struct cache *c = NULL;
    int rc = cache_open(url, &c);
    cr_assert_eq(rc, 0, "expected cache_open(\"%s\") to succeed, got %d (%s)", url, rc,
                 err_str(rc));
    cr_assert_not_null(c, "expected a cache from %s, got NULL", url);
    return c;
}

static void fixture_open(struct fixture *f, enum backend b)
{
    /* As in main(): a write to a connection the server has closed must be an error, not a
     * signal that kills the process. */
    signal(SIGPIPE, SIG_IGN);
    uint64_t r = 0;
    cr_assert_eq(getrandom(&r, sizeof r, 0), (ssize_t)sizeof r, "test bug: getrandom failed");
    snprintf(f->prefix, sizeof f->prefix, "unit-cache:%016llx", (unsigned long long)r);
    f->backend = b;
    f->cache = open_url(backend_url(b));
}

/* "<prefix>:<name>" into buf. */
static const char *key_of(const struct fixture *f, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s:%s", f->prefix, name);
    cr_assert(n > 0 && (size_t)n < len, "test bug: key %s does not fit", name);
    return buf;
}

/* Runs a test body on a fixture of backend b. */
static void with_fixture(enum backend b, void (*body)(struct fixture *))
{
    struct fixture f;
    fixture_open(&f, b);
    body(&f);
    cache_free(f.cache);
}

/* Declares a test body and grades it once per backend. */
#define CACHE_TEST(name, points)                                                                   \
    static void name(struct fixture *f);                                                           \
    GRADED(cache_redis, name, points, .timeout = 20)                                               \
    {                                                                                              \
        with_fixture(BACKEND_REDIS, name);                                                         \
    }                                                                                              \
    GRADED(cache_memcached, name, points, .timeout = 20)                                           \
    {                                                                                              \
        with_fixture(BACKEND_MEMCACHED, name);                                                     \
    }                                                                                              \
    static void name(struct fixture *f)

/* ------------------------------------------------------------------ assertions */

static void expect_put(struct cache *c, const char *key, int64_t version, const char *val,
                       int ttl_s, bool want_stored)
{
    bool stored = !want_stored;
    int rc = cache_put(c, key, version, val, ttl_s, &stored);
    cr_assert_eq(rc, 0, "expected put(%s, v%lld) to answer 0, got %d (%s)", key, (long long)version,
                 rc, err_str(rc));
    cr_assert_eq(stored, want_stored, "expected put(%s, v%lld) %s, it was %s", key,
                 (long long)version, want_stored ? "to be stored" : "to be refused",
                 stored ? "stored" : "refused");
}

static void expect_invalidate(struct cache *c, const char *key, int64_t version, int ttl_s)
{
    int rc = cache_invalidate(c, key, version, ttl_s);
    cr_assert_eq(rc, 0, "expected invalidate(%s, v%lld) to answer 0, got %d (%s)", key,
                 (long long)version, rc, err_str(rc));
}

static void expect_hit(struct cache *c, const char *key, const char *want_val, int64_t want_version)
{
    char *val = NULL;
    int64_t version = -1;
    int rc = cache_get(c, key, &val, &version);
    cr_assert_eq(rc, 0, "expected get(%s) to find v%lld \"%s\", got %d (%s)", key,
                 (long long)want_version, want_val, rc, err_str(rc));
    cr_assert_not_null(val, "expected get(%s) to return a value, got NULL", key);
    cr_assert_str_eq(val, want_val, "expected get(%s) = \"%s\", got \"%s\"", key, want_val, val);
    cr_assert_eq(version, want_version, "expected get(%s) to say version %lld, got %lld", key,
                 (long long)want_version, (long long)version);
    free(val);
}

static void expect_miss(struct cache *c, const char *key)
{
    char *val = NULL;
    int64_t version = -1;
    int rc = cache_get(c, key, &val, &version);
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected get(%s) to miss (ERR_NOT_FOUND), got %d (%s)%s%s",
                 key, rc, err_str(rc), val ? " with value " : "", val ? val : "");
    cr_assert_null(val, "expected no value from a miss on %s", key);
}

/* One step of a scenario on one key: a put (stored or refused, as `stored` says), an
 * invalidate, or a get that must hit (val, version) or miss. */
enum op { PUT, INVALIDATE, HIT, MISS };

struct step {
    enum op op;
    int64_t version;
    const char *val;
    bool stored;
};

static void run_steps(const struct fixture *f, const char *name, const struct step *steps, size_t n)
{
    char key[96];
    key_of(f, name, key, sizeof key);
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        if (s->op == PUT)
            expect_put(f->cache, key, s->version, s->val, TTL, s->stored);
        else if (s->op == INVALIDATE)
            expect_invalidate(f->cache, key, s->version, TTL);
        else if (s->op == HIT)
            expect_hit(f->cache, key, s->val, s->version);
        else
            expect_miss(f->cache, key);
    }
}

/* ------------------------------------------------------------------ the version rules */

CACHE_TEST(a_miss_then_a_put_then_a_hit_with_its_version, 2)
{
    char key[96];
    key_of(f, "task", key, sizeof key);
    expect_miss(f->cache, key);
    /* Any text without NUL is a value, including what looks like an entry's own header. */
    const char *val = "{\"title\":\"caf\xc3\xa9\"}\nv 99\nt 7 second line";
    expect_put(f->cache, key, 3, val, TTL, true);
    expect_hit(f->cache, key, val, 3);
    expect_put(f->cache, key_of(f, "empty", key, sizeof key), 1, "", TTL, true);
    expect_hit(f->cache, key, "", 1);
}

CACHE_TEST(a_put_of_an_older_or_the_same_version_is_refused_and_a_newer_one_stored, 2)
{
    static const struct step steps[] = {
        {PUT, 5, "five", true}, {PUT, 4, "four", false}, {PUT, 5, "five again", false},
        {HIT, 5, "five", true}, {PUT, 6, "six", true},   {HIT, 6, "six", true},
    };
    run_steps(f, "task", steps, sizeof steps / sizeof steps[0]);
}

CACHE_TEST(an_invalidated_key_is_a_miss, 2)
{
    static const struct step cached[] = {
        {PUT, 2, "two", true}, {INVALIDATE, 3, NULL, true}, {MISS, 0, NULL, false}};
    static const struct step never_cached[] = {{INVALIDATE, 1, NULL, true}, {MISS, 0, NULL, false}};
    run_steps(f, "task", cached, sizeof cached / sizeof cached[0]);
    run_steps(f, "never-cached", never_cached, sizeof never_cached / sizeof never_cached[0]);
}

CACHE_TEST(a_put_older_than_the_tombstone_is_refused_and_one_of_its_version_stored, 3)
{
    static const struct step steps[] = {
        {INVALIDATE, 7, NULL, true}, {PUT, 6, "six, read before the write", false},
        {MISS, 0, NULL, false},      {PUT, 7, "seven", true},
        {HIT, 7, "seven", true},
    };
    run_steps(f, "task", steps, sizeof steps / sizeof steps[0]);
}

CACHE_TEST(an_invalidate_older_than_what_the_key_holds_leaves_it, 2)
{
    static const struct step steps[] = {
        {PUT, 9, "nine", true},
        {INVALIDATE, 8, NULL, true},
        {HIT, 9, "nine", true},
        /* The value of the very version the write produced is right, and stays. */
        {INVALIDATE, 9, NULL, true},
        {HIT, 9, "nine", true},
        /* A newer tombstone is not replaced by an older one: a put between them stays refused. */
        {INVALIDATE, 11, NULL, true},
        {INVALIDATE, 10, NULL, true},
        {PUT, 10, "ten", false},
        {MISS, 0, NULL, false},
    };
    run_steps(f, "task", steps, sizeof steps / sizeof steps[0]);
}

CACHE_TEST(values_and_tombstones_expire_after_their_ttl, 2)
{
    char value_key[96], tomb_key[96], kept_key[96];
    key_of(f, "value", value_key, sizeof value_key);
    key_of(f, "tombstone", tomb_key, sizeof tomb_key);
    key_of(f, "kept", kept_key, sizeof kept_key);
    expect_put(f->cache, value_key, 1, "short-lived", 1, true);
    expect_invalidate(f->cache, tomb_key, 5, 1);
    expect_put(f->cache, kept_key, 1, "long-lived", TTL, true);
    tk_sleep_ms(1500);
    expect_miss(f->cache, value_key);
    expect_put(f->cache, tomb_key, 4, "older than the expired tombstone", TTL, true);
    expect_hit(f->cache, tomb_key, "older than the expired tombstone", 4);
    expect_hit(f->cache, kept_key, "long-lived", 1);
}

/* ------------------------------------------------------------------ concurrency */

#define RACERS 8

struct racer {
    struct cache *cache;
    const char *key;
    int from, to; /* puts versions from..to, in order */
    int failures; /* calls that did not answer 0 */
    int last_rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    tk_race_gate();
    for (int v = r->from; v <= r->to; v++) {
        char val[32];
        snprintf(val, sizeof val, "value %d", v);
        int rc = cache_put(r->cache, r->key, v, val, TTL, NULL);
        if (rc != 0) {
            r->failures++;
            r->last_rc = rc;
        }
    }
    return NULL;
}

/* RACERS threads put on key at once, racer i versions from[i]..to[i]; then the key must hold
 * the newest version of all. */
static void race_on(struct fixture *f, const char *key, const int *from, const int *to, int newest)
{
    struct racer racers[RACERS];
    for (int i = 0; i < RACERS; i++)
        racers[i] = (struct racer){.cache = f->cache, .key = key, .from = from[i], .to = to[i]};
    cr_assert_eq(tk_race(RACERS, race, racers, sizeof racers[0]), 0,
                 "test bug: could not start %d racing threads: %s", RACERS, strerror(errno));
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(racers[i].failures, 0,
                     "expected every put of racer %d on %s to answer 0, %d did not (last: %d, %s)",
                     i, key, racers[i].failures, racers[i].last_rc, err_str(racers[i].last_rc));
    char want[32];
    snprintf(want, sizeof want, "value %d", newest);
    expect_hit(f->cache, key, want, newest);
}

CACHE_TEST(concurrent_puts_leave_the_newest_version, 3)
{
    char key[96];
    /* Every racer puts 1..50 on one key. */
    int from[RACERS], to[RACERS];
    for (int i = 0; i < RACERS; i++) {
        from[i] = 1;
        to[i] = 50;
    }
    race_on(f, key_of(f, "raced", key, sizeof key), from, to, 50);
    /* Racer i puts version i+1 on a key nobody has written: all of them find it absent at
     * about the same time, and only an atomic "store if still absent" keeps the newest. */
    for (int round = 0; round < 20; round++) {
        char name[16];
        snprintf(name, sizeof name, "first-%d", round);
        for (int i = 0; i < RACERS; i++)
            from[i] = to[i] = i + 1;
        race_on(f, key_of(f, name, key, sizeof key), from, to, RACERS);
    }
}

/* ------------------------------------------------------------------ failures and limits */

CACHE_TEST(an_unreachable_server_is_unavailable_quickly_not_a_hang, 2)
{
    log_set_level(LOG_ERROR + 1); /* the expected "unreachable" line is noise here */
    const char *url =
        f->backend == BACKEND_REDIS ? "redis://127.0.0.1:1/0" : "memcached://127.0.0.1:1";
    struct cache *c = open_url(url); /* opening needs no server */
    long t0 = tk_now_ms();
    for (int round = 1; round <= 2; round++) { /* the second round meets the fail-fast path */
        char *val = NULL;
        int64_t version = 0;
        bool stored = true;
        int rc = cache_get(c, "some:key", &val, &version);
        cr_assert_eq(rc, ERR_UNAVAILABLE,
                     "expected get to answer ERR_UNAVAILABLE (round %d), got %d (%s)", round, rc,
                     err_str(rc));
        cr_assert_null(val, "expected no value from a failed get");
        rc = cache_put(c, "some:key", 1, "v", TTL, &stored);
        cr_assert_eq(rc, ERR_UNAVAILABLE,
                     "expected put to answer ERR_UNAVAILABLE (round %d), got %d (%s)", round, rc,
                     err_str(rc));
        cr_assert_not(stored, "expected a failed put to say it stored nothing");
        rc = cache_invalidate(c, "some:key", 1, TTL);
        cr_assert_eq(rc, ERR_UNAVAILABLE,
                     "expected invalidate to answer ERR_UNAVAILABLE (round %d), got %d (%s)", round,
                     rc, err_str(rc));
        rc = cache_ping(c);
        cr_assert_eq(rc, ERR_UNAVAILABLE,
                     "expected ping to answer ERR_UNAVAILABLE (round %d), got %d (%s)", round, rc,
                     err_str(rc));
    }
    long took = tk_now_ms() - t0;
    cr_assert(took < 1000, "expected eight calls to a closed port to fail within 1 s, took %ld ms",
              took);
    cache_free(c);
}

CACHE_TEST(ping_answers_when_the_server_does, 1)
{
    int rc = cache_ping(f->cache);
    cr_assert_eq(rc, 0, "expected ping to answer 0 from a running server, got %d (%s)", rc,
                 err_str(rc));
}

CACHE_TEST(keys_over_250_bytes_or_with_spaces_are_refused, 1)
{
    char key[300];
    int n = snprintf(key, sizeof key, "%s:", f->prefix);
    memset(key + n, 'k', 250 - (size_t)n);
    key[250] = '\0'; /* exactly 250 bytes: the longest a key may be */
    expect_put(f->cache, key, 1, "longest", TTL, true);
    expect_hit(f->cache, key, "longest", 1);

    key[250] = 'k';
    key[251] = '\0';
    char *val = NULL;
    int64_t version = 0;
    int rc = cache_get(f->cache, key, &val, &version);
    cr_assert_eq(rc, ERR_INVALID, "expected get of a 251-byte key to be ERR_INVALID, got %d", rc);
    rc = cache_put(f->cache, key, 1, "x", TTL, NULL);
    cr_assert_eq(rc, ERR_INVALID, "expected put of a 251-byte key to be ERR_INVALID, got %d", rc);
    rc = cache_invalidate(f->cache, key, 1, TTL);
    cr_assert_eq(rc, ERR_INVALID, "expected invalidate of a 251-byte key to be ERR_INVALID, got %d",
                 rc);
    static const char *const bad[] = {"", "with space", "tab\there", "new\nline"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = cache_put(f->cache, bad[i], 1, "x", TTL, NULL);
        cr_assert_eq(rc, ERR_INVALID, "expected put of key \"%s\" to be ERR_INVALID, got %d",
                     bad[i], rc);
    }
}

static void expect_refused(const char *url)
{
    static struct cache not_null;
    struct cache *c = &not_null; /* the call must clear it */
    int rc = cache_open(url, &c);
    cr_assert_eq(rc, ERR_INVALID, "expected cache_open(\"%s\") to be ERR_INVALID, got %d (%s)",
                 url ? url : "(null)", rc, err_str(rc));
    cr_assert_null(c, "expected no cache from \"%s\"", url ? url : "(null)");
}

CACHE_TEST(cache_open_refuses_other_schemes_and_malformed_urls, 1)
{
    log_set_level(LOG_ERROR + 1); /* the expected "not a URL" lines are noise here */
    static const char *const other[] = {
        NULL,
        "",
        "http://127.0.0.1:6379",
        "rediss://127.0.0.1:6379",
        "memcache://127.0.0.1:11211",
        "redis",
        "127.0.0.1:6379",
    };
    static const char *const redis[] = {
        "redis://",          "redis://127.0.0.1:0", "redis://127.0.0.1:70000",
        "redis://pw@h:6379", "redis://h:6379/x",    "redis://h:6379/0?timeout=1",
    };
    static const char *const memcached[] = {
        "memcached://",
        "memcached://127.0.0.1:0",
        "memcached://u:pw@h:11211",
        "memcached://h:11211/0",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        expect_refused(other[i]);
    if (f->backend == BACKEND_REDIS)
        for (size_t i = 0; i < sizeof redis / sizeof redis[0]; i++)
            expect_refused(redis[i]);
    else
        for (size_t i = 0; i < sizeof memcached / sizeof memcached[0]; i++)
            expect_refused(memcached[i]);
}

/* ================================================================== cache_aside */

/* The decorator of task_repo_cached.h over the memory store and the real Redis: what a handler
 * sees through it (a read after a write is never older than the write), and what it leaves in
 * the cache. The store is also used directly, to tell a read served by the cache from one
 * served by the store. */
struct aside {
    struct task_repo *store;  /* the memory store, shared with the decorator */
    struct task_repo *cached; /* owns store */
    struct cache *cache;      /* the decorator's cache; NULL for an unreachable one */
    char ns[48];
};

static void aside_open(struct aside *a, const char *url)
{
    uint64_t r = 0;
    cr_assert_eq(getrandom(&r, sizeof r, 0), (ssize_t)sizeof r, "test bug: getrandom failed");
    snprintf(a->ns, sizeof a->ns, "unit-aside:%016llx", (unsigned long long)r);
    cr_assert_eq(task_repo_memory_open("memory:", &a->store), 0, "the memory store must open");
    a->cache = open_url(url);
    cr_assert_eq(task_repo_cached_new(a->store, a->cache, NULL, a->ns, TTL, &a->cached), 0,
                 "task_repo_cached_new must succeed");
}

static void aside_close(struct aside *a)
{
    task_repo_free(a->cached);
    cache_free(a->cache);
}

static int64_t aside_create(struct aside *a, int64_t owner, const char *title)
{
    struct task in, out;
    task_init(&in);
    task_init(&out);
    in.title = strdup(title);
    in.description = strdup("");
    cr_assert(in.title && in.description, "test bug: out of memory");
    struct scope sc = {.owner_id = owner};
    cr_assert_eq(task_repo_create(a->cached, &sc, &in, &out), 0, "create must succeed");
    int64_t id = out.id;
    task_clear(&in);
    task_clear(&out);
    return id;
}

/* Sets the title through repo r (the decorator, or the store behind its back). */
static int set_title(struct task_repo *r, int64_t owner, int64_t id, const char *title)
{
    struct task_patch p;
    task_patch_init(&p);
    p.fields = TASK_F_TITLE;
    p.values.title = strdup(title);
    cr_assert(p.values.title, "test bug: out of memory");
    struct scope sc = {.owner_id = owner};
    struct if_match im = {0};
    struct task out;
    task_init(&out);
    int rc = task_repo_update(r, &sc, id, &p, &im, &out);
    task_clear(&out);
    task_patch_clear(&p);
    return rc;
}

/* Reads id through the decorator: its rc, and its title and version into the out-params. */
static int read_title(struct aside *a, int64_t owner, int64_t id, char *title, size_t cap,
                      int64_t *version)
{
    struct scope sc = {.owner_id = owner};
    struct task t;
    task_init(&t);
    int rc = task_repo_get(a->cached, &sc, id, &t);
    if (rc == 0) {
        snprintf(title, cap, "%s", t.title);
        *version = t.version;
    }
    task_clear(&t);
    return rc;
}

/* A late refill of `version` for owner's task id: was it stored? */
static bool refill_stored(struct aside *a, int64_t owner, int64_t id, int64_t version)
{
    char key[128];
    snprintf(key, sizeof key, "%s:task:%lld:%lld", a->ns, (long long)owner, (long long)id);
    bool stored = true;
    cr_assert_eq(cache_put(a->cache, key, version, "{}", TTL, &stored), 0, "cache_put must answer");
    return stored;
}

GRADED(cache_aside, a_read_is_stored_and_the_next_read_is_served_by_the_cache, 2)
{
    struct aside a;
    aside_open(&a, backend_url(BACKEND_REDIS));
    int64_t id = aside_create(&a, 7, "first");
    char title[64];
    int64_t v = 0;
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the first read must work");
    /* Behind the decorator's back: only a read served by the cache still says "first". */
    cr_assert_eq(set_title(a.store, 7, id, "changed in the store"), 0, "store update failed");
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the second read must work");
    cr_assert_str_eq(title, "first",
                     "expected the second read to be a hit (the entry the first read stored)");
    aside_close(&a);
}

GRADED(cache_aside, after_an_update_no_read_or_late_refill_serves_the_old_version, 3)
{
    struct aside a;
    aside_open(&a, backend_url(BACKEND_REDIS));
    int64_t id = aside_create(&a, 7, "v1");
    char title[64];
    int64_t v = 0;
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the read must work");
    cr_assert_eq(set_title(a.cached, 7, id, "v2"), 0, "the update must succeed");
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the read must work");
    cr_assert(strcmp(title, "v2") == 0 && v == 2,
              "expected version 2 \"v2\" right after the update, got version %lld \"%s\"",
              (long long)v, title);
    /* A reader that read version 1 before the update must not be able to put it back. */
    cr_assert(!refill_stored(&a, 7, id, 1),
              "a refill of version 1 after version 2 was written must be refused");
    aside_close(&a);
}

GRADED(cache_aside, a_deleted_task_is_gone_and_can_never_be_refilled, 2)
{
    struct aside a;
    aside_open(&a, backend_url(BACKEND_REDIS));
    int64_t id = aside_create(&a, 7, "doomed");
    char title[64];
    int64_t v = 0;
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the read must work");
    struct scope sc = {.owner_id = 7};
    struct if_match im = {0};
    cr_assert_eq(task_repo_remove(a.cached, &sc, id, &im), 0, "the delete must succeed");
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), ERR_NOT_FOUND,
                 "expected the deleted task to be not found, not served from the cache");
    cr_assert(!refill_stored(&a, 7, id, 1000),
              "a refill of a deleted task must be refused, whatever its version");
    aside_close(&a);
}

GRADED(cache_aside, another_owner_never_reads_the_entry, 2)
{
    struct aside a;
    aside_open(&a, backend_url(BACKEND_REDIS));
    int64_t id = aside_create(&a, 7, "mine");
    char title[64];
    int64_t v = 0;
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the read must work");
    cr_assert_eq(read_title(&a, 8, id, title, sizeof title, &v), ERR_NOT_FOUND,
                 "owner 8 must not read owner 7's task, cached or not");
    aside_close(&a);
}

GRADED(cache_aside, an_unreachable_cache_degrades_to_the_store, 2)
{
    struct aside a;
    aside_open(&a, "redis://127.0.0.1:1");
    int64_t id = aside_create(&a, 7, "v1");
    char title[64];
    int64_t v = 0;
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0,
                 "a read must be served by the store when the cache is down");
    cr_assert_eq(set_title(a.cached, 7, id, "v2"), 0,
                 "an update must succeed when the cache is down (the store is the truth)");
    cr_assert_eq(read_title(&a, 7, id, title, sizeof title, &v), 0, "the read must work");
    cr_assert_str_eq(title, "v2", "expected the store's current title");
    aside_close(&a);
}
