/* app.c — the object a stage wires itself into (see app.h). */
#include "app.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct deferred {
    void (*fn)(void *ctx);
    void *ctx;
    struct deferred *next;
};

struct app {
    struct config *cfg;
    struct http_server *http;
    int week;
    const char *version;       /* "0.8.0-12-gabc1234", from the build (gen/version.h) */
    struct deferred *deferred; /* newest first */
    struct app_check checks[APP_CHECKS_MAX];
    size_t nchecks;
};

struct app *app_new(struct config *cfg, struct http_server *http, int week, const char *version)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return NULL;
    *app = (struct app){.cfg = cfg, .http = http, .week = week, .version = version};
    return app;
}

void app_free(struct app *app)
{
    if (!app)
        return;
    while (app->deferred) {
        struct deferred *d = app->deferred;
        app->deferred = d->next;
        d->fn(d->ctx);
        free(d);
    }
    free(app);
}

struct config *app_config(struct app *app)
{
    return app->cfg;
}

struct http_server *app_http(struct app *app)
{
    return app->http;
}

int app_week(const struct app *app)
{
    return app->week;
}

const char *app_version(const struct app *app)
{
    return app->version;
}

int app_defer(struct app *app, void (*fn)(void *ctx), void *ctx)
{
    struct deferred *d = malloc(sizeof *d);
    if (!d) {
        fn(ctx);
        return ERR_NOMEM;
    }
    *d = (struct deferred){.fn = fn, .ctx = ctx, .next = app->deferred};
    app->deferred = d;
    return 0;
}

struct owned {
    void (*close)(void *ptr);
    max_align_t data[]; /* the caller's memory, aligned for anything */
};

static void owned_release(void *ctx)
{
    struct owned *o = ctx;
    if (o->close)
        o->close(o->data);
    free(o);
}

void *app_calloc(struct app *app, size_t size, void (*close)(void *ptr))
{
    if (size > SIZE_MAX - sizeof(struct owned))
        return NULL;
    struct owned *o = calloc(1, sizeof *o + size);
    if (!o)
        return NULL;
    o->close = close;
    void *ptr = o->data;
    /* On failure app_defer has already run owned_release: close sees zeroed memory. */
    return app_defer(app, owned_release, o) == 0 ? ptr : NULL;
}

int app_add_check(struct app *app, const struct app_check *c)
{
    if (!c || !c->name || !c->check)
        return ERR_INVALID;
    for (size_t i = 0; i < app->nchecks; i++)
        if (strcmp(app->checks[i].name, c->name) == 0)
            return ERR_CONFLICT;
    if (app->nchecks == APP_CHECKS_MAX)
        return ERR_NOMEM;
    app->checks[app->nchecks++] = *c;
    return 0;
}

const struct app_check *app_checks(const struct app *app, size_t *n)
{
    *n = app->nchecks;
    return app->checks;
}

const struct lifecycle_provider *stage_lifecycle(const struct stage *newest)
{
    for (const struct stage *s = newest; s; s = s->prev)
        if (s->lifecycle)
            return s->lifecycle;
    return NULL;
}

const struct observer_provider *stage_observer(const struct stage *newest)
{
    for (const struct stage *s = newest; s; s = s->prev)
        if (s->observer)
            return s->observer;
    return NULL;
}
