/* event_bus_kafka.c — the Kafka backend of event_bus.h, on librdkafka.
 *
 * Producer: idempotent (enable.idempotence=true, which implies acks=all and bounded in-flight
 * requests), so a retry after a lost acknowledgement is dropped by the broker and a key's
 * messages keep their order. A send only queues; librdkafka batches (linger 5 ms), sends, retries
 * until message.timeout.ms (EVENT_BUS_TIMEOUT_MS) and then reports, once per message, through the
 * delivery-report callback, which runs inside event_producer_poll/flush on the caller's thread and
 * becomes the caller's `delivered(ctx, msg_ctx, rc)`. With the broker down, messages simply stay
 * outstanding until it is back or their deadline passes.
 *
 * Consumer: a high-level consumer in a group (the group coordinator shares the topic's partitions
 * among the members and moves them when one joins or leaves). A message's offset is stored only
 * when the caller says its effect is durable (event_consumer_commit); librdkafka commits the
 * stored offsets every AUTO_COMMIT_MS, when partitions are revoked and at close: at least once.
 * A synchronous commit per message cost a broker round trip for every event (make bench-events);
 * what a crash loses is at most AUTO_COMMIT_MS of stored offsets, which come again and which the
 * consumers' dedupe absorbs. A new group starts at the beginning of the topic
 * (auto.offset.reset=earliest). The rebalance callback applies each new assignment and counts its
 * partitions.
 *
 * librdkafka logs from its own threads; on_log sends those lines through log.h, its chatty levels
 * as debug, its warnings and errors at most once per LOG_EVERY_MS per client (an unreachable
 * broker otherwise makes a line a second). Nothing here logs AMQP_URL, which this backend never
 * reads. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event_bus.h"
#include "log.h"

#define LOG_EVERY_MS   5000 /* a repeated warning (broker down) at most this often per client */
#define AUTO_COMMIT_MS 100  /* how often stored offsets are committed (librdkafka: 5000) */

/* ------------------------------------------------------------------ shared helpers */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "At most once per LOG_EVERY_MS", safe from librdkafka's threads. */
struct throttle {
    atomic_llong last_ms;
    atomic_long suppressed;
};

/* True when the caller may log now; then *suppressed says how many were skipped since. */
static bool throttle_ok(struct throttle *t, long *suppressed)
{
    long long now = now_ms();
    long long last = atomic_load(&t->last_ms);
    if (last != 0 && now - last < LOG_EVERY_MS) {
        atomic_fetch_add(&t->suppressed, 1);
        return false;
    }
    if (!atomic_compare_exchange_strong(&t->last_ms, &last, now)) {
        atomic_fetch_add(&t->suppressed, 1); /* another thread just logged */
        return false;
    }
    *suppressed = atomic_exchange(&t->suppressed, 0);
    return true;
}

/* The opaque of every rd_kafka_t of this file: what on_log needs to name and throttle it. */
struct client_log {
    const char *role; /* "producer", "consumer", "dead-letter producer" */
    struct throttle warn;
};

/* librdkafka's lines (syslog levels). Levels 5-6 are its notices (connections, group joins):
 * debug here. 0-4 are warnings and errors: one per LOG_EVERY_MS. Its "FAIL" lines (a broker
 * connection failed) repeat what the error callback or poll already reports, so they are
 * throttled with the rest. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct client_log *cl = rd_kafka_opaque(rk);
    const char *role = cl ? cl->role : "client";
    if (level >= 5) {
        if (log_enabled(LOG_DEBUG))
            log_kv(LOG_DEBUG, "kafka: librdkafka",
                   (struct log_kv[]){LOG_STR("client", role), LOG_STR("facility", fac),
                                     LOG_STR("detail", buf)},
                   3);
        return;
    }
    long suppressed = 0;
    if (cl && !throttle_ok(&cl->warn, &suppressed))
        return;
    log_kv(LOG_WARN, "kafka: librdkafka",
           (struct log_kv[]){LOG_STR("client", role), LOG_STR("facility", fac),
                             LOG_STR("detail", buf), LOG_INT("suppressed", suppressed)},
           4);
}

/* One configuration property; logs and returns false when librdkafka refuses it. */
static bool conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) == RD_KAFKA_CONF_OK)
        return true;
    log_kv(LOG_ERROR, "kafka: bad setting",
           (struct log_kv[]){LOG_STR("property", name), LOG_STR("error", errstr)}, 2);
    return false;
}

