/* api_attacks.c — black-box tests of what the authentication middleware refuses (API.md "Tokens
 * (week 4)", "Settled details: Auth", the 401 of "Bodies and errors").
 *
 * Every forged, tampered, stale or malformed token a client could send to GET /tasks must get
 * 401 problem+json with `WWW-Authenticate: Bearer realm="taskd", error="invalid_token"`, and a
 * request with no credentials at all the same 401 without the error part. The tokens are made
 * here, by the test: base64url JSON signed with HMAC (OpenSSL) under the servers' own key
 * (JWT_SECRET_FILE), so each one is exactly one rule away from a token the server accepts. Each
 * test first proves that: a well-formed token of its user, built the same way, gets 200 — without
 * that control a broken forger would make every attack "refused" for the wrong reason. A few
 * cases near the edges must be accepted (exp 10 s ago and nbf/iat 10 s ahead: inside the 30 s
 * leeway; the scheme in lower case), so that a middleware that refuses everything fails too.
 *
 * Attack cases: 44 refused (counted per case below, in brackets), plus 6 that must be accepted.
 *   alg none [3], other algorithms [4], wrong key and tampering [5], crit [1], exp [1],
 *   nbf/iat [2], issuer [3], missing claims [4], non-canonical sub [8], unknown user [2],
 *   deleted user [3: its real token, a forged one, its login], malformed [5],
 *   scheme and header [3: no "Bearer", Basic, no header at all]. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_w4_helpers.h"
#include "testkit.h"
#include "tk_raw.h"

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* A new user on the shared server, and the proof that a token forged here for it is accepted. */
static struct tk_server *victim(struct w4_user *u)
{
    struct tk_server *s = tk_shared();
    w4_user_new(s, "attack", u);
    char claims[256];
    char *token = w4_jwt_ours(w4_claims(u->id, 0, 300, claims, sizeof claims));
    char auth[W4_AUTH_MAX];
    struct tk_response *r = w4_as(s, w4_bearer(token, auth, sizeof auth), "GET", "/tasks", NULL);
    cr_assert(r->status == 200,
              "control: GET /tasks with a token the test signed with JWT_SECRET_FILE for a live "
              "user (%s) should be 200, got %ld: %.*s — either the server does not sign with that "
              "key or it refuses good tokens; every attack below would prove nothing",
              claims, r->status, W4_SHOWN, r->body);
    tk_response_free(r);
    free(token);
    return s;
}

/* GET /tasks with "Authorization: Bearer <token>" must be the 401 of a presented, bad token. */
static void expect_refused(struct tk_server *s, const char *token, const char *attack)
{
    char auth[8192];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct tk_response *r = w4_as(s, auth, "GET", "/tasks", NULL);
    snprintf(r->what, sizeof r->what, "GET /tasks with %s", attack);
    w4_expect_401(r, true);
    tk_response_free(r);
}

/* The same with a token the test frees. */
static void expect_refused_free(struct tk_server *s, char *token, const char *attack)
{
    expect_refused(s, token, attack);
    free(token);
}

/* The same with a token the test signs over claims with the server's key; the attack's name is
 * formatted from fmt. */
