/* unit_proxy_trust.c — who the client is behind a trusted proxy (proxy_trust.c).
 *
 * The black-box suite (api_front.c) shows the login throttle counting the real client through
 * nginx. These tests hold the rule itself to its edges: what the list accepts, CIDR blocks of
 * both families, an IPv4 peer seen as IPv4-mapped IPv6, and every way a client could try to pass
 * as someone else through X-Forwarded-For. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "proxy_trust.h"
#include "testkit.h"

static struct proxy_trust *trust(const char *list)
{
    struct proxy_trust *t = NULL;
    size_t bad = 0;
    int rc = proxy_trust_new(list, &t, &bad);
    cr_assert(rc == 0 && t, "proxy_trust_new(\"%s\"): expected 0, got %d (at %zu)", list, rc, bad);
    return t;
}

/* The client proxy_trust_client names for a request from peer with xff, or "" when the peer
 * itself is the client. */
static void expect_client(const char *list, const char *peer, const char *xff, const char *want)
{
    struct proxy_trust *t = trust(list);
    char got[INET6_ADDRSTRLEN] = "";
    bool named = proxy_trust_client(t, peer, xff, got, sizeof got);
    proxy_trust_free(t);
    cr_assert(
        named == (want[0] != '\0') && strcmp(got, want) == 0,
        "TRUSTED_PROXIES=\"%s\", peer %s, X-Forwarded-For \"%s\": expected %s%s%s, got %s%s%s",
        list, peer, xff ? xff : "(none)", want[0] ? "\"" : "the peer", want, want[0] ? "\"" : "",
        named ? "\"" : "the peer", got, named ? "\"" : "");
}

GRADED(proxy_trust, reads_addresses_and_blocks, 1)
{
    struct proxy_trust *t = trust(" 127.0.0.1, 10.0.0.0/8 ::1\t2001:db8::/32 ");
    cr_assert(proxy_trust_has(t, "127.0.0.1"));
    cr_assert(proxy_trust_has(t, "10.200.3.4"));
    cr_assert(proxy_trust_has(t, "::1"));
    cr_assert(proxy_trust_has(t, "2001:db8:ffff::9"));
    cr_assert(!proxy_trust_has(t, "127.0.0.2"));
    cr_assert(!proxy_trust_has(t, "11.0.0.1"));
    cr_assert(!proxy_trust_has(t, "2001:db9::1"));
    cr_assert(!proxy_trust_has(t, "not an address"));
    proxy_trust_free(t);
}

static void expect_rejected(const char *list)
{
    struct proxy_trust *t = NULL;
    size_t bad = 99;
    int rc = proxy_trust_new(list, &t, &bad);
    cr_assert(rc == ERR_INVALID && !t, "TRUSTED_PROXIES=\"%s\" should be refused, got %d", list,
              rc);
    cr_assert(bad < strlen(list), "the bad entry's position (%zu) is outside \"%s\"", bad, list);
}

GRADED_EACH(proxy_trust, refuses_what_is_not_an_address, 1, expect_rejected, "localhost",
            "127.0.0.1/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "1.2.3",
            "127.0.0.1, nginx", "999.1.1.1")

GRADED(proxy_trust, empty_trusts_nobody, 1)
{
    struct proxy_trust *t = trust("");
    cr_assert(!proxy_trust_has(t, "127.0.0.1"));
    proxy_trust_free(t);
    expect_client("", "127.0.0.1", "203.0.113.9", "");
}

GRADED(proxy_trust, names_the_client_behind_a_trusted_proxy, 2)
{
    expect_client("127.0.0.1", "127.0.0.1", "203.0.113.9", "203.0.113.9");
    expect_client("127.0.0.1", "127.0.0.1", " 203.0.113.9 ", "203.0.113.9");
    expect_client("10.0.0.0/8", "10.1.2.3", "2001:db8::7", "2001:db8::7");
    /* A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d: still the same proxy. */
    expect_client("127.0.0.1", "::ffff:127.0.0.1", "203.0.113.9", "203.0.113.9");
    /* Through two proxies of ours: the client is before both. */
    expect_client("127.0.0.1, 10.0.0.0/8", "127.0.0.1", "203.0.113.9, 10.0.0.5", "203.0.113.9");
}

GRADED(proxy_trust, ignores_the_header_from_anyone_else, 2)
{
    expect_client("127.0.0.1", "198.51.100.4", "203.0.113.9", "");
    expect_client("127.0.0.1", "127.0.0.2", "127.0.0.9", "");
    expect_client("127.0.0.1", "127.0.0.1", NULL, "");
}

GRADED(proxy_trust, a_forged_entry_on_the_left_changes_nothing, 2)
{
    /* The client sent "X-Forwarded-For: 1.1.1.1"; nginx appended the address it saw. */
    expect_client("127.0.0.1", "127.0.0.1", "1.1.1.1, 198.51.100.4", "198.51.100.4");
    expect_client("127.0.0.1", "127.0.0.1", "garbage, 198.51.100.4", "198.51.100.4");
    /* A client naming a trusted proxy is skipped past like one, and still found. */
    expect_client("127.0.0.1", "127.0.0.1", "127.0.0.1, 198.51.100.4", "198.51.100.4");
}

GRADED(proxy_trust, junk_where_the_proxy_writes_names_nobody, 1)
{
    expect_client("127.0.0.1", "127.0.0.1", "198.51.100.4, not-an-ip", "");
    expect_client("127.0.0.1", "127.0.0.1", "", "");
    expect_client("127.0.0.1", "127.0.0.1", ",", "");
    expect_client("127.0.0.1", "127.0.0.1", "127.0.0.1", "");
    expect_client("127.0.0.1", "127.0.0.1", "198.51.100.4:5555", "");
}