static bool conf_set_int(rd_kafka_conf_t *conf, const char *name, long long value)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", value);
    return conf_set(conf, name, v);
}

/* The properties every client of ours shares. */
static bool conf_common(rd_kafka_conf_t *conf, const struct event_bus_settings *s,
                        struct client_log *cl)
{
    rd_kafka_conf_set_opaque(conf, cl);
    rd_kafka_conf_set_log_cb(conf, on_log);
    /* A connect's deadline (librdkafka's minimum is 1000 ms). */
    int connect_ms = s->timeout_ms < 1000 ? 1000 : s->timeout_ms;
    return conf_set(conf, "bootstrap.servers", s->brokers) &&
           conf_set(conf, "client.id", "taskd") &&
           conf_set(conf, "log.connection.close", "false") &&
           /* Retry a lost broker at least every 2 s (librdkafka's default backs off to 10 s):
            * after an outage, held messages go out within about that. */
           conf_set(conf, "reconnect.backoff.max.ms", "2000") &&
           conf_set_int(conf, "socket.connection.setup.timeout.ms", connect_ms);
}

/* A producer's properties: idempotent, acks from every in-sync replica, a short linger, and the
 * delivery deadline. */
static bool conf_producer(rd_kafka_conf_t *conf, int timeout_ms)
{
    return conf_set(conf, "enable.idempotence", "true") && conf_set(conf, "acks", "all") &&
           conf_set(conf, "linger.ms", "5") && conf_set_int(conf, "message.timeout.ms", timeout_ms);
}

/* A failed delivery's code: the broker out of reach (the deadline passed, the queue was purged
 * on close) is ERR_UNAVAILABLE; anything the broker said no to is ERR_IO. */
static int delivery_rc(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return 0;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return ERR_UNAVAILABLE;
    default:
        return ERR_IO;
    }
}

/* ------------------------------------------------------------------ producing */

struct kafka_producer {
    struct event_producer head; /* first: event_bus.c sees only this */
    rd_kafka_t *rk;
    event_delivered_fn delivered;
    void *ctx;
    int timeout_ms;
    size_t outstanding; /* sends without a report yet; only the caller's thread touches it */
    size_t served;      /* reports served, for poll's count */
    struct client_log log;
    struct throttle fail_log;
    char topic[EVENT_BUS_TOPIC_MAX];
};

/* Runs inside rd_kafka_poll/flush, on the caller's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_producer *p =
        (struct kafka_producer *)((char *)opaque - offsetof(struct kafka_producer, log));
    int rc = delivery_rc(m->err);
    long suppressed = 0;
    if (rc != 0 && throttle_ok(&p->fail_log, &suppressed))
        log_kv(LOG_WARN, "kafka: a message was not delivered",
               (struct log_kv[]){LOG_STR("topic", rd_kafka_topic_name(m->rkt)),
                                 LOG_STR("error", rd_kafka_err2str(m->err)),
                                 LOG_INT("suppressed", suppressed)},
               3);
    if (p->outstanding > 0)
        p->outstanding--;
    p->served++;
    if (p->delivered)
        p->delivered(p->ctx, m->_private, rc);
}

/* Producer-wide errors. A fatal one (the idempotent producer lost its guarantees: a sequence
 * gap) makes every later send fail; it is logged as an error every time it is reported. */
