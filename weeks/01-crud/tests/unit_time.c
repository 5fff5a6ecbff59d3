/* unit_time.c — RFC 3339 parsing and formatting, and the replaceable clock (timeutil.h).
 *
 * Timestamps are where "almost right" hides: a leap day, an offset that crosses midnight or a
 * year boundary, a fraction with trailing zeros. Each rejection API.md settles has its own test,
 * and the calendar maths is checked day by day against a counter that knows nothing about it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "testkit.h"
#include "timeutil.h"

#define US     INT64_C(1000000)
#define MIN_US (INT64_C(-62135596800) * US)          /* 0001-01-01T00:00:00Z */
#define MAX_US (INT64_C(253402300799) * US + 999999) /* 9999-12-31T23:59:59.999999Z */

static int parse(const char *s, int64_t *us, const char **why)
{
    return rfc3339_parse(s, strlen(s), us, why);
}

static void expect_parses_to(const char *s, int64_t want)
{
    int64_t got = INT64_MIN;
    const char *why = NULL;
    int rc = parse(s, &got, &why);
    cr_assert_eq(rc, 0, "expected \"%s\" to parse, got %d (%s)", s, rc, why ? why : "no reason");
    cr_assert_eq(got, want, "expected \"%s\" to be %lld µs, got %lld", s, (long long)want,
                 (long long)got);
}

static void expect_rejected(const char *s)
{
    int64_t got = 12345;
    const char *why = NULL;
    int rc = parse(s, &got, &why);
    cr_assert_eq(rc, ERR_INVALID, "expected \"%s\" to be rejected with ERR_INVALID, got %d", s, rc);
    cr_assert_not_null(why, "expected a reason for rejecting \"%s\", got NULL", s);
    cr_assert_eq(got, 12345, "expected the output untouched when \"%s\" is rejected, got %lld", s,
                 (long long)got);
}

static void expect_formats_to(int64_t us, const char *want)
{
    char out[RFC3339_MAX];
    int rc = rfc3339_format(us, out, sizeof out);
    cr_assert_eq(rc, 0, "expected %lld µs to format, got %d", (long long)us, rc);
    cr_assert_str_eq(out, want, "expected %lld µs as \"%s\", got \"%s\"", (long long)us, want, out);
}

/* ------------------------------------------------------------------ accepted forms */

GRADED(time, parses_utc_with_z, 1)
{
    expect_parses_to("1970-01-01T00:00:00Z", 0);
    expect_parses_to("2026-12-01T09:00:00Z", INT64_C(1796115600) * US);
}

GRADED(time, accepts_lower_case_t_and_z, 1)
{
    expect_parses_to("2026-12-01t09:00:00z", INT64_C(1796115600) * US);
}

GRADED(time, converts_positive_and_negative_offsets_to_utc, 2)
{
    expect_parses_to("2026-12-01T10:00:00+01:00", INT64_C(1796115600) * US);
    expect_parses_to("2026-12-01T04:30:00-04:30", INT64_C(1796115600) * US);
    expect_parses_to("2026-12-01T09:00:00+00:00", INT64_C(1796115600) * US);
    expect_parses_to("2026-12-01T09:00:00-00:00", INT64_C(1796115600) * US);
}

GRADED(time, offset_crossing_midnight_and_year_changes_the_date, 2)
{
    /* 2026-01-01T00:30+01:00 is still 2025 in UTC */
    expect_parses_to("2026-01-01T00:30:00+01:00", (INT64_C(1767225600) - 1800) * US);
    expect_parses_to("2025-12-31T23:30:00-01:00", (INT64_C(1767225600) + 1800) * US);
}

GRADED(time, accepts_the_extreme_offsets, 2)
{
    expect_parses_to("2026-12-01T09:00:00+23:59", (INT64_C(1796115600) - 86340) * US);
    expect_parses_to("2026-12-01T09:00:00-23:59", (INT64_C(1796115600) + 86340) * US);
}

