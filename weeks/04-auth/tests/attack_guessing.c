/* attack_guessing.c — concurrent password guessing against the login throttle (issue 11 item 2).
 *
 * The throttle allows LOGIN_MAX_FAILURES failed logins per e-mail and LOGIN_IP_MAX_FAILURES per
 * client address in a window. Checking a password costs tens of milliseconds (argon2id), so a
 * throttle that counts a failure only after the check lets every guess that arrives during
 * another one's check through: 40 simultaneous guesses once checked 18 passwords against a
 * limit of 5. A guess is "checked" when it is answered 401 (a wrong password) and "refused" when
 * it is 429. GUESSES guesses released at once must check at most the limit, per e-mail and then
 * per address, and the right password must stay refused until the window ends, then work.
 * Counted, not timed: the guesses are bounded in number, and the waits by the window and by a
 * bound made from the time one password check took in this run (the baseline). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attack.h"
#include "api_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

/* Small limits: every checked guess costs an argon2id (64 MiB, tens of ms on an idle core), and
 * the suites share two loaded cores; what is measured is a count, which small limits test as
 * well as large ones. */
#define GUESSES        20
#define EMAIL_LIMIT    3
#define ADDRESS_LIMIT  4
#define WINDOW_SECONDS 4
#define BODY_MAX       (W4_EMAIL_MAX + 96)

struct round {
    int checked, refused, other;
    long other_status;
};

/* GUESSES wrong passwords at once, for email (or, when email is NULL, each for a new e-mail),
 * each answered within timeout_ms. */
static struct round guess_round(struct tk_server *s, const char *email, long timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "%s/auth/login", tk_server_url(s));
    static char bodies[GUESSES][BODY_MAX];
    struct w4_racer racers[GUESSES];
    for (int i = 0; i < GUESSES; i++) {
        char fresh[W4_EMAIL_MAX];
        snprintf(bodies[i], BODY_MAX, "{\"email\":\"%s\",\"password\":\"wrong guess %d\"}",
                 email ? email : w4_email("sprayed", fresh, sizeof fresh), i);
        racers[i] = (struct w4_racer){.url = url, .body = bodies[i], .timeout_ms = timeout_ms};
    }
    w4_race(racers, GUESSES);
    struct round r = {0};
    for (int i = 0; i < GUESSES; i++) {
        cr_assert(!racers[i].error[0], "guess %d got no answer within %ld ms: %s", i, timeout_ms,
                  racers[i].error);
        if (racers[i].status == 401)
            r.checked++;
        else if (racers[i].status == 429)
            r.refused++;
        else {
            r.other++;
            r.other_status = racers[i].status;
        }
    }
    return r;
}

static long login_status(struct tk_server *s, const struct w4_user *u)
{
    struct tk_response *r = w4_login(s, u->email, u->password);
    long status = r->status;
    tk_response_free(r);
    return status;
}

/* A private server with these limits (and the window in seconds). */
static struct tk_server *throttled(int per_email, int per_address, long window_s)
{
    static char email_limit[48], address_limit[48], window[48];
    snprintf(email_limit, sizeof email_limit, "LOGIN_MAX_FAILURES=%d", per_email);
    snprintf(address_limit, sizeof address_limit, "LOGIN_IP_MAX_FAILURES=%d", per_address);
    snprintf(window, sizeof window, "LOGIN_WINDOW_SECONDS=%ld", window_s);
    return w4_private(
        (const char *const[]){email_limit, address_limit, window, "HTTP_THREADS=16", NULL});
}

/* The time one password check takes in this run: a registration and a login on the shared
 * server are two. */
static long check_baseline_ms(void)
{
    long start = tk_now_ms();
    struct w4_user first;
    w4_user_new(tk_shared(), "baseline", &first);
    return (tk_now_ms() - start) / 2 + 1;
}

/* How long a guess of a round may take: the round checks at most limit passwords, maybe one
 * after another on two busy cores, and a refused guess may wait behind them on its event loop;
 * three times that, and never under 10 s. */
