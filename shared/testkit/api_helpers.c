/* api_helpers.c — the shared patterns of the task API's black-box suites (see api_helpers.h).
 *
 * Nothing here knows how the server is built: it only speaks HTTP, through the test kit. */
#include "api_helpers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define SHOWN 300 /* body characters quoted in a failure message */

/* ------------------------------------------------------------------ paths and bodies */

const char *api_task_path(long long id, char *buf, size_t buf_len)
{
    snprintf(buf, buf_len, "/tasks/%lld", id);
    return buf;
}

char *api_repeat(const char *unit, size_t n)
{
    size_t unit_len = strlen(unit);
    char *s = malloc(unit_len * n + 1);
    cr_assert(s, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * unit_len, unit, unit_len);
    s[unit_len * n] = '\0';
    return s;
}

char *api_format(const char *fmt, ...)
{
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int need = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *s = need >= 0 ? malloc((size_t)need + 1) : NULL;
    cr_assert(s, "out of memory");
    vsnprintf(s, (size_t)need + 1, fmt, ap);
    va_end(ap);
    return s;
}

long long api_new_task(struct tk_server *s)
{
    char title[96], body[160];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", tk_unique("task", title, sizeof title));
    return tk_create_task(s, body);
}

struct tk_response *api_new_task_read(struct tk_server *s, char *path, size_t path_len)
{
    api_task_path(api_new_task(s), path, path_len);
    struct tk_response *r = tk_get(s, path);
    tk_expect_status(r, 200);
    return r;
}

/* ------------------------------------------------------------------ requests */

struct tk_response *api_send(struct tk_server *s, const char *method, const char *path,
                             const char *content_type, const char *body, size_t body_len,
                             const char *extra_header)
{
    char ct[256];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        headers[n++] = ct;
    }
    if (extra_header)
        headers[n++] = extra_header;
    return tk_request(s, method, path, headers, body, body_len);
}

struct tk_response *api_patch_if_match(struct tk_server *s, long long id, const char *json,
                                       const char *if_match)
{
    char path[64], header[256];
    snprintf(header, sizeof header, "If-Match: %s", if_match ? if_match : "");
    return api_send(s, "PATCH", api_task_path(id, path, sizeof path), "application/json", json,
                    strlen(json), if_match ? header : NULL);
}

struct tk_response *api_delete_if_match(struct tk_server *s, long long id, const char *if_match)
{
    char path[64], header[256];
    snprintf(header, sizeof header, "If-Match: %s", if_match ? if_match : "");
    return api_send(s, "DELETE", api_task_path(id, path, sizeof path), NULL, NULL, 0,
                    if_match ? header : NULL);
}

/* ------------------------------------------------------------------ time */

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * algorithm): no timegm(), no time zone, no locale. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses date-time with Z or ±HH:MM into UTC seconds + nanoseconds. */
static bool parse_instant(const char *s, bool z_only, long long *sec, long *nsec)
{
    int y, mo, d, h, mi, se;
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    const char *p = s + 19;
    long frac = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return false;
        for (; n < 9; n++)
            frac *= 10;
    }
    int offset = 0;
    if (strcmp(p, "Z") == 0) {
        offset = 0;
    } else if (!z_only && (p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om))
            return false;
        offset = (p[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    *sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    *nsec = frac;
    return true;
}

bool api_parse_utc(const char *s, long long *sec, long *nsec)
{
    return parse_instant(s, true, sec, nsec);
}

void api_expect_instant(const struct tk_response *r, const char *field, const char *want)
{
    const char *got = tk_json_str(r, field);
    long long gs, ws;
    long gn, wn;
    cr_assert(api_parse_utc(got, &gs, &gn),
              "%s: expected \"%s\" as RFC 3339 in UTC with Z, got \"%s\"", r->what, field, got);
    cr_assert(parse_instant(want, false, &ws, &wn), "test bug: bad instant %s", want);
    cr_assert(gs == ws && gn == wn, "%s: expected \"%s\" to be the instant %s, got \"%s\"", r->what,
              field, want, got);
}

/* ------------------------------------------------------------------ assertions */

static const cJSON *member(const struct tk_response *r, const char *field)
{
    cr_assert(r->json && cJSON_IsObject(r->json), "%s: expected a JSON object, got: %.*s", r->what,
              SHOWN, r->body);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, field);
    cr_assert(v, "%s: the body has no \"%s\": %.*s", r->what, field, SHOWN, r->body);
    return v;
}

