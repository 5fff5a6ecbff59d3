/* Lab copy of weeks/03-cache-jobs/src/worker.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* worker.c — the job loop of taskd-worker (see worker.h for the life of a job).
 *
 * One thread does everything, in this order, forever: housekeeping that is due (queue_tick
 * every TICK_US, the sweeper every SWEEP_US, the reminder scan every REMINDER_SCAN_SECONDS),
 * then a claim that waits at most CLAIM_WAIT_MS, then the job it brought, if any. The short
 * claim wait is what keeps the loop responsive: a stop signal or a due tick is never more than
 * half a second away. Intervals are measured on the monotonic clock (a wall-clock jump must not
 * stop the ticks); times stored in the database and Redis are wall-clock, from clock_now_us().
 *
 * A job in hand has a lease in Redis of `visibility` seconds. A handler that may run longer
 * calls job_heartbeat now and then (the export's injected delay between slices, the mailer from
 * libcurl's progress callback); the heartbeat renews the lease once half of it has gone, and is
 * also where a second stop signal is noticed: it tells the handler to give up, and the job goes
 * back to the queue instead of being recorded. */
#include "worker.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "export_csv.h"
#include "jobs_repo.h"
#include "log.h"
#include "observer.h"
#include "queue.h"
#include "reminders.h"
#include "timeutil.h"

#define CLAIM_WAIT_MS   500
#define TICK_US         INT64_C(500000)
#define SWEEP_US        INT64_C(5000000)
#define OUTAGE_PAUSE_MS 1000 /* a backing service is down: wait this long before trying again */
#define SWEEP_BATCH     100
#define SLEEP_SLICE_MS  100
/* The sweeper leaves alone what is younger than this (and than 2 leases): a job queued a moment
 * ago is on its way through Redis, and re-pushing it would only deliver it twice. */
#define SWEEP_MIN_AGE_US INT64_C(10000000)
#define ERROR_TEXT_MAX   256

struct worker {
    struct worker_options o;
    struct pg_pool *pool;
    struct task_repo *repo;
    struct queue *q;
    struct mailer_config mail; /* o.mail with the heartbeat as its progress callback */
    struct reminders_options rem;
    int64_t next_tick_us, next_sweep_us, next_scan_us; /* monotonic */
    bool redis_down, db_down;                          /* logged once per outage */
    /* The job in hand. */
    int64_t current;
    const struct job *job;    /* its row once started (for the heartbeat), else NULL */
    int64_t lease_renewed_us; /* monotonic */
    bool aborted;             /* a second signal told the handler to give up */
};

/* What a handler hands back: a result on success, a reason on failure. */
struct outcome {
    char result_url[64];
    struct buf csv; /* an export's file */
    int rows;
    bool permanent; /* retrying cannot help (a bad payload, a file too large) */
    char error[ERROR_TEXT_MAX];
};

static bool stop_requested(const struct worker *w)
{
    return *w->o.stop_signals >= 1;
}

static bool stop_now_requested(const struct worker *w)
{
    return *w->o.stop_signals >= 2;
}

/* Sleeps ms, in slices, returning early when a stop signal arrives. */
static void nap(const struct worker *w, int ms)
{
    int64_t until = clock_mono_us() + (int64_t)ms * 1000;
    while (!stop_requested(w)) {
        int64_t left = until - clock_mono_us();
        if (left <= 0)
            return;
        int64_t slice =
            left < (int64_t)SLEEP_SLICE_MS * 1000 ? left : (int64_t)SLEEP_SLICE_MS * 1000;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(slice * 1000)};
        nanosleep(&ts, NULL); /* EINTR (a signal) just ends the slice early */
    }
}

/* ------------------------------------------------------------------ outages */

/* The pool and the queue each log once when their server goes away and once when it is back,
 * so the worker only notes, at debug level, that it is riding the outage out. */
static void service_state(bool *down, const char *service, int rc)
{
    if (rc == ERR_UNAVAILABLE && !*down) {
        log_kv(LOG_DEBUG, "a backing service is unavailable: the worker keeps retrying",
               (struct log_kv[]){LOG_STR("service", service)}, 1);
        *down = true;
    } else if (rc == 0 && *down) {
        log_kv(LOG_DEBUG, "a backing service is back",
               (struct log_kv[]){LOG_STR("service", service)}, 1);
        *down = false;
    }
}

static void redis_state(struct worker *w, int rc)
{
    service_state(&w->redis_down, "redis", rc);
}

static void db_state(struct worker *w, int rc)
{
    service_state(&w->db_down, "postgres", rc);
}

/* ------------------------------------------------------------------ backoff */

