/* stage3.h — what stage 3 gives the stages and programs built on it (the pattern: stage1.h).
 *
 * Stage 3 is stage 2 plus a cache wrapped around the task store, and background jobs: rows in
 * PostgreSQL whose ids travel on a reliable Redis queue to taskd-worker. taskd (stage.c) and
 * taskd-worker (bin/taskd-worker.c) open exactly these resources with stage3_open, so the
 * worker can never disagree with the server about the database, the queue's keys or the
 * namespace. Every Redis key starts with QUEUE_PREFIX and the database's namespace
 * (store_ns.h), so several databases can share one Redis. */
#ifndef TASKD_STAGE3_H
#define TASKD_STAGE3_H

#include "stage2.h"
#include "store_ns.h"

struct cache;
struct cache_fence;
struct queue;
struct pg_pool;

#define STAGE3_PREFIX_MAX 128

struct stage3 {
    struct stage2 s2;               /* s2.s1.repo is the cached store when there is a cache */
    struct cache *cache;            /* NULL: CACHE_BACKEND=none */
    struct cache_fence *fence;      /* NULL without a cache: see task_repo_cached.c */
    struct queue *queue;            /* the job queue */
    struct pg_pool *jobs_pool;      /* JOBS_DB_POOL_SIZE connections for the job tables */
    char ns[STORE_NS_LEN + 1];      /* this database's name in Redis */
    char prefix[STAGE3_PREFIX_MAX]; /* "QUEUE_PREFIX:ns": where this database's Redis keys start */
};

int stage3_declare(struct config *cfg);
/* Opens stage 2's store, wraps it with the cache, and opens the queue and the jobs pool.
 * Needs a postgres:// DATABASE_URL (jobs are rows). 0 or an ERR_ code (logged). */
int stage3_open(const struct config *cfg, struct stage3 *out);
void stage3_close(struct stage3 *s);
/* Stage 2's routes, the job routes, and the cache and queue as optional /ready checks. */
int stage3_serve(struct app *app, struct stage3 *s);

#endif
