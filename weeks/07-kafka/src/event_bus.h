/* event_bus.h — the event bus: publish to a topic, consume as a group; Kafka or RabbitMQ.
 *
 * Week 7's programs talk to a broker only through this interface, so the relay and the
 * consumers are the same code on both (EVENT_BUS=kafka|rabbitmq), and unit tests run them on a
 * fake (tests/support). A backend fills in the ops tables below; event_bus.c picks one from the
 * settings.
 *
 * The two brokers have different models, and the interface is their common ground:
 *
 *   concept here        Kafka (librdkafka)                  RabbitMQ (librabbitmq, AMQP 0-9-1)
 *   topic               a topic, partitioned by key          a fanout exchange of that name
 *   send + delivered    produce; the delivery report         basic.publish; the publisher confirm
 *   group               a consumer group: the group's        a durable queue "<topic>.<group>"
 *                       members share the partitions         bound to the exchange: its consumers
 *                                                            compete for messages
 *   commit              the offset after the message         basic.ack of the delivery
 *   dead letter         produce to "<topic>.dlq", commit     publish to exchange "<topic>.dlq",
 *                                                            ack
 *
 * Delivery is at least once on both: a message whose commit never happened (the consumer died)
 * comes again, to this member or another. Consumers are idempotent on event_id (consumer.h). */
#ifndef TASKD_EVENT_BUS_H
#define TASKD_EVENT_BUS_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define EVENT_BUS_TOPIC_MAX 128
#define EVENT_BUS_GROUP_MAX 64

enum event_bus_kind { EVENT_BUS_KAFKA, EVENT_BUS_RABBITMQ };

struct event_bus_settings {
    enum event_bus_kind kind; /* EVENT_BUS */
    const char *brokers;      /* KAFKA_BROKERS: host:port[,host:port...] */
    const char *amqp_url;     /* AMQP_URL: amqp://user:password@host:port/vhost (a secret) */
    const char *topic;        /* EVENTS_TOPIC: "task-events"; its dead letters go to TOPIC.dlq */
    int timeout_ms;           /* EVENT_BUS_TIMEOUT_MS: a send's delivery deadline, a connect's */
    int session_timeout_ms;   /* KAFKA_SESSION_TIMEOUT_MS: how soon a dead member is replaced */
};

/* The settings above, for a program's config (declare), and read back after config_load. */
int event_bus_declare(struct config *cfg);
int event_bus_settings_read(const struct config *cfg, struct event_bus_settings *out);

/* ------------------------------------------------------------------ producing */

struct event_producer;

/* Called from event_producer_poll/flush, once per sent message, with the `msg_ctx` given to
 * send: rc 0 when the broker has the message (Kafka: acknowledged by all in-sync replicas;
 * RabbitMQ: confirmed), else ERR_UNAVAILABLE (broker down past the deadline) or ERR_IO (the
 * broker refused it). This is the only place a sender may learn that a message is safe. */
typedef void (*event_delivered_fn)(void *ctx, void *msg_ctx, int rc);

/* Kafka's producer is idempotent (enable.idempotence=true: the broker drops a retried
 * duplicate, and keeps a key's order); RabbitMQ's channel is in confirm mode. The connection
 * is made lazily: opening with the broker down succeeds, sends then fail through `delivered`.
 * 0, ERR_INVALID (bad settings, logged), ERR_NOMEM. */
int event_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered, void *ctx,
                        struct event_producer **out);
/* Queues one message for s->topic (or for `topic` when not NULL) with its key. Returns at once:
 * the outcome comes through `delivered`. 0, ERR_UNAVAILABLE (the local queue is full: poll and
 * retry), ERR_NOMEM. */
int event_producer_send(struct event_producer *p, const char *topic, const char *key,
                        size_t key_len, const void *value, size_t value_len, void *msg_ctx);
/* Serves delivery reports for up to timeout_ms. Returns how many were served (>= 0). */
int event_producer_poll(struct event_producer *p, int timeout_ms);
/* Waits until every queued message has had its report, at most timeout_ms. 0, or ERR_UNAVAILABLE
 * when some are still outstanding (their reports come later, from poll). */
int event_producer_flush(struct event_producer *p, int timeout_ms);
/* Messages sent and not yet reported. */
size_t event_producer_outstanding(const struct event_producer *p);
void event_producer_free(struct event_producer *p); /* flushes up to the timeout first */

