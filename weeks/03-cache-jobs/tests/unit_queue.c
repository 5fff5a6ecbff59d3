/* unit_queue.c — the reliable job queue (queue.h) against a real Redis.
 *
 * REDIS_URL names the server (`make test-week-3` starts one and sets it). Every test works
 * under a prefix of its own, so tests never see each other's ids and may run in parallel; a
 * plain hiredis connection looks at (and, to simulate a crash, edits) the keys behind the
 * queue's back. The outage tests need no Redis: a closed port, and a socket that accepts
 * connections but never answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "queue.h"
#include "testkit.h"
#include "tk_race.h"
#include "timeutil.h"

/* ------------------------------------------------------------------ fixture */

struct fx {
    struct queue *q;
    redisContext *raw; /* the test's own connection, for looking behind the queue */
    char prefix[96];
    char ready[128], processing[128], leases[128], delayed[128];
};

static const char *redis_url(void)
{
    const char *url = getenv("REDIS_URL");
    cr_assert(url && *url, "REDIS_URL is not set: run these tests with make test-week-3, which "
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

/* Runs a command on the test's connection and expects an answer (not an error). */
static redisReply *raw(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(f->raw, fmt, ap);
    va_end(ap);
    cr_assert(r, "test bug: the test's Redis connection failed (%s)", f->raw->errstr);
    cr_assert(r->type != REDIS_REPLY_ERROR, "test bug: Redis refused %s: %s", fmt, r->str);
    return r;
}

static long long raw_int(struct fx *f, const char *fmt, const char *key)
{
    redisReply *r = raw(f, fmt, key);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "test bug: %s did not answer an integer", fmt);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* The score of id in a sorted set, or -1 when it is not there. */
static long long raw_score(struct fx *f, const char *key, long long id)
{
    redisReply *r = raw(f, "ZSCORE %s %lld", key, id);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
    freeReplyObject(r);
    return v;
}

static struct queue *open_queue(const char *url, const char *prefix, int visibility_s)
{
    struct queue_options o = {.url = url, .prefix = prefix, .visibility_s = visibility_s};
    struct queue *q = NULL;
    int rc = queue_open(&o, &q);
    cr_assert_eq(rc, 0, "expected queue_open to succeed, got %d (%s)", rc, err_str(rc));
    return q;
}

static void fx_open(struct fx *f, int visibility_s)
{
    memset(f, 0, sizeof *f);
    unsigned rnd = 0;
    cr_assert_eq(getrandom(&rnd, sizeof rnd, 0), (ssize_t)sizeof rnd, "test bug: getrandom");
    char unique[64];
    snprintf(f->prefix, sizeof f->prefix, "qtest:%s:%08x", tk_unique("q", unique, sizeof unique),
             rnd);
    snprintf(f->ready, sizeof f->ready, "%s:ready", f->prefix);
    snprintf(f->processing, sizeof f->processing, "%s:processing", f->prefix);
    snprintf(f->leases, sizeof f->leases, "%s:leases", f->prefix);
    snprintf(f->delayed, sizeof f->delayed, "%s:delayed", f->prefix);
    const char *url = redis_url();
    f->raw = raw_connect(url);
    f->q = open_queue(url, f->prefix, visibility_s);
}

static void fx_close(struct fx *f)
{
    freeReplyObject(raw(f, "DEL %s %s %s %s", f->ready, f->processing, f->leases, f->delayed));
    redisFree(f->raw);
    queue_free(f->q);
}

static int64_t now_ms(void)
{
    return clock_now_us() / 1000;
}

static void push_now(struct queue *q, int64_t id)
{
    int rc = queue_push(q, id, now_ms());
    cr_assert_eq(rc, 0, "expected queue_push(%lld) to succeed, got %d (%s)", (long long)id, rc,
                 err_str(rc));
}

static int64_t claim_one(struct queue *q, int wait_ms)
{
    int64_t id = 0;
    int rc = queue_claim(q, wait_ms, &id);
    cr_assert_eq(rc, 0, "expected a job to claim within %d ms, got %d (%s)", wait_ms, rc,
                 err_str(rc));
    return id;
}

/* Where most tests start: a fixture whose queue has job id pushed and claimed. */
static void fx_open_claimed(struct fx *f, int visibility_s, int64_t id)
{
    fx_open(f, visibility_s);
    push_now(f->q, id);
    int64_t got = claim_one(f->q, 500);
    cr_assert_eq(got, id, "expected to claim job %lld, got %lld", (long long)id, (long long)got);
}

static void expect_nothing_to_claim(struct queue *q, const char *when)
{
    int64_t id = 0;
    int rc = queue_claim(q, 0, &id);
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected nothing to claim %s, got %d (%s) with id %lld", when,
                 rc, err_str(rc), (long long)id);
}

static size_t tick_reclaimed(struct queue *q, size_t *promoted)
{
    size_t p = 0, r = 0;
    int rc = queue_tick(q, &p, &r);
    cr_assert_eq(rc, 0, "expected queue_tick to succeed, got %d (%s)", rc, err_str(rc));
    if (promoted)
        *promoted = p;
    return r;
}

/* A tick (when: at which moment) moves exactly `want` due jobs to ready. */
static void expect_tick_promotes(struct fx *f, size_t want, const char *when)
{
    size_t promoted = 0;
    tick_reclaimed(f->q, &promoted);
    cr_assert_eq(promoted, want, "expected a tick %s to promote %zu, got %zu", when, want,
                 promoted);
}

/* ------------------------------------------------------------------ delivery */

GRADED(queue, a_pushed_job_is_claimed_once_and_gone_after_ack, 2)
{
    struct fx f;
    fx_open_claimed(&f, 30, 42);
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 1, "expected the claim in processing");
    cr_assert(raw_score(&f, f.leases, 42) > now_ms(), "expected the claim to hold a lease");
    cr_assert_eq(queue_ack(f.q, 42), 0, "expected queue_ack to succeed");
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 0, "expected ack to empty processing");
    cr_assert_eq(raw_int(&f, "ZCARD %s", f.leases), 0, "expected ack to drop the lease");

    long t0 = tk_now_ms();
    int64_t id = 0;
    int rc = queue_claim(f.q, 100, &id);
    long waited = tk_now_ms() - t0;
    cr_assert_eq(rc, ERR_NOT_FOUND, "expected ERR_NOT_FOUND from an empty queue, got %d (%s)", rc,
                 err_str(rc));
    cr_assert(waited >= 80 && waited < 1000,
              "expected the empty claim to wait about 100 ms, it took %ld ms", waited);
    fx_close(&f);
}

