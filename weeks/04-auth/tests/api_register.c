/* api_register.c — black-box tests of what POST /auth/register costs and who may ask for it
 * (issue 11, item 3; API.md "Settled details: Auth").
 *
 * Registration hashes a password with argon2id: ~60 ms of CPU and 64 MiB. So the e-mail is
 * checked first (a taken one is 409 without any hashing), attempts are throttled per client
 * address (429 with Retry-After), and the hashing runs on a small bounded pool, off the event
 * loops: when its queue is full the answer is 503 with Retry-After, at once.
 *
 * "Without a hash" is measured, generously: against new registrations in the same run, on the
 * same server, a duplicate must take a fraction of their time. Each test runs a private server
 * (its own settings, and throttle counters in Redis of its own). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define ROUNDS 5 /* requests timed of each kind */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* POST /auth/register, timed; r is kept for the caller to check (freed by it). */
static struct tk_response *timed_register(struct tk_server *s, const char *email,
                                          const char *password, double *ms)
{
    long long t0 = w4_now_us();
    struct tk_response *r = w4_register(s, email, password);
    *ms = (double)(w4_now_us() - t0) / 1e3;
    snprintf(r->what, sizeof r->what, "POST /auth/register {\"email\": \"%.80s\"}", email);
    return r;
}

GRADED(register, a_taken_email_is_409_without_hashing_a_password, 3, .fini = w4_private_fini)
{
    struct tk_server *s = w4_private(NULL);
    char taken[W4_EMAIL_MAX];
    w4_email("taken", taken, sizeof taken);
    double fresh_ms[ROUNDS], dup_ms[ROUNDS];
    /* Interleaved, so that a burst of load on the machine hits both kinds alike. */
    for (int i = 0; i < ROUNDS; i++) {
        char email[W4_EMAIL_MAX];
        struct tk_response *r =
            timed_register(s, i == 0 ? taken : w4_email("fresh", email, sizeof email),
                           "a long enough password", &fresh_ms[i]);
        tk_expect_status(r, 201);
        tk_response_free(r);
        r = timed_register(s, taken, "another long password", &dup_ms[i]);
        tk_expect_problem(r, 409);
        tk_response_free(r);
    }
    double fresh = median(fresh_ms, ROUNDS), dup = median(dup_ms, ROUNDS);
    cr_assert(dup * 3 < fresh,
              "a taken e-mail must be refused before its password is hashed: the median 409 took "
              "%.1f ms, the median 201 (one argon2id hash) %.1f ms; expected the 409 under a third "
              "of that",
              dup, fresh);
}

GRADED(register, is_throttled_per_client_address, 3, .fini = w4_private_fini)
{
    /* The kit may register its own user on the server too (TK_AUTH): count what we get. */
    struct tk_server *s = w4_private(
        (const char *const[]){"REGISTER_IP_MAX_ATTEMPTS=4", "REGISTER_WINDOW_SECONDS=60", NULL});
    char taken[W4_EMAIL_MAX];
    w4_email("first", taken, sizeof taken);
    struct tk_response *r = w4_register(s, taken, "a long enough password");
    tk_expect_status(r, 201);
    tk_response_free(r);
    int accepted = 1, attempt = 1;
    for (;; attempt++) {
        cr_assert(attempt <= 4, "expected a 429 by attempt 5 from one address "
                                "(REGISTER_IP_MAX_ATTEMPTS=4), none came");
        char email[W4_EMAIL_MAX];
        r = w4_register(s, w4_email("more", email, sizeof email), "a long enough password");
        if (r->status == 429)
            break;
        tk_expect_status(r, 201);
        tk_response_free(r);
        accepted++;
    }
    snprintf(r->what, sizeof r->what,
             "POST /auth/register, attempt %d from one address (REGISTER_IP_MAX_ATTEMPTS=4)",
             attempt + 1);
    cr_assert(accepted >= 3, "only %d registrations were accepted before the 429 (limit 4)",
              accepted);
    w4_expect_429(r, 60);
    tk_response_free(r);

    /* A taken e-mail is refused too: the throttle bounds how many e-mails one address can test
     * for an account (the 409 oracle), not only how many hashes it costs. */
    r = w4_register(s, taken, "a long enough password");
    snprintf(r->what, sizeof r->what,
             "POST /auth/register with a taken e-mail, past the address's limit");
    w4_expect_429(r, 60);
    tk_response_free(r);

    /* Another client address is not affected. */
    char url[160], body[W4_EMAIL_MAX + 96], email[W4_EMAIL_MAX];
    snprintf(url, sizeof url, "%s/auth/register", tk_server_url(s));
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"a long enough password\"}",
             w4_email("other", email, sizeof email));
    struct w4_answer a;
    w4_post_from(url, body, "127.0.0.2", 0, &a);
    cr_assert(!a.error[0] && a.status == 201,
              "POST /auth/register from 127.0.0.2, while 127.0.0.1 is throttled: expected 201, "
              "got %ld %s",
              a.status, a.error);
}

