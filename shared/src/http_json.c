/* http_json.c — see http_json.h. */
#include "http_json.h"

#include <cjson/cJSON.h>

#include "err.h"
#include "field_errors.h"
#include "http.h"
#include "json.h"

int http_json_object(const struct http_req *req, struct http_res *res, cJSON **out,
                     struct field_errors **errs)
{
    *out = NULL;
    *errs = field_errors_new();
    if (!*errs) {
        http_res_problem(res, 500, NULL);
        return ERR_NOMEM;
    }
    size_t len = 0;
    const char *body = http_req_body(req, &len);
    const char *why = NULL;
    int rc = json_parse_strict(body ? body : "", len, out, *errs, &why);
    if (rc == ERR_MALFORMED) {
        http_res_problem(res, 400, why);
        return rc;
    }
    if (rc != 0) { /* ERR_NOMEM: the parser fails no other way */
        http_res_problem(res, 500, NULL);
        return rc;
    }
    if (!cJSON_IsObject(*out)) {
        http_res_problem(res, 400, "the body must be a JSON object");
        return ERR_MALFORMED;
    }
    return 0;
}
