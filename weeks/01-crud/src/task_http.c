/* task_http.c — handlers for /health and /tasks (see task_http.h).
 *
 * By the time a handler runs, the HTTP layer has already answered 404 (no route, bad id syntax),
 * 405, 415 and 413. What is left, in API.md's order: 400 (malformed JSON, bad query) → 422 (rules)
 * → 404 (no such row) → 412 (If-Match), which is the order the code below reads in. */
#include "task_http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cursor.h"
#include "err.h"
#include "field_errors.h"
#include "http.h"
#include "http_json.h"
#include "log.h"
#include "problem.h"
#include "scope_http.h"
#include "task.h"
#include "task_repo.h"
#include "timeutil.h"
#include "utf8.h"

#define Q_MAX         200 /* code points of the q parameter */
#define DEFAULT_LIMIT 20

struct task_http {
    struct task_repo *repo;
    unsigned char key[TASK_REPO_KEY_BYTES]; /* signs cursors */
};

/* Sends the answer for a failed repository call; 503 tells clients when to come back. */
static void send_repo_error(struct http_res *res, int rc)
{
    switch (rc) {
    case ERR_NOT_FOUND:
        problem_send(res, 404, "there is no task with that id");
        break;
    case ERR_PRECONDITION:
        problem_send(res, 412, "the task has changed since the version in If-Match");
        break;
    case ERR_UNAVAILABLE:
        problem_send_unavailable(res, "the database is not available; try again shortly");
        break;
    default:
        problem_send_err(res, rc, NULL);
        break;
    }
}

static void send_task(struct http_res *res, int status, const struct task *t)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%lld\"", (long long)t->version);
    http_res_header(res, "ETag", etag);
    cJSON *json = task_to_json(t);
    if (!json) {
        problem_send_err(res, ERR_NOMEM, NULL);
        return;
    }
    http_res_json(res, status, json);
    cJSON_Delete(json);
}

/* The version an opaque tag of ours names: a canonical positive decimal ("7" of `"7"`). */
static bool etag_version(const char *tag, size_t len, int64_t *out)
{
    if (len == 0 || len > 19 || tag[0] < '1' || tag[0] > '9')
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (tag[i] < '0' || tag[i] > '9' || v > (INT64_MAX - (tag[i] - '0')) / 10)
            return false;
        v = v * 10 + (tag[i] - '0');
    }
    *out = v;
    return true;
}

/* If-Match (RFC 9110 §13.1.1): absent, "*", or a comma-separated list of entity tags, true when
 * any of them matches by strong comparison. So a weak tag (W/"3") or a tag that is not one of
 * our versions is skipped, and the rest of the list still counts; a header that is not such a
 * list (garbage, a "*" inside a list) matches nothing, and neither does a list longer than
 * IF_MATCH_MAX. */
static struct if_match if_match_of(const struct http_req *req)
{
    const char *p = http_req_header(req, "If-Match");
    if (!p)
        return (struct if_match){.kind = IF_MATCH_NONE};
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 1 && p[0] == '*')
        return (struct if_match){.kind = IF_MATCH_ANY};
    const struct if_match never = {.kind = IF_MATCH_NEVER};
    struct if_match im = never;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',') /* empty list elements are allowed */
            p++;
        if (!*p)
            break;
        bool weak = strncmp(p, "W/", 2) == 0;
        if (weak)
            p += 2;
        if (*p != '"')
            return never;
        const char *tag = ++p;
        while (*p && *p != '"') {
            if ((unsigned char)*p <= ' ' || *p == 0x7f) /* etagc: no space, no control */
                return never;
            p++;
        }
        if (*p != '"')
            return never;
        size_t len = (size_t)(p - tag);
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return never;
        int64_t version;
        if (weak || !etag_version(tag, len, &version))
            continue; /* strong comparison: this one matches nothing, the others may */
        if (im.n == IF_MATCH_MAX)
            return never;
        im.versions[im.n++] = version;
    }
    if (im.n > 0)
        im.kind = IF_MATCH_VERSION;
    return im;
}

/* ------------------------------------------------------------------ routes */

static void health(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    static const char body[] = "{\"status\":\"ok\"}";
    http_res_body(res, 200, "application/json", body, sizeof body - 1);
}

static void create_task(struct http_req *req, struct http_res *res, void *ctx)
{
    struct task_http *th = ctx;
    struct field_errors *errs = NULL;
    cJSON *body = NULL;
    struct task in, out;
    task_init(&in);
    task_init(&out);
    if (http_json_object(req, res, &body, &errs) != 0)
        goto done;
    int rc = task_from_json(body, &in, errs);
    if (rc == ERR_INVALID) {
        problem_send_fields(res, 422, "the task breaks the rules listed in errors", errs);
        goto done;
    }
    struct scope sc = scope_from_req(req);
    if (rc == 0)
        rc = task_repo_create(th->repo, &sc, &in, &out);
    if (rc != 0) {
        send_repo_error(res, rc);
        goto done;
    }
    char location[40];
    snprintf(location, sizeof location, "/tasks/%lld", (long long)out.id);
    http_res_header(res, "Location", location);
    send_task(res, 201, &out);
done:
    task_clear(&in);
    task_clear(&out);
    cJSON_Delete(body);
    field_errors_free(errs);
}

