/* unit_throttle.c — login failure counts (throttle.h) against a real Redis.
 *
 * REDIS_URL names the server (`make test-week-4` starts one and sets it). Every test works
 * under a random prefix of its own, so tests never see each other's counts and may run in
 * parallel; a plain hiredis connection looks at the keys behind the throttle's back. The
 * outage tests need no Redis: a closed port, and a socket that accepts connections but never
 * answers. */
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "testkit.h"
#include "throttle.h"

#define EMAIL_KEY "login:email:ada@example.com"
#define IP_KEY    "login:ip:2001:db8::1"

/* ------------------------------------------------------------------ fixture */

struct fx {
    struct throttle *t;
    redisContext *raw; /* the test's own connection, for looking behind the throttle */
    char prefix[64];
};

static const char *redis_url(void)
{
    const char *url = getenv("REDIS_URL");
    cr_assert(url && *url, "REDIS_URL is not set: run these tests with make test-week-4, which "
                           "starts Redis and sets it");
    return url;
}

static redisContext *raw_connect(const char *url)
{
    char host[256];
    int port = 0, db = 0;
    int n = sscanf(url, "redis://%255[^:/]:%d/%d", host, &port, &db);
    cr_assert(n >= 2, "test bug: cannot read host and port from REDIS_URL (%s)", url);
    struct timeval tv = {.tv_sec = 2};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    cr_assert(c && !c->err, "cannot connect to Redis at %s:%d: %s", host, port,
              c ? c->errstr : "out of memory");
    redisSetTimeout(c, tv);
    if (db != 0) {
        redisReply *r = redisCommand(c, "SELECT %d", db);
        cr_assert(r && r->type == REDIS_REPLY_STATUS, "cannot SELECT database %d", db);
        freeReplyObject(r);
    }
    return c;
}

static struct throttle *open_throttle(const char *url, const char *prefix)
{
    struct throttle *t = NULL;
    int rc = throttle_open(url, prefix, &t);
    cr_assert_eq(rc, 0, "expected throttle_open(%s) to succeed, got %d (%s)", url, rc, err_str(rc));
    cr_assert_not_null(t, "expected a handle from throttle_open");
    return t;
}

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    unsigned rnd = 0;
    cr_assert_eq(getrandom(&rnd, sizeof rnd, 0), (ssize_t)sizeof rnd, "test bug: getrandom");
    snprintf(f->prefix, sizeof f->prefix, "thtest:%d:%08x", (int)getpid(), rnd);
    const char *url = redis_url();
    f->raw = raw_connect(url);
    f->t = open_throttle(url, f->prefix);
}