static void on_producer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct client_log *cl = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        log_kv(LOG_ERROR, "kafka: the producer failed for good",
               (struct log_kv[]){LOG_STR("error", rd_kafka_err2name(orig)), LOG_STR("reason", why)},
               2);
        return;
    }
    long suppressed = 0;
    if (!throttle_ok(&cl->warn, &suppressed))
        return;
    log_kv(LOG_WARN, "kafka: broker trouble (messages wait and are retried)",
           (struct log_kv[]){LOG_STR("client", cl->role),
                             LOG_STR("error", rd_kafka_err2name((rd_kafka_resp_err_t)err)),
                             LOG_STR("reason", reason), LOG_INT("suppressed", suppressed)},
           4);
}

static int kafka_producer_open(const struct event_bus_settings *s, event_delivered_fn delivered,
                               void *ctx, struct event_producer **out)
{
    *out = NULL;
    if (!s->brokers || !s->topic || strlen(s->topic) >= sizeof((struct kafka_producer *)0)->topic) {
        log_msg(LOG_ERROR, "kafka: a producer needs KAFKA_BROKERS and EVENTS_TOPIC");
        return ERR_INVALID;
    }
    struct kafka_producer *p = calloc(1, sizeof *p);
    if (!p)
        return ERR_NOMEM;
    p->head.ops = &event_bus_kafka;
    p->delivered = delivered;
    p->ctx = ctx;
    p->timeout_ms = s->timeout_ms;
    p->log.role = "producer";
    snprintf(p->topic, sizeof p->topic, "%s", s->topic);

    int rc = ERR_INVALID;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        rc = ERR_NOMEM;
        goto fail;
    }
    if (!conf_common(conf, s, &p->log) || !conf_producer(conf, s->timeout_ms))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_producer_error);
    /* rd_kafka_new owns conf when it succeeds; on failure it is still ours (fail:). */
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        log_kv(LOG_ERROR, "kafka: cannot create the producer",
               (struct log_kv[]){LOG_STR("error", errstr)}, 1);
        goto fail;
    }
    log_kv(LOG_INFO, "kafka: producer ready (connects on first use)",
           (struct log_kv[]){LOG_STR("brokers", s->brokers), LOG_STR("topic", p->topic)}, 2);
    *out = &p->head;
    return 0;
fail:
    if (conf && !p->rk)
        rd_kafka_conf_destroy(conf);
    free(p);
    return rc;
}

static int kafka_send(struct event_producer *ep, const char *topic, const char *key, size_t key_len,
                      const void *value, size_t value_len, void *msg_ctx)
{
    struct kafka_producer *p = (struct kafka_producer *)ep;
    /* F_COPY: the caller's buffers are free to go when this returns. */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(topic ? topic : p->topic), RD_KAFKA_V_KEY(key, key ? key_len : 0),
        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(msg_ctx), RD_KAFKA_V_END);
    if (!err) {
        p->outstanding++;
        return 0;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return ERR_UNAVAILABLE; /* the caller polls (serving reports) and tries again */
    log_kv(LOG_ERROR, "kafka: cannot queue a message",
           (struct log_kv[]){LOG_STR("topic", topic ? topic : p->topic),
                             LOG_STR("error", rd_kafka_err2str(err))},
           2);
    return err == RD_KAFKA_RESP_ERR__FATAL ? ERR_UNAVAILABLE : ERR_INVALID;
}

static int kafka_poll(struct event_producer *ep, int timeout_ms)
{
    struct kafka_producer *p = (struct kafka_producer *)ep;
    size_t before = p->served;
    rd_kafka_poll(p->rk, timeout_ms);
    return (int)(p->served - before);
}

static int kafka_flush(struct event_producer *ep, int timeout_ms)
{
    struct kafka_producer *p = (struct kafka_producer *)ep;
    rd_kafka_flush(p->rk, timeout_ms); /* serves the reports as it waits */
    return p->outstanding == 0 ? 0 : ERR_UNAVAILABLE;
}

