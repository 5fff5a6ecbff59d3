/* Lab copy of weeks/04-auth/src/jwt.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/04-auth/README.md explains them. */
/* jwt.c — HS256 JSON Web Tokens, signed and verified strictly (jwt.h).
 *
 * A token is three base64url parts, base64url(header) "." base64url(claims) "." base64url(mac),
 * where mac = HMAC-SHA256(secret, the first two parts exactly as they were sent). Verifying goes
 * from the cheapest and least trusting step to the most:
 *
 *   1. shape: at most JWT_TOKEN_MAX bytes, exactly two dots, no empty part — nothing decoded yet;
 *   2. signature: decoded strictly (one spelling per byte string), 32 bytes, compared in constant
 *      time with the HMAC we compute ourselves;
 *   3. header: an object whose "alg" is exactly "HS256", "typ" absent or "JWT", no "crit";
 *   4. claims: sub, iat, exp, iss (and nbf, jti when present) with their types and times.
 *
 * We check the signature before we parse a single byte of JSON. The algorithm is not chosen by
 * the token: this module only ever computes HS256, so the header's "alg" is a consistency check,
 * never a switch — which is what closes the classic attacks (alg "none", or an RSA public key
 * used as an HMAC secret). After step 2 the JSON we parse is JSON we signed ourselves.
 *
 * The caller hears only "refused" (ERR_INVALID): telling an attacker which rule failed helps him.
 * The reason goes to the log at debug level, and the token itself never does. */
#include "jwt.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"

#define SIG_LEN          32                        /* HMAC-SHA256 */
#define JSON_INT_LIMIT   INT64_C(9007199254740992) /* 2^53: every integer up to it is a double */
#define JTI_RANDOM_BYTES (JWT_JTI_LEN / 2)

_Static_assert(JWT_JTI_LEN % 2 == 0, "the jti is hex: two characters per random byte");

/* The only header we write; verification accepts more (typ absent, unknown members). */
static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int refuse(const char *reason)
{
    struct log_kv kv[] = {LOG_STR("reason", reason)};
    log_kv(LOG_DEBUG, "jwt refused", kv, 1);
    return ERR_INVALID;
}

static int refuse_claim(const char *claim, const char *reason)
{
    struct log_kv kv[] = {LOG_STR("reason", reason), LOG_STR("claim", claim)};
    log_kv(LOG_DEBUG, "jwt refused", kv, 2);
    return ERR_INVALID;
}

/* ------------------------------------------------------------------ base64url (RFC 4648 §5) */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 when c is not in the url-safe alphabet ('+', '/', '=' and white
 * space included: they belong to other spellings of base64, which we do not accept). */
static int b64_value(unsigned char c)
{
    for (int i = 0; i < 64; i++)
        if ((unsigned char)b64_alphabet[i] == c)
            return i;
    return -1;
}

int jwt_b64url_encode(const unsigned char *in, size_t len, char **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!in && len > 0)
        return ERR_INVALID;
    if (len / 3 > (SIZE_MAX - 4) / 4)
        return ERR_NOMEM;
    size_t text_len = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    char *s = malloc(text_len + 1);
    if (!s)
        return ERR_NOMEM;

    size_t i = 0, o = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        s[o++] = b64_alphabet[v >> 18 & 63];
        s[o++] = b64_alphabet[v >> 12 & 63];
        s[o++] = b64_alphabet[v >> 6 & 63];
        s[o++] = b64_alphabet[v & 63];
    }
    size_t rest = len - i; /* 0, 1 or 2 bytes: 0, 2 or 3 characters, and no '=' after them */
    if (rest > 0) {
        uint32_t v = (uint32_t)in[i] << 16 | (rest == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        s[o++] = b64_alphabet[v >> 18 & 63];
        s[o++] = b64_alphabet[v >> 12 & 63];
        if (rest == 2)
            s[o++] = b64_alphabet[v >> 6 & 63];
    }
    s[o] = '\0';
    *out = s;
    return 0;
}

/* Decodes in[0..len) into out (cap bytes). Strict: a byte string has exactly one encoding, so
 * a signature has one spelling and "the same token written differently" does not exist. */
static int b64url_decode_to(const char *in, size_t len, unsigned char *out, size_t cap,
                            size_t *out_len)
{
    if (len % 4 == 1) /* one character is 6 bits: it cannot finish a byte */
        return ERR_INVALID;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap)
        return ERR_INVALID;

    uint32_t acc = 0; /* bits read but not yet written, right-aligned */
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return ERR_INVALID;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (UINT32_C(1) << bits) - 1;
        }
    }
    /* The 2 or 4 bits left after the last byte must be zero: otherwise "...Xk" and "...Xl"
     * would decode to the same bytes. */
    if (acc != 0)
        return ERR_INVALID;
    *out_len = o;
    return 0;
}

