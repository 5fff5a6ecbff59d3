/* lender.c — a stack of free slot indexes behind a mutex and a condition variable (lender.h). */
#include "lender.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "timeutil.h"

struct lender {
    pthread_mutex_t lock;
    pthread_cond_t returned; /* a slot came back */
    size_t *free;            /* stack of free slots; the top is free[nfree - 1] */
    size_t nfree;
    size_t nwaiting; /* takers waiting for a slot (lender_stats) */
};

int lender_new(size_t n, struct lender **out)
{
    *out = NULL;
    if (n == 0)
        return ERR_INVALID;
    struct lender *l = calloc(1, sizeof *l);
    size_t *slots = calloc(n, sizeof *slots);
    if (!l || !slots) {
        free(l);
        free(slots);
        return ERR_NOMEM;
    }
    l->free = slots;
    for (size_t i = 0; i < n; i++)
        l->free[i] = n - 1 - i; /* slot 0 on top: lent first */
    l->nfree = n;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int lock_rc = pthread_mutex_init(&l->lock, NULL);
    int cond_rc = pthread_cond_init(&l->returned, &ca);
    pthread_condattr_destroy(&ca);
    if (lock_rc != 0 || cond_rc != 0) {
        if (lock_rc == 0)
            pthread_mutex_destroy(&l->lock);
        if (cond_rc == 0)
            pthread_cond_destroy(&l->returned);
        free(l->free);
        free(l);
        return ERR_INTERNAL;
    }
    *out = l;
    return 0;
}

void lender_free(struct lender *l)
{
    if (!l)
        return;
    pthread_cond_destroy(&l->returned);
    pthread_mutex_destroy(&l->lock);
    free(l->free);
    free(l);
}

int lender_take(struct lender *l, int wait_ms, size_t *slot)
{
    struct timespec until = clock_mono_timespec(clock_mono_us() + (int64_t)wait_ms * 1000);
    pthread_mutex_lock(&l->lock);
    l->nwaiting++;
    while (l->nfree == 0) {
        /* A timeout that raced with a give still takes the slot given. */
        if (pthread_cond_timedwait(&l->returned, &l->lock, &until) != 0 && l->nfree == 0) {
            l->nwaiting--;
            pthread_mutex_unlock(&l->lock);
            return ERR_UNAVAILABLE;
        }
    }
    l->nwaiting--;
    *slot = l->free[--l->nfree];
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void lender_give(struct lender *l, size_t slot)
{
    pthread_mutex_lock(&l->lock);
    l->free[l->nfree++] = slot;
    pthread_cond_signal(&l->returned);
    pthread_mutex_unlock(&l->lock);
}

void lender_stats(struct lender *l, size_t *nfree, size_t *nwaiting)
{
    pthread_mutex_lock(&l->lock);
    *nfree = l->nfree;
    *nwaiting = l->nwaiting;
    pthread_mutex_unlock(&l->lock);
}
