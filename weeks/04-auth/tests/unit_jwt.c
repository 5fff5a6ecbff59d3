/* unit_jwt.c — HS256 access tokens (jwt.h): the RFC examples, a round trip, and the attacks.
 *
 * Most tokens here are forged by the test itself (forge(): base64url + HMAC-SHA256 straight from
 * OpenSSL) and signed with the right key, so that each attack breaks exactly one rule and only
 * that rule can refuse it. Controls (tokens that must be accepted) show that the forger is right
 * and that the rules have the edges they claim.
 *
 * Attack cases: 66 tokens that must be refused, one test each —
 *   header (14): alg none with an empty signature, alg none with no signature part, alg none
 *     with a valid HS256 signature, HS512, RS256, "hs256", alg missing, alg not a string, crit,
 *     alg given twice, typ "JWS", header not JSON, JSON followed by garbage, header an array;
 *   signature (13): one bit flipped in the header, in the claims, in the first and in the last
 *     signature byte; another key; truncated to 31 bytes; 33 bytes; padding '='; '+' for '-';
 *     '/' for '_'; non-zero unused bits; a trailing newline; the RFC 7515 example under its own
 *     key (valid signature, invalid token);
 *   times (9): expired one second past the leeway, expired exactly at the leeway's edge, nbf
 *     and iat beyond the leeway, exp before iat, iat a string, iat a fraction, exp past 2^53,
 *     nbf a string;
 *   claims (22): wrong iss, iss not a string, sub/iat/exp/iss missing, sub "007", "-1", "1e3",
 *     "", 2^63, "0", "1\u0000x", "+1", " 1", "1 ", sub a number, sub given twice, jti too
 *     long, jti not a string, claims an array, claims not JSON;
 *   shape (8): 3 dots, 1 dot, empty header, empty claims, empty signature, 4097 bytes,
 *     5000 bytes, a space inside the signature. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "jwt.h"
#include "testkit.h"

#define NOW    INT64_C(1700000000)
#define ISSUER "taskd"

static const unsigned char KEY[] = "unit-test key for HS256: longer than 32 bytes";
static const unsigned char OTHER_KEY[] = "another key of the right length, not ours at all";
#define KEY_LEN       (sizeof KEY - 1)
#define OTHER_KEY_LEN (sizeof OTHER_KEY - 1)

#define HEADER      "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define GOOD_CLAIMS "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\"}"
/* GOOD_CLAIMS with another sub (JSON text: "\"007\"", or 42 for a number). */
#define CLAIMS_WITH_SUB(sub)                                                                       \
    "{\"sub\":" sub ",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\"}"

/* ------------------------------------------------------------------ forging tokens */

static char *b64(const void *data, size_t len)
{
    char *s = NULL;
    cr_assert_eq(jwt_b64url_encode(data, len, &s), 0, "expected base64url encoding to succeed");
    return s;
}

static char *steal(struct buf *b)
{
    cr_assert(!b->failed && b->data, "expected the test's buffer to grow");
    return buf_steal(b, NULL);
}

/* "a.b.c", or "a.b" when c is NULL; malloc'd. */
static char *join(const char *a, const char *b, const char *c)
{
    struct buf out = BUF_INIT;
    buf_printf(&out, "%s.%s", a, b);
    if (c)
        buf_printf(&out, ".%s", c);
    return steal(&out);
}

static char *mac_b64(const unsigned char *key, size_t key_len, const char *input)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    cr_assert(HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)input, strlen(input),
                   mac, &mac_len) != NULL &&
                  mac_len == 32,
              "expected OpenSSL's HMAC-SHA256 to give 32 bytes");
    return b64(mac, mac_len);
}

/* base64url(header).base64url(claims).HMAC-SHA256(key, those two parts). */
static char *forge(const char *header, const char *claims, const unsigned char *key, size_t key_len)
{
    char *h = b64(header, strlen(header)), *c = b64(claims, strlen(claims));
    char *input = join(h, c, NULL);
    char *sig = mac_b64(key, key_len, input);
    char *token = join(h, c, sig);
    free(h);
    free(c);
    free(input);
    free(sig);
    return token;
}

static char *sign(const char *header, const char *claims)
{
    return forge(header, claims, KEY, KEY_LEN);
}

