/* unit_task.c — the rules of a task and its JSON form (task.h).
 *
 * Bodies are built with cJSON_Parse (or the cJSON API, for long or odd strings) as if
 * json_parse_strict had already accepted them. Each rule of API.md's Task table is tested at its
 * bound and just past it; lengths are in code points, so the bounds are also tested with
 * two- and four-byte characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "field_errors.h"
#include "json.h"
#include "task.h"
#include "testkit.h"

#define T0 INT64_C(1796115600000000) /* 2026-12-01T09:00:00Z in µs */

/* ------------------------------------------------------------------ helpers */

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "test bug: cJSON cannot parse %s", text);
    return j;
}

static struct field_errors *errs_new(void)
{
    struct field_errors *e = field_errors_new();
    cr_assert_not_null(e, "expected field_errors_new to allocate, got NULL");
    return e;
}

/* unit repeated `times` times, between prefix and suffix; caller frees. */
static char *repeat(const char *prefix, const char *unit, size_t times, const char *suffix)
{
    size_t p = strlen(prefix), u = strlen(unit), s = strlen(suffix);
    char *out = malloc(p + u * times + s + 1);
    cr_assert_not_null(out, "test bug: out of memory");
    memcpy(out, prefix, p);
    for (size_t i = 0; i < times; i++)
        memcpy(out + p + i * u, unit, u);
    memcpy(out + p + u * times, suffix, s + 1);
    return out;
}

/* {"title": "t", field: value} — a valid body except for what is being tested. */
static cJSON *body_with(const char *field, const char *value)
{
    cJSON *j = cJSON_CreateObject();
    cr_assert_not_null(j, "test bug: out of memory");
    if (strcmp(field, "title") != 0)
        cJSON_AddStringToObject(j, "title", "t");
    cJSON_AddStringToObject(j, field, value);
    return j;
}

static int create_tree(cJSON *j, struct task *t, struct field_errors *errs)
{
    task_init(t);
    int rc = task_from_json(j, t, errs);
    cJSON_Delete(j);
    return rc;
}

/* Expects the body to make a valid task (which the caller clears). */
static void expect_created_tree(cJSON *j, struct task *t, const char *what)
{
    struct field_errors *errs = errs_new();
    int rc = create_tree(j, t, errs);
    size_t n = field_errors_count(errs);
    field_errors_free(errs);
    cr_assert_eq(rc, 0, "expected %s to be accepted, got %d with %zu field errors", what, rc, n);
    cr_assert_eq(n, 0, "expected no field errors for %s, got %zu", what, n);
}

static void expect_created(const char *text, struct task *t)
{
    expect_created_tree(parse(text), t, text);
}

/* Expects ERR_INVALID with exactly one error, on `field`, and a cleared task. */
static void expect_rejected_tree(cJSON *j, const char *field, const char *what)
{
    struct field_errors *errs = errs_new();
    struct task t;
    int rc = create_tree(j, &t, errs);
    size_t n = field_errors_count(errs);
    int has = field_errors_has(errs, field);
    field_errors_free(errs);
    bool cleared = t.title == NULL && t.description == NULL;
    task_clear(&t);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for %s, got %d", what, rc);
    cr_assert(has, "expected a field error on \"%s\" for %s, got none", field, what);
    cr_assert_eq(n, 1, "expected exactly 1 field error (on \"%s\") for %s, got %zu", field, what,
                 n);
    cr_assert(cleared, "expected the task to be cleared after rejecting %s", what);
}

static void expect_rejected(const char *text, const char *field)
{
    expect_rejected_tree(parse(text), field, text);
}

/* Expects the errors to name exactly these fields (NULL-terminated), one entry each. */
static void expect_errors_exactly(const struct field_errors *errs, const char *const *fields)
{
    size_t n = 0;
    for (; fields[n]; n++)
        cr_assert(field_errors_has(errs, fields[n]), "expected a field error on \"%s\", got none",
                  fields[n]);
    cr_assert_eq(field_errors_count(errs), n, "expected exactly %zu field errors, got %zu", n,
                 field_errors_count(errs));
}

static int patch_from(const char *text, struct task_patch *p, struct field_errors *errs)
{
    cJSON *j = parse(text);
    task_patch_init(p);
    int rc = task_patch_from_json(j, p, errs);
    cJSON_Delete(j);
    return rc;
}

