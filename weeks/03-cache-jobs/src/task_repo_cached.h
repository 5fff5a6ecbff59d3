/* task_repo_cached.h — cache-aside in front of any task repository (a decorator). */
#ifndef TASKD_TASK_REPO_CACHED_H
#define TASKD_TASK_REPO_CACHED_H

struct task_repo;
struct cache;
struct cache_fence;

/* Wraps inner (taking ownership: freeing the result frees inner) so that get is served from
 * cache when it can, with entries living ttl_s seconds under keys "<ns>:task:<owner>:<id>".
 * cache may be NULL (no cache configured): every get is then a MISS, so X-Cache still tells
 * the truth. fence (cache_fence.h; may be NULL) is raised when a write cannot invalidate its
 * entry, so that no instance reads the cache for one TTL; without it only this instance stops.
 * The cache and the fence are borrowed and must outlive the result. 0, ERR_NOMEM (inner is then
 * freed) or ERR_INVALID. */
int task_repo_cached_new(struct task_repo *inner, struct cache *cache, struct cache_fence *fence,
                         const char *ns, int ttl_s, struct task_repo **out);

/* The slot that holds the store a cached repository wraps, or NULL when r is not one. A later
 * stage whose decorator must sit under the cache (its writes then invalidate entries like any
 * other write: week 7's outbox) replaces *slot with its wrapper around the old value. Only
 * while nothing is serving: the slot is read without a lock. */
struct task_repo **task_repo_cached_inner(struct task_repo *r);

#endif
