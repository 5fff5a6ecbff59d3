/* idempotency.h — the store behind Idempotency-Key (API.md, "Idempotency"): one row per caller
 * and key in PostgreSQL (migrations/0004_idempotency.sql).
 *
 * A client that got no answer (a timeout, a dropped connection, a 503 after the COMMIT) cannot
 * know whether its POST wrote. With a key it can simply send the same request again: the first
 * request claims the key, its answer is stored when it is sent, and a retry gets that answer back
 * instead of running again. The claim is one INSERT ... ON CONFLICT, so of two simultaneous
 * first requests exactly one wins; the other sees the claim still in progress. */
#ifndef TASKD_IDEMPOTENCY_H
#define TASKD_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_pool;

#define IDEM_KEY_MAX  64
#define IDEM_HASH_HEX 64 /* SHA-256 as lower-case hex */

/* A stored answer. Strings are NULL when the answer had none; idem_answer_free frees them. */
struct idem_answer {
    int status;
    char *content_type;
    char *body;
    size_t body_len;
    char *location;
    char *etag;
};

enum idem_claim {
    IDEM_CLAIMED,     /* the caller runs the request, then idem_complete or idem_release */
    IDEM_REPLAY,      /* done before with the same request: *answer holds the stored answer */
    IDEM_IN_PROGRESS, /* claimed by a request that has not answered yet (409) */
    IDEM_MISMATCH,    /* the key was used with another request (422) */
};

/* True when key is 1..64 characters of [A-Za-z0-9_-]. */
bool idem_key_valid(const char *key);

/* hex[IDEM_HASH_HEX + 1] gets the SHA-256 of method, path and body (what "the same request"
 * means). 0 or ERR_INTERNAL. */
int idem_request_hash(const char *method, const char *path, const char *body, size_t len,
                      char *hex);

/* Claims (owner, key) for a request whose hash is hash. A row older than 24 hours counts as
 * absent and is taken over. On IDEM_REPLAY, *answer is filled (the caller frees it).
 * 0 or an ERR_ code (ERR_UNAVAILABLE when the database is down). */
int idem_claim(struct pg_pool *p, int64_t owner, const char *key, const char *hash,
               enum idem_claim *out, struct idem_answer *answer);

/* The answer to store, as the request's response holds it: every string is borrowed (NULL
 * where the answer had none). A type of its own, so a stored answer that we own (struct
 * idem_answer, freed by idem_answer_free) is never built from strings we do not. */
struct idem_answer_view {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *location;
    const char *etag;
};

/* Stores the answer of the claimed request (answer->status must be below 500). */
int idem_complete(struct pg_pool *p, int64_t owner, const char *key,
                  const struct idem_answer_view *answer);

/* Drops the claim (the request failed with a 5xx): a retry with the key then runs again. */
int idem_release(struct pg_pool *p, int64_t owner, const char *key);

void idem_answer_free(struct idem_answer *a);

#endif
