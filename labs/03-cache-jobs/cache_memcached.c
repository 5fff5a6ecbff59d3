/* Lab copy of weeks/03-cache-jobs/src/cache_memcached.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* cache_memcached.c — the versioned cache of cache.h on memcached (libmemcached).
 *
 * An entry is one item: "v <version>\n<value>" for a value, "t <version>" for a tombstone,
 * with the TTL as the item's expiry. memcached has no scripts, so put and invalidate use its
 * compare-and-swap instead: read the item with its CAS token (gets), decide from its version,
 * then write with cas, which the server refuses if anyone changed the item since our read, or
 * with add when there was no item, which the server refuses if someone created it meanwhile.
 * A refused write means another client got in between: read again and decide again. The loop
 * is bounded; a put that keeps losing gives up without storing (the cache is only a cache),
 * while an invalidate that keeps losing reports ERR_UNAVAILABLE, because a stale value may
 * then survive and the caller must know.
 *
 * A memcached_st is not thread-safe: the cache lends clones of one configured handle from
 * libmemcachedutil's pool, one caller at a time. Connect, poll, send and receive timeouts keep
 * a dead or stalled server from costing more than about half a second. While memcached is
 * down, one call a second goes through to probe it and the others fail fast with
 * ERR_UNAVAILABLE; the log says once that it went away and once that it is back. */
#include "cache.h"

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "server_url.h"
#include "timeutil.h"

#define POOL_SIZE          8
#define CONNECT_TIMEOUT_MS 200
#define IO_TIMEOUT_MS      500
#define BACKOFF_US         1000000 /* while down: one probe a second */
#define CAS_ATTEMPTS       16
#define PING_KEY           "taskd:cache:ping"

struct cache_memcached {
    struct cache base;    /* first: a struct cache * is a struct cache_memcached * */
    memcached_st *master; /* the configured handle the pool clones */
    memcached_pool_st *pool;
    pthread_mutex_t lock;   /* guards down, retry_after_us */
    bool down;              /* the last call failed: logged once, until one succeeds */
    int64_t retry_after_us; /* while down, the next probe is due then (monotonic µs) */
};

/* An item as read: its bytes, its CAS token, and what they say. */
struct entry {
    char *raw; /* owned; NULL: there was no item */
    size_t len;
    uint64_t cas;
    bool ours; /* raw parses as an entry (cache.h); a foreign item is simply replaced */
    struct cache_entry parsed;
};

/* ------------------------------------------------------------------ health: down and back */

/* Records a failed call and answers ERR_UNAVAILABLE; logs only the first of a run. */
static int note_failure(struct cache_memcached *m, memcached_st *mc, memcached_return_t rc)
{
    pthread_mutex_lock(&m->lock);
    bool was_down = m->down;
    m->down = true;
    m->retry_after_us = clock_mono_us() + BACKOFF_US;
    pthread_mutex_unlock(&m->lock);
    if (!was_down) {
        const char *why = mc ? memcached_last_error_message(mc) : NULL;
        struct log_kv kv[] = {LOG_STR("error", why ? why : memcached_strerror(mc, rc))};
        log_kv(LOG_ERROR, "memcached cache unreachable; cache calls fail fast until it is back", kv,
               1);
    }
    return ERR_UNAVAILABLE;
}

static void note_success(struct cache_memcached *m)
{
    pthread_mutex_lock(&m->lock);
    bool was_down = m->down;
    m->down = false;
    pthread_mutex_unlock(&m->lock);
    if (was_down)
        log_msg(LOG_INFO, "memcached cache is reachable again");
}

/* Lends a handle: ERR_UNAVAILABLE at once while memcached is down (unless this caller is the
 * probe), or when none comes free. The pool's wait is counted in whole seconds of wall-clock
 * time, so it ends within a second. */
static int handle_borrow(struct cache_memcached *m, memcached_st **out)
{
    pthread_mutex_lock(&m->lock);
    int64_t now = clock_mono_us();
    bool fail_fast = m->down && now < m->retry_after_us;
    if (m->down && !fail_fast)
        m->retry_after_us = now + BACKOFF_US; /* this caller probes; the others keep failing */
    pthread_mutex_unlock(&m->lock);
    if (fail_fast)
        return ERR_UNAVAILABLE;
    struct timespec wait = {.tv_sec = 1};
    memcached_return_t rc = MEMCACHED_SUCCESS;
    if (!(*out = memcached_pool_fetch(m->pool, &wait, &rc))) {
        struct log_kv kv[] = {LOG_STR("error", memcached_strerror(NULL, rc))};
        log_kv(LOG_WARN, "no memcached cache handle came free in time", kv, 1);
        return ERR_UNAVAILABLE;
    }
    return 0;
}

static void handle_release(struct cache_memcached *m, memcached_st *mc)
{
    memcached_pool_release(m->pool, mc);
}

/* ------------------------------------------------------------------ entries */

/* One gets round trip for key: its item into *e (e->raw NULL when there is none; *nomem when
 * it could not be copied). Returns the library's code: MEMCACHED_END or MEMCACHED_NOTFOUND when
 * the server answered. */