static void expect_patch_rejected(const char *text, const char *field)
{
    struct field_errors *errs = errs_new();
    struct task_patch p;
    int rc = patch_from(text, &p, errs);
    size_t n = field_errors_count(errs);
    int has = field_errors_has(errs, field);
    field_errors_free(errs);
    unsigned fields = p.fields;
    task_patch_clear(&p);
    cr_assert_eq(rc, ERR_INVALID, "expected PATCH %s to be ERR_INVALID, got %d", text, rc);
    cr_assert(has, "expected a field error on \"%s\" for PATCH %s, got none", field, text);
    cr_assert_eq(n, 1, "expected exactly 1 field error for PATCH %s, got %zu", text, n);
    cr_assert_eq(fields, 0, "expected a rejected patch to be cleared, got fields 0x%x", fields);
}

/* ------------------------------------------------------------------ create: the happy paths */

GRADED(task, minimal_body_gets_the_api_defaults, 1)
{
    struct task t;
    expect_created("{\"title\":\"Write the report\"}", &t);
    cr_assert_str_eq(t.title, "Write the report", "expected the title kept, got \"%s\"", t.title);
    cr_assert_not_null(t.description, "expected description \"\" by default, got NULL");
    cr_assert_str_eq(t.description, "", "expected description \"\", got \"%s\"", t.description);
    cr_assert_eq(t.status, TASK_TODO, "expected status todo by default, got %d", t.status);
    cr_assert_eq(t.priority, TASK_NORMAL, "expected priority normal by default, got %d",
                 t.priority);
    cr_assert(!t.has_due, "expected no due_at by default, got one");
    cr_assert_eq(t.ntags, 0, "expected no tags by default, got %zu", t.ntags);
    task_clear(&t);
}

GRADED(task, accepts_every_client_field, 1)
{
    struct task t;
    expect_created(
        "{\"title\":\"Report\",\"description\":\"Q4 numbers\",\"status\":\"in_progress\","
        "\"priority\":\"high\",\"due_at\":\"2026-12-01T10:00:00+01:00\","
        "\"tags\":[\"work\",\"q4\"]}",
        &t);
    cr_assert_str_eq(t.description, "Q4 numbers", "expected the description, got \"%s\"",
                     t.description);
    cr_assert_eq(t.status, TASK_IN_PROGRESS, "expected in_progress, got %d", t.status);
    cr_assert_eq(t.priority, TASK_HIGH, "expected high, got %d", t.priority);
    cr_assert(t.has_due && t.due_at == T0,
              "expected due_at 2026-12-01T09:00:00Z (%lld µs, converted to UTC), got %s%lld",
              (long long)T0, t.has_due ? "" : "none/", (long long)t.due_at);
    cr_assert_eq(t.ntags, 2, "expected 2 tags, got %zu", t.ntags);
    cr_assert_str_eq(t.tags[0], "work", "expected tags[0] \"work\", got \"%s\"", t.tags[0]);
    cr_assert_str_eq(t.tags[1], "q4", "expected tags[1] \"q4\", got \"%s\"", t.tags[1]);
    task_clear(&t);
}

/* ------------------------------------------------------------------ title */

/* body creates a task whose `field` (title or description) is stored as want; `why` says what
 * that shows. */
static void expect_stored(const char *body, const char *field, const char *want, const char *why)
{
    struct task t;
    expect_created(body, &t);
    const char *got = strcmp(field, "title") == 0 ? t.title : t.description;
    cr_assert_str_eq(got, want, "expected %s, got \"%s\"", why, got);
    task_clear(&t);
}

/* A task whose `field` (title or description) is n repetitions of unit: accepted with the
 * field kept exactly as sent when ok, else rejected naming the field. `what` names the case. */
static void expect_field_length(const char *field, const char *unit, size_t n, bool ok,
                                const char *what)
{
    char *s = repeat("", unit, n, "");
    if (ok) {
        struct task t;
        expect_created_tree(body_with(field, s), &t, what);
        const char *got = strcmp(field, "title") == 0 ? t.title : t.description;
        cr_assert_str_eq(got, s, "expected %s kept as sent (%zu bytes), got %zu bytes", what,
                         strlen(s), strlen(got));
        task_clear(&t);
    } else {
        expect_rejected_tree(body_with(field, s), field, what);
    }
    free(s);
}

GRADED(task, requires_a_title_on_create, 1)
{
    expect_rejected("{}", "title");
    expect_rejected("{\"description\":\"no title\"}", "title");
}

GRADED(task, rejects_a_title_that_is_not_a_string, 1)
{
    expect_rejected("{\"title\":42}", "title");
    expect_rejected("{\"title\":true}", "title");
    expect_rejected("{\"title\":[\"a\"]}", "title");
    expect_rejected("{\"title\":{\"a\":1}}", "title");
    expect_rejected("{\"title\":null}", "title");
}

GRADED(task, rejects_an_empty_or_white_space_title, 2)
{
    expect_rejected("{\"title\":\"\"}", "title");
    expect_rejected("{\"title\":\"   \"}", "title");
    expect_rejected("{\"title\":\"\\t\\n\"}", "title");
    expect_rejected("{\"title\":\"\\u3000\\u00a0\\u2003\"}", "title");
}

