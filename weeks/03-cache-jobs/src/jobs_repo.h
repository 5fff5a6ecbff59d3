/* jobs_repo.h — the jobs table: what a background job is, and its life in PostgreSQL.
 *
 * queued --(a worker starts it: attempts + 1)--> running --> succeeded
 *                                                        \-> queued again (retry, later)
 *                                                        \-> failed (attempts used up)
 * The attempt number a worker got from jobs_start is its *fence*: jobs_succeed and jobs_fail
 * change the row only while it is still that attempt, so when a worker that was presumed dead
 * (its lease expired and the job was redelivered) comes back, its late answer changes nothing.
 * That is how an at-least-once queue gives an exactly-once outcome. */
#ifndef TASKD_JOBS_REPO_H
#define TASKD_JOBS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_pool;

#define JOB_TYPE_MAX   16
#define JOB_STATUS_MAX 16

struct job {
    int64_t id;
    int64_t owner_id;
    char type[JOB_TYPE_MAX];     /* "export", "reminder" */
    char status[JOB_STATUS_MAX]; /* "queued", "running", "succeeded", "failed" */
    int attempts;
    int max_attempts;
    char *payload;    /* JSON object text (never NULL once read) */
    char *error;      /* last error, or NULL */
    char *result_url; /* "/exports/<id>.csv" once an export succeeded, or NULL */
    int64_t run_at;   /* µs since the epoch */
    int64_t created_at;
    int64_t updated_at;
};

void job_init(struct job *j);
void job_clear(struct job *j); /* frees the strings; j can be reused after job_init */

struct job_new {
    int64_t owner_id;
    const char *type;
    const char *payload;    /* JSON object text; NULL = "{}" */
    int64_t run_at;         /* µs since the epoch; 0 = now */
    int max_attempts;       /* 0 = 5 */
    const char *dedupe_key; /* NULL, or a key that makes the job exist at most once */
};

/* Inserts a queued job; *out gets it. With a dedupe_key that exists already nothing is
 * inserted, *created is false and *out is the existing job. 0, ERR_UNAVAILABLE, ERR_INTERNAL. */
int jobs_create(struct pg_pool *p, const struct job_new *n, struct job *out, bool *created);
/* The caller's job: 0, ERR_NOT_FOUND (no such job, or another owner's), ERR_UNAVAILABLE. */
int jobs_get(struct pg_pool *p, int64_t owner_id, int64_t id, struct job *out);

/* A worker takes job id: queued or running -> running, attempts + 1. *out is the job after
 * that (out->attempts is the fence). ERR_NOT_FOUND; ERR_CONFLICT when the job is already
 * finished (a duplicate delivery: ack it and move on). */
int jobs_start(struct pg_pool *p, int64_t id, struct job *out);
/* Fenced finish: succeeded with result_url and, for an export, its CSV stored in the same
 * transaction (csv NULL otherwise). ERR_CONFLICT when attempt j->attempts is no longer the
 * current one. */
int jobs_succeed(struct pg_pool *p, const struct job *j, const char *result_url, const char *csv,
                 int rows);
/* Fenced failure: with retry_at (µs) > 0 the job goes back to queued to run then; with 0 it is
 * failed for good. The error text is stored (at most 1000 bytes are kept). */
int jobs_fail(struct pg_pool *p, const struct job *j, const char *error, int64_t retry_at);

/* A running job's heartbeat (with the queue's lease, queue_extend): updated_at = now, so the
 * sweeper does not take a long job for a dead one. Fenced like jobs_succeed: ERR_CONFLICT when
 * attempt j->attempts is no longer the current one. */
int jobs_touch(struct pg_pool *p, const struct job *j);

/* The CSV of the caller's succeeded export job: 0 with *csv (malloc'd, NUL-terminated) and
 * *len; ERR_NOT_FOUND otherwise (not the caller's, not an export, not finished). */
int jobs_export_csv(struct pg_pool *p, int64_t owner_id, int64_t job_id, char **csv, size_t *len);

/* The sweeper's question: ids of jobs that should be on the queue but may not be (queued and
 * due before `before` µs, or running without an update since `before`), oldest first, at most
 * max. For jobs whose push to Redis failed, or whose Redis state was lost. */
int jobs_overdue(struct pg_pool *p, int64_t before, int64_t *ids, size_t max, size_t *n);

/* Renders j as API.md's job object: {"id","type","status","attempts","error","result_url",
 * "created_at","updated_at"} (caller cJSON_Deletes it; NULL when out of memory). */
struct cJSON *job_to_json(const struct job *j);

#endif
