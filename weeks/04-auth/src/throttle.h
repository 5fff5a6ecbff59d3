/* throttle.h — counting failures per key in Redis, for login throttling.
 *
 * A fixed window per key: the first failure starts a window of window_s seconds, each failure
 * adds one (INCR + EXPIRE in one Lua script), and while the count is at the limit every attempt
 * is refused with the window's remaining seconds (429 Retry-After). A login reserves its
 * attempt before checking the password (throttle_reserve) and gives it back when the password
 * was right (throttle_release, throttle_reset), so attempts in flight count as failures. Kept in
 * Redis so that every instance of the service shares the counts. Redis down: throttling fails open
 * (logged) — a login should not become impossible because a cache is down; argon2id still makes
 * each guess expensive. */
#ifndef TASKD_THROTTLE_H
#define TASKD_THROTTLE_H

#include <stdbool.h>

struct throttle;

/* url as week 3's redis_conn.h reads it; prefix starts every key. No connection needed at open. */
int throttle_open(const char *url, const char *prefix, struct throttle **out);
void throttle_free(struct throttle *t);

/* Is key over limit? *retry_after_s gets the window's remaining seconds when it is. 0 (allowed
 * or not: see *blocked), ERR_UNAVAILABLE (Redis down: the caller lets the attempt through). */
int throttle_check(struct throttle *t, const char *key, int limit, bool *blocked,
                   int *retry_after_s);
/* Counts one failure for key in a window of window_s seconds. */
int throttle_fail(struct throttle *t, const char *key, int window_s);
/* Forgets key (a successful login resets the per-e-mail count). */
int throttle_reset(struct throttle *t, const char *key);

/* Reserves one attempt on each of the n keys (1..THROTTLE_KEYS_MAX) at once, before the attempt
 * is checked: if any key is at its limit (limits[i]), nothing is counted, *blocked is true and
 * *retry_after_s the longest remaining window; otherwise every count goes up by one (the first
 * starts a window of window_s seconds) and the attempt counts as a failure unless released. One
 * Lua script, so concurrent attempts can never all pass a check that none has counted yet.
 * 0 (see *blocked), ERR_INVALID, ERR_UNAVAILABLE (Redis down: nothing was reserved). */
#define THROTTLE_KEYS_MAX 2
int throttle_reserve(struct throttle *t, int n, const char *const keys[], const int limits[],
                     int window_s, bool *blocked, int *retry_after_s);
/* Gives back one reservation of key (an attempt that did not fail): the count goes down by one,
 * never below 0, and keeps its window. */
int throttle_release(struct throttle *t, const char *key);

#endif
