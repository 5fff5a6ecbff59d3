/* unit_utf8.c — strict UTF-8 at the edge (utf8.h).
 *
 * Every other module trusts these functions: that a validated string has no overlongs, no
 * surrogates and nothing past U+10FFFF, and that counts and trims are in code points. The byte
 * sequences below are the classic traps, one family per test. */
#include <stdio.h>
#include <string.h>

#include "testkit.h"
#include "utf8.h"

/* Prints bytes as hex for assertion messages. */
static const char *hex(const char *s, size_t n, char *buf, size_t len)
{
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && w + 4 < len; i++)
        w += (size_t)snprintf(buf + w, len - w, "%s%02X", i ? " " : "", (unsigned char)s[i]);
    return buf;
}

static void expect_valid(const char *s, size_t n, bool want)
{
    char h[128];
    bool got = utf8_valid(s, n);
    cr_assert_eq(got, want, "expected utf8_valid(%s) = %s, got %s", hex(s, n, h, sizeof h),
                 want ? "true" : "false", got ? "true" : "false");
}

#define VALID(lit)   expect_valid(lit, sizeof lit - 1, true)
#define INVALID(lit) expect_valid(lit, sizeof lit - 1, false)

/* ------------------------------------------------------------------ validation */

GRADED(utf8, accepts_well_formed_text_of_every_width, 1)
{
    VALID("");
    VALID("plain ascii");
    VALID("\xC3\xA9");                               /* é U+00E9 */
    VALID("\xE2\x82\xAC");                           /* € U+20AC */
    VALID("\xF0\x9F\x98\x80");                       /* 😀 U+1F600 */
    VALID("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"); /* mixed */
}

GRADED(utf8, accepts_the_edges_of_each_range, 2)
{
    VALID("\x7F");             /* U+007F, last one-byte */
    VALID("\xC2\x80");         /* U+0080, first two-byte */
    VALID("\xDF\xBF");         /* U+07FF */
    VALID("\xE0\xA0\x80");     /* U+0800, first three-byte */
    VALID("\xED\x9F\xBF");     /* U+D7FF, just below the surrogates */
    VALID("\xEE\x80\x80");     /* U+E000, just above them */
    VALID("\xEF\xBF\xBF");     /* U+FFFF */
    VALID("\xF0\x90\x80\x80"); /* U+10000, first four-byte */
    VALID("\xF4\x8F\xBF\xBF"); /* U+10FFFF, the last code point */
}

GRADED(utf8, accepts_nul_as_the_code_point_it_is, 1)
{
    /* RFC 3629 allows U+0000; rejecting it is the JSON layer's rule, not UTF-8's. */
    expect_valid("a\0b", 3, true);
}

GRADED(utf8, rejects_overlong_encodings, 2)
{
    INVALID("\xC0\x80");         /* NUL in two bytes: the classic filter bypass */
    INVALID("\xC0\xAF");         /* '/' */
    INVALID("\xC1\xBF");         /* U+007F in two bytes */
    INVALID("\xE0\x80\x80");     /* NUL in three bytes */
    INVALID("\xE0\x9F\xBF");     /* U+07FF in three bytes */
    INVALID("\xF0\x80\x80\x80"); /* NUL in four bytes */
    INVALID("\xF0\x8F\xBF\xBF"); /* U+FFFF in four bytes */
}

GRADED(utf8, rejects_utf16_surrogates, 2)
{
    INVALID("\xED\xA0\x80");             /* U+D800 */
    INVALID("\xED\xAF\xBF");             /* U+DBFF */
    INVALID("\xED\xB0\x80");             /* U+DC00 */
    INVALID("\xED\xBF\xBF");             /* U+DFFF */
    INVALID("\xED\xA0\xBD\xED\xB8\x80"); /* a surrogate pair spelt in UTF-8 (CESU-8) */
}

GRADED(utf8, rejects_code_points_past_u10ffff, 2)
{
    INVALID("\xF4\x90\x80\x80"); /* U+110000 */
    INVALID("\xF4\xBF\xBF\xBF");
    INVALID("\xF5\x80\x80\x80");
    INVALID("\xF7\xBF\xBF\xBF");
    INVALID("\xF8\x88\x80\x80\x80"); /* old five-byte form */
    INVALID("\xFC\x84\x80\x80\x80\x80");
}

GRADED(utf8, rejects_bytes_that_never_appear, 1)
{
    INVALID("\xFE");
    INVALID("\xFF");
    INVALID("a\xFF"
            "b");
}

GRADED(utf8, rejects_stray_continuation_bytes, 2)
{
    INVALID("\x80");
    INVALID("\xBF");
    INVALID("a\x80"
            "b");
    INVALID("\xC3\xA9\xA9"); /* one continuation too many */
}

GRADED(utf8, rejects_truncated_sequences, 2)
{
    INVALID("\xC3");
    INVALID("\xE2\x82");
    INVALID("\xF0\x9F\x98");
    INVALID("abc\xF0\x9F");
    INVALID("\xE2\x82"
            "A"); /* cut short by an ASCII byte */
    INVALID("\xC3"
            "A");
    INVALID("\xF0\x9F\x98"
            "A");
    INVALID("\xE2\x28\xA1"); /* second byte not a continuation */
}

GRADED(utf8, checks_only_n_bytes, 2)
{
    /* é cut by n is truncated, however valid the byte after it is */
    expect_valid("\xC3\xA9", 1, false);
    expect_valid("\xF0\x9F\x98\x80", 3, false);
    /* and what lies past n does not matter */
    expect_valid("ok\xFF", 2, true);
}