static memcached_return_t read_once(memcached_st *mc, const char *key, struct entry *e, bool *nomem)
{
    *e = (struct entry){0};
    const char *const keys[] = {key};
    const size_t key_lens[] = {strlen(key)};
    memcached_return_t rc = memcached_mget(mc, keys, key_lens, 1);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    memcached_result_st result;
    if (!memcached_result_create(mc, &result)) {
        *nomem = true;
        return MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    }
    /* The library reads the end marker on the call after the item, and resets the result then:
     * copy the item out first, and read until the end so the connection is left clean. */
    while (memcached_fetch_result(mc, &result, &rc)) {
        if (e->raw || *nomem)
            continue; /* one key, one item: nothing else can come, but read to the end */
        size_t len = memcached_result_length(&result);
        if (!(e->raw = malloc(len + 1))) {
            *nomem = true;
            continue;
        }
        memcpy(e->raw, memcached_result_value(&result), len);
        e->raw[len] = '\0';
        e->len = len;
        e->cas = memcached_result_cas(&result);
    }
    memcached_result_free(&result);
    return rc;
}

/* Reads key's item with its CAS token into *e (e->raw stays NULL when there is none).
 * 0, ERR_NOMEM or ERR_UNAVAILABLE. */
static int entry_read(struct cache_memcached *m, memcached_st *mc, const char *key, struct entry *e)
{
    bool nomem = false;
    memcached_return_t rc = read_once(mc, key, e, &nomem);
    if (rc == MEMCACHED_CONNECTION_FAILURE && !nomem) {
        /* A pooled connection the server closed while it sat idle (a restart) fails on its
         * first use. The library has dropped it by now; one more try connects afresh. */
        free(e->raw);
        rc = read_once(mc, key, e, &nomem);
    }
    if (nomem || (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND)) {
        free(e->raw);
        *e = (struct entry){0};
        return nomem ? ERR_NOMEM : note_failure(m, mc, rc);
    }
    struct cache_entry parsed; /* apart from e, which still owns raw */
    e->ours = e->raw && cache_entry_parse(e->raw, e->len, &parsed);
    if (e->ours)
        e->parsed = parsed;
    return 0;
}

/* May an entry be replaced by one of `version`? (One rule per operation, from cache.h.) */
typedef bool replace_rule(const struct entry *cur, int64_t version);

static bool put_may_replace(const struct entry *cur, int64_t version)
{
    if (!cur->ours)
        return true; /* no item, or not ours */
    return cur->parsed.tombstone ? cur->parsed.version <= version : cur->parsed.version < version;
}

static bool invalidate_may_replace(const struct entry *cur, int64_t version)
{
    return !cur->ours || cur->parsed.version < version;
}

/* The read-decide-write loop. Writes data (the new entry) for ttl_s seconds when `may` allows
 * it on what the key holds; *stored says whether it did. 0, ERR_CONFLICT (every attempt lost a
 * race), ERR_UNAVAILABLE or ERR_NOMEM. */
static int entry_swap(struct cache_memcached *m, const char *key, int64_t version,
                      replace_rule *may, const struct buf *data, int ttl_s, bool *stored)
{
    *stored = false;
    memcached_st *mc = NULL;
    int rc = handle_borrow(m, &mc);
    if (rc != 0)
        return rc;
    /* TODO(lab 3.14): Read, decide (may), then cas/add; a lost race reads again (CAS_ATTEMPTS). */
    rc = 0;
    if (rc != ERR_UNAVAILABLE)
        note_success(m);
    handle_release(m, mc);
    return rc;
}

/* ------------------------------------------------------------------ operations */

static int mc_get(struct cache *base, const char *key, char **val, int64_t *version)
{
    struct cache_memcached *m = (struct cache_memcached *)base;
    memcached_st *mc = NULL;
    struct entry e = {0};
    int rc = handle_borrow(m, &mc);
    if (rc != 0)
        return rc;
    if ((rc = entry_read(m, mc, key, &e)) != 0)
        goto done;
    note_success(m);
    if (!e.ours || e.parsed.tombstone) {
        rc = ERR_NOT_FOUND; /* absent, a tombstone, or not an entry of ours */
        goto done;
    }
    /* The value is the tail of raw: move it to the front and hand raw over. */
    size_t n = e.len - e.parsed.value_at;
    memmove(e.raw, e.raw + e.parsed.value_at, n + 1); /* with the NUL */
    *val = e.raw;
    *version = e.parsed.version;
    e.raw = NULL;
    rc = 0;
done:
    free(e.raw);
    handle_release(m, mc);
    return rc;
}

static int mc_put(struct cache *base, const char *key, int64_t version, const char *val, int ttl_s,
                  bool *stored)
{
    struct buf data = BUF_INIT;
    buf_printf(&data, "v %lld\n", (long long)version);
    buf_puts(&data, val);
    bool ok = false;
    int rc = data.failed ? ERR_NOMEM
                         : entry_swap((struct cache_memcached *)base, key, version, put_may_replace,
                                      &data, ttl_s, &ok);
    buf_free(&data);
    if (rc == ERR_CONFLICT)
        rc = 0; /* lost every race: leaving the cache as it is is always safe for a put */
    if (stored)
        *stored = rc == 0 && ok;
    return rc;
}