__attribute__((format(printf, 3, 4))) static void
expect_claims_refused(struct tk_server *s, const char *claims, const char *fmt, ...)
{
    char attack[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(attack, sizeof attack, fmt, ap);
    va_end(ap);
    expect_refused_free(s, w4_jwt_ours(claims), attack);
}

static void expect_accepted(struct tk_server *s, char *token, const char *edge)
{
    char auth[W4_AUTH_MAX];
    struct tk_response *r = w4_as(s, w4_bearer(token, auth, sizeof auth), "GET", "/tasks", NULL);
    snprintf(r->what, sizeof r->what, "GET /tasks with %s", edge);
    tk_expect_status(r, 200);
    tk_response_free(r);
    free(token);
}

static char *signed_with_secret(const char *header, const char *claims, int sha_bits)
{
    unsigned char key[1024];
    size_t key_len = w4_secret(key, sizeof key);
    return w4_jwt(header, claims, sha_bits, key, key_len);
}

/* victim(), with the good claims of its user (valid for 300 s from now) in claims. */
static struct tk_server *victim_claims(struct w4_user *u, char claims[256])
{
    struct tk_server *s = victim(u);
    w4_claims(u->id, 0, 300, claims, 256);
    return s;
}

GRADED(attacks, alg_none_is_refused, 2)
{
    struct w4_user u;
    char claims[256];
    struct tk_server *s = victim_claims(&u, claims);
    const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";

    char *t = w4_jwt(none, claims, 0, NULL, 0); /* "h.c." */
    expect_refused(s, t, "alg none and an empty signature");
    t[strlen(t) - 1] = '\0'; /* "h.c" */
    expect_refused_free(s, t, "alg none and no signature part");
    /* The right HS256 signature under a header that says none: alg must be read, not assumed. */
    expect_refused_free(s, signed_with_secret(none, claims, 256),
                        "alg none over a valid HS256 signature");
}

GRADED(attacks, other_algorithms_are_refused, 2)
{
    struct w4_user u;
    char claims[256];
    struct tk_server *s = victim_claims(&u, claims);
    expect_refused_free(s, signed_with_secret("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims, 512),
                        "alg HS512 signed with HMAC-SHA-512 under the secret");
    /* The classic confusion: an RS256 header, "verified" with the HMAC key. */
    expect_refused_free(s, signed_with_secret("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", claims, 256),
                        "alg RS256 signed with HMAC-SHA-256 under the secret");
    /* JWS algorithm names are case-sensitive. */
    expect_refused_free(s, signed_with_secret("{\"alg\":\"hs256\",\"typ\":\"JWT\"}", claims, 256),
                        "alg \"hs256\" (lower case)");
    expect_refused_free(s, signed_with_secret("{\"typ\":\"JWT\"}", claims, 256),
                        "a header without alg");
}

GRADED(attacks, wrong_key_or_tampered_signature_is_refused, 3)
{
    struct w4_user u;
    char claims[256];
    struct tk_server *s = victim_claims(&u, claims);

    const unsigned char other[] = "another key, 32 bytes or more, not the servers' one at all";
    expect_refused_free(s, w4_jwt(HS256_HEADER, claims, 256, other, sizeof other - 1),
                        "a token signed with another key");

    char *t = w4_jwt_ours(claims);
    char *sig = strrchr(t, '.') + 1;
    /* The first character carries the signature's first 6 bits: flipping the lowest bit of its
     * base64url value flips exactly one bit of the first byte. */
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char saved = sig[0];
    sig[0] = b64url[(strchr(b64url, saved) - b64url) ^ 1];
    expect_refused(s, t, "one bit of the signature flipped");
    sig[0] = saved;

    t[strlen(t) - 2] = '\0';
    expect_refused(s, t, "the signature truncated by two characters");
    *sig = '\0'; /* "h.c." */
    expect_refused(s, t, "the signature removed (\"h.c.\")");
    free(t);

    /* Claims changed after signing: the signature of one user's token under another's claims. */
    char *good = w4_jwt_ours(claims);
    char other_claims[256];
    w4_claims(u.id + 1, 0, 300, other_claims, sizeof other_claims);
    char *forged = w4_jwt_ours(other_claims);
    const char *good_sig = strrchr(good, '.');
    char *forged_sig = strrchr(forged, '.');
    char spliced[W4_TOKEN_MAX];
    snprintf(spliced, sizeof spliced, "%.*s%s", (int)(forged_sig - forged), forged, good_sig);
    expect_refused(s, spliced, "claims changed after signing (another sub, the old signature)");
    free(good);
    free(forged);
}

GRADED(attacks, crit_header_is_refused, 1)
{
    struct w4_user u;
    char claims[256];
    struct tk_server *s = victim_claims(&u, claims);
    expect_refused_free(
        s,
        signed_with_secret("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"crit\":[\"exp\"]}", claims, 256),
        "a crit header");
}

GRADED(attacks, expired_token_is_refused_past_the_leeway, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    char claims[256];
    expect_refused_free(s, w4_jwt_ours(w4_claims(u.id, -1000, -60, claims, sizeof claims)),
                        "exp 60 s ago (leeway 30 s)");
    expect_accepted(s, w4_jwt_ours(w4_claims(u.id, -1000, -10, claims, sizeof claims)),
                    "exp 10 s ago (inside the 30 s leeway: accepted)");
}

GRADED(attacks, future_nbf_or_iat_is_refused_past_the_leeway, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    long long now = w4_epoch_s();
    char claims[256];
    snprintf(claims, sizeof claims,
             "{\"sub\":\"%lld\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"iss\":\"taskd\","
             "\"jti\":\"nbf-future\"}",
             u.id, now, now + 120, now + 600);
    expect_refused_free(s, w4_jwt_ours(claims), "nbf 120 s ahead");
    snprintf(
        claims, sizeof claims,
        "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"iss\":\"taskd\",\"jti\":\"iat-future\"}",
        u.id, now + 120, now + 600);
    expect_refused_free(s, w4_jwt_ours(claims), "iat 120 s ahead");

    snprintf(claims, sizeof claims,
             "{\"sub\":\"%lld\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"iss\":\"taskd\","
             "\"jti\":\"nbf-near\"}",
             u.id, now, now + 10, now + 600);
    expect_accepted(s, w4_jwt_ours(claims), "nbf 10 s ahead (inside the leeway: accepted)");
    snprintf(claims, sizeof claims,
             "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"iss\":\"taskd\",\"jti\":\"iat-near\"}",
             u.id, now + 10, now + 600);
    expect_accepted(s, w4_jwt_ours(claims), "iat 10 s ahead (inside the leeway: accepted)");
}

GRADED(attacks, wrong_issuer_is_refused, 1)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    long long now = w4_epoch_s();
    static const char *const issuers[] = {"\"evil\"", "\"Taskd\"", "42"};
    for (size_t i = 0; i < sizeof issuers / sizeof issuers[0]; i++) {
        char claims[256];
        snprintf(claims, sizeof claims,
                 "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"iss\":%s,\"jti\":\"iss\"}", u.id,
                 now, now + 300, issuers[i]);
        expect_claims_refused(s, claims, "iss %s", issuers[i]);
    }
}

GRADED(attacks, missing_required_claims_are_refused, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    long long now = w4_epoch_s();
    char sub[48], iat[48], exp[48];
    snprintf(sub, sizeof sub, "\"sub\":\"%lld\",", u.id);
    snprintf(iat, sizeof iat, "\"iat\":%lld,", now);
    snprintf(exp, sizeof exp, "\"exp\":%lld,", now + 300);
    const char *iss = "\"iss\":\"taskd\",";
    const char *parts[] = {sub, iat, exp, iss};
    const char *names[] = {"sub", "iat", "exp", "iss"};
    for (size_t skip = 0; skip < 4; skip++) {
        char claims[256] = "{";
        for (size_t i = 0; i < 4; i++)
            if (i != skip)
                strncat(claims, parts[i], sizeof claims - strlen(claims) - 1);
        strncat(claims, "\"jti\":\"missing\"}", sizeof claims - strlen(claims) - 1);
        expect_claims_refused(s, claims, "no \"%s\" claim", names[skip]);
    }
}

/* A lenient parser turns these into the user's own id (or into some id): every one must be
 * refused, whoever they would name. */
GRADED(attacks, non_canonical_sub_is_refused, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    long long now = w4_epoch_s();
    char subs[9][64];
    snprintf(subs[0], sizeof subs[0], "\"0%lld\"", u.id); /* leading zero */
    snprintf(subs[1], sizeof subs[1], "\"+%lld\"", u.id); /* a sign */
    snprintf(subs[2], sizeof subs[2], "\"%lld \"", u.id); /* trailing space */
    snprintf(subs[3], sizeof subs[3], "%lld", u.id);      /* a number, not a string */
    snprintf(subs[4], sizeof subs[4], "\"-1\"");
    snprintf(subs[5], sizeof subs[5], "\"1e3\"");
    snprintf(subs[6], sizeof subs[6], "\"99999999999999999999\""); /* past 2^63-1 */
    snprintf(subs[7], sizeof subs[7], "\"\"");
    /* An escaped NUL: a JSON library that ends strings at NUL would read it as the user's id. */
    snprintf(subs[8], sizeof subs[8], "\"%lld\\u0000x\"", u.id);
    for (size_t i = 0; i < 9; i++) {
        char claims[256];
        snprintf(claims, sizeof claims,
                 "{\"sub\":%.63s,\"iat\":%lld,\"exp\":%lld,\"iss\":\"taskd\",\"jti\":\"sub\"}",
                 subs[i], now, now + 300);
        expect_claims_refused(s, claims, "sub %.63s (user %lld)", subs[i], u.id);
    }
}

GRADED(attacks, token_of_a_user_that_does_not_exist_is_refused, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    char claims[256];
    expect_refused_free(s, w4_jwt_ours(w4_claims(u.id + 1000000, 0, 300, claims, sizeof claims)),
                        "a well-signed token whose sub is no user");
    expect_refused_free(s, w4_jwt_ours(w4_claims(0, 0, 300, claims, sizeof claims)),
                        "a well-signed token whose sub is 0 (the anonymous owner of weeks 1-3)");
}

GRADED(attacks, token_of_a_deleted_user_is_refused_at_once, 3)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    struct tk_response *r = w4_as(s, u.auth, "GET", "/me", NULL);
    tk_expect_status(r, 200);
    tk_response_free(r);

    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE users SET deleted_at = now() WHERE id = %lld", u.id);
    w4_psql(tk_server_database_url(s), sql, NULL, 0);

    expect_refused(s, u.access, "the access token of a user deleted since it was issued");
    char claims[256];
    expect_refused_free(s, w4_jwt_ours(w4_claims(u.id, 0, 300, claims, sizeof claims)),
                        "a fresh token of a deleted user");
    r = w4_login(s, u.email, u.password);
    snprintf(r->what, sizeof r->what, "POST /auth/login of a deleted user");
    w4_expect_401_challenge(r);
    tk_response_free(r);
}

