/* task_repo_outbox.h — the transactional outbox, as a repository decorator (week 7).
 *
 * A service that writes its database and then publishes to a broker loses events whenever it
 * dies, or the broker is down, between the two. The outbox closes that gap: the event is a row
 * written in the same transaction as the change (migration 0006), so both commit or neither
 * does, and a relay (relay.h, taskd-relay) publishes the rows afterwards, as often as it takes.
 *
 * This decorator wraps stage 2's PostgreSQL store, under the cache (stage7.c puts it there), so
 * its writes invalidate cache entries like any other: create, update and remove each run on one
 * borrowed connection as BEGIN, the store's own statement (task_repo_pg_*_on), the outbox row,
 * COMMIT. Reads pass through untouched. A PATCH that names no field changes nothing, so it
 * writes no event. */
#ifndef TASKD_TASK_REPO_OUTBOX_H
#define TASKD_TASK_REPO_OUTBOX_H

struct task_repo;

/* Wraps inner, which must be a PostgreSQL store (task_repo_pg.h), taking ownership (freeing the
 * result frees inner). 0, ERR_INVALID (not PostgreSQL: inner is left to the caller) or ERR_NOMEM
 * (inner is left to the caller). */
int task_repo_outbox_new(struct task_repo *inner, struct task_repo **out);

#endif
