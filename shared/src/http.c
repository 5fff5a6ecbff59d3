/* http.c — the HTTP layer over libmicrohttpd (see http.h for what it promises).
 *
 * libmicrohttpd calls one "access handler" several times per request: once when the headers are
 * in, then once per chunk of body, then a last time with no data. We use the first call for
 * everything that can be decided from the headers (route, middleware, path ids, Content-Type,
 * Content-Length), so a bad request is answered before its body is read; the body calls fill a
 * bounded buffer; the last call runs the handler. State for one request lives in a
 * `struct http_req` hung on libmicrohttpd's per-request pointer and freed in the
 * request-completed callback, whichever way the request ends. */
#include "http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conn_watch.h"
#include "err.h"
#include "locals.h"
#include "log.h"
#include "timeutil.h"

#define ROUTES_MAX      64
#define SEGMENTS_MAX    8
#define MIDDLEWARE_MAX  8
#define RES_HEADERS_MAX 16
#define REQUEST_ID_MAX  64
/* A client that keeps streaming a chunked body this far past the limit is abusive; we stop
 * reading and close rather than drain it forever. */
#define DISCARD_MAX ((size_t)64 * 1024 * 1024)
/* The most body we read (and drop) for a request already answered from its headers (401, 404,
 * 415...). Up to this much is drained so that the connection can stay open; a larger body is
 * not read at all: the answer goes out at once and the connection closes. Anyone can send
 * headers, so this bound, not MAX_BODY_BYTES or DISCARD_MAX, is what an anonymous client can
 * make the server read. */
#define DRAIN_MAX ((size_t)64 * 1024)
/* The most query parameters a request may carry. libmicrohttpd files each one as a record in
 * the connection's memory pool while it reads the request line, before the access handler runs;
 * 4000 of them (31 KB) filled the pool, and the 431 it then tried to send had no room either:
 * the client waited for the timeout. More than this, like a request line over MAX_HEADER_BYTES,
 * is refused before libmicrohttpd parses the query (uri_seen). */
#define QUERY_ARGS_MAX 1000

struct route {
    const char *method;
    const char *pattern;
    char template[128]; /* the pattern as people write it: "/tasks/{id}" (logs, metrics) */
    size_t nseg;
    struct {
        char text[64]; /* literal, or the parameter's name */
        bool param;
        bool id; /* {name:id} */
    } seg[SEGMENTS_MAX];
    http_handler_fn fn;
    void *ctx;
    unsigned flags;
};

/* The graceful stop (http_server_stop): requests under way are counted from their first
 * access-handler call to their request-completed callback, which libmicrohttpd makes once the
 * answer has been written. Once `closing` is set no new request starts. */
struct drain {
    pthread_mutex_t mu;
    pthread_cond_t idle; /* inflight reached 0 */
    unsigned inflight;
    bool closing;
    atomic_bool draining; /* answers carry Connection: close */
};

struct http_server {
    struct http_options opts;
    struct MHD_Daemon *daemon;
    struct conn_watch *watch; /* the slowloris deadlines */
    struct drain drain;
    struct route routes[ROUTES_MAX];
    size_t nroutes;
    struct http_middleware mw[MIDDLEWARE_MAX];
    size_t nmw;
    unsigned port;
    /* Deferred requests (http_defer) not yet answered: http_server_stop waits for them. */
    pthread_mutex_t defer_lock;
    pthread_cond_t defer_cond;
    size_t deferred;
};

struct res_header {
    char *name, *value;
};

struct http_res {
    int status;
    char *content_type;
    char *body;
    size_t body_len;
    struct res_header headers[RES_HEADERS_MAX];
    size_t nheaders;
    bool failed; /* an allocation failed while building: send a plain 500 instead */
};

struct http_req {
    struct http_server *server;
    struct MHD_Connection *conn;
    const char *method, *path; /* owned by libmicrohttpd for the request's life */
    const char *version;       /* "HTTP/1.1", in libmicrohttpd's read buffer like method */
    char *raw_path;            /* the path as sent, still percent-encoded: what we route on */
    size_t line_bytes;         /* length of the request target, query string included */
    bool line_too_large;       /* over MAX_HEADER_BYTES or QUERY_ARGS_MAX: the query was dropped */
    bool started;              /* the access handler has seen this request */
    bool close_after;          /* the framing cannot be trusted: answer and close */
    bool counted;              /* in drain.inflight */
    const struct route *route;
    char *path_copy;                  /* segments of path, split in place */
    const char *params[SEGMENTS_MAX]; /* parameter values by route segment index */
    int64_t param_ids[SEGMENTS_MAX];
    struct http_query_arg *query;
    size_t nquery, query_cap;
    bool query_failed;
    char id[REQUEST_ID_MAX + 1];
    char client_ip[INET6_ADDRSTRLEN];
    struct locals locals; /* inline: no allocation per request */
    struct buf body;
    size_t discarded; /* body bytes dropped after the limit was passed */
    bool decided;     /* the layer or a middleware has answered; the handler will not run */
    bool answered;    /* a response has been queued */
    bool too_large;
    int64_t start_us; /* clock_mono_us() when the request began */
    struct http_res res;
    /* http_defer's state, under the server's defer_lock: the work runs (RUNNING), the connection
     * waits for it (SUSPENDED), or its answer is in res (DONE). `settled`: no longer counted. */
    enum { DEFER_NONE, DEFER_RUNNING, DEFER_SUSPENDED, DEFER_DONE } defer;
    bool deferring; /* http_defer was called (read without the lock by the request's thread) */
    bool settled;
};

