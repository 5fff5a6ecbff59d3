/* api_validation.c — black-box tests of the task rules for title, description, status, priority
 * and due_at (API.md "Task" and "Settled details: Task fields").
 *
 * Every bound is tried at the bound and one past it, and lengths are counted in Unicode code
 * points: the multi-byte cases catch a server that counts bytes. The tags, unknown fields, types
 * and JSON-level rules are in api_fields.c. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

/* {"title": "<title>"} posted, 201 expected, the stored title compared with want. */
static void expect_title_stored(const char *title_json, const char *want)
{
    char *body = api_format("{\"title\":\"%s\"}", title_json);
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_task(r, &(struct api_task_want){.title = want});
    tk_response_free(r);
    free(body);
}

static void expect_title_rejected(const char *title_json)
{
    char *body = api_format("{\"title\":\"%s\"}", title_json);
    api_expect_create_rejected(tk_shared(), body, "title");
    free(body);
}

/* A title of n repetitions of unit must be accepted as is. */
static void expect_title_length_ok(const char *unit, size_t n)
{
    char *title = api_repeat(unit, n);
    expect_title_stored(title, title);
    free(title);
}

static void expect_title_length_rejected(const char *unit, size_t n)
{
    char *title = api_repeat(unit, n);
    expect_title_rejected(title);
    free(title);
}

/* ---- title ---- */

GRADED(validation, title_is_trimmed_of_ascii_white_space, 1)
{
    char title[96], json[160];
    tk_unique("trim", title, sizeof title);
    snprintf(json, sizeof json, " \\t %s \\r\\n ", title);
    expect_title_stored(json, title);
}

GRADED(validation, title_is_trimmed_of_unicode_white_space_but_keeps_inner_spaces, 3)
{
    char title[96], json[256], want[160];
    tk_unique("uspace", title, sizeof title);
    /* U+3000 ideographic space and U+00A0 no-break space, raw and escaped, U+2003 em space */
    snprintf(json, sizeof json, "\xe3\x80\x80\\u00a0 %s\xe3\x80\x80x \xe2\x80\x83\\u3000\xc2\xa0",
             title);
    snprintf(want, sizeof want, "%s\xe3\x80\x80x", title);
    expect_title_stored(json, want);
}

GRADED(validation, accepts_title_of_200_ascii_characters, 1)
{
    expect_title_length_ok("a", 200);
}

GRADED(validation, rejects_title_of_201_ascii_characters, 1)
{
    expect_title_length_rejected("a", 201);
}

GRADED(validation, accepts_title_of_200_two_byte_code_points, 2)
{
    expect_title_length_ok("\xc3\xa9", 200); /* é: 400 bytes, 200 characters */
}

GRADED(validation, rejects_title_of_201_two_byte_code_points, 2)
{
    expect_title_length_rejected("\xc3\xa9", 201);
}

GRADED(validation, accepts_title_of_200_emoji, 2)
{
    expect_title_length_ok("\xf0\x9f\x98\x80", 200); /* 😀: 800 bytes, 200 characters */
}

GRADED(validation, rejects_title_of_201_three_byte_code_points, 2)
{
    expect_title_length_rejected("\xe6\x97\xa5", 201); /* 日 */
}

GRADED(validation, title_length_is_counted_after_trimming, 3)
{
    char *core = api_repeat("\xe6\x97\xa5", 200);
    char *json = api_format("   %s \xe3\x80\x80\\t", core);
    expect_title_stored(json, core);
    free(json);
    free(core);
}

GRADED(validation, rejects_a_missing_title, 1)
{
    api_expect_create_rejected(tk_shared(), "{\"description\":\"no title\"}", "title");
}

GRADED_EACH(validation, rejects_an_empty_title, 1, expect_title_rejected, "")

GRADED_EACH(validation, rejects_a_title_of_only_white_space, 2, expect_title_rejected, " \\t\\n ",
            "\xe3\x80\x80\\u00a0\xc2\xa0 \xe2\x80\x83")

/* ---- description ---- */

GRADED(validation, accepts_description_of_5000_code_points, 2)
{
    char title[96];
    char *desc = api_repeat("\xc3\xa9", 5000);
    char *body = api_format("{\"title\":\"%s\",\"description\":\"%s\"}",
                            tk_unique("d5000", title, sizeof title), desc);
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_task(r, &(struct api_task_want){.title = title, .description = desc});
    tk_response_free(r);
    free(body);
    free(desc);
}

GRADED(validation, rejects_description_of_5001_code_points, 2)
{
    char *desc = api_repeat("\xc3\xa9", 5001);
    char *body = api_format("{\"title\":\"d5001\",\"description\":\"%s\"}", desc);
    api_expect_create_rejected(tk_shared(), body, "description");
    free(body);
    free(desc);
}

/* ---- status and priority ---- */

/* A task created with `field` (status or priority) set to value: stored as sent when ok, else
 * rejected naming the field. */
