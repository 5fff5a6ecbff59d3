/* task_repo.h — where tasks are stored, as an interface.
 *
 * Handlers talk to a `struct task_repo` and never to a database. Each backend fills in an ops
 * table: week 1 ships SQLite (the embedded default) and an in-memory one (unit tests); another
 * backend is another ops table, and a decorator is one whose ops call a repository it wraps.
 * Which one runs is configuration: the factory (task_repo_factory.h) opens a repository from
 * DATABASE_URL.
 *
 * Every call takes a scope — the owner on whose behalf it runs — so that telling owners apart
 * is an addition and not a rewrite: a row of another scope is ERR_NOT_FOUND, exactly like a
 * missing one. Checks that guard a write (If-Match) are done in the same atomic step as the
 * write. */
#ifndef TASKD_TASK_REPO_H
#define TASKD_TASK_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task.h"

#define TASK_REPO_KEY_BYTES 32
#define TASK_LIST_LIMIT_MAX 100

struct locals;

/* On whose behalf a call runs. Handlers build it with scope_from_req (scope_http.h). */
struct scope {
    int64_t owner_id; /* 0 = anonymous: in week 1 every request is */
    /* The request's own values (locals.h), or NULL for a call made outside any request (a
     * test, a background job). The stores ignore it; it is there for a decorator that needs to
     * read or note something about the one request it serves. A `struct locals`, not the HTTP
     * request, so repositories never depend on HTTP. */
    struct locals *locals;
};

enum task_sort {
    TASK_SORT_CREATED_AT, /* default */
    TASK_SORT_CREATED_AT_DESC,
    TASK_SORT_DUE_AT, /* tasks without due_at last, in both directions */
    TASK_SORT_DUE_AT_DESC,
    TASK_SORT_PRIORITY,
    TASK_SORT_PRIORITY_DESC,
};

/* Filters combine with AND; an unset one matches everything. */
struct task_filter {
    bool has_status;
    enum task_status status;
    bool has_priority;
    enum task_priority priority;
    const char *tag; /* exact tag, or NULL */
    const char *q;   /* case-insensitive substring of title or description, or NULL;
                        %, _ and \ are literal */
    bool has_due_before;
    int64_t due_before; /* strict: due_at < due_before; tasks without due_at never match */
    bool has_due_after;
    int64_t due_after; /* strict: due_at > due_after */
};

/* A position in a listing: the sort key and id of the last row of the previous page. */
struct task_key {
    int64_t id;
    int64_t created_at;
    bool has_due;
    int64_t due_at;
    int priority;
};

struct task_list_query {
    struct task_filter filter;
    enum task_sort sort;
    size_t limit;   /* 1..TASK_LIST_LIMIT_MAX */
    bool has_after; /* start strictly after `after` in the sort order (keyset paging) */
    struct task_key after;
};

struct task_page {
    struct task *items; /* owned */
    size_t count;
    bool has_more; /* rows follow the last item */
};

enum if_match_kind {
    IF_MATCH_NONE,    /* no If-Match: write unconditionally */
    IF_MATCH_ANY,     /* "*": any existing task */
    IF_MATCH_VERSION, /* "<n>" or a list "<n>", "<m>": only when version is one of them */
    IF_MATCH_NEVER,   /* no strong tag of ours, or unparsable: matches nothing (412 if it exists) */
};

/* The most versions one If-Match may list; a longer list matches nothing (412). */
#define IF_MATCH_MAX 16

struct if_match {
    enum if_match_kind kind;
    int64_t versions[IF_MATCH_MAX]; /* IF_MATCH_VERSION: the versions listed, n of them */
    size_t n;
};

struct task_repo;

