/* api_helpers.h — request and assertion helpers for the black-box suites of the task API.
 *
 * Week 1's suite (weeks/01-crud/tests/api_*.c) and every later week's talk HTTP only, through
 * the test kit. These helpers are the patterns several of their files repeat: "this body must
 * be rejected on that field", "this is a whole, well-formed task", "these are the ids of the
 * listed page", plus a raw socket for the protocol-level cases libcurl cannot produce (a
 * stalled client, a request with no body after its headers, garbage on the wire, in tk_raw.h).
 * Every helper fails the running test with a message naming the request, like the kit. */
#ifndef TASKD_API_HELPERS_H
#define TASKD_API_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

/* ---- paths and bodies ---- */

/* "/tasks/<id>" into buf. */
const char *api_task_path(long long id, char *buf, size_t buf_len);
/* unit repeated n times, NUL-terminated; the caller frees it. */
char *api_repeat(const char *unit, size_t n);
/* printf into a fresh string; the caller frees it. */
char *api_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Creates a task with a unique title on s and returns its id. */
long long api_new_task(struct tk_server *s);
/* A fresh task as api_new_task makes it: writes its path into path and returns its GET, whose
 * status (200) is checked; the caller frees it. */
struct tk_response *api_new_task_read(struct tk_server *s, char *path, size_t path_len);

/* ---- requests the kit has no shorthand for ---- */

/* method path with body and this Content-Type (NULL sends none) plus optional extra headers. */
struct tk_response *api_send(struct tk_server *s, const char *method, const char *path,
                             const char *content_type, const char *body, size_t body_len,
                             const char *extra_header);
/* PATCH or DELETE with an If-Match header (if_match NULL sends none). */
struct tk_response *api_patch_if_match(struct tk_server *s, long long id, const char *json,
                                       const char *if_match);
struct tk_response *api_delete_if_match(struct tk_server *s, long long id, const char *if_match);

/* ---- assertions ---- */

/* What a task body should hold; NULL/0 fields mean the API's defaults (description "", status
 * todo, priority normal, due_at null, tags [], version 1). */
struct api_task_want {
    const char *title;
    const char *description;
    const char *status;
    const char *priority;
    const char *due_at;      /* compared as an instant: both fraction forms are fine */
    const char *const *tags; /* NULL-terminated; NULL means [] */
    long long version;
};
/* The body is a whole task matching want: every field with its type, id > 0, timestamps
 * RFC 3339 in UTC with Z. */
void api_expect_task(const struct tk_response *r, const struct api_task_want *want);
/* A 422 problem whose errors name field (and possibly others). */
void api_expect_invalid(const struct tk_response *r, const char *field);
/* A 422 problem whose errors name exactly this one field. */
void api_expect_invalid_only(const struct tk_response *r, const char *field);
/* POSTs json to /tasks and expects 422 naming exactly field. */
void api_expect_create_rejected(struct tk_server *s, const char *json, const char *field);
/* POSTs json to /tasks and expects 201; returns the response (the caller frees it). */
struct tk_response *api_expect_created(struct tk_server *s, const char *json);
/* POSTs body (application/json) to /tasks and expects a 400 problem. */
void api_expect_create_malformed(struct tk_server *s, const char *body, size_t len);
/* A 405 problem whose Allow header lists exactly methods (NULL-terminated), in any order. */
void api_expect_allow(const struct tk_response *r, const char *const *methods);
/* POST, PUT and DELETE on path are each a 405 problem with Allow: GET (a read-only route). */
void api_expect_get_only(struct tk_server *s, const char *path);
/* X-Request-Id is present, 1..64 characters of [A-Za-z0-9._-]; copied into buf. */
const char *api_expect_sane_request_id(const struct tk_response *r, char *buf, size_t buf_len);

/* Content-Type is application/json (a charset=utf-8 parameter is fine). */
void api_expect_json_type(const struct tk_response *r);

/* ---- time ---- */

/* Parses an RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.frac]Z" into seconds since the epoch
 * and nanoseconds. Returns false for anything else (an offset other than Z included). */
bool api_parse_utc(const char *s, long long *sec, long *nsec);
/* The field is a UTC timestamp equal to the instant want (want may carry an offset). */
void api_expect_instant(const struct tk_response *r, const char *field, const char *want);

/* ---- listings ---- */

/* GET /tasks?query (query may be "") expecting 200 with {"items": [...], "next_cursor"}. */
struct tk_response *api_list(struct tk_server *s, const char *query);
/* The page's items are exactly these ids in this order. */
void api_expect_ids(const struct tk_response *r, const long long *ids, size_t n);
/* next_cursor, or NULL when it is null. */
const char *api_next_cursor(const struct tk_response *r);
/* A 400 problem whose errors name param. */
void api_expect_bad_param(struct tk_server *s, const char *query, const char *param);
/* api_expect_bad_param on the shared server for each query of the NULL-terminated list. */
void api_expect_bad_params(const char *param, const char *const *queries);

/* Pages through GET /tasks?query (query may be "") limit rows at a time, following next_cursor
 * until it is null, and collects the ids in order; every page but the last must be full.
 * Fails the test past max ids. Returns how many were collected. */
size_t api_collect(struct tk_server *s, const char *query, int limit, long long *ids, size_t max);
/* Creates n tasks titled "task <i>" with extra JSON members (may be ""); stores their ids. */
void api_create_many(struct tk_server *s, size_t n, const char *extra, long long *ids);

/* A private server for tests that need an empty store; stopped by api_private_fini, which
 * tests name in .fini so that it runs even when an assertion fails. */
struct tk_server *api_private(void);
void api_private_fini(void);

#endif