int64_t worker_backoff_ms(int base_ms, int attempt)
{
    if (base_ms <= 0)
        return 0;
    /* TODO(lab 3.8): Double per attempt up to the cap, then a random point in its upper half. */
    return base_ms;
}

/* ------------------------------------------------------------------ heartbeat */

/* Renews the lease of the job in hand once half of it has gone; non-zero tells the handler to
 * give up now (a second stop signal). Runs often (every 100 ms or so): it must be cheap. */
static int job_heartbeat(void *ctx)
{
    struct worker *w = ctx;
    if (w->o.tick)
        w->o.tick(w->o.tick_ctx);
    if (stop_now_requested(w)) {
        w->aborted = true;
        return 1;
    }
    /* TODO(lab 3.10): Once half the lease has gone, renew it (queue_extend) and touch the row. */
    return 0;
}

/* Sleeps ms while keeping the lease; false when told to give up. */
static bool job_sleep(struct worker *w, int ms)
{
    int64_t until = clock_mono_us() + (int64_t)ms * 1000;
    for (;;) {
        if (job_heartbeat(w) != 0)
            return false;
        int64_t left = until - clock_mono_us();
        if (left <= 0)
            return true;
        int64_t slice =
            left < (int64_t)SLEEP_SLICE_MS * 1000 ? left : (int64_t)SLEEP_SLICE_MS * 1000;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(slice * 1000)};
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------------ handlers */

/* Export: the owner's tasks as CSV, stored with the job by jobs_succeed. */
static int run_export(struct worker *w, const struct job *j, struct outcome *out)
{
    if (w->o.fault_export_delay_ms > 0 && !job_sleep(w, w->o.fault_export_delay_ms))
        return ERR_UNAVAILABLE; /* aborted: the caller sees w->aborted */
    if (j->attempts <= w->o.fault_fail_export_attempts) {
        snprintf(out->error, sizeof out->error, "injected failure");
        return ERR_INTERNAL;
    }
    int rc = export_csv_build(w->repo, j->owner_id, &out->csv, &out->rows);
    if (rc != 0) {
        snprintf(out->error, sizeof out->error, "export: %s", err_str(rc));
        out->permanent = rc == ERR_TOO_LARGE;
        return rc;
    }
    snprintf(out->result_url, sizeof out->result_url, "/exports/%" PRId64 ".csv", j->id);
    return 0;
}

static int run_reminder(struct worker *w, const struct job *j, struct outcome *out)
{
    int rc = reminders_run(w->repo, w->mail.smtp_url ? &w->mail : NULL, w->o.notify_email, j,
                           out->error, sizeof out->error);
    out->permanent = rc == ERR_INVALID;
    return rc;
}

/* The job types this worker runs, and their handlers. */
struct handler {
    const char *type;
    int (*run)(struct worker *w, const struct job *j, struct outcome *out);
};
static const struct handler handlers[] = {{"export", run_export}, {"reminder", run_reminder}};
#define NHANDLERS (sizeof handlers / sizeof handlers[0])

/* The handler of a job type, or NULL when this worker has none. */
static const struct handler *handler_of(const char *type)
{
    for (size_t i = 0; i < NHANDLERS; i++)
        if (strcmp(type, handlers[i].type) == 0)
            return &handlers[i];
    return NULL;
}

static int run_handler(struct worker *w, const struct job *j, struct outcome *out)
{
    const struct handler *h = handler_of(j->type);
    if (h)
        return h->run(w, j, out);
    snprintf(out->error, sizeof out->error, "this worker has no handler for type '%s'", j->type);
    out->permanent = true;
    return ERR_INVALID;
}

/* Reports how an attempt ended (observer.h). The type is one of the handlers' or "other", never
 * the row's own text: whatever a row says, the observer sees a closed set of types. */
static void report(const struct worker *w, const struct job *j, enum observed_job how)
{
    const struct handler *h = handler_of(j->type);
    observe_job(w->o.observer, h ? h->type : "other", how, 1);
}

/* ------------------------------------------------------------------ one job */

/* One line about job j; error and num_key (with num) are added when not NULL. */
static void job_log(enum log_level level, const char *msg, const struct worker *w,
                    const struct job *j, const char *error, const char *num_key, int64_t num)
{
    struct log_kv kv[6];
    size_t n = 0;
    kv[n++] = LOG_INT("job_id", j->id);
    kv[n++] = LOG_STR("type", j->type);
    kv[n++] = LOG_INT("attempt", j->attempts);
    kv[n++] = LOG_STR("worker", w->o.worker_id);
    if (error)
        kv[n++] = LOG_STR("error", error);
    if (num_key)
        kv[n++] = LOG_INT(num_key, num);
    log_kv(level, msg, kv, n);
}

/* The job could not be recorded (the database went away under it): give it back to the queue
 * so that it runs again once things are up, and pause. */
static void give_back(struct worker *w, int64_t id, int rc)
{
    db_state(w, rc);
    redis_state(w, queue_release(w->q, id));
    nap(w, OUTAGE_PAUSE_MS);
}

/* Records a failure: a retry after backoff, or the end (dead letter). */
static void record_failure(struct worker *w, const struct job *j, const struct outcome *out)
{
    int limit = j->max_attempts < w->o.max_attempts ? j->max_attempts : w->o.max_attempts;
    /* TODO(lab 3.9): Retry (after a backoff) or give up: which failures, how many attempts? */
    bool retry = false; int64_t delay_ms = 0;
    int64_t retry_at_us = retry ? clock_now_us() + delay_ms * 1000 : 0;
    const char *error = out->error[0] ? out->error : "failed";
    int rc = jobs_fail(w->pool, j, error, retry_at_us);
    if (rc == ERR_CONFLICT) {
        job_log(LOG_WARN, "job failed, but another attempt owns it now: nothing recorded", w, j,
                error, NULL, 0);
        redis_state(w, queue_ack(w->q, j->id));
        return;
    }
    if (rc != 0) {
        give_back(w, j->id, rc);
        return;
    }
    db_state(w, 0);
    report(w, j, retry ? OBSERVED_JOB_RETRIED : OBSERVED_JOB_FAILED);
    if (retry) {
        job_log(LOG_WARN, "job failed: it will be retried", w, j, error, "retry_in_ms", delay_ms);
        redis_state(w, queue_retry(w->q, j->id, retry_at_us / 1000));
    } else {
        job_log(LOG_ERROR, "job failed for good", w, j, error, "attempts_allowed", limit);
        redis_state(w, queue_ack(w->q, j->id));
    }
}

static void process(struct worker *w, int64_t id)
{
    struct job j;
    job_init(&j);
    struct outcome out = {.csv = BUF_INIT};
    int64_t started = clock_mono_us();
    w->current = id;
    w->lease_renewed_us = started; /* the claim has just given a fresh lease */
    w->aborted = false;

    int rc = jobs_start(w->pool, id, &j);
    if (rc == ERR_CONFLICT || rc == ERR_NOT_FOUND) {
        /* Finished already (a duplicate delivery), or a row that no longer exists. */
        struct log_kv kv[] = {
            LOG_INT("job_id", id),
            LOG_STR("reason", rc == ERR_CONFLICT ? "already finished" : "no such job")};
        log_kv(rc == ERR_CONFLICT ? LOG_INFO : LOG_WARN, "job skipped", kv, 2);
        db_state(w, 0);
        redis_state(w, queue_ack(w->q, id));
        goto done;
    }
    if (rc != 0) {
        if (rc != ERR_UNAVAILABLE)
            log_kv(LOG_ERROR, "cannot start a job",
                   (struct log_kv[]){LOG_INT("job_id", id), LOG_STR("error", err_str(rc))}, 2);
        give_back(w, id, rc);
        goto done;
    }
    db_state(w, 0);
    w->job = &j;
    job_log(LOG_DEBUG, "job started", w, &j, NULL, NULL, 0);

    rc = run_handler(w, &j, &out);
    if (w->aborted) {
        job_log(LOG_WARN, "job interrupted by a second stop signal: given back to the queue", w, &j,
                NULL, "ms", (clock_mono_us() - started) / 1000);
        redis_state(w, queue_release(w->q, id));
        goto done;
    }
    if (rc != 0) {
        record_failure(w, &j, &out);
        goto done;
    }
    rc = jobs_succeed(w->pool, &j, out.result_url[0] ? out.result_url : NULL,
                      out.csv.len > 0 ? out.csv.data : NULL, out.rows);
    if (rc == ERR_CONFLICT) {
        job_log(LOG_WARN, "job done, but another attempt owns it now: result dropped", w, &j, NULL,
                "ms", (clock_mono_us() - started) / 1000);
        redis_state(w, queue_ack(w->q, id));
        goto done;
    }
    if (rc == ERR_UNAVAILABLE) {
        give_back(w, id, rc);
        goto done;
    }
    if (rc != 0) {
        /* The database refused the result itself (not an outage): count it as a failed attempt,
         * or the job would run, fail to record, and run again forever. */
        snprintf(out.error, sizeof out.error, "recording the result: %s", err_str(rc));
        record_failure(w, &j, &out);
        goto done;
    }
    report(w, &j, OBSERVED_JOB_SUCCEEDED);
    job_log(LOG_INFO, "job succeeded", w, &j, NULL, "ms", (clock_mono_us() - started) / 1000);
    redis_state(w, queue_ack(w->q, id));
done:
    w->current = 0;
    w->job = NULL;
    buf_free(&out.csv);
    job_clear(&j);
}

/* ------------------------------------------------------------------ housekeeping */

/* Jobs the table says should be on the queue, pushed again: Redis may have lost them (a flush,
 * a failover without persistence) or never received them (the API's push failed). An id that
 * was not lost is delivered twice, which the fence makes harmless. */
static void sweep(struct worker *w)
{
    int64_t age = 2 * (int64_t)w->o.visibility_s * 1000000;
    if (age < SWEEP_MIN_AGE_US)
        age = SWEEP_MIN_AGE_US;
    int64_t ids[SWEEP_BATCH];
    size_t n = 0;
    int rc = jobs_overdue(w->pool, clock_now_us() - age, ids, SWEEP_BATCH, &n);
    db_state(w, rc == ERR_UNAVAILABLE ? rc : 0);
    if (rc != 0)
        return;
    size_t pushed = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = queue_push(w->q, ids[i], 0);
        pushed += rc == 0;
    }
    redis_state(w, rc);
    if (pushed > 0)
        log_kv(LOG_INFO, "sweeper queued overdue jobs again",
               (struct log_kv[]){LOG_INT("jobs", (long long)pushed)}, 1);
}