/* ---------------------------------------------------------------- responses */

static char *dup_or_fail(struct http_res *res, const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (!d)
        res->failed = true;
    return d;
}

void http_res_header(struct http_res *res, const char *name, const char *value)
{
    if (res->nheaders == RES_HEADERS_MAX) {
        res->failed = true;
        return;
    }
    struct res_header *h = &res->headers[res->nheaders];
    h->name = dup_or_fail(res, name);
    h->value = dup_or_fail(res, value);
    res->nheaders++;
}

void http_res_body(struct http_res *res, int status, const char *content_type, const void *body,
                   size_t len)
{
    free(res->body);
    free(res->content_type);
    res->status = status;
    res->content_type = dup_or_fail(res, content_type);
    res->body = malloc(len ? len : 1);
    if (!res->body) {
        res->failed = true;
        res->body_len = 0;
        return;
    }
    if (len)
        memcpy(res->body, body, len);
    res->body_len = len;
}

void http_res_json(struct http_res *res, int status, const cJSON *body)
{
    char *s = cJSON_PrintUnformatted(body);
    if (!s) {
        res->failed = true;
        return;
    }
    free(res->body);
    free(res->content_type);
    res->status = status;
    res->content_type = dup_or_fail(res, "application/json");
    res->body = s; /* cJSON allocates with malloc: free() releases it */
    res->body_len = strlen(s);
}

void http_res_empty(struct http_res *res, int status)
{
    free(res->body);
    free(res->content_type);
    res->body = NULL;
    res->content_type = NULL;
    res->body_len = 0;
    res->status = status;
}

const char *http_reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