GRADED(task, trims_the_title_with_unicode_white_space, 2)
{
    expect_stored("{\"title\":\"\\u3000 \\u00a0Plan Q4\\u00a0\\n\\u3000\"}", "title", "Plan Q4",
                  "U+3000, U+00A0 and spaces trimmed from both ends");
    expect_stored("{\"title\":\"a  b\"}", "title", "a  b", "inner white space kept");
}

GRADED(task, accepts_a_title_of_200_code_points, 2)
{
    expect_field_length("title", "x", 200, true, "a 200-character title");
}

GRADED(task, rejects_a_title_over_200_code_points, 2)
{
    expect_field_length("title", "x", 201, false, "a 201-character title");
}

GRADED(task, counts_the_title_in_code_points_not_bytes, 3)
{
    static const char *const units[] = {"\xC3\xA9" /* é */, "\xE2\x82\xAC" /* € */,
                                        "\xF0\x9F\x98\x80" /* 😀 */};
    for (size_t i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "200 × %s", units[i]);
        expect_field_length("title", units[i], 200, true, what);
        snprintf(what, sizeof what, "201 multibyte characters (%s)", units[i]);
        expect_field_length("title", units[i], 201, false, what);
    }
}

GRADED(task, counts_the_title_after_trimming, 2)
{
    /* 200 characters plus white space on both sides: 206 before trimming, 200 after */
    char *s = repeat("\xE3\x80\x80  ", "a", 200, " \xC2\xA0 ");
    struct task t;
    expect_created_tree(body_with("title", s), &t, "200 characters inside white space");
    cr_assert_eq(strlen(t.title), 200, "expected 200 bytes after trimming, got %zu",
                 strlen(t.title));
    task_clear(&t);
    free(s);
}

GRADED(task, rejects_a_title_that_is_not_valid_utf8, 2)
{
    /* json_parse_strict never lets this through; task.c must not count on it blindly */
    expect_rejected_tree(body_with("title", "ab\xC0\xAF"), "title", "an overlong in the title");
}

/* ------------------------------------------------------------------ description */

GRADED(task, accepts_a_description_of_5000_code_points, 2)
{
    expect_field_length("description", "\xC3\xA9", 5000, true, "a 5000-character description");
}

GRADED(task, rejects_a_description_over_5000_code_points, 2)
{
    expect_field_length("description", "\xC3\xA9", 5001, false, "a 5001-character description");
}

GRADED(task, does_not_trim_the_description, 2)
{
    expect_stored("{\"title\":\"t\",\"description\":\"  line one\\n  line two\\n\"}", "description",
                  "  line one\n  line two\n", "the description kept with its white space");
    expect_stored("{\"title\":\"t\",\"description\":\"\"}", "description", "",
                  "an empty description accepted");
}

GRADED(task, rejects_a_description_that_is_not_a_string, 1)
{
    expect_rejected("{\"title\":\"t\",\"description\":5}", "description");
    expect_rejected("{\"title\":\"t\",\"description\":null}", "description");
}

/* ------------------------------------------------------------------ status and priority */

GRADED(task, accepts_each_status_and_priority, 1)
{
    static const char *const st[] = {"todo", "in_progress", "done"};
    static const char *const pr[] = {"low", "normal", "high"};
    for (int i = 0; i < 3; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"title\":\"t\",\"status\":\"%s\",\"priority\":\"%s\"}",
                 st[i], pr[i]);
        struct task t;
        expect_created(body, &t);
        cr_assert_eq((int)t.status, i, "expected status %s (%d), got %d", st[i], i, t.status);
        cr_assert_eq((int)t.priority, i, "expected priority %s (%d), got %d", pr[i], i, t.priority);
        cr_assert_str_eq(task_status_name(t.status), st[i], "expected name %s, got %s", st[i],
                         task_status_name(t.status));
        cr_assert_str_eq(task_priority_name(t.priority), pr[i], "expected name %s, got %s", pr[i],
                         task_priority_name(t.priority));
        task_clear(&t);
    }
}

GRADED(task, rejects_unknown_status_values_exactly, 2)
{
    expect_rejected("{\"title\":\"t\",\"status\":\"TODO\"}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":\"todo \"}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":\"in-progress\"}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":\"\"}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":\"doneX\"}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":1}", "status");
    expect_rejected("{\"title\":\"t\",\"status\":null}", "status");
}

