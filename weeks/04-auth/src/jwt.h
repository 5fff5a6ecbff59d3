/* jwt.h — JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS, RFC 7515), strictly.
 *
 * The access token of stage 4. Signing and verifying are small enough to write and read in one
 * sitting (docs/decisions/0007): base64url, HMAC-SHA256 from OpenSSL, a JSON header and claims.
 * Verification is where security lives, so it refuses everything API.md's "Tokens" lists: an
 * `alg` other than HS256 (`none` included), a `crit` header, a bad signature (compared in
 * constant time), a missing or malformed required claim (`sub` a canonical decimal id, `iat`,
 * `exp`, `iss`), `exp` past or `nbf`/`iat` in the future beyond the leeway, a wrong issuer,
 * anything that is not exactly three base64url parts. It never says which rule failed to the
 * caller (that helps an attacker); it can log it at debug level. */
#ifndef TASKD_JWT_H
#define TASKD_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_LEEWAY_S   30
#define JWT_TOKEN_MAX  4096 /* longer is refused before any parsing */
#define JWT_SECRET_MIN 32   /* bytes */
#define JWT_JTI_LEN    32   /* hex characters of 128 random bits */

struct jwt_claims {
    int64_t sub; /* the user id */
    int64_t iat; /* seconds since the epoch */
    int64_t exp;
    char jti[JWT_JTI_LEN + 1];
};

/* Signs {"alg":"HS256","typ":"JWT"}.{"sub":"<id>","iat":..,"exp":..,"iss":iss,"jti":..} with key.
 * c->jti is filled with fresh random hex when empty. *out is malloc'd (the caller frees it).
 * 0, ERR_INVALID (key shorter than JWT_SECRET_MIN, bad claims), ERR_NOMEM, ERR_INTERNAL. */
int jwt_sign_hs256(const unsigned char *key, size_t key_len, const char *iss, struct jwt_claims *c,
                   char **out);

/* Verifies token as described above at time now_s. 0 with *out filled, or ERR_INVALID for any
 * refusal (ERR_NOMEM when out of memory). */
int jwt_verify_hs256(const unsigned char *key, size_t key_len, const char *iss, const char *token,
                     int64_t now_s, struct jwt_claims *out);

/* Checks only the shape (exactly three non-empty base64url parts, at most JWT_TOKEN_MAX bytes)
 * and the HMAC-SHA256 signature of token over its first two parts, as received; the header and
 * the claims are not read at all. 0 when the signature is right, ERR_INVALID otherwise (a key
 * shorter than JWT_SECRET_MIN included). jwt_verify_hs256 starts with it; alone it is what the
 * tests use to check our HMAC and base64url against RFC 7515's example. */
int jwt_hs256_signature_ok(const unsigned char *key, size_t key_len, const char *token);

/* base64url without padding (RFC 4648 §5), exposed for the tests. Encoding: *out is a malloc'd
 * NUL-terminated string. Decoding refuses padding, characters outside A-Z a-z 0-9 - _, a length
 * of 1 mod 4 and non-zero unused bits in the last character (each byte string has exactly one
 * encoding); *out is malloc'd (never NULL on success, even for zero bytes). 0, ERR_INVALID,
 * ERR_NOMEM. */
int jwt_b64url_encode(const unsigned char *in, size_t len, char **out);
int jwt_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

#endif