static void get_task(struct http_req *req, struct http_res *res, void *ctx)
{
    struct task_http *th = ctx;
    struct scope sc = scope_from_req(req);
    struct task t;
    task_init(&t);
    int rc = task_repo_get(th->repo, &sc, http_req_param_id(req, "id"), &t);
    if (rc != 0)
        send_repo_error(res, rc);
    else
        send_task(res, 200, &t);
    task_clear(&t);
}

static void patch_task(struct http_req *req, struct http_res *res, void *ctx)
{
    struct task_http *th = ctx;
    struct field_errors *errs = NULL;
    cJSON *body = NULL;
    struct task_patch patch;
    struct task out;
    task_patch_init(&patch);
    task_init(&out);
    if (http_json_object(req, res, &body, &errs) != 0)
        goto done;
    int rc = task_patch_from_json(body, &patch, errs);
    if (rc == ERR_INVALID) {
        problem_send_fields(res, 422, "the change breaks the rules listed in errors", errs);
        goto done;
    }
    struct scope sc = scope_from_req(req);
    struct if_match im = if_match_of(req);
    if (rc == 0)
        rc = task_repo_update(th->repo, &sc, http_req_param_id(req, "id"), &patch, &im, &out);
    if (rc != 0) {
        send_repo_error(res, rc);
        goto done;
    }
    send_task(res, 200, &out);
done:
    task_patch_clear(&patch);
    task_clear(&out);
    cJSON_Delete(body);
    field_errors_free(errs);
}

static void delete_task(struct http_req *req, struct http_res *res, void *ctx)
{
    struct task_http *th = ctx;
    struct scope sc = scope_from_req(req);
    struct if_match im = if_match_of(req);
    int rc = task_repo_remove(th->repo, &sc, http_req_param_id(req, "id"), &im);
    if (rc != 0)
        send_repo_error(res, rc);
    else
        http_res_empty(res, 204);
}

/* ------------------------------------------------------------------ listing */

static const struct {
    const char *name;
    enum task_sort sort;
} sorts[] = {
    {"created_at", TASK_SORT_CREATED_AT}, {"-created_at", TASK_SORT_CREATED_AT_DESC},
    {"due_at", TASK_SORT_DUE_AT},         {"-due_at", TASK_SORT_DUE_AT_DESC},
    {"priority", TASK_SORT_PRIORITY},     {"-priority", TASK_SORT_PRIORITY_DESC},
};

static const char *const list_params[] = {"status",    "priority", "tag",   "q",     "due_before",
                                          "due_after", "sort",     "limit", "cursor"};
#define NPARAMS (sizeof list_params / sizeof list_params[0])

/* Checks one parameter's value and stores it in q. Returns an error message, or NULL. */
static const char *apply_param(size_t which, const char *v, size_t len, struct task_list_query *q)
{
    struct task_filter *f = &q->filter;
    const char *why = NULL;
    switch (which) {
    case 0:
        f->has_status = task_status_parse(v, &f->status) == 0;
        return f->has_status ? NULL : "must be one of todo, in_progress, done";
    case 1:
        f->has_priority = task_priority_parse(v, &f->priority) == 0;
        return f->has_priority ? NULL : "must be one of low, normal, high";
    case 2:
        if (!task_tag_valid(v, len))
            return "must be 1..32 characters of a-z, 0-9, _ and -";
        f->tag = v;
        return NULL;
    case 3:
        if (utf8_count(v, len) > Q_MAX)
            return "must be 1..200 characters";
        f->q = v;
        return NULL;
    case 4:
        if (rfc3339_parse(v, len, &f->due_before, &why) != 0)
            return "must be an RFC 3339 date-time such as 2026-12-01T09:00:00Z";
        f->has_due_before = true;
        return NULL;
    case 5:
        if (rfc3339_parse(v, len, &f->due_after, &why) != 0)
            return "must be an RFC 3339 date-time such as 2026-12-01T09:00:00Z";
        f->has_due_after = true;
        return NULL;
    case 6:
        for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++) {
            if (strcmp(v, sorts[i].name) == 0) {
                q->sort = sorts[i].sort;
                return NULL;
            }
        }
        return "must be one of created_at, -created_at, due_at, -due_at, priority, -priority";
    case 7: {
        long long n = 0;
        size_t i = 0;
        for (; i < len && i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
            n = n * 10 + (v[i] - '0');
        if (i != len || v[0] == '0' || n < 1 || n > TASK_LIST_LIMIT_MAX)
            return "must be a whole number from 1 to 100";
        q->limit = (size_t)n;
        return NULL;
    }
    default:
        return NULL; /* cursor: checked last, once the filters it is bound to are known */
    }
}