GRADED(task, rejects_unknown_priority_values_exactly, 2)
{
    expect_rejected("{\"title\":\"t\",\"priority\":\"urgent\"}", "priority");
    expect_rejected("{\"title\":\"t\",\"priority\":\"High\"}", "priority");
    expect_rejected("{\"title\":\"t\",\"priority\":\"\"}", "priority");
    expect_rejected("{\"title\":\"t\",\"priority\":2}", "priority");
    expect_rejected("{\"title\":\"t\",\"priority\":null}", "priority");
}

GRADED(task, parses_enum_names_outside_json_too, 1)
{
    enum task_status s = TASK_DONE;
    enum task_priority p = TASK_LOW;
    cr_assert_eq(task_status_parse("in_progress", &s), 0, "expected in_progress to parse");
    cr_assert_eq(s, TASK_IN_PROGRESS, "expected TASK_IN_PROGRESS, got %d", s);
    cr_assert_eq(task_priority_parse("high", &p), 0, "expected high to parse");
    cr_assert_eq(p, TASK_HIGH, "expected TASK_HIGH, got %d", p);
    cr_assert_eq(task_status_parse("nope", &s), ERR_INVALID, "expected ERR_INVALID for nope");
    cr_assert_eq(s, TASK_IN_PROGRESS, "expected *out untouched on failure, got %d", s);
    cr_assert_eq(task_priority_parse("", &p), ERR_INVALID, "expected ERR_INVALID for \"\"");
}

/* ------------------------------------------------------------------ due_at */

GRADED(task, stores_due_at_in_utc, 1)
{
    struct task t;
    expect_created("{\"title\":\"t\",\"due_at\":\"2026-12-01T04:30:00.5-04:30\"}", &t);
    cr_assert(t.has_due, "expected a due_at, got none");
    cr_assert_eq(t.due_at, T0 + 500000, "expected %lld µs, got %lld", (long long)(T0 + 500000),
                 (long long)t.due_at);
    task_clear(&t);
}

GRADED(task, accepts_null_due_at_on_create, 2)
{
    struct task t;
    expect_created("{\"title\":\"t\",\"due_at\":null}", &t);
    cr_assert(!t.has_due, "expected due_at null to mean no due date, got one");
    task_clear(&t);
}

GRADED(task, rejects_due_at_that_is_not_strict_rfc3339, 2)
{
    expect_rejected("{\"title\":\"t\",\"due_at\":\"2026-12-01\"}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":\"2026-12-01 09:00:00Z\"}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":\"2026-12-01T09:00:00\"}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":\"2026-02-29T09:00:00Z\"}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":\"\"}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":1796115600}", "due_at");
    expect_rejected("{\"title\":\"t\",\"due_at\":false}", "due_at");
}

/* ------------------------------------------------------------------ tags */

GRADED(task, accepts_ten_tags, 2)
{
    struct task t;
    expect_created("{\"title\":\"t\",\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
                   "\"i\",\"j\"]}",
                   &t);
    cr_assert_eq(t.ntags, 10, "expected 10 tags, got %zu", t.ntags);
    cr_assert_str_eq(t.tags[9], "j", "expected the tenth tag \"j\", got \"%s\"", t.tags[9]);
    task_clear(&t);
    expect_created("{\"title\":\"t\",\"tags\":[]}", &t);
    cr_assert_eq(t.ntags, 0, "expected no tags from [], got %zu", t.ntags);
    task_clear(&t);
}

GRADED(task, rejects_eleven_tags, 2)
{
    expect_rejected("{\"title\":\"t\",\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
                    "\"i\",\"j\",\"k\"]}",
                    "tags");
}

GRADED(task, counts_tags_as_sent_before_removing_duplicates, 3)
{
    /* eleven entries, one distinct value: the bound applies to the array as sent */
    expect_rejected("{\"title\":\"t\",\"tags\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                    "\"a\",\"a\",\"a\"]}",
                    "tags");
    struct task t;
    expect_created("{\"title\":\"t\",\"tags\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                   "\"a\",\"a\"]}",
                   &t);
    cr_assert_eq(t.ntags, 1, "expected ten copies of one tag to become 1 tag, got %zu", t.ntags);
    task_clear(&t);
}

GRADED(task, removes_duplicate_tags_keeping_first_order, 2)
{
    struct task t;
    expect_created("{\"title\":\"t\",\"tags\":[\"b\",\"a\",\"b\",\"c\",\"a\"]}", &t);
    cr_assert_eq(t.ntags, 3, "expected [b,a,b,c,a] to keep 3 tags, got %zu", t.ntags);
    const char *want[] = {"b", "a", "c"};
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(t.tags[i], want[i],
                         "expected tags[%zu] = \"%s\" (first-seen order), "
                         "got \"%s\"",
                         i, want[i], t.tags[i]);
    task_clear(&t);
}

