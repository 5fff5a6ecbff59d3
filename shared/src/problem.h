/* problem.h — error responses as RFC 9457 "problem details", and the one map from error codes
 * to HTTP statuses.
 *
 * A handler never writes an error body itself: it collects what was wrong (field_errors) or has
 * an error code, and calls one of these. That keeps every error the same shape, and keeps the
 * status a client sees for a given failure the same everywhere. Details never carry SQL, paths
 * or secrets: callers pass text written for the client. */
#ifndef TASKD_PROBLEM_H
#define TASKD_PROBLEM_H

#include <stddef.h>

struct http_res;

/* At most this many entries are kept (API.md: "errors is capped at 100 entries"). */
#define FIELD_ERRORS_MAX 100

/* A list of (field, message) pairs: everything wrong with one request body. */
struct field_errors;

struct field_errors *field_errors_new(void);
void field_errors_free(struct field_errors *fe);
/* Copies both strings. Past FIELD_ERRORS_MAX the entry is counted but not kept. 0 or ERR_NOMEM */
int field_errors_add(struct field_errors *fe, const char *field, const char *message);
size_t field_errors_count(const struct field_errors *fe);
/* True when `field` already has an entry (so a rule can avoid reporting one field twice). */
int field_errors_has(const struct field_errors *fe, const char *field);

/* The HTTP status for an error code (ERR_NOT_FOUND → 404, ...). Unknown codes are 500. */
int problem_status_for(int err);

/* Sends {"type":"about:blank","title":<reason phrase>,"status":status,"detail":detail}. */
void problem_send(struct http_res *res, int status, const char *detail);
/* The same with an "errors" array built from fe (may be NULL). */
void problem_send_fields(struct http_res *res, int status, const char *detail,
                         const struct field_errors *fe);
/* 503 with Retry-After: 1: a backing service is down, nothing the client sent is wrong. */
void problem_send_unavailable(struct http_res *res, const char *detail);
/* problem_send with the status for err. */
void problem_send_err(struct http_res *res, int err, const char *detail);

/* The standard reason phrase for a status ("Unprocessable Content"); never NULL. */
const char *http_reason_phrase(int status);

#endif
