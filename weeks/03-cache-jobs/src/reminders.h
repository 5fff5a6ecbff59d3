/* reminders.h — due-date reminder e-mails: the scan that plans them and the job that sends one.
 *
 * Nobody asks for a reminder: time does. So the worker scans the tasks table every few seconds
 * for tasks coming due and turns each into a `reminder` job that runs at due_at - lead (never
 * before: the queue's delayed set holds it until then). A job is created at most once per task
 * and due date — its dedupe key is "reminder:<task_id>:<due_at_us>" — so scanning the same task
 * again and again, from one worker or from ten, plans one e-mail. When the job runs it reads the
 * task again: a task deleted, finished or moved to another due date since gets no e-mail (its
 * new due date has a job of its own). */
#ifndef TASKD_REMINDERS_H
#define TASKD_REMINDERS_H

#include <stddef.h>
#include <stdint.h>

struct job;
struct mailer_config;
struct pg_pool;
struct queue;
struct task_repo;

struct reminders_options {
    int64_t lead_us;          /* REMINDER_LEAD_SECONDS: how long before due_at the mail goes */
    int64_t scan_interval_us; /* REMINDER_SCAN_SECONDS: how often reminders_scan runs */
    int max_attempts;         /* JOB_MAX_ATTEMPTS of the jobs it creates */
};

/* Plans the reminders of every owner's tasks that are not done, due after now_us, and whose
 * reminder time (due_at - lead) falls before now_us + 2 scan intervals (so every task is seen by
 * at least two scans before its mail is due, and a scan that fails is covered by the next).
 * New jobs are pushed to the queue's delayed set for max(now, due_at - lead); a failed push is
 * logged and left to the sweeper (the row is the truth). *created (may be NULL) counts the jobs
 * that did not exist yet. 0, ERR_UNAVAILABLE, ERR_INTERNAL, ERR_NOMEM. */
int reminders_scan(struct pg_pool *pool, struct queue *q, const struct reminders_options *o,
                   int64_t now_us, size_t *created);

/* Runs reminder job j (payload {"task_id":..,"due_at_us":..}): reads the task in the job
 * owner's scope and mails `to` through m, or skips the mail (and says why in the log) when the
 * task is gone, done, or no longer due at due_at_us. 0 when the job is done either way;
 * otherwise an ERR_ code with a short reason for the job's error column in why (a failed send is
 * a failure, retried with backoff). */
int reminders_run(struct task_repo *repo, const struct mailer_config *m, const char *to,
                  const struct job *j, char *why, size_t why_len);

#endif
