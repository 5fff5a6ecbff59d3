/* unit_fake_bus.c — the in-memory bus consumer of the unit tests (unit_fake_bus.h). */
#include "unit_fake_bus.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event_bus.h"
#include "testkit.h"

struct fake_bus {
    struct event_consumer base; /* first: the loop sees an event_consumer */
    char *values[FAKE_BUS_MAX];
    size_t n, next;
    size_t polls, delivered;
    int64_t commits[FAKE_BUS_MAX];
    size_t ncommits;
    int64_t dead[FAKE_BUS_MAX];
    char *reasons[FAKE_BUS_MAX];
    size_t ndead;
    int poll_rc, commit_rc, dead_rc;
    int poll_fails, commit_fails, dead_fails;
};

static struct fake_bus *fb(struct event_consumer *c)
{
    return (struct fake_bus *)c;
}

static const struct fake_bus *cfb(const struct event_consumer *c)
{
    return (const struct fake_bus *)c;
}

static int fake_poll(struct event_consumer *c, int timeout_ms, struct event_msg *out)
{
    (void)timeout_ms; /* never waits: an empty fake answers "none came" at once */
    struct fake_bus *f = fb(c);
    f->polls++;
    if (f->poll_fails > 0) {
        f->poll_fails--;
        return f->poll_rc;
    }
    if (f->next >= f->n)
        return ERR_NOT_FOUND;
    size_t i = f->next++;
    f->delivered++;
    *out = (struct event_msg){.key = "k",
                              .key_len = 1,
                              .value = f->values[i],
                              .value_len = strlen(f->values[i]),
                              .partition = 0,
                              .offset = (int64_t)i};
    return 0;
}

static int fake_commit(struct event_consumer *c, const struct event_msg *m)
{
    struct fake_bus *f = fb(c);
    if (f->commit_fails > 0) {
        f->commit_fails--;
        return f->commit_rc;
    }
    cr_assert(f->ncommits < FAKE_BUS_MAX, "fake bus: too many commits");
    f->commits[f->ncommits++] = m->offset;
    return 0;
}

static int fake_dead_letter(struct event_consumer *c, const struct event_msg *m, const char *reason)
{
    struct fake_bus *f = fb(c);
    if (f->dead_fails > 0) {
        f->dead_fails--;
        return f->dead_rc;
    }
    cr_assert(f->ndead < FAKE_BUS_MAX, "fake bus: too many dead letters");
    f->reasons[f->ndead] = strdup(reason ? reason : "");
    cr_assert(f->reasons[f->ndead], "fake bus: out of memory");
    f->dead[f->ndead++] = m->offset;
    /* Like the real backends: the dead letter is sent, then the message is committed. */
    return fake_commit(c, m);
}

static int fake_assigned(const struct event_consumer *c)
{
    (void)c;
    return 1;
}

static void fake_free(struct event_consumer *c)
{
    struct fake_bus *f = fb(c);
    for (size_t i = 0; i < f->n; i++)
        free(f->values[i]);
    for (size_t i = 0; i < f->ndead; i++)
        free(f->reasons[i]);
    free(f);
}

static const struct event_bus_ops fake_ops = {
    .name = "fake",
    .max_uncommitted = 0, /* like Kafka: a commit names an offset */
    .consumer_poll = fake_poll,
    .commit = fake_commit,
    .dead_letter = fake_dead_letter,
    .assigned = fake_assigned,
    .consumer_free = fake_free,
};

/* The same fake, saying it must commit each message before the next poll (as RabbitMQ). */
static const struct event_bus_ops fake_ops_one_by_one = {
    .name = "fake-one-by-one",
    .max_uncommitted = 1,
    .consumer_poll = fake_poll,
    .commit = fake_commit,
    .dead_letter = fake_dead_letter,
    .assigned = fake_assigned,
    .consumer_free = fake_free,
};

static struct event_consumer *fake_new(const struct event_bus_ops *ops)
{
    struct fake_bus *f = calloc(1, sizeof *f);
    cr_assert(f, "fake bus: out of memory");
    f->base.ops = ops;
    return &f->base;
}

struct event_consumer *fake_bus_new(void)
{
    return fake_new(&fake_ops);
}

struct event_consumer *fake_bus_new_one_by_one(void)
{
    return fake_new(&fake_ops_one_by_one);
}

void fake_bus_push(struct event_consumer *c, const char *value)
{
    struct fake_bus *f = fb(c);
    cr_assert(f->n < FAKE_BUS_MAX, "fake bus: too many messages");
    f->values[f->n] = strdup(value);
    cr_assert(f->values[f->n], "fake bus: out of memory");
    f->n++;
}

size_t fake_bus_polls(const struct event_consumer *c)
{
    return cfb(c)->polls;
}

size_t fake_bus_delivered(const struct event_consumer *c)
{
    return cfb(c)->delivered;
}

size_t fake_bus_commits(const struct event_consumer *c)
{
    return cfb(c)->ncommits;
}

int64_t fake_bus_commit_offset(const struct event_consumer *c, size_t i)
{
    cr_assert(i < cfb(c)->ncommits, "fake bus: no commit %zu", i);
    return cfb(c)->commits[i];
}

size_t fake_bus_dead(const struct event_consumer *c)
{
    return cfb(c)->ndead;
}

int64_t fake_bus_dead_offset(const struct event_consumer *c, size_t i)
{
    cr_assert(i < cfb(c)->ndead, "fake bus: no dead letter %zu", i);
    return cfb(c)->dead[i];
}

const char *fake_bus_dead_reason(const struct event_consumer *c, size_t i)
{
    cr_assert(i < cfb(c)->ndead, "fake bus: no dead letter %zu", i);
    return cfb(c)->reasons[i];
}

void fake_bus_fail_polls(struct event_consumer *c, int rc, int n)
{
    fb(c)->poll_rc = rc;
    fb(c)->poll_fails = n;
}

void fake_bus_fail_commits(struct event_consumer *c, int rc, int n)
{
    fb(c)->commit_rc = rc;
    fb(c)->commit_fails = n;
}

void fake_bus_fail_dead_letters(struct event_consumer *c, int rc, int n)
{
    fb(c)->dead_rc = rc;
    fb(c)->dead_fails = n;
}
