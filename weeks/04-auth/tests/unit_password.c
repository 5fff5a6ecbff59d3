/* unit_password.c — argon2id password hashes (password.h).
 *
 * A hash must verify its own password and nothing else, carry argon2id with at least libsodium's
 * INTERACTIVE cost, differ every time (a fresh salt), survive garbage, and say when it is weaker
 * than today's parameters. The dummy verification for unknown e-mails must really cost a
 * verification. And we measure what one hash and one verification cost on this machine. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "password.h"
#include "testkit.h"

#define PW "correct horse battery staple"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void hash_of(const char *pw, char out[PASSWORD_HASH_MAX])
{
    int rc = password_hash(pw, strlen(pw), out);
    cr_assert_eq(rc, 0, "expected password_hash to succeed, got %d", rc);
}

GRADED(password, a_hash_verifies_its_password, 2)
{
    char h[PASSWORD_HASH_MAX];
    hash_of(PW, h);
    cr_assert(password_verify(h, PW, strlen(PW)), "expected the password to verify against %s", h);
}

GRADED(password, a_wrong_password_is_refused, 2)
{
    char h[PASSWORD_HASH_MAX];
    hash_of(PW, h);
    static const char *const wrong[] = {"correct horse battery stapld", "correct horse battery",
                                        "Correct horse battery staple", ""};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        cr_assert_not(password_verify(h, wrong[i], strlen(wrong[i])),
                      "expected \"%s\" to be refused for the hash of \"%s\"", wrong[i], PW);
    /* The length counts: the right bytes plus one more are another password. */
    cr_assert_not(password_verify(h, PW "!", strlen(PW) + 1),
                  "expected the password with a byte added to be refused");
}

