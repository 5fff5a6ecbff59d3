/* unit_work_pool.c — the bounded pool that runs slow jobs off the event loops (work_pool.h).
 *
 * Every job submitted runs exactly once, on a pool thread; a full queue refuses at once instead
 * of growing; freeing the pool runs what was queued before its threads end. No timing: a job
 * that must keep a thread busy waits on a gate the test opens. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "testkit.h"
#include "work_pool.h"

/* A job that waits until the test opens the gate, then counts itself. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    int started, finished;
    pthread_t ran_on;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0};

static void gated_job(void *arg)
{
    struct gate *g = arg;
    pthread_mutex_lock(&g->lock);
    g->started++;
    g->ran_on = pthread_self();
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    g->finished++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_wait_started(struct gate *g, int n)
{
    pthread_mutex_lock(&g->lock);
    while (g->started < n)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

GRADED(work_pool, runs_every_job_once_on_a_pool_thread, 1)
{
    struct work_pool *p = work_pool_new(2, 64, 0);
    cr_assert_not_null(p, "work_pool_new(2, 64, 0) failed");
    gate_open(&gate);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "submit %d of 50 was refused", i);
    work_pool_free(p); /* runs what is queued, then joins */
    cr_assert_eq(gate.finished, 50, "expected 50 jobs run once each, got %d", gate.finished);
    cr_assert(!pthread_equal(gate.ran_on, pthread_self()),
              "expected the jobs to run on the pool's threads, not the submitter's");
}

GRADED(work_pool, a_full_queue_refuses_at_once_and_takes_jobs_again_once_drained, 2)
{
    struct work_pool *p = work_pool_new(1, 2, 0);
    cr_assert_not_null(p, "work_pool_new(1, 2, 0) failed");
    /* The one thread is held by the first job; two more fill the queue. */
    cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "the first job was refused");
    gate_wait_started(&gate, 1);
    cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "queued job 1 of 2 was refused");
    cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "queued job 2 of 2 was refused");
    int rc = work_pool_submit(p, gated_job, &gate);
    cr_assert_eq(rc, ERR_UNAVAILABLE,
                 "expected ERR_UNAVAILABLE for a job past the queue's 2 places, got %d", rc);
    cr_assert_eq(gate.started, 1, "a refused job must never run (started %d)", gate.started);
    gate_open(&gate);
    gate_wait_started(&gate, 3);
    /* Drained (or draining): the queue takes jobs again. */
    pthread_mutex_lock(&gate.lock);
    while (gate.finished < 3)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
    cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "a job after the drain was refused");
    work_pool_free(p);
    cr_assert_eq(gate.finished, 4, "expected the 4 accepted jobs to have run, got %d",
                 gate.finished);
}

GRADED(work_pool, free_runs_the_queued_jobs_before_the_threads_end, 1)
{
    struct work_pool *p = work_pool_new(1, 8, 0);
    cr_assert_not_null(p, "work_pool_new(1, 8, 0) failed");
    cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "the first job was refused");
    gate_wait_started(&gate, 1);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(work_pool_submit(p, gated_job, &gate), 0, "queued job %d was refused", i);
    gate_open(&gate);
    work_pool_free(p);
    cr_assert_eq(gate.finished, 6, "expected all 6 jobs run before free returned, got %d",
                 gate.finished);
}

GRADED(work_pool, refuses_sizes_out_of_range, 1)
{
    cr_assert_null(work_pool_new(0, 8, 0), "expected NULL for 0 threads");
    cr_assert_null(work_pool_new(1, 0, 0), "expected NULL for a queue of 0");
    cr_assert_null(work_pool_new(257, 8, 0), "expected NULL for 257 threads");
    cr_assert_null(work_pool_new(1, 8, -1), "expected NULL for a nice of -1 (a higher priority)");
    cr_assert_null(work_pool_new(1, 8, 20), "expected NULL for a nice of 20");
    cr_assert_eq(work_pool_submit(NULL, gated_job, &gate), ERR_INVALID,
                 "expected ERR_INVALID for a NULL pool");
    work_pool_free(NULL); /* a no-op */
}

/* A job that records the nice value of the thread it runs on. */
static void nice_job(void *arg)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)gettid());
    *(int *)arg = errno == 0 ? n : 1000;
}

GRADED(work_pool, threads_run_at_the_lower_priority_asked_for, 1)
{
    /* Password hashing must yield the cores to the event loops (docs/decisions/0018): the pool's
     * threads run `nice` below the process, and the submitting thread keeps its own priority. */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, (id_t)gettid());
    cr_assert(errno == 0, "getpriority failed");
    int want = base + 5 > 19 ? 19 : base + 5;
    struct work_pool *p = work_pool_new(1, 4, 5);
    cr_assert_not_null(p, "work_pool_new(1, 4, 5) failed");
    int seen = -1000;
    cr_assert_eq(work_pool_submit(p, nice_job, &seen), 0, "the job was refused");
    work_pool_free(p); /* runs the job first */
    cr_assert_eq(seen, want, "expected the pool thread at nice %d (the process's %d + 5), got %d",
                 want, base, seen);
    cr_assert_eq(getpriority(PRIO_PROCESS, (id_t)gettid()), base,
                 "the submitting thread's own priority must not change");
}