GRADED(time, scales_fractions_of_one_to_six_digits, 2)
{
    expect_parses_to("1970-01-01T00:00:00.5Z", 500000);
    expect_parses_to("1970-01-01T00:00:00.25Z", 250000);
    expect_parses_to("1970-01-01T00:00:00.000001Z", 1);
    expect_parses_to("1970-01-01T00:00:00.123456Z", 123456);
    expect_parses_to("1970-01-01T00:00:00.000000Z", 0);
    expect_parses_to("2026-12-01T10:00:00.25+01:00", INT64_C(1796115600) * US + 250000);
}

GRADED(time, handles_times_before_1970, 2)
{
    expect_parses_to("1969-12-31T23:59:59.999999Z", -1);
    expect_parses_to("1969-12-31T00:00:00Z", -86400 * US);
}

GRADED(time, accepts_leap_days_of_leap_years_only, 2)
{
    expect_parses_to("2024-02-29T12:00:00Z", INT64_C(1709208000) * US);
    expect_parses_to("2000-02-29T00:00:00Z", INT64_C(951782400) * US);
    expect_rejected("2026-02-29T00:00:00Z");
    expect_rejected("1900-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
    expect_rejected("2100-02-29T00:00:00Z");
}

GRADED(time, accepts_the_first_and_last_representable_instants, 2)
{
    expect_parses_to("0001-01-01T00:00:00Z", MIN_US);
    expect_parses_to("9999-12-31T23:59:59.999999Z", MAX_US);
    /* local year 0000 or 10000 is fine when UTC lands inside 0001..9999 */
    expect_parses_to("0000-12-31T23:00:00-01:00", MIN_US);
    expect_parses_to("9999-12-31T22:59:59.999999-01:00", MAX_US);
}

/* ------------------------------------------------------------------ rejections */

GRADED_EACH(time, rejects_a_date_without_a_time, 1, expect_rejected, "2026-12-01")

GRADED_EACH(time, rejects_a_space_between_date_and_time, 1, expect_rejected, "2026-12-01 09:00:00Z")

GRADED_EACH(time, rejects_a_missing_offset, 1, expect_rejected, "2026-12-01T09:00:00",
            "2026-12-01T09:00:00.5")

GRADED_EACH(time, rejects_leap_second_60, 2, expect_rejected, "2016-12-31T23:59:60Z")

GRADED_EACH(time, rejects_impossible_dates_and_times, 2, expect_rejected, "2026-04-31T00:00:00Z",
            "2026-01-32T00:00:00Z", "2026-01-00T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T23:60:00Z")

GRADED_EACH(time, rejects_offsets_beyond_23_59, 2, expect_rejected, "2026-12-01T09:00:00+24:00",
            "2026-12-01T09:00:00-24:00", "2026-12-01T09:00:00+23:60", "2026-12-01T09:00:00+99:99")

GRADED_EACH(time, rejects_offsets_not_written_as_hh_colon_mm, 2, expect_rejected,
            "2026-12-01T09:00:00+0100", "2026-12-01T09:00:00+01", "2026-12-01T09:00:00+1:00",
            "2026-12-01T09:00:00 +01:00", "2026-12-01T09:00:00UTC")

GRADED_EACH(time, rejects_years_outside_0001_9999_after_conversion_to_utc, 3, expect_rejected,
            "0000-01-01T00:00:00Z", /* 0000-12-31T23:30Z */ "0001-01-01T00:30:00+01:00",
            /* 10000-01-01T00:30Z */ "9999-12-31T23:30:00-01:00")

GRADED_EACH(time, rejects_more_than_six_fraction_digits_or_none, 2, expect_rejected,
            "2026-12-01T09:00:00.1234567Z", "2026-12-01T09:00:00.Z", "2026-12-01T09:00:00,5Z")

GRADED_EACH(time, rejects_other_malformed_shapes, 2, expect_rejected, "", "2026-12-1T09:00:00Z",
            "26-12-01T09:00:00Z", "+2026-12-01T09:00:00Z", " 2026-12-01T09:00:00Z",
            "2026-12-01T09:00:00Z ", "2026-12-01T09:00:00ZZ", "2026-12-01T09:00Z",
            "2026-12-01T9:00:00Z", "2026/12/01T09:00:00Z", "2026-12-01X09:00:00Z",
            /* a full-width digit is not a digit */ "２026-12-01T09:00:00Z")

GRADED(time, reads_only_the_n_bytes_it_is_given, 2)
{
    const char *s = "2026-12-01T09:00:00Z";
    int64_t us = 0;
    const char *why = NULL;
    int rc = rfc3339_parse(s, 19, &us, &why); /* the Z is outside the span */
    cr_assert_eq(rc, ERR_INVALID, "expected the first 19 bytes (no offset) to be rejected, got %d",
                 rc);
    const char with_nul[] = "2026-12-01T09:00:00Z\0junk";
    rc = rfc3339_parse(with_nul, sizeof with_nul - 1, &us, &why);
    cr_assert_eq(rc, ERR_INVALID,
                 "expected a NUL and bytes after the offset to be rejected, got %d", rc);
}

/* ------------------------------------------------------------------ formatting */

GRADED(time, formats_utc_with_z_and_no_fraction_when_zero, 1)
{
    expect_formats_to(0, "1970-01-01T00:00:00Z");
    expect_formats_to(INT64_C(1796115600) * US, "2026-12-01T09:00:00Z");
}

GRADED(time, formats_fractions_without_trailing_zeros, 2)
{
    expect_formats_to(500000, "1970-01-01T00:00:00.5Z");
    expect_formats_to(120000, "1970-01-01T00:00:00.12Z");
    expect_formats_to(123456, "1970-01-01T00:00:00.123456Z");
    expect_formats_to(1, "1970-01-01T00:00:00.000001Z");
    expect_formats_to(100, "1970-01-01T00:00:00.0001Z");
}

GRADED(time, formats_instants_before_1970, 2)
{
    expect_formats_to(-1, "1969-12-31T23:59:59.999999Z");
    expect_formats_to(-500000, "1969-12-31T23:59:59.5Z");
    expect_formats_to(-86400 * US, "1969-12-31T00:00:00Z");
}

GRADED(time, formats_leap_days_and_the_range_ends, 2)
{
    expect_formats_to(INT64_C(1709208000) * US, "2024-02-29T12:00:00Z");
    expect_formats_to(MIN_US, "0001-01-01T00:00:00Z");
    expect_formats_to(MAX_US, "9999-12-31T23:59:59.999999Z");
}

GRADED(time, refuses_to_format_outside_the_range, 2)
{
    char out[RFC3339_MAX] = "x";
    int rc = rfc3339_format(MIN_US - 1, out, sizeof out);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for one µs before year 1, got %d", rc);
    rc = rfc3339_format(MAX_US + 1, out, sizeof out);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for one µs after year 9999, got %d", rc);
    rc = rfc3339_format(INT64_MIN, out, sizeof out);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for INT64_MIN, got %d", rc);
}

GRADED(time, never_writes_past_out_len, 2)
{
    char out[RFC3339_MAX + 4];
    memset(out, '#', sizeof out);
    int rc = rfc3339_format(MAX_US, out, RFC3339_MAX);
    cr_assert_eq(rc, 0, "expected the longest timestamp to fit RFC3339_MAX bytes, got %d", rc);
    cr_assert_eq(out[RFC3339_MAX], '#', "expected nothing written past RFC3339_MAX bytes");
    rc = rfc3339_format(MAX_US, out, RFC3339_MAX - 1);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID when one byte short, got %d", rc);
    rc = rfc3339_format(0, out, 21); /* "1970-01-01T00:00:00Z" + NUL */
    cr_assert_eq(rc, 0, "expected 21 bytes to be enough for a whole second, got %d", rc);
    rc = rfc3339_format(0, out, 20);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID with no room for the NUL, got %d", rc);
}

/* ------------------------------------------------------------------ round trips */

GRADED(time, format_then_parse_round_trips_across_the_whole_range, 3)
{
    uint64_t x = 88172645463325252u; /* xorshift: reproducible, no libc rand() */
    uint64_t span = (uint64_t)(MAX_US - MIN_US) + 1;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t us = MIN_US + (int64_t)(x % span);
        if (i % 4 == 1)
            us -= us % US; /* whole seconds too */
        char text[RFC3339_MAX];
        int rc = rfc3339_format(us, text, sizeof text);
        cr_assert_eq(rc, 0, "expected %lld to format, got %d", (long long)us, rc);
        int64_t back = 0;
        rc = rfc3339_parse(text, strlen(text), &back, NULL);
        cr_assert_eq(rc, 0, "expected \"%s\" (from %lld) to parse back, got %d", text,
                     (long long)us, rc);
        cr_assert_eq(back, us, "expected \"%s\" to parse back to %lld, got %lld", text,
                     (long long)us, (long long)back);
    }
}

