/* event_bus_rabbitmq.c — PLACEHOLDER for the RabbitMQ backend of event_bus.h, so that this branch
 * (the Kafka backend) links. Every call fails with ERR_INVALID ("not built yet"); the real backend
 * (librabbitmq) is written on another branch and replaces this file when they are merged. */
#include "err.h"
#include "event_bus.h"
#include "log.h"

static int producer_open(const struct event_bus_settings *s, event_delivered_fn delivered,
                         void *ctx, struct event_producer **out)
{
    (void)s;
    (void)delivered;
    (void)ctx;
    *out = NULL;
    log_msg(LOG_ERROR, "EVENT_BUS=rabbitmq: not built yet (placeholder)");
    return ERR_INVALID;
}

static int consumer_open(const struct event_bus_settings *s, const char *group,
                         struct event_consumer **out)
{
    (void)s;
    (void)group;
    *out = NULL;
    log_msg(LOG_ERROR, "EVENT_BUS=rabbitmq: not built yet (placeholder)");
    return ERR_INVALID;
}

/* Nothing is ever opened, so the other entries are never reached. */
const struct event_bus_ops event_bus_rabbitmq = {
    .name = "rabbitmq",
    .producer_open = producer_open,
    .consumer_open = consumer_open,
};