void api_expect_task(const struct tk_response *r, const struct api_task_want *want)
{
    const cJSON *id = member(r, "id");
    cr_assert(cJSON_IsNumber(id) && id->valuedouble >= 1 &&
                  id->valuedouble == (double)(long long)id->valuedouble,
              "%s: expected \"id\" to be a positive integer, got: %.*s", r->what, SHOWN, r->body);
    tk_expect_json_str(r, "title", want->title);
    tk_expect_json_str(r, "description", want->description ? want->description : "");
    tk_expect_json_str(r, "status", want->status ? want->status : "todo");
    tk_expect_json_str(r, "priority", want->priority ? want->priority : "normal");
    if (want->due_at)
        api_expect_instant(r, "due_at", want->due_at);
    else
        tk_expect_json_null(r, "due_at");

    const cJSON *tags = member(r, "tags");
    size_t n = 0;
    while (want->tags && want->tags[n])
        n++;
    cr_assert(cJSON_IsArray(tags) && (size_t)cJSON_GetArraySize(tags) == n,
              "%s: expected %zu tags, got: %.*s", r->what, n, SHOWN, r->body);
    for (size_t i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(tags, (int)i);
        cr_assert(cJSON_IsString(t) && strcmp(t->valuestring, want->tags[i]) == 0,
                  "%s: expected tag %zu to be \"%s\", got: %.*s", r->what, i, want->tags[i], SHOWN,
                  r->body);
    }
    tk_expect_json_int(r, "version", want->version ? want->version : 1);
    long long sec;
    long nsec;
    const char *created = tk_json_str(r, "created_at");
    const char *updated = tk_json_str(r, "updated_at");
    cr_assert(api_parse_utc(created, &sec, &nsec),
              "%s: expected \"created_at\" as RFC 3339 in UTC with Z, got \"%s\"", r->what,
              created);
    cr_assert(api_parse_utc(updated, &sec, &nsec),
              "%s: expected \"updated_at\" as RFC 3339 in UTC with Z, got \"%s\"", r->what,
              updated);
}

void api_expect_invalid(const struct tk_response *r, const char *field)
{
    tk_expect_problem(r, 422);
    tk_expect_field_error(r, field);
}

void api_expect_invalid_only(const struct tk_response *r, const char *field)
{
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(r, (const char *const[]){field, NULL});
}

void api_expect_create_rejected(struct tk_server *s, const char *json, const char *field)
{
    struct tk_response *r = tk_post_json(s, "/tasks", json);
    api_expect_invalid_only(r, field);
    tk_response_free(r);
}

struct tk_response *api_expect_created(struct tk_server *s, const char *json)
{
    struct tk_response *r = tk_post_json(s, "/tasks", json);
    tk_expect_status(r, 201);
    return r;
}

void api_expect_create_malformed(struct tk_server *s, const char *body, size_t len)
{
    struct tk_response *r = api_send(s, "POST", "/tasks", "application/json", body, len, NULL);
    tk_expect_problem(r, 400);
    tk_response_free(r);
}

void api_expect_allow(const struct tk_response *r, const char *const *methods)
{
    tk_expect_problem(r, 405);
    char allow[256];
    cr_assert(tk_header(r, "Allow", allow, sizeof allow), "%s: expected an Allow header", r->what);
    size_t want = 0, got = 0;
    for (; methods[want]; want++) {
        bool found = false;
        char copy[256];
        snprintf(copy, sizeof copy, "%s", allow);
        for (char *save = NULL, *m = strtok_r(copy, ", ", &save); m;
             m = strtok_r(NULL, ", ", &save))
            found = found || strcmp(m, methods[want]) == 0;
        cr_assert(found, "%s: expected Allow to list %s, got \"%s\"", r->what, methods[want],
                  allow);
    }
    for (char *save = NULL, *m = strtok_r(allow, ", ", &save); m; m = strtok_r(NULL, ", ", &save))
        got++;
    cr_assert(got == want, "%s: expected Allow to list exactly %zu methods, got %zu", r->what, want,
              got);
}

void api_expect_get_only(struct tk_server *s, const char *path)
{
    const char *methods[] = {"POST", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        struct tk_response *r = tk_request(s, methods[i], path, NULL, NULL, 0);
        api_expect_allow(r, (const char *const[]){"GET", NULL});
        tk_response_free(r);
    }
}

void api_expect_json_type(const struct tk_response *r)
{
    char ct[128];
    const char *got = tk_header(r, "Content-Type", ct, sizeof ct);
    cr_assert(got && strncasecmp(got, "application/json", 16) == 0 &&
                  (got[16] == '\0' || got[16] == ';'),
              "%s: expected Content-Type application/json, got %s", r->what, got ? got : "none");
}

