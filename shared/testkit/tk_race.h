/* tk_race.h — run one function on N threads that line up at a gate and go together, safely.
 *
 * Racing tests (simultaneous requests with one key, concurrent conditional updates, puts racing
 * on one cache key) need their threads to really overlap: each thread prepares (opens its
 * connection, builds its request), calls tk_race_gate(), and continues when all have arrived.
 * Unlike a bare pthread barrier, tk_race never returns while one of its threads still runs: if a
 * thread cannot be started (EAGAIN when the machine is at its thread or process limit), the gate
 * opens for the ones that did start, and they are joined before tk_race reports the failure. A
 * racer left running after its test's frame is gone (a failed cr_assert in the creating loop)
 * writes into dead stack memory: a sanitizer report instead of a readable failure. */
#ifndef TASKD_TK_RACE_H
#define TASKD_TK_RACE_H

#include <stddef.h>

/* Calls fn(args + i * stride) for i in 0..n-1, each on its own thread, and joins them all.
 * Returns 0; or -1 with errno set when not every thread could start (the started ones ran). */
int tk_race(int n, void *(*fn)(void *), void *args, size_t stride);

/* Called by fn: waits until every thread of its race has arrived here (or has returned). */
void tk_race_gate(void);

#endif