void http_res_problem_members(struct http_res *res, int status, const char *detail,
                              const char *members, size_t len)
{
    struct buf b = BUF_INIT;
    const char *title = http_reason_phrase(status);
    buf_puts(&b, "{\"type\":\"about:blank\",\"title\":");
    buf_json_string(&b, title, strlen(title));
    buf_printf(&b, ",\"status\":%d", status);
    if (detail) {
        buf_puts(&b, ",\"detail\":");
        buf_json_string(&b, detail, strlen(detail));
    }
    if (members && len) {
        buf_putc(&b, ',');
        buf_append(&b, members, len);
    }
    buf_putc(&b, '}');
    if (b.failed) {
        /* Out of memory while describing an error: answer 500 with a body that needs no
         * building (send_response relies on this when a handler runs out of memory). */
        static const char oom[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
                                  "\"status\":500}";
        http_res_body(res, 500, "application/problem+json", oom, sizeof oom - 1);
    } else {
        http_res_body(res, status, "application/problem+json", b.data, b.len);
    }
    buf_free(&b);
}

void http_res_problem(struct http_res *res, int status, const char *detail)
{
    http_res_problem_members(res, status, detail, NULL, 0);
}

int http_res_status(const struct http_res *res)
{
    return res->status;
}

const char *http_res_get_header(const struct http_res *res, const char *name)
{
    if (strcasecmp(name, "Content-Type") == 0)
        return res->content_type;
    for (size_t i = 0; i < res->nheaders; i++)
        if (res->headers[i].name && strcasecmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

const char *http_res_get_body(const struct http_res *res, size_t *len)
{
    *len = res->body ? res->body_len : 0;
    return res->body;
}

bool http_res_failed(const struct http_res *res)
{
    return res->failed;
}

static void res_clear(struct http_res *res)
{
    free(res->body);
    free(res->content_type);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    memset(res, 0, sizeof *res);
}

/* ---------------------------------------------------------------- requests */

const char *http_req_method(const struct http_req *req)
{
    return req->method;
}

const char *http_req_path(const struct http_req *req)
{
    return req->path;
}

const char *http_req_route(const struct http_req *req)
{
    return req->route ? req->route->template : NULL;
}

const char *http_req_id(const struct http_req *req)
{
    return req->id;
}

const char *http_req_client_ip(const struct http_req *req)
{
    return req->client_ip;
}

int http_req_set_client_ip(struct http_req *req, const char *ip)
{
    size_t n = strlen(ip);
    if (n == 0 || n >= sizeof req->client_ip)
        return ERR_INVALID;
    memcpy(req->client_ip, ip, n + 1);
    return 0;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static int param_index(const struct http_req *req, const char *name)
{
    if (!req->route)
        return -1;
    for (size_t i = 0; i < req->route->nseg; i++)
        if (req->route->seg[i].param && strcmp(req->route->seg[i].text, name) == 0)
            return (int)i;
    return -1;
}

const char *http_req_param(const struct http_req *req, const char *name)
{
    int i = param_index(req, name);
    return i < 0 ? NULL : req->params[i];
}

int64_t http_req_param_id(const struct http_req *req, const char *name)
{
    int i = param_index(req, name);
    return i < 0 ? 0 : req->param_ids[i];
}

const struct http_query_arg *http_req_query(const struct http_req *req, size_t *n)
{
    *n = req->nquery;
    return req->query;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.len ? req->body.data : NULL;
}

struct locals *http_req_locals(struct http_req *req)
{
    return &req->locals;
}

const struct locals *http_req_locals_const(const struct http_req *req)
{
    return &req->locals;
}

/* ---------------------------------------------------------------- routing */

/* A canonical positive decimal that fits in int64: what API.md calls an id. */
static bool parse_id(const char *s, int64_t *out)
{
    if (!s || *s < '1' || *s > '9')
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

int http_route(struct http_server *s, const char *method, const char *pattern, http_handler_fn fn,
               void *ctx, unsigned flags)
{
    if (s->nroutes == ROUTES_MAX)
        return ERR_NOMEM;
    if (pattern[0] != '/')
        return ERR_INVALID;
    struct route *r = &s->routes[s->nroutes];
    memset(r, 0, sizeof *r);
    *r = (struct route){.method = method, .pattern = pattern, .fn = fn, .ctx = ctx, .flags = flags};
    /* The template drops the ":id" type of a parameter: "/tasks/{id:id}" → "/tasks/{id}". */
    size_t t = 0;
    for (const char *q = pattern; *q && t + 1 < sizeof r->template; q++) {
        if (strncmp(q, ":id}", 4) == 0)
            q += 3;
        r->template[t++] = *q;
    }
    r->template[t] = '\0';
    const char *p = pattern + 1;
    while (*p || r->nseg == 0) {
        if (r->nseg == SEGMENTS_MAX)
            return ERR_INVALID;
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len >= sizeof r->seg[0].text)
            return ERR_INVALID;
        char *text = r->seg[r->nseg].text;
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            r->seg[r->nseg].param = true;
            memcpy(text, p + 1, len - 2);
            text[len - 2] = '\0';
            char *colon = strchr(text, ':');
            if (colon) {
                if (strcmp(colon, ":id") != 0)
                    return ERR_INVALID;
                *colon = '\0';
                r->seg[r->nseg].id = true;
            }
        } else {
            memcpy(text, p, len);
            text[len] = '\0';
        }
        r->nseg++;
        if (!slash)
            break;
        p = slash + 1;
    }
    s->nroutes++;
    return 0;
}

size_t http_server_route_count(const struct http_server *s)
{
    return s->nroutes;
}

int http_server_route_at(const struct http_server *s, size_t i, const char **method,
                         const char **pattern)
{
    if (i >= s->nroutes)
        return ERR_NOT_FOUND;
    *method = s->routes[i].method;
    *pattern = s->routes[i].template;
    return 0;
}

int http_use(struct http_server *s, const struct http_middleware *mw)
{
    if (s->nmw == MIDDLEWARE_MAX)
        return ERR_NOMEM;
    s->mw[s->nmw++] = *mw;
    return 0;
}

static bool route_matches(const struct route *r, char *const *segs, size_t nseg)
{
    if (r->nseg != nseg)
        return false;
    for (size_t i = 0; i < nseg; i++) {
        if (r->seg[i].param) {
            if (segs[i][0] == '\0')
                return false; /* "/tasks/" has an empty last segment: no route */
        } else if (strcmp(r->seg[i].text, segs[i]) != 0) {
            return false;
        }
    }
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the %XX escapes of one path segment in place (an invalid escape stays as it is, as
 * libmicrohttpd leaves it). Returns false for %00: a NUL would cut the segment short in every
 * C string that later holds it ("/exports/1.csv%00.txt" would be "1.csv"). */
static bool segment_decode(char *seg)
{
    char *out = seg;
    for (const char *in = seg; *in; in++) {
        int hi = in[0] == '%' ? hex_value(in[1]) : -1;
        int lo = hi >= 0 ? hex_value(in[2]) : -1;
        if (lo < 0) {
            *out++ = *in;
            continue;
        }
        if (hi == 0 && lo == 0)
            return false;
        *out++ = (char)(hi * 16 + lo);
        in += 2;
    }
    *out = '\0';
    return true;
}

enum route_result { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD, ROUTE_BAD_PATH };

/* Finds the route for req. On ROUTE_NO_METHOD, `allow` gets every method of the path. It splits
 * the raw path at its slashes first and decodes each segment after, so an encoded slash (%2F)
 * is part of a segment and never splits one: "/tasks%2F2" is the one segment "tasks/2". */
static enum route_result route_find(struct http_req *req, struct buf *allow)
{
    const struct http_server *s = req->server;
    req->path_copy = strdup(req->raw_path);
    if (!req->path_copy)
        return ROUTE_NO_PATH;
    char *segs[SEGMENTS_MAX];
    size_t nseg = 0;
    char *p = req->path_copy;
    if (*p != '/')
        return ROUTE_NO_PATH;
    p++;
    bool too_deep = false;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!segment_decode(p))
            return ROUTE_BAD_PATH; /* anywhere in the path, even past the last route's depth */
        if (nseg == SEGMENTS_MAX)
            too_deep = true;
        else
            segs[nseg++] = p;
        if (!slash)
            break;
        p = slash + 1;
    }
    if (too_deep)
        return ROUTE_NO_PATH;
    bool path_known = false;
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct route *r = &s->routes[i];
        if (!route_matches(r, segs, nseg))
            continue;
        if (strcmp(r->method, req->method) == 0) {
            req->route = r;
            for (size_t k = 0; k < nseg; k++)
                req->params[k] = r->seg[k].param ? segs[k] : NULL;
            return ROUTE_FOUND;
        }
        /* Methods are few and listed once each, in the order the stage registered them. */
        if (!strstr(allow->data ? allow->data : "", r->method)) {
            if (allow->len)
                buf_puts(allow, ", ");
            buf_puts(allow, r->method);
        }
        path_known = true;
    }
    return path_known ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

/* ---------------------------------------------------------------- checks */

static bool request_id_sane(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n == REQUEST_ID_MAX || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

static void request_id_new(char out[REQUEST_ID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        /* getrandom on Linux does not fail for 16 bytes once booted; keep a fallback anyway. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(raw, &ts, sizeof raw < sizeof ts ? sizeof raw : sizeof ts);
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof raw] = '\0';
}

/* True for application/json (or merge-patch+json when allowed) with no charset or utf-8. */
bool http_content_type_json(const char *ct, unsigned flags)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t type_len = strcspn(ct, ";");
    while (type_len > 0 && (ct[type_len - 1] == ' ' || ct[type_len - 1] == '\t'))
        type_len--;
    bool json = type_len == 16 && strncasecmp(ct, "application/json", 16) == 0;
    bool merge = (flags & HTTP_ROUTE_MERGE_PATCH) && type_len == 28 &&
                 strncasecmp(ct, "application/merge-patch+json", 28) == 0;
    if (!json && !merge)
        return false;
    /* Parameters: only a charset of utf-8 is understood; any other charset is refused. */
    const char *p = strchr(ct, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, ";");
        if (len >= 8 && strncasecmp(p, "charset=", 8) == 0) {
            const char *v = p + 8;
            size_t vlen = len - 8;
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            if (!(vlen == 5 && strncasecmp(v, "utf-8", 5) == 0))
                return false;
        }
        p = strchr(p, ';');
    }
    return true;
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key;
    (void)value;
    *(size_t *)cls += key_size + value_size + 4; /* "Name: value\r\n" */
    return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key_size;
    struct http_req *req = cls;
    if (req->nquery == req->query_cap) {
        size_t cap = req->query_cap ? req->query_cap * 2 : 8;
        struct http_query_arg *q = realloc(req->query, cap * sizeof *q);
        if (!q) {
            req->query_failed = true;
            return MHD_NO;
        }
        req->query = q;
        req->query_cap = cap;
    }
    req->query[req->nquery++] = (struct http_query_arg){
        .key = key, .value = value ? value : "", .value_len = value ? value_size : 0};
    return MHD_YES;
}

/* ---------------------------------------------------------------- sending */

double http_req_elapsed_ms(const struct http_req *req)
{
    return (double)(clock_mono_us() - req->start_us) / 1e3;
}

/* Lets each middleware add its headers to the answer about to be sent (http_middleware). */
static void run_on_answer(struct http_req *req)
{
    for (size_t i = 0; i < req->server->nmw; i++)
        if (req->server->mw[i].on_answer)
            req->server->mw[i].on_answer(req, &req->res, req->server->mw[i].ctx);
}

static enum MHD_Result send_response(struct http_req *req)
{
    struct http_res *res = &req->res;
    run_on_answer(req); /* before the check below: a header that did not fit is a 500 too */
    if (res->failed || res->status == 0) {
        /* The handler ran out of memory (or forgot to answer): a bug or an outage, never the
         * client's fault. */
        log_kv(LOG_ERROR, "response could not be built",
               (struct log_kv[]){LOG_STR("request_id", req->id)}, 1);
        res_clear(res);
        http_res_problem(res, 500, NULL);
    }
    struct MHD_Response *r = NULL;
    if (res->body) {
        r = MHD_create_response_from_buffer_with_free_callback(res->body_len, res->body, free);
        if (r)
            res->body = NULL; /* now owned by libmicrohttpd */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO; /* out of memory: closing the connection is all that is left */
    if (res->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t i = 0; i < res->nheaders; i++)
        if (res->headers[i].name && res->headers[i].value)
            MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    MHD_add_response_header(r, "X-Request-Id", req->id);
    if (req->close_after || atomic_load(&req->server->drain.draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    req->answered = true;
    for (size_t i = 0; i < req->server->nmw; i++)
        if (req->server->mw[i].on_response)
            req->server->mw[i].on_response(req, res, req->server->mw[i].ctx);
    return ok;
}

static enum MHD_Result answer_problem(struct http_req *req, int status, const char *detail)
{
    http_res_problem(&req->res, status, detail);
    return send_response(req);
}

/* Records the answer decided from the headers; access_handler sends it (see there for when). */
static bool decide(struct http_req *req, int status, const char *detail)
{
    http_res_problem(&req->res, status, detail);
    req->decided = true;
    return true;
}

/* ---------------------------------------------------------------- deadlines and the drain */

/* libmicrohttpd's connection callback: each connection gets a conn_watch entry (its deadline),
 * kept in libmicrohttpd's per-connection pointer; CLOSED comes before the fd is closed. */
static void connection_notified(void *cls, struct MHD_Connection *conn, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? conn_watch_open(s->watch, ci->connect_fd) : NULL;
    } else {
        conn_watch_close(s->watch, *socket_context);
        *socket_context = NULL;
    }
}

/* The connection of a request enters a phase of conn_watch.h (its deadline starts now). */
static void watch_phase(const struct http_server *s, struct MHD_Connection *conn,
                        enum conn_phase phase)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci)
        conn_watch_phase(s->watch, ci->socket_context, phase);
}

static int drain_init(struct drain *d)
{
    if (clock_mono_cond_init(&d->idle) != 0)
        return ERR_NOMEM;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        pthread_cond_destroy(&d->idle);
        return ERR_NOMEM;
    }
    atomic_init(&d->draining, false);
    return 0;
}

/* A request starts (its head is in): counted until its answer is written. False once the
 * server is closing: the request is then dropped unread, before any handler could commit it. */
static bool drain_enter(struct http_req *req)
{
    struct drain *d = &req->server->drain;
    pthread_mutex_lock(&d->mu);
    bool open = !d->closing;
    if (open)
        d->inflight++;
    pthread_mutex_unlock(&d->mu);
    req->counted = open;
    return open;
}

static void drain_leave(struct http_req *req)
{
    if (!req->counted)
        return;
    struct drain *d = &req->server->drain;
    pthread_mutex_lock(&d->mu);
    if (--d->inflight == 0)
        pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->mu);
}

/* The middle of http_server_stop, once nothing new is accepted: answers now say
 * Connection: close, and the requests under way get up to drain_seconds to finish and send
 * their answers. No fixed sleep: it returns as soon as the last answer is written. */
static void drain_wait(struct http_server *s)
{
    struct drain *d = &s->drain;
    atomic_store(&d->draining, true);
    int64_t start = clock_mono_us();
    int64_t until = start + (int64_t)s->opts.drain_seconds * 1000000;
    struct timespec ts = clock_mono_timespec(until);
    pthread_mutex_lock(&d->mu);
    while (d->inflight > 0 && clock_mono_us() < until)
        pthread_cond_timedwait(&d->idle, &d->mu, &ts);
    unsigned left = d->inflight;
    d->closing = true;
    pthread_mutex_unlock(&d->mu);
    log_kv(left ? LOG_WARN : LOG_INFO, "http: drained",
           (struct log_kv[]){LOG_INT("ms", (clock_mono_us() - start) / 1000),
                             LOG_INT("unfinished", left)},
           2);
}

/* ---------------------------------------------------------------- deferred answers */

void http_defer(struct http_req *req)
{
    struct http_server *s = req->server;
    req->deferring = true;
    pthread_mutex_lock(&s->defer_lock);
    req->defer = DEFER_RUNNING;
    s->deferred++;
    pthread_mutex_unlock(&s->defer_lock);
}

void http_deferred_done(struct http_req *req)
{
    struct http_server *s = req->server;
    struct MHD_Connection *conn = req->conn;
    pthread_mutex_lock(&s->defer_lock);
    bool suspended = req->defer == DEFER_SUSPENDED;
    req->defer = DEFER_DONE;
    pthread_cond_broadcast(&s->defer_cond); /* a thread-per-connection handler waits on it */
    pthread_mutex_unlock(&s->defer_lock);
    /* From here req belongs to its event loop again: only the connection is used. It stays
     * suspended until this call, so it is still alive, and http_server_stop waits for it. */
    if (suspended)
        MHD_resume_connection(conn);
}

/* The request no longer counts as deferred: wakes http_server_stop. Called only once the request
 * is over (request_completed: its answer written, or its connection gone), never when the answer
 * is merely queued: http_server_stop stops libmicrohttpd as soon as nothing is deferred, and a
 * queued answer it cuts off is one the client never gets (the flaky stop test of issue 10). Waits
 * for the work first if it still runs (a connection closed while its work runs: the work still
 * writes to req). */
static void defer_settle(struct http_req *req)
{
    if (!req->deferring || req->settled)
        return;
    struct http_server *s = req->server;
    pthread_mutex_lock(&s->defer_lock);
    while (req->defer != DEFER_DONE)
        pthread_cond_wait(&s->defer_cond, &s->defer_lock);
    req->settled = true;
    s->deferred--;
    pthread_cond_broadcast(&s->defer_cond);
    pthread_mutex_unlock(&s->defer_lock);
}

/* After a handler that deferred, and again when libmicrohttpd resumes the connection: sends the
 * answer once the work is done. Until then an event loop suspends the connection and goes on
 * serving the others (the suspension happens under the lock, so http_deferred_done either sees
 * it and resumes, or comes first and we send at once); a thread of its own just waits. */
static enum MHD_Result defer_wait(struct http_req *req)
{
    struct http_server *s = req->server;
    pthread_mutex_lock(&s->defer_lock);
    if (req->defer != DEFER_DONE && s->opts.mode == HTTP_MODE_POOL) {
        req->defer = DEFER_SUSPENDED;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&s->defer_lock);
        return MHD_YES;
    }
    while (req->defer != DEFER_DONE)
        pthread_cond_wait(&s->defer_cond, &s->defer_lock);
    pthread_mutex_unlock(&s->defer_lock);
    return send_response(req); /* still counted as deferred until it is written */
}

