/* locals.h — a few typed values that travel with one request.
 *
 * Code that handles a request learns facts that code further on needs: a middleware learns who
 * is calling, a repository decorator learns whether it answered from a cache. The HTTP layer
 * must not grow a field for each such fact — it would then know every module's ideas — so each
 * module that owns a fact declares a key and keeps its value in the request's locals. Only the
 * owning module reads and writes its key, through typed functions of its own (scope_set_owner,
 * ...), so no caller ever casts a void *.
 *
 * A key is a `static const struct locals_key` in the owning module: its address is its
 * identity, so two modules can never collide on a name, and a misspelt key does not compile
 * (compare a string-keyed map, where a typo silently reads NULL). A value is a pointer (to
 * something that outlives the request) or an integer.
 *
 * Bounded: at most LOCALS_MAX keys per request, stored inline (no allocation per request);
 * setting one more is ERR_NOMEM, and setting a key again replaces its value. One request runs
 * on one thread at a time, so there is no locking. */
#ifndef TASKD_LOCALS_H
#define TASKD_LOCALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOCALS_MAX 8

struct locals_key {
    const char *name; /* how logs call it: "user_id" */
    bool logged;      /* the access log adds "name": <integer value> when the request has it */
};

/* Zero-initialised is empty. The fields are the functions' business: use those. */
struct locals {
    size_t n;
    struct locals_slot {
        const struct locals_key *key;
        void *ptr;
        int64_t num;
    } slot[LOCALS_MAX];
};

/* Set key's value. 0, ERR_INVALID (l or key NULL) or ERR_NOMEM (LOCALS_MAX other keys set). */
int locals_set(struct locals *l, const struct locals_key *key, void *value);
int locals_set_int(struct locals *l, const struct locals_key *key, int64_t value);

/* key's value; NULL (or 0) when it was never set or l is NULL. */
void *locals_get(const struct locals *l, const struct locals_key *key);
int64_t locals_get_int(const struct locals *l, const struct locals_key *key);

/* For code that lists every value (the access log): how many keys are set, and the i-th. */
size_t locals_count(const struct locals *l);
const struct locals_key *locals_key_at(const struct locals *l, size_t i);

#endif