int jwt_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    if (!out || !out_len)
        return ERR_INVALID;
    *out = NULL;
    *out_len = 0;
    if (!in && len > 0)
        return ERR_INVALID;
    size_t cap = len / 4 * 3 + 2; /* ≥ 1: malloc(0) may return NULL */
    unsigned char *bytes = malloc(cap);
    if (!bytes)
        return ERR_NOMEM;
    size_t n = 0;
    int rc = b64url_decode_to(in ? in : "", len, bytes, cap, &n);
    if (rc != 0) {
        free(bytes);
        return rc;
    }
    *out = bytes;
    *out_len = n;
    return 0;
}

/* ------------------------------------------------------------------ shape and signature */

struct token_parts {
    const char *text[3]; /* header, claims, signature: pointers into the token */
    size_t len[3];
};

/* Splits token at its two dots; refuses before decoding anything. */
static int split_token(const char *token, struct token_parts *p)
{
    if (!token)
        return refuse("no token");
    size_t n = strnlen(token, JWT_TOKEN_MAX + 1);
    if (n > JWT_TOKEN_MAX)
        return refuse("token too long");
    const char *end = token + n;
    const char *dot1 = memchr(token, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
        return refuse("not three parts");
    p->text[0] = token;
    p->len[0] = (size_t)(dot1 - token);
    p->text[1] = dot1 + 1;
    p->len[1] = (size_t)(dot2 - dot1 - 1);
    p->text[2] = dot2 + 1;
    p->len[2] = (size_t)(end - dot2 - 1);
    for (int i = 0; i < 3; i++)
        if (p->len[i] == 0)
            return refuse("empty part");
    return 0;
}

/* HMAC-SHA256(key, signing input) into mac. The signing input is the token's own bytes: never
 * re-encode what was received, or two spellings of one header would share a signature. */
static int hmac_sha256(const unsigned char *key, size_t key_len, const char *msg, size_t msg_len,
                       unsigned char mac[SIG_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, md, &md_len) ||
        md_len != SIG_LEN) {
        log_msg(LOG_ERROR, "HMAC-SHA256 failed");
        return ERR_INTERNAL;
    }
    memcpy(mac, md, SIG_LEN);
    return 0;
}

static bool key_ok(const unsigned char *key, size_t key_len)
{
    return key && key_len >= JWT_SECRET_MIN && key_len <= INT_MAX; /* HMAC() takes an int */
}

static int check_signature(const unsigned char *key, size_t key_len, const char *token,
                           struct token_parts *p)
{
    if (!key_ok(key, key_len))
        return refuse("key shorter than JWT_SECRET_MIN");
    int rc = split_token(token, p);
    if (rc != 0)
        return rc;

    unsigned char given[SIG_LEN + 2]; /* room to notice a signature that is too long */
    size_t given_len = 0;
    if (b64url_decode_to(p->text[2], p->len[2], given, sizeof given, &given_len) != 0)
        return refuse("signature is not canonical base64url of 32 bytes");
    if (given_len != SIG_LEN)
        return refuse("signature is not 32 bytes");

    unsigned char mac[SIG_LEN];
    /* TODO(lab 4.1): HMAC the signing input (header.claims as sent); compare in constant time. */
    (void)mac;
    return 0;
}

int jwt_hs256_signature_ok(const unsigned char *key, size_t key_len, const char *token)
{
    struct token_parts p;
    return check_signature(key, key_len, token, &p);
}

/* ------------------------------------------------------------------ header and claims */

/* True when the JSON text could put a NUL byte into a decoded string: a raw NUL, or the escape
 * \u0000 (an escaped backslash "\\u0000" is skipped as the pair it is). cJSON's strings are
 * NUL-terminated, so "1\u0000x" would read as "1" and a signed sub "1\u0000x" would be user 1:
 * the string we check must be the whole string that was signed. */
static bool json_has_nul(const unsigned char *json, size_t len)
{
    if (memchr(json, '\0', len))
        return true;
    for (size_t i = 0; i + 1 < len; i++) {
        if (json[i] != '\\')
            continue;
        if (json[i + 1] == 'u' && len - i >= 6 && memcmp(json + i + 2, "0000", 4) == 0)
            return true;
        i++; /* the escaped character, so "\\" does not start another escape */
    }
    return false;
}