const char *api_expect_sane_request_id(const struct tk_response *r, char *buf, size_t buf_len)
{
    const char *id = tk_header(r, "X-Request-Id", buf, buf_len);
    cr_assert(id, "%s: expected an X-Request-Id header", r->what);
    size_t len = strlen(id);
    cr_assert(len >= 1 && len <= 64 &&
                  strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-") == len,
              "%s: expected X-Request-Id to be 1..64 of [A-Za-z0-9._-], got \"%s\"", r->what, id);
    return id;
}

/* ------------------------------------------------------------------ listings */

struct tk_response *api_list(struct tk_server *s, const char *query)
{
    char path[2048];
    snprintf(path, sizeof path, "/tasks%s%s", query[0] ? "?" : "", query);
    struct tk_response *r = tk_get(s, path);
    tk_expect_status(r, 200);
    const cJSON *items = member(r, "items");
    const cJSON *next = member(r, "next_cursor");
    cr_assert(cJSON_IsArray(items), "%s: expected \"items\" to be an array: %.*s", r->what, SHOWN,
              r->body);
    cr_assert(cJSON_IsNull(next) || (cJSON_IsString(next) && next->valuestring[0]),
              "%s: expected \"next_cursor\" to be a string or null: %.*s", r->what, SHOWN, r->body);
    return r;
}

void api_expect_ids(const struct tk_response *r, const long long *ids, size_t n)
{
    const cJSON *items = member(r, "items");
    char want[512] = "", *w = want;
    for (size_t i = 0; i < n && w < want + sizeof want - 24; i++)
        w += snprintf(w, 24, "%s%lld", i ? "," : "", ids[i]);
    cr_assert((size_t)cJSON_GetArraySize(items) == n,
              "%s: expected %zu items (ids %s), got %d: %.*s", r->what, n, want,
              cJSON_GetArraySize(items), SHOWN, r->body);
    for (size_t i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, (int)i), "id");
        cr_assert(cJSON_IsNumber(id) && (long long)id->valuedouble == ids[i],
                  "%s: expected item %zu to be id %lld (ids %s in this order), got: %.*s", r->what,
                  i, ids[i], want, SHOWN, r->body);
    }
}

const char *api_next_cursor(const struct tk_response *r)
{
    const cJSON *next = member(r, "next_cursor");
    return cJSON_IsString(next) ? next->valuestring : NULL;
}

void api_expect_bad_param(struct tk_server *s, const char *query, const char *param)
{
    char path[2048];
    snprintf(path, sizeof path, "/tasks?%s", query);
    struct tk_response *r = tk_get(s, path);
    tk_expect_problem(r, 400);
    tk_expect_field_error(r, param);
    tk_response_free(r);
}

void api_expect_bad_params(const char *param, const char *const *queries)
{
    for (size_t i = 0; queries[i]; i++)
        api_expect_bad_param(tk_shared(), queries[i], param);
}

size_t api_collect(struct tk_server *s, const char *query, int limit, long long *ids, size_t max)
{
    size_t n = 0;
    char *cursor = NULL;
    for (int page = 0;; page++) {
        char q[2048], enc[1024];
        snprintf(q, sizeof q, "%s%slimit=%d%s%s", query, query[0] ? "&" : "", limit,
                 cursor ? "&cursor=" : "", cursor ? tk_urlencode(cursor, enc, sizeof enc) : "");
        free(cursor);
        struct tk_response *r = api_list(s, q);
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
        const char *next = api_next_cursor(r);
        int count = cJSON_GetArraySize(items);
        cr_assert(count <= limit, "%s: expected at most %d items, got %d", r->what, limit, count);
        cr_assert(!next || count == limit,
                  "%s: a page with a next_cursor should be full (%d items), got %d", r->what, limit,
                  count);
        const cJSON *item;
        cJSON_ArrayForEach(item, items)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
            cr_assert(cJSON_IsNumber(id), "%s: an item without an id: %.*s", r->what, SHOWN,
                      r->body);
            cr_assert(n < max, "%s: paging gave more than the %zu rows there are (page %d)",
                      r->what, max, page + 1);
            ids[n++] = (long long)id->valuedouble;
        }
        cursor = next ? strdup(next) : NULL;
        cr_assert(!next || cursor, "out of memory");
        tk_response_free(r);
        if (!cursor)
            return n;
    }
}

void api_create_many(struct tk_server *s, size_t n, const char *extra, long long *ids)
{
    for (size_t i = 0; i < n; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"title\":\"task %zu\"%s%s}", i, extra[0] ? "," : "", extra);
        ids[i] = tk_create_task(s, body);
    }
}

static struct tk_server *private_server;

struct tk_server *api_private(void)
{
    private_server = tk_server_start(NULL);
    return private_server;
}

void api_private_fini(void)
{
    tk_server_stop(private_server);
    private_server = NULL;
}
