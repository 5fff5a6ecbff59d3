/* proxy_trust_http.h — TRUSTED_PROXIES applied to every request (proxy_trust.h says the rule).
 *
 * A middleware that runs before any handler: when the connection comes from a trusted proxy and
 * X-Forwarded-For names a client, that client's address replaces the peer's for the rest of the
 * request (http_req_client_ip), so week 4's throttles, which run in the handlers, key on it. */
#ifndef TASKD_PROXY_TRUST_HTTP_H
#define TASKD_PROXY_TRUST_HTTP_H

struct app;
struct proxy_trust;

/* Adds the middleware that applies t to every request to the app's server; nothing when t
 * trusts nobody. t must outlive the server. 0 or ERR_NOMEM. */
int proxy_trust_register(struct app *app, const struct proxy_trust *t);

#endif
