/* http.h — the HTTP layer every stage serves through, over libmicrohttpd.
 *
 * A stage adds routes ("GET /tasks/{id:id}") and middleware; the layer does the rest the same way
 * for every route: it routes (404, 405 with Allow), gives every request an id, runs middleware,
 * checks {name:id} path parameters (404), the JSON Content-Type of body routes (415) and the body
 * size (413, from Content-Length before reading and again while a chunked body streams in),
 * bounds the request headers (431), reads the body, calls the handler, and sends the answer with
 * X-Request-Id. That is exactly API.md's order of checks: 401 (middleware) → 404 (path id) →
 * 415 → 413, leaving 400 → 422 → 404 → 412 to the handler. A request answered before its body
 * has at most 64 KiB of it read and dropped; a larger one, or one sent with Expect:
 * 100-continue, gets the answer at once (no 100 Continue) and the connection closes.
 *
 * Two concurrency models, chosen by configuration (week 3's lesson compares them): a pool of
 * epoll event loops (HTTP_MODE=pool, HTTP_THREADS loops), or one thread per connection. Handlers
 * run on those threads and may block briefly (work that takes long goes elsewhere: http_defer);
 * routes and middleware are fixed before http_server_start. */
#ifndef TASKD_HTTP_H
#define TASKD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;
struct http_req;
struct locals;
struct http_res;
struct cJSON; /* only http_res_json takes one: users of the layer need not see cJSON */

enum http_mode { HTTP_MODE_POOL, HTTP_MODE_THREAD_PER_CONNECTION };

struct http_options {
    const char *bind_address; /* "127.0.0.1", "0.0.0.0", "::1"... */
    unsigned port;            /* 0 asks the kernel for a free port (see http_server_port) */
    enum http_mode mode;
    unsigned threads;         /* event loops in pool mode; 0 = one per CPU */
    size_t max_body_bytes;    /* larger bodies are 413 */
    size_t max_header_bytes;  /* request line + headers larger than this are 431 */
    unsigned timeout_seconds; /* idle connections (and slow clients) are closed after this */
    unsigned max_connections; /* past this, new connections are accepted and closed at once */
    /* Total deadlines for receiving a request (conn_watch.h): the head within
     * header_timeout_seconds of the connection (or of the request line on a kept-alive one),
     * the body within body_timeout_seconds of the head. 0 takes 10 and 30. */
    unsigned header_timeout_seconds, body_timeout_seconds;
    /* Connections one client address may hold at once; 0 = half of max_connections, so that
     * one address cannot take every slot (and /health stays reachable). */
    unsigned max_connections_per_ip;
    /* How long http_server_stop lets requests under way finish and send their answers. */
    unsigned drain_seconds;
};

typedef void (*http_handler_fn)(struct http_req *req, struct http_res *res, void *ctx);

enum http_route_flags {
    /* The route takes a JSON body: a Content-Type other than application/json (with no
     * charset, or charset utf-8) is answered 415 by the layer. */
    HTTP_ROUTE_JSON_BODY = 1u << 0,
    /* Also accept application/merge-patch+json (RFC 7396), for PATCH routes. */
    HTTP_ROUTE_MERGE_PATCH = 1u << 1,
};

struct http_middleware {
    const char *name;
    /* Runs for every request that matched a route, before its body is read. Return 0 to go on;
     * non-zero means the middleware has answered through res and the handler is skipped. */
    int (*on_request)(struct http_req *req, struct http_res *res, void *ctx);
    /* Runs after the body has been read, just before the handler, for requests no one has
     * answered yet: for a decision that needs the body (week 3's Idempotency-Key compares a
     * hash of it). Return 0 to go on; non-zero means it has answered and the handler is skipped. */
    int (*on_body)(struct http_req *req, struct http_res *res, void *ctx);
    /* Runs for every answer just before it is sent, the layer's own included, and may still add
     * headers: how a middleware turns what was noted in the request's locals into a header. */
    void (*on_answer)(struct http_req *req, struct http_res *res, void *ctx);
    /* Runs once for every answer the server gives, the layer's own 404/405/413/431 included. */
    void (*on_response)(const struct http_req *req, const struct http_res *res, void *ctx);
    void *ctx;
};

/* Server lifecycle. http_server_new copies opts; returns NULL (and logs why) on bad options. */
struct http_server *http_server_new(const struct http_options *opts);
int http_server_start(struct http_server *s);
unsigned http_server_port(const struct http_server *s);
/* Stops accepting at once (new connections are refused), lets the requests under way finish
 * and send their answers (with Connection: close) for up to drain_seconds, then closes every
 * connection and returns. Returns at once when no request is under way. */
void http_server_stop(struct http_server *s);
void http_server_free(struct http_server *s); /* NULL is a no-op */

/* Adds a route. pattern segments are literals, {name} (any one segment) or {name:id} (a
 * canonical positive decimal ≤ 2^63−1, else 404 before the handler runs). The pattern string
 * must outlive the server. Returns 0, ERR_INVALID (bad pattern) or ERR_NOMEM. */
int http_route(struct http_server *s, const char *method, const char *pattern, http_handler_fn fn,
               void *ctx, unsigned flags);

/* The route table, in the order routes were added: the number of routes, and route i's method
 * ("GET") and pattern as people write it ("/tasks/{id}", the ":id" type dropped, as OpenAPI
 * spells a path). What `taskd routes` prints, so that a test can hold the route table against
 * the OpenAPI document. Returns 0, or ERR_NOT_FOUND when i is past the last route. */
