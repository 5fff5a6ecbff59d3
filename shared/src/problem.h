/* problem.h — error responses as RFC 9457 "problem details", and the one map from error codes
 * to HTTP statuses.
 *
 * A handler never writes an error body itself: it collects what was wrong (field_errors.h) or
 * has an error code, and calls one of these. That keeps every error the same shape, and keeps
 * the status a client sees for a given failure the same everywhere. Details never carry SQL,
 * paths or secrets: callers pass text written for the client. The body itself is written by the
 * HTTP layer (http_res_problem), which answers its own 404/405/413/415/431/500 the same way;
 * this module adds what only handlers need: the "errors" list, extension members, and the
 * error-code map. */
#ifndef TASKD_PROBLEM_H
#define TASKD_PROBLEM_H

struct http_res;
struct field_errors;
struct cJSON;

/* The HTTP status for an error code (ERR_NOT_FOUND → 404, ...). Unknown codes are 500. */
int problem_status_for(int err);

/* Sends {"type":"about:blank","title":<reason phrase>,"status":status,"detail":detail}. */
void problem_send(struct http_res *res, int status, const char *detail);
/* The same with an "errors" array built from fe (may be NULL). */
void problem_send_fields(struct http_res *res, int status, const char *detail,
                         const struct field_errors *fe);
/* The same with every member of the JSON object `ext` (may be NULL) added as an extension
 * member after the standard ones: week 2's /ready sends its "checks" this way. */
void problem_send_ext(struct http_res *res, int status, const char *detail,
                      const struct cJSON *ext);
/* 503 with Retry-After: 1: a backing service is down, nothing the client sent is wrong. */
void problem_send_unavailable(struct http_res *res, const char *detail);
/* problem_send with the status for err. */
void problem_send_err(struct http_res *res, int err, const char *detail);

#endif