/* Waits until no request is deferred, its answer written: libmicrohttpd must not be stopped
 * with a suspended connection or an answer half sent, and the work's resources (a stage's pool)
 * are freed only after http_server_stop. New connections are refused by then, a deferred job
 * always ends, and its answer is written or its connection times out (timeout_seconds), so this
 * is bounded by the jobs already queued. */
static void defer_drain(struct http_server *s)
{
    pthread_mutex_lock(&s->defer_lock);
    while (s->deferred > 0)
        pthread_cond_wait(&s->defer_cond, &s->defer_lock);
    pthread_mutex_unlock(&s->defer_lock);
}

/* ---------------------------------------------------------------- the access handler */

struct framing {
    const char *last_value; /* the last header line's value, in libmicrohttpd's read buffer */
    size_t last_value_size;
    size_t content_lengths, transfer_encodings;
    bool name_has_space; /* a header name with SP or HTAB in it ("Transfer-Encoding : x") */
    bool name_not_token; /* an empty header name, or one with a character a token cannot hold */
    const char *content_length, *transfer_encoding;
};

/* RFC 9110 §5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. */
static bool header_name_is_token(const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (!isalnum(*c) && !strchr("!#$%&'*+-.^_`|~", *c))
            return false;
    return true;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key_size;
    struct framing *f = cls;
    f->last_value = value;
    f->last_value_size = value ? value_size : 0;
    if (strpbrk(key, " \t"))
        f->name_has_space = true;
    else if (!header_name_is_token(key))
        f->name_not_token = true;
    if (strcasecmp(key, "Content-Length") == 0) {
        f->content_lengths++;
        f->content_length = value ? value : "";
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->transfer_encodings++;
        f->transfer_encoding = value ? value : "";
    }
    return MHD_YES;
}

