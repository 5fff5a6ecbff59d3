/* proxy_trust.h — who the client is when taskd runs behind week 9's nginx.
 *
 * Behind a reverse proxy every connection comes from the proxy, so the address taskd sees is
 * the proxy's: week 4's login and register throttles would then count every client of the
 * world against one key, and one attacker would lock everyone out. nginx says who its client
 * was in X-Forwarded-For, but any client can send that header too, so it means something only
 * when the connection itself comes from a proxy we run. TRUSTED_PROXIES lists those proxies
 * (addresses or CIDR blocks); for a request from one of them, the client is the rightmost
 * address of X-Forwarded-For that is not itself a trusted proxy (what nginx appended, whatever
 * the client put to its left). From anyone else the header is ignored. Empty (the default):
 * trust nobody, as a taskd that faces clients directly must. */
#ifndef TASKD_PROXY_TRUST_H
#define TASKD_PROXY_TRUST_H

#include <stdbool.h>
#include <stddef.h>

struct proxy_trust;

/* Reads a list like "127.0.0.1, 10.0.0.0/8, ::1" (commas and/or spaces; "" trusts nobody).
 * 0, ERR_INVALID (an entry that is not an address or a CIDR block; *bad, if not NULL, gets its
 * position in list, 0-based) or ERR_NOMEM. At most PROXY_TRUST_MAX entries. */
#define PROXY_TRUST_MAX 32
int proxy_trust_new(const char *list, struct proxy_trust **out, size_t *bad);
void proxy_trust_free(struct proxy_trust *t);

/* How many entries t holds (0: it trusts nobody). */
size_t proxy_trust_count(const struct proxy_trust *t);

/* True when ip (text) is one of the trusted proxies. */
bool proxy_trust_has(const struct proxy_trust *t, const char *ip);

/* The client behind a proxy: peer is the connection's address, xff the X-Forwarded-For value
 * (NULL when absent). Writes the client's address to out (size out_len) and returns true when
 * the peer is trusted and xff names one; returns false (out untouched) otherwise: the peer
 * itself is then the client. */
bool proxy_trust_client(const struct proxy_trust *t, const char *peer, const char *xff, char *out,
                        size_t out_len);

#endif