GRADED(queue, jobs_are_claimed_in_push_order, 1)
{
    struct fx f;
    fx_open(&f, 30);
    for (int64_t id = 101; id <= 105; id++)
        push_now(f.q, id);
    for (int64_t want = 101; want <= 105; want++) {
        int64_t got = claim_one(f.q, 500);
        cr_assert_eq(got, want, "expected FIFO order: claim %lld should be job %lld, got %lld",
                     (long long)(want - 100), (long long)want, (long long)got);
    }
    fx_close(&f);
}

GRADED(queue, an_unacked_claim_is_reclaimed_when_its_lease_expires, 3)
{
    struct fx f;
    fx_open_claimed(&f, 1, 7);
    cr_assert_eq(tick_reclaimed(f.q, NULL), 0, "expected no reclaim while the lease runs");
    expect_nothing_to_claim(f.q, "while the only job is claimed");
    tk_sleep_ms(1200); /* the worker "died": no ack, no extend */
    size_t reclaimed = tick_reclaimed(f.q, NULL);
    cr_assert_eq(reclaimed, 1, "expected the tick after the 1 s lease to reclaim 1, got %zu",
                 reclaimed);
    cr_assert_eq(claim_one(f.q, 500), 7, "expected the reclaimed job 7 to be claimable again");
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 1,
                 "expected exactly one entry in processing (no duplicate of the job)");
    fx_close(&f);
}