/* Part i (0 header, 1 claims, 2 signature) of a three-part token, malloc'd. */
static char *part_of(const char *token, int i)
{
    const char *start = token;
    for (int k = 0; k < i; k++) {
        start = strchr(start, '.');
        cr_assert(start, "expected a three-part token");
        start++;
    }
    const char *end = strchr(start, '.');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    char *s = strndup(start, n);
    cr_assert(s, "expected strndup to succeed");
    return s;
}

/* token with part i replaced by text. */
static char *with_part(const char *token, int i, const char *text)
{
    char *p[3] = {part_of(token, 0), part_of(token, 1), part_of(token, 2)};
    char *out = join(i == 0 ? text : p[0], i == 1 ? text : p[1], i == 2 ? text : p[2]);
    for (int k = 0; k < 3; k++)
        free(p[k]);
    return out;
}

static unsigned char *decoded_part(const char *token, int i, size_t *len)
{
    char *text = part_of(token, i);
    unsigned char *bytes = NULL;
    cr_assert_eq(jwt_b64url_decode(text, strlen(text), &bytes, len), 0,
                 "expected part %d of the token to decode", i);
    free(text);
    return bytes;
}

/* token with bit `bit` of decoded byte `at` of part i flipped (re-encoded canonically). */
static char *flip_bit(const char *token, int i, size_t at, int bit)
{
    size_t len = 0;
    unsigned char *bytes = decoded_part(token, i, &len);
    cr_assert(at < len, "expected part %d to have a byte %zu", i, at);
    bytes[at] ^= (unsigned char)(1u << bit);
    char *text = b64(bytes, len);
    char *out = with_part(token, i, text);
    free(bytes);
    free(text);
    return out;
}

/* ------------------------------------------------------------------ verdicts */

static int verify_at(const char *token, int64_t now, struct jwt_claims *c)
{
    return jwt_verify_hs256(KEY, KEY_LEN, ISSUER, token, now, c);
}

static void expect_refused(char *token, const char *what)
{
    struct jwt_claims c;
    int rc = verify_at(token, NOW, &c);
    cr_assert_eq(rc, ERR_INVALID, "expected %s to be refused with ERR_INVALID (%d), got %d", what,
                 ERR_INVALID, rc);
    free(token);
}

static void expect_accepted(char *token, const char *what)
{
    struct jwt_claims c;
    int rc = verify_at(token, NOW, &c);
    cr_assert_eq(rc, 0, "expected %s to be accepted (0), got %d", what, rc);
    cr_assert_eq(c.sub, 42, "expected sub 42 from %s, got %lld", what, (long long)c.sub);
    free(token);
}

/* A good token followed by suffix, refused. */
static void refuse_good_token_plus(const char *suffix, const char *what)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    struct buf t = BUF_INIT;
    buf_printf(&t, "%s%s", good, suffix);
    expect_refused(steal(&t), what);
    free(good);
}

/* A good token with part i replaced by text, refused. */
static void refuse_good_token_with_part(int i, const char *text, const char *what)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    expect_refused(with_part(good, i, text), what);
    free(good);
}

/* {"alg":"none"}.GOOD_CLAIMS with signature part sig (NULL: none at all), refused. */
static void refuse_alg_none(const char *sig, const char *what)
{
    char *h = b64("{\"alg\":\"none\"}", 14), *c = b64(GOOD_CLAIMS, strlen(GOOD_CLAIMS));
    expect_refused(join(h, c, sig), what);
    free(h);
    free(c);
}

/* ------------------------------------------------------------------ base64url */

GRADED(jwt, b64url_matches_rfc4648_vectors_without_padding, 1)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char *s = b64(plain[i], strlen(plain[i]));
        cr_assert_str_eq(s, coded[i], "expected base64url(\"%s\") = \"%s\", got \"%s\"", plain[i],
                         coded[i], s);
        unsigned char *back = NULL;
        size_t n = 99;
        cr_assert_eq(jwt_b64url_decode(s, strlen(s), &back, &n), 0, "expected \"%s\" to decode", s);
        cr_assert(n == strlen(plain[i]) && memcmp(back, plain[i], n) == 0,
                  "expected \"%s\" to decode back to \"%s\"", s, plain[i]);
        free(back);
        free(s);
    }
    const unsigned char url_only[] = {0xfb, 0xff};
    char *s = b64(url_only, sizeof url_only);
    cr_assert_str_eq(s, "-_8", "expected the url-safe alphabet (- and _), got \"%s\"", s);
    free(s);
}

