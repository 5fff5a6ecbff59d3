/* attack_inputs.c — about a thousand bad inputs on every route the stage documents.
 *
 * The routes come from the stage's own GET /openapi.json (support/api_routes.h), so a route a
 * later week adds is attacked the day it is documented, with inputs made from its schema: bad
 * JSON and wrong types for each body field, out-of-range numbers, ids that are not canonical,
 * bad values for each query parameter, %00 and %2F in paths, and methods the path does not
 * take. The server may answer each with any status but a 5xx (bad client input is the client's
 * fault: API.md), and must answer each promptly: a bound derived from a baseline measured in
 * this run. Requests carry the kit's login (week 4 on), so they reach the handlers and not
 * only the authentication in front of them. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attack.h"
#include "api_helpers.h"
#include "api_routes.h"
#include "buf.h"
#include "testkit.h"

#define STATUS_MAX 600
#define TARGET_MAX 4096

struct inputs {
    struct tk_server *s;
    CURL *curl;
    long bound_ms;
    struct api_attack_tally t;
    long by_status[STATUS_MAX];
    char id[32]; /* a task of the attacking user's, for the {id} of every route */
};

/* Sends one bad input; counts its status, a 5xx and a missing or late answer as got through. */
static void send_input(struct inputs *in, const char *method, const char *target, const char *body,
                       size_t body_len, const char *content_type)
{
    char url[TARGET_MAX + 64];
    if ((size_t)snprintf(url, sizeof url, "%s%s", tk_server_url(in->s), target) >= sizeof url)
        return; /* the tables below never build one this long */
    struct curl_slist *headers = tk_curl_auth(NULL);
    char ct[128];
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, ct);
    }
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    struct buf answer = BUF_INIT;
    curl_easy_reset(in->curl);
    tk_curl_collect(in->curl, url, headers, &answer, NULL);
    curl_easy_setopt(in->curl, CURLOPT_TIMEOUT_MS, in->bound_ms);
    curl_easy_setopt(in->curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(in->curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(in->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(in->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    long start = tk_now_ms();
    CURLcode cc = curl_easy_perform(in->curl);
    api_attack_took(&in->t, tk_now_ms() - start);
    long status = 0;
    curl_easy_getinfo(in->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (cc != CURLE_OK) {
        in->t.hangs++;
        api_attack_result(&in->t, false, "%s %.120s (body %.60s): no answer within %ld ms: %s",
                          method, target, body ? body : "", in->bound_ms, curl_easy_strerror(cc));
    } else {
        if (status >= 0 && status < STATUS_MAX)
            in->by_status[status]++;
        if (status >= 500)
            in->t.server_errors++;
        api_attack_result(&in->t, status < 500, "%s %.120s (body %.60s): %ld %.200s", method,
                          target, body ? body : "", status, answer.data ? answer.data : "");
    }
    buf_free(&answer);
}

static void send_json(struct inputs *in, const char *method, const char *target, const char *json)
{
    send_input(in, method, target, json, strlen(json), "application/json");
}

/* ---- the bad inputs ---- */

/* Ids that are not a canonical positive int64, or not even a segment. */
static const char *const bad_ids[] = {
    "0",
    "-1",
    "007",
    "1e3",
    "9223372036854775808",
    "99999999999999999999999",
    "abc",
    "%00",
    "1%00",
    "1%00x",
    "1%2F2",
    "%2F",
    "..",
    "%2e%2e",
    "1;2",
    "%FF",
    "1%20",
    "+1",
    "0x10",
    "1.0",
    "",
};

/* Suffixes appended to a route's path (its {id} filled): encoded NUL and slash, dot segments. */
static const char *const path_suffixes[] = {"%00", "%00.txt", "%2F",   "%2F1", "/", "//x",
                                            "/..", "/%2e%2e", ".json", "%FF",  "%", "%G0"};

/* Query strings no route documents, or that do not even parse. */
static const char *const stray_queries[] = {"?zzz=1", "?%00=1", "?=",     "?&&&",
                                            "?a=%",   "?a=%G1", "?a=%00", "?limit=1&limit=2"};

/* Bodies that are not JSON, or not a JSON object. */
static const char *const bad_json[] = {
    "",
    "{",
    "}",
    "[]",
    "null",
    "1",
    "\"text\"",
    "true",
    "{\"a\":}",
    "{,}",
    "{\"title\":\"x\"",
    "{\"title\":\"x\",}",
    "{'title':'x'}",
    "{\"title\":NaN}",
    "{\"title\":\"\\ud800\"}",
    "{\"title\":\"\\u0000\"}",
    "{\"title\":1e999999}",
    "{\"title\":\"x\"}garbage",
    "\xef\xbb\xbf{\"title\":\"x\"}",
    "{\"title\":\"\xff\xfe\"}",
    "{\"a\":1,\"a\":2}",
    "{\"zzz\":1}",
};

/* Values of the wrong type or out of range for a body field of schema v (JSON text). */
static size_t bad_values(const struct api_value *v, const char **out, size_t max)
{
    static const char *const common[] = {
        "null", "true", "[]", "{}", "1.5", "-1", "9223372036854775808", "1e308", "\"\\u0000\""};
    static const char *const strings[] = {"\"\"", "\" \"", "\"\\ud800\"", "\"\\u202e\"", "[\"x\"]"};
    static const char *const dates[] = {"\"2026-02-30T00:00:00Z\"", "\"2026-01-01T25:00:00Z\"",
                                        "\"2026-01-01\"",           "\"tomorrow\"",
                                        "\"2026-01-01T00:00:00\"",  "\"99999-01-01T00:00:00Z\""};
    static const char *const arrays[] = {"\"x\"",       "[1]",       "[null]", "[[\"x\"]]",
                                         "[\"UPPER\"]", "[\"a b\"]", "[\"\"]"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0] && n < max; i++)
        out[n++] = common[i];
    if (strcmp(v->type, "string") == 0)
        for (size_t i = 0; i < sizeof strings / sizeof strings[0] && n < max; i++)
            out[n++] = strings[i];
    if (strcmp(v->format, "date-time") == 0)
        for (size_t i = 0; i < sizeof dates / sizeof dates[0] && n < max; i++)
            out[n++] = dates[i];
    if (strcmp(v->type, "array") == 0)
        for (size_t i = 0; i < sizeof arrays / sizeof arrays[0] && n < max; i++)
            out[n++] = arrays[i];
    return n;
}

/* Values for a query parameter of schema v (already percent-encoded where they must be). */
static size_t bad_params(const struct api_value *v, char out[][64], size_t max)
{
    static const char *const common[] = {"", "%00", "%FF", "a%2Fb", "%", "%ZZ", "x%00y", "%27%22"};
    static const char *const numbers[] = {
        "-1", "0", "abc", "1e3", "1.5", "0x10", "99999999999999999999", "%2B1", "%201"};
    static const char *const dates[] = {"yesterday", "2026-13-45T00:00:00Z", "2026-01-01",
                                        "2026-01-01T00:00:00", "2026-01-01T00:00:00%2B99:00"};
    size_t n = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0] && n < max; i++)
        snprintf(out[n++], 64, "%s", common[i]);
    if (strcmp(v->type, "integer") == 0 || strcmp(v->type, "number") == 0) {
        for (size_t i = 0; i < sizeof numbers / sizeof numbers[0] && n < max; i++)
            snprintf(out[n++], 64, "%s", numbers[i]);
        if (v->has_maximum && n < max)
            snprintf(out[n++], 64, "%.0f", v->maximum + 1);
        if (v->has_minimum && n < max)
            snprintf(out[n++], 64, "%.0f", v->minimum - 1);
    }
    if (strcmp(v->format, "date-time") == 0)
        for (size_t i = 0; i < sizeof dates / sizeof dates[0] && n < max; i++)
            snprintf(out[n++], 64, "%s", dates[i]);
    if (v->has_enum || v->has_pattern) {
        static const char *const words[] = {"NOPE", "TODO", "a%20b", "%E2%80%AE"};
        for (size_t i = 0; i < sizeof words / sizeof words[0] && n < max; i++)
            snprintf(out[n++], 64, "%s", words[i]);
    }
    return n;
}

/* printf into buf; false when it did not fit (the input is then skipped, never cut short). */
static bool format_into(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool format_into(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
}

static const char *const all_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

static bool route_has_method(const struct api_routes *routes, const char *path, const char *method)
{
    for (size_t i = 0; i < api_routes_count(routes); i++) {
        const struct api_route *r = api_routes_at(routes, i);
        if (strcmp(r->path, path) == 0 && strcmp(r->method, method) == 0)
            return true;
    }
    return false;
}

/* Every bad input this file knows for one route. */
static void attack_route(struct inputs *in, const struct api_routes *routes,
                         const struct api_route *r)
{
    char target[TARGET_MAX], path[TARGET_MAX];
    const char *body = r->has_body ? "{}" : NULL;
    if (!api_route_path(r, in->id, path, sizeof path))
        return;
    if (r->has_id)
        for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
            if (api_route_path(r, bad_ids[i], target, sizeof target))
                send_input(in, r->method, target, body, body ? 2 : 0, "application/json");
    for (size_t i = 0; i < sizeof path_suffixes / sizeof path_suffixes[0]; i++) {
        if (format_into(target, sizeof target, "%s%s", path, path_suffixes[i]))
            send_input(in, r->method, target, body, body ? 2 : 0, "application/json");
    }
    for (size_t i = 0; i < sizeof stray_queries / sizeof stray_queries[0]; i++) {
        if (format_into(target, sizeof target, "%s%s", path, stray_queries[i]))
            send_input(in, r->method, target, body, body ? 2 : 0, "application/json");
    }
    for (size_t q = 0; q < r->n_query; q++) {
        char values[32][64];
        size_t n = bad_params(&r->query[q], values, 32);
        for (size_t i = 0; i < n; i++) {
            if (format_into(target, sizeof target, "%s?%s=%s", path, r->query[q].name, values[i]))
                send_input(in, r->method, target, body, body ? 2 : 0, "application/json");
        }
        char *long_value = api_repeat("q", 3000);
        if (format_into(target, sizeof target, "%s?%s=%s", path, r->query[q].name, long_value))
            send_input(in, r->method, target, NULL, 0, NULL);
        free(long_value);
    }
    if (r->has_body) {
        for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++)
            send_json(in, r->method, path, bad_json[i]);
        send_input(in, r->method, path, "{}", 2, "text/plain");
        send_input(in, r->method, path, "{}", 2, "application/json; charset=latin1");
        send_input(in, r->method, path, "{}", 2, NULL);
        char *deep = api_repeat("[", 100000);
        send_json(in, r->method, path, deep);
        free(deep);
        for (size_t f = 0; f < r->n_fields; f++) {
            const char *values[32];
            size_t n = bad_values(&r->fields[f], values, 32);
            for (size_t i = 0; i < n; i++) {
                char *json = api_format("{\"%s\":%s}", r->fields[f].name, values[i]);
                send_json(in, r->method, path, json);
                free(json);
            }
            char *huge = api_repeat("x", 20000);
            char *json = api_format("{\"%s\":\"%s\"}", r->fields[f].name, huge);
            send_json(in, r->method, path, json);
            free(json);
            free(huge);
        }
    }
    /* The methods this path does not take (each path is attacked once, from its first route). */
    for (size_t i = 0; i < api_routes_count(routes); i++) {
        if (api_routes_at(routes, i) != r && strcmp(api_routes_at(routes, i)->path, r->path) == 0)
            return;
        if (api_routes_at(routes, i) == r)
            break;
    }
    for (size_t m = 0; m < sizeof all_methods / sizeof all_methods[0]; m++)
        if (!route_has_method(routes, r->path, all_methods[m]))
            send_input(in, all_methods[m], path, "{", 1, "application/json");
}

Test(inputs, bad_inputs_on_every_route_get_no_5xx_and_no_hang)
{
    struct inputs *in = calloc(1, sizeof *in);
    cr_assert(in, "out of memory");
    in->s = tk_shared();
    in->bound_ms = api_attack_bound_ms(api_attack_baseline_ms(in->s));
    in->curl = curl_easy_init();
    cr_assert(in->curl, "libcurl could not start");
    api_attack_begin(&in->t, "inputs");
    snprintf(in->id, sizeof in->id, "%lld", api_new_task(in->s));
    struct api_routes *routes = api_routes_load(in->s);
    for (size_t i = 0; i < api_routes_count(routes); i++)
        attack_route(in, routes, api_routes_at(routes, i));

    struct buf statuses = BUF_INIT;
    for (long st = 0; st < STATUS_MAX; st++)
        if (in->by_status[st])
            buf_printf(&statuses, "%s%ld x%ld", statuses.len ? ", " : "", st, in->by_status[st]);
    api_attack_figure("%ld bad inputs on %zu routes, %ld 5xx, %ld hangs (statuses: %s; slowest "
                      "%ld ms, bound %ld ms)",
                      in->t.tried, api_routes_count(routes), in->t.server_errors, in->t.hangs,
                      statuses.data ? statuses.data : "none", in->t.slowest_ms, in->bound_ms);
    buf_free(&statuses);
    api_routes_free(routes);
    curl_easy_cleanup(in->curl);
    struct tk_response *r = tk_get(in->s, "/health");
    tk_expect_status(r, 200);
    tk_response_free(r);
    api_attack_end(&in->t);
    free(in);
}
