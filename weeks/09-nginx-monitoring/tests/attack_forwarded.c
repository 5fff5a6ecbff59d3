/* attack_forwarded.c — a password guesser that names a new address with every guess.
 *
 * Week 9 lets taskd read X-Forwarded-For, for the proxy's sake (TRUSTED_PROXIES). If it believed
 * the header from anyone, a guesser would send a new "client address" with each attempt and week
 * 4's per-address login throttle would never see the same key twice. The attack sends
 * ATTEMPTS wrong logins straight to taskd, each naming another address (and, in turns, a list
 * of them, IPv6, junk, a huge header), against a taskd that trusts nobody (the default) and one
 * that trusts a proxy network the attacker is not in. Past LOGIN_IP_MAX_FAILURES, every attempt
 * must be 429. Counted, not timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "testkit.h"

#define ATTEMPTS        40
#define IP_MAX_FAILURES 5

static void forged_header(int i, char *buf, size_t cap)
{
    switch (i % 5) {
    case 0:
        snprintf(buf, cap, "X-Forwarded-For: 198.51.100.%d", i % 250);
        break;
    case 1:
        snprintf(buf, cap, "X-Forwarded-For: 203.0.113.%d, 10.0.0.%d", i % 250, i % 250);
        break;
    case 2:
        snprintf(buf, cap, "X-Forwarded-For: 2001:db8::%x", i);
        break;
    case 3:
        snprintf(buf, cap, "X-Forwarded-For: not-an-address-%d", i);
        break;
    default: {
        int w = snprintf(buf, cap, "X-Forwarded-For: ");
        for (int k = 0; w > 0 && (size_t)w < cap - 16; k++)
            w += snprintf(buf + w, cap - (size_t)w, "192.0.2.%d, ", (i + k) % 250);
        break;
    }
    }
}

/* Wrong logins with a new forged address each; returns how many got through to a 401 after the
 * throttle should have closed. */
static int guesses_past_the_limit(struct tk_server *s, const char *label)
{
    int past = 0, limited = 0;
    char header[4096];
    for (int i = 0; i < ATTEMPTS; i++) {
        forged_header(i, header, sizeof header);
        char *body =
            api_format("{\"email\":\"victim-%d-%ld@example.com\",\"password\":\"guess-%d\"}", i,
                       (long)getpid(), i);
        struct tk_response *r =
            tk_request(s, "POST", "/auth/login",
                       (const char *const[]){"Content-Type: application/json", header, NULL}, body,
                       strlen(body));
        free(body);
        cr_assert(r->status == 401 || r->status == 429,
                  "%s: a wrong login with a forged X-Forwarded-For got %ld", label, r->status);
        if (r->status == 429)
            limited++;
        else if (i >= IP_MAX_FAILURES)
            past++;
        tk_response_free(r);
    }
    printf("figure: %s: %d of %d forged-address guesses throttled, %d past the limit\n", label,
           limited, ATTEMPTS, past);
    return past;
}

Test(forwarded, a_forged_address_does_not_escape_the_login_throttle, .timeout = 120)
{
    tk_need_local("starts servers with their own throttle settings");
    static const char *const settings[][2] = {
        {"TRUSTED_PROXIES=", "trusting nobody"},
        {"TRUSTED_PROXIES=10.0.0.0/8", "trusting 10.0.0.0/8"},
    };
    for (size_t k = 0; k < 2; k++) {
        struct tk_server *s = tk_server_start((const char *const[]){
            settings[k][0], "LOGIN_IP_MAX_FAILURES=5", "LOGIN_MAX_FAILURES=1000", NULL});
        cr_assert(s, "the server did not start");
        int past = guesses_past_the_limit(s, settings[k][1]);
        cr_assert_eq(past, 0,
                     "%s: %d guesses past LOGIN_IP_MAX_FAILURES=%d were answered 401: a forged "
                     "X-Forwarded-For gave the guesser a new address",
                     settings[k][1], past, IP_MAX_FAILURES);
        tk_server_stop(s);
    }
}
