/* work_pool.c — fixed threads and a bounded ring of jobs (see work_pool.h).
 *
 * One mutex guards the ring; `wake` tells idle threads a job (or the end) has come. A job runs
 * outside the lock, so a 60 ms hash never keeps a submitter waiting: submitting only takes the
 * lock for a few instructions, which is what lets an event loop call it. */
#include "work_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define THREADS_MAX   256
#define QUEUE_CAP_MAX 65536

struct job {
    work_fn fn;
    void *arg;
};

struct work_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *ring;
    size_t cap, head, len; /* jobs waiting: ring[head], ring[head+1]... (mod cap) */
    bool stopping;
    pthread_t *threads;
    unsigned nthreads; /* started */
    int nice;          /* added to each thread's nice value as it starts */
};

/* Lowers the calling thread's priority by p->nice. On Linux a nice value belongs to a thread
 * (setpriority on a thread id changes that thread alone), and raising it needs no privilege
 * (RLIMIT_NICE only limits lowering it, and systemd's RestrictRealtime= is about real-time
 * policies, not this). A failure is logged and the thread runs at the process's priority. */
static void lower_priority(const struct work_pool *p)
{
    if (p->nice == 0)
        return;
    pid_t tid = gettid();
    errno = 0;
    int now = getpriority(PRIO_PROCESS, (id_t)tid);
    if ((now == -1 && errno != 0) || setpriority(PRIO_PROCESS, (id_t)tid, now + p->nice) != 0)
        log_kv(LOG_WARN, "work_pool",
               (struct log_kv[]){LOG_STR("detail", "cannot lower a worker's priority"),
                                 LOG_STR("error", strerror(errno))},
               2);
}

static void *worker(void *arg)
{
    struct work_pool *p = arg;
    lower_priority(p);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->len == 0 && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->len == 0)
            break; /* stopping, and nothing left to run */
        struct job j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        pthread_mutex_unlock(&p->lock);
        j.fn(j.arg);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct work_pool *work_pool_new(unsigned threads, size_t queue_cap, int nice)
{
    if (threads < 1 || threads > THREADS_MAX || queue_cap < 1 || queue_cap > QUEUE_CAP_MAX ||
        nice < 0 || nice > 19) {
        log_msg(LOG_ERROR, "work pool: threads must be 1..256, the queue 1..65536 and nice 0..19");
        return NULL;
    }
    struct work_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ring = calloc(queue_cap, sizeof *p->ring);
    p->threads = calloc(threads, sizeof *p->threads);
    p->cap = queue_cap;
    p->nice = nice;
    if (!p->ring || !p->threads || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->ring);
        free(p->threads);
        free(p);
        return NULL;
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        free(p->ring);
        free(p->threads);
        free(p);
        return NULL;
    }
    for (; p->nthreads < threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0) {
            log_msg(LOG_ERROR, "work pool: cannot start a thread");
            work_pool_free(p); /* ends the threads already started */
            return NULL;
        }
    }
    return p;
}

int work_pool_submit(struct work_pool *p, work_fn fn, void *arg)
{
    if (!p || !fn)
        return ERR_INVALID;
    int rc = ERR_UNAVAILABLE;
    pthread_mutex_lock(&p->lock);
    if (!p->stopping && p->len < p->cap) {
        p->ring[(p->head + p->len) % p->cap] = (struct job){.fn = fn, .arg = arg};
        p->len++;
        pthread_cond_signal(&p->wake);
        rc = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void work_pool_free(struct work_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->ring);
    free(p);
}
