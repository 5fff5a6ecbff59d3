/* unit_fake_producer.c — the relay's fake broker (unit_fake_producer.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "testkit.h"
#include "unit_fake_producer.h"

struct fake_msg {
    char *key, *value;
    void *msg_ctx;
    bool released, reported;
    int rc;
};

struct fake_producer {
    struct event_producer base; /* first */
    event_delivered_fn delivered;
    void *ctx;
    bool auto_ok;
    struct fake_msg msgs[FAKE_PRODUCER_MAX];
    size_t n;
};

static struct fake_producer *fake_of(const struct event_producer *p)
{
    return (struct fake_producer *)p;
}

static char *copy(const void *s, size_t n)
{
    char *c = malloc(n + 1);
    cr_assert(c, "out of memory");
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static int fp_send(struct event_producer *p, const char *topic, const char *key, size_t key_len,
                   const void *value, size_t value_len, void *msg_ctx)
{
    (void)topic;
    struct fake_producer *f = fake_of(p);
    if (f->n == FAKE_PRODUCER_MAX)
        return ERR_UNAVAILABLE; /* a full local queue, as librdkafka says it */
    struct fake_msg *m = &f->msgs[f->n++];
    *m = (struct fake_msg){.key = copy(key, key_len),
                           .value = copy(value, value_len),
                           .msg_ctx = msg_ctx,
                           .released = f->auto_ok};
    return 0;
}

static int fp_poll(struct event_producer *p, int timeout_ms)
{
    (void)timeout_ms;
    struct fake_producer *f = fake_of(p);
    int served = 0;
    for (size_t i = 0; i < f->n; i++) {
        struct fake_msg *m = &f->msgs[i];
        if (m->released && !m->reported) {
            m->reported = true;
            f->delivered(f->ctx, m->msg_ctx, m->rc);
            served++;
        }
    }
    return served;
}

static size_t fp_outstanding(const struct event_producer *p)
{
    const struct fake_producer *f = fake_of(p);
    size_t out = 0;
    for (size_t i = 0; i < f->n; i++)
        out += !f->msgs[i].reported;
    return out;
}

static int fp_flush(struct event_producer *p, int timeout_ms)
{
    fp_poll(p, timeout_ms);
    return fp_outstanding(p) == 0 ? 0 : ERR_UNAVAILABLE;
}

static void fp_free(struct event_producer *p)
{
    struct fake_producer *f = fake_of(p);
    for (size_t i = 0; i < f->n; i++) {
        free(f->msgs[i].key);
        free(f->msgs[i].value);
    }
    free(f);
}

static const struct event_bus_ops fake_producer_ops = {
    .name = "fake",
    .send = fp_send,
    .poll = fp_poll,
    .flush = fp_flush,
    .outstanding = fp_outstanding,
    .producer_free = fp_free,
};

struct event_producer *fake_producer_new(event_delivered_fn delivered, void *ctx, bool auto_ok)
{
    struct fake_producer *f = calloc(1, sizeof *f);
    cr_assert(f, "out of memory");
    f->base.ops = &fake_producer_ops;
    f->delivered = delivered;
    f->ctx = ctx;
    f->auto_ok = auto_ok;
    return &f->base;
}

size_t fake_producer_sent(const struct event_producer *p)
{
    return fake_of(p)->n;
}

const char *fake_producer_key(const struct event_producer *p, size_t i)
{
    return i < fake_of(p)->n ? fake_of(p)->msgs[i].key : NULL;
}

const char *fake_producer_value(const struct event_producer *p, size_t i)
{
    return i < fake_of(p)->n ? fake_of(p)->msgs[i].value : NULL;
}

void fake_producer_release(struct event_producer *p, size_t i, int rc)
{
    struct fake_producer *f = fake_of(p);
    cr_assert(i < f->n, "no message %zu was sent", i);
    f->msgs[i].released = true;
    f->msgs[i].rc = rc;
}
