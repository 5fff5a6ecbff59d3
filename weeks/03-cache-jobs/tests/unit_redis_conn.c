/* unit_redis_conn.c — week 3's one Redis client (redis_conn.h): its URL, AUTH, and scripts.
 *
 * The queue, cache and throttle suites already prove the deadlines, the back-off and the
 * recovery through their own calls; this suite covers what only the client knows: which URLs it
 * takes, that a password reaches Redis (AUTH, against an ACL user this suite creates on the
 * REDIS_URL server) and never the log, and that a script the server forgot runs again. The log
 * is read by pointing stderr at a temporary file for the length of a call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "redis_conn.h"
#include "testkit.h"

/* ------------------------------------------------------------------ helpers */

static struct redis_conn *open_url(const char *url, const char *const *scripts)
{
    struct redis_conn_options o = {.url = url, .name = "test", .size = 2, .scripts = scripts};
    struct redis_conn *r = NULL;
    int rc = redis_conn_new(&o, &r);
    cr_assert_eq(rc, 0, "expected redis_conn_new to accept a good URL, got %d (%s)", rc,
                 err_str(rc));
    return r;
}

/* The server of REDIS_URL, as "host:port/db" (what follows "redis://"). */
static const char *server(void)
{
    const char *url = getenv("REDIS_URL");
    cr_assert(url && strncmp(url, "redis://", 8) == 0 && !strchr(url, '@'),
              "REDIS_URL is not set (or carries a password): run this suite with make "
              "test-week-3, which starts Redis and sets it");
    return url + 8;
}

/* Runs a command on r and expects a reply that is not an error; the caller frees it. */
static redisReply *must(struct redis_conn *r, int argc, const char **argv)
{
    redisReply *reply = NULL;
    int rc = redis_conn_command(r, argv[0], argc, argv, NULL, &reply);
    cr_assert_eq(rc, 0, "test bug: %s failed with %d (%s)", argv[0], rc, err_str(rc));
    return reply;
}

/* stderr, where the log goes, into a temporary file and back. */
struct capture {
    FILE *file;
    int saved;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    c->saved = dup(STDERR_FILENO);
    cr_assert(c->file && c->saved >= 0, "test bug: cannot capture stderr");
    cr_assert(dup2(fileno(c->file), STDERR_FILENO) >= 0, "test bug: dup2");
}

/* Ends the capture; returns what was logged (malloc'd). */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    fseek(c->file, 0, SEEK_END);
    long n = ftell(c->file);
    rewind(c->file);
    char *text = calloc(1, (size_t)n + 1);
    cr_assert(text, "test bug: out of memory");
    cr_assert_eq(fread(text, 1, (size_t)n, c->file), (size_t)n, "test bug: cannot read the log");
    fclose(c->file);
    return text;
}

/* ------------------------------------------------------------------ URLs */

GRADED(redis_conn, urls_are_read_strictly_and_a_refusal_says_why_without_the_secret, 1)
{
    log_set_level(LOG_ERROR);
    static const char *const bad[] = {
        "http://h:6379",   "rediss://h:6379",          "redis://",
        "redis://h:0",     "redis://h:65536",          "redis://h:6379/x",
        "redis://h/0?a=1", "redis://secret@h",         "redis://u:@h",
        "redis://u:se%2",  "redis://u:secret%zz",      "redis://u:secret@",
        "redis://u:%00@h", "redis://u:secret@h:99999",
    };
    struct capture cap;
    capture_begin(&cap);
    int rcs[sizeof bad / sizeof bad[0]];
    bool handed_out = false;
    static char not_null;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct redis_conn_options o = {.url = bad[i], .name = "test", .size = 1};
        struct redis_conn *r = (struct redis_conn *)(void *)&not_null; /* to be cleared */
        rcs[i] = redis_conn_new(&o, &r);
        handed_out |= r != NULL;
        redis_conn_free(rcs[i] == 0 ? r : NULL);
    }
    char *log = capture_end(&cap);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rcs[i], ERR_INVALID, "expected %s to be ERR_INVALID, got %d (%s)", bad[i],
                     rcs[i], err_str(rcs[i]));
    cr_assert_not(handed_out, "expected no handle from a refused URL");
    cr_assert(strstr(log, "\"why\""), "expected each refusal to log why, the log was: %s", log);
    cr_assert_null(strstr(log, "secret"), "the log shows a URL's password: %s", log);
    free(log);

    static const char *const good[] = {"redis://h", "redis://h:6379/", "redis://:pw@h",
                                       "redis://user:p%40ss%2Fw:rd@127.0.0.1:6379/3"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        redis_conn_free(open_url(good[i], NULL));
}

