/* observer.h — what a background program reports about its work, for whoever counts it.
 *
 * taskd's requests are counted where they are answered (week 9 adds a middleware to its HTTP
 * server). The service's other programs work in loops of their own and answer no HTTP:
 * taskd-worker runs jobs (week 3), the consumers handle events (week 7). Each reports how every
 * piece of its work ended, here, and a stage may turn the reports into numbers a monitoring
 * system reads (week 9: counters on GET /metrics, on a port of the program's own).
 *
 * The pattern is lifecycle.h's: a stage offers an observer_provider in its struct stage (app.h);
 * the newest one in the chain is used; every hook is optional and every call below is safe on an
 * observer without hooks, so stages 3-8 report into nothing and need not know. */
#ifndef TASKD_OBSERVER_H
#define TASKD_OBSERVER_H

#include <stdint.h>

struct config;

/* A job was queued (the worker's reminder scan plans reminders), or how one attempt of a job
 * ended (week 3's worker). */
enum observed_job {
    OBSERVED_JOB_QUEUED,
    OBSERVED_JOB_SUCCEEDED,
    OBSERVED_JOB_RETRIED, /* it failed and will run again after a backoff */
    OBSERVED_JOB_FAILED,  /* it failed for good: the row stays failed for a person (dead letter) */
};
#define OBSERVED_JOB_KINDS 4

/* What a consumer did since its previous report (week 7's consumer_stats, as differences). */
struct observed_messages {
    uint64_t handled;       /* their effect is done and committed */
    uint64_t duplicates;    /* seen before (processed_events): skipped */
    uint64_t retried;       /* a handler failed; the message is tried again after a backoff */
    uint64_t dead_lettered; /* moved to the dead-letter topic after its last attempt */
};

struct observer {
    void *ctx;
    /* n attempts of jobs of this type ended so. n = 0 announces the series before any job
     * runs, so that a monitoring system sees the first one as an increase from 0. */
    void (*job)(void *ctx, const char *type, enum observed_job how, uint64_t n);
    /* The consumer `consumer` (its group) did this since its previous report; all zero
     * announces it. */
    void (*messages)(void *ctx, const char *consumer, const struct observed_messages *delta);
    /* Releases ctx; called once, last. */
    void (*close)(void *ctx);
};

/* What a stage offers: declare adds its settings to cfg (before config_load); open makes the
 * observer of the program named `program` ("taskd-worker") from the loaded settings: 0, or an
 * ERR_ code (the program then does not start; open logged why). */
struct observer_provider {
    int (*declare)(struct config *cfg);
    int (*open)(const struct config *cfg, const char *program, struct observer *out);
};

/* The calls programs make: each does nothing when its hook is missing or o is NULL. */
void observe_job(const struct observer *o, const char *type, enum observed_job how, uint64_t n);
void observe_messages(const struct observer *o, const char *consumer,
                      const struct observed_messages *delta);
/* The label a monitoring system gives `how`: "queued", "succeeded", "retried", "failed". */
const char *observed_job_name(enum observed_job how);
/* Runs close and empties *o (a second call does nothing). */
void observer_close(struct observer *o);

#endif
