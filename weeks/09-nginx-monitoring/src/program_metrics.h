/* program_metrics.h — stage 9's observer: what taskd-worker and the consumers report, as
 * counters Prometheus scrapes from a port of each program's own.
 *
 * taskd counts its requests itself and serves them on its own GET /metrics (metrics_http.h).
 * The background programs answer no HTTP, but they report how every piece of their work ended
 * (the core's observer.h: weeks 3 and 7 call it). This module is what stage 9 makes of those
 * reports: a registry (metrics.h) with
 *   jobs_total{type,status}              jobs by type: queued (the reminders the worker plans;
 *                                        taskd counts the exports it queues), then how each
 *                                        attempt ended: succeeded, retried, failed (for good:
 *                                        a dead letter);
 *   events_consumed_total{consumer,outcome}  messages a consumer finished: handled, duplicate,
 *                                        retried;
 *   events_dead_lettered_total{consumer} messages it moved to the dead-letter topic;
 * and the process_* series, written by GET /metrics on METRICS_ADDRESS:METRICS_PORT. With
 * METRICS_PORT unset there is no listener and nothing is counted: one machine may run several
 * workers, and only the one who runs them knows which ports are free (week 9's run scripts and
 * Prometheus's targets name them). Counting is the registry's lock-free add. */
#ifndef TASKD_PROGRAM_METRICS_H
#define TASKD_PROGRAM_METRICS_H

#include "observer.h"

struct config;
struct metrics_spec;

/* jobs_total{type,status}: one definition for the worker's registry and taskd's, which counts
 * the exports it queues (metrics_http.c); Prometheus adds the two up. */
extern const struct metrics_spec program_metrics_jobs_spec;

/* The provider stage 9 puts in its struct stage. */
extern const struct observer_provider program_metrics_provider;

/* The pieces the provider is made of, for tests: */
int program_metrics_declare(struct config *cfg);
/* Makes the observer of `program`; with METRICS_PORT set, also its listener, already serving
 * (a port that is taken is logged and refused: ERR_UNAVAILABLE). 0 or an ERR_ code. */
int program_metrics_open(const struct config *cfg, const char *program, struct observer *out);
/* The port the listener serves on (METRICS_PORT), 0 when there is none. */
unsigned program_metrics_port(const struct observer *o);

#endif