/* A Content-Length is one or more digits that fit in 64 bits. */
static bool content_length_valid(const char *s)
{
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    return true;
}

/* True when the head ended at its empty line. libmicrohttpd 0.9.75 also ends it at a header line
 * with an empty name (": x" after another header: it cuts the line at the colon, then takes the
 * now empty line for the end of the head) and never stores that line, so the lines after it are
 * read as the body or the next request: request smuggling, invisible to count_framing. It parses
 * the head in place, in its read buffer: each line's CR and LF, and the colon, become NUL, and
 * the values it gives us point into that buffer, as do method and version. The head is
 * MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE bytes from method (its last, ending line included).
 * So from the end of the last header line's value (or of the version, when there is no header)
 * to the end of the head there must be nothing but the NULs of two line ends: at most four, all
 * NUL. An empty-name line leaves its value there (" x"), an empty-name line with an empty value
 * (":" CR LF) one NUL too many; folded lines (obs-fold, which RFC 9112 §5.2 lets a server refuse)
 * leave their text. One form stays invisible: ":" ended by a bare LF after a line ended by CR LF
 * is the same four NULs as an empty line (docs/decisions/0019). Pointers that do not fit this
 * layout make the check pass: it must never refuse a request libmicrohttpd parsed another way. */
static bool head_ends_cleanly(struct MHD_Connection *conn, const char *method, const char *version,
                              const struct framing *f)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!ci || !method || !version)
        return true;
    const char *end = method + ci->header_size;
    const char *p = f->last_value ? f->last_value + f->last_value_size : version + strlen(version);
    if (p <= method || p > end)
        return true; /* not the layout described above */
    while (p < end && (*p == ' ' || *p == '\t'))
        p++; /* white space after a value that libmicrohttpd did not count in it */
    if (end - p > 4)
        return false;
    for (; p < end; p++)
        if (*p != '\0')
            return false;
    return true;
}

