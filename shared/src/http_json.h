/* http_json.h — a request body that must be a JSON object, read the one way every route does.
 *
 * Every JSON route of every week starts the same: parse the body strictly (json.h), answer 400
 * when it is not JSON or not an object, and hand the validator the rule breaks the parser
 * already found (a NUL escape, a duplicate key). Written once here so the answers agree. */
#ifndef TASKD_HTTP_JSON_H
#define TASKD_HTTP_JSON_H

struct cJSON;
struct http_req;
struct http_res;
struct field_errors;

/* Reads the body into *out, with a new list *errs of the rule breaks found while parsing, for
 * the validator to add to. Returns 0, or answers itself (400, or 500 when out of memory) and
 * returns non-zero; the caller frees *out (cJSON_Delete) and *errs either way. */
int http_json_object(const struct http_req *req, struct http_res *res, struct cJSON **out,
                     struct field_errors **errs);

#endif