/* Reads the query string into q. Returns 0, or answers 400 (naming every bad parameter). */
static int parse_list_query(const struct http_req *req, struct http_res *res,
                            const struct task_http *th, struct task_list_query *q)
{
    memset(q, 0, sizeof *q);
    q->limit = DEFAULT_LIMIT;
    q->sort = TASK_SORT_CREATED_AT;
    size_t nargs = 0;
    const struct http_query_arg *args = http_req_query(req, &nargs);
    struct field_errors *errs = field_errors_new();
    if (!errs) {
        problem_send_err(res, ERR_NOMEM, NULL);
        return ERR_NOMEM;
    }
    bool seen[NPARAMS] = {false};
    const char *cursor = NULL;
    for (size_t i = 0; i < nargs; i++) {
        const struct http_query_arg *a = &args[i];
        size_t which = 0;
        while (which < NPARAMS && strcmp(a->key, list_params[which]) != 0)
            which++;
        const char *why = NULL;
        if (which == NPARAMS)
            why = "is not a known parameter";
        else if (seen[which])
            why = "is given more than once";
        else if (a->value_len == 0)
            why = "must not be empty";
        else if (strlen(a->value) != a->value_len || !utf8_valid(a->value, a->value_len))
            why = "must be valid UTF-8 text";
        else if (which == 8)
            cursor = a->value;
        else
            why = apply_param(which, a->value, a->value_len, q);
        if (which < NPARAMS)
            seen[which] = true;
        /* a->key may be anything a client typed; only a valid UTF-8 key is echoed back */
        const char *field = utf8_valid(a->key, strlen(a->key)) ? a->key : "(invalid parameter)";
        if (why && !field_errors_has(errs, field) && field_errors_add(errs, field, why) != 0)
            break;
    }
    if (field_errors_count(errs) == 0 && cursor && cursor_decode(th->key, cursor, q) != 0)
        field_errors_add(errs, "cursor",
                         "is not a cursor this listing gave out (cursors are bound to the "
                         "filters and sort they were made for)");
    int rc = 0;
    if (field_errors_count(errs) > 0) {
        problem_send_fields(res, 400, "the query string has invalid parameters", errs);
        rc = ERR_MALFORMED;
    }
    field_errors_free(errs);
    return rc;
}

static void list_tasks(struct http_req *req, struct http_res *res, void *ctx)
{
    struct task_http *th = ctx;
    struct task_list_query q;
    struct task_page page;
    task_page_init(&page);
    cJSON *out = NULL;
    if (parse_list_query(req, res, th, &q) != 0)
        goto done;
    struct scope sc = scope_from_req(req);
    int rc = task_repo_list(th->repo, &sc, &q, &page);
    if (rc != 0) {
        send_repo_error(res, rc);
        goto done;
    }
    out = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(out, "items");
    if (!items)
        goto nomem;
    for (size_t i = 0; i < page.count; i++) {
        cJSON *t = task_to_json(&page.items[i]);
        if (!t || !cJSON_AddItemToArray(items, t)) {
            cJSON_Delete(t);
            goto nomem;
        }
    }
    if (page.has_more && page.count > 0) {
        char cursor[CURSOR_MAX];
        struct task_key last = task_key_of(&page.items[page.count - 1]);
        if (cursor_encode(th->key, &q, &last, cursor, sizeof cursor) != 0 ||
            !cJSON_AddStringToObject(out, "next_cursor", cursor))
            goto nomem;
    } else if (!cJSON_AddNullToObject(out, "next_cursor")) {
        goto nomem;
    }
    http_res_json(res, 200, out);
    goto done;
nomem:
    problem_send_err(res, ERR_NOMEM, NULL);
done:
    cJSON_Delete(out);
    task_page_clear(&page);
}

/* ------------------------------------------------------------------ wiring */

int task_http_register(struct app *app, struct task_repo *repo)
{
    struct task_http *th = calloc(1, sizeof *th);
    if (!th)
        return ERR_NOMEM;
    th->repo = repo;
    int rc = app_defer(app, free, th);
    if (rc != 0)
        return rc;
    rc = task_repo_instance_key(repo, th->key);
    if (rc != 0) {
        log_msg(LOG_ERROR, "cannot read the store's instance key (needed to sign cursors)");
        return rc;
    }
    struct http_server *s = app_http(app);
    if ((rc = http_route(s, "GET", "/health", health, NULL, 0)) != 0 ||
        (rc = http_route(s, "GET", "/tasks", list_tasks, th, 0)) != 0 ||
        (rc = http_route(s, "POST", "/tasks", create_task, th, HTTP_ROUTE_JSON_BODY)) != 0 ||
        (rc = http_route(s, "GET", "/tasks/{id:id}", get_task, th, 0)) != 0 ||
        (rc = http_route(s, "PATCH", "/tasks/{id:id}", patch_task, th,
                         HTTP_ROUTE_JSON_BODY | HTTP_ROUTE_MERGE_PATCH)) != 0 ||
        (rc = http_route(s, "DELETE", "/tasks/{id:id}", delete_task, th, 0)) != 0)
        return rc;
    return 0;
}