/* Returns the reason the request's body framing cannot be trusted, or NULL when it can. Where a
 * server and a proxy in front of it disagree on where a body ends, the rest of the body is read
 * as a second request: request smuggling. libmicrohttpd 0.9.75 lets the first of two
 * Content-Lengths win, serves the next request after one with both Content-Length and
 * Transfer-Encoding, and waits for the timeout on a coding it does not know. RFC 9112 §6.1 and
 * §6.3 ask the server to refuse such a message with 400 and close the connection; we refuse
 * two equal Content-Lengths too (§6.3 allows it) and every Transfer-Encoding but "chunked".
 * §5.1 asks for 400 on whitespace between a header name and its colon: libmicrohttpd files
 * "Transfer-Encoding : chunked" under a name we would not match, so it is refused first. */
static const char *framing_problem(struct MHD_Connection *conn, const char *method,
                                   const char *version)
{
    struct framing f = {0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, count_framing, &f);
    if (!head_ends_cleanly(conn, method, version, &f))
        return "every header line must be a name, a colon and a value: no empty name, no folded "
               "line";
    if (f.name_has_space) /* §5.1: libmicrohttpd keeps the space in the name; a proxy may not */
        return "no whitespace is allowed between a header name and its colon";
    if (f.name_not_token) /* RFC 9110 §5.1: a field name is a token, never empty */
        return "a header name must be a token (letters, digits and !#$%&'*+-.^_`|~)";
    if (f.content_lengths && f.transfer_encodings)
        return "send either Content-Length or Transfer-Encoding, not both";
    if (f.content_lengths > 1)
        return "send one Content-Length header";
    if (f.content_lengths && !content_length_valid(f.content_length))
        return "Content-Length must be a decimal number of bytes";
    if (f.transfer_encodings > 1 ||
        (f.transfer_encodings && strcasecmp(f.transfer_encoding, "chunked") != 0))
        return "the only Transfer-Encoding accepted is chunked";
    return NULL;
}

/* Everything that can be decided from the request line and headers. Returns true when it has
 * answered (the body, if any, is then never read). */