GRADED(queue, a_delayed_job_is_claimable_only_once_it_is_due, 2)
{
    struct fx f;
    fx_open(&f, 30);
    long t0 = tk_now_ms();
    cr_assert_eq(queue_push(f.q, 9, now_ms() + 800), 0, "expected the delayed push to succeed");
    cr_assert(raw_score(&f, f.delayed, 9) > 0, "expected job 9 in the delayed set");
    expect_nothing_to_claim(f.q, "right after a push due in 800 ms");
    tk_sleep_ms(400 - (tk_now_ms() - t0));
    expect_tick_promotes(&f, 0, "at ~400 ms");
    expect_nothing_to_claim(f.q, "at ~400 ms of an 800 ms delay");
    tk_sleep_ms(1000 - (tk_now_ms() - t0));
    expect_tick_promotes(&f, 1, "past the due time");
    cr_assert_eq(claim_one(f.q, 0), 9, "expected the due job 9 to be claimable");
    fx_close(&f);
}

GRADED(queue, retry_moves_the_claim_to_the_delayed_set, 2)
{
    struct fx f;
    fx_open_claimed(&f, 30, 11);
    int64_t run_at = now_ms() + 500;
    cr_assert_eq(queue_retry(f.q, 11, run_at), 0, "expected queue_retry to succeed");
    cr_assert_eq(raw_score(&f, f.delayed, 11), run_at,
                 "expected job 11 in delayed with score run_at (%lld)", (long long)run_at);
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 0, "expected retry to leave processing");
    cr_assert_eq(raw_int(&f, "ZCARD %s", f.leases), 0, "expected retry to drop the lease");
    expect_nothing_to_claim(f.q, "before the retry is due");
    tk_sleep_ms(600);
    expect_tick_promotes(&f, 1, "once the retry is due");
    cr_assert_eq(claim_one(f.q, 0), 11, "expected the retried job 11 to be claimable");
    fx_close(&f);
}

GRADED(queue, release_gives_the_job_back_at_once, 1)
{
    struct fx f;
    fx_open_claimed(&f, 30, 12);
    push_now(f.q, 13); /* behind 12, which a release puts back at the head of the line */
    cr_assert_eq(queue_release(f.q, 12), 0, "expected queue_release to succeed");
    cr_assert_eq(raw_int(&f, "ZCARD %s", f.leases), 0, "expected release to drop the lease");
    cr_assert_eq(claim_one(f.q, 0), 12,
                 "expected the released job 12 to be claimable at once, ahead of job 13");
    fx_close(&f);
}

GRADED(queue, extend_keeps_a_claim_from_being_reclaimed, 2)
{
    struct fx f;
    fx_open_claimed(&f, 1, 14);
    tk_sleep_ms(700);
    cr_assert_eq(queue_extend(f.q, 14), 0, "expected queue_extend of a held claim to succeed");
    tk_sleep_ms(700); /* 1.4 s after the claim, 0.7 s after the extend */
    cr_assert_eq(tick_reclaimed(f.q, NULL), 0,
                 "expected the extended claim to survive past its first lease");
    tk_sleep_ms(600); /* 1.3 s after the extend: this lease has run out too */
    cr_assert_eq(tick_reclaimed(f.q, NULL), 1,
                 "expected the claim to be reclaimed once the extended lease ran out");
    int rc = queue_extend(f.q, 14);
    cr_assert_eq(rc, ERR_NOT_FOUND,
                 "expected extend of a reclaimed job to say ERR_NOT_FOUND, got %d (%s)", rc,
                 err_str(rc));
    fx_close(&f);
}

/* ------------------------------------------------------------------ concurrency and crashes */

#define MANY 50

struct claimer {
    struct queue *q;
    int wait_ms; /* 0 (LMOVE) for one claimer, > 0 (BLMOVE) for the other: both paths */
    int64_t ids[MANY + 1];
    int n;
    int last_rc;
};

static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    tk_race_gate();
    for (;;) {
        int64_t id = 0;
        c->last_rc = queue_claim(c->q, c->wait_ms, &id);
        if (c->last_rc != 0 || c->n > MANY)
            break;
        c->ids[c->n++] = id;
        if ((c->last_rc = queue_ack(c->q, id)) != 0)
            break;
    }
    return NULL;
}