static size_t kafka_outstanding(const struct event_producer *ep)
{
    return ((const struct kafka_producer *)ep)->outstanding;
}

/* Flushes up to the timeout; whatever is still queued is then purged, so that every message
 * sent gets its one report (ERR_UNAVAILABLE for those) before the producer goes. */
static void kafka_producer_free(struct event_producer *ep)
{
    struct kafka_producer *p = (struct kafka_producer *)ep;
    if (!p)
        return;
    if (p->rk) {
        rd_kafka_flush(p->rk, p->timeout_ms);
        if (p->outstanding > 0) {
            log_kv(LOG_WARN, "kafka: closing with messages not delivered",
                   (struct log_kv[]){LOG_INT("outstanding", (long long)p->outstanding)}, 1);
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(p->rk, 0);
        }
        rd_kafka_destroy(p->rk);
    }
    free(p);
}

/* ------------------------------------------------------------------ consuming */

struct kafka_consumer {
    struct event_consumer head;
    rd_kafka_t *rk;
    rd_kafka_t *dlq;             /* the dead-letter producer, made on first use */
    rd_kafka_message_t *current; /* lent to the caller until the next poll or free */
    atomic_int assigned;         /* partitions held; read by event_consumer_assigned */
    int timeout_ms;
    const char *brokers; /* the settings' string: lives as long as the program's config */
    struct client_log log;
    struct client_log dlq_log;
    struct throttle poll_log;
    char topic[EVENT_BUS_TOPIC_MAX];
    char group[EVENT_BUS_GROUP_MAX];
};

/* "task-events[0],task-events[2]" into buf, for the rebalance log lines. */
static const char *partition_list(const rd_kafka_topic_partition_list_t *l, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; l && i < l->cnt && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s[%" PRId32 "]", i ? "," : "",
                         l->elems[i].topic, l->elems[i].partition);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* The group coordinator changed who holds what. Eager protocol (the default, range/roundrobin
 * assignors): every rebalance revokes everything, then assigns the new share whole. Cooperative
 * (cooperative-sticky) adds or removes only the partitions that move. Either way this is where
 * the consumer starts or stops fetching them, and where the count changes. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_consumer *c =
        (struct kafka_consumer *)((char *)opaque - offsetof(struct kafka_consumer, log));
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    char list[512];
    const char *what = "revoked";
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        what = "assigned";
        if (cooperative) {
            error = rd_kafka_incremental_assign(rk, parts);
            if (!error)
                atomic_fetch_add(&c->assigned, parts->cnt);
        } else {
            aerr = rd_kafka_assign(rk, parts);
            if (!aerr)
                atomic_store(&c->assigned, parts->cnt);
        }
    } else {
        /* Revoked, or an error in the rebalance itself: give everything up. librdkafka commits
         * the stored offsets first (auto-commit); messages not yet stored are read again by
         * their next owner. */
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            what = "lost (rebalance error)";
        if (cooperative) {
            error = rd_kafka_incremental_unassign(rk, parts);
            if (!error)
                atomic_fetch_sub(&c->assigned, parts->cnt);
        } else {
            aerr = rd_kafka_assign(rk, NULL);
            atomic_store(&c->assigned, 0);
        }
    }
    if (error) {
        aerr = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
    }
    log_kv(aerr ? LOG_ERROR : LOG_INFO, "kafka: partitions rebalanced",
           (struct log_kv[]){LOG_STR("group", c->group), LOG_STR("change", what),
                             LOG_STR("partitions", partition_list(parts, list, sizeof list)),
                             LOG_INT("held", atomic_load(&c->assigned)),
                             LOG_STR("error", aerr ? rd_kafka_err2str(aerr) : NULL)},
           5);
}