static bool on_headers(struct http_req *req)
{
    struct http_server *s = req->server;
    size_t header_bytes = req->line_bytes + strlen(req->method) + 16;
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, count_header, &header_bytes);
    const char *rid = http_req_header(req, "X-Request-Id");
    if (rid && request_id_sane(rid))
        snprintf(req->id, sizeof req->id, "%s", rid);
    else
        request_id_new(req->id);
    const char *framing = framing_problem(req->conn, req->method, req->version);
    if (framing) {
        req->close_after = true;
        return decide(req, 400, framing);
    }
    if (req->line_too_large || header_bytes > s->opts.max_header_bytes) {
        return decide(req, 431, "the request headers are larger than the server accepts");
    }
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, req);
    if (req->query_failed)
        return decide(req, 500, NULL);

    struct buf allow = BUF_INIT;
    enum route_result rr = route_find(req, &allow);
    if (rr != ROUTE_FOUND) {
        if (rr == ROUTE_BAD_PATH) {
            decide(req, 400, "the path must not contain %00");
        } else if (rr == ROUTE_NO_METHOD && !allow.failed) {
            http_res_header(&req->res, "Allow", allow.data);
            decide(req, 405, "this path does not support that method");
        } else {
            decide(req, 404, "there is no such resource");
        }
        buf_free(&allow);
        return true;
    }
    buf_free(&allow);

    for (size_t i = 0; i < s->nmw; i++) {
        if (s->mw[i].on_request && s->mw[i].on_request(req, &req->res, s->mw[i].ctx) != 0) {
            req->decided = true;
            return true;
        }
    }
    for (size_t i = 0; i < req->route->nseg; i++) {
        if (req->route->seg[i].id && !parse_id(req->params[i], &req->param_ids[i]))
            return decide(req, 404, "there is no such resource");
    }
    if ((req->route->flags & HTTP_ROUTE_JSON_BODY) &&
        !http_content_type_json(http_req_header(req, "Content-Type"), req->route->flags)) {
        return decide(req, 415,
                      (req->route->flags & HTTP_ROUTE_MERGE_PATCH)
                          ? "send the body as application/json or "
                            "application/merge-patch+json (charset utf-8)"
                          : "send the body as application/json (charset utf-8)");
    }
    const char *cl = http_req_header(req, "Content-Length");
    if (cl) {
        char *end = NULL;
        unsigned long long len = strtoull(cl, &end, 10);
        if (end != cl && len > s->opts.max_body_bytes)
            return decide(req, 413, "the request body is larger than the server accepts");
    }
    return false;
}

/* For a request answered from its headers: true when its body is small enough to read and drop
 * before answering, which keeps the connection open for the next request (a 404 or a 401 on a
 * small POST costs the client nothing more). Otherwise the answer is queued while libmicrohttpd
 * is still at the headers: it then reads no body, never sends "100 Continue" (it does so only
 * when the second call finds no answer queued) and closes the connection after the answer, as
 * RFC 9110 §10.1.1 allows for a final status sent before the body. A 413 always goes this way. */
static bool drain_first(const struct http_req *req)
{
    if (req->res.status == 413 || req->close_after)
        return false;
    if (http_req_header(req, "Expect"))
        return false; /* the client waits for our word before sending: say no at once */
    if (http_req_header(req, "Transfer-Encoding"))
        return false; /* chunked: the length is unknown until the end */
    const char *cl = http_req_header(req, "Content-Length");
    if (!cl)
        return true; /* no body */
    char *end = NULL;
    unsigned long long len = strtoull(cl, &end, 10);
    return end != cl && *end == '\0' && len <= DRAIN_MAX;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct http_server *s = cls;
    struct http_req *req = *con_cls;
    if (!req)
        return MHD_NO; /* uri_seen runs first for every request: it ran out of memory */
    if (!req->started) {
        req->started = true;
        if (!drain_enter(req))
            return MHD_NO;
        watch_phase(s, conn, CONN_BODY);
        req->conn = conn;
        req->method = method;
        req->version = version;
        req->path = url;
        req->start_us = clock_mono_us();
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            const void *addr = sa->sa_family == AF_INET6
                                   ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                                   : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
            if (!inet_ntop(sa->sa_family, addr, req->client_ip, sizeof req->client_ip))
                req->client_ip[0] = '\0';
        }
        if (on_headers(req) && !drain_first(req)) {
            watch_phase(s, conn, CONN_BUSY);
            return send_response(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->decided || req->too_large || req->body.len + n > s->opts.max_body_bytes) {
            req->too_large = !req->decided;
            req->discarded += n;
            /* drain_first let at most DRAIN_MAX through; more means the client lied about it */
            return req->discarded > (req->decided ? DRAIN_MAX : DISCARD_MAX) ? MHD_NO : MHD_YES;
        }
        return buf_append(&req->body, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }
    watch_phase(s, conn, CONN_BUSY); /* the body is in; the handler may take its time */
    if (req->answered)
        return MHD_YES;
    if (req->deferring)
        return defer_wait(req); /* resumed: the deferred work is done */
    if (req->decided)
        return send_response(req);
    if (req->too_large)
        return answer_problem(req, 413, "the request body is larger than the server accepts");
    for (size_t i = 0; i < s->nmw; i++) {
        /* Middleware that needs the body decides here, once it has all been read. */
        if (s->mw[i].on_body && s->mw[i].on_body(req, &req->res, s->mw[i].ctx) != 0)
            return send_response(req);
    }
    req->route->fn(req, &req->res, req->route->ctx);
    if (req->deferring)
        return defer_wait(req);
    return send_response(req);
}

/* libmicrohttpd's URI log callback: it runs once per request, as soon as the request line is
 * in, with the request target as sent (libmicrohttpd decodes the path it gives the access
 * handler, %2F and %00 included). Its result becomes the request's per-request pointer. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *s = cls;
    watch_phase(s, conn, CONN_HEAD); /* a kept-alive connection's next head has begun */
    struct http_req *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->server = s;
    size_t path_len = strcspn(uri, "?");
    req->raw_path = strndup(uri, path_len);
    if (!req->raw_path) {
        free(req);
        return NULL;
    }
    req->line_bytes = strlen(uri);
    size_t args = 0;
    for (const char *q = uri + path_len; *q; q++)
        args += *q == '&' || *q == '?';
    if (req->line_bytes > s->opts.max_header_bytes || args > QUERY_ARGS_MAX) {
        /* The request will be refused (431). Empty its query string in libmicrohttpd's own
         * buffer so that libmicrohttpd, which parses it right after this call, does not fill the
         * connection's memory pool with parameters and leave no room for the answer. The
         * buffer is libmicrohttpd's read buffer, writable (it cuts the line there itself). */
        char *query = (char *)uri + path_len;
        if (*query)
            query[1] = '\0';
        req->line_too_large = true;
    }
    return req;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    watch_phase(cls, conn, CONN_IDLE);
    struct http_req *req = *con_cls;
    if (!req)
        return;
    defer_settle(req);
    drain_leave(req);
    res_clear(&req->res);
    buf_free(&req->body);
    free(req->query);
    free(req->path_copy);
    free(req->raw_path);
    free(req);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_kv(LOG_WARN, "http", (struct log_kv[]){LOG_STR("detail", msg)}, 1);
}

