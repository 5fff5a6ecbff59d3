/* work_pool.h — a few threads that run slow, CPU-bound jobs off the HTTP event loops.
 *
 * An event loop serves many connections on one thread: a job that holds it for 60 ms (argon2id,
 * week 4's password hashing) holds every one of them. A handler hands such a job to a pool
 * instead (and the request waits, suspended: http_defer in http.h). The pool has a fixed number
 * of threads, sized to the CPUs (more threads than cores would only share them), and a bounded
 * queue: when the queue is full, work_pool_submit says so at once, and the caller answers 503
 * rather than let a backlog grow without end. */
#ifndef TASKD_WORK_POOL_H
#define TASKD_WORK_POOL_H

#include <stddef.h>

struct work_pool;

typedef void (*work_fn)(void *arg);

/* Starts threads worker threads (1..256) with room for queue_cap jobs waiting (1..65536), each
 * running nice (0..19) below the process's priority: a pool of CPU-bound jobs given a nice value
 * yields the cores to the event loops whenever they have work, so it costs their latency little
 * and still uses every idle cycle. Returns NULL (and logs why) on bad values or when a thread
 * cannot start. */
struct work_pool *work_pool_new(unsigned threads, size_t queue_cap, int nice);

/* Queues fn(arg) to run on one of the pool's threads. 0, or ERR_UNAVAILABLE when the queue is
 * full (or the pool is being freed): the job was not taken and fn will never see arg. */
int work_pool_submit(struct work_pool *p, work_fn fn, void *arg);

/* Runs every job already queued, waits for the threads to end and frees the pool. No job may be
 * submitted once this has begun. NULL is a no-op. */
void work_pool_free(struct work_pool *p);

#endif
