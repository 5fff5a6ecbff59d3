/* app.c — the object a stage wires itself into (see app.h). */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

struct deferred {
    void (*fn)(void *ctx);
    void *ctx;
    struct deferred *next;
};

#define SERVICES_MAX 16

struct app {
    struct config *cfg;
    struct http_server *http;
    int week;
    struct deferred *deferred; /* newest first */
    struct {
        const char *name;
        void *ptr;
    } services[SERVICES_MAX];
    size_t nservices;
};

struct app *app_new(struct config *cfg, struct http_server *http, int week)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app)
        return NULL;
    *app = (struct app){.cfg = cfg, .http = http, .week = week};
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

int app_set_service(struct app *app, const char *name, void *ptr)
{
    if (app_service(app, name))
        return ERR_CONFLICT;
    if (app->nservices == SERVICES_MAX)
        return ERR_NOMEM;
    app->services[app->nservices].name = name;
    app->services[app->nservices].ptr = ptr;
    app->nservices++;
    return 0;
}

void *app_service(struct app *app, const char *name)
{
    for (size_t i = 0; i < app->nservices; i++)
        if (strcmp(app->services[i].name, name) == 0)
            return app->services[i].ptr;
    return NULL;
}
