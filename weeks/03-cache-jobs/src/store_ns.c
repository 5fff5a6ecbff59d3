/* store_ns.c — see store_ns.h. */
#include "store_ns.h"

#include <sodium.h>

#include "task_repo.h"

int store_namespace(struct task_repo *r, char out[STORE_NS_LEN + 1])
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    int rc = task_repo_instance_key(r, key);
    if (rc != 0)
        return rc;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, key, sizeof key);
    sodium_memzero(key, sizeof key);
    sodium_bin2hex(out, STORE_NS_LEN + 1, digest, STORE_NS_LEN / 2);
    return 0;
}