static int kafka_consumer_open(const struct event_bus_settings *s, const char *group,
                               struct event_consumer **out)
{
    *out = NULL;
    if (!s->brokers || !s->topic || strlen(s->topic) >= EVENT_BUS_TOPIC_MAX - 4 ||
        strlen(group) >= EVENT_BUS_GROUP_MAX) {
        log_msg(LOG_ERROR, "kafka: a consumer needs KAFKA_BROKERS, EVENTS_TOPIC and a group");
        return ERR_INVALID;
    }
    struct kafka_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return ERR_NOMEM;
    c->head.ops = &event_bus_kafka;
    c->timeout_ms = s->timeout_ms;
    c->brokers = s->brokers;
    c->log.role = "consumer";
    c->dlq_log.role = "dead-letter producer";
    snprintf(c->topic, sizeof c->topic, "%s", s->topic);
    snprintf(c->group, sizeof c->group, "%s", group);

    int rc = ERR_INVALID;
    char errstr[512];
    rd_kafka_topic_partition_list_t *subs = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        rc = ERR_NOMEM;
        goto fail;
    }
    /* Heartbeats well inside the session, or a healthy member would be thrown out. */
    int heartbeat = s->session_timeout_ms / 3;
    if (!conf_common(conf, s, &c->log) || !conf_set(conf, "group.id", group) ||
        !conf_set(conf, "enable.auto.commit", "true") ||
        !conf_set(conf, "enable.auto.offset.store", "false") || /* only what was handled */
        !conf_set_int(conf, "auto.commit.interval.ms", AUTO_COMMIT_MS) ||
        !conf_set(conf, "auto.offset.reset", "earliest") ||
        !conf_set(conf, "enable.partition.eof", "false") ||
        /* A fetch waits at most this long for data. A real broker answers as soon as a message
         * comes; the dev broker (the mock cluster) holds every fetch for the whole wait, so at
         * librdkafka's default of 500 ms each event waited 0-500 ms for nothing (measured by
         * make bench-events). 20 ms costs an idle consumer 50 small requests a second. */
        !conf_set(conf, "fetch.wait.max.ms", "20") ||
        !conf_set_int(conf, "session.timeout.ms", s->session_timeout_ms) ||
        !conf_set_int(conf, "heartbeat.interval.ms", heartbeat < 100 ? 100 : heartbeat))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        log_kv(LOG_ERROR, "kafka: cannot create the consumer",
               (struct log_kv[]){LOG_STR("error", errstr)}, 1);
        goto fail;
    }
    conf = NULL; /* c->rk owns it */
    /* Everything (rebalances, errors) is served by rd_kafka_consumer_poll. */
    rd_kafka_poll_set_consumer(c->rk);
    rc = ERR_NOMEM;
    subs = rd_kafka_topic_partition_list_new(1);
    if (!subs)
        goto fail;
    rd_kafka_topic_partition_list_add(subs, c->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, subs);
    if (err) {
        log_kv(
            LOG_ERROR, "kafka: cannot subscribe",
            (struct log_kv[]){LOG_STR("topic", c->topic), LOG_STR("error", rd_kafka_err2str(err))},
            2);
        rc = ERR_INVALID;
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(subs);
    log_kv(LOG_INFO, "kafka: consumer joining its group",
           (struct log_kv[]){LOG_STR("brokers", s->brokers), LOG_STR("topic", c->topic),
                             LOG_STR("group", c->group)},
           3);
    *out = &c->head;
    return 0;
fail:
    if (subs)
        rd_kafka_topic_partition_list_destroy(subs);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    free(c);
    return rc;
}

/* Errors that mean "the broker is out of reach for now". */
static bool broker_lost(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
           err == RD_KAFKA_RESP_ERR__RESOLVE || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
           err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR;
}

