/* task_repo_factory.h — opening a repository from a URL (twelve-factor "backing services").
 *
 * "sqlite:taskd.db", "memory:", and from week 2 "postgres://...": the scheme picks the backend.
 * A factory is a small table of backends, each `{scheme, ctx, open}` like SQLite's VFS with its
 * pAppData: ctx carries the backend's own settings (week 2's pool size), so nothing is global
 * and two factories with different settings can live side by side (tests do). A later week adds
 * a backend to the factory its stage builds, without touching this file; switching stores is a
 * change of DATABASE_URL, not of code. */
#ifndef TASKD_TASK_REPO_FACTORY_H
#define TASKD_TASK_REPO_FACTORY_H

struct task_repo;
struct task_repo_factory;

struct task_repo_backend {
    const char *scheme; /* "sqlite", without the colon; must outlive the factory */
    void *ctx;          /* handed to open as is (the backend's settings); may be NULL */
    /* Opens url (the whole DATABASE_URL, scheme included). 0 or an ERR_ code (logged). */
    int (*open)(void *ctx, const char *url, struct task_repo **out);
};

#define TASK_REPO_BACKENDS_MAX 8

/* A factory that knows week 1's backends, "sqlite" and "memory". 0 or ERR_NOMEM. */
int task_repo_factory_new(struct task_repo_factory **out);
void task_repo_factory_free(struct task_repo_factory *f); /* NULL is a no-op */

/* Adds a backend (the struct is copied). 0, ERR_INVALID (no open function, a scheme that RFC
 * 3986 does not allow, or one already known) or ERR_NOMEM (TASK_REPO_BACKENDS_MAX reached). */
int task_repo_factory_add(struct task_repo_factory *f, const struct task_repo_backend *b);

/* Opens url with the backend of its scheme. ERR_INVALID for an unknown scheme (logged with the
 * list of known ones, never with the rest of the URL: it may hold a password), or the backend's
 * own error. */
int task_repo_factory_open(const struct task_repo_factory *f, const char *url,
                           struct task_repo **out);

/* The open functions of the week-1 backends. "sqlite:PATH" ("sqlite::memory:" works too);
 * "memory:" is a process-local store for tests. */
int task_repo_sqlite_open(const char *url, struct task_repo **out);
int task_repo_memory_open(const char *url, struct task_repo **out);

#endif