static void scan_reminders(struct worker *w)
{
    size_t created = 0;
    int rc = reminders_scan(w->pool, w->q, &w->rem, clock_now_us(), &created);
    db_state(w, rc == ERR_UNAVAILABLE ? rc : 0);
    if (created > 0)
        observe_job(w->o.observer, "reminder", OBSERVED_JOB_QUEUED, created);
    if (rc != 0 && rc != ERR_UNAVAILABLE)
        log_kv(LOG_ERROR, "the reminder scan failed",
               (struct log_kv[]){LOG_STR("error", err_str(rc))}, 1);
}

static void housekeeping(struct worker *w)
{
    int64_t now = clock_mono_us();
    if (now >= w->next_tick_us) {
        /* queue_tick logs the claims it takes back itself (a worker died or stalled). */
        redis_state(w, queue_tick(w->q, NULL, NULL));
        w->next_tick_us = now + TICK_US;
    }
    if (now >= w->next_sweep_us) {
        sweep(w);
        w->next_sweep_us = now + SWEEP_US;
    }
    if (w->o.notify_email && now >= w->next_scan_us) {
        scan_reminders(w);
        w->next_scan_us = now + (int64_t)w->o.reminder_scan_s * 1000000;
    }
}

/* ------------------------------------------------------------------ the loop */