static int kafka_consumer_poll(struct event_consumer *ec, int timeout_ms, struct event_msg *out)
{
    struct kafka_consumer *c = (struct kafka_consumer *)ec;
    if (c->current) {
        rd_kafka_message_destroy(c->current); /* the last one's loan ends here */
        c->current = NULL;
    }
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left : 0);
        if (!m)
            return ERR_NOT_FOUND;
        if (!m->err) {
            c->current = m;
            *out = (struct event_msg){
                .key = m->key,
                .key_len = m->key ? m->key_len : 0,
                .value = m->payload,
                .value_len = m->payload ? m->len : 0,
                .partition = m->partition,
                .offset = m->offset,
            };
            return 0;
        }
        rd_kafka_resp_err_t err = m->err;
        char detail[256];
        snprintf(detail, sizeof detail, "%s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (now_ms() >= deadline)
                return ERR_NOT_FOUND;
            continue; /* the end of a partition for now: not an error */
        }
        long suppressed = 0;
        if (throttle_ok(&c->poll_log, &suppressed))
            log_kv(broker_lost(err) ? LOG_WARN : LOG_ERROR, "kafka: consumer error",
                   (struct log_kv[]){LOG_STR("group", c->group),
                                     LOG_STR("error", rd_kafka_err2name(err)),
                                     LOG_STR("detail", detail), LOG_INT("suppressed", suppressed)},
                   4);
        return ERR_UNAVAILABLE;
    }
}

/* Stores "m's partition is done up to m": offset + 1, the next one to read, which is what
 * rd_kafka_offsets_store_message stores. Built from m's fields rather than the borrowed
 * rd_kafka_message_t, so a caller may commit a copy of m. The background commit sends it within
 * AUTO_COMMIT_MS; a revoke or a close sends it at once, so the partition's next owner, or a new
 * member after a clean stop, starts after m. */
static int kafka_commit(struct event_consumer *ec, const struct event_msg *m)
{
    struct kafka_consumer *c = (struct kafka_consumer *)ec;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return ERR_UNAVAILABLE; /* nothing committed: the message comes again, as after a crash */
    rd_kafka_topic_partition_list_add(l, c->topic, m->partition)->offset = m->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (!err && l->elems[0].err) /* the partition is no longer ours (a rebalance took it) */
        err = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (!err)
        return 0;
    /* A rebalance took the partition away (or the broker is gone): its next owner reads m
     * again, which consumers tolerate (idempotent on event_id). */
    log_kv(LOG_WARN, "kafka: commit failed (the message will be delivered again)",
           (struct log_kv[]){LOG_STR("group", c->group), LOG_INT("partition", m->partition),
                             LOG_INT("offset", m->offset), LOG_STR("error", rd_kafka_err2str(err))},
           4);
    return ERR_UNAVAILABLE;
}

/* The dead-letter producer's report lands in the int its message points to. */
static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int *result = m->_private;
    *result = delivery_rc(m->err);
}

static int dlq_open(struct kafka_consumer *c)
{
    if (c->dlq)
        return 0;
    struct event_bus_settings s = {.brokers = c->brokers, .timeout_ms = c->timeout_ms};
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return ERR_NOMEM;
    if (!conf_common(conf, &s, &c->dlq_log) || !conf_producer(conf, c->timeout_ms)) {
        rd_kafka_conf_destroy(conf);
        return ERR_INVALID;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_dlq_delivery);
    c->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!c->dlq) {
        rd_kafka_conf_destroy(conf);
        log_kv(LOG_ERROR, "kafka: cannot create the dead-letter producer",
               (struct log_kv[]){LOG_STR("error", errstr)}, 1);
        return ERR_INVALID;
    }
    return 0;
}

/* m, its key and value unchanged, to "<topic>.dlq" with headers saying why and where it came
 * from; then, only once the broker has it, m is committed. If the send fails m stays uncommitted
 * and comes again: a poison message is never dropped silently. */
