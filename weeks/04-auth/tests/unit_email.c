/* unit_email.c — the e-mail addresses accounts are named by (email.h).
 *
 * POST /auth/register trusts email_normalize for every rule of API.md's "dot-atom ASCII, local
 * part ≤ 64, domain with ≥ 2 labels", and for the lower-casing that makes "Ann@X.org" and
 * "ann@x.org" one account. One rule per test, each with a case just inside and just outside. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "email.h"
#include "err.h"
#include "testkit.h"

static void expect_ok(const char *in, const char *want)
{
    char out[EMAIL_MAX + 1];
    const char *why = "(not set)";
    int rc = email_normalize(in, strlen(in), out, &why);
    cr_assert_eq(rc, 0, "expected \"%s\" to be accepted, got %d (%s)", in, rc, why);
    cr_assert_str_eq(out, want, "expected \"%s\" to normalise to \"%s\", got \"%s\"", in, want,
                     out);
}

#define ACCEPTS(s) expect_ok(s, s)

/* Refused, with a message for the client that contains `mentions`. */
static void expect_refused_n(const char *in, size_t len, const char *mentions)
{
    char out[EMAIL_MAX + 1] = "untouched";
    const char *why = NULL;
    int rc = email_normalize(in, len, out, &why);
    cr_assert_eq(rc, ERR_INVALID, "expected \"%.*s\" (%zu bytes) to be refused, got %d",
                 (int)(len > 80 ? 80 : len), in, len, rc);
    cr_assert(why && strncmp(why, "must", 4) == 0,
              "expected a message starting \"must\" for \"%.*s\", got \"%s\"",
              (int)(len > 80 ? 80 : len), in, why ? why : "(null)");
    cr_assert(strstr(why, mentions) != NULL,
              "expected the message for \"%.*s\" to mention \"%s\", got \"%s\"",
              (int)(len > 80 ? 80 : len), in, mentions, why);
    cr_assert_str_eq(out, "", "expected out to be \"\" after a refusal, got \"%s\"", out);
}

static void expect_refused(const char *in, const char *mentions)
{
    expect_refused_n(in, strlen(in), mentions);
}

/* expect_refused for each of ins (NULL-terminated), all with the same message. */
static void expect_all_refused(const char *mentions, const char *const *ins)
{
    for (size_t i = 0; ins[i]; i++)
        expect_refused(ins[i], mentions);
}

/* Builds "<local>@<domain>" from parts of the given lengths, filled with 'a' (labels of the
 * domain are joined with dots every label_len characters). */
static void make_address(char *out, size_t cap, size_t local_len, size_t label_len, size_t labels)
{
    size_t w = 0;
    for (size_t i = 0; i < local_len && w + 1 < cap; i++)
        out[w++] = 'a';
    if (w + 1 < cap)
        out[w++] = '@';
    for (size_t l = 0; l < labels; l++) {
        if (l > 0 && w + 1 < cap)
            out[w++] = '.';
        for (size_t i = 0; i < label_len && w + 1 < cap; i++)
            out[w++] = 'b';
    }
    out[w] = '\0';
}

/* An address of a local part of local_len and two labels of label_len is accepted; one
 * character more (in the labels when grow_label, else in the local part) is refused with a
 * message that mentions `mentions`. */
static void expect_edge(size_t local_len, size_t label_len, bool grow_label, const char *mentions)
{
    char a[300];
    make_address(a, sizeof a, local_len, label_len, 2);
    ACCEPTS(a);
    make_address(a, sizeof a, local_len + !grow_label, label_len + grow_label, 2);
    expect_refused(a, mentions);
}

/* ------------------------------------------------------------------ accepted */