GRADED(task, accepts_tags_of_1_and_32_characters_of_the_alphabet, 2)
{
    struct task t;
    expect_created("{\"title\":\"t\",\"tags\":[\"x\",\"abcdefghijklmnopqrstuvwxyz012345\","
                   "\"6789_-\"]}",
                   &t);
    cr_assert_eq(t.ntags, 3, "expected 3 tags, got %zu", t.ntags);
    cr_assert_str_eq(t.tags[1], "abcdefghijklmnopqrstuvwxyz012345",
                     "expected the 32-character tag kept, got \"%s\"", t.tags[1]);
    task_clear(&t);
}

GRADED(task, rejects_bad_tags_on_field_tags, 2)
{
    static const char *const bad[] = {
        "[\"abcdefghijklmnopqrstuvwxyz0123456\"]", /* 33 characters */
        "[\"\"]",
        "[\"Work\"]",
        "[\"two words\"]",
        "[\"caf\\u00e9\"]",
        "[\"a.b\"]",
        "[\"ok\",\"BAD\"]",
        "[\"ok\",7]",
        "[null]",
        "\"work\"",
        "{\"a\":\"b\"}",
        "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[160];
        snprintf(body, sizeof body, "{\"title\":\"t\",\"tags\":%s}", bad[i]);
        expect_rejected(body, "tags");
    }
}

GRADED(task, reports_several_bad_tags_as_one_error, 2)
{
    /* expect_rejected checks that there is exactly one entry */
    expect_rejected("{\"title\":\"t\",\"tags\":[\"A\",\"B\",\"\",\"c d\"]}", "tags");
}

GRADED(task, validates_tags_outside_json_too, 1)
{
    cr_assert(task_tag_valid("a-b_c9", 6), "expected a-b_c9 to be a valid tag");
    cr_assert(!task_tag_valid("abc", 0), "expected the empty tag to be invalid");
    cr_assert(task_tag_valid("ab!", 2), "expected only the first n bytes to be checked");
    cr_assert(!task_tag_valid("a\0b", 3), "expected a NUL byte to be invalid");
}

/* ------------------------------------------------------------------ fields that are not ours */

GRADED(task, rejects_unknown_fields, 2)
{
    expect_rejected("{\"title\":\"t\",\"colour\":\"red\"}", "colour");
    expect_rejected("{\"title\":\"t\",\"owner_id\":7}", "owner_id");
    expect_rejected("{\"title\":\"t\",\"Title\":\"x\"}", "Title");
}

GRADED(task, rejects_server_set_fields, 2)
{
    expect_rejected("{\"title\":\"t\",\"id\":1}", "id");
    expect_rejected("{\"title\":\"t\",\"version\":1}", "version");
    expect_rejected("{\"title\":\"t\",\"created_at\":\"2026-12-01T09:00:00Z\"}", "created_at");
    expect_rejected("{\"title\":\"t\",\"updated_at\":\"2026-12-01T09:00:00Z\"}", "updated_at");
}

/* ------------------------------------------------------------------ every error at once */

/* Creating a task from tree (with errs, which may already hold the parser's entries) fails
 * with ERR_INVALID, leaves the task cleared, and errs names exactly `want`. Frees errs. */
static void expect_create_errors(cJSON *tree, struct field_errors *errs, const char *const *want)
{
    struct task t;
    int rc = create_tree(tree, &t, errs);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID, got %d", rc);
    expect_errors_exactly(errs, want);
    cr_assert_null(t.title, "expected the task cleared after errors, got title \"%s\"", t.title);
    field_errors_free(errs);
    task_clear(&t);
}

GRADED(task, reports_every_offending_field, 3)
{
    const char *const want[] = {"title", "description", "status", "priority", "due_at",
                                "tags",  "id",          "zzz",    NULL};
    expect_create_errors(parse("{\"title\":\"  \",\"description\":5,\"status\":\"x\","
                               "\"priority\":1,\"due_at\":\"tomorrow\",\"tags\":[\"A\"],"
                               "\"id\":3,\"zzz\":true}"),
                         errs_new(), want);
}

GRADED(task, reports_a_missing_title_together_with_other_errors, 2)
{
    const char *const want[] = {"title", "status", "extra", NULL};
    expect_create_errors(parse("{\"status\":\"nope\",\"extra\":1}"), errs_new(), want);
}

GRADED(task, adds_nothing_for_a_field_the_parser_already_reported, 3)
{
    /* json_parse_strict reported "title" (say, a NUL escape) and "tags" (a duplicate key) and
     * left stand-in values; task_from_json must not add a second entry for either. */
    struct field_errors *errs = errs_new();
    field_errors_add(errs, "title", "must not contain U+0000");
    field_errors_add(errs, "tags", "is given more than once");
    const char *const want[] = {"title", "tags", "status", NULL};
    expect_create_errors(parse("{\"title\":\"\",\"tags\":[\"BAD\"],\"status\":\"nope\"}"), errs,
                         want);
}

