/* task_repo_factory.c — DATABASE_URL in, a repository out (see task_repo_factory.h).
 *
 * The factory knows no backend by itself: it keeps a small table of URL schemes and the
 * function that opens each. Week 1 registers "sqlite" and "memory" at start-up; week 2 adds
 * "postgres" the same way, from its own stage, without touching this file. The table is
 * written only before the server's threads start and only read afterwards, which is why it
 * needs no lock. */
#include "task_repo_factory.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"

#define SCHEMES_MAX     8
#define SCHEME_NAME_MAX 32 /* bytes, NUL included */

static struct {
    char name[SCHEME_NAME_MAX];
    task_repo_open_fn open;
} schemes[SCHEMES_MAX];
static size_t nschemes;

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

static task_repo_open_fn scheme_find(const char *s, size_t n)
{
    for (size_t i = 0; i < nschemes; i++)
        if (strlen(schemes[i].name) == n && memcmp(schemes[i].name, s, n) == 0)
            return schemes[i].open;
    return NULL;
}

int task_repo_register_scheme(const char *scheme, task_repo_open_fn open)
{
    if (!scheme || !open)
        return ERR_INVALID;
    size_t n = strlen(scheme);
    if (!scheme_valid(scheme, n) || scheme_find(scheme, n))
        return ERR_INVALID;
    if (nschemes == SCHEMES_MAX)
        return ERR_NOMEM;
    memcpy(schemes[nschemes].name, scheme, n + 1); /* n < SCHEME_NAME_MAX: checked above */
    schemes[nschemes].open = open;
    nschemes++;
    return 0;
}

/* Registers scheme unless it already is, so that calling twice is harmless. */
static int register_once(const char *scheme, task_repo_open_fn open)
{
    if (scheme_find(scheme, strlen(scheme)))
        return 0;
    return task_repo_register_scheme(scheme, open);
}

int task_repo_register_builtin(void)
{
    int rc = register_once("sqlite", task_repo_sqlite_open);
    if (rc == 0)
        rc = register_once("memory", task_repo_memory_open);
    return rc;
}

/* Logs that url's scheme is unknown, with the list of the known ones. Only the scheme of the
 * URL is logged, and only when it looks like one: the rest may hold a password. */
static void log_unknown_scheme(const char *url, size_t n)
{
    struct buf known = BUF_INIT;
    for (size_t i = 0; i < nschemes; i++)
        buf_printf(&known, "%s%s:", i ? ", " : "", schemes[i].name);
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

int task_repo_open(const char *url, struct task_repo **out)
{
    if (!url || !out)
        return ERR_INVALID;
    *out = NULL;
    const char *colon = strchr(url, ':');
    size_t n = colon ? (size_t)(colon - url) : 0;
    task_repo_open_fn open = colon ? scheme_find(url, n) : NULL;
    if (!open) {
        log_unknown_scheme(url, n);
        return ERR_INVALID;
    }
    return open(url, out);
}
