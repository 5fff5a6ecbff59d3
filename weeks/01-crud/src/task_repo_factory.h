/* task_repo_factory.h — opening a repository from a URL (twelve-factor "backing services").
 *
 * "sqlite:taskd.db", "memory:", and from week 2 "postgres://...": the scheme picks the backend.
 * Each backend registers its scheme at start-up, so a later week adds a backend without touching
 * this file, and switching stores is a change of DATABASE_URL, not of code. */
#ifndef TASKD_TASK_REPO_FACTORY_H
#define TASKD_TASK_REPO_FACTORY_H

struct task_repo;

typedef int (*task_repo_open_fn)(const char *url, struct task_repo **out);

/* Registers a scheme ("sqlite", without the colon). Call before any thread starts.
 * 0, ERR_INVALID (already registered) or ERR_NOMEM (the table of 8 is full). */
int task_repo_register_scheme(const char *scheme, task_repo_open_fn open);

/* Registers the week-1 backends: "sqlite" and "memory". Idempotent. */
int task_repo_register_builtin(void);

/* Opens url with the backend of its scheme. ERR_INVALID for an unknown scheme (logged with the
 * list of known ones), or the backend's own error. */
int task_repo_open(const char *url, struct task_repo **out);

/* A later stage that wraps the store (week 3's cache) registers one of these as the app service
 * "task_repo_wrapper" before stage 1 starts: stage 1 then hands the repository it opened to
 * wrap, which takes ownership (also on failure) and returns the repository everything uses. */
struct task_repo_wrapper {
    int (*wrap)(void *ctx, struct task_repo *inner, struct task_repo **out);
    void *ctx;
};

/* The open functions of the week-1 backends. "sqlite:PATH" ("sqlite::memory:" works too);
 * "memory:" is a process-local store for tests. */
int task_repo_sqlite_open(const char *url, struct task_repo **out);
int task_repo_memory_open(const char *url, struct task_repo **out);

#endif