/* Decodes one part and parses it as exactly one JSON value. cJSON_ParseWithLength stops after
 * the first value and ignores what follows it, so we look at the rest ourselves. */
static int parse_part(const char *text, size_t len, cJSON **out)
{
    *out = NULL;
    unsigned char *json = NULL;
    size_t json_len = 0;
    int rc = jwt_b64url_decode(text, len, &json, &json_len);
    if (rc != 0)
        return rc == ERR_NOMEM ? rc : refuse("part is not base64url");

    if (json_has_nul(json, json_len)) {
        free(json);
        return refuse("part has a NUL in its JSON");
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts((const char *)json, json_len, &end, false);
    if (v) {
        const char *stop = (const char *)json + json_len;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end != stop) {
            cJSON_Delete(v);
            v = NULL;
        }
    }
    free(json);
    if (!v)
        return refuse("part is not one JSON value");
    *out = v;
    return 0;
}

/* cJSON keeps every member of an object, duplicates included, and finds the first one by name;
 * another parser may take the last. {"alg":"HS256","alg":"none"} would mean two things to two
 * readers, so an object with a repeated name is refused. Quadratic, but the token is ≤ 4 KiB. */
static bool has_duplicate_member(const cJSON *obj)
{
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = obj->child; b != a; b = b->next)
            if (!a->string || !b->string || strcmp(a->string, b->string) == 0)
                return true;
    return false;
}

static int check_header(const cJSON *h)
{
    if (!cJSON_IsObject(h))
        return refuse("header is not an object");
    if (has_duplicate_member(h))
        return refuse("header has a member twice");
    /* TODO(lab 4.2): alg must be exactly "HS256" (never a switch); typ absent or "JWT"; no crit. */
    return 0;
}

/* A canonical positive decimal ([1-9][0-9]*, at most 2^63-1): the rule for ids in paths, so
 * "007", "+7", " 7", "1e3" and "0" are nobody. */
static bool parse_user_id(const char *s, int64_t *out)
{
    if (s[0] < '1' || s[0] > '9')
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        int digit = *p - '0';
        if (v > (INT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* A time claim: a JSON number holding an integer within ±2^53 (beyond that a double skips
 * integers). Not a string, not a fraction. *present says whether it was there at all. */
static int time_claim(const cJSON *claims, const char *name, bool *present, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v))
        return refuse_claim(name, "not a number");
    double d = v->valuedouble;
    if (!(fabs(d) <= (double)JSON_INT_LIMIT) || d != floor(d)) /* NaN fails the first test */
        return refuse_claim(name, "not an integer within 2^53");
    *out = (int64_t)d;
    return 0;
}

static int check_claims(const cJSON *claims, const char *iss, int64_t now_s, struct jwt_claims *out)
{
    if (!cJSON_IsObject(claims))
        return refuse("claims are not an object");
    if (has_duplicate_member(claims))
        return refuse("claims have a member twice");

    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    if (!cJSON_IsString(sub) || !parse_user_id(sub->valuestring, &out->sub))
        return refuse_claim("sub", "missing or not a canonical user id string");

    bool has_iat, has_exp, has_nbf;
    int64_t nbf = 0;
    int rc = time_claim(claims, "iat", &has_iat, &out->iat);
    if (rc == 0)
        rc = time_claim(claims, "exp", &has_exp, &out->exp);
    if (rc == 0)
        rc = time_claim(claims, "nbf", &has_nbf, &nbf);
    if (rc != 0)
        return rc;
    if (!has_iat)
        return refuse_claim("iat", "missing");
    if (!has_exp)
        return refuse_claim("exp", "missing");

    const cJSON *issuer = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    if (!cJSON_IsString(issuer) || strcmp(issuer->valuestring, iss) != 0)
        return refuse_claim("iss", "missing or not ours");

    const cJSON *jti = cJSON_GetObjectItemCaseSensitive(claims, "jti");
    if (jti) {
        /* We only ever issue JWT_JTI_LEN hex characters; anything longer is not ours. */
        if (!cJSON_IsString(jti) || strlen(jti->valuestring) > JWT_JTI_LEN)
            return refuse_claim("jti", "not a string of at most JWT_JTI_LEN characters");
        memcpy(out->jti, jti->valuestring, strlen(jti->valuestring) + 1);
    }

    /* Every time is within ±2^53, so adding the leeway cannot overflow, whatever now_s is. */
    /* TODO(lab 4.3): The time rules: exp before iat, expired, iat or nbf in the future (leeway). */
    (void)nbf; (void)has_nbf;
    return 0;
}

int jwt_verify_hs256(const unsigned char *key, size_t key_len, const char *iss, const char *token,
                     int64_t now_s, struct jwt_claims *out)
{
    if (!out)
        return ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (!iss)
        return refuse("no expected issuer");

    struct token_parts p;
    int rc = check_signature(key, key_len, token, &p);
    if (rc != 0)
        return rc;

    cJSON *header = NULL, *claims = NULL;
    struct jwt_claims c = {0};
    rc = parse_part(p.text[0], p.len[0], &header);
    if (rc == 0)
        rc = check_header(header);
    if (rc == 0)
        rc = parse_part(p.text[1], p.len[1], &claims);
    if (rc == 0)
        rc = check_claims(claims, iss, now_s, &c);
    if (rc == 0)
        *out = c;
    cJSON_Delete(header);
    cJSON_Delete(claims);
    return rc;
}

/* ------------------------------------------------------------------ signing */

/* JWT_JTI_LEN hex characters of fresh randomness: unique per token, so a token can be named
 * (and one day revoked) without naming its user. */
static int fresh_jti(char jti[JWT_JTI_LEN + 1])
{
    unsigned char raw[JTI_RANDOM_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(jti, JWT_JTI_LEN + 1, raw, sizeof raw);
    return 0;
}

static bool json_int_ok(int64_t v)
{
    return v >= -JSON_INT_LIMIT && v <= JSON_INT_LIMIT;
}

/* The claims as compact JSON ("sub" a string, as RFC 7519 §4.1.2 wants); *out is cJSON's. */
static int claims_json(const char *iss, const struct jwt_claims *c, char **out)
{
    char sub[24];
    snprintf(sub, sizeof sub, "%" PRId64, c->sub);
    int rc = ERR_NOMEM;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "sub", sub) ||
        !cJSON_AddNumberToObject(o, "iat", (double)c->iat) ||
        !cJSON_AddNumberToObject(o, "exp", (double)c->exp) ||
        !cJSON_AddStringToObject(o, "iss", iss) || !cJSON_AddStringToObject(o, "jti", c->jti))
        goto done;
    *out = cJSON_PrintUnformatted(o);
    if (*out)
        rc = 0;
done:
    cJSON_Delete(o);
    return rc;
}

