/* event_bus_rabbitmq.c — the event bus on RabbitMQ (AMQP 0-9-1, librabbitmq): event_bus.h's
 * ops table `event_bus_rabbitmq`.
 *
 * A topic is a durable fanout exchange; a group is a durable queue "<topic>.<group>" bound to it,
 * so every group gets every message and a group's consumers compete for its queue. Messages are
 * persistent (delivery mode 2) and carry their key twice: as the routing key (what a person sees
 * in the broker's tools) and as a "key" header (any length, what the consumer reads).
 *
 * The producer's channel is in confirm mode: the broker numbers the messages of a channel 1, 2,
 * 3... (delivery tags) and answers basic.ack (it has the message: persisted, since the queues are
 * durable) or basic.nack (it refused it), possibly for many at once ("multiple"). We keep the
 * sent messages in send order with their tags and call `delivered` as the answers come, from
 * poll and flush. A lost connection loses the answers: every message still waiting is reported
 * ERR_UNAVAILABLE (the relay sends it again later; a consumer may then see it twice, which
 * at-least-once allows), and the next send reconnects. A connect that failed is not tried again
 * for a second, so a relay with a backlog does not wait a connect timeout per row.
 *
 * The consumer takes one message at a time (basic.qos prefetch 1) with manual acks: a message
 * never acked (the consumer died) goes back to the queue and comes again, marked redelivered.
 * Acks name a delivery tag of one channel of one connection, so after a reconnect the message in
 * hand can no longer be acked (commit says ERR_UNAVAILABLE; it comes again anyway).
 *
 * AMQP_URL holds a password: it is never logged, only the host and port are. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "event_bus.h"
#include "log.h"
#include "timeutil.h"

#define DEFAULT_TIMEOUT_MS 5000
#define RETRY_AFTER_US     1000000 /* after a failed connect, sends fail fast for this long */
#define FRAME_MAX          131072
#define HEARTBEAT_S        0   /* librabbitmq serves heartbeats only inside its calls: none */
#define CH_MAIN            1   /* publishing (producer) or consuming (consumer) */
#define CH_DLQ             2   /* the consumer's dead letters, in confirm mode */
#define KEY_ROUTING_MAX    255 /* a routing key is a short string */
#define DECLARED_MAX       8   /* topics whose exchange this connection has declared */
#define NAME_MAX_LEN       (EVENT_BUS_TOPIC_MAX + 1 + EVENT_BUS_GROUP_MAX)

/* ------------------------------------------------------------------ the connection */

/* One AMQP connection and how to make it again. */
struct link {
    amqp_connection_state_t conn; /* NULL: not connected */
    char *url;                    /* amqp_parse_url's buffer (it points into it): a secret */
    struct amqp_connection_info info;
    int timeout_ms;
    int64_t retry_after_us; /* no connect before this (monotonic µs) */
};

static struct timeval ms_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

static int link_init(struct link *l, const char *url, int timeout_ms)
{
    memset(l, 0, sizeof *l);
    l->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!url || !*url) {
        log_kv(LOG_ERROR, "event bus: AMQP_URL is not set",
               (struct log_kv[]){LOG_STR("bus", "rabbitmq")}, 1);
        return ERR_INVALID;
    }
    l->url = strdup(url);
    if (!l->url)
        return ERR_NOMEM;
    amqp_default_connection_info(&l->info);
    if (amqp_parse_url(l->url, &l->info) != AMQP_STATUS_OK || l->info.ssl) {
        /* Not the URL itself: it holds the password. */
        log_kv(LOG_ERROR, "event bus: AMQP_URL is not an amqp://user:password@host:port/vhost URL",
               (struct log_kv[]){LOG_STR("bus", "rabbitmq")}, 1);
        free(l->url);
        l->url = NULL;
        return ERR_INVALID;
    }
    return 0;
}

