/* password.h — password hashing with argon2id (libsodium crypto_pwhash_str).
 *
 * argon2id is memory-hard: guessing a password costs every attacker the same memory and time it
 * costs us once per login, which makes a stolen table expensive to crack. The encoded string
 * carries its own salt and parameters, so the parameters can be raised later and old hashes
 * still verify (password_needs_rehash tells when to upgrade one at the next login). */
#ifndef TASKD_PASSWORD_H
#define TASKD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN      8 /* characters (code points) */
#define PASSWORD_MAX      128
#define PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* Hashes pw (len bytes) into out (NUL-terminated). 0, ERR_NOMEM (the memory argon2id needs was
 * not available), ERR_INVALID. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX]);
/* True when pw matches hash. */
bool password_verify(const char *hash, const char *pw, size_t len);
/* Costs what a verification costs, for an e-mail that has no account: a login must take the
 * same time whether the e-mail exists or not (no timing oracle). */
void password_verify_dummy(const char *pw, size_t len);
/* True when hash was made with weaker parameters than password_hash uses now. */
bool password_needs_rehash(const char *hash);

#endif
