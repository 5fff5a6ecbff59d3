/* lender.h — lends one of n slots at a time, with a bounded wait: the heart of a connection pool.
 *
 * A pool of connections (pg_pool.h, and week 3's redis_conn.h) is an array of connections plus
 * this: which slots nobody holds, and a way to wait, at most so long, for one to come back. The
 * pool keeps what a slot holds; the lender only hands out indexes. Free slots form a stack, so
 * the slot given back last is lent first (its connection, and the server process behind it, are
 * warm). Waits use the monotonic clock: a wall-clock jump must not end or stretch one. */
#ifndef TASKD_LENDER_H
#define TASKD_LENDER_H

#include <stddef.h>

struct lender;

/* n slots, all free. 0, ERR_INVALID (n is 0) or ERR_NOMEM / ERR_INTERNAL. */
int lender_new(size_t n, struct lender **out);
void lender_free(struct lender *l); /* every slot must be back; NULL is a no-op */

/* Takes a free slot, waiting up to wait_ms for one: 0 with *slot, or ERR_UNAVAILABLE. */
int lender_take(struct lender *l, int wait_ms, size_t *slot);
/* Gives slot back and wakes one waiter. */
void lender_give(struct lender *l, size_t slot);
/* How many slots are free, and how many takers are waiting for one, at this moment (week 9's
 * metrics: a pool whose takers wait is too small, or its holders too slow). */
void lender_stats(struct lender *l, size_t *nfree, size_t *nwaiting);

#endif