size_t http_server_route_count(const struct http_server *s);
int http_server_route_at(const struct http_server *s, size_t i, const char **method,
                         const char **pattern);

/* True when a Content-Type is JSON as API.md accepts it: application/json (or, with
 * HTTP_ROUTE_MERGE_PATCH in flags, application/merge-patch+json), with no charset or charset
 * utf-8. What HTTP_ROUTE_JSON_BODY checks; for handlers whose body is optional. */
bool http_content_type_json(const char *ct, unsigned flags);

/* Appends a middleware (run in the order added). The struct is copied. 0 or ERR_NOMEM. */
int http_use(struct http_server *s, const struct http_middleware *mw);

/* ---- the request (valid only during the handler / middleware call) ---- */

struct http_query_arg {
    const char *key;
    const char *value; /* "" for "?a" and "?a=" */
    size_t value_len;  /* may contain NUL bytes if the client sent %00: check it */
};

const char *http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req);  /* decoded path, no query string */
const char *http_req_route(const struct http_req *req); /* "/tasks/{id}", or NULL */
const char *http_req_id(const struct http_req *req);    /* X-Request-Id of this exchange */
/* The client's address as text ("203.0.113.7", "::1"): the connection's peer, unless a middleware
 * has named the client behind a proxy it trusts (week 9's proxy_trust.h). */
const char *http_req_client_ip(const struct http_req *req);
/* For that middleware: ip (text as inet_ntop writes it, checked by the caller) replaces the
 * peer's address for the rest of the request: handlers, their throttles and the access log.
 * ERR_INVALID when it does not fit. */
int http_req_set_client_ip(struct http_req *req, const char *ip);
/* A header's value (name is case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* A path parameter by name, or NULL. */
const char *http_req_param(const struct http_req *req, const char *name);
/* The value of a {name:id} parameter (already checked), or 0 when there is none. */
int64_t http_req_param_id(const struct http_req *req, const char *name);
/* All query arguments in the order sent, repeats kept, '+' read as a space; *n gets the count. */
const struct http_query_arg *http_req_query(const struct http_req *req, size_t *n);
/* The whole body (NUL-terminated for convenience; len is the truth), or NULL when empty. */
const char *http_req_body(const struct http_req *req, size_t *len);

/* Milliseconds since the request's headers arrived. */
double http_req_elapsed_ms(const struct http_req *req);

/* The request's locals (locals.h): typed values that middleware, handlers and the code they
 * call attach to this one request (who is calling, how a store answered). The layer keeps them
 * and knows none of their keys; they live as long as the request. */
struct locals *http_req_locals(struct http_req *req);
const struct locals *http_req_locals_const(const struct http_req *req);

/* ---- deferred answers: work that would hold an event loop ----
 *
 * An event loop serves many connections on one thread, so a handler must not spend long on it
 * (argon2id takes ~60 ms of CPU). Such a handler calls http_defer(req), hands the work to
 * another thread (work_pool.h) and returns; that thread builds the answer in res and calls
 * http_deferred_done(req). Meanwhile the layer suspends the connection (HTTP_MODE_POOL: its
 * event loop goes on serving the others) or lets the connection's own thread wait for it
 * (thread per connection). After http_deferred_done, neither req nor res may be touched.
 * Call http_deferred_done exactly once for each http_defer, also when handing the work over
 * failed (after building that error answer; from the handler itself is fine). http_server_stop
 * waits for every deferred request before it stops, so whatever the work uses must outlive it. */
void http_defer(struct http_req *req);
void http_deferred_done(struct http_req *req);

/* ---- the response: build it in the handler; the layer sends it afterwards ---- */

/* Adds a header (copied). Content-Type and Content-Length are set by the body calls. */
void http_res_header(struct http_res *res, const char *name, const char *value);
/* Sets status and body (copied). */
void http_res_body(struct http_res *res, int status, const char *content_type, const void *body,
                   size_t len);
/* Sets status and a compact JSON body (application/json). */
void http_res_json(struct http_res *res, int status, const struct cJSON *body);
/* Sets a status with no body (204, 304). */
void http_res_empty(struct http_res *res, int status);
/* Sets an RFC 9457 problem body (application/problem+json):
 * {"type":"about:blank","title":<reason phrase>,"status":status,"detail":detail} (no "detail"
 * when it is NULL). The one writer of problem bodies: the layer's own 404/405/413/415/431/500
 * answers use it, and problem.h builds every other error answer on it. */
void http_res_problem(struct http_res *res, int status, const char *detail);
/* The same with extension members (RFC 9457 §3.2): members[0..len) is the text of one or more
 * rendered JSON object members, such as `"errors":[...]`, placed after the standard ones. NULL
 * or len 0 adds none. */
void http_res_problem_members(struct http_res *res, int status, const char *detail,
                              const char *members, size_t len);
/* The standard reason phrase for a status ("Unprocessable Content"); never NULL. */
const char *http_reason_phrase(int status);

int http_res_status(const struct http_res *res);
const char *http_res_get_header(const struct http_res *res, const char *name);
/* The body set so far (NULL when none) and its length in *len: what an on_answer middleware
 * reads to keep a copy of the answer (week 3's idempotency store). */
const char *http_res_get_body(const struct http_res *res, size_t *len);
/* True when building the answer ran out of memory: the layer will send a 500 instead of it. */
bool http_res_failed(const struct http_res *res);

#endif
