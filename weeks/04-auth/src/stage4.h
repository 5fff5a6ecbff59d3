/* stage4.h — what stage 4 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 4 is stage 3 plus users: argon2id passwords, HS256 access tokens and rotating refresh
 * tokens, login throttling kept in Redis, and the middleware that makes every task, job and
 * export route belong to the caller. */
#ifndef TASKD_STAGE4_H
#define TASKD_STAGE4_H

#include "auth.h"
#include "stage3.h"

struct stage4 {
    struct stage3 s3;
    struct auth_ctx auth; /* the signing key, token lifetimes, the users pool, the throttle */
};

int stage4_declare(struct config *cfg);
/* Refuses a missing or weak JWT_SECRET (logged, never printed), then opens stage 3 and the
 * users pool and the throttle. 0 or an ERR_ code. */
int stage4_open(const struct config *cfg, struct stage4 *out);
void stage4_close(struct stage4 *s); /* wipes the signing key */
/* Stage 3's routes behind the auth middleware, plus the /auth routes and GET /me. */
int stage4_serve(struct app *app, struct stage4 *s);

#endif