static void link_close(struct link *l, bool clean)
{
    if (!l->conn)
        return;
    if (clean) { /* each waits at most the RPC timeout */
        amqp_channel_close(l->conn, CH_MAIN, AMQP_REPLY_SUCCESS);
        amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(l->conn);
    l->conn = NULL;
}

static void link_free(struct link *l)
{
    link_close(l, true);
    if (l->url) {
        memset(l->url, 0, strlen(l->url)); /* the password: gone from this buffer */
        free(l->url);
        l->url = NULL;
    }
}

static bool rpc_ok(amqp_connection_state_t conn)
{
    return amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL;
}

static void log_lost(const struct link *l, const char *what)
{
    log_kv(LOG_WARN, what,
           (struct log_kv[]){LOG_STR("bus", "rabbitmq"), LOG_STR("host", l->info.host),
                             LOG_INT("port", l->info.port)},
           3);
}

/* Connects, logs in and opens `channels` channels (1, or 1 and 2). 0 or ERR_UNAVAILABLE. Fails
 * fast (no connect) while a previous failure is less than RETRY_AFTER_US old. */
static int link_open(struct link *l, int channels)
{
    if (l->conn)
        return 0;
    if (clock_mono_us() < l->retry_after_us)
        return ERR_UNAVAILABLE;
    struct timeval tv = ms_tv(l->timeout_ms);
    const char *step = "connect";
    l->conn = amqp_new_connection();
    if (!l->conn)
        return ERR_NOMEM;
    amqp_socket_t *sock = amqp_tcp_socket_new(l->conn); /* owned by the connection */
    if (!sock || amqp_socket_open_noblock(sock, l->info.host, l->info.port, &tv) != AMQP_STATUS_OK)
        goto fail;
    if (amqp_set_rpc_timeout(l->conn, &tv) != AMQP_STATUS_OK)
        goto fail;
    step = "login";
    amqp_rpc_reply_t r = amqp_login(l->conn, l->info.vhost, 0, FRAME_MAX, HEARTBEAT_S,
                                    AMQP_SASL_METHOD_PLAIN, l->info.user, l->info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        goto fail;
    step = "channel";
    for (int ch = 1; ch <= channels; ch++) {
        amqp_channel_open(l->conn, (amqp_channel_t)ch);
        if (!rpc_ok(l->conn))
            goto fail;
    }
    l->retry_after_us = 0;
    return 0;
fail:
    log_kv(LOG_WARN, "event bus: cannot reach the broker",
           (struct log_kv[]){LOG_STR("bus", "rabbitmq"), LOG_STR("host", l->info.host),
                             LOG_INT("port", l->info.port), LOG_STR("step", step)},
           4);
    link_close(l, false);
    l->retry_after_us = clock_mono_us() + RETRY_AFTER_US;
    return ERR_UNAVAILABLE;
}

static int declare_exchange(amqp_connection_state_t conn, amqp_channel_t ch, const char *name)
{
    amqp_exchange_declare(conn, ch, amqp_cstring_bytes(name), amqp_cstring_bytes("fanout"), 0,
                          1 /* durable */, 0, 0, amqp_empty_table);
    return rpc_ok(conn) ? 0 : ERR_UNAVAILABLE;
}

static int declare_queue(amqp_connection_state_t conn, amqp_channel_t ch, const char *queue,
                         const char *exchange)
{
    amqp_queue_declare(conn, ch, amqp_cstring_bytes(queue), 0, 1 /* durable */, 0, 0,
                       amqp_empty_table);
    if (!rpc_ok(conn))
        return ERR_UNAVAILABLE;
    amqp_queue_bind(conn, ch, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                    amqp_empty_bytes, amqp_empty_table);
    return rpc_ok(conn) ? 0 : ERR_UNAVAILABLE;
}

/* basic.publish of one persistent message with its key (and, for a dead letter, its reason) as
 * headers. 0 or ERR_UNAVAILABLE (the socket write failed). */
static int publish(amqp_connection_state_t conn, amqp_channel_t ch, const char *exchange,
                   const char *key, size_t key_len, const void *value, size_t value_len,
                   const char *message_id, const char *reason)
{
    amqp_table_entry_t h[2];
    int nh = 0;
    h[nh].key = amqp_cstring_bytes("key");
    h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
    h[nh++].value.value.bytes = (amqp_bytes_t){.len = key_len, .bytes = (void *)key};
    if (reason) {
        h[nh].key = amqp_cstring_bytes("reason");
        h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
        h[nh++].value.value.bytes = amqp_cstring_bytes(reason);
    }
    amqp_basic_properties_t props = {
        ._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG |
                  (message_id ? AMQP_BASIC_MESSAGE_ID_FLAG : 0),
        .delivery_mode = 2, /* persistent */
        .headers = {.num_entries = nh, .entries = h},
    };
    if (message_id)
        props.message_id = amqp_cstring_bytes(message_id);
    amqp_bytes_t routing = {.len = key_len <= KEY_ROUTING_MAX ? key_len : 0, .bytes = (void *)key};
    amqp_bytes_t body = {.len = value_len, .bytes = (void *)value};
    int rc =
        amqp_basic_publish(conn, ch, amqp_cstring_bytes(exchange), routing, 0, 0, &props, body);
    return rc == AMQP_STATUS_OK ? 0 : ERR_UNAVAILABLE;
}

/* ------------------------------------------------------------------ producing */

struct pending {
    uint64_t tag;    /* the channel's delivery tag; 0: already failed, report `rc` */
    int rc;          /* for tag 0 */
    int64_t sent_us; /* for the deadline */
    void *msg_ctx;
};

struct rmq_producer {
    struct event_producer base; /* first: event_bus.h's common head */
    struct link link;
    char topic[EVENT_BUS_TOPIC_MAX + 1];
    event_delivered_fn delivered;
    void *ctx;
    struct pending *q; /* in send order, so in tag order */
    size_t n, cap;
    uint64_t next_tag; /* the tag the broker gives the next publish on this connection */
    uint64_t seq;      /* for message ids */
    char id_prefix[32];
    char declared[DECLARED_MAX][EVENT_BUS_TOPIC_MAX + 1];
    size_t ndeclared;
};

static int producer_connect(struct rmq_producer *p)
{
    if (p->link.conn)
        return 0;
    int rc = link_open(&p->link, 1);
    if (rc != 0)
        return rc;
    amqp_confirm_select(p->link.conn, CH_MAIN);
    if (!rpc_ok(p->link.conn)) {
        log_lost(&p->link, "event bus: confirm.select failed");
        link_close(&p->link, false);
        return ERR_UNAVAILABLE;
    }
    p->next_tag = 1;
    p->ndeclared = 0;
    return 0;
}

/* The connection is gone: every message waiting for its confirm will never get one. */
static void producer_lost(struct rmq_producer *p)
{
    if (p->link.conn)
        log_lost(&p->link, "event bus: connection lost, unconfirmed messages fail");
    link_close(&p->link, false);
    for (size_t i = 0; i < p->n; i++)
        if (p->q[i].tag) {
            p->q[i].tag = 0;
            p->q[i].rc = ERR_UNAVAILABLE;
        }
}

static int rmq_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered,
                             void *ctx, struct event_producer **out)
{
    *out = NULL;
    if (!s || !delivered || !s->topic || !*s->topic || strlen(s->topic) > EVENT_BUS_TOPIC_MAX)
        return ERR_INVALID;
    struct rmq_producer *p = calloc(1, sizeof *p);
    if (!p)
        return ERR_NOMEM;
    int rc = link_init(&p->link, s->amqp_url, s->timeout_ms);
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->base.ops = &event_bus_rabbitmq;
    p->delivered = delivered;
    p->ctx = ctx;
    snprintf(p->topic, sizeof p->topic, "%s", s->topic);
    snprintf(p->id_prefix, sizeof p->id_prefix, "%ld-%lld", (long)getpid(),
             (long long)clock_now_us());
    *out = &p->base;
    return 0;
}

static int ensure_exchange(struct rmq_producer *p, const char *topic)
{
    for (size_t i = 0; i < p->ndeclared; i++)
        if (strcmp(p->declared[i], topic) == 0)
            return 0;
    if (declare_exchange(p->link.conn, CH_MAIN, topic) != 0)
        return ERR_UNAVAILABLE;
    if (p->ndeclared == DECLARED_MAX)
        p->ndeclared = 0; /* forget them all: declaring again is harmless */
    snprintf(p->declared[p->ndeclared++], sizeof p->declared[0], "%s", topic);
    return 0;
}

static int rmq_send(struct event_producer *base, const char *topic, const char *key, size_t key_len,
                    const void *value, size_t value_len, void *msg_ctx)
{
    struct rmq_producer *p = (struct rmq_producer *)base;
    const char *t = topic ? topic : p->topic;
    if (strlen(t) > EVENT_BUS_TOPIC_MAX)
        return ERR_INVALID;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct pending *q = realloc(p->q, cap * sizeof *q);
        if (!q)
            return ERR_NOMEM;
        p->q = q;
        p->cap = cap;
    }
    struct pending *e = &p->q[p->n];
    *e = (struct pending){
        .tag = 0, .rc = ERR_UNAVAILABLE, .sent_us = clock_mono_us(), .msg_ctx = msg_ctx};
    char id[64];
    snprintf(id, sizeof id, "%s-%llu", p->id_prefix, (unsigned long long)++p->seq);
    if (producer_connect(p) == 0) {
        if (ensure_exchange(p, t) != 0 ||
            publish(p->link.conn, CH_MAIN, t, key, key_len, value, value_len, id, NULL) != 0)
            producer_lost(p); /* a failed declare closes the channel: start afresh */
        else
            e->tag = p->next_tag++;
    }
    p->n++; /* a failure is reported through `delivered`, from poll */
    return 0;
}

