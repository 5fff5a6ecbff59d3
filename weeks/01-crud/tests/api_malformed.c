/* api_malformed.c — black-box tests of bodies that are not a JSON object: 400 problem
 * (API.md "Status codes" and "Settled details: Bodies and errors").
 *
 * Several cases are built so that a lenient parser would get further and answer 422 (a nested
 * array where tags go, a BOM before a valid object): only a server that really refuses the
 * malformed input answers 400. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "testkit.h"

static void expect_malformed(const char *body)
{
    api_expect_create_malformed(tk_shared(), body, strlen(body));
}

/* {"title":"t","tags": <depth nested arrays> } */
static char *nested_tags(size_t depth)
{
    char *open = api_repeat("[", depth);
    char *close = api_repeat("]", depth);
    char *body = api_format("{\"title\":\"t\",\"tags\":%s%s}", open, close);
    free(open);
    free(close);
    return body;
}

GRADED_EACH(malformed, rejects_a_body_that_is_not_json, 1, expect_malformed, "hello", "title=x")

GRADED_EACH(malformed, rejects_truncated_json, 1, expect_malformed, "{\"title\":\"x\"",
            "{\"title\":\"x", "{\"title\":")

GRADED_EACH(malformed, rejects_an_empty_or_blank_body, 1, expect_malformed, "", "  \r\n ")

GRADED_EACH(malformed, rejects_a_json_array_body, 1, expect_malformed, "[]", "[{\"title\":\"x\"}]")

GRADED_EACH(malformed, rejects_json_scalars_as_the_body, 1, expect_malformed, "\"a title\"", "42",
            "true", "null")

GRADED_EACH(malformed, rejects_trailing_data_after_the_object, 2, expect_malformed,
            "{\"title\":\"x\"} x", "{\"title\":\"x\"}{\"title\":\"y\"}")

GRADED_EACH(malformed, rejects_javascript_extensions, 2, expect_malformed, "{\"title\":\"x\",}",
            "{'title':'x'}", "{title:\"x\"}", "{\"title\":\"x\" /* note */}")

GRADED_EACH(malformed, rejects_raw_control_characters_and_bad_escapes_in_strings, 2,
            expect_malformed, "{\"title\":\"a\tb\"}", "{\"title\":\"a\nb\"}",
            "{\"title\":\"a\\x41\"}", "{\"title\":\"a\\u12\"}")

GRADED_EACH(malformed, rejects_invalid_utf8_bytes, 2, expect_malformed, "{\"title\":\"\xff\xfe\"}",
            /* Latin-1 é */ "{\"title\":\"caf\xe9\"}")

GRADED_EACH(malformed, rejects_overlong_and_truncated_utf8_sequences, 3, expect_malformed,
            /* overlong "/" */ "{\"title\":\"\xc0\xaf\"}",
            /* overlong, three bytes */ "{\"title\":\"\xe0\x80\xaf\"}",
            /* 日 cut short */ "{\"title\":\"a\xe6\x97\"}",
            /* past U+10FFFF */ "{\"title\":\"\xf4\x90\x80\x80\"}")

GRADED_EACH(malformed, rejects_utf8_encoded_surrogates, 3, expect_malformed,
            /* U+D800 as CESU-8 bytes */ "{\"title\":\"a\xed\xa0\x80z\"}")

GRADED_EACH(malformed, rejects_a_byte_order_mark_before_the_object, 2, expect_malformed,
            "\xef\xbb\xbf{\"title\":\"x\"}")

GRADED_EACH(malformed, rejects_nan_and_infinity, 2, expect_malformed,
            "{\"title\":\"x\",\"priority\":NaN}", "{\"title\":\"x\",\"priority\":Infinity}",
            "{\"title\":\"x\",\"priority\":-Infinity}")

GRADED(malformed, rejects_nesting_deeper_than_the_limit, 3)
{
    char *body = nested_tags(40);
    expect_malformed(body);
    free(body);
    body = nested_tags(1000);
    expect_malformed(body);
    free(body);
}

GRADED(malformed, shallow_nesting_is_a_rule_break_not_malformed, 2)
{
    char *body = nested_tags(3);
    api_expect_create_rejected(tk_shared(), body, "tags");
    free(body);
}

GRADED(malformed, survives_extremely_deep_nesting, 2)
{
    char *open = api_repeat("[", 200000);
    expect_malformed(open);
    free(open);
    struct tk_response *r = tk_get(tk_shared(), "/health");
    tk_expect_status(r, 200);
    tk_response_free(r);
}

GRADED(malformed, patch_with_a_malformed_body_is_400, 1)
{
    char path[64];
    long long id = api_new_task(tk_shared());
    const char *bodies[] = {"{\"status\":", "[]", "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < 3; i++) {
        struct tk_response *r = api_send(tk_shared(), "PATCH", api_task_path(id, path, sizeof path),
                                         "application/json", bodies[i], strlen(bodies[i]), NULL);
        tk_expect_problem(r, 400);
        tk_response_free(r);
    }
    struct tk_response *r = tk_get(tk_shared(), path);
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "version", 1);
    tk_response_free(r);
}