GRADED(task, with_the_strict_parser_each_field_is_reported_once, 3)
{
    /* The real pipeline: json_parse_strict reports the duplicate key and the NUL escape, then
     * task_from_json adds what is left, and no field appears twice. */
    static const char body[] = "{\"title\":\"a\",\"title\":\"\",\"description\":\"x\\u0000y\","
                               "\"status\":\"nope\",\"tags\":[\"ok\"]}";
    struct field_errors *errs = errs_new();
    cJSON *tree = NULL;
    const char *why = NULL;
    int rc = json_parse_strict(body, sizeof body - 1, &tree, errs, &why);
    cr_assert_eq(rc, 0, "expected the body to parse (rule breaks are not syntax), got %d (%s)", rc,
                 why ? why : "");
    const char *const want[] = {"title", "description", "status", NULL};
    expect_create_errors(tree, errs, want);
}

GRADED(task, is_invalid_when_the_parser_found_errors_even_if_the_rest_is_fine, 2)
{
    struct field_errors *errs = errs_new();
    field_errors_add(errs, "description", "must not contain U+0000");
    struct task t;
    int rc = create_tree(parse("{\"title\":\"fine\",\"description\":\"\\ufffd\"}"), &t, errs);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID when errs already holds an entry, got %d",
                 rc);
    cr_assert_eq(field_errors_count(errs), 1, "expected the parser's one entry only, got %zu",
                 field_errors_count(errs));
    cr_assert_null(t.title, "expected the task cleared, got title \"%s\"", t.title);
    field_errors_free(errs);
}

GRADED(task, reports_a_repeated_key_once_in_a_hand_built_tree, 2)
{
    /* cJSON keeps both members; the parser would have flagged this, but task.c must not
     * validate the field twice (or leak the first value) when it has not. */
    expect_rejected("{\"title\":\"a\",\"title\":\"b\"}", "title");
    expect_rejected("{\"title\":\"a\",\"nope\":1,\"nope\":2}", "nope");
}

GRADED(task, rejects_a_body_that_is_not_an_object, 1)
{
    struct field_errors *errs = errs_new();
    struct task t;
    int rc = create_tree(parse("[1,2]"), &t, errs);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for an array body, got %d", rc);
    cr_assert_eq(field_errors_count(errs), 1, "expected one error, got %zu",
                 field_errors_count(errs));
    field_errors_free(errs);
}

/* ------------------------------------------------------------------ PATCH */

/* body is a valid PATCH naming exactly `fields`, read into *p (the caller checks the values and
 * clears it). */
static void expect_patch(const char *body, unsigned fields, struct task_patch *p)
{
    struct field_errors *errs = errs_new();
    int rc = patch_from(body, p, errs);
    cr_assert_eq(rc, 0, "expected PATCH %s to be valid, got %d", body, rc);
    cr_assert_eq(p->fields, fields, "expected PATCH %s to name fields 0x%x, got 0x%x", body, fields,
                 p->fields);
    field_errors_free(errs);
}

GRADED(task, empty_patch_names_no_field, 1)
{
    struct task_patch p;
    expect_patch("{}", 0, &p);
    task_patch_clear(&p);
}

GRADED(task, patch_names_exactly_the_fields_sent, 2)
{
    struct task_patch p;
    expect_patch("{\"status\":\"done\",\"tags\":[\"x\",\"x\"],\"title\":\" New \"}",
                 TASK_F_STATUS | TASK_F_TAGS | TASK_F_TITLE, &p);
    cr_assert_eq(p.values.status, TASK_DONE, "expected status done, got %d", p.values.status);
    cr_assert_str_eq(p.values.title, "New", "expected the trimmed title \"New\", got \"%s\"",
                     p.values.title);
    cr_assert_eq(p.values.ntags, 1, "expected duplicate tags removed (1), got %zu", p.values.ntags);
    task_patch_clear(&p);
}

GRADED(task, patch_null_due_at_clears_it, 2)
{
    struct task_patch p;
    expect_patch("{\"due_at\":null}", TASK_F_DUE_AT, &p);
    cr_assert(!p.values.has_due, "expected the patch to clear due_at, got a value");
    task_patch_clear(&p);
}

GRADED(task, patch_null_for_any_other_field_is_rejected, 2)
{
    expect_patch_rejected("{\"title\":null}", "title");
    expect_patch_rejected("{\"description\":null}", "description");
    expect_patch_rejected("{\"status\":null}", "status");
    expect_patch_rejected("{\"priority\":null}", "priority");
    expect_patch_rejected("{\"tags\":null}", "tags");
}