/* ------------------------------------------------------------------ AUTH */

GRADED(redis_conn, a_password_is_sent_with_auth_and_never_logged, 2)
{
    log_set_level(LOG_WARN);
    char user[48], password[96], url[512];
    tk_unique("rc-user", user, sizeof user);
    /* '@', '/' and ':' travel %-escaped in the URL and must reach Redis decoded. */
    snprintf(password, sizeof password, "p@ss/w:rd-%s", user);
    struct redis_conn *admin = open_url(getenv("REDIS_URL"), NULL);
    char rule[112];
    snprintf(rule, sizeof rule, ">%s", password);
    freeReplyObject(
        must(admin, 7, (const char *[]){"ACL", "SETUSER", user, "on", rule, "~*", "+@all"}));

    snprintf(url, sizeof url, "redis://%s:p%%40ss%%2Fw:rd-%s@%s", user, user, server());
    struct redis_conn *r = open_url(url, NULL);
    cr_assert_eq(redis_conn_ping(r), 0, "expected the ACL user's URL to connect and PING");
    redisReply *who = must(r, 2, (const char *[]){"ACL", "WHOAMI"});
    cr_assert(who->type == REDIS_REPLY_STRING && strcmp(who->str, user) == 0,
              "expected the connection to be authenticated as %s", user);
    freeReplyObject(who);
    redis_conn_free(r);

    /* A wrong password, and a password alone (the default user has none here): Redis refuses
     * AUTH, the call is unavailable, and the log says AUTH failed without saying the secret. */
    char wrong[96], alone[96];
    snprintf(wrong, sizeof wrong, "wrong-%s", user);
    snprintf(alone, sizeof alone, "alone-%s", user);
    const char *const secrets[] = {wrong, alone};
    for (size_t i = 0; i < 2; i++) {
        snprintf(url, sizeof url, "redis://%s:%s@%s", i == 0 ? user : "", secrets[i], server());
        r = open_url(url, NULL);
        struct capture cap;
        capture_begin(&cap);
        int rc = redis_conn_ping(r);
        char *log = capture_end(&cap);
        cr_assert_eq(rc, ERR_UNAVAILABLE, "expected a refused AUTH to be ERR_UNAVAILABLE, got %d",
                     rc);
        cr_assert(strstr(log, "AUTH"), "expected the log to say AUTH failed: %s", log);
        cr_assert_null(strstr(log, secrets[i]), "the log shows the password: %s", log);
        free(log);
        redis_conn_free(r);
    }
    freeReplyObject(must(admin, 3, (const char *[]){"ACL", "DELUSER", user}));
    redis_conn_free(admin);
}

/* ------------------------------------------------------------------ scripts */

GRADED(redis_conn, a_script_the_server_forgot_runs_again, 1)
{
    log_set_level(LOG_ERROR);
    /* A script of this test's own (its SHA1 is nobody else's), which the server is made to
     * forget between two calls: SCRIPT FLUSH, as after a restart or a failover. */
    char script[128];
    char unique[64];
    snprintf(script, sizeof script, "-- %s\nreturn ARGV[1] .. KEYS[1]",
             tk_unique("rc-script", unique, sizeof unique));
    const char *const scripts[] = {script, NULL};
    struct redis_conn *r = open_url(getenv("REDIS_URL"), scripts);
    for (int round = 0; round < 2; round++) {
        redisReply *reply = NULL;
        int rc = redis_conn_eval(r, "test", 0, 1, (const char *[]){"-key"}, 1,
                                 (const char *[]){"arg"}, &reply);
        cr_assert_eq(rc, 0, "expected the script to run (round %d), got %d (%s)", round, rc,
                     err_str(rc));
        cr_assert(reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "arg-key") == 0,
                  "expected the script to answer \"arg-key\" (round %d)", round);
        freeReplyObject(reply);
        if (round == 0)
            freeReplyObject(must(r, 2, (const char *[]){"SCRIPT", "FLUSH"}));
    }
    redisReply *reply = NULL;
    cr_assert_eq(redis_conn_eval(r, "test", 1, 0, NULL, 0, NULL, &reply), ERR_INVALID,
                 "expected a script number out of range to be ERR_INVALID");
    cr_assert_null(reply, "expected no reply from a refused call");
    redis_conn_free(r);
}