/* One registration of a burst, on a thread of its own. */
struct burst {
    char url[160];
    char body[W4_EMAIL_MAX + 96];
    pthread_barrier_t *start;
    struct w4_answer answer;
};

static void *burst_one(void *arg)
{
    struct burst *b = arg;
    pthread_barrier_wait(b->start);
    w4_post_from(b->url, b->body, NULL, 0, &b->answer);
    return NULL;
}

#define BURST 12

GRADED(register, a_full_hashing_queue_is_503_with_retry_after, 3, .fini = w4_private_fini)
{
    /* One hashing thread, one place in its queue: of a burst of new accounts, a few are hashed
     * and the others are told at once to come back. */
    struct tk_server *s = w4_private(
        (const char *const[]){"PASSWORD_WORKERS=1", "PASSWORD_QUEUE=1", "HTTP_THREADS=4", NULL});
    static struct burst b[BURST];
    int created = 0, busy = 0;
    for (int round = 0; round < 3 && busy == 0; round++) {
        pthread_barrier_t start;
        cr_assert(pthread_barrier_init(&start, NULL, BURST) == 0, "pthread_barrier_init failed");
        pthread_t th[BURST];
        for (int i = 0; i < BURST; i++) {
            char email[W4_EMAIL_MAX];
            snprintf(b[i].url, sizeof b[i].url, "%s/auth/register", tk_server_url(s));
            snprintf(b[i].body, sizeof b[i].body,
                     "{\"email\":\"%s\",\"password\":\"a long enough password\"}",
                     w4_email("burst", email, sizeof email));
            b[i].start = &start;
        }
        for (int i = 0; i < BURST; i++)
            cr_assert(pthread_create(&th[i], NULL, burst_one, &b[i]) == 0, "pthread_create");
        for (int i = 0; i < BURST; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < BURST; i++) {
            const struct w4_answer *a = &b[i].answer;
            cr_assert(!a->error[0], "registration %d of a burst of %d got no answer: %s", i, BURST,
                      a->error);
            cr_assert(a->status == 201 || a->status == 503,
                      "registration %d of a burst of %d (PASSWORD_WORKERS=1, PASSWORD_QUEUE=1): "
                      "expected 201 or 503, got %ld",
                      i, BURST, a->status);
            if (a->status == 503) {
                char *end = NULL;
                long secs = strtol(a->retry_after, &end, 10);
                cr_assert(end != a->retry_after && *end == '\0' && secs >= 1,
                          "a 503 for a full hashing queue needs Retry-After in seconds, got "
                          "\"%s\"",
                          a->retry_after);
                cr_assert(strncmp(a->content_type, "application/problem+json", 24) == 0,
                          "a 503 must be a problem (application/problem+json), got \"%s\"",
                          a->content_type);
            }
            created += a->status == 201;
            busy += a->status == 503;
        }
    }
    cr_assert(busy > 0 && created > 0,
              "%d simultaneous registrations with one hashing thread and one queue place: "
              "expected some 201 and some 503 (queue full), got %d 201 and %d 503",
              BURST, created, busy);

    /* The queue drains: a registration afterwards is hashed again. */
    char email[W4_EMAIL_MAX];
    struct tk_response *r =
        w4_register(s, w4_email("after", email, sizeof email), "a long enough password");
    snprintf(r->what, sizeof r->what, "POST /auth/register after the burst");
    tk_expect_status(r, 201);
    tk_response_free(r);
}
