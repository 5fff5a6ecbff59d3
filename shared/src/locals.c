/* locals.c — a request's typed values (see locals.h): a short array searched by key address.
 *
 * A linear search over at most LOCALS_MAX pointers is faster than any hash for this size, and
 * keeps the order values were set in, which the access log shows. */
#include "locals.h"

#include "err.h"

/* The slot of key, or NULL when it has none. */
static const struct locals_slot *find(const struct locals *l, const struct locals_key *key)
{
    if (!l || !key)
        return NULL;
    for (size_t i = 0; i < l->n && i < LOCALS_MAX; i++)
        if (l->slot[i].key == key)
            return &l->slot[i];
    return NULL;
}

/* The slot of key, a new one if it has none yet. */
static int slot_of(struct locals *l, const struct locals_key *key, struct locals_slot **out)
{
    if (!l || !key)
        return ERR_INVALID;
    for (size_t i = 0; i < l->n && i < LOCALS_MAX; i++) {
        if (l->slot[i].key == key) {
            *out = &l->slot[i];
            return 0;
        }
    }
    if (l->n >= LOCALS_MAX)
        return ERR_NOMEM;
    *out = &l->slot[l->n++];
    **out = (struct locals_slot){.key = key};
    return 0;
}

int locals_set(struct locals *l, const struct locals_key *key, void *value)
{
    struct locals_slot *s = NULL;
    int rc = slot_of(l, key, &s);
    if (rc == 0)
        s->ptr = value;
    return rc;
}

int locals_set_int(struct locals *l, const struct locals_key *key, int64_t value)
{
    struct locals_slot *s = NULL;
    int rc = slot_of(l, key, &s);
    if (rc == 0)
        s->num = value;
    return rc;
}

void *locals_get(const struct locals *l, const struct locals_key *key)
{
    const struct locals_slot *s = find(l, key);
    return s ? s->ptr : NULL;
}

int64_t locals_get_int(const struct locals *l, const struct locals_key *key)
{
    const struct locals_slot *s = find(l, key);
    return s ? s->num : 0;
}

size_t locals_count(const struct locals *l)
{
    return l ? l->n : 0;
}

const struct locals_key *locals_key_at(const struct locals *l, size_t i)
{
    return l && i < l->n ? l->slot[i].key : NULL;
}
