/* scope_http.c — the owner of a request, kept in its locals (see scope_http.h). */
#include "scope_http.h"

#include "http.h"
#include "locals.h"

/* Not logged: the owner is whatever the code that sets it says it is; that code logs its own
 * facts (who signed in) under its own key. */
static const struct locals_key owner_key = {.name = "owner_id"};

int scope_set_owner(struct http_req *req, int64_t owner_id)
{
    return locals_set_int(http_req_locals(req), &owner_key, owner_id);
}

struct scope scope_from_req(struct http_req *req)
{
    struct locals *l = http_req_locals(req);
    return (struct scope){.owner_id = locals_get_int(l, &owner_key), .locals = l};
}