static int kafka_dead_letter(struct event_consumer *ec, const struct event_msg *m,
                             const char *reason)
{
    struct kafka_consumer *c = (struct kafka_consumer *)ec;
    int rc = dlq_open(c);
    if (rc != 0)
        return rc == ERR_NOMEM ? ERR_UNAVAILABLE : rc;
    char dlq_topic[EVENT_BUS_TOPIC_MAX + 4], part[16], off[24];
    snprintf(dlq_topic, sizeof dlq_topic, "%s.dlq", c->topic);
    snprintf(part, sizeof part, "%" PRId32, m->partition);
    snprintf(off, sizeof off, "%" PRId64, m->offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    if (!h)
        return ERR_UNAVAILABLE;
    const char *why = reason ? reason : "";
    rd_kafka_header_add(h, "reason", -1, why, -1);
    rd_kafka_header_add(h, "original-topic", -1, c->topic, -1);
    rd_kafka_header_add(h, "original-partition", -1, part, -1);
    rd_kafka_header_add(h, "original-offset", -1, off, -1);
    int result = 1; /* 1: no report yet */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        c->dlq, RD_KAFKA_V_TOPIC(dlq_topic), RD_KAFKA_V_KEY((void *)m->key, m->key_len),
        RD_KAFKA_V_VALUE((void *)m->value, m->value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(h); /* producev takes them only on success */
        log_kv(
            LOG_ERROR, "kafka: cannot queue a dead letter",
            (struct log_kv[]){LOG_STR("topic", dlq_topic), LOG_STR("error", rd_kafka_err2str(err))},
            2);
        return ERR_UNAVAILABLE;
    }
    /* Its report arrives within message.timeout.ms; flush serves it. */
    rd_kafka_flush(c->dlq, c->timeout_ms + 1000);
    if (result == 1) {
        /* Still queued: purge it, so that result (on this stack) is never written later. */
        rd_kafka_purge(c->dlq, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(c->dlq, 0);
        result = ERR_UNAVAILABLE;
    }
    log_kv(result == 0 ? LOG_WARN : LOG_ERROR,
           result == 0 ? "kafka: message dead-lettered" : "kafka: dead letter not delivered",
           (struct log_kv[]){LOG_STR("group", c->group), LOG_STR("to", dlq_topic),
                             LOG_INT("partition", m->partition), LOG_INT("offset", m->offset),
                             LOG_STR("reason", why)},
           5);
    if (result != 0)
        return ERR_UNAVAILABLE;
    return kafka_commit(ec, m);
}

static int kafka_assigned(const struct event_consumer *ec)
{
    return atomic_load(&((const struct kafka_consumer *)ec)->assigned);
}

/* Leaves the group first (rd_kafka_consumer_close: its partitions go to the others at once,
 * not after the session timeout), then frees. */
static void kafka_consumer_free(struct event_consumer *ec)
{
    struct kafka_consumer *c = (struct kafka_consumer *)ec;
    if (!c)
        return;
    if (c->current)
        rd_kafka_message_destroy(c->current);
    if (c->rk) {
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err)
            log_kv(LOG_WARN, "kafka: consumer did not leave its group cleanly",
                   (struct log_kv[]){LOG_STR("group", c->group),
                                     LOG_STR("error", rd_kafka_err2str(err))},
                   2);
        rd_kafka_destroy(c->rk);
    }
    if (c->dlq)
        rd_kafka_destroy(c->dlq);
    free(c);
}

const struct event_bus_ops event_bus_kafka = {
    .name = "kafka",
    .max_uncommitted = 0,
    .producer_open = kafka_producer_open,
    .send = kafka_send,
    .poll = kafka_poll,
    .flush = kafka_flush,
    .outstanding = kafka_outstanding,
    .producer_free = kafka_producer_free,
    .consumer_open = kafka_consumer_open,
    .consumer_poll = kafka_consumer_poll,
    .commit = kafka_commit,
    .dead_letter = kafka_dead_letter,
    .assigned = kafka_assigned,
    .consumer_free = kafka_consumer_free,
};