GRADED(jwt, b64url_decode_refuses_every_other_spelling, 1)
{
    static const char *const bad[] = {"Zg=", "Zg==", "Z",  "Zm9v\n", "Zm 9v",
                                      "+_8", "-/8",  "Zh", "Zm9=",   "Zm9"};
    /* Zh and Zm9: the unused low bits of the last character are not zero. */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *out = NULL;
        size_t n = 0;
        int rc = jwt_b64url_decode(bad[i], strlen(bad[i]), &out, &n);
        cr_assert_eq(rc, ERR_INVALID, "expected \"%s\" to be refused (ERR_INVALID), got %d", bad[i],
                     rc);
        cr_assert_null(out, "expected no output for \"%s\"", bad[i]);
    }
}

/* ------------------------------------------------------------------ the RFC examples */

/* RFC 7515 Appendix A.1: an HS256 JWS and its JWK symmetric key. */
static const char rfc7515_key_b64[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj"
    "0iPS4hcgUuTwjAzZr1Z9CAow";
static const char rfc7515_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

static unsigned char *rfc7515_key(size_t *len)
{
    unsigned char *key = NULL;
    cr_assert_eq(jwt_b64url_decode(rfc7515_key_b64, strlen(rfc7515_key_b64), &key, len), 0,
                 "expected the RFC's JWK \"k\" to decode");
    cr_assert_eq(*len, 64, "expected a 64-byte key, got %zu", *len);
    return key;
}

GRADED(jwt, rfc7515_a1_signature_checks_out, 2)
{
    size_t key_len = 0;
    unsigned char *key = rfc7515_key(&key_len);
    int rc = jwt_hs256_signature_ok(key, key_len, rfc7515_token);
    cr_assert_eq(rc, 0, "expected the RFC 7515 A.1 signature to verify with its key, got %d", rc);
    char *tampered = flip_bit(rfc7515_token, 1, 9, 0); /* "joe" -> "jne" */
    rc = jwt_hs256_signature_ok(key, key_len, tampered);
    cr_assert_eq(rc, ERR_INVALID, "expected one flipped bit to break the signature, got %d", rc);
    free(tampered);
    free(key);
}

GRADED(jwt, rfc7515_a1_token_is_refused_valid_signature_invalid_token, 2)
{
    size_t key_len = 0;
    unsigned char *key = rfc7515_key(&key_len);
    struct jwt_claims c;
    /* Even as "joe" and before its exp (2011-03-22): it has no sub and no iat. */
    int rc = jwt_verify_hs256(key, key_len, "joe", rfc7515_token, 1300819380 - 60, &c);
    cr_assert_eq(rc, ERR_INVALID,
                 "expected the RFC token (no sub, no iat) to be refused even for issuer joe "
                 "before exp, got %d",
                 rc);
    rc = jwt_verify_hs256(key, key_len, ISSUER, rfc7515_token, NOW, &c);
    cr_assert_eq(rc, ERR_INVALID, "expected the RFC token to be refused for taskd in 2023, got %d",
                 rc);
    free(key);
}

GRADED(jwt, rfc7519_3_1_example_decodes_to_its_header_and_claims, 1)
{
    static const char header[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
    static const char claims[] =
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
    size_t n = 0;
    unsigned char *h = decoded_part(rfc7515_token, 0, &n);
    cr_assert(n == strlen(header) && memcmp(h, header, n) == 0,
              "expected the header to decode to the RFC's bytes, got \"%.*s\"", (int)n, h);
    unsigned char *c = decoded_part(rfc7515_token, 1, &n);
    cr_assert(n == strlen(claims) && memcmp(c, claims, n) == 0,
              "expected the claims to decode to the RFC's bytes, got \"%.*s\"", (int)n, c);
    free(h);
    free(c);
}

/* ------------------------------------------------------------------ round trip and controls */

GRADED(jwt, a_signed_token_verifies_with_the_same_claims, 2)
{
    struct jwt_claims in = {.sub = 42, .iat = NOW, .exp = NOW + 900};
    char *token = NULL;
    int rc = jwt_sign_hs256(KEY, KEY_LEN, ISSUER, &in, &token);
    cr_assert_eq(rc, 0, "expected signing to succeed, got %d", rc);
    cr_assert_eq(strlen(in.jti), JWT_JTI_LEN, "expected a %d-character jti, got \"%s\"",
                 JWT_JTI_LEN, in.jti);
    cr_assert_eq(strspn(in.jti, "0123456789abcdef"), JWT_JTI_LEN,
                 "expected the jti to be lowercase hex, got \"%s\"", in.jti);

    struct jwt_claims out;
    rc = verify_at(token, NOW, &out);
    cr_assert_eq(rc, 0, "expected our own token to verify, got %d", rc);
    cr_assert(out.sub == 42 && out.iat == NOW && out.exp == NOW + 900,
              "expected sub 42, iat %lld, exp %lld; got %lld, %lld, %lld", (long long)NOW,
              (long long)(NOW + 900), (long long)out.sub, (long long)out.iat, (long long)out.exp);
    cr_assert_str_eq(out.jti, in.jti, "expected jti \"%s\" back, got \"%s\"", in.jti, out.jti);

    size_t n = 0;
    unsigned char *h = decoded_part(token, 0, &n);
    cr_assert(n == strlen(HEADER) && memcmp(h, HEADER, n) == 0,
              "expected the header %s, got \"%.*s\"", HEADER, (int)n, h);
    unsigned char *c = decoded_part(token, 1, &n);
    char want[256];
    snprintf(
        want, sizeof want,
        "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\",\"jti\":\"%s\"}",
        in.jti);
    cr_assert(n == strlen(want) && memcmp(c, want, n) == 0,
              "expected compact claims %s (sub a string), got \"%.*s\"", want, (int)n, c);
    free(h);
    free(c);
    free(token);
}

GRADED(jwt, every_token_gets_its_own_jti, 1)
{
    struct jwt_claims a = {.sub = 7, .iat = NOW, .exp = NOW + 60}, b = a;
    char *ta = NULL, *tb = NULL;
    cr_assert_eq(jwt_sign_hs256(KEY, KEY_LEN, ISSUER, &a, &ta), 0, "expected signing to succeed");
    cr_assert_eq(jwt_sign_hs256(KEY, KEY_LEN, ISSUER, &b, &tb), 0, "expected signing to succeed");
    cr_assert_str_neq(a.jti, b.jti, "expected two different jti, got \"%s\" twice", a.jti);
    free(ta);
    free(tb);
}

GRADED(jwt, signing_refuses_a_short_key_and_bad_claims, 1)
{
    char *token = NULL;
    struct jwt_claims c = {.sub = 42, .iat = NOW, .exp = NOW + 900};
    cr_assert_eq(jwt_sign_hs256(KEY, JWT_SECRET_MIN - 1, ISSUER, &c, &token), ERR_INVALID,
                 "expected a %d-byte key to be refused", JWT_SECRET_MIN - 1);
    c.sub = 0;
    cr_assert_eq(jwt_sign_hs256(KEY, KEY_LEN, ISSUER, &c, &token), ERR_INVALID,
                 "expected sub 0 to be refused");
    c.sub = 42;
    c.exp = NOW - 1;
    cr_assert_eq(jwt_sign_hs256(KEY, KEY_LEN, ISSUER, &c, &token), ERR_INVALID,
                 "expected exp before iat to be refused");
    cr_assert_null(token, "expected no token from a refused signing");
}

GRADED(jwt, verify_refuses_a_short_key, 1)
{
    char *token = sign(HEADER, GOOD_CLAIMS);
    struct jwt_claims c;
    int rc = jwt_verify_hs256(KEY, JWT_SECRET_MIN - 1, ISSUER, token, NOW, &c);
    cr_assert_eq(rc, ERR_INVALID, "expected a key shorter than JWT_SECRET_MIN to be refused");
    free(token);
}

GRADED(jwt, control_a_forged_good_token_is_accepted, 1)
{
    expect_accepted(sign(HEADER, GOOD_CLAIMS), "a well-formed token signed with our key");
}

GRADED(jwt, control_typ_may_be_absent_and_unknown_header_members_pass, 1)
{
    expect_accepted(sign("{\"alg\":\"HS256\",\"kid\":\"k1\"}", GOOD_CLAIMS),
                    "a header without typ and with kid");
}

GRADED(jwt, control_exp_inside_the_leeway_is_accepted, 1)
{
    /* exp = now - 29: expired 29 s ago, within the 30 s leeway. */
    expect_accepted(sign(HEADER, "{\"sub\":\"42\",\"iat\":1699999000,\"exp\":1699999971,"
                                 "\"iss\":\"taskd\"}"),
                    "a token expired 29 s ago");
}

GRADED(jwt, control_nbf_and_iat_inside_the_leeway_are_accepted, 1)
{
    expect_accepted(sign(HEADER, "{\"sub\":\"42\",\"iat\":1700000030,\"nbf\":1700000030,"
                                 "\"exp\":1700000900,\"iss\":\"taskd\",\"jti\":\"abc\"}"),
                    "a token with iat and nbf 30 s ahead");
}

/* A token whose claims carry pad_len filler characters. */
static char *padded_token(size_t pad_len)
{
    struct buf claims = BUF_INIT;
    buf_puts(&claims, "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\","
                      "\"pad\":\"");
    for (size_t i = 0; i < pad_len; i++)
        buf_putc(&claims, 'x');
    buf_puts(&claims, "\"}");
    char *c = steal(&claims);
    char *token = sign(HEADER, c);
    free(c);
    return token;
}

/* The claims length that makes a token exactly JWT_TOKEN_MAX bytes: header(36) . claims . sig(43)
 * with 4015 characters of claims, which is 3011 bytes. */
#define PAD_FOR_MAX                                                                                \
    (3011 - strlen("{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,"                        \
                   "\"iss\":\"taskd\",\"pad\":\"\"}"))

GRADED(jwt, control_a_token_of_exactly_JWT_TOKEN_MAX_bytes_is_accepted, 1)
{
    char *token = padded_token(PAD_FOR_MAX);
    cr_assert_eq(strlen(token), JWT_TOKEN_MAX, "expected a %d-byte token, built %zu", JWT_TOKEN_MAX,
                 strlen(token));
    expect_accepted(token, "a token of exactly JWT_TOKEN_MAX bytes");
}

/* ------------------------------------------------------------------ attacks signed with our key
 *
 * Most attacks are one token, signed with the right key, that breaks one rule: its header and
 * claims are all there is to it. They stand here, one row each, named by their test; the tests
 * follow the table, one graded test per token, each finding its row by its own name
 * (criterion_current_test). Attacks that need more than a header and claims (no signature, a
 * flipped bit, another spelling of base64, the wrong shape) follow in sections of their own. */

struct signed_attack {
    const char *test; /* the GRADED test that refuses it */
    const char *header, *claims;
    const char *what; /* how a failure names the token */
};

static const struct signed_attack signed_attacks[] = {
    /* header */
    {"refuses_alg_none_even_with_a_valid_hs256_signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}",
     GOOD_CLAIMS, "alg none (signed with our key)"},
    {"refuses_alg_hs512", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", GOOD_CLAIMS, "alg HS512"},
    {"refuses_alg_rs256", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", GOOD_CLAIMS, "alg RS256"},
    {"refuses_alg_in_lowercase", "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", GOOD_CLAIMS,
     "alg \"hs256\""},
    {"refuses_a_header_without_alg", "{\"typ\":\"JWT\"}", GOOD_CLAIMS, "a header without alg"},
    {"refuses_alg_that_is_not_a_string", "{\"alg\":[\"HS256\"]}", GOOD_CLAIMS, "alg [\"HS256\"]"},
    {"refuses_a_crit_header", "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", GOOD_CLAIMS,
     "a header with crit"},
    /* cJSON finds the first (HS256); a parser that keeps the last sees none. */
    {"refuses_alg_given_twice", "{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD_CLAIMS,
     "a header with alg twice"},
    {"refuses_typ_other_than_jwt", "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", GOOD_CLAIMS, "typ JWS"},
    {"refuses_a_header_that_is_not_json", "{\"alg\":\"HS256\"", GOOD_CLAIMS,
     "a header that is not JSON"},
    {"refuses_a_header_with_garbage_after_the_json", "{\"alg\":\"HS256\"}x", GOOD_CLAIMS,
     "a header with bytes after its JSON"},
    {"refuses_a_header_that_is_an_array", "[{\"alg\":\"HS256\"}]", GOOD_CLAIMS,
     "a header that is an array"},
    /* times */
    /* exp = now - 31 */
    {"refuses_exp_one_second_past_the_leeway", HEADER,
     "{\"sub\":\"42\",\"iat\":1699999000,\"exp\":1699999969,\"iss\":\"taskd\"}",
     "a token expired 31 s ago (leeway 30 s)"},
    /* exp = now - 30: exp <= now - leeway is expired. */
    {"refuses_exp_exactly_at_the_leeway_edge", HEADER,
     "{\"sub\":\"42\",\"iat\":1699999000,\"exp\":1699999970,\"iss\":\"taskd\"}",
     "a token expired exactly 30 s ago"},
    {"refuses_nbf_beyond_the_leeway", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"nbf\":1700000031,\"exp\":1700000900,\"iss\":\"taskd\"}",
     "a token with nbf 31 s ahead"},
    {"refuses_iat_beyond_the_leeway", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000031,\"exp\":1700000900,\"iss\":\"taskd\"}",
     "a token issued 31 s in the future"},
    /* iat now + 20 (inside the leeway), exp now + 10 (not expired): only the order is wrong. */
    {"refuses_exp_before_iat", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000020,\"exp\":1700000010,\"iss\":\"taskd\"}",
     "a token with exp before iat"},
    {"refuses_iat_as_a_string", HEADER,
     "{\"sub\":\"42\",\"iat\":\"1700000000\",\"exp\":1700000900,\"iss\":\"taskd\"}",
     "iat as a string"},
    {"refuses_iat_as_a_fraction", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000.5,\"exp\":1700000900,\"iss\":\"taskd\"}",
     "iat 1700000000.5"},
    {"refuses_exp_beyond_2_pow_53", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":9007199254740994,\"iss\":\"taskd\"}",
     "exp 2^53 + 2"},
    {"refuses_nbf_as_a_string", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"nbf\":\"0\",\"exp\":1700000900,\"iss\":\"taskd\"}",
     "nbf as a string"},
    /* claims */
    {"refuses_a_wrong_issuer", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"evil\"}", "iss evil"},
    {"refuses_iss_that_is_not_a_string", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":[\"taskd\"]}",
     "iss [\"taskd\"]"},
    {"refuses_a_missing_sub", HEADER, "{\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\"}",
     "a token without sub"},
    {"refuses_a_missing_iat", HEADER, "{\"sub\":\"42\",\"exp\":1700000900,\"iss\":\"taskd\"}",
     "a token without iat"},
    {"refuses_a_missing_exp", HEADER, "{\"sub\":\"42\",\"iat\":1700000000,\"iss\":\"taskd\"}",
     "a token without exp"},
    {"refuses_a_missing_iss", HEADER, "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900}",
     "a token without iss"},
    {"refuses_sub_with_a_leading_zero", HEADER, CLAIMS_WITH_SUB("\"007\""), "sub \"007\""},
    {"refuses_sub_negative", HEADER, CLAIMS_WITH_SUB("\"-1\""), "sub \"-1\""},
    {"refuses_sub_in_exponent_form", HEADER, CLAIMS_WITH_SUB("\"1e3\""), "sub \"1e3\""},
    {"refuses_sub_empty", HEADER, CLAIMS_WITH_SUB("\"\""), "sub \"\""},
    {"refuses_sub_of_2_pow_63", HEADER, CLAIMS_WITH_SUB("\"9223372036854775808\""), "sub 2^63"},
    {"refuses_sub_zero", HEADER, CLAIMS_WITH_SUB("\"0\""), "sub \"0\""},
    {"refuses_sub_as_a_number", HEADER, CLAIMS_WITH_SUB("42"), "sub 42 as a JSON number"},
    /* cJSON's strings end at a NUL: without the check this one was user 1. */
    {"refuses_sub_with_an_escaped_nul", HEADER, CLAIMS_WITH_SUB("\"1\\u0000x\""),
     "sub \"1\\u0000x\""},
    {"refuses_sub_with_a_plus_sign", HEADER, CLAIMS_WITH_SUB("\"+1\""), "sub \"+1\""},
    {"refuses_sub_with_a_leading_space", HEADER, CLAIMS_WITH_SUB("\" 1\""), "sub \" 1\""},
    {"refuses_sub_with_a_trailing_space", HEADER, CLAIMS_WITH_SUB("\"1 \""), "sub \"1 \""},
    {"refuses_sub_given_twice", HEADER,
     "{\"sub\":\"42\",\"sub\":\"1\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\"}",
     "claims with sub twice"},
    {"refuses_a_jti_longer_than_ours", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\",\"jti\":"
     "\"0123456789abcdef0123456789abcdef0\"}",
     "a 33-character jti"},
    {"refuses_a_jti_that_is_not_a_string", HEADER,
     "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\",\"jti\":7}",
     "jti 7 as a number"},
    {"refuses_claims_that_are_an_array", HEADER, "[" GOOD_CLAIMS "]", "claims that are an array"},
    {"refuses_claims_that_are_not_json", HEADER, "sub=42", "claims that are not JSON"},
};

/* Refuses the calling test's row of signed_attacks. */
static void refuses_its_signed_attack(void)
{
    const char *name = criterion_current_test->name;
    for (size_t i = 0; i < sizeof signed_attacks / sizeof signed_attacks[0]; i++) {
        const struct signed_attack *a = &signed_attacks[i];
        if (strcmp(a->test, name) == 0) {
            expect_refused(sign(a->header, a->claims), a->what);
            return;
        }
    }
    cr_assert_fail("test bug: %s has no row in signed_attacks", name);
}

GRADED(jwt, refuses_alg_none_even_with_a_valid_hs256_signature, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_alg_hs512, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_alg_rs256, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_alg_in_lowercase, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_header_without_alg, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_alg_that_is_not_a_string, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_crit_header, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_alg_given_twice, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_typ_other_than_jwt, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_header_that_is_not_json, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_header_with_garbage_after_the_json, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_header_that_is_an_array, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_exp_one_second_past_the_leeway, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_exp_exactly_at_the_leeway_edge, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_nbf_beyond_the_leeway, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_iat_beyond_the_leeway, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_exp_before_iat, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_iat_as_a_string, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_iat_as_a_fraction, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_exp_beyond_2_pow_53, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_nbf_as_a_string, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_wrong_issuer, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_iss_that_is_not_a_string, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_missing_sub, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_missing_iat, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_missing_exp, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_missing_iss, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_with_a_leading_zero, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_negative, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_in_exponent_form, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_empty, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_of_2_pow_63, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_zero, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_as_a_number, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_with_an_escaped_nul, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_with_a_plus_sign, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_with_a_leading_space, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_with_a_trailing_space, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_sub_given_twice, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_jti_longer_than_ours, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_a_jti_that_is_not_a_string, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_claims_that_are_an_array, 1)
{
    refuses_its_signed_attack();
}

GRADED(jwt, refuses_claims_that_are_not_json, 1)
{
    refuses_its_signed_attack();
}

/* ------------------------------------------------------------------ attacks: header */

GRADED(jwt, refuses_alg_none_with_an_empty_signature, 1)
{
    refuse_alg_none("", "alg none with an empty signature");
}

GRADED(jwt, refuses_alg_none_without_a_signature_part, 1)
{
    refuse_alg_none(NULL, "alg none with no signature part");
}

/* ------------------------------------------------------------------ attacks: signature */

GRADED(jwt, refuses_one_bit_flipped_in_the_header, 1)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"a\"}";
    char *good = sign(header, GOOD_CLAIMS);
    struct jwt_claims c;
    cr_assert_eq(verify_at(good, NOW, &c), 0, "control: expected the unflipped token to pass");
    /* 'a' -> '`': still a valid header, but not the one that was signed. */
    expect_refused(flip_bit(good, 0, strlen(header) - 3, 0), "a token with a header bit flipped");
    free(good);
}

GRADED(jwt, refuses_one_bit_flipped_in_the_claims, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    /* "42" -> "43": someone else's account. */
    expect_refused(flip_bit(good, 1, strlen("{\"sub\":\"4"), 0), "a token with sub 42 made 43");
    free(good);
}

GRADED(jwt, refuses_one_bit_flipped_in_the_first_signature_byte, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    expect_refused(flip_bit(good, 2, 0, 0), "a token with a bit of signature byte 0 flipped");
    free(good);
}

GRADED(jwt, refuses_one_bit_flipped_in_the_last_signature_byte, 1)
{
    /* A comparison that stops one byte short would pass this one. */
    char *good = sign(HEADER, GOOD_CLAIMS);
    expect_refused(flip_bit(good, 2, 31, 0), "a token with a bit of signature byte 31 flipped");
    free(good);
}

GRADED(jwt, refuses_a_signature_made_with_another_key, 1)
{
    expect_refused(forge(HEADER, GOOD_CLAIMS, OTHER_KEY, OTHER_KEY_LEN),
                   "a token signed with another key");
}

GRADED(jwt, refuses_a_truncated_signature, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    size_t n = 0;
    unsigned char *sig = decoded_part(good, 2, &n);
    char *short_sig = b64(sig, n - 1);
    expect_refused(with_part(good, 2, short_sig), "a signature cut to 31 bytes");
    free(short_sig);
    free(sig);
    free(good);
}

GRADED(jwt, refuses_a_signature_with_an_extra_byte, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    size_t n = 0;
    unsigned char *sig = decoded_part(good, 2, &n);
    unsigned char longer[33];
    memcpy(longer, sig, 32);
    longer[32] = 0;
    char *long_sig = b64(longer, sizeof longer);
    expect_refused(with_part(good, 2, long_sig), "a signature of 33 bytes");
    free(long_sig);
    free(sig);
    free(good);
}

GRADED(jwt, refuses_padding_in_a_part, 1)
{
    /* 32 bytes padded is the standard spelling: a lenient decoder would accept the same bytes. */
    refuse_good_token_plus("=", "a signature with '=' padding");
}

/* A good token whose signature contains c (found by varying the jti). */
static char *token_with_signature_char(char c)
{
    for (int i = 0; i < 1000; i++) {
        char claims[160];
        snprintf(claims, sizeof claims,
                 "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"iss\":\"taskd\","
                 "\"jti\":\"%d\"}",
                 i);
        char *token = sign(HEADER, claims);
        if (strchr(strrchr(token, '.'), c))
            return token;
        free(token);
    }
    cr_assert_fail("expected one of 1000 signatures to contain '%c'", c);
    return NULL;
}

GRADED(jwt, refuses_plus_in_a_part, 1)
{
    char *t = token_with_signature_char('-');
    *strchr(strrchr(t, '.'), '-') = '+'; /* the same bits in standard base64 */
    expect_refused(t, "a signature spelled with '+' (standard base64)");
}

GRADED(jwt, refuses_slash_in_a_part, 1)
{
    char *t = token_with_signature_char('_');
    *strchr(strrchr(t, '.'), '_') = '/';
    expect_refused(t, "a signature spelled with '/' (standard base64)");
}

GRADED(jwt, refuses_non_zero_unused_bits_in_the_last_character, 1)
{
    char *t = sign(HEADER, GOOD_CLAIMS);
    /* 43 characters carry 258 bits for 256: the last character's 2 low bits are unused. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *last = t + strlen(t) - 1;
    size_t v = (size_t)(strchr(alphabet, *last) - alphabet);
    cr_assert_eq(v % 4, 0, "expected a canonical last character, got '%c'", *last);
    *last = alphabet[v + 1];
    expect_refused(t, "a signature with a non-zero unused bit");
}

GRADED(jwt, refuses_white_space_in_a_part, 1)
{
    refuse_good_token_plus("\n", "a token ending in a newline");
}

/* ------------------------------------------------------------------ attacks: shape */

GRADED(jwt, refuses_three_dots, 1)
{
    refuse_good_token_plus(".e30", "a token with a fourth part");
}

GRADED(jwt, refuses_one_dot, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    *strrchr(good, '.') = '\0';
    expect_refused(good, "header.claims with no signature part");
}

GRADED(jwt, refuses_an_empty_header_part, 1)
{
    refuse_good_token_with_part(0, "", "a token with an empty header part");
}

GRADED(jwt, refuses_an_empty_claims_part, 1)
{
    refuse_good_token_with_part(1, "", "a token with an empty claims part");
}

GRADED(jwt, refuses_an_empty_signature_part, 1)
{
    refuse_good_token_with_part(2, "", "an HS256 token with an empty signature");
}

GRADED(jwt, refuses_a_token_one_byte_over_the_limit, 1)
{
    char *token = padded_token(PAD_FOR_MAX + 1);
    cr_assert_eq(strlen(token), JWT_TOKEN_MAX + 1, "expected a %d-byte token, built %zu",
                 JWT_TOKEN_MAX + 1, strlen(token));
    expect_refused(token, "a correctly signed token of JWT_TOKEN_MAX + 1 bytes");
}

GRADED(jwt, refuses_a_5000_byte_token, 1)
{
    char *token = padded_token(PAD_FOR_MAX + 678); /* 678 more bytes: 904 more characters */
    cr_assert_eq(strlen(token), 5000, "expected a 5000-byte token, built %zu", strlen(token));
    expect_refused(token, "a correctly signed 5000-byte token");
}

GRADED(jwt, refuses_a_space_inside_a_part, 1)
{
    char *good = sign(HEADER, GOOD_CLAIMS);
    char *sig = part_of(good, 2);
    struct buf s = BUF_INIT;
    buf_printf(&s, "%.20s %s", sig, sig + 20);
    char *spaced = steal(&s);
    expect_refused(with_part(good, 2, spaced), "a signature with a space inside");
    free(spaced);
    free(sig);
    free(good);
}