static int mc_invalidate(struct cache *base, const char *key, int64_t version, int ttl_s)
{
    struct buf data = BUF_INIT;
    buf_printf(&data, "t %lld", (long long)version);
    bool ok = false;
    int rc = data.failed ? ERR_NOMEM
                         : entry_swap((struct cache_memcached *)base, key, version,
                                      invalidate_may_replace, &data, ttl_s, &ok);
    buf_free(&data);
    if (rc == ERR_CONFLICT) {
        /* Unlike a put, giving up here may leave an older value in place. */
        struct log_kv kv[] = {LOG_INT("attempts", CAS_ATTEMPTS)};
        log_kv(LOG_WARN, "memcached invalidate kept losing races; a stale entry may remain", kv, 1);
        rc = ERR_UNAVAILABLE;
    }
    return rc;
}

/* A read of a key nobody writes: found or not, the server answered. */
static int mc_ping(struct cache *base)
{
    struct cache_memcached *m = (struct cache_memcached *)base;
    memcached_st *mc = NULL;
    struct entry e = {0};
    if (handle_borrow(m, &mc) != 0)
        return ERR_UNAVAILABLE;
    int rc = entry_read(m, mc, PING_KEY, &e);
    free(e.raw);
    if (rc == 0)
        note_success(m);
    handle_release(m, mc);
    return rc == 0 ? 0 : ERR_UNAVAILABLE;
}

static void mc_free(struct cache *base)
{
    struct cache_memcached *m = (struct cache_memcached *)base;
    memcached_pool_destroy(m->pool); /* gives back the master, which we own */
    memcached_free(m->master);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct cache_ops memcached_ops = {
    .name = "memcached",
    .get = mc_get,
    .put = mc_put,
    .invalidate = mc_invalidate,
    .ping = mc_ping,
    .free = mc_free,
};

/* ------------------------------------------------------------------ opening */

/* "memcached://HOST[:PORT][/]" (server_url.h); the port defaults to 11211. Anything else (a
 * user, a path, options) is refused rather than ignored. NULL, or why not. */
static const char *parse_url(const char *url, struct server_url *u)
{
    const char *why = server_url_parse(url, "memcached://", 11211, u);
    if (!why && (u->user[0] || u->password[0]))
        why = "memcached takes no user or password";
    else if (!why && u->rest[0] != '\0' && strcmp(u->rest, "/") != 0)
        why = "something follows the port";
    explicit_bzero(u->password, sizeof u->password);
    return why;
}

/* The handle every pooled clone copies: one server, CAS tokens on reads, and deadlines on
 * everything (connect and poll in ms, socket send/receive in µs, retry in s). */
static int master_configure(memcached_st *mc, const char *host, in_port_t port)
{
    static const struct {
        memcached_behavior_t flag;
        uint64_t value;
    } behaviors[] = {
        {MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1},
        {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
        {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS},
        {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, IO_TIMEOUT_MS},
        {MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)IO_TIMEOUT_MS * 1000},
        {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)IO_TIMEOUT_MS * 1000},
        {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1},
    };
    for (size_t i = 0; i < sizeof behaviors / sizeof behaviors[0]; i++)
        if (memcached_behavior_set(mc, behaviors[i].flag, behaviors[i].value) != MEMCACHED_SUCCESS)
            return ERR_INTERNAL;
    /* Only recorded here: the first call connects (the cache may come up after us). */
    return memcached_server_add(mc, host, port) == MEMCACHED_SUCCESS ? 0 : ERR_INVALID;
}

int cache_memcached_open(const char *url, struct cache **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!url || strncmp(url, "memcached://", strlen("memcached://")) != 0)
        return ERR_INVALID;
    struct server_url u;
    const char *why = parse_url(url, &u);
    if (why) {
        struct log_kv kv[] = {LOG_STR("why", why)};
        log_kv(LOG_ERROR, "the memcached cache URL is not memcached://HOST[:PORT]", kv, 1);
        return ERR_INVALID;
    }
    struct cache_memcached *m = calloc(1, sizeof *m);
    if (!m)
        return ERR_NOMEM;
    int rc = ERR_NOMEM;
    if (!(m->master = memcached_create(NULL)))
        goto fail;
    if ((rc = master_configure(m->master, u.host, (in_port_t)u.port)) != 0)
        goto fail;
    rc = ERR_NOMEM;
    if (!(m->pool = memcached_pool_create(m->master, 1, POOL_SIZE)))
        goto fail;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        rc = ERR_INTERNAL;
        goto fail;
    }
    m->base.ops = &memcached_ops;
    *out = &m->base;
    return 0;
fail:
    memcached_pool_destroy(m->pool);
    memcached_free(m->master);
    free(m);
    return rc;
}
