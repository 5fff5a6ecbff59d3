/* stage.c — stage 4: users and authentication.
 *
 * Stage 4 is stage 3 plus: users (POST /auth/register, GET /me), argon2id passwords, HS256
 * access tokens and rotating refresh tokens (POST /auth/login, POST /auth/refresh), login
 * throttling kept in Redis, and the middleware that makes every task, job and export route
 * belong to the caller. The routes of earlier weeks do not change: they already take their
 * owner from the request's user id, which until now was 0 for everyone.
 *
 * JWT_SECRET (or JWT_SECRET_FILE) is required and must be strong: the service refuses to start
 * otherwise, with a message that says how to make one — and never prints the secret. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "throttle.h"

extern const struct stage stage_03;

static const struct config_var vars[] = {
    /* Not `required` for the configuration as a whole: `taskd migrate` needs no signing key.
     * start() refuses to serve without a strong one. */
    {.name = "JWT_SECRET",
     .kind = CONFIG_STRING,
     .secret = true,
     .max = AUTH_SECRET_MAX,
     .help = "key that signs access tokens: at least 32 random bytes (or JWT_SECRET_FILE); make "
             "one with: head -c 48 /dev/urandom | base64"},
    {.name = "ACCESS_TOKEN_TTL_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "900",
     .min = 60,
     .max = 86400,
     .help = "life of an access token"},
    {.name = "REFRESH_TOKEN_TTL_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "2592000",
     .min = 300,
     .max = 31536000,
     .help = "life of a refresh token (30 days)"},
    {.name = "LOGIN_MAX_FAILURES",
     .kind = CONFIG_INT,
     .default_value = "5",
     .min = 1,
     .max = 1000,
     .help = "failed logins per e-mail in a window before 429"},
    {.name = "LOGIN_IP_MAX_FAILURES",
     .kind = CONFIG_INT,
     .default_value = "50",
     .min = 1,
     .max = 100000,
     .help = "failed logins per client address in a window before 429"},
    {.name = "LOGIN_WINDOW_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "900",
     .min = 1,
     .max = 86400,
     .help = "the throttling window"},
    {.name = "AUTH_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "8",
     .min = 1,
     .max = 1000,
     .help = "PostgreSQL connections for users and tokens (one lookup per request)"},
};

static int declare(struct config *cfg)
{
    int rc = stage_03.declare(cfg);
    return rc != 0 ? rc : config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* A secret is strong enough when it is long and not one repeated pattern: at least 32 bytes with
 * at least 12 different byte values (a base64 or hex encoding of 24+ random bytes passes easily;
 * "changemechangemechangemechangeme" does not). */
static bool secret_strong(const char *s, size_t len)
{
    if (len < JWT_SECRET_MIN)
        return false;
    bool seen[256] = {false};
    int distinct = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!seen[c]) {
            seen[c] = true;
            distinct++;
        }
    }
    return distinct >= 12;
}

static void pool_release(void *p)
{
    pg_pool_free(p);
}

static void throttle_release(void *t)
{
    throttle_free(t);
}

static void ctx_release(void *p)
{
    struct auth_ctx *a = p;
    sodium_memzero(a->secret, sizeof a->secret);
    free(a);
}

static int start(struct app *app)
{
    const struct config *cfg = app_config(app);
    const char *secret = config_get(cfg, "JWT_SECRET");
    size_t secret_len = secret ? strlen(secret) : 0;
    if (!secret) {
        log_msg(LOG_ERROR, "JWT_SECRET (or JWT_SECRET_FILE) is required to serve: at least 32 "
                           "random bytes (make one with: head -c 48 /dev/urandom | base64)");
        return ERR_INVALID;
    }
    if (!secret_strong(secret, secret_len)) {
        log_msg(LOG_ERROR, "JWT_SECRET is too weak: it must be at least 32 random bytes (make one "
                           "with: head -c 48 /dev/urandom | base64); refusing to start");
        return ERR_INVALID;
    }
    if (sodium_init() < 0) {
        log_msg(LOG_ERROR, "libsodium cannot initialise");
        return ERR_INTERNAL;
    }
    struct auth_ctx *a = calloc(1, sizeof *a);
    if (!a)
        return ERR_NOMEM;
    int rc = app_defer(app, ctx_release, a);
    if (rc != 0)
        return rc;
    memcpy(a->secret, secret, secret_len);
    a->secret_len = secret_len;
    a->access_ttl_s = (int)config_get_int(cfg, "ACCESS_TOKEN_TTL_SECONDS");
    a->refresh_ttl_s = (int)config_get_int(cfg, "REFRESH_TOKEN_TTL_SECONDS");
    a->login_max_failures = (int)config_get_int(cfg, "LOGIN_MAX_FAILURES");
    a->login_ip_max_failures = (int)config_get_int(cfg, "LOGIN_IP_MAX_FAILURES");
    a->login_window_s = (int)config_get_int(cfg, "LOGIN_WINDOW_SECONDS");

    /* Stage 3 migrates the database (users come with migration 0003) and checks it is
     * PostgreSQL. The middleware runs for every route, whenever it is added. */
    if ((rc = stage_03.start(app)) != 0)
        return rc;
    struct pg_pool_options po = {.url = config_get(cfg, "DATABASE_URL"),
                                 .size = (size_t)config_get_int(cfg, "AUTH_DB_POOL_SIZE"),
                                 .wait_ms = (int)config_get_int(cfg, "DB_POOL_WAIT_MS"),
                                 .connect_timeout_s =
                                     (int)config_get_int(cfg, "DB_CONNECT_TIMEOUT_SECONDS")};
    if ((rc = pg_pool_new(&po, &a->pool)) != 0 || (rc = app_defer(app, pool_release, a->pool)) != 0)
        return rc;
    /* Under the database's namespace, like every Redis key of stage 3: two databases sharing a
     * Redis must not share failure counts. */
    const char *ns = app_service(app, "store_ns");
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s:%s:throttle", config_get(cfg, "QUEUE_PREFIX"),
             ns ? ns : "-");
    if ((rc = throttle_open(config_get(cfg, "REDIS_URL"), prefix, &a->throttle)) != 0 ||
        (rc = app_defer(app, throttle_release, a->throttle)) != 0)
        return rc;
    if ((rc = auth_mw_register(app, a)) != 0)
        return rc;
    return auth_http_register(app, a);
}

static int command(struct config *cfg, int argc, char **argv)
{
    return stage_03.command(cfg, argc, argv);
}

const struct stage stage_04 = {
    .name = "04-auth",
    .week = 4,
    .declare = declare,
    .start = start,
    .command = command,
    .commands_help =
        "  migrate            apply pending schema migrations (DATABASE_URL=postgres://)\n"
        "  migrate --status   list migrations, applied or pending (exit 3: pending)\n"
        "Background jobs run in a second program: taskd-worker (see its --help).",
};