/* The TTL of <prefix>:key as Redis sees it (-2: no such key). */
static long long raw_ttl(struct fx *f, const char *key)
{
    redisReply *r = redisCommand(f->raw, "TTL %s:%s", f->prefix, key);
    cr_assert(r && r->type == REDIS_REPLY_INTEGER, "test bug: TTL did not answer an integer");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static long long raw_count(struct fx *f, const char *key)
{
    redisReply *r = redisCommand(f->raw, "GET %s:%s", f->prefix, key);
    cr_assert(r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL),
              "test bug: GET did not answer a string or nil");
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static void fx_close(struct fx *f)
{
    redisReply *r =
        redisCommand(f->raw, "DEL %s:%s %s:%s", f->prefix, EMAIL_KEY, f->prefix, IP_KEY);
    if (r)
        freeReplyObject(r);
    redisFree(f->raw);
    throttle_free(f->t);
}

static void fail_ok(struct throttle *t, const char *key, int window_s)
{
    int rc = throttle_fail(t, key, window_s);
    cr_assert_eq(rc, 0, "expected throttle_fail(%s) to succeed, got %d (%s)", key, rc, err_str(rc));
}

/* Checks key against limit and asserts the answer; returns retry_after. */
static int expect_blocked(struct throttle *t, const char *key, int limit, bool want,
                          const char *when)
{
    bool blocked = !want;
    int retry = -1;
    int rc = throttle_check(t, key, limit, &blocked, &retry);
    cr_assert_eq(rc, 0, "expected throttle_check(%s) to succeed %s, got %d (%s)", key, when, rc,
                 err_str(rc));
    cr_assert_eq(blocked, want, "expected %s to be %s %s", key, want ? "blocked" : "allowed", when);
    if (!want)
        cr_assert_eq(retry, 0, "expected retry_after 0 when allowed %s, got %d", when, retry);
    return retry;
}

/* Counts n failures of key in a window of window_s, then expects key blocked at a limit of n;
 * returns retry_after. */
static int fail_until_blocked(struct throttle *t, const char *key, int n, int window_s,
                              const char *when)
{
    for (int i = 0; i < n; i++)
        fail_ok(t, key, window_s);
    return expect_blocked(t, key, n, true, when);
}

static void reset_ok(struct throttle *t, const char *key, const char *what)
{
    int rc = throttle_reset(t, key);
    cr_assert_eq(rc, 0, "expected %s to succeed, got %d (%s)", what, rc, err_str(rc));
}

/* ------------------------------------------------------------------ counting */

GRADED(throttle, a_key_is_blocked_once_it_reaches_the_limit, 2)
{
    struct fx f;
    fx_open(&f);
    expect_blocked(f.t, EMAIL_KEY, 3, false, "before any failure");
    fail_ok(f.t, EMAIL_KEY, 60);
    fail_ok(f.t, EMAIL_KEY, 60);
    expect_blocked(f.t, EMAIL_KEY, 3, false, "after 2 of 3 failures");
    fail_ok(f.t, EMAIL_KEY, 60);
    int retry = expect_blocked(f.t, EMAIL_KEY, 3, true, "after 3 of 3 failures");
    cr_assert(retry >= 1 && retry <= 60, "expected 1 <= retry_after <= 60 (the window), got %d",
              retry);
    cr_assert_eq(raw_count(&f, EMAIL_KEY), 3, "expected the count 3 under <prefix>:<key>, got %lld",
                 raw_count(&f, EMAIL_KEY));
    long long ttl = raw_ttl(&f, EMAIL_KEY);
    cr_assert(ttl >= 1 && ttl <= 60, "expected the key to expire within the window, TTL %lld", ttl);
    expect_blocked(f.t, EMAIL_KEY, 4, false, "with a limit of 4 after 3 failures");
    /* The window starts with the first failure: a later one does not extend it. */
    fail_ok(f.t, EMAIL_KEY, 600);
    ttl = raw_ttl(&f, EMAIL_KEY);
    cr_assert(ttl >= 1 && ttl <= 60, "expected a later failure to keep the window, TTL %lld", ttl);
    fx_close(&f);
}

GRADED(throttle, reset_forgets_the_count, 1)
{
    struct fx f;
    fx_open(&f);
    fail_until_blocked(f.t, EMAIL_KEY, 2, 60, "after 2 of 2 failures");
    reset_ok(f.t, EMAIL_KEY, "throttle_reset");
    expect_blocked(f.t, EMAIL_KEY, 2, false, "after the reset");
    cr_assert_eq(raw_ttl(&f, EMAIL_KEY), -2, "expected the reset to delete the key");
    reset_ok(f.t, EMAIL_KEY, "resetting a key with no count");
    fx_close(&f);
}

/* Reserves one attempt on EMAIL_KEY (limit email_limit) and IP_KEY (limit ip_limit) and expects
 * it granted (want_blocked false) or refused; returns retry_after. */
static int reserve(struct fx *f, int email_limit, int ip_limit, bool want_blocked, const char *when)
{
    bool blocked = !want_blocked;
    int retry = -1;
    int rc = throttle_reserve(f->t, 2, (const char *const[]){EMAIL_KEY, IP_KEY},
                              (const int[]){email_limit, ip_limit}, 60, &blocked, &retry);
    cr_assert_eq(rc, 0, "expected throttle_reserve to succeed %s, got %d (%s)", when, rc,
                 err_str(rc));
    cr_assert_eq(blocked, want_blocked, "expected the reservation %s %s",
                 want_blocked ? "refused" : "granted", when);
    return retry;
}

GRADED(throttle, reserve_counts_every_key_or_none, 2)
{
    struct fx f;
    fx_open(&f);
    for (int i = 1; i <= 3; i++)
        reserve(&f, 3, 10, false, "below both limits");
    cr_assert_eq(raw_count(&f, EMAIL_KEY), 3, "expected 3 reservations on the e-mail, got %lld",
                 raw_count(&f, EMAIL_KEY));
    long long ttl = raw_ttl(&f, IP_KEY);
    cr_assert(ttl >= 1 && ttl <= 60, "expected a reservation to start the window, TTL %lld", ttl);
    /* The e-mail is at its limit: refused, and the address's count is left alone too. */
    int retry = reserve(&f, 3, 10, true, "with the e-mail at its limit");
    cr_assert(retry >= 1 && retry <= 60, "expected 1 <= retry_after <= 60, got %d", retry);
    cr_assert_eq(raw_count(&f, IP_KEY), 3,
                 "expected a refused reservation to count nothing, the address has %lld",
                 raw_count(&f, IP_KEY));
    /* A release gives one back (a right password), never below zero. */
    cr_assert_eq(throttle_release(f.t, EMAIL_KEY), 0, "expected throttle_release to succeed");
    reserve(&f, 3, 10, false, "after one was given back");
    reset_ok(f.t, IP_KEY, "throttle_reset");
    cr_assert_eq(throttle_release(f.t, IP_KEY), 0, "expected releasing a missing key to succeed");
    cr_assert_eq(raw_ttl(&f, IP_KEY), -2, "expected releasing a missing key to create none");
    bool blocked = false;
    int wait = 0;
    cr_assert_eq(throttle_reserve(f.t, 0, (const char *const[]){EMAIL_KEY}, (const int[]){1}, 60,
                                  &blocked, &wait),
                 ERR_INVALID, "expected no keys to be refused");
    cr_assert_eq(throttle_reserve(f.t, 1, (const char *const[]){EMAIL_KEY}, (const int[]){0}, 60,
                                  &blocked, &wait),
                 ERR_INVALID, "expected a limit of 0 to be refused");
    fx_close(&f);
}

GRADED(throttle, the_window_expires, 1)
{
    struct fx f;
    fx_open(&f);
    int retry = fail_until_blocked(f.t, EMAIL_KEY, 3, 1, "after 3 failures in a 1 s window");
    cr_assert_eq(retry, 1, "expected retry_after 1 in a 1 s window, got %d", retry);
    tk_sleep_ms(1300);
    expect_blocked(f.t, EMAIL_KEY, 3, false, "1.3 s later, after the 1 s window");
    fail_ok(f.t, EMAIL_KEY, 1);
    cr_assert_eq(raw_count(&f, EMAIL_KEY), 1, "expected a new window to count from 1, got %lld",
                 raw_count(&f, EMAIL_KEY));
    fx_close(&f);
}

GRADED(throttle, two_keys_are_counted_apart, 1)
{
    struct fx f;
    fx_open(&f);
    fail_ok(f.t, IP_KEY, 60);
    fail_until_blocked(f.t, EMAIL_KEY, 2, 60, "after 2 of 2 failures");
    expect_blocked(f.t, IP_KEY, 2, false, "after 1 of 2 failures (the other key has 2)");
    reset_ok(f.t, IP_KEY, "throttle_reset");
    expect_blocked(f.t, EMAIL_KEY, 2, true, "after another key was reset");

    /* The same key under another prefix (another service sharing the Redis) is apart too. */
    char other[80];
    snprintf(other, sizeof other, "%s-other", f.prefix);
    struct throttle *t2 = open_throttle(redis_url(), other);
    expect_blocked(t2, EMAIL_KEY, 2, false, "under another prefix");
    throttle_free(t2);
    fx_close(&f);
}

GRADED(throttle, invalid_keys_and_arguments_are_refused, 1)
{
    struct fx f;
    fx_open(&f);
    char long_key[514];
    memset(long_key, 'k', 513);
    long_key[513] = '\0';
    const char *const bad[] = {
        "", "login:email:a b@example.com", "login:ip:1\n", "a\rb", "tab\there", long_key};
    bool blocked = false;
    int retry = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = throttle_fail(f.t, bad[i], 60);
        cr_assert_eq(rc, ERR_INVALID, "expected throttle_fail to refuse key %zu, got %d (%s)", i,
                     rc, err_str(rc));
        rc = throttle_check(f.t, bad[i], 5, &blocked, &retry);
        cr_assert_eq(rc, ERR_INVALID, "expected throttle_check to refuse key %zu, got %d (%s)", i,
                     rc, err_str(rc));
        rc = throttle_reset(f.t, bad[i]);
        cr_assert_eq(rc, ERR_INVALID, "expected throttle_reset to refuse key %zu, got %d (%s)", i,
                     rc, err_str(rc));
    }
    cr_assert_eq(throttle_fail(f.t, NULL, 60), ERR_INVALID, "expected a NULL key to be refused");
    long_key[512] = '\0'; /* 512 bytes: the longest key allowed */
    int rc = throttle_fail(f.t, long_key, 60);
    cr_assert_eq(rc, 0, "expected a 512-byte key to be accepted, got %d (%s)", rc, err_str(rc));
    rc = throttle_reset(f.t, long_key);
    cr_assert_eq(rc, 0, "expected the 512-byte key to be reset, got %d (%s)", rc, err_str(rc));
    cr_assert_eq(throttle_fail(f.t, EMAIL_KEY, 0), ERR_INVALID,
                 "expected a window of 0 s to be refused");
    cr_assert_eq(throttle_check(f.t, EMAIL_KEY, 0, &blocked, &retry), ERR_INVALID,
                 "expected a limit of 0 to be refused");

    static const char *const bad_urls[] = {"http://127.0.0.1:6379", "redis://", "redis://h:0",
                                           "redis://h:6379/x", "redis://secret@h:6379"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        struct throttle *t = NULL;
        cr_assert_eq(throttle_open(bad_urls[i], "p", &t), ERR_INVALID,
                     "expected ERR_INVALID for URL %s", bad_urls[i]);
        cr_assert_null(t, "expected no handle for URL %s", bad_urls[i]);
    }
    struct throttle *t = NULL;
    cr_assert_eq(throttle_open("redis://127.0.0.1:6379", "", &t), ERR_INVALID,
                 "expected an empty prefix to be refused");
    fx_close(&f);
}