GRADED(task, patch_reports_every_null_and_every_bad_field, 3)
{
    struct field_errors *errs = errs_new();
    struct task_patch p;
    int rc = patch_from("{\"title\":null,\"tags\":null,\"due_at\":null,\"priority\":\"top\","
                        "\"version\":2,\"x\":0}",
                        &p, errs);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID, got %d", rc);
    const char *const want[] = {"title", "tags", "priority", "version", "x", NULL};
    expect_errors_exactly(errs, want);
    task_patch_clear(&p);
    field_errors_free(errs);
}

GRADED(task, patch_applies_the_same_rules_as_create, 2)
{
    char *long_title = repeat("{\"title\":\"", "\xF0\x9F\x98\x80", 201, "\"}");
    expect_patch_rejected(long_title, "title");
    free(long_title);
    expect_patch_rejected("{\"title\":\"\\u3000\"}", "title");
    expect_patch_rejected("{\"due_at\":\"2026-12-01\"}", "due_at");
    expect_patch_rejected("{\"tags\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\","
                          "\"j\",\"j\"]}",
                          "tags");
    expect_patch_rejected("{\"id\":9}", "id");
    expect_patch_rejected("{\"updated_at\":\"2026-12-01T09:00:00Z\"}", "updated_at");
}

static void make_task(struct task *t)
{
    task_init(t);
    t->id = 42;
    t->title = strdup("Old title");
    t->description = strdup("old description");
    t->status = TASK_TODO;
    t->priority = TASK_LOW;
    t->has_due = true;
    t->due_at = T0;
    snprintf(t->tags[0], sizeof t->tags[0], "%s", "work");
    t->ntags = 1;
    t->version = 3;
    t->created_at = T0 - 1000;
    t->updated_at = T0 - 500;
    cr_assert(t->title && t->description, "test bug: out of memory");
}

GRADED(task, apply_patch_changes_only_the_named_fields, 2)
{
    struct task t;
    make_task(&t);
    struct field_errors *errs = errs_new();
    struct task_patch p;
    int rc = patch_from("{\"title\":\"New title\",\"priority\":\"high\",\"tags\":[\"a\",\"b\"]}",
                        &p, errs);
    cr_assert_eq(rc, 0, "expected the patch to be valid, got %d", rc);
    rc = task_apply_patch(&t, &p);
    cr_assert_eq(rc, 0, "expected task_apply_patch to succeed, got %d", rc);
    cr_assert_str_eq(t.title, "New title", "expected the new title, got \"%s\"", t.title);
    cr_assert_eq(t.priority, TASK_HIGH, "expected priority high, got %d", t.priority);
    cr_assert(t.ntags == 2 && strcmp(t.tags[0], "a") == 0 && strcmp(t.tags[1], "b") == 0,
              "expected tags replaced by [a,b], got %zu tags", t.ntags);
    cr_assert_str_eq(t.description, "old description",
                     "expected the description untouched, "
                     "got \"%s\"",
                     t.description);
    cr_assert_eq(t.status, TASK_TODO, "expected the status untouched, got %d", t.status);
    cr_assert(t.has_due && t.due_at == T0, "expected due_at untouched");
    cr_assert(t.id == 42 && t.version == 3 && t.created_at == T0 - 1000,
              "expected id, version and timestamps untouched (the repository bumps them)");
    task_patch_clear(&p);
    field_errors_free(errs);
    task_clear(&t);
}

GRADED(task, apply_patch_null_due_at_clears_it_and_tags_can_be_emptied, 2)
{
    struct task t;
    make_task(&t);
    struct field_errors *errs = errs_new();
    struct task_patch p;
    int rc = patch_from("{\"due_at\":null,\"tags\":[]}", &p, errs);
    cr_assert_eq(rc, 0, "expected the patch to be valid, got %d", rc);
    cr_assert_eq(task_apply_patch(&t, &p), 0, "expected task_apply_patch to succeed");
    cr_assert(!t.has_due, "expected due_at cleared, got a value");
    cr_assert_eq(t.ntags, 0, "expected tags emptied, got %zu", t.ntags);
    cr_assert_str_eq(t.title, "Old title", "expected the title untouched, got \"%s\"", t.title);
    task_patch_clear(&p);
    field_errors_free(errs);
    task_clear(&t);
}

GRADED(task, apply_empty_patch_changes_nothing, 1)
{
    struct task t;
    make_task(&t);
    struct task_patch p;
    task_patch_init(&p);
    cr_assert_eq(task_apply_patch(&t, &p), 0, "expected an empty patch to apply");
    cr_assert(strcmp(t.title, "Old title") == 0 && t.has_due && t.ntags == 1 &&
                  t.priority == TASK_LOW,
              "expected the task unchanged by an empty patch");
    task_clear(&t);
}

