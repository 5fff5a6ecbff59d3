/* event_bus.c — TEMPORARY, for the RabbitMQ backend's branch only: the dispatch wrappers of
 * event_bus.h, so event_bus_rabbitmq.c can be built and tested. The real event_bus.c (settings,
 * both backends) replaces this file at merge. */
#include <stddef.h>

#include "err.h"
#include "event_bus.h"

int event_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered, void *ctx,
                        struct event_producer **out)
{
    if (s->kind != EVENT_BUS_RABBITMQ)
        return ERR_INVALID;
    return event_bus_rabbitmq.producer_open(s, delivered, ctx, out);
}
int event_producer_send(struct event_producer *p, const char *topic, const char *key,
                        size_t key_len, const void *value, size_t value_len, void *msg_ctx)
{
    return p->ops->send(p, topic, key, key_len, value, value_len, msg_ctx);
}
int event_producer_poll(struct event_producer *p, int timeout_ms)
{
    return p->ops->poll(p, timeout_ms);
}
int event_producer_flush(struct event_producer *p, int timeout_ms)
{
    return p->ops->flush(p, timeout_ms);
}
size_t event_producer_outstanding(const struct event_producer *p)
{
    return p->ops->outstanding(p);
}
void event_producer_free(struct event_producer *p)
{
    if (p)
        p->ops->producer_free(p);
}
int event_consumer_open(const struct event_bus_settings *s, const char *group,
                        struct event_consumer **out)
{
    if (s->kind != EVENT_BUS_RABBITMQ)
        return ERR_INVALID;
    return event_bus_rabbitmq.consumer_open(s, group, out);
}
int event_consumer_poll(struct event_consumer *c, int timeout_ms, struct event_msg *out)
{
    return c->ops->consumer_poll(c, timeout_ms, out);
}
int event_consumer_commit(struct event_consumer *c, const struct event_msg *m)
{
    return c->ops->commit(c, m);
}
int event_consumer_dead_letter(struct event_consumer *c, const struct event_msg *m,
                               const char *reason)
{
    return c->ops->dead_letter(c, m, reason);
}
int event_consumer_assigned(const struct event_consumer *c)
{
    return c->ops->assigned(c);
}
void event_consumer_free(struct event_consumer *c)
{
    if (c)
        c->ops->consumer_free(c);
}
