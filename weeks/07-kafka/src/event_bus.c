/* event_bus.c — TEMPORARY stand-in for the bus's front (event_bus.h), so that the consumers'
 * branch links before the real one arrives from the backends' branch, which replaces this file
 * at merge. It has the settings and the dispatch through a handle's ops table, and no backend:
 * opening a producer or a consumer says so (ERR_INVALID). The unit suite's fake bus
 * (tests/support/unit_fake_bus.c) makes its handles itself and goes through the dispatch. */
#include "event_bus.h"

#include <string.h>

#include "config.h"
#include "err.h"
#include "log.h"

static const struct config_var vars[] = {
    {.name = "EVENT_BUS",
     .kind = CONFIG_ENUM,
     .default_value = "kafka",
     .choices = "kafka|rabbitmq",
     .help = "the broker: kafka or rabbitmq"},
    {.name = "KAFKA_BROKERS",
     .kind = CONFIG_STRING,
     .default_value = "127.0.0.1:9092",
     .min = 1,
     .max = 1024,
     .help = "Kafka bootstrap servers: host:port[,host:port...]"},
    {.name = "AMQP_URL",
     .kind = CONFIG_STRING,
     .default_value = "amqp://guest:guest@127.0.0.1:5672/",
     .min = 7,
     .max = 1024,
     .secret = true,
     .help = "RabbitMQ: amqp://USER:PASSWORD@HOST:PORT/VHOST"},
    {.name = "EVENTS_TOPIC",
     .kind = CONFIG_STRING,
     .default_value = "task-events",
     .min = 1,
     .max = EVENT_BUS_TOPIC_MAX - 5,
     .help = "the topic of task events; dead letters go to TOPIC.dlq"},
    {.name = "EVENT_BUS_TIMEOUT_MS",
     .kind = CONFIG_INT,
     .default_value = "10000",
     .min = 100,
     .max = 600000,
     .help = "deadline of a send's delivery and of a connect"},
    {.name = "KAFKA_SESSION_TIMEOUT_MS",
     .kind = CONFIG_INT,
     .default_value = "10000",
     .min = 1000,
     .max = 300000,
     .help = "how soon a dead group member is replaced"},
};

int event_bus_declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

int event_bus_settings_read(const struct config *cfg, struct event_bus_settings *out)
{
    *out = (struct event_bus_settings){
        .kind = strcmp(config_get(cfg, "EVENT_BUS"), "rabbitmq") == 0 ? EVENT_BUS_RABBITMQ
                                                                      : EVENT_BUS_KAFKA,
        .brokers = config_get(cfg, "KAFKA_BROKERS"),
        .amqp_url = config_get(cfg, "AMQP_URL"),
        .topic = config_get(cfg, "EVENTS_TOPIC"),
        .timeout_ms = (int)config_get_int(cfg, "EVENT_BUS_TIMEOUT_MS"),
        .session_timeout_ms = (int)config_get_int(cfg, "KAFKA_SESSION_TIMEOUT_MS"),
    };
    return 0;
}

int event_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered, void *ctx,
                        struct event_producer **out)
{
    (void)s, (void)delivered, (void)ctx;
    *out = NULL;
    log_msg(LOG_ERROR, "this build has no event bus backend (temporary event_bus.c)");
    return ERR_INVALID;
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
    (void)s, (void)group;
    *out = NULL;
    log_msg(LOG_ERROR, "this build has no event bus backend (temporary event_bus.c)");
    return ERR_INVALID;
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