/* ------------------------------------------------------------------ outages */

GRADED(throttle, an_unreachable_redis_is_unavailable_fast, 2)
{
    log_set_level(LOG_ERROR + 1); /* the expected "cannot reach" line is noise */
    struct throttle *t = open_throttle("redis://127.0.0.1:1/0", "thtest");
    bool blocked = true;
    int retry = -1;
    long t0 = tk_now_ms();
    int rcs[4];
    rcs[0] = throttle_check(t, EMAIL_KEY, 5, &blocked, &retry);
    rcs[1] = throttle_fail(t, EMAIL_KEY, 60);
    rcs[2] = throttle_reset(t, EMAIL_KEY);
    rcs[3] = throttle_check(t, IP_KEY, 5, &blocked, &retry);
    long took = tk_now_ms() - t0;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rcs[i], ERR_UNAVAILABLE, "expected call %d to be ERR_UNAVAILABLE, got %d (%s)",
                     i + 1, rcs[i], err_str(rcs[i]));
    cr_assert(!blocked && retry == 0, "expected an unavailable check to say allowed, retry 0");
    cr_assert(took < 1000, "expected four calls on a closed port to take under 1 s, took %ld ms",
              took);
    throttle_free(t);
}

/* A socket that listens but never accepts: connects succeed, nothing ever answers (a frozen
 * Redis). Returns the port; the caller closes *fd. */
static int silent_listener(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(*fd >= 0, "test bug: socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(*fd, (struct sockaddr *)&a, sizeof a), 0, "test bug: bind");
    cr_assert_eq(listen(*fd, 8), 0, "test bug: listen");
    cr_assert_eq(getsockname(*fd, (struct sockaddr *)&a, &len), 0, "test bug: getsockname");
    return ntohs(a.sin_port);
}

GRADED(throttle, a_redis_that_never_answers_times_out, 1)
{
    log_set_level(LOG_ERROR + 1);
    int fd;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", silent_listener(&fd));
    struct throttle *t = open_throttle(url, "thtest");
    bool blocked = true;
    int retry = -1;
    long t0 = tk_now_ms();
    int rc = throttle_check(t, EMAIL_KEY, 5, &blocked, &retry);
    long took = tk_now_ms() - t0;
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from a silent server, got %d (%s)",
                 rc, err_str(rc));
    cr_assert(took >= 400 && took < 1500,
              "expected the check to give up after the 500 ms command timeout, it took %ld ms",
              took);
    throttle_free(t);
    close(fd);
}