/* ------------------------------------------------------------------ consuming */

struct event_consumer;

/* One message, borrowed from the consumer until the next poll or free. */
struct event_msg {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    int32_t partition; /* Kafka's partition; -1 on RabbitMQ */
    int64_t offset;    /* Kafka's offset; RabbitMQ's delivery tag */
    int redelivered;   /* RabbitMQ says so; Kafka cannot tell (0) */
};

/* Joins `group` on s->topic. Kafka: enable.auto.commit=false and auto.offset.reset=earliest
 * (a new group reads the topic from its start); RabbitMQ: declares the exchange, the group's
 * durable queue and its binding, and a prefetch of 1 per consumer. 0, ERR_INVALID, ERR_NOMEM,
 * ERR_UNAVAILABLE (RabbitMQ: no connection now). */
int event_consumer_open(const struct event_bus_settings *s, const char *group,
                        struct event_consumer **out);
/* Waits up to timeout_ms for the next message. 0 with *out filled; ERR_NOT_FOUND when none
 * came in time (rebalances are handled inside); ERR_UNAVAILABLE when the broker is lost (the
 * caller waits and polls again: the backend reconnects). */
int event_consumer_poll(struct event_consumer *c, int timeout_ms, struct event_msg *out);
/* Marks m done, synchronously (Kafka: commits offset + 1 of its partition; RabbitMQ: acks).
 * Call only after m's effect is durable. 0 or ERR_UNAVAILABLE. */
int event_consumer_commit(struct event_consumer *c, const struct event_msg *m);
/* Sends m, with `reason` as a header, to the dead-letter topic "<topic>.dlq", waits for its
 * delivery, then commits m: consumption goes on past a poison message. 0 or ERR_UNAVAILABLE. */
int event_consumer_dead_letter(struct event_consumer *c, const struct event_msg *m,
                               const char *reason);
/* How many polled messages c may hold uncommitted, and commit after more polls: 0 for no
 * limit (Kafka), 1 (RabbitMQ: commit each message before the next poll). Consumers batch only
 * where this allows (consumer.h). */
int event_consumer_max_uncommitted(const struct event_consumer *c);
/* How many partitions (Kafka) this member holds now; 1 on RabbitMQ while consuming. For logs
 * and the rebalance tests. */
int event_consumer_assigned(const struct event_consumer *c);
void event_consumer_free(struct event_consumer *c); /* leaves the group cleanly */

/* ------------------------------------------------------------------ backends */

struct event_bus_ops {
    const char *name; /* "kafka", "rabbitmq" */
    /* How many polled messages a consumer may hold before committing them: 0, no limit (Kafka:
     * a commit is an offset, and any stored offset is valid); 1 (RabbitMQ with its prefetch of
     * 1: the broker sends nothing more before the ack, and a poll ends the last delivery's
     * loan, after which it cannot be acked). */
    int max_uncommitted;
    int (*producer_open)(const struct event_bus_settings *s, event_delivered_fn delivered,
                         void *ctx, struct event_producer **out);
    int (*send)(struct event_producer *p, const char *topic, const char *key, size_t key_len,
                const void *value, size_t value_len, void *msg_ctx);
    int (*poll)(struct event_producer *p, int timeout_ms);
    int (*flush)(struct event_producer *p, int timeout_ms);
    size_t (*outstanding)(const struct event_producer *p);
    void (*producer_free)(struct event_producer *p);
    int (*consumer_open)(const struct event_bus_settings *s, const char *group,
                         struct event_consumer **out);
    int (*consumer_poll)(struct event_consumer *c, int timeout_ms, struct event_msg *out);
    int (*commit)(struct event_consumer *c, const struct event_msg *m);
    int (*dead_letter)(struct event_consumer *c, const struct event_msg *m, const char *reason);
    int (*assigned)(const struct event_consumer *c);
    void (*consumer_free)(struct event_consumer *c);
};

/* The common heads: a backend's producer and consumer structs embed these first. */
struct event_producer {
    const struct event_bus_ops *ops;
};
struct event_consumer {
    const struct event_bus_ops *ops;
};

extern const struct event_bus_ops event_bus_kafka;
extern const struct event_bus_ops event_bus_rabbitmq;

#endif
