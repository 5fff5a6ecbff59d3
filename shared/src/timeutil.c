/* timeutil.c — RFC 3339 strings in and out, and the service's replaceable clock (timeutil.h).
 *
 * Timestamps cross the API as text and live inside as int64 microseconds since the epoch (UTC).
 * We parse by hand instead of using strptime/timegm: those follow the locale and TZ, accept far
 * more than RFC 3339 allows (a space separator, no offset, second 60), and timegm is not standard
 * C. The calendar maths is Howard Hinnant's days_from_civil / civil_from_days: pure integer
 * arithmetic over the proleptic Gregorian calendar, so a timestamp means the same thing on every
 * machine, and the round trip text → µs → text is exact. */
#include "timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "err.h"

#define US_PER_SEC  INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
#define FRAC_DIGITS 6 /* microseconds: the precision we keep */

/* Days from 1970-01-01 to y-m-d (m 1..12, d 1..31) in the proleptic Gregorian calendar. The year
 * is shifted to start in March, so the leap day is the last day of the "year" and month lengths
 * follow a regular 153-days-per-5-months pattern; an era is the 400-year cycle (146097 days). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);                       /* [0, 399] */
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse: the date of day z counted from 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);                          /* [0, 146096] */
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    const unsigned mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* The representable range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
static int64_t min_us(void)
{
    return days_from_civil(1, 1, 1) * SEC_PER_DAY * US_PER_SEC;
}

static int64_t max_us(void)
{
    return (days_from_civil(9999, 12, 31) + 1) * SEC_PER_DAY * US_PER_SEC - 1;
}

/* Floor division: -1 µs is 1969-12-31T23:59:59.999999Z, so we must round towards -infinity. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ------------------------------------------------------------------ parsing */

struct scanner {
    const char *s;
    size_t n, i;
};

/* Reads exactly `width` ASCII digits (no sign, no spaces: isdigit would follow the locale). */
static bool read_digits(struct scanner *c, int width, int *out)
{
    int v = 0;
    for (int k = 0; k < width; k++, c->i++) {
        if (c->i >= c->n || c->s[c->i] < '0' || c->s[c->i] > '9')
            return false;
        v = v * 10 + (c->s[c->i] - '0');
    }
    *out = v;
    return true;
}

static bool read_char(struct scanner *c, char want)
{
    if (c->i >= c->n || c->s[c->i] != want)
        return false;
    c->i++;
    return true;
}

static int reject(const char **why, const char *text)
{
    *why = text;
    return ERR_INVALID;
}