/* ------------------------------------------------------------------ copies */

GRADED(task, copy_is_deep, 1)
{
    struct task a, b;
    make_task(&a);
    make_task(&b); /* b holds strings of its own: task_copy must free them, not leak them */
    cr_assert_eq(task_copy(&b, &a), 0, "expected task_copy to succeed");
    cr_assert(b.title != a.title && b.description != a.description,
              "expected the copy to own new strings, got shared pointers");
    a.title[0] = 'X';
    cr_assert_str_eq(b.title, "Old title", "expected the copy unaffected, got \"%s\"", b.title);
    cr_assert(b.id == 42 && b.ntags == 1 && strcmp(b.tags[0], "work") == 0,
              "expected the scalars and tags copied");
    task_clear(&a);
    task_clear(&b);
}

/* ------------------------------------------------------------------ JSON form */

/* task_to_json(t), which must not fail; the caller deletes it. */
static cJSON *json_of(const struct task *t)
{
    cJSON *j = task_to_json(t);
    cr_assert_not_null(j, "expected a JSON object, got NULL");
    return j;
}

GRADED(task, to_json_has_exactly_the_api_fields_in_order, 2)
{
    struct task t;
    make_task(&t);
    cJSON *j = json_of(&t);
    const char *want[] = {"id",     "title", "description", "status",     "priority",
                          "due_at", "tags",  "version",     "created_at", "updated_at"};
    size_t i = 0;
    for (const cJSON *m = j->child; m; m = m->next, i++) {
        cr_assert_lt(i, 10, "expected 10 members, got more (\"%s\")", m->string);
        cr_assert_str_eq(m->string, want[i], "expected member %zu to be \"%s\", got \"%s\"", i,
                         want[i], m->string);
    }
    cr_assert_eq(i, 10, "expected 10 members, got %zu", i);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "owner_id"),
                   "expected no owner_id in the representation");
    cJSON_Delete(j);
    task_clear(&t);
}

GRADED(task, to_json_renders_values_and_utc_timestamps, 2)
{
    struct task t;
    make_task(&t);
    t.status = TASK_IN_PROGRESS;
    t.due_at = T0 + 250000;
    cJSON *j = json_of(&t);
    char *text = cJSON_PrintUnformatted(j);
    const char *want = "{\"id\":42,\"title\":\"Old title\",\"description\":\"old description\","
                       "\"status\":\"in_progress\",\"priority\":\"low\","
                       "\"due_at\":\"2026-12-01T09:00:00.25Z\",\"tags\":[\"work\"],\"version\":3,"
                       "\"created_at\":\"2026-12-01T08:59:59.999Z\","
                       "\"updated_at\":\"2026-12-01T08:59:59.9995Z\"}";
    cr_assert_str_eq(text, want, "expected\n%s\ngot\n%s", want, text);
    cJSON_free(text);
    cJSON_Delete(j);
    task_clear(&t);
}

GRADED(task, to_json_renders_no_due_date_as_null_and_no_tags_as_empty_array, 2)
{
    struct task t;
    make_task(&t);
    t.has_due = false;
    t.ntags = 0;
    cJSON *j = json_of(&t);
    cJSON *due = cJSON_GetObjectItemCaseSensitive(j, "due_at");
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    cr_assert(cJSON_IsNull(due), "expected due_at null, got another type");
    cr_assert(cJSON_IsArray(tags) && cJSON_GetArraySize(tags) == 0,
              "expected tags [], got something else");
    cJSON_Delete(j);
    task_clear(&t);
}

GRADED(task, a_created_task_renders_what_the_client_sent, 2)
{
    struct task t;
    expect_created("{\"title\":\" \\u00e9t\\u00e9 \",\"tags\":[\"b\",\"a\",\"b\"],"
                   "\"due_at\":\"2026-12-01T10:00:00+01:00\"}",
                   &t);
    cJSON *j = json_of(&t);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "title"));
    cr_assert_str_eq(text, "\"\xC3\xA9t\xC3\xA9\"", "expected the trimmed title \"été\", got %s",
                     text);
    cJSON_free(text);
    text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "tags"));
    cr_assert_str_eq(text, "[\"b\",\"a\"]", "expected tags [\"b\",\"a\"], got %s", text);
    cJSON_free(text);
    cJSON *due = cJSON_GetObjectItemCaseSensitive(j, "due_at");
    cr_assert(cJSON_IsString(due) && strcmp(due->valuestring, "2026-12-01T09:00:00Z") == 0,
              "expected due_at \"2026-12-01T09:00:00Z\" (UTC), got %s",
              cJSON_IsString(due) ? due->valuestring : "a non-string");
    cJSON_Delete(j);
    task_clear(&t);
}
