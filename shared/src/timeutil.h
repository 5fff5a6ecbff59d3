/* timeutil.h — time as the API speaks it: RFC 3339 strings outside, microseconds inside.
 *
 * Inside the service a timestamp is an int64 count of microseconds since 1970-01-01T00:00:00Z,
 * which every store can keep exactly and compare cheaply. The clock is a function pointer so that
 * unit tests can freeze time (a fake clock) without touching the code under test. */
#ifndef TASKD_TIMEUTIL_H
#define TASKD_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest string rfc3339_format writes, NUL included: "9999-12-31T23:59:59.999999Z". */
#define RFC3339_MAX 28

/* Parses a strict RFC 3339 date-time ("2026-12-01T09:00:00Z", "...T10:00:00.25+01:00").
 * Accepts 'T'/'t', 'Z'/'z' or a numeric offset, at most 6 fractional digits, years 0001..9999
 * after conversion to UTC. Rejects date-only, a space separator, a missing offset, leap seconds
 * and impossible dates. Returns 0 or ERR_INVALID; *why (static text) says what was wrong. */
int rfc3339_parse(const char *s, size_t n, int64_t *us_out, const char **why);

/* Writes us as UTC with 'Z'; fractional seconds only when non-zero, without trailing zeros. */
int rfc3339_format(int64_t us, char *out, size_t out_len);

/* The current time in microseconds since the epoch, from the clock below. */
int64_t clock_now_us(void);

/* Replaces the clock (tests); NULL restores the real one. Not thread-safe: set it before use. */
void clock_set(int64_t (*now_us)(void));

/* Microseconds on the monotonic clock, from an arbitrary origin: for deadlines, timeouts and
 * durations, never for a timestamp. Unlike clock_now_us it cannot be faked, and it never jumps
 * when the wall clock is set (NTP, an administrator), so a wait can neither end early nor last
 * for ever because of one. */
int64_t clock_mono_us(void);

/* A clock_mono_us deadline as pthread_cond_timedwait reads it, for a condition variable whose
 * clock is CLOCK_MONOTONIC (pthread_condattr_setclock). */
struct timespec clock_mono_timespec(int64_t us);

/* Initialises such a condition variable (its clock CLOCK_MONOTONIC). 0 or ERR_NOMEM. */
int clock_mono_cond_init(pthread_cond_t *cond);

#endif