int rfc3339_parse(const char *s, size_t n, int64_t *us_out, const char **why)
{
    const char *ignored;
    if (!why)
        why = &ignored;
    *why = NULL;
    if (!s)
        return reject(why, "is missing");

    struct scanner c = {s, n, 0};
    int year, month, day, hour, minute, second;
    if (!read_digits(&c, 4, &year) || !read_char(&c, '-') || !read_digits(&c, 2, &month) ||
        !read_char(&c, '-') || !read_digits(&c, 2, &day))
        return reject(why, "must start with a date YYYY-MM-DD");
    if (c.i == n)
        return reject(why, "needs a time after the date, e.g. 2026-12-01T09:00:00Z");
    if (s[c.i] == ' ')
        return reject(why, "must separate date and time with 'T', not a space");
    if (s[c.i] != 'T' && s[c.i] != 't')
        return reject(why, "must have 'T' between the date and the time");
    c.i++;
    if (!read_digits(&c, 2, &hour) || !read_char(&c, ':') || !read_digits(&c, 2, &minute) ||
        !read_char(&c, ':') || !read_digits(&c, 2, &second))
        return reject(why, "must have a time HH:MM:SS after the 'T'");

    /* Fraction: 1..6 digits, scaled to microseconds (".5" is 500000 µs). */
    int64_t frac_us = 0;
    if (c.i < n && s[c.i] == '.') {
        c.i++;
        int digits = 0;
        while (c.i < n && s[c.i] >= '0' && s[c.i] <= '9') {
            if (++digits > FRAC_DIGITS)
                return reject(why, "must have at most 6 digits after the decimal point");
            frac_us = frac_us * 10 + (s[c.i++] - '0');
        }
        if (digits == 0)
            return reject(why, "must have a digit after the decimal point");
        for (int k = digits; k < FRAC_DIGITS; k++)
            frac_us *= 10;
    }

    /* Offset: Z, or ±HH:MM meaning "local time = UTC + offset". */
    int offset_sec = 0;
    if (c.i == n)
        return reject(why, "needs a time zone: Z or an offset like +01:00");
    if (s[c.i] == 'Z' || s[c.i] == 'z') {
        c.i++;
    } else if (s[c.i] == '+' || s[c.i] == '-') {
        int sign = s[c.i++] == '-' ? -1 : 1;
        int oh, om;
        if (!read_digits(&c, 2, &oh) || !read_char(&c, ':') || !read_digits(&c, 2, &om))
            return reject(why, "must have an offset of the form +HH:MM or -HH:MM");
        if (oh > 23 || om > 59)
            return reject(why, "must have an offset between -23:59 and +23:59");
        offset_sec = sign * (oh * 3600 + om * 60);
    } else {
        return reject(why, "needs a time zone: Z or an offset like +01:00");
    }
    if (c.i != n)
        return reject(why, "has unexpected characters after the time zone");

    if (month < 1 || month > 12)
        return reject(why, "has a month outside 01..12");
    if (day < 1 || (unsigned)day > days_in_month(year, (unsigned)month))
        return reject(why, "has a day that does not exist in that month");
    if (hour > 23 || minute > 59)
        return reject(why, "has an hour or minute out of range");
    if (second > 59)
        return reject(why, "has a second outside 00..59 (leap seconds are not accepted)");

    /* The fields are all small, so none of this can overflow int64. */
    int64_t secs = days_from_civil(year, (unsigned)month, (unsigned)day) * SEC_PER_DAY +
                   (int64_t)hour * 3600 + (int64_t)minute * 60 + second - offset_sec;
    int64_t us = secs * US_PER_SEC + frac_us;
    if (us < min_us() || us > max_us())
        return reject(why, "must be within the years 0001..9999 in UTC");
    *us_out = us;
    return 0;
}

/* ------------------------------------------------------------------ formatting */

int rfc3339_format(int64_t us, char *out, size_t out_len)
{
    if (!out || out_len == 0)
        return ERR_INVALID;
    out[0] = '\0';
    if (us < min_us() || us > max_us())
        return ERR_INVALID;

    int64_t secs = floor_div(us, US_PER_SEC);
    int64_t frac = us - secs * US_PER_SEC; /* [0, 999999] */
    int64_t days = floor_div(secs, SEC_PER_DAY);
    int64_t sod = secs - days * SEC_PER_DAY; /* second of the day, [0, 86399] */
    int64_t year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);

    /* ".123456", then drop trailing zeros: 500000 µs is ".5", not ".500000". */
    char frac_text[FRAC_DIGITS + 2] = "";
    if (frac != 0) {
        frac_text[0] = '.';
        for (int k = FRAC_DIGITS; k >= 1; k--) {
            frac_text[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int end = FRAC_DIGITS;
        while (frac_text[end] == '0')
            end--;
        frac_text[end + 1] = '\0';
    }

    int w = snprintf(out, out_len, "%04lld-%02u-%02uT%02d:%02d:%02d%sZ", (long long)year, month,
                     day, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), frac_text);
    if (w < 0 || (size_t)w >= out_len) {
        out[0] = '\0';
        return ERR_INVALID;
    }
    return 0;
}

/* ------------------------------------------------------------------ the clock */

static int64_t real_clock_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0; /* cannot happen with CLOCK_REALTIME on Linux */
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static int64_t (*clock_fn)(void) = real_clock_us;

int64_t clock_now_us(void)
{
    return clock_fn();
}

void clock_set(int64_t (*now_us)(void))
{
    clock_fn = now_us ? now_us : real_clock_us;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail on Linux */
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

struct timespec clock_mono_timespec(int64_t us)
{
    return (struct timespec){.tv_sec = (time_t)(us / US_PER_SEC),
                             .tv_nsec = (long)(us % US_PER_SEC) * 1000};
}

int clock_mono_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return ERR_NOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc == 0 ? 0 : ERR_NOMEM;
}
