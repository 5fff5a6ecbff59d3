/* activity.h — the activity feed's read model: a task's events, as the projector recorded them.
 *
 * A read model is a table shaped for one query, filled from events rather than written by the
 * API: here task_activity (migration 0006), one row per event, keyed by event_id so that a
 * redelivered event adds nothing. taskd-projector writes it (activity_record, inside the
 * consumer's dedupe transaction); taskd reads it for GET /tasks/{id}/activity. It is eventually
 * consistent: a change shows up once the relay has published it and the projector consumed it,
 * usually within milliseconds, and a task's feed outlives the task (its delete is its last
 * event). */
#ifndef TASKD_ACTIVITY_H
#define TASKD_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct event;
struct pg_conn;
struct pg_pool;

#define ACTIVITY_ITEMS_MAX 100 /* a feed shows a task's last 100 events */

/* Records e (idempotent: an event_id already there changes nothing). 0 or the database's error. */
int activity_record(struct pg_conn *c, const struct event *e);

/* Appends {"items":[event...]} for task_id of owner_id to out: its last ACTIVITY_ITEMS_MAX
 * events, oldest first. ERR_NOT_FOUND when the owner has no such task and none is recorded (an
 * owner never sees another's feed: 404, like the task itself). 0, ERR_UNAVAILABLE, ERR_NOMEM. */
int activity_list(struct pg_pool *pool, int64_t owner_id, int64_t task_id, struct buf *out);

#endif