static long guess_bound_ms(int limit, long check_ms)
{
    long bound = 3 * (limit + 1) * check_ms;
    return bound < 10000 ? 10000 : bound;
}

Test(guessing, concurrent_guesses_for_one_email_check_at_most_the_limit, .fini = w4_private_fini)
{
    long check_ms = check_baseline_ms();
    long bound = guess_bound_ms(EMAIL_LIMIT, check_ms);
    /* The window outlasts a whole round, or its end would reset the count in the middle of
     * one; the test then waits it out, so it is no longer than that. */
    long window_s = 2 * (EMAIL_LIMIT + 1) * check_ms / 1000;
    if (window_s < WINDOW_SECONDS)
        window_s = WINDOW_SECONDS;
    struct api_attack_tally t;
    api_attack_begin(&t, "guessing");
    struct tk_server *s = throttled(EMAIL_LIMIT, 100000, window_s);
    struct w4_user u;
    w4_user_new(s, "guessed", &u);
    long window_start = tk_now_ms();
    struct round r = guess_round(s, u.email, bound);
    api_attack_result(&t, r.checked <= EMAIL_LIMIT && r.other == 0,
                      "%d concurrent wrong guesses for one e-mail (LOGIN_MAX_FAILURES=%d): %d "
                      "checked (401), %d refused (429), %d other (%ld)",
                      GUESSES, EMAIL_LIMIT, r.checked, r.refused, r.other, r.other_status);
    /* Fill the count to the limit (the race may have checked fewer), then the right password
     * is refused for the rest of the window. */
    for (int i = r.checked; i < EMAIL_LIMIT; i++) {
        struct tk_response *res = w4_login(s, u.email, "one more wrong guess");
        tk_response_free(res);
    }
    long right = login_status(s, &u);
    api_attack_result(&t, right == 429, "the right password after the limit: expected 429, got %ld",
                      right);
    /* The window ends window_s after its first failure; wait that out (and a second for the
     * clock's granularity), then the right password works again. */
    long wait = window_start + (window_s + 1) * 1000L - tk_now_ms();
    if (wait > 0)
        tk_sleep_ms(wait);
    long after = login_status(s, &u);
    api_attack_result(&t, after == 200,
                      "the right password once the window ended: expected 200, got %ld", after);
    api_attack_figure("%d concurrent wrong logins for one e-mail: %d checked (limit %d); the right "
                      "password %s during the window and %s after it (one check %ld ms, window "
                      "%ld s)",
                      GUESSES, r.checked, EMAIL_LIMIT, right == 429 ? "refused" : "ACCEPTED",
                      after == 200 ? "accepted" : "refused", check_ms, window_s);
    api_attack_end(&t);
}

Test(guessing, concurrent_guesses_from_one_address_check_at_most_the_limit, .fini = w4_private_fini)
{
    long check_ms = check_baseline_ms();
    long bound = guess_bound_ms(ADDRESS_LIMIT, check_ms);
    struct api_attack_tally t;
    api_attack_begin(&t, "guessing");
    /* Password spraying: one guess for each of GUESSES e-mails, all at once, from one address. */
    struct tk_server *s = throttled(1000, ADDRESS_LIMIT, 600);
    struct round r = guess_round(s, NULL, bound);
    api_attack_result(&t, r.checked <= ADDRESS_LIMIT && r.other == 0,
                      "%d concurrent wrong guesses on %d e-mails from one address "
                      "(LOGIN_IP_MAX_FAILURES=%d): %d checked (401), %d refused (429), %d other "
                      "(%ld)",
                      GUESSES, GUESSES, ADDRESS_LIMIT, r.checked, r.refused, r.other,
                      r.other_status);
    api_attack_figure("%d concurrent wrong logins on %d e-mails from one address: %d checked "
                      "(limit %d)",
                      GUESSES, GUESSES, r.checked, ADDRESS_LIMIT);
    api_attack_end(&t);
}
