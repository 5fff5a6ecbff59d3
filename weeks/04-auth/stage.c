/* stage.c — stage 4: users and authentication.
 *
 * Stage 4 is stage 3 plus (resources in src/stage4.c): users (POST /auth/register, GET /me),
 * argon2id passwords, HS256 access tokens and rotating refresh tokens (POST /auth/login,
 * POST /auth/refresh), login throttling kept in Redis, and the middleware that makes every
 * task, job and export route belong to the caller. The routes of earlier weeks do not change:
 * they already take their owner from the request's scope, which until now was 0 for everyone. */
#include "app.h"
#include "auth.h"
#include "err.h"
#include "stage4.h"

extern const struct stage stage_03;

/* The middleware runs for every route, whichever stage added it. */
int stage4_serve(struct app *app, struct stage4 *s)
{
    int rc = stage3_serve(app, &s->s3);
    if (rc == 0)
        rc = auth_mw_register(app, &s->auth);
    return rc != 0 ? rc : auth_http_register(app, &s->auth);
}

static void close_stage(void *s)
{
    stage4_close(s);
}

static int start(struct app *app)
{
    struct stage4 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage4_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage4_serve(app, s);
}

const struct stage stage_04 = {
    .name = "04-auth",
    .week = 4,
    .prev = &stage_03,
    .declare = stage4_declare,
    .start = start,
};