int jwt_sign_hs256(const unsigned char *key, size_t key_len, const char *iss, struct jwt_claims *c,
                   char **out)
{
    if (!out)
        return ERR_INVALID;
    *out = NULL;
    if (!key_ok(key, key_len) || !iss || !*iss || !c)
        return ERR_INVALID;
    if (c->sub < 1 || !json_int_ok(c->iat) || !json_int_ok(c->exp) || c->exp < c->iat)
        return ERR_INVALID;
    size_t jti_len = strnlen(c->jti, sizeof c->jti);
    if (jti_len == sizeof c->jti) /* not terminated */
        return ERR_INVALID;

    int rc = 0;
    char *claims = NULL, *header64 = NULL, *claims64 = NULL, *sig64 = NULL;
    struct buf token = BUF_INIT;
    unsigned char mac[SIG_LEN];
    if (jti_len == 0 && (rc = fresh_jti(c->jti)) != 0)
        goto done;
    if ((rc = claims_json(iss, c, &claims)) != 0)
        goto done;
    if ((rc = jwt_b64url_encode((const unsigned char *)header_json, strlen(header_json),
                                &header64)) != 0 ||
        (rc = jwt_b64url_encode((const unsigned char *)claims, strlen(claims), &claims64)) != 0)
        goto done;

    buf_puts(&token, header64);
    buf_putc(&token, '.');
    buf_puts(&token, claims64);
    rc = ERR_NOMEM;
    if (token.failed)
        goto done;
    if ((rc = hmac_sha256(key, key_len, token.data, token.len, mac)) != 0 ||
        (rc = jwt_b64url_encode(mac, sizeof mac, &sig64)) != 0)
        goto done;
    buf_putc(&token, '.');
    buf_puts(&token, sig64);
    rc = ERR_NOMEM;
    if (token.failed)
        goto done;
    rc = ERR_INVALID; /* a token we could not verify ourselves (an issuer of kilobytes) */
    if (token.len > JWT_TOKEN_MAX)
        goto done;
    *out = buf_steal(&token, NULL);
    rc = 0;
done:
    buf_free(&token);
    free(sig64);
    free(claims64);
    free(header64);
    cJSON_free(claims);
    return rc;
}