/* Reports, in order, every message that has its outcome, and drops it from the queue. */
static int serve_done(struct rmq_producer *p, uint64_t acked_upto, uint64_t one_tag, int one_rc)
{
    int served = 0;
    size_t keep = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct pending e = p->q[i];
        int rc;
        if (e.tag == 0)
            rc = e.rc;
        else if (e.tag <= acked_upto)
            rc = 0;
        else if (e.tag == one_tag)
            rc = one_rc;
        else {
            p->q[keep++] = e;
            continue;
        }
        p->delivered(p->ctx, e.msg_ctx, rc);
        served++;
    }
    p->n = keep;
    return served;
}

/* Fails the messages whose confirm has not come within the deadline. */
static int expire(struct rmq_producer *p)
{
    int64_t limit = clock_mono_us() - (int64_t)p->link.timeout_ms * 1000;
    bool any = false;
    for (size_t i = 0; i < p->n; i++)
        if (p->q[i].tag && p->q[i].sent_us < limit) {
            p->q[i].tag = 0;
            p->q[i].rc = ERR_UNAVAILABLE;
            any = true;
        }
    return any ? serve_done(p, 0, 0, 0) : 0;
}

static bool any_waiting(const struct rmq_producer *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->q[i].tag)
            return true;
    return false;
}