GRADED(queue, concurrent_claimers_get_every_job_exactly_once, 3)
{
    struct fx f;
    fx_open(&f, 30);
    for (int64_t id = 1; id <= MANY; id++)
        push_now(f.q, 1000 + id);
    struct claimer c[2];
    for (int i = 0; i < 2; i++)
        c[i] = (struct claimer){.q = open_queue(redis_url(), f.prefix, 30), .wait_ms = i * 300};
    cr_assert_eq(tk_race(2, claim_all, c, sizeof c[0]), 0,
                 "test bug: could not start 2 threads: %s", strerror(errno));

    int seen[MANY + 1] = {0};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(c[i].last_rc, ERR_NOT_FOUND,
                     "expected claimer %d to stop on an empty queue, got %d (%s)", i, c[i].last_rc,
                     err_str(c[i].last_rc));
        for (int k = 0; k < c[i].n; k++) {
            int64_t id = c[i].ids[k] - 1000;
            cr_assert(id >= 1 && id <= MANY, "expected ids 1001..1050, claimer %d got %lld", i,
                      (long long)c[i].ids[k]);
            cr_assert_eq(seen[id], 0, "expected job %lld to be claimed once, it came twice",
                         (long long)c[i].ids[k]);
            seen[id] = 1;
        }
        queue_free(c[i].q);
    }
    cr_assert_eq(c[0].n + c[1].n, MANY,
                 "expected the two claimers to get all %d jobs together, they got %d + %d", MANY,
                 c[0].n, c[1].n);
    fx_close(&f);
}

GRADED(queue, a_claim_that_lost_its_lease_write_is_reclaimed, 3)
{
    struct fx f;
    fx_open(&f, 1);
    push_now(f.q, 15);
    /* A worker that died between BLMOVE and writing its lease: the id sits in processing. */
    freeReplyObject(raw(&f, "LMOVE %s %s RIGHT LEFT", f.ready, f.processing));
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 1, "test bug: the LMOVE did not move");
    cr_assert_eq(tick_reclaimed(f.q, NULL), 0,
                 "expected the first tick not to reclaim an entry it had never seen");
    cr_assert(raw_score(&f, f.leases, 15) > 0,
              "expected the first tick to give the lease-less entry a lease");
    expect_nothing_to_claim(f.q, "while the orphan's new lease runs");
    tk_sleep_ms(1200);
    cr_assert_eq(tick_reclaimed(f.q, NULL), 1,
                 "expected the tick one visibility period later to reclaim the orphan");
    cr_assert_eq(claim_one(f.q, 0), 15, "expected the orphaned job 15 to be claimable again");
    fx_close(&f);
}

GRADED(queue, an_entry_that_is_not_an_id_is_skipped, 1)
{
    log_set_level(LOG_ERROR); /* the expected "dropped an entry" warning is noise here */
    struct fx f;
    fx_open(&f, 30);
    freeReplyObject(raw(&f, "LPUSH %s 12abc", f.ready));
    push_now(f.q, 16);
    cr_assert_eq(claim_one(f.q, 500), 16, "expected the garbage to be skipped and job 16 claimed");
    cr_assert_eq(raw_int(&f, "LLEN %s", f.processing), 1,
                 "expected the garbage to be dropped from processing, not left there");
    fx_close(&f);
}

/* ------------------------------------------------------------------ outages */

