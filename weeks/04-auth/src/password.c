/* password.c — argon2id password hashes with libsodium (password.h).
 *
 * crypto_pwhash_str writes one self-describing string, "$argon2id$v=19$m=65536,t=2,p=1$salt$hash":
 * a fresh random salt and the cost parameters travel with the hash, which is why verifying needs
 * nothing but the string, and why password_needs_rehash can tell an old hash from a current one.
 *
 * The cost is OPSLIMIT/MEMLIMIT_INTERACTIVE (2 passes over 64 MiB): what API.md asks as the
 * floor, and what libsodium recommends for an online login. Each login pays it once; so does an
 * attacker for every guess of every stolen hash.
 *
 * A login for an e-mail with no account must cost the same: otherwise the response time says
 * which addresses are registered. password_verify_dummy verifies against a hash made once, with
 * the same parameters, of a random password nobody knows.
 *
 * We never copy a password, so there is nothing of ours to wipe; the bytes belong to the caller. */
#include "password.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE
#define ALG      crypto_pwhash_ALG_ARGON2ID13

/* A password of PASSWORD_MAX code points takes at most 4 bytes each in UTF-8; one of
 * PASSWORD_MIN code points at least 1 byte each. Outside these byte bounds no password is valid. */
#define PASSWORD_BYTES_MIN PASSWORD_MIN
#define PASSWORD_BYTES_MAX ((size_t)PASSWORD_MAX * 4) /* UTF-8: up to 4 bytes a character */

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "password.h's hash buffer size");

static const char argon2id_prefix[] = "$argon2id$";

static bool dummy_ready;
static char dummy_hash[PASSWORD_HASH_MAX];

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
    if (!out)
        return ERR_INVALID;
    out[0] = '\0';
    if (!pw || len < PASSWORD_BYTES_MIN || len > PASSWORD_BYTES_MAX)
        return ERR_INVALID;
    /* The salt comes from randombytes: libsodium is initialised once per process (stage1_init). */
    /* The one way this fails is that the operating system refused the 64 MiB argon2id needs. */
    if (crypto_pwhash_str_alg(out, pw, len, OPSLIMIT, MEMLIMIT, ALG) != 0) {
        out[0] = '\0';
        log_msg(LOG_ERROR, "argon2id could not get its memory");
        return ERR_NOMEM;
    }
    return 0;
}

bool password_verify(const char *hash, const char *pw, size_t len)
{
    if (!hash || !pw || len > PASSWORD_BYTES_MAX)
        return false;
    if (strnlen(hash, PASSWORD_HASH_MAX) == PASSWORD_HASH_MAX) /* not a string we wrote */
        return false;
    /* Also false for a string that is not a hash at all: libsodium parses it before it
     * computes anything. */
    return crypto_pwhash_str_verify(hash, pw, len) == 0;
}

/* Made once, on the first login for an unknown e-mail (that one pays for it twice). */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    unsigned char secret[16];
    char pw[2 * sizeof secret + 1];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(pw, sizeof pw, secret, sizeof secret);
    dummy_ready = password_hash(pw, strlen(pw), dummy_hash) == 0;
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(pw, sizeof pw);
}

void password_verify_dummy(const char *pw, size_t len)
{
    pthread_once(&dummy_once, dummy_make);
    if (dummy_ready) {
        (void)password_verify(dummy_hash, pw ? pw : "", pw ? len : 0);
        return;
    }
    /* No dummy (the memory was short when it was made): hashing costs about as much. */
    char scratch[PASSWORD_HASH_MAX];
    if (crypto_pwhash_str_alg(scratch, pw ? pw : "", pw ? len : 0, OPSLIMIT, MEMLIMIT, ALG) != 0)
        log_msg(LOG_WARN, "argon2id could not get its memory for a dummy verification");
}

bool password_needs_rehash(const char *hash)
{
    if (!hash || strnlen(hash, PASSWORD_HASH_MAX) == PASSWORD_HASH_MAX)
        return true;
    /* An argon2i hash (libsodium's default before 1.0.15) is upgraded too. */
    if (strncmp(hash, argon2id_prefix, sizeof argon2id_prefix - 1) != 0)
        return true;
    /* libsodium answers "other parameters than these": since ours only ever go up, that means
     * weaker ones. -1 (unreadable) also asks for a new hash: the next login writes a good one. */
    return crypto_pwhash_str_needs_rehash(hash, OPSLIMIT, MEMLIMIT) != 0;
}
