/* tk_race.c — the gate behind tk_race (see tk_race.h): a mutex, a condition variable and the
 * count of threads that have arrived. Each racing thread finds its gate through a thread-local
 * pointer, so a racer's function keeps the plain pthread signature. */
#include "tk_race.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int arrived;
    bool open;
};

struct runner {
    struct gate *gate;
    void *(*fn)(void *);
    void *arg;
    bool passed; /* this thread went through the gate */
};

static _Thread_local struct runner *current;

static void arrive(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->arrived++;
    pthread_cond_broadcast(&g->changed);
    while (!g->open)
        pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

void tk_race_gate(void)
{
    if (!current || current->passed)
        return;
    current->passed = true;
    arrive(current->gate);
}

static void *run(void *p)
{
    struct runner *r = p;
    current = r;
    r->fn(r->arg);
    tk_race_gate(); /* a thread that never called it still counts as arrived */
    current = NULL;
    return NULL;
}

int tk_race(int n, void *(*fn)(void *), void *args, size_t stride)
{
    if (n < 1) {
        errno = EINVAL;
        return -1;
    }
    struct gate g = {.open = false};
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    struct runner *runners = calloc((size_t)n, sizeof *runners);
    int started = 0, err = ENOMEM;
    if (!threads || !runners || pthread_mutex_init(&g.lock, NULL) != 0)
        goto cleanup;
    if (pthread_cond_init(&g.changed, NULL) != 0)
        goto cleanup_mutex;
    err = 0;
    for (; started < n; started++) {
        runners[started] =
            (struct runner){.gate = &g, .fn = fn, .arg = (char *)args + (size_t)started * stride};
        err = pthread_create(&threads[started], NULL, run, &runners[started]);
        if (err != 0)
            break;
    }
    /* Open the gate once every started thread has arrived at it. */
    pthread_mutex_lock(&g.lock);
    while (g.arrived < started)
        pthread_cond_wait(&g.changed, &g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.changed);
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_cond_destroy(&g.changed);
cleanup_mutex:
    pthread_mutex_destroy(&g.lock);
cleanup:
    free(threads);
    free(runners);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}