GRADED(queue, an_unreachable_redis_is_unavailable_not_a_crash_or_hang, 2)
{
    log_set_level(LOG_ERROR + 1); /* the expected "cannot reach" line is noise */
    struct queue *q = open_queue("redis://127.0.0.1:1/0", NULL, 30);
    long t0 = tk_now_ms();
    int64_t id = 0;
    size_t p = 0, r = 0;
    int rcs[8], n = 0; /* one call per statement: evaluated in this order */
    rcs[n++] = queue_push(q, 1, 0);
    rcs[n++] = queue_claim(q, 500, &id);
    rcs[n++] = queue_ack(q, 1);
    rcs[n++] = queue_retry(q, 1, 0);
    rcs[n++] = queue_release(q, 1);
    rcs[n++] = queue_extend(q, 1);
    rcs[n++] = queue_tick(q, &p, &r);
    rcs[n++] = queue_ping(q);
    long took = tk_now_ms() - t0;
    for (int i = 0; i < n; i++)
        cr_assert_eq(rcs[i], ERR_UNAVAILABLE, "expected call %d to be ERR_UNAVAILABLE, got %d (%s)",
                     i + 1, rcs[i], err_str(rcs[i]));
    cr_assert(took < 1000, "expected eight calls on a closed port to take under 1 s, took %ld ms",
              took);
    queue_free(q);
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

GRADED(queue, a_redis_that_never_answers_times_out, 2)
{
    log_set_level(LOG_ERROR + 1);
    int fd;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", silent_listener(&fd));
    struct queue *q = open_queue(url, NULL, 30);
    long t0 = tk_now_ms();
    int rc = queue_ping(q);
    long took = tk_now_ms() - t0;
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from a silent server, got %d", rc);
    cr_assert(took >= 800 && took < 2000,
              "expected the ping to give up after the 1 s command timeout, it took %ld ms", took);
    int64_t id = 0;
    t0 = tk_now_ms();
    rc = queue_claim(q, 300, &id);
    took = tk_now_ms() - t0;
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from a silent server, got %d", rc);
    cr_assert(took < 2500, "expected a 300 ms claim to give up within ~1.3 s, it took %ld ms",
              took);
    queue_free(q);
    close(fd);
}

/* A server that closes its first connection and answers PONG on the second. */
static void *close_then_pong(void *arg)
{
    int fd = *(int *)arg;
    int first = accept(fd, NULL, NULL);
    if (first >= 0)
        close(first);
    int second = accept(fd, NULL, NULL);
    if (second < 0)
        return NULL;
    char buf[256];
    if (read(second, buf, sizeof buf) > 0) {
        static const char pong[] = "+PONG\r\n";
        ssize_t w = write(second, pong, sizeof pong - 1);
        (void)w;
    }
    tk_sleep_ms(300); /* let the client read before the close */
    close(second);
    return NULL;
}

GRADED(queue, a_lost_connection_is_replaced_on_the_next_call, 2)
{
    log_set_level(LOG_ERROR + 1);
    signal(SIGPIPE,
           SIG_IGN); /* as main() does: a write to a closed socket is an error, not death */
    int fd;
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/", silent_listener(&fd));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, close_then_pong, &fd), 0, "test bug: thread");
    struct queue *q = open_queue(url, NULL, 30);
    int rc = queue_ping(q);
    cr_assert_eq(rc, ERR_UNAVAILABLE, "expected the ping on a closed connection to fail, got %d",
                 rc);
    rc = queue_ping(q);
    cr_assert_eq(rc, 0, "expected the next ping to reconnect and succeed, got %d (%s)", rc,
                 err_str(rc));
    pthread_join(th, NULL);
    queue_free(q);
    close(fd);
}

GRADED(queue, bad_options_are_refused, 1)
{
    static const char *const bad_urls[] = {"http://127.0.0.1:6379", "redis://",
                                           "redis://h:0",           "redis://h:99999",
                                           "redis://h:6379/x",      "redis://secret@h:6379"};
    struct queue *q = NULL;
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        struct queue_options o = {.url = bad_urls[i], .visibility_s = 30};
        cr_assert_eq(queue_open(&o, &q), ERR_INVALID, "expected ERR_INVALID for URL %s",
                     bad_urls[i]);
        cr_assert_null(q, "expected no handle for URL %s", bad_urls[i]);
    }
    struct queue_options o = {.url = "redis://127.0.0.1:6379/2", .visibility_s = 0};
    cr_assert_eq(queue_open(&o, &q), ERR_INVALID, "expected ERR_INVALID for visibility_s 0");
    o.visibility_s = 5;
    cr_assert_eq(queue_open(&o, &q), 0, "expected a good URL to open without a connection");
    cr_assert_eq(queue_push(q, 0, 0), ERR_INVALID, "expected ERR_INVALID for job id 0");
    queue_free(q);
}
