/* event_bus.c — the bus's settings, and the calls that pick a backend and forward to it.
 *
 * Every week-7 program (taskd-relay, the consumers) declares the bus's variables here and opens
 * producers and consumers through these functions; which broker they talk to is EVENT_BUS, read
 * once. The backends (event_bus_kafka.c, event_bus_rabbitmq.c) fill in an ops table; a producer or
 * consumer remembers its table in its common head (event_bus.h), so everything after open is a
 * plain forward, and a test's fake backend is just another table. */
#include "event_bus.h"

#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "log.h"

static const struct config_var vars[] = {
    {.name = "EVENT_BUS",
     .kind = CONFIG_ENUM,
     .default_value = "kafka",
     .choices = "kafka|rabbitmq",
     .help = "the broker events go through: kafka (KAFKA_BROKERS) or rabbitmq (AMQP_URL)"},
    {.name = "KAFKA_BROKERS",
     .kind = CONFIG_STRING,
     .min = 3,
     .max = 1024,
     .help = "Kafka bootstrap brokers, HOST:PORT[,HOST:PORT...] (needed for EVENT_BUS=kafka)"},
    {.name = "AMQP_URL",
     .kind = CONFIG_STRING,
     .min = 8,
     .max = 1024,
     .secret = true,
     .help = "RabbitMQ, amqp://USER:PASSWORD@HOST:PORT/VHOST (needed for EVENT_BUS=rabbitmq)"},
    {.name = "EVENTS_TOPIC",
     .kind = CONFIG_STRING,
     .default_value = "task-events",
     .min = 1,
     .max = EVENT_BUS_TOPIC_MAX - 5, /* room for ".dlq" and the NUL */
     .help = "the topic (Kafka) or exchange (RabbitMQ) of task events; dead letters go to "
             "TOPIC.dlq"},
    {.name = "EVENT_BUS_TIMEOUT_MS",
     .kind = CONFIG_INT,
     .default_value = "10000",
     .min = 100,
     .max = 600000,
     .help = "how long a sent event may wait for the broker before it counts as failed, and how "
             "long a connect may take"},
    {.name = "KAFKA_SESSION_TIMEOUT_MS",
     .kind = CONFIG_INT,
     .default_value = "6000",
     .min = 1000,
     .max = 300000,
     .help = "how soon a silent consumer-group member is replaced (a real Kafka refuses less "
             "than its group.min.session.timeout.ms, 6000 by default)"},
};

int event_bus_declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

/* Kafka's rule for a topic name: [a-zA-Z0-9._-]. RabbitMQ takes more, but one rule for both
 * keeps EVENT_BUS a free choice. */
static bool topic_ok(const char *t)
{
    if (!*t)
        return false;
    for (const char *p = t; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

int event_bus_settings_read(const struct config *cfg, struct event_bus_settings *out)
{
    const char *bus = config_get(cfg, "EVENT_BUS");
    *out = (struct event_bus_settings){
        .kind = bus && strcmp(bus, "rabbitmq") == 0 ? EVENT_BUS_RABBITMQ : EVENT_BUS_KAFKA,
        .brokers = config_get(cfg, "KAFKA_BROKERS"),
        .amqp_url = config_get(cfg, "AMQP_URL"),
        .topic = config_get(cfg, "EVENTS_TOPIC"),
        .timeout_ms = (int)config_get_int(cfg, "EVENT_BUS_TIMEOUT_MS"),
        .session_timeout_ms = (int)config_get_int(cfg, "KAFKA_SESSION_TIMEOUT_MS"),
    };
    if (!out->topic || !topic_ok(out->topic)) {
        log_kv(LOG_ERROR, "EVENTS_TOPIC may hold only letters, digits, '.', '_' and '-'",
               (struct log_kv[]){LOG_STR("topic", out->topic)}, 1);
        return ERR_INVALID;
    }
    /* The other backend's address may be missing: only the chosen one must be there. */
    if (out->kind == EVENT_BUS_KAFKA && !out->brokers) {
        log_msg(LOG_ERROR, "EVENT_BUS=kafka needs KAFKA_BROKERS (HOST:PORT[,HOST:PORT...])");
        return ERR_INVALID;
    }
    if (out->kind == EVENT_BUS_RABBITMQ && !out->amqp_url) {
        log_msg(LOG_ERROR, "EVENT_BUS=rabbitmq needs AMQP_URL (or AMQP_URL_FILE)");
        return ERR_INVALID;
    }
    return 0;
}

/* ------------------------------------------------------------------ producing */

int event_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered, void *ctx,
                        struct event_producer **out)
{
    *out = NULL;
    const struct event_bus_ops *ops =
        s->kind == EVENT_BUS_RABBITMQ ? &event_bus_rabbitmq : &event_bus_kafka;
    int rc = ops->producer_open(s, delivered, ctx, out);
    if (rc == 0)
        (*out)->ops = ops; /* the backend may have set it already; this is the table we chose */
    return rc;
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

/* ------------------------------------------------------------------ consuming */

int event_consumer_open(const struct event_bus_settings *s, const char *group,
                        struct event_consumer **out)
{
    *out = NULL;
    if (!group || !*group || strlen(group) >= EVENT_BUS_GROUP_MAX || !topic_ok(group)) {
        log_kv(LOG_ERROR, "a consumer group is 1-63 letters, digits, '.', '_' or '-'",
               (struct log_kv[]){LOG_STR("group", group)}, 1);
        return ERR_INVALID;
    }
    const struct event_bus_ops *ops =
        s->kind == EVENT_BUS_RABBITMQ ? &event_bus_rabbitmq : &event_bus_kafka;
    int rc = ops->consumer_open(s, group, out);
    if (rc == 0)
        (*out)->ops = ops;
    return rc;
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

int event_consumer_max_uncommitted(const struct event_consumer *c)
{
    return c->ops->max_uncommitted;
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
