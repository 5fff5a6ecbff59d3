/* cache_fence.h — "nobody reads the cache for now", shared by every instance through PostgreSQL.
 *
 * task_repo_cached.c fences its cache entry on every write. When that fails (Redis paused, out of
 * memory, unreachable from this instance only), the old entry may stay for one TTL, and another
 * instance that can still *read* the cache would serve it after this write has answered. The
 * cache cannot be told (it is what failed), so the writer tells the database, which every
 * instance reaches: cache_fence_raise stores "do not read the cache before now + ttl" (migration
 * 0005_cache_fence), and cache_fence_allows says whether this instance may read the cache.
 *
 * How an instance learns of a fence without asking the database on every cache hit (which would
 * cost the round trip the cache is there to save): each instance re-reads the fence at most every
 * CACHE_FENCE_WINDOW_US / 4 (one reader does it, inline), and uses the cache only while its last
 * successful read *started* less than CACHE_FENCE_WINDOW_US ago. A writer that raised a fence
 * waits CACHE_FENCE_WINDOW_US (plus a margin) before its write answers. So any read that starts
 * after the write answered is served by an instance whose last fence read began after the fence
 * was committed, and saw it. Only durations on each machine's own monotonic clock are compared;
 * the end of a fence is PostgreSQL's clock, sent as "seconds left". */
#ifndef TASKD_CACHE_FENCE_H
#define TASKD_CACHE_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#define CACHE_FENCE_WINDOW_US 1000000 /* the staleness of an instance's view of the fence */

struct cache_fence;
struct pg_pool;

/* A fence on the database behind pool (borrowed: it must outlive the result). No query yet: the
 * first cache_fence_allows reads the fence. 0, ERR_INVALID or ERR_NOMEM. */
int cache_fence_new(struct pg_pool *pool, struct cache_fence **out);
void cache_fence_free(struct cache_fence *f); /* NULL is a no-op */

/* Makes every instance stop reading the cache for ttl_s seconds from now (a fence already
 * further away stays), then waits until every instance has seen it (CACHE_FENCE_WINDOW_US).
 * 0, or an ERR_ code when the database did not take it (logged): other instances may then serve
 * what the cache holds for up to ttl_s. This instance stops reading the cache either way. */
int cache_fence_raise(struct cache_fence *f, int ttl_s);

/* True when this instance may read the cache now: no fence, and a fresh enough view of it
 * (re-read here when due; false while the database cannot be asked). Safe from any thread. */
bool cache_fence_allows(struct cache_fence *f);

#endif