GRADED(password, the_hash_is_argon2id_with_at_least_the_interactive_cost, 2)
{
    char h[PASSWORD_HASH_MAX];
    hash_of(PW, h);
    cr_assert(strncmp(h, "$argon2id$", 10) == 0, "expected an argon2id hash, got %s", h);
    unsigned long m_kib = 0, t = 0;
    unsigned p = 0;
    int n = sscanf(h, "$argon2id$v=19$m=%lu,t=%lu,p=%u$", &m_kib, &t, &p);
    cr_assert_eq(n, 3, "expected v=19, m=, t= and p= in %s", h);
    cr_assert(m_kib * 1024 >= crypto_pwhash_MEMLIMIT_INTERACTIVE,
              "expected at least %zu KiB of memory, the hash says m=%lu",
              (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024, m_kib);
    cr_assert(t >= crypto_pwhash_OPSLIMIT_INTERACTIVE,
              "expected at least %llu passes, the hash says t=%lu",
              (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE, t);
}

GRADED(password, two_hashes_of_one_password_differ, 1)
{
    char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
    hash_of(PW, a);
    hash_of(PW, b);
    cr_assert_str_neq(a, b, "expected two different salts, got %s twice", a);
    cr_assert(password_verify(a, PW, strlen(PW)) && password_verify(b, PW, strlen(PW)),
              "expected both hashes to verify");
}

GRADED(password, garbage_hashes_are_refused_without_crashing, 1)
{
    char real[PASSWORD_HASH_MAX];
    hash_of(PW, real);
    char truncated[PASSWORD_HASH_MAX];
    snprintf(truncated, sizeof truncated, "%.*s", (int)strlen(real) - 5, real);
    char too_long[300];
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    const char *const garbage[] = {"",
                                   "garbage",
                                   "$argon2id$",
                                   "$argon2id$v=19$m=65536,t=2,p=1$",
                                   "$argon2id$v=19$m=99999999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
                                   "$2b$12$abcdefghijklmnopqrstuu",
                                   truncated,
                                   too_long};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        cr_assert_not(password_verify(garbage[i], PW, strlen(PW)),
                      "expected verification against \"%.40s\" to be false", garbage[i]);
    cr_assert_not(password_verify(NULL, PW, strlen(PW)), "expected a NULL hash to be false");
}

GRADED(password, needs_rehash_is_false_for_a_fresh_hash_and_true_for_a_weak_one, 2)
{
    char fresh[PASSWORD_HASH_MAX], weak[crypto_pwhash_STRBYTES];
    hash_of(PW, fresh);
    cr_assert_not(password_needs_rehash(fresh), "expected a fresh hash not to need a rehash: %s",
                  fresh);
    cr_assert_eq(crypto_pwhash_str(weak, PW, strlen(PW), crypto_pwhash_OPSLIMIT_MIN,
                                   crypto_pwhash_MEMLIMIT_MIN),
                 0, "expected libsodium to make a MIN-cost hash");
    cr_assert(password_needs_rehash(weak), "expected a MIN-cost hash to need a rehash: %s", weak);
    cr_assert(password_verify(weak, PW, strlen(PW)),
              "expected an old, weaker hash to still verify (upgraded at the next login)");
    cr_assert(password_needs_rehash("garbage"), "expected an unreadable hash to need a rehash");
}

GRADED(password, hash_refuses_lengths_no_valid_password_has, 1)
{
    char h[PASSWORD_HASH_MAX];
    char big[PASSWORD_MAX * 4 + 1];
    memset(big, 'x', sizeof big);
    cr_assert_eq(password_hash("1234567", 7, h), ERR_INVALID,
                 "expected 7 bytes (fewer than PASSWORD_MIN code points) to be refused");
    cr_assert_eq(password_hash(big, sizeof big, h), ERR_INVALID,
                 "expected %zu bytes (more than PASSWORD_MAX code points) to be refused",
                 sizeof big);
}

GRADED(password, the_dummy_verification_costs_about_a_real_one, 1, .timeout = 60)
{
    char h[PASSWORD_HASH_MAX];
    hash_of(PW, h);
    password_verify_dummy(PW, strlen(PW)); /* the first call also makes the dummy hash */
    double real[3], dummy[3];
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        (void)password_verify(h, "not the password", 16);
        real[i] = now_s() - t0;
        t0 = now_s();
        password_verify_dummy("not the password", 16);
        dummy[i] = now_s() - t0;
    }
    double r = median(real, 3), d = median(dummy, 3);
    fprintf(stderr, "password: verify (wrong password) median %.1f ms, dummy median %.1f ms\n",
            r * 1e3, d * 1e3);
    /* Loose on purpose (2 cores, other tests running): a dummy that skips the work is ~0. */
    cr_assert(d >= r / 4, "expected the dummy (%.1f ms) to cost about a verification (%.1f ms)",
              d * 1e3, r * 1e3);
}

GRADED(password, measure_hash_and_verify_time, 1, .timeout = 120)
{
    enum { RUNS = 5 };
    double hash_s[RUNS], verify_s[RUNS];
    char h[PASSWORD_HASH_MAX];
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s();
        hash_of(PW, h);
        hash_s[i] = now_s() - t0;
        t0 = now_s();
        bool ok = password_verify(h, PW, strlen(PW));
        verify_s[i] = now_s() - t0;
        cr_assert(ok, "expected run %d's hash to verify", i + 1);
    }
    double mh = median(hash_s, RUNS), mv = median(verify_s, RUNS);
    fprintf(stderr, "password: argon2id INTERACTIVE, median of %d: hash %.1f ms, verify %.1f ms\n",
            RUNS, mh * 1e3, mv * 1e3);
    cr_log_info("argon2id median of %d: hash %.1f ms, verify %.1f ms", RUNS, mh * 1e3, mv * 1e3);
    /* A sanity bound, not a benchmark: a login that takes 10 s is broken. */
    cr_assert(mh < 10.0 && mv < 10.0, "expected hash (%.3f s) and verify (%.3f s) under 10 s", mh,
              mv);
}