/* ---------------------------------------------------------------- lifecycle */

struct http_server *http_server_new(const struct http_options *opts)
{
    if (!opts->bind_address || opts->max_body_bytes == 0 || opts->max_header_bytes == 0) {
        log_msg(LOG_ERROR, "http: bind address and size limits are required");
        return NULL;
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->opts = *opts;
    if (pthread_mutex_init(&s->defer_lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->defer_cond, NULL) != 0) {
        pthread_mutex_destroy(&s->defer_lock);
        free(s);
        return NULL;
    }
    if (s->opts.threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        s->opts.threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (s->opts.header_timeout_seconds == 0)
        s->opts.header_timeout_seconds = 10;
    if (s->opts.body_timeout_seconds == 0)
        s->opts.body_timeout_seconds = 30;
    if (drain_init(&s->drain) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

int http_server_start(struct http_server *s)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", s->opts.port);
    if (getaddrinfo(s->opts.bind_address, port, &hints, &ai) != 0 || !ai) {
        log_kv(LOG_ERROR, "http: BIND_ADDRESS is not a numeric IP address",
               (struct log_kv[]){LOG_STR("bind_address", s->opts.bind_address)}, 1);
        return ERR_INVALID;
    }
    unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (s->opts.mode == HTTP_MODE_THREAD_PER_CONNECTION)
        flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    else
        flags |= MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME; /* http_defer */
    /* Headers must fit in the connection's memory pool, or libmicrohttpd answers 431 itself
     * with a bare HTML page. 256 KiB lets ~110 KB of headers (thousands of them, each with
     * libmicrohttpd's bookkeeping) reach on_headers and get a proper problem response; past
     * that comes libmicrohttpd's own 431. Keep it modest: libmicrohttpd zeroes the whole pool
     * between keep-alive requests (a 1 MiB pool spent half of all CPU time in memset), and
     * every open connection holds one. */
    size_t pool = s->opts.max_header_bytes * 2 + (size_t)224 * 1024;
    /* A share of the connections for each address, so that a few slow clients cannot hold them
     * all: the rest stay free for other clients and /health. */
    unsigned per_ip = s->opts.max_connections_per_ip ? s->opts.max_connections_per_ip
                                                     : (s->opts.max_connections + 1) / 2;
    /* Twice the limit: libmicrohttpd may count a connection out (and accept the next) just
     * before it reports the close, and an unwatched connection would have no deadline. */
    s->watch = conn_watch_new(s->opts.max_connections * 2, s->opts.header_timeout_seconds,
                              s->opts.body_timeout_seconds, s->opts.timeout_seconds);
    if (!s->watch) {
        freeaddrinfo(ai);
        return ERR_NOMEM;
    }
    struct MHD_OptionItem ops[] = {
        /* First, so that MHD's complaints about the options below reach our log too. */
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr},
        {MHD_OPTION_CONNECTION_TIMEOUT, s->opts.timeout_seconds, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, s->opts.max_connections, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)pool, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)connection_notified, s},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_seen, s},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {s->opts.mode == HTTP_MODE_POOL ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         s->opts.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_ARRAY, ops,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        conn_watch_free(s->watch);
        s->watch = NULL;
        log_kv(LOG_ERROR, "http: cannot listen (is the port in use?)",
               (struct log_kv[]){LOG_STR("bind_address", s->opts.bind_address),
                                 LOG_INT("port", s->opts.port)},
               2);
        return ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->opts.port;
    return 0;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_stop(struct http_server *s)
{
    if (!s || !s->daemon)
        return;
    /* Stop accepting first, so a load balancer sees refused connections at once, then let the
     * requests under way finish and send their answers (a client that saw no answer cannot
     * tell a committed write from a lost one, and its retry would write twice). */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    drain_wait(s);
    defer_drain(s);             /* deferred work (password hashing) ends before its requests go */
    MHD_stop_daemon(s->daemon); /* closes what is left: idle keep-alive connections */
    s->daemon = NULL;
    conn_watch_free(s->watch);
    s->watch = NULL;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    http_server_stop(s);
    pthread_mutex_destroy(&s->drain.mu);
    pthread_cond_destroy(&s->drain.idle);
    pthread_cond_destroy(&s->defer_cond);
    pthread_mutex_destroy(&s->defer_lock);
    free(s);
}
