/* stage4.c — stage 4's resources: the signing key and its settings, the users pool and the
 * login throttle and the password hashers (see stage4.h). Nothing here speaks HTTP.
 *
 * JWT_SECRET (or JWT_SECRET_FILE) is required and must be strong: the service refuses to start
 * otherwise, with a message that says how to make one — and never prints the secret. */
#include "stage4.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "pg_pool.h"
#include "throttle.h"
#include "work_pool.h"

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
    {.name = "REGISTER_IP_MAX_ATTEMPTS",
     .kind = CONFIG_INT,
     .default_value = "20",
     .min = 1,
     .max = 1000000,
     .help = "registrations tried per client address in a window before 429"},
    {.name = "REGISTER_WINDOW_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "3600",
     .min = 1,
     .max = 86400,
     .help = "the registration throttling window"},
    {.name = "PASSWORD_WORKERS",
     .kind = CONFIG_INT,
     .default_value = "0",
     .min = 0,
     .max = 256,
     .help = "threads that hash passwords, off the event loops (0 = one per CPU)"},
    {.name = "PASSWORD_WORKERS_NICE",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 0,
     .max = 19,
     .help = "how much lower than the event loops the password threads run (nice): they yield "
             "the cores whenever a request needs them"},
    {.name = "PASSWORD_QUEUE",
     .kind = CONFIG_INT,
     .default_value = "8",
     .min = 1,
     .max = 65536,
     .help = "password checks waiting for a worker (each waits for the ones before it: keep it "
             "short); past this, register and login answer 503"},
    {.name = "AUTH_DB_POOL_SIZE",
     .kind = CONFIG_INT,
     .default_value = "8",
     .min = 1,
     .max = 1000,
     .help = "PostgreSQL connections for users and tokens (one lookup per request)"},
};

int stage4_declare(struct config *cfg)
{
    int rc = stage3_declare(cfg);
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

static int load_secret(const struct config *cfg, struct auth_ctx *a)
{
    const char *secret = config_get(cfg, "JWT_SECRET");
    if (!secret) {
        log_msg(LOG_ERROR, "JWT_SECRET (or JWT_SECRET_FILE) is required to serve: at least 32 "
                           "random bytes (make one with: head -c 48 /dev/urandom | base64)");
        return ERR_INVALID;
    }
    size_t len = strlen(secret);
    if (!secret_strong(secret, len)) {
        log_msg(LOG_ERROR, "JWT_SECRET is too weak: it must be at least 32 random bytes (make one "
                           "with: head -c 48 /dev/urandom | base64); refusing to start");
        return ERR_INVALID;
    }
    memcpy(a->secret, secret, len); /* len <= AUTH_SECRET_MAX: the variable's declared max */
    a->secret_len = len;
    return 0;
}

int stage4_open(const struct config *cfg, struct stage4 *out)
{
    *out = (struct stage4){0};
    struct auth_ctx *a = &out->auth;
    int rc = load_secret(cfg, a);
    if (rc != 0)
        return rc;
    a->access_ttl_s = (int)config_get_int(cfg, "ACCESS_TOKEN_TTL_SECONDS");
    a->refresh_ttl_s = (int)config_get_int(cfg, "REFRESH_TOKEN_TTL_SECONDS");
    a->login_max_failures = (int)config_get_int(cfg, "LOGIN_MAX_FAILURES");
    a->login_ip_max_failures = (int)config_get_int(cfg, "LOGIN_IP_MAX_FAILURES");
    a->login_window_s = (int)config_get_int(cfg, "LOGIN_WINDOW_SECONDS");
    a->register_ip_max = (int)config_get_int(cfg, "REGISTER_IP_MAX_ATTEMPTS");
    a->register_window_s = (int)config_get_int(cfg, "REGISTER_WINDOW_SECONDS");
    /* One hashing thread per CPU: argon2id is pure CPU, so more threads would only share the
     * cores, and fewer would leave one idle while requests wait. */
    unsigned workers = (unsigned)config_get_int(cfg, "PASSWORD_WORKERS");
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned)cpus;
    }
    a->hashers = work_pool_new(workers, (size_t)config_get_int(cfg, "PASSWORD_QUEUE"),
                               (int)config_get_int(cfg, "PASSWORD_WORKERS_NICE"));
    if (!a->hashers)
        return ERR_NOMEM;
    /* Stage 3 migrates the database (users come with migration 0003) and checks that it is
     * PostgreSQL. */
    if ((rc = stage3_open(cfg, &out->s3)) != 0 ||
        (rc = stage2_pool_open(cfg, "AUTH_DB_POOL_SIZE", &a->pool)) != 0)
        return rc;
    /* Under the database's namespace, like every Redis key of stage 3: two databases sharing a
     * Redis must not share failure counts. */
    char prefix[STAGE3_PREFIX_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s:throttle", out->s3.prefix);
    return throttle_open(config_get(cfg, "REDIS_URL"), prefix, &a->throttle);
}

void stage4_close(struct stage4 *s)
{
    work_pool_free(s->auth.hashers); /* after http_server_stop: no request waits on it now */
    throttle_free(s->auth.throttle);
    pg_pool_free(s->auth.pool);
    stage3_close(&s->s3);
    sodium_memzero(s, sizeof *s);
}