GRADED(time, parse_then_format_gives_the_canonical_utc_form, 2)
{
    static const char *const cases[][2] = {
        {"2026-12-01T10:00:00.250+01:00", "2026-12-01T09:00:00.25Z"},
        {"2026-12-01t09:00:00z", "2026-12-01T09:00:00Z"},
        {"2026-12-01T09:00:00.000000Z", "2026-12-01T09:00:00Z"},
        {"2024-03-01T00:59:59.9+01:00", "2024-02-29T23:59:59.9Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t us = 0;
        int rc = parse(cases[i][0], &us, NULL);
        cr_assert_eq(rc, 0, "expected \"%s\" to parse, got %d", cases[i][0], rc);
        expect_formats_to(us, cases[i][1]);
    }
}

/* Walks every day from 1600 to 2400 with a plain y/m/d counter and checks that each midnight is
 * exactly one day after the previous one: this checks the calendar maths without repeating it. */
GRADED(time, every_day_from_1600_to_2400_is_one_day_after_the_last, 3)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t want = INT64_C(-135140) * 86400 * US; /* 1600-01-01 */
    for (int y = 1600; y < 2400; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int last = mdays[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= last; d++, want += 86400 * US) {
                char text[48];
                snprintf(text, sizeof text, "%04d-%02d-%02dT00:00:00Z", y, m, d);
                int64_t got = 0;
                int rc = parse(text, &got, NULL);
                cr_assert_eq(rc, 0, "expected \"%s\" to parse, got %d", text, rc);
                cr_assert_eq(got, want, "expected \"%s\" to be %lld µs, got %lld", text,
                             (long long)want, (long long)got);
            }
            char past[48]; /* and the day after the last one does not exist */
            snprintf(past, sizeof past, "%04d-%02d-%02dT00:00:00Z", y, m, last + 1);
            int64_t ignored;
            cr_assert_eq(parse(past, &ignored, NULL), ERR_INVALID,
                         "expected \"%s\" to be rejected as a day that does not exist", past);
        }
    }
}

/* ------------------------------------------------------------------ the clock */

static int64_t frozen(void)
{
    return INT64_C(1796115600) * US;
}

GRADED(time, clock_can_be_frozen_and_restored, 1)
{
    clock_set(frozen);
    int64_t now = clock_now_us();
    cr_assert_eq(now, frozen(), "expected the frozen clock's %lld, got %lld", (long long)frozen(),
                 (long long)now);
    clock_set(NULL);
    int64_t real = clock_now_us();
    int64_t wall = (int64_t)time(NULL) * US;
    cr_assert(real > wall - 5 * US && real < wall + 5 * US,
              "expected the real clock near time(NULL) = %lld µs, got %lld", (long long)wall,
              (long long)real);
}
