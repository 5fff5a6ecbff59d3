/* proxy_trust.c — the client's address behind a trusted proxy (proxy_trust.h).
 *
 * Addresses are compared as bytes, never as text: "::ffff:127.0.0.1" (how a dual-stack socket
 * shows an IPv4 peer) and "127.0.0.1" are the same host, and a text match on a CIDR block
 * would be wrong anyway. X-Forwarded-For is read from the right because each proxy appends the
 * address it saw: the entries to the left of the last trusted hop are the client's to invent. */
#include "proxy_trust.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct net {
    uint8_t addr[16]; /* IPv4 as an IPv4-mapped IPv6 address, so one comparison serves both */
    unsigned prefix;  /* bits of addr that must match, 0..128 */
};

struct proxy_trust {
    size_t n;
    struct net nets[PROXY_TRUST_MAX];
};

/* ip (text, no prefix) → 16 bytes. 0, or -1 when it is not an address; *v4 says which kind. */
static int parse_addr(const char *ip, uint8_t out[16], bool *v4)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *v4 = true;
        return 0;
    }
    *v4 = false;
    return inet_pton(AF_INET6, ip, out) == 1 ? 0 : -1;
}

/* One entry of the list, "ADDR" or "ADDR/BITS" (len bytes, not NUL-terminated). */
static int parse_net(const char *s, size_t len, struct net *out)
{
    char text[INET6_ADDRSTRLEN + 5];
    if (len == 0 || len >= sizeof text)
        return ERR_INVALID;
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    bool v4 = false;
    if (parse_addr(text, out->addr, &v4) != 0)
        return ERR_INVALID;
    unsigned max = v4 ? 32 : 128, bits = max;
    if (slash) {
        char *end = NULL;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || !isdigit((unsigned char)slash[1]) || b > max)
            return ERR_INVALID;
        bits = (unsigned)b;
    }
    out->prefix = v4 ? bits + 96 : bits;
    return 0;
}

int proxy_trust_new(const char *list, struct proxy_trust **out, size_t *bad)
{
    *out = NULL;
    struct proxy_trust *t = calloc(1, sizeof *t);
    if (!t)
        return ERR_NOMEM;
    int rc = 0;
    const char *p = list ? list : "";
    for (;;) {
        p += strspn(p, ", \t");
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", \t");
        if (t->n == PROXY_TRUST_MAX || parse_net(p, len, &t->nets[t->n]) != 0) {
            if (bad)
                *bad = (size_t)(p - list);
            rc = ERR_INVALID;
            goto cleanup;
        }
        t->n++;
        p += len;
    }
    *out = t;
    t = NULL;
cleanup:
    free(t);
    return rc;
}

void proxy_trust_free(struct proxy_trust *t)
{
    free(t);
}

size_t proxy_trust_count(const struct proxy_trust *t)
{
    return t->n;
}

static bool net_has(const struct net *n, const uint8_t addr[16])
{
    unsigned full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

static bool trusted(const struct proxy_trust *t, const uint8_t addr[16])
{
    for (size_t i = 0; i < t->n; i++)
        if (net_has(&t->nets[i], addr))
            return true;
    return false;
}

bool proxy_trust_has(const struct proxy_trust *t, const char *ip)
{
    uint8_t addr[16];
    bool v4 = false;
    return t->n > 0 && ip && parse_addr(ip, addr, &v4) == 0 && trusted(t, addr);
}

/* The entry of xff that ends at end (exclusive), trimmed, into buf. false when it is empty or
 * too long to be an address. */
static bool entry_before(const char *xff, const char *end, const char **start, char *buf,
                         size_t buf_len)
{
    const char *e = end;
    while (e > xff && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    const char *s = e;
    while (s > xff && s[-1] != ',')
        s--;
    *start = s;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= buf_len)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

bool proxy_trust_client(const struct proxy_trust *t, const char *peer, const char *xff, char *out,
                        size_t out_len)
{
    if (!xff || !proxy_trust_has(t, peer))
        return false;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        char ip[INET6_ADDRSTRLEN];
        const char *start = NULL;
        uint8_t addr[16];
        bool v4 = false;
        /* Something that is not an address where a proxy we trust wrote: stop, and let the
         * last trusted hop stand for the client rather than guess. */
        if (!entry_before(xff, end, &start, ip, sizeof ip) || parse_addr(ip, addr, &v4) != 0)
            return false;
        if (!trusted(t, addr)) {
            if (strlen(ip) >= out_len)
                return false;
            memcpy(out, ip, strlen(ip) + 1);
            return true;
        }
        end = start > xff ? start - 1 : xff; /* past the comma, to the next entry on the left */
    }
    return false; /* every hop was one of ours: the peer stays the client */
}
