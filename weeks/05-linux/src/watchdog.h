/* watchdog.h — systemd's watchdog: a ping (WATCHDOG=1) at half the interval, only after a probe
 * proved the program still does its work.
 *
 * With WatchdogSec= in its unit, systemd expects a WATCHDOG=1 within every interval (it passes
 * it as $WATCHDOG_USEC) and kills and restarts a service that falls silent. Pinging at half the
 * interval leaves a whole half for one late ping. A ping from a timer alone would only prove
 * that the timer's thread runs; so each turn asks the probe first (probe.h: the real server's
 * /health for taskd, the job loop's heartbeat for the worker) and pings only when it answers.
 * A probe that fails is logged (once, and again when it recovers) and the ping is skipped:
 * systemd restarts the service if it stays that way for a whole interval. */
#ifndef TASKD_WATCHDOG_H
#define TASKD_WATCHDOG_H

#include <stdint.h>

struct watchdog;

/* 0 when the program is alive. Runs on the watchdog's thread; must return in about a quarter
 * of the interval (probe_http is given that as its timeout). */
typedef int (*watchdog_probe_fn)(void *ctx, int timeout_ms);

/* Starts the thread that probes and pings every interval_us / 2. probe and ctx must outlive the
 * watchdog. 0, ERR_INVALID (interval under 2 ms) or ERR_NOMEM / ERR_INTERNAL. */
int watchdog_start(uint64_t interval_us, watchdog_probe_fn probe, void *ctx, struct watchdog **out);
/* Stops the thread (at once, without waiting for its turn) and frees wd. NULL is a no-op. */
void watchdog_stop(struct watchdog *wd);

#endif
