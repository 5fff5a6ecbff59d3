/* api_fields.c — black-box tests of tags, unknown and server-set fields, JSON types, null,
 * duplicate keys, NUL and lone surrogates, and of PATCH applying the same rules as create
 * (API.md "Task" and "Settled details").
 *
 * A 422 must name every offending field and only those, so most checks here expect the errors
 * to name exactly one field: a server that reports the wrong field fails as surely as one that
 * accepts the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

/* Posts {"title": unique, "tags": tags_json} and returns the 201 response. */
static struct tk_response *create_with_tags(const char *tags_json, char *title, size_t title_len)
{
    char *body = api_format("{\"title\":\"%s\",\"tags\":%s}", tk_unique("tags", title, title_len),
                            tags_json);
    struct tk_response *r = api_expect_created(tk_shared(), body);
    free(body);
    return r;
}

static void expect_tags_rejected(const char *tags_json)
{
    char *body = api_format("{\"title\":\"t\",\"tags\":%s}", tags_json);
    api_expect_create_rejected(tk_shared(), body, "tags");
    free(body);
}

/* ---- tags ---- */

GRADED(validation, accepts_10_tags, 2)
{
    char title[96];
    struct tk_response *r =
        create_with_tags("[\"t0\",\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\",\"t7\",\"t8\",\"t9\"]",
                         title, sizeof title);
    const char *const want[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", NULL};
    api_expect_task(r, &(struct api_task_want){.title = title, .tags = want});
    tk_response_free(r);
}

GRADED(validation, rejects_11_tags, 2)
{
    expect_tags_rejected(
        "[\"t0\",\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\",\"t7\",\"t8\",\"t9\",\"t10\"]");
}

GRADED_EACH(validation, rejects_11_tags_even_when_duplicates_would_leave_fewer, 3,
            expect_tags_rejected,
            "[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]")

GRADED(validation, removes_duplicate_tags_keeping_first_seen_order, 2)
{
    char title[96];
    struct tk_response *r =
        create_with_tags("[\"b\",\"a\",\"b\",\"c\",\"a\"]", title, sizeof title);
    api_expect_task(r, &(struct api_task_want){.title = title,
                                               .tags = (const char *const[]){"b", "a", "c", NULL}});
    tk_response_free(r);
}

GRADED(validation, accepts_a_tag_of_32_characters_from_the_whole_alphabet, 2)
{
    char title[96];
    const char *tag = "abcdefghijklmnopqrstuvwxyz0189_-"; /* 32 */
    char tags[64];
    snprintf(tags, sizeof tags, "[\"%s\",\"7\"]", tag);
    struct tk_response *r = create_with_tags(tags, title, sizeof title);
    api_expect_task(
        r, &(struct api_task_want){.title = title, .tags = (const char *const[]){tag, "7", NULL}});
    tk_response_free(r);
}

GRADED_EACH(validation, rejects_a_tag_of_33_characters, 2, expect_tags_rejected,
            "[\"ok\",\"abcdefghijklmnopqrstuvwxyz0123456\"]")

GRADED_EACH(validation, rejects_an_empty_tag, 2, expect_tags_rejected, "[\"ok\",\"\"]")

GRADED_EACH(validation, rejects_a_tag_with_uppercase_letters, 2, expect_tags_rejected, "[\"Work\"]")

GRADED_EACH(validation, rejects_tags_with_characters_outside_the_alphabet, 1, expect_tags_rejected,
            "[\"a b\"]", "[\"a.b\"]", "[\"caf\xc3\xa9\"]", "[\"a/b\"]")

GRADED_EACH(validation, rejects_tags_that_are_not_an_array_of_strings, 1, expect_tags_rejected,
            "\"work\"", "[\"work\",7]", "{\"work\":true}")

/* ---- unknown and server-set fields ---- */

GRADED(validation, rejects_an_unknown_field_naming_it, 1)
{
    api_expect_create_rejected(tk_shared(), "{\"title\":\"t\",\"colour\":\"red\"}", "colour");
}

GRADED(validation, rejects_every_server_set_field, 2)
{
    const char *bodies[][2] = {
        {"{\"title\":\"t\",\"id\":123}", "id"},
        {"{\"title\":\"t\",\"version\":1}", "version"},
        {"{\"title\":\"t\",\"created_at\":\"2026-01-01T00:00:00Z\"}", "created_at"},
        {"{\"title\":\"t\",\"updated_at\":\"2026-01-01T00:00:00Z\"}", "updated_at"},
    };
    for (size_t i = 0; i < 4; i++)
        api_expect_create_rejected(tk_shared(), bodies[i][0], bodies[i][1]);
}

/* ---- types and null ---- */

GRADED(validation, rejects_wrong_json_types_naming_the_field, 2)
{
    const char *bodies[][2] = {
        {"{\"title\":42}", "title"},
        {"{\"title\":[\"t\"]}", "title"},
        {"{\"title\":\"t\",\"description\":true}", "description"},
        {"{\"title\":\"t\",\"status\":1}", "status"},
        {"{\"title\":\"t\",\"priority\":{}}", "priority"},
        {"{\"title\":\"t\",\"due_at\":1764579600}", "due_at"},
        {"{\"title\":\"t\",\"tags\":\"a\"}", "tags"},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        api_expect_create_rejected(tk_shared(), bodies[i][0], bodies[i][1]);
}

GRADED(validation, rejects_null_for_every_field_but_due_at, 2)
{
    const char *bodies[][2] = {
        {"{\"title\":null}", "title"},
        {"{\"title\":\"t\",\"description\":null}", "description"},
        {"{\"title\":\"t\",\"status\":null}", "status"},
        {"{\"title\":\"t\",\"priority\":null}", "priority"},
        {"{\"title\":\"t\",\"tags\":null}", "tags"},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        api_expect_create_rejected(tk_shared(), bodies[i][0], bodies[i][1]);
}

GRADED(validation, names_every_bad_field_at_once, 3)
{
    struct tk_response *r = tk_post_json(
        tk_shared(), "/tasks",
        "{\"title\":\" \",\"description\":5,\"status\":\"x\",\"priority\":\"y\",\"due_at\":"
        "\"soon\",\"tags\":[\"A\"],\"colour\":1,\"id\":2}");
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(r, (const char *const[]){"title", "description", "status",
                                                            "priority", "due_at", "tags", "colour",
                                                            "id", NULL});
    tk_response_free(r);
}

/* ---- JSON-level rules that are 422, not 400 ---- */

GRADED(validation, rejects_a_key_given_twice, 3)
{
    api_expect_create_rejected(tk_shared(), "{\"title\":\"a\",\"title\":\"b\"}", "title");
    api_expect_create_rejected(
        tk_shared(), "{\"title\":\"a\",\"status\":\"todo\",\"status\":\"done\"}", "status");
}

GRADED(validation, rejects_a_nul_character_in_a_string, 3)
{
    api_expect_create_rejected(tk_shared(), "{\"title\":\"a\\u0000b\"}", "title");
    api_expect_create_rejected(tk_shared(), "{\"title\":\"t\",\"description\":\"x\\u0000\"}",
                               "description");
    api_expect_create_rejected(tk_shared(), "{\"title\":\"t\",\"tags\":[\"a\\u0000\"]}", "tags");
}

GRADED(validation, rejects_a_lone_surrogate_escape, 3)
{
    api_expect_create_rejected(tk_shared(), "{\"title\":\"a\\ud800\"}", "title");
    api_expect_create_rejected(tk_shared(), "{\"title\":\"a\\ud800\\u0041\"}", "title");
    api_expect_create_rejected(tk_shared(), "{\"title\":\"t\",\"description\":\"\\udc00x\"}",
                               "description");
}

/* ---- PATCH follows the same rules ---- */

/* PATCHes json onto task id and expects 422 naming exactly field. */
static void expect_patch_rejected(long long id, const char *json, const char *field)
{
    char path[64];
    struct tk_response *r = tk_patch_json(tk_shared(), api_task_path(id, path, sizeof path), json);
    api_expect_invalid_only(r, field);
    tk_response_free(r);
}

GRADED(validation, patch_applies_the_create_rules, 2)
{
    long long id = api_new_task(tk_shared());
    char *long_title = api_repeat("\xc3\xa9", 201);
    char *json = api_format("{\"title\":\"%s\"}", long_title);
    expect_patch_rejected(id, json, "title");
    expect_patch_rejected(id, "{\"title\":\" \\u3000\"}", "title");
    expect_patch_rejected(id, "{\"status\":\"finished\"}", "status");
    expect_patch_rejected(id, "{\"priority\":\"urgent\"}", "priority");
    expect_patch_rejected(id, "{\"due_at\":\"2026-12-01\"}", "due_at");
    expect_patch_rejected(id, "{\"tags\":[\"Bad\"]}", "tags");
    expect_patch_rejected(
        id, "{\"tags\":[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
        "tags");
    free(json);
    free(long_title);
}

GRADED(validation, patch_rejects_null_for_every_field_but_due_at, 2)
{
    long long id = api_new_task(tk_shared());
    const char *fields[] = {"title", "description", "status", "priority", "tags"};
    for (size_t i = 0; i < 5; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"%s\":null}", fields[i]);
        expect_patch_rejected(id, json, fields[i]);
    }
}

GRADED(validation, patch_rejects_unknown_and_server_set_fields, 2)
{
    long long id = api_new_task(tk_shared());
    expect_patch_rejected(id, "{\"colour\":\"red\"}", "colour");
    expect_patch_rejected(id, "{\"id\":1}", "id");
    expect_patch_rejected(id, "{\"version\":7}", "version");
    expect_patch_rejected(id, "{\"created_at\":\"2026-01-01T00:00:00Z\"}", "created_at");
    expect_patch_rejected(id, "{\"updated_at\":\"2026-01-01T00:00:00Z\"}", "updated_at");
}

GRADED(validation, rejected_patch_changes_nothing, 3)
{
    char path[64];
    struct tk_response *before = api_new_task_read(tk_shared(), path, sizeof path);
    /* a valid field next to an invalid one: the whole patch must be refused */
    struct tk_response *r =
        tk_patch_json(tk_shared(), path, "{\"description\":\"changed\",\"status\":\"nope\"}");
    api_expect_invalid_only(r, "status");
    tk_response_free(r);
    r = tk_get(tk_shared(), path);
    tk_expect_status(r, 200);
    tk_expect_header(r, "ETag", "\"1\"");
    cr_assert(r->json && cJSON_Compare(r->json, before->json, true),
              "%s: expected the task unchanged after a rejected PATCH (%s), got %s", r->what,
              before->body, r->body);
    tk_response_free(r);
    tk_response_free(before);
}

GRADED(validation, patch_names_every_bad_field_at_once, 2)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    struct tk_response *r =
        tk_patch_json(tk_shared(), api_task_path(id, path, sizeof path),
                      "{\"title\":\"\",\"priority\":\"x\",\"tags\":[\"\"],\"due_at\":1}");
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(
        r, (const char *const[]){"title", "priority", "tags", "due_at", NULL});
    tk_response_free(r);
}