/* Serves what is known now, then waits for confirms up to timeout_ms, returning as soon as some
 * were served. */
static int rmq_poll(struct event_producer *base, int timeout_ms)
{
    struct rmq_producer *p = (struct rmq_producer *)base;
    int served = serve_done(p, 0, 0, 0);
    int64_t deadline = clock_mono_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    while (served == 0 && p->link.conn && any_waiting(p)) {
        int64_t left_us = deadline - clock_mono_us();
        struct timeval tv = {.tv_sec = left_us > 0 ? left_us / 1000000 : 0,
                             .tv_usec = left_us > 0 ? left_us % 1000000 : 0};
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(p->link.conn, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_METHOD) {
            if (rc != AMQP_STATUS_OK) {
                producer_lost(p);
                served += serve_done(p, 0, 0, 0);
            }
            continue;
        }
        amqp_method_number_t id = f.payload.method.id;
        if (id == AMQP_BASIC_ACK_METHOD) {
            const amqp_basic_ack_t *a = f.payload.method.decoded;
            served += a->multiple ? serve_done(p, a->delivery_tag, 0, 0)
                                  : serve_done(p, 0, a->delivery_tag, 0);
        } else if (id == AMQP_BASIC_NACK_METHOD) {
            const amqp_basic_nack_t *a = f.payload.method.decoded;
            if (a->multiple) { /* every tag up to it was refused */
                for (size_t i = 0; i < p->n; i++)
                    if (p->q[i].tag && p->q[i].tag <= a->delivery_tag) {
                        p->q[i].tag = 0;
                        p->q[i].rc = ERR_IO;
                    }
                served += serve_done(p, 0, 0, 0);
            } else {
                served += serve_done(p, 0, a->delivery_tag, ERR_IO);
            }
        } else if (id == AMQP_CONNECTION_CLOSE_METHOD || id == AMQP_CHANNEL_CLOSE_METHOD) {
            producer_lost(p); /* the broker is stopping, or refused something: start afresh */
            served += serve_done(p, 0, 0, 0);
        }
        if (deadline <= clock_mono_us())
            break;
    }
    served += expire(p);
    if (served == 0 && p->n == 0 && timeout_ms > 0) {
        struct timespec ts = {.tv_sec = timeout_ms / 1000,
                              .tv_nsec = (timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* nothing to wait for: wait anyway, as a poll loop expects */
    }
    if (p->link.conn)
        amqp_maybe_release_buffers(p->link.conn);
    return served;
}

static int rmq_flush(struct event_producer *base, int timeout_ms)
{
    struct rmq_producer *p = (struct rmq_producer *)base;
    int64_t deadline = clock_mono_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    for (;;) {
        if (p->n == 0)
            return 0;
        int64_t left_ms = (deadline - clock_mono_us()) / 1000;
        if (left_ms <= 0)
            break;
        rmq_poll(base, (int)left_ms);
    }
    serve_done(p, 0, 0, 0);
    return p->n == 0 ? 0 : ERR_UNAVAILABLE;
}

static size_t rmq_outstanding(const struct event_producer *base)
{
    return ((const struct rmq_producer *)base)->n;
}

static void rmq_producer_free(struct event_producer *base)
{
    struct rmq_producer *p = (struct rmq_producer *)base;
    if (!p)
        return;
    rmq_flush(base, p->link.timeout_ms);
    link_close(&p->link, true);
    /* Whatever is still waiting will never be reported otherwise: the sender learns it is not
     * known to be safe. */
    producer_lost(p);
    serve_done(p, 0, 0, 0);
    link_free(&p->link);
    free(p->q);
    free(p);
}

/* ------------------------------------------------------------------ consuming */

struct rmq_consumer {
    struct event_consumer base; /* first: event_bus.h's common head */
    struct link link;
    char topic[EVENT_BUS_TOPIC_MAX + 1];
    char queue[NAME_MAX_LEN + 2];
    char dlq[EVENT_BUS_TOPIC_MAX + 5];
    amqp_envelope_t env; /* the message lent to the caller */
    bool has_env;
    bool consuming;
    uint64_t dlq_tag; /* the last delivery tag of the dead-letter channel */
};

/* Declares the topology, sets the prefetch and starts consuming. 0 or ERR_UNAVAILABLE. */
static int consumer_connect(struct rmq_consumer *c)
{
    if (c->consuming)
        return 0;
    int rc = link_open(&c->link, 2);
    if (rc != 0)
        return rc;
    amqp_connection_state_t conn = c->link.conn;
    const char *step = "declare";
    if (declare_exchange(conn, CH_MAIN, c->topic) != 0 ||
        declare_queue(conn, CH_MAIN, c->queue, c->topic) != 0 ||
        declare_exchange(conn, CH_MAIN, c->dlq) != 0 ||
        declare_queue(conn, CH_MAIN, c->dlq, c->dlq) != 0)
        goto fail;
    step = "qos";
    amqp_basic_qos(conn, CH_MAIN, 0, 1, 0);
    if (!rpc_ok(conn))
        goto fail;
    step = "confirm";
    amqp_confirm_select(conn, CH_DLQ);
    if (!rpc_ok(conn))
        goto fail;
    step = "consume";
    amqp_basic_consume(conn, CH_MAIN, amqp_cstring_bytes(c->queue), amqp_empty_bytes, 0,
                       0 /* manual acks */, 0, amqp_empty_table);
    if (!rpc_ok(conn))
        goto fail;
    c->dlq_tag = 0;
    c->consuming = true;
    return 0;
fail:
    log_kv(LOG_WARN, "event bus: cannot set up the group's queue",
           (struct log_kv[]){LOG_STR("bus", "rabbitmq"), LOG_STR("queue", c->queue),
                             LOG_STR("step", step)},
           3);
    link_close(&c->link, false);
    return ERR_UNAVAILABLE;
}

static void consumer_lost(struct rmq_consumer *c)
{
    if (c->has_env) {
        amqp_destroy_envelope(&c->env);
        c->has_env = false;
    }
    if (c->link.conn)
        log_lost(&c->link, "event bus: consumer's connection lost");
    link_close(&c->link, false);
    c->consuming = false;
}

static int rmq_consumer_open(const struct event_bus_settings *s, const char *group,
                             struct event_consumer **out)
{
    *out = NULL;
    if (!s || !s->topic || !*s->topic || strlen(s->topic) > EVENT_BUS_TOPIC_MAX || !group ||
        !*group || strlen(group) > EVENT_BUS_GROUP_MAX)
        return ERR_INVALID;
    struct rmq_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return ERR_NOMEM;
    int rc = link_init(&c->link, s->amqp_url, s->timeout_ms);
    if (rc != 0)
        goto fail;
    c->base.ops = &event_bus_rabbitmq;
    snprintf(c->topic, sizeof c->topic, "%s", s->topic);
    /* A dead-letter topic is one queue that keeps every dead letter from the moment the topic's
     * first consumer declared it: its readers (people, taskd-events read --dlq) take from that
     * queue, whatever their group, or they would see only what died after they came. */
    size_t tn = strlen(s->topic);
    bool dead_letters = tn > 4 && strcmp(s->topic + tn - 4, ".dlq") == 0;
    if (dead_letters)
        snprintf(c->queue, sizeof c->queue, "%s", s->topic);
    else
        snprintf(c->queue, sizeof c->queue, "%s.%s", s->topic, group);
    snprintf(c->dlq, sizeof c->dlq, "%s.dlq", s->topic);
    rc = consumer_connect(c);
    if (rc != 0)
        goto fail;
    *out = &c->base;
    return 0;
fail:
    link_free(&c->link);
    free(c);
    return rc;
}

static void header_str(const amqp_basic_properties_t *props, const char *name, const char **s,
                       size_t *n)
{
    if (!(props->_flags & AMQP_BASIC_HEADERS_FLAG))
        return;
    for (int i = 0; i < props->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &props->headers.entries[i];
        if (e->key.len == strlen(name) && memcmp(e->key.bytes, name, e->key.len) == 0 &&
            (e->value.kind == AMQP_FIELD_KIND_UTF8 || e->value.kind == AMQP_FIELD_KIND_BYTES)) {
            *s = e->value.value.bytes.bytes;
            *n = e->value.value.bytes.len;
        }
    }
}

static int rmq_consumer_poll(struct event_consumer *base, int timeout_ms, struct event_msg *out)
{
    struct rmq_consumer *c = (struct rmq_consumer *)base;
    if (c->has_env) {
        amqp_destroy_envelope(&c->env);
        c->has_env = false;
    }
    if (consumer_connect(c) != 0)
        return ERR_UNAVAILABLE;
    amqp_maybe_release_buffers(c->link.conn);
    struct timeval tv = ms_tv(timeout_ms > 0 ? timeout_ms : 0);
    amqp_rpc_reply_t r = amqp_consume_message(c->link.conn, &c->env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return ERR_NOT_FOUND;
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        /* A connection.close from a stopping broker, an unexpected frame or a dead socket: all
         * the same to us, the next poll connects again. */
        consumer_lost(c);
        return ERR_UNAVAILABLE;
    }
    c->has_env = true;
    *out = (struct event_msg){
        .key = c->env.routing_key.bytes,
        .key_len = c->env.routing_key.len,
        .value = c->env.message.body.bytes,
        .value_len = c->env.message.body.len,
        .partition = -1,
        .offset = (int64_t)c->env.delivery_tag,
        .redelivered = c->env.redelivered ? 1 : 0,
    };
    header_str(&c->env.message.properties, "key", &out->key, &out->key_len);
    if (!out->key) { /* an empty routing key's bytes may be NULL */
        out->key = "";
        out->key_len = 0;
    }
    return 0;
}

/* Is m the message in hand, on this connection? A tag from before a reconnect names nothing. */
static bool in_hand(const struct rmq_consumer *c, const struct event_msg *m)
{
    return c->consuming && c->has_env && (uint64_t)m->offset == c->env.delivery_tag;
}

static int rmq_commit(struct event_consumer *base, const struct event_msg *m)
{
    struct rmq_consumer *c = (struct rmq_consumer *)base;
    if (!in_hand(c, m))
        return ERR_UNAVAILABLE;
    if (amqp_basic_ack(c->link.conn, CH_MAIN, (uint64_t)m->offset, 0) != AMQP_STATUS_OK) {
        consumer_lost(c);
        return ERR_UNAVAILABLE;
    }
    /* basic.ack has no answer: an ack lost with the connection means the message comes again,
     * which consumers idempotent on event_id absorb. */
    return 0;
}

/* Waits for the confirm of the dead-letter channel's tag `tag`. 0, ERR_IO (nack) or
 * ERR_UNAVAILABLE. Prefetch 1 and the message in hand unacked: no delivery comes meanwhile. */
static int wait_dlq_confirm(struct rmq_consumer *c, uint64_t tag)
{
    int64_t deadline = clock_mono_us() + (int64_t)c->link.timeout_ms * 1000;
    for (;;) {
        int64_t left_us = deadline - clock_mono_us();
        if (left_us <= 0)
            return ERR_UNAVAILABLE;
        struct timeval tv = {.tv_sec = left_us / 1000000, .tv_usec = left_us % 1000000};
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(c->link.conn, &f, &tv);
        if (rc != AMQP_STATUS_OK)
            return ERR_UNAVAILABLE;
        if (f.frame_type != AMQP_FRAME_METHOD || f.channel != CH_DLQ)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            const amqp_basic_ack_t *a = f.payload.method.decoded;
            if (a->delivery_tag == tag || (a->multiple && a->delivery_tag >= tag))
                return 0;
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            const amqp_basic_nack_t *a = f.payload.method.decoded;
            if (a->delivery_tag == tag || (a->multiple && a->delivery_tag >= tag))
                return ERR_IO;
        } else {
            return ERR_UNAVAILABLE; /* channel.close: the broker refused something */
        }
    }
}

static int rmq_dead_letter(struct event_consumer *base, const struct event_msg *m,
                           const char *reason)
{
    struct rmq_consumer *c = (struct rmq_consumer *)base;
    if (!in_hand(c, m))
        return ERR_UNAVAILABLE;
    const amqp_basic_properties_t *props = &c->env.message.properties;
    char id[128] = "";
    if ((props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) && props->message_id.len < sizeof id) {
        memcpy(id, props->message_id.bytes, props->message_id.len);
        id[props->message_id.len] = '\0';
    }
    int rc = publish(c->link.conn, CH_DLQ, c->dlq, m->key, m->key_len, m->value, m->value_len,
                     id[0] ? id : NULL, reason ? reason : "");
    if (rc == 0)
        rc = wait_dlq_confirm(c, ++c->dlq_tag);
    if (rc != 0) {
        /* Not kept, so not acked: the message comes again and meets the same fate then. */
        log_kv(LOG_WARN, "event bus: dead letter not confirmed",
               (struct log_kv[]){LOG_STR("bus", "rabbitmq"), LOG_STR("queue", c->dlq)}, 2);
        consumer_lost(c);
        return ERR_UNAVAILABLE;
    }
    return rmq_commit(base, m);
}

static int rmq_assigned(const struct event_consumer *base)
{
    return ((const struct rmq_consumer *)base)->consuming ? 1 : 0;
}

static void rmq_consumer_free(struct event_consumer *base)
{
    struct rmq_consumer *c = (struct rmq_consumer *)base;
    if (!c)
        return;
    if (c->has_env)
        amqp_destroy_envelope(&c->env);
    /* Closing the channel hands an unacked message back to the queue at once. */
    if (c->link.conn)
        amqp_channel_close(c->link.conn, CH_DLQ, AMQP_REPLY_SUCCESS);
    link_free(&c->link);
    free(c);
}

const struct event_bus_ops event_bus_rabbitmq = {
    .name = "rabbitmq",
    .max_uncommitted = 1, /* the prefetch of 1 (rmq_consumer_open's basic.qos) */
    .producer_open = rmq_producer_open,
    .send = rmq_send,
    .poll = rmq_poll,
    .flush = rmq_flush,
    .outstanding = rmq_outstanding,
    .producer_free = rmq_producer_free,
    .consumer_open = rmq_consumer_open,
    .consumer_poll = rmq_consumer_poll,
    .commit = rmq_commit,
    .dead_letter = rmq_dead_letter,
    .assigned = rmq_assigned,
    .consumer_free = rmq_consumer_free,
};
