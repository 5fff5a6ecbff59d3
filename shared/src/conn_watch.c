/* conn_watch.c — per-connection deadlines and the sweeper that enforces them (conn_watch.h).
 *
 * Entries live in one array sized at start (the connection limit), so an attack cannot make the
 * watch grow; a stack of free indexes makes open and close O(1). One mutex guards the array. The
 * sweeper holds it while it shuts sockets down, and libmicrohttpd reports a close (which takes
 * the mutex) before it closes the fd, so the sweeper never touches an fd already reused. */
#include "conn_watch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "log.h"
#include "timeutil.h"

#define US_PER_SEC ((int64_t)1000000)
/* How often the sweeper looks: deadlines are whole seconds, so a quarter second is precise
 * enough, and a scan of a few thousand entries this often costs nothing. */
#define SWEEP_US ((int64_t)250000)

struct conn_watch_entry {
    int fd;
    enum conn_phase phase;
    int64_t deadline_us; /* clock_mono_us; 0 = none */
    bool used;
};

struct conn_watch {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* stop */
    pthread_t sweeper;
    bool stopping;
    int64_t phase_us[4]; /* deadline length by phase; 0 = none */
    struct conn_watch_entry *entries;
    size_t *free_idx; /* stack of unused entry indexes */
    size_t nfree, capacity;
};

static void *sweep(void *arg)
{
    struct conn_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        struct timespec until = clock_mono_timespec(clock_mono_us() + SWEEP_US);
        pthread_cond_timedwait(&w->wake, &w->mu, &until);
        int64_t now = clock_mono_us();
        long closed = 0;
        for (size_t i = 0; i < w->capacity && !w->stopping; i++) {
            struct conn_watch_entry *e = &w->entries[i];
            if (!e->used || e->deadline_us == 0 || e->deadline_us > now)
                continue;
            /* Not close(): libmicrohttpd owns the fd. Its next read fails, and it closes. */
            shutdown(e->fd, SHUT_RDWR);
            e->deadline_us = 0;
            closed++;
        }
        if (closed > 0) {
            pthread_mutex_unlock(&w->mu);
            log_kv(LOG_WARN, "http: closed connections too slow to send their request",
                   (struct log_kv[]){LOG_INT("connections", closed)}, 1);
            pthread_mutex_lock(&w->mu);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct conn_watch *conn_watch_new(unsigned capacity, unsigned header_seconds, unsigned body_seconds,
                                  unsigned idle_seconds)
{
    struct conn_watch *w = calloc(1, sizeof *w);
    if (!w)
        goto fail;
    w->capacity = capacity;
    w->entries = calloc(capacity ? capacity : 1, sizeof *w->entries);
    w->free_idx = calloc(capacity ? capacity : 1, sizeof *w->free_idx);
    if (!w->entries || !w->free_idx)
        goto fail;
    for (size_t i = 0; i < capacity; i++)
        w->free_idx[i] = capacity - 1 - i;
    w->nfree = capacity;
    w->phase_us[CONN_HEAD] = (int64_t)header_seconds * US_PER_SEC;
    w->phase_us[CONN_BODY] = (int64_t)body_seconds * US_PER_SEC;
    w->phase_us[CONN_BUSY] = 0;
    w->phase_us[CONN_IDLE] = ((int64_t)idle_seconds + header_seconds) * US_PER_SEC;
    if (clock_mono_cond_init(&w->wake) != 0)
        goto fail;
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        pthread_cond_destroy(&w->wake);
        goto fail;
    }
    if (pthread_create(&w->sweeper, NULL, sweep, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->wake);
        goto fail;
    }
    return w;
fail:
    log_msg(LOG_ERROR, "http: cannot start the connection deadlines (out of memory or threads)");
    if (w) {
        free(w->entries);
        free(w->free_idx);
        free(w);
    }
    return NULL;
}

void conn_watch_free(struct conn_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->sweeper, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    free(w->entries);
    free(w->free_idx);
    free(w);
}

struct conn_watch_entry *conn_watch_open(struct conn_watch *w, int fd)
{
    struct conn_watch_entry *e = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->nfree > 0) {
        e = &w->entries[w->free_idx[--w->nfree]];
        e->used = true;
        e->fd = fd;
        e->phase = CONN_HEAD;
        e->deadline_us = clock_mono_us() + w->phase_us[CONN_HEAD];
    }
    pthread_mutex_unlock(&w->mu);
    return e;
}

void conn_watch_phase(struct conn_watch *w, struct conn_watch_entry *e, enum conn_phase phase)
{
    if (!e)
        return;
    pthread_mutex_lock(&w->mu);
    if (e->used && e->phase != phase) {
        e->phase = phase;
        e->deadline_us = w->phase_us[phase] ? clock_mono_us() + w->phase_us[phase] : 0;
    }
    pthread_mutex_unlock(&w->mu);
}

void conn_watch_close(struct conn_watch *w, struct conn_watch_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&w->mu);
    if (e->used) {
        e->used = false;
        e->deadline_us = 0;
        w->free_idx[w->nfree++] = (size_t)(e - w->entries);
    }
    pthread_mutex_unlock(&w->mu);
}