/* ------------------------------------------------------------------ decoding and counting */

static void expect_decode(const char *s, size_t n, uint32_t want_cp, size_t want_len)
{
    uint32_t cp = 0;
    size_t len = utf8_decode(s, n, &cp);
    cr_assert_eq(len, want_len, "expected U+%04X to take %zu bytes, got %zu", want_cp, want_len,
                 len);
    cr_assert_eq(cp, want_cp, "expected to decode U+%04X, got U+%04X", want_cp, cp);
}

GRADED(utf8, decodes_each_width, 2)
{
    expect_decode("A", 1, 0x41, 1);
    expect_decode("\xC3\xA9x", 3, 0xE9, 2);
    expect_decode("\xE2\x82\xAC", 3, 0x20AC, 3);
    expect_decode("\xE3\x80\x80", 3, 0x3000, 3);
    expect_decode("\xF0\x9F\x98\x80", 4, 0x1F600, 4);
    expect_decode("\xF4\x8F\xBF\xBF", 4, 0x10FFFF, 4);
}

GRADED(utf8, counts_code_points_not_bytes, 2)
{
    cr_assert_eq(utf8_count("", 0), 0, "expected 0 code points in \"\", got %zu",
                 utf8_count("", 0));
    cr_assert_eq(utf8_count("abc", 3), 3, "expected 3 code points in \"abc\", got %zu",
                 utf8_count("abc", 3));
    const char *mixed = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; /* a é € 😀: 10 bytes */
    size_t got = utf8_count(mixed, strlen(mixed));
    cr_assert_eq(got, 4, "expected 4 code points in \"aé€😀\" (10 bytes), got %zu", got);
}

GRADED(utf8, counts_long_multibyte_strings, 2)
{
    char s[200 * 4 + 1];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        memcpy(s + n, "\xF0\x9F\x98\x80", 4);
        n += 4;
    }
    size_t got = utf8_count(s, n);
    cr_assert_eq(got, 200, "expected 200 code points in 200 emoji (800 bytes), got %zu", got);
    got = utf8_count(s, n - 4);
    cr_assert_eq(got, 199, "expected the count to stop at n (199 emoji), got %zu", got);
}

/* ------------------------------------------------------------------ white space and trimming */

GRADED(utf8, knows_the_unicode_white_space_set, 2)
{
    static const uint32_t space[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,
                                     0x85,   0xA0,   0x1680, 0x2000, 0x2005, 0x200A,
                                     0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    for (size_t i = 0; i < sizeof space / sizeof space[0]; i++)
        cr_assert(utf8_is_space(space[i]), "expected U+%04X to be white space, got false",
                  space[i]);
    /* Look-alikes that are not White_Space: zero-width space, BOM, word joiner, Mongolian
     * vowel separator (removed in Unicode 6.3), and ordinary characters. */
    static const uint32_t not_space[] = {0x00,   0x08,   0x0E,   0x1F,   0x41,    0x200B,
                                         0x2060, 0xFEFF, 0x180E, 0x3001, 0x10FFFF};
    for (size_t i = 0; i < sizeof not_space / sizeof not_space[0]; i++)
        cr_assert(!utf8_is_space(not_space[i]), "expected U+%04X not to be white space, got true",
                  not_space[i]);
}

static void expect_trim(const char *s, size_t want_start, size_t want_len)
{
    size_t start = 999, len = 999;
    utf8_trim(s, strlen(s), &start, &len);
    char h[128];
    cr_assert(start == want_start && len == want_len,
              "expected trim(%s) to keep [%zu, +%zu), got [%zu, +%zu)",
              hex(s, strlen(s), h, sizeof h), want_start, want_len, start, len);
}

GRADED(utf8, trims_ascii_white_space_on_both_sides_only, 1)
{
    expect_trim("  a b \t\n", 2, 3);
    expect_trim("abc", 0, 3);
    expect_trim("", 0, 0);
}

GRADED(utf8, trims_ideographic_and_no_break_spaces, 2)
{
    expect_trim("\xE3\x80\x80title\xE3\x80\x80", 3, 5); /* U+3000 */
    expect_trim("\xC2\xA0title\xC2\xA0", 2, 5);         /* U+00A0 */
    expect_trim("\xE2\x80\xA8\xC2\x85 x", 6, 1);        /* U+2028, U+0085, space */
}

GRADED(utf8, all_white_space_trims_to_nothing, 2)
{
    size_t start = 999, len = 999;
    const char *s = " \xE3\x80\x80\xC2\xA0\t";
    utf8_trim(s, strlen(s), &start, &len);
    cr_assert_eq(len, 0, "expected an all-white-space string to trim to length 0, got %zu", len);
}

GRADED(utf8, keeps_multibyte_characters_at_the_edges, 3)
{
    /* Trimming walks backwards over continuation bytes; a non-space character whose last byte
     * looks like part of a space (U+00E9 ends in A9, U+00A0 ends in A0) must stay. */
    expect_trim("\xC3\xA9", 0, 2);
    expect_trim(" \xF0\x9F\x98\x80 ", 1, 4);
    expect_trim("\xC3\xA0\xC2\xA0", 0, 2);          /* à, then NBSP */
    expect_trim("\xE2\x80\x8Bx\xE2\x80\x8B", 0, 7); /* U+200B is not white space */
}