static void expect_enum(const char *field, const char *value, bool ok)
{
    char title[96], body[200];
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"%s\":\"%s\"}",
             tk_unique(field, title, sizeof title), field, value);
    if (!ok) {
        api_expect_create_rejected(tk_shared(), body, field);
        return;
    }
    struct tk_response *r = api_expect_created(tk_shared(), body);
    bool status = strcmp(field, "status") == 0;
    api_expect_task(r, &(struct api_task_want){.title = title,
                                               .status = status ? value : NULL,
                                               .priority = status ? NULL : value});
    tk_response_free(r);
}

static void status_ok(const char *v)
{
    expect_enum("status", v, true);
}

static void status_refused(const char *v)
{
    expect_enum("status", v, false);
}

static void priority_ok(const char *v)
{
    expect_enum("priority", v, true);
}

static void priority_refused(const char *v)
{
    expect_enum("priority", v, false);
}

GRADED_EACH(validation, accepts_every_status, 1, status_ok, "todo", "in_progress", "done")

GRADED_EACH(validation, rejects_an_unknown_status, 1, status_refused, "finished", "DONE",
            "in-progress", "")

GRADED_EACH(validation, accepts_every_priority, 1, priority_ok, "low", "normal", "high")

GRADED_EACH(validation, rejects_an_unknown_priority, 1, priority_refused, "urgent", "High", "")

/* ---- due_at ---- */

static void expect_due_rejected(const char *due_at_json)
{
    char body[256];
    snprintf(body, sizeof body, "{\"title\":\"due\",\"due_at\":%s}", due_at_json);
    api_expect_create_rejected(tk_shared(), body, "due_at");
}

/* Posts the JSON value due_json as due_at: created, with due_at the instant want (NULL: none;
 * an instant, so ".25Z" and ".250000Z" are both fine). With `exact` the text must be want too:
 * the form matters there. */
static void expect_due(const char *due_json, const char *want, bool exact)
{
    char title[96], body[256];
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"due_at\":%s}",
             tk_unique("due", title, sizeof title), due_json);
    struct tk_response *r = api_expect_created(tk_shared(), body);
    api_expect_task(r, &(struct api_task_want){.title = title, .due_at = want});
    if (exact)
        tk_expect_json_str(r, "due_at", want);
    tk_response_free(r);
}

/* Posts due_at and expects exactly want back (a string compare: the form matters here). */
static void expect_due_stored_as(const char *due_at, const char *want)
{
    char json[128];
    snprintf(json, sizeof json, "\"%s\"", due_at);
    expect_due(json, want, true);
}

GRADED(validation, accepts_due_at_in_utc_and_returns_it_unchanged, 1)
{
    expect_due_stored_as("2026-12-01T09:00:00Z", "2026-12-01T09:00:00Z");
}

GRADED(validation, accepts_due_at_null_on_create, 1)
{
    expect_due("null", NULL, false);
}

GRADED(validation, converts_a_positive_offset_to_utc, 2)
{
    expect_due_stored_as("2026-12-01T09:00:00+02:00", "2026-12-01T07:00:00Z");
}

GRADED(validation, converts_a_negative_offset_across_the_new_year, 3)
{
    expect_due_stored_as("2026-12-31T22:30:00-05:30", "2027-01-01T04:00:00Z");
}

GRADED(validation, keeps_fractional_seconds, 2)
{
    /* ".25Z" or ".250000Z": clients must accept both, so compare the instant */
    expect_due("\"2026-12-01T09:00:00.25+01:00\"", "2026-12-01T08:00:00.25Z", false);
}

GRADED(validation, drops_a_zero_fraction_from_due_at, 2)
{
    expect_due_stored_as("2026-12-01T09:00:00.000Z", "2026-12-01T09:00:00Z");
}

GRADED_EACH(validation, rejects_a_date_only_due_at, 2, expect_due_rejected, "\"2026-12-01\"")

GRADED_EACH(validation, rejects_due_at_with_a_space_separator, 2, expect_due_rejected,
            "\"2026-12-01 09:00:00Z\"")

GRADED_EACH(validation, rejects_due_at_without_an_offset, 2, expect_due_rejected,
            "\"2026-12-01T09:00:00\"")

GRADED_EACH(validation, rejects_due_at_with_a_malformed_offset, 2, expect_due_rejected,
            "\"2026-12-01T09:00:00+0200\"", "\"2026-12-01T09:00:00+02\"")

GRADED_EACH(validation, rejects_due_at_that_is_not_a_timestamp, 1, expect_due_rejected,
            "\"tomorrow\"", "\"\"", "20261201")

GRADED_EACH(validation, rejects_due_at_with_out_of_range_fields, 2, expect_due_rejected,
            "\"2026-13-01T09:00:00Z\"", "\"2026-12-01T25:00:00Z\"", "\"2026-12-01T09:61:00Z\"")

GRADED_EACH(validation, rejects_due_at_on_a_day_the_month_does_not_have, 3, expect_due_rejected,
            "\"2026-02-30T09:00:00Z\"", "\"2026-04-31T09:00:00Z\"",
            /* 2027 is not a leap year */ "\"2027-02-29T09:00:00Z\"")

GRADED(validation, accepts_february_29_of_a_leap_year, 2)
{
    expect_due_stored_as("2028-02-29T12:00:00Z", "2028-02-29T12:00:00Z");
}
