/* attack_tokens.c — every forged or misused token, on every route that needs a login.
 *
 * The routes come from the stage's /openapi.json (support/api_routes.h); a route needs a login
 * when it answers 401 to a request without one, so a route added later is attacked without
 * being listed here. Each token below is signed or shaped the way an attacker would try (alg
 * none, HS512 and RS256 header swaps, expired, not yet valid, duplicate keys, huge, a refresh
 * token in place of an access token, a sub with a NUL) and must be the 401 of a bad token on
 * every one of those routes. The user's own token is the control: it must not be 401 there, or
 * the refusals below would prove nothing. api_attacks.c grades the main cases one by one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_attack.h"
#include "api_helpers.h"
#include "api_routes.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define HS256      "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define TOKENS_MAX 64
#define HUGE_PART                                                                                  \
    (4 * 1024) /* 3 parts: 12 KiB, under MAX_HEADER_BYTES (16 KiB): it reaches the check */

struct forged {
    char label[96];
    char *token; /* malloc'd */
};

struct forgery {
    size_t n;
    struct forged tokens[TOKENS_MAX];
    unsigned char key[1024];
    size_t key_len;
};

static void add(struct forgery *f, const char *label, char *token)
{
    cr_assert(token && f->n < TOKENS_MAX, "test bug: token table full or out of memory");
    snprintf(f->tokens[f->n].label, sizeof f->tokens[f->n].label, "%s", label);
    f->tokens[f->n++].token = token;
}

/* claims for user id, valid now, with extra members (may be "") spliced in first: with
 * duplicate keys, a parser that keeps the first and one that keeps the last disagree. */
static char *claims_with(long long id, const char *first, long iat, long exp)
{
    long long now = w4_epoch_s();
    return api_format("{%s\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"iss\":\"taskd\","
                      "\"jti\":\"attack-%lld\"}",
                      first, id, now + iat, now + exp, now);
}

static void add_signed(struct forgery *f, const char *label, const char *header, char *claims,
                       int sha_bits)
{
    add(f, label, w4_jwt(header, claims, sha_bits, f->key, f->key_len));
    free(claims);
}

