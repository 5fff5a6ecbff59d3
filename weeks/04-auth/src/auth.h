/* auth.h — what stage 4's authentication pieces share: the settings and resources that the
 * auth routes (auth_http.c) and the middleware (auth_mw.c) both use. stage.c builds one. */
#ifndef TASKD_AUTH_H
#define TASKD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "jwt.h"

struct pg_pool;
struct throttle;
struct work_pool;
struct app;

#define AUTH_SECRET_MAX 512
#define AUTH_ISSUER     "taskd"

struct auth_ctx {
    struct pg_pool *pool;      /* users and refresh tokens */
    struct throttle *throttle; /* login failures (NULL: no throttling) */
    unsigned char secret[AUTH_SECRET_MAX];
    size_t secret_len;         /* >= JWT_SECRET_MIN */
    int access_ttl_s;          /* ACCESS_TOKEN_TTL_SECONDS, default 900 */
    int refresh_ttl_s;         /* REFRESH_TOKEN_TTL_SECONDS, default 30 days */
    int login_max_failures;    /* LOGIN_MAX_FAILURES, per e-mail, default 5 */
    int login_ip_max_failures; /* LOGIN_IP_MAX_FAILURES, per client address, default 50 */
    int login_window_s;        /* LOGIN_WINDOW_SECONDS, default 900 */
    int register_ip_max;       /* REGISTER_IP_MAX_ATTEMPTS, per client address, default 20 */
    int register_window_s;     /* REGISTER_WINDOW_SECONDS, default 3600 */
    /* PASSWORD_WORKERS threads that hash and verify passwords, off the event loops, with room
     * for PASSWORD_QUEUE waiting: past that, register and login answer 503. */
    struct work_pool *hashers;
};

/* POST /auth/register, POST /auth/login, POST /auth/refresh, GET /me. 0 or an ERR_ code. */
int auth_http_register(struct app *app, struct auth_ctx *ctx);

/* The middleware: every /tasks*, /exports*, /jobs* and /me request needs a valid access token
 * of a live user (401 with WWW-Authenticate otherwise); it makes that user the request's owner
 * (scope_http.h), which scopes everything after it. 0 or an ERR_ code. */
int auth_mw_register(struct app *app, struct auth_ctx *ctx);

/* The user the middleware authenticated for req, or 0 on a route it leaves open. Kept in the
 * request's locals under week 4's own key, logged by the access log as user_id. */
struct http_req;
int64_t auth_user_id(const struct http_req *req);

/* Sends the 401 of API.md: problem+json, WWW-Authenticate: Bearer realm="taskd", plus
 * error="invalid_token" when a token was presented. */
struct http_res;
void auth_send_401(struct http_res *res, int token_presented, const char *detail);

#endif