struct task_repo_ops {
    const char *name; /* "sqlite", "memory", ... */
    /* Stores a validated task: assigns id, version 1, created_at = updated_at = now, owner =
     * scope. *out gets the stored task. */
    int (*create)(struct task_repo *r, const struct scope *sc, const struct task *in,
                  struct task *out);
    int (*get)(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out);
    /* Applies p when im matches; bumps version and updated_at unless p names no field.
     * ERR_NOT_FOUND before ERR_PRECONDITION. */
    int (*update)(struct task_repo *r, const struct scope *sc, int64_t id,
                  const struct task_patch *p, const struct if_match *im, struct task *out);
    int (*remove)(struct task_repo *r, const struct scope *sc, int64_t id,
                  const struct if_match *im);
    int (*list)(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                struct task_page *out);
    /* A random key that belongs to this store, made on first use: cursors are signed with it,
     * so every instance sharing the store, and every restart, accepts the same cursors. */
    int (*instance_key)(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES]);
    /* 0 when the store answers (readiness), ERR_UNAVAILABLE otherwise. */
    int (*ping)(struct task_repo *r);
    void (*free)(struct task_repo *r);
};

/* The common head of every repository; backends embed it first in their own struct. */
struct task_repo {
    const struct task_repo_ops *ops;
};

/* Thin wrappers over ops, so callers read as prose. All return 0 or an ERR_ code; `out` must be
 * initialised (task_init) and is overwritten only on success. */
int task_repo_create(struct task_repo *r, const struct scope *sc, const struct task *in,
                     struct task *out);
int task_repo_get(struct task_repo *r, const struct scope *sc, int64_t id, struct task *out);
int task_repo_update(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct task_patch *p, const struct if_match *im, struct task *out);
int task_repo_remove(struct task_repo *r, const struct scope *sc, int64_t id,
                     const struct if_match *im);
int task_repo_list(struct task_repo *r, const struct scope *sc, const struct task_list_query *q,
                   struct task_page *out);
int task_repo_instance_key(struct task_repo *r, unsigned char key[TASK_REPO_KEY_BYTES]);
int task_repo_ping(struct task_repo *r);
void task_repo_free(struct task_repo *r); /* NULL is a no-op */

/* What every backend's open does first: *out = NULL; url must start with one of `schemes`
 * (a NULL-terminated list), else `usage` is logged and the answer is ERR_INVALID; libsodium must
 * be ready, because every store's instance key is random. */
int task_repo_open_check(const char *url, const char *const schemes[], const char *usage,
                         struct task_repo **out);
/* A backend's struct of `size` bytes, zeroed, whose first member, the struct task_repo head,
 * gets ops. NULL when out of memory. */
void *task_repo_alloc(size_t size, const struct task_repo_ops *ops);

void task_page_init(struct task_page *p);
void task_page_clear(struct task_page *p);

/* How a backend hands back what it built in a local: when rc is 0, *t replaces *out (whose old
 * content is freed); otherwise *t is freed and *out left alone. Returns rc, so a backend ends
 * with `return task_deliver(rc, &t, out);` and the "out only on success" rule holds everywhere. */
int task_deliver(int rc, struct task *t, struct task *out);
int task_page_deliver(int rc, struct task_page *page, struct task_page *out);

/* The position of t in the order `sort` (what the next page starts after). */
struct task_key task_key_of(const struct task *t);
/* <0, 0, >0 as a sorts before, equal to, or after b in `sort` (ties broken by id). */
int task_key_compare(enum task_sort sort, const struct task_key *a, const struct task_key *b);
/* True when t passes every filter in f (used by the in-memory repository). */
bool task_filter_match(const struct task_filter *f, const struct task *t);

/* The tags of t as JSON array text, how the SQL backends store and pass them (the caller frees
 * *out with cJSON_free). */
int task_tags_to_json(const struct task *t, char **out);
/* Reads JSON array text of len bytes into t's tags. Anything but an array of valid tags means
 * the store was edited behind our back: ERR_INTERNAL, not a guess. */
int task_tags_from_json(const char *text, size_t len, struct task *t);

#endif