static void forge(struct forgery *f, const struct w4_user *u, const struct w4_user *other)
{
    long long id = u->id;
    f->key_len = w4_secret(f->key, sizeof f->key);
    const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    add_signed(f, "alg none, empty signature", none, claims_with(id, "", 0, 300), 0);
    add_signed(f, "alg none over a valid HS256 signature", none, claims_with(id, "", 0, 300), 256);
    add_signed(f, "alg None", "{\"alg\":\"None\"}", claims_with(id, "", 0, 300), 0);
    add_signed(f, "alg NONE", "{\"alg\":\"NONE\"}", claims_with(id, "", 0, 300), 0);
    add_signed(f, "alg HS512 signed HMAC-SHA-512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
               claims_with(id, "", 0, 300), 512);
    add_signed(f, "alg HS256 signed HMAC-SHA-512", HS256, claims_with(id, "", 0, 300), 512);
    add_signed(f, "alg RS256 signed HMAC-SHA-256 (key confusion)",
               "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims_with(id, "", 0, 300), 256);
    add_signed(f, "alg ES256 signed HMAC-SHA-256", "{\"alg\":\"ES256\"}",
               claims_with(id, "", 0, 300), 256);
    add_signed(f, "alg hs256", "{\"alg\":\"hs256\"}", claims_with(id, "", 0, 300), 256);
    add_signed(f, "no alg", "{\"typ\":\"JWT\"}", claims_with(id, "", 0, 300), 256);
    add_signed(f, "alg as a number", "{\"alg\":256}", claims_with(id, "", 0, 300), 256);
    add_signed(f, "duplicate alg (none, then HS256)", "{\"alg\":\"none\",\"alg\":\"HS256\"}",
               claims_with(id, "", 0, 300), 256);
    add_signed(f, "crit header", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
               claims_with(id, "", 0, 300), 256);
    add_signed(f, "expired an hour ago", HS256, claims_with(id, "", -7200, -3600), 256);
    add_signed(f, "expired a day ago", HS256, claims_with(id, "", -90000, -86400), 256);
    char extra[64];
    snprintf(extra, sizeof extra, "\"nbf\":%lld,", w4_epoch_s() + 3600);
    add_signed(f, "nbf an hour ahead", HS256, claims_with(id, extra, 0, 7200), 256);
    add_signed(f, "iat an hour ahead", HS256, claims_with(id, "", 3600, 7200), 256);
    snprintf(extra, sizeof extra, "\"sub\":\"%lld\",", other->id);
    add_signed(f, "duplicate sub (another user's first)", HS256, claims_with(id, extra, 0, 300),
               256);
    snprintf(extra, sizeof extra, "\"exp\":%lld,", w4_epoch_s() - 3600);
    add_signed(f, "duplicate exp (expired first)", HS256, claims_with(id, extra, 0, 300), 256);
    /* Claims that are wrong in themselves, signed right: sub (JSON text), then the rest. */
    static const struct {
        const char *label, *sub, *rest;
    } bad_claims[] = {
        {"sub with an escaped NUL", "\"%lld\\u0000x\"", ",\"iss\":\"taskd\""},
        {"sub as a number", "%lld", ",\"iss\":\"taskd\""},
        {"sub with a leading zero", "\"0%lld\"", ",\"iss\":\"taskd\""},
        {"sub of no user", "\"9223372036854775807\"", ",\"iss\":\"taskd\""},
        {"another issuer", "\"%lld\"", ",\"iss\":\"evil\""},
        {"no issuer", "\"%lld\"", ""},
    };
    for (size_t i = 0; i < sizeof bad_claims / sizeof bad_claims[0]; i++) {
        char sub[64];
        /* the formats above are the table's own literals, each with at most one %lld */
        snprintf(sub, sizeof sub, bad_claims[i].sub, id);
        add_signed(f, bad_claims[i].label, HS256,
                   api_format("{\"sub\":%s,\"iat\":%lld,\"exp\":%lld%s}", sub, w4_epoch_s(),
                              w4_epoch_s() + 300, bad_claims[i].rest),
                   256);
    }
    add_signed(f, "no exp", HS256,
               api_format("{\"sub\":\"%lld\",\"iat\":%lld,\"iss\":\"taskd\"}", id, w4_epoch_s()),
               256);
    static const char wrong_key[] = "not the server's key, not at all";
    char *claims = claims_with(id, "", 0, 300);
    add(f, "signed with another key",
        w4_jwt(HS256, claims, 256, (const unsigned char *)wrong_key, sizeof wrong_key - 1));
    free(claims);
    /* the user's own good token, altered */
    char *good = api_format("%s", u->access);
    good[strlen(good) - 2] ^= 1;
    add(f, "a real token with one signature bit flipped", good);
    char *dot = strrchr(u->access, '.');
    add(f, "a real token without its signature",
        api_format("%.*s.", (int)(dot - u->access), u->access));
    add(f, "a real token with a fourth part", api_format("%s.x", u->access));
    add(f, "a real token padded with =", api_format("%s=", u->access));
    add(f, "the refresh token as an access token", api_format("%s", u->refresh));
    char *filler = api_repeat("A", HUGE_PART);
    add(f, "a 12 KiB token", api_format("%s.%s.%s", filler, filler, filler));
    free(filler);
    add(f, "three empty parts", api_format(".."));
}

Test(tokens, forged_tokens_are_401_on_every_route_that_needs_a_login)
{
    struct tk_server *s = tk_shared();
    struct w4_user u, other;
    w4_user_new(s, "tokens", &u);
    w4_user_new(s, "tokens-other", &other);
    struct forgery *f = calloc(1, sizeof *f);
    cr_assert(f, "out of memory");
    forge(f, &u, &other);
    struct api_routes *routes = api_routes_load(s);
    struct api_attack_tally t;
    api_attack_begin(&t, "tokens");
    size_t protected = 0;
    for (size_t i = 0; i < api_routes_count(routes); i++) {
        const struct api_route *r = api_routes_at(routes, i);
        char path[API_ROUTE_PATH_MAX + 32];
        if (!api_route_path(r, "1", path, sizeof path))
            continue;
        const char *body = r->has_body ? "{}" : NULL;
        /* Needs a login: 401 with no Authorization at all ("Authorization:" keeps the kit from
         * adding its own, and libcurl sends no header for an empty one). */
        struct tk_response *anon = w4_as(s, "Authorization:", r->method, path, body);
        bool needs_login = anon->status == 401;
        tk_response_free(anon);
        if (!needs_login)
            continue;
        protected++;
        /* The control: the user's own token gets past the login check. */
        struct tk_response *own = w4_as(s, u.auth, r->method, path, body);
        snprintf(own->what, sizeof own->what, "%s %s with the user's own token", r->method, path);
        cr_assert(own->status != 401, "%s: expected anything but 401 (the control), got 401",
                  own->what);
        tk_response_free(own);
        for (size_t k = 0; k < f->n; k++) {
            char *auth = api_format("Authorization: Bearer %s", f->tokens[k].token);
            struct tk_response *res = w4_as(s, auth, r->method, path, body);
            free(auth);
            if (res->status >= 500)
                t.server_errors++;
            api_attack_result(&t, res->status == 401, "%s %s with %s: %ld %.*s", r->method, path,
                              f->tokens[k].label, res->status, W4_SHOWN, res->body);
            tk_response_free(res);
        }
    }
    cr_assert(protected > 0, "no route of /openapi.json answers 401 without a login");
    api_attack_figure("%zu forged tokens on %zu routes that need a login: %ld requests, %ld "
                      "refused with 401, %ld got through",
                      f->n, protected, t.tried, t.refused, t.got_through);
    for (size_t k = 0; k < f->n; k++)
        free(f->tokens[k].token);
    free(f);
    api_routes_free(routes);
    api_attack_end(&t);
}
