/* task_repo_factory.c — DATABASE_URL in, a repository out (see task_repo_factory.h).
 *
 * The factory knows no backend by itself beyond week 1's two: it keeps a small table of URL
 * schemes, each with the function that opens it and that function's context. Week 2 adds
 * "postgres" the same way, from its own stage, with its pool settings as the context. A stage
 * fills its factory before the server's threads start and only reads it afterwards, which is
 * why it needs no lock. */
#include "task_repo_factory.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"

struct task_repo_factory {
    struct task_repo_backend backends[TASK_REPO_BACKENDS_MAX];
    size_t n;
};

#define SCHEME_NAME_MAX 32 /* bytes, NUL included */
/* A scheme is what RFC 3986 allows: a letter, then letters, digits, '+', '-' or '.'. */
static bool scheme_valid(const char *s, size_t n)
{
    if (n == 0 || n >= SCHEME_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
        if (!alpha && (i == 0 || !other))
            return false;
    }
    return true;
}

static const struct task_repo_backend *backend_find(const struct task_repo_factory *f,
                                                    const char *s, size_t n)
{
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->backends[i].scheme) == n && memcmp(f->backends[i].scheme, s, n) == 0)
            return &f->backends[i];
    return NULL;
}

int task_repo_factory_add(struct task_repo_factory *f, const struct task_repo_backend *b)
{
    if (!f || !b || !b->scheme || !b->open)
        return ERR_INVALID;
    size_t n = strlen(b->scheme);
    if (!scheme_valid(b->scheme, n) || backend_find(f, b->scheme, n))
        return ERR_INVALID;
    if (f->n == TASK_REPO_BACKENDS_MAX)
        return ERR_NOMEM;
    f->backends[f->n++] = *b;
    return 0;
}

static int open_sqlite(void *ctx, const char *url, struct task_repo **out)
{
    (void)ctx;
    return task_repo_sqlite_open(url, out);
}

static int open_memory(void *ctx, const char *url, struct task_repo **out)
{
    (void)ctx;
    return task_repo_memory_open(url, out);
}

int task_repo_factory_new(struct task_repo_factory **out)
{
    *out = NULL;
    struct task_repo_factory *f = calloc(1, sizeof *f);
    if (!f)
        return ERR_NOMEM;
    static const struct task_repo_backend week1[] = {
        {.scheme = "sqlite", .open = open_sqlite},
        {.scheme = "memory", .open = open_memory},
    };
    for (size_t i = 0; i < sizeof week1 / sizeof week1[0]; i++) {
        int rc = task_repo_factory_add(f, &week1[i]);
        if (rc != 0) {
            free(f);
            return rc;
        }
    }
    *out = f;
    return 0;
}

void task_repo_factory_free(struct task_repo_factory *f)
{
    free(f);
}

/* Logs that url's scheme is unknown, with the list of the known ones. Only the scheme of the
 * URL is logged, and only when it looks like one: the rest may hold a password. */
static void log_unknown_scheme(const struct task_repo_factory *f, const char *url, size_t n)
{
    struct buf known = BUF_INIT;
    for (size_t i = 0; i < f->n; i++)
        buf_printf(&known, "%s%s:", i ? ", " : "", f->backends[i].scheme);
    char scheme[SCHEME_NAME_MAX] = "";
    if (scheme_valid(url, n)) {
        memcpy(scheme, url, n); /* n < SCHEME_NAME_MAX: scheme_valid checked it */
        scheme[n] = '\0';
    }
    struct log_kv kv[] = {
        LOG_STR("scheme", scheme[0] ? scheme : NULL),
        LOG_STR("known", known.failed || !known.data ? "" : known.data),
    };
    log_kv(LOG_ERROR, "DATABASE_URL names no known storage backend", kv, sizeof kv / sizeof kv[0]);
    buf_free(&known);
}

int task_repo_factory_open(const struct task_repo_factory *f, const char *url,
                           struct task_repo **out)
{
    if (!f || !url || !out)
        return ERR_INVALID;
    *out = NULL;
    const char *colon = strchr(url, ':');
    size_t n = colon ? (size_t)(colon - url) : 0;
    const struct task_repo_backend *b = colon ? backend_find(f, url, n) : NULL;
    if (!b) {
        log_unknown_scheme(f, url, n);
        return ERR_INVALID;
    }
    return b->open(b->ctx, url, out);
}