GRADED(attacks, malformed_tokens_are_refused, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);
    char claims[256];
    char *good = w4_jwt_ours(w4_claims(u.id, 0, 300, claims, sizeof claims));
    char t[W4_TOKEN_MAX + 64];

    snprintf(t, sizeof t, "%s.%s", good, strrchr(good, '.') + 1);
    expect_refused(s, t, "four parts (3 dots: a good token plus its signature again)");
    snprintf(t, sizeof t, "%.*s", (int)(strrchr(good, '.') - good), good);
    expect_refused(s, t, "two parts (1 dot: header.claims of a good token)");
    expect_refused(s, "not-a-token", "garbage");
    expect_refused(s, "..", "three empty parts");

    char *huge = malloc(5001);
    cr_assert(huge, "out of memory");
    size_t dot1 = (size_t)(strchr(good, '.') - good);
    memcpy(huge, good, dot1 + 1); /* a real header, then 5000 bytes of base64url claims */
    memset(huge + dot1 + 1, 'A', 5000 - dot1 - 1);
    memcpy(huge + 4990, strrchr(good, '.'), 10);
    huge[5000] = '\0';
    expect_refused(s, huge, "a 5000-byte token");
    free(huge);
    free(good);
}

GRADED(attacks, wrong_scheme_or_no_credentials_is_refused, 2)
{
    struct w4_user u;
    struct tk_server *s = victim(&u);

    /* Schemes are case-insensitive (RFC 7235): this one is the user's own token, accepted. */
    char auth[W4_AUTH_MAX];
    snprintf(auth, sizeof auth, "Authorization: bearer %s", u.access);
    struct tk_response *r = w4_as(s, auth, "GET", "/tasks", NULL);
    snprintf(r->what, sizeof r->what, "GET /tasks with \"Authorization: bearer <good token>\"");
    tk_expect_status(r, 200);
    tk_response_free(r);

    /* A token without its scheme, or another scheme: 401 with the Bearer challenge (whether
     * with error="invalid_token" or not: RFC 6750 advises without, API.md allows with). */
    snprintf(auth, sizeof auth, "Authorization: %s", u.access);
    r = w4_as(s, auth, "GET", "/tasks", NULL);
    snprintf(r->what, sizeof r->what,
             "GET /tasks with \"Authorization: <good token>\" (no Bearer)");
    w4_expect_401_challenge(r);
    tk_response_free(r);
    r = w4_as(s, "Authorization: Basic dGFzazpwYXNzd29yZA==", "GET", "/tasks", NULL);
    snprintf(r->what, sizeof r->what, "GET /tasks with \"Authorization: Basic ...\"");
    w4_expect_401_challenge(r);
    tk_response_free(r);

    /* No Authorization header at all: the kit adds its own to every request, so this one is
     * written by hand. No token was presented, so no error="invalid_token". */
    int fd = tk_raw_connect(s);
    const char req[] = "GET /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    cr_assert(tk_raw_send(fd, req, sizeof req - 1), "the server closed before reading GET /tasks");
    r = tk_raw_read(fd, "GET /tasks without an Authorization header", 5000);
    close(fd);
    w4_expect_401(r, false);
    tk_response_free(r);
}
