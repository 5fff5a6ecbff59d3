/* proxy_trust_http.c — the middleware of proxy_trust_http.h. */
#include "proxy_trust_http.h"

#include <arpa/inet.h>

#include "app.h"
#include "http.h"
#include "proxy_trust.h"

static int on_request(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)res;
    char ip[INET6_ADDRSTRLEN];
    if (proxy_trust_client(ctx, http_req_client_ip(req), http_req_header(req, "X-Forwarded-For"),
                           ip, sizeof ip))
        (void)http_req_set_client_ip(req, ip); /* fits: proxy_trust_client checked the size */
    return 0;
}

int proxy_trust_register(struct app *app, const struct proxy_trust *t)
{
    if (proxy_trust_count(t) == 0)
        return 0; /* trusting nobody: nothing to do on any request */
    const struct http_middleware mw = {
        .name = "proxy-trust", .on_request = on_request, .ctx = (void *)t};
    return http_use(app_http(app), &mw);
}