int worker_new(const struct worker_options *o, struct pg_pool *pool, struct task_repo *repo,
               struct queue *q, struct worker **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!o || !pool || !repo || !q || !o->stop_signals || !o->worker_id || o->visibility_s < 1 ||
        o->max_attempts < 1 || o->backoff_base_ms < 0 || o->reminder_scan_s < 1 ||
        o->reminder_lead_s < 0)
        return ERR_INVALID;
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return ERR_NOMEM;
    w->o = *o;
    w->pool = pool;
    w->repo = repo;
    w->q = q;
    w->mail = o->mail;
    w->mail.progress = job_heartbeat;
    w->mail.progress_ctx = w;
    w->rem = (struct reminders_options){
        .lead_us = (int64_t)o->reminder_lead_s * 1000000,
        .scan_interval_us = (int64_t)o->reminder_scan_s * 1000000,
        .max_attempts = o->max_attempts,
    };
    /* Every type and outcome is announced at 0, so the first job of each is an increase. */
    for (size_t i = 0; i < NHANDLERS; i++)
        for (int how = 0; how < OBSERVED_JOB_KINDS; how++)
            observe_job(o->observer, handlers[i].type, (enum observed_job)how, 0);
    *out = w;
    return 0;
}

void worker_free(struct worker *w)
{
    free(w);
}

int worker_run(struct worker *w, bool *interrupted)
{
    if (!w || !interrupted)
        return ERR_INVALID;
    *interrupted = false;
    while (!stop_requested(w)) {
        if (w->o.tick)
            w->o.tick(w->o.tick_ctx);
        housekeeping(w);
        int64_t id = 0;
        int rc = queue_claim(w->q, CLAIM_WAIT_MS, &id);
        if (rc == ERR_NOT_FOUND) {
            redis_state(w, 0);
            continue;
        }
        redis_state(w, rc);
        if (rc != 0) {
            nap(w, OUTAGE_PAUSE_MS);
            continue;
        }
        if (stop_requested(w)) {
            /* The signal came while the claim was waiting: not ours to start any more. */
            redis_state(w, queue_release(w->q, id));
            break;
        }
        process(w, id);
        if (w->aborted) {
            *interrupted = true;
            break;
        }
    }
    return 0;
}
