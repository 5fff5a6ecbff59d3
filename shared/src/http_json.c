/* http_json.c — see http_json.h. */
#include "http_json.h"

#include "err.h"
#include "http.h"
#include "json.h"
#include "problem.h"

int http_json_object(const struct http_req *req, struct http_res *res, cJSON **out,
                     struct field_errors **errs)
{
    *out = NULL;
    *errs = field_errors_new();
    if (!*errs) {
        problem_send_err(res, ERR_NOMEM, NULL);
        return ERR_NOMEM;
    }
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    const char *why = NULL;
    int rc = json_parse_strict(body ? body : "", len, out, *errs, &why);
    if (rc == ERR_MALFORMED) {
        problem_send(res, 400, why);
        return rc;
    }
    if (rc != 0) {
        problem_send_err(res, rc, NULL);
        return rc;
    }
    if (!cJSON_IsObject(*out)) {
        problem_send(res, 400, "the body must be a JSON object");
        return ERR_MALFORMED;
    }
    return 0;
}