GRADED(email, accepts_common_addresses_unchanged, 1)
{
    static const char *const ok[] = {
        "ann@example.com",      "first.last@mail.example.org",  "a@b.co",
        "user+tag@example.com", "x-y_z@sub-domain.example.net", "1234@123.45"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ACCEPTS(ok[i]);
}

GRADED(email, accepts_every_atext_symbol_in_the_local_part, 1)
{
    ACCEPTS("!#$%&'*+-/=?^_`{|}~@example.com");
    ACCEPTS("a.!.b@example.com");
}

GRADED(email, folds_upper_case_ascii_to_lower_case, 2)
{
    expect_ok("Ann@Example.COM", "ann@example.com");
    expect_ok("ABCDEFGHIJKLMNOPQRSTUVWXYZ@X.ORG", "abcdefghijklmnopqrstuvwxyz@x.org");
    expect_ok("A.B+C@D-E.F", "a.b+c@d-e.f");
}

/* ------------------------------------------------------------------ shape */

GRADED(email, refuses_an_address_without_exactly_one_at, 1)
{
    expect_all_refused("e-mail address", (const char *const[]){"", "ann.example.com", NULL});
    expect_all_refused("one @",
                       (const char *const[]){"ann@@example.com", "ann@example@com.org", NULL});
    expect_refused("ann@", "domain");
    expect_refused("@example.com", "before the @");
}

GRADED(email, refuses_white_space_rather_than_trimming_it, 1)
{
    expect_all_refused("before the @",
                       (const char *const[]){" ann@example.com", "ann smith@example.com", NULL});
    expect_all_refused("after the @",
                       (const char *const[]){"ann@example.com ", "ann@exa mple.com", NULL});
}

GRADED(email, refuses_non_ascii_and_control_bytes, 1)
{
    expect_refused("j\xC3\xB6rg@example.com", "ASCII"); /* jörg */
    expect_refused("ann@b\xC3\xBC"
                   "cher.de",
                   "ASCII");                                    /* bücher.de */
    expect_refused_n("ann\0x@example.com", 17, "before the @"); /* an embedded NUL */
    expect_refused("ann\t@example.com", "before the @");
}

/* ------------------------------------------------------------------ local part */

GRADED(email, refuses_misplaced_dots_in_the_local_part, 2)
{
    expect_all_refused("dot", (const char *const[]){".ann@example.com", "ann.@example.com",
                                                    ".@example.com", NULL});
    expect_refused("an..n@example.com", "two dots");
    ACCEPTS("a.n.n@example.com");
}

GRADED(email, refuses_characters_outside_atext_in_the_local_part, 1)
{
    static const char *const bad[] = {
        "\"ann\"@example.com", "an(n)@example.com", "an,n@example.com",  "an;n@example.com",
        "an:n@example.com",    "an[n]@example.com", "an<n>@example.com", "an\\n@example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_refused(bad[i], "before the @");
}

GRADED(email, takes_a_local_part_of_64_characters_and_not_65, 2)
{
    expect_edge(64, 7, false, "64");
}

/* ------------------------------------------------------------------ domain */

GRADED(email, refuses_a_domain_of_one_label, 1)
{
    expect_refused("ann@localhost", "two labels");
    expect_refused("ann@com", "two labels");
}

GRADED(email, refuses_empty_labels_in_the_domain, 1)
{
    expect_all_refused("single dots", (const char *const[]){"ann@.example.com", "ann@example.com.",
                                                            "ann@example..com", "ann@.", NULL});
}

GRADED(email, refuses_hyphens_at_either_end_of_a_label, 1)
{
    expect_all_refused("hyphen",
                       (const char *const[]){"ann@-example.com", "ann@example-.com",
                                             "ann@example.-com", "ann@example.com-", NULL});
    ACCEPTS("ann@ex--ample.com");
}

GRADED(email, refuses_other_characters_in_the_domain, 1)
{
    expect_all_refused("after the @", (const char *const[]){"ann@exam_ple.com", "ann@[127.0.0.1]",
                                                            "ann@example.com+x", NULL});
}

GRADED(email, takes_a_label_of_63_characters_and_not_64, 1)
{
    expect_edge(3, 63, true, "63");
}

/* ------------------------------------------------------------------ whole length */

GRADED(email, takes_254_characters_and_not_255, 2)
{
    /* 64 + 1 + (4 labels of 46 + 3 dots = 187) = 252; then grow the last label by 2 and 3. */
    char a[290], b[300];
    make_address(a, sizeof a, 64, 46, 4);
    cr_assert_eq(strlen(a), 252, "expected the base address to be 252 characters, got %zu",
                 strlen(a));
    snprintf(b, sizeof b, "%sbb", a);
    cr_assert_eq(strlen(b), 254, "expected 254 characters, got %zu", strlen(b));
    ACCEPTS(b);
    snprintf(b, sizeof b, "%sbbb", a);
    cr_assert_eq(strlen(b), 255, "expected 255 characters, got %zu", strlen(b));
    expect_refused(b, "254");
}

GRADED(email, writes_the_longest_address_without_overflowing_out, 1)
{
    /* out is exactly EMAIL_MAX + 1 bytes: a byte past it would be caught by the sanitiser build,
     * and the guard byte here catches it in a plain one. */
    struct {
        char out[EMAIL_MAX + 1];
        char guard;
    } s;
    s.guard = 'G';
    char base[290], a[300];
    make_address(base, sizeof base, 64, 46, 4);
    snprintf(a, sizeof a, "%sBB", base); /* 254 characters, upper case at the very end */
    const char *why = NULL;
    int rc = email_normalize(a, strlen(a), s.out, &why);
    cr_assert_eq(rc, 0, "expected a 254-character address to be accepted, got %d (%s)", rc,
                 why ? why : "");
    cr_assert_eq(strlen(s.out), 254, "expected 254 characters out, got %zu", strlen(s.out));
    cr_assert_eq(s.out[253], 'b', "expected the last character folded to 'b', got '%c'",
                 s.out[253]);
    cr_assert_eq(s.guard, 'G', "expected the byte after out to be untouched");
}
