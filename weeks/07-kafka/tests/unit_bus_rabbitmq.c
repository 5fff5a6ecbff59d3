/* unit_bus_rabbitmq.c — the RabbitMQ event bus (event_bus_rabbitmq.c) against a live
 * rabbitmq-server (services.sh up rabbitmq; AMQP_URL from .run/services.env).
 *
 * Each test has topics and groups of its own (a unique name), so tests running in parallel never
 * see each other's messages. The outage test stops and restarts a broker, so it runs one of its
 * own in a temporary run directory (TASKD_RUN_DIR), never the shared one. The dead-letter queue is
 * read with librabbitmq directly (basic.get): from outside the code under test. */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "event_bus.h"
#include "testkit.h"

#define N_MSGS  300
#define WAIT_MS 10000

static const char *amqp_url(void)
{
    const char *u = getenv("AMQP_URL");
    cr_assert(u && strncmp(u, "amqp://", 7) == 0,
              "AMQP_URL is not set: run `bash shared/scripts/services.sh up rabbitmq` and load "
              ".run/services.env (make test-week-7 does both)");
    return u;
}

static struct event_bus_settings settings(const char *url, char *topic, size_t topic_len)
{
    static int seq;
    snprintf(topic, topic_len, "t-%ld-%d-%ld", (long)getpid(), ++seq, (long)time(NULL));
    return (struct event_bus_settings){
        .kind = EVENT_BUS_RABBITMQ, .amqp_url = url, .topic = topic, .timeout_ms = 3000};
}

/* delivered: rc per message, by index (msg_ctx is the index + 1). */
struct reports {
    int rc[N_MSGS];
    int n;
};
static void on_delivered(void *ctx, void *msg_ctx, int rc)
{
    struct reports *r = ctx;
    size_t i = (size_t)(uintptr_t)msg_ctx - 1;
    cr_assert(i < N_MSGS, "delivered: unknown msg_ctx %zu", i + 1);
    r->rc[i] = rc;
    r->n++;
}

static void send_n(struct event_producer *p, int from, int n, const char *tag)
{
    for (int i = from; i < from + n; i++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "task-%d", i % 7);
        snprintf(val, sizeof val, "%s-%d", tag, i);
        int rc = event_producer_send(p, NULL, key, strlen(key), val, strlen(val),
                                     (void *)(uintptr_t)(i + 1));
        cr_assert_eq(rc, 0, "send %d: %s", i, err_str(rc));
    }
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sends n messages "tag-i" and asserts every confirm is 0. */
static void publish_confirmed(const struct event_bus_settings *s, int n, const char *tag)
{
    struct reports r = {0};
    for (int i = 0; i < N_MSGS; i++)
        r.rc[i] = 1;
    struct event_producer *p = NULL;
    cr_assert_eq(event_producer_open(s, on_delivered, &r, &p), 0);
    int64_t t0 = now_us();
    send_n(p, 0, n, tag);
    int rc = event_producer_flush(p, WAIT_MS);
    int64_t dt = now_us() - t0;
    cr_assert_eq(rc, 0, "flush: %s, %zu outstanding", err_str(rc), event_producer_outstanding(p));
    cr_assert_eq(r.n, n, "%d reports for %d messages", r.n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(r.rc[i], 0, "message %d confirmed with %s", i, err_str(r.rc[i]));
    cr_assert_eq(event_producer_outstanding(p), 0);
    if (n >= 100)
        printf("figure: %d messages published and confirmed in %.1f ms (%.0f/s)\n", n, dt / 1000.0,
               n / (dt / 1e6));
    event_producer_free(p);
}

/* Polls until a message comes (asserting one does within WAIT_MS). */
static void poll_one(struct event_consumer *c, struct event_msg *m)
{
    int64_t end = now_us() + (int64_t)WAIT_MS * 1000;
    int rc;
    do
        rc = event_consumer_poll(c, 200, m);
    while (rc == ERR_NOT_FOUND && now_us() < end);
    cr_assert_eq(rc, 0, "poll: %s", err_str(rc));
}

static int value_is(const struct event_msg *m, const char *want)
{
    return m->value_len == strlen(want) && memcmp(m->value, want, m->value_len) == 0;
}

GRADED(bus_rabbitmq, confirms_every_message_and_a_group_reads_them_in_order, 3, .timeout = 120)
{
    char topic[EVENT_BUS_TOPIC_MAX];
    struct event_bus_settings s = settings(amqp_url(), topic, sizeof topic);
    struct event_consumer *c = NULL;
    cr_assert_eq(event_consumer_open(&s, "g", &c), 0); /* the group's queue exists from now on */
    cr_assert_eq(event_consumer_assigned(c), 1);
    publish_confirmed(&s, N_MSGS, "m");
    for (int i = 0; i < N_MSGS; i++) {
        struct event_msg m;
        char want[32], key[32];
        poll_one(c, &m);
        snprintf(want, sizeof want, "m-%d", i);
        snprintf(key, sizeof key, "task-%d", i % 7);
        cr_assert(value_is(&m, want), "message %d: got '%.*s', want '%s'", i, (int)m.value_len,
                  m.value, want);
        cr_assert(m.key_len == strlen(key) && memcmp(m.key, key, m.key_len) == 0,
                  "message %d: key '%.*s', want '%s'", i, (int)m.key_len, m.key, key);
        cr_assert_eq(m.partition, -1);
        cr_assert_eq(m.redelivered, 0);
        cr_assert_eq(event_consumer_commit(c, &m), 0);
    }
    struct event_msg m;
    cr_assert_eq(event_consumer_poll(c, 300, &m), ERR_NOT_FOUND, "a message after the last one");
    event_consumer_free(c);
}

GRADED(bus_rabbitmq, an_unacked_message_comes_again_to_a_new_consumer, 2, .timeout = 60)
{
    char topic[EVENT_BUS_TOPIC_MAX];
    struct event_bus_settings s = settings(amqp_url(), topic, sizeof topic);
    struct event_consumer *a = NULL, *b = NULL;
    cr_assert_eq(event_consumer_open(&s, "g", &a), 0);
    publish_confirmed(&s, 2, "u");
    struct event_msg m;
    poll_one(a, &m);
    cr_assert(value_is(&m, "u-0"));
    cr_assert_eq(m.redelivered, 0);
    event_consumer_free(a); /* dies without acking */
    cr_assert_eq(event_consumer_open(&s, "g", &b), 0);
    poll_one(b, &m);
    cr_assert(value_is(&m, "u-0"), "got '%.*s'", (int)m.value_len, m.value);
    cr_assert_eq(m.redelivered, 1);
    cr_assert_eq(event_consumer_commit(b, &m), 0);
    poll_one(b, &m);
    cr_assert(value_is(&m, "u-1"), "got '%.*s'", (int)m.value_len, m.value);
    cr_assert_eq(m.redelivered, 0);
    cr_assert_eq(event_consumer_commit(b, &m), 0);
    event_consumer_free(b);
}

/* basic.get of one message from `queue`, with a raw connection: body and "reason" header. */
static int dlq_get(const char *url, const char *queue, char *body, size_t body_len, char *reason,
                   size_t reason_len)
{
    char *u = strdup(url);
    cr_assert(u);
    struct amqp_connection_info ci;
    cr_assert_eq(amqp_parse_url(u, &ci), AMQP_STATUS_OK);
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    cr_assert_eq(amqp_socket_open(sock, ci.host, ci.port), AMQP_STATUS_OK);
    cr_assert_eq(
        amqp_login(conn, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password)
            .reply_type,
        AMQP_RESPONSE_NORMAL);
    amqp_channel_open(conn, 1);
    amqp_rpc_reply_t r = amqp_basic_get(conn, 1, amqp_cstring_bytes(queue), 1);
    cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "basic.get on %s failed", queue);
    int got = 0;
    if (r.reply.id == AMQP_BASIC_GET_OK_METHOD) {
        amqp_message_t msg;
        cr_assert_eq(amqp_read_message(conn, 1, &msg, 0).reply_type, AMQP_RESPONSE_NORMAL);
        snprintf(body, body_len, "%.*s", (int)msg.body.len, (char *)msg.body.bytes);
        reason[0] = '\0';
        for (int i = 0; i < msg.properties.headers.num_entries; i++) {
            amqp_table_entry_t *e = &msg.properties.headers.entries[i];
            if (e->key.len == 6 && memcmp(e->key.bytes, "reason", 6) == 0)
                snprintf(reason, reason_len, "%.*s", (int)e->value.value.bytes.len,
                         (char *)e->value.value.bytes.bytes);
        }
        cr_assert(msg.properties.delivery_mode == 2, "a dead letter must be persistent");
        amqp_destroy_message(&msg);
        got = 1;
    }
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    free(u);
    return got;
}

GRADED(bus_rabbitmq, dead_letter_keeps_the_message_with_its_reason_and_consumption_goes_on, 3,
       .timeout = 60)
{
    char topic[EVENT_BUS_TOPIC_MAX];
    struct event_bus_settings s = settings(amqp_url(), topic, sizeof topic);
    struct event_consumer *c = NULL;
    cr_assert_eq(event_consumer_open(&s, "g", &c), 0);
    publish_confirmed(&s, 2, "d");
    struct event_msg m;
    poll_one(c, &m);
    cr_assert(value_is(&m, "d-0"));
    cr_assert_eq(event_consumer_dead_letter(c, &m, "not json"), 0);
    poll_one(c, &m);
    cr_assert(value_is(&m, "d-1"), "after the dead letter: '%.*s'", (int)m.value_len, m.value);
    cr_assert_eq(event_consumer_commit(c, &m), 0);
    cr_assert_eq(event_consumer_poll(c, 300, &m), ERR_NOT_FOUND, "the dead letter came back");
    event_consumer_free(c);

    char dlq[EVENT_BUS_TOPIC_MAX + 8], body[64], reason[64];
    snprintf(dlq, sizeof dlq, "%s.dlq", topic);
    cr_assert(dlq_get(s.amqp_url, dlq, body, sizeof body, reason, sizeof reason),
              "nothing in queue %s", dlq);
    cr_assert_str_eq(body, "d-0");
    cr_assert_str_eq(reason, "not json");
    cr_assert_not(dlq_get(s.amqp_url, dlq, body, sizeof body, reason, sizeof reason),
                  "a second dead letter: %s", body);
}

GRADED(bus_rabbitmq, consumers_of_one_group_compete_and_never_share_a_message, 3, .timeout = 60)
{
    enum { N = 40 };
    char topic[EVENT_BUS_TOPIC_MAX];
    struct event_bus_settings s = settings(amqp_url(), topic, sizeof topic);
    struct event_consumer *c[2] = {NULL, NULL};
    cr_assert_eq(event_consumer_open(&s, "g", &c[0]), 0);
    cr_assert_eq(event_consumer_open(&s, "g", &c[1]), 0);
    publish_confirmed(&s, N, "c");
    int seen[N] = {0}, got[2] = {0, 0}, total = 0;
    int64_t end = now_us() + (int64_t)WAIT_MS * 1000;
    while (total < N && now_us() < end)
        for (int k = 0; k < 2; k++) {
            struct event_msg m;
            int rc = event_consumer_poll(c[k], 50, &m);
            if (rc == ERR_NOT_FOUND)
                continue;
            cr_assert_eq(rc, 0, "poll: %s", err_str(rc));
            /* m.value is m.value_len bytes, not a C string: read it through a bounded copy (a
             * sscanf on the buffer itself read past the message, and once saw c-3 as c-31...). */
            char value[16];
            snprintf(value, sizeof value, "%.*s", (int)m.value_len, m.value);
            int i = -1;
            cr_assert(sscanf(value, "c-%d", &i) == 1 && i >= 0 && i < N, "unexpected message '%s'",
                      value);
            cr_assert_eq(seen[i], 0, "c-%d came twice after its ack", i);
            seen[i] = 1;
            got[k]++;
            total++;
            cr_assert_eq(event_consumer_commit(c[k], &m), 0);
        }
    cr_assert_eq(total, N, "%d of %d messages came", total, N);
    cr_assert(got[0] > 0 && got[1] > 0, "one consumer got everything: %d and %d", got[0], got[1]);
    event_consumer_free(c[0]);
    event_consumer_free(c[1]);
}

GRADED(bus_rabbitmq, every_group_gets_every_message, 2, .timeout = 60)
{
    enum { N = 20 };
    char topic[EVENT_BUS_TOPIC_MAX];
    struct event_bus_settings s = settings(amqp_url(), topic, sizeof topic);
    struct event_consumer *g[2] = {NULL, NULL};
    cr_assert_eq(event_consumer_open(&s, "notifier", &g[0]), 0);
    cr_assert_eq(event_consumer_open(&s, "projector", &g[1]), 0);
    publish_confirmed(&s, N, "f");
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++) {
            struct event_msg m;
            char want[16];
            poll_one(g[k], &m);
            snprintf(want, sizeof want, "f-%d", i);
            cr_assert(value_is(&m, want), "group %d, message %d: '%.*s'", k, i, (int)m.value_len,
                      m.value);
            cr_assert_eq(event_consumer_commit(g[k], &m), 0);
        }
        struct event_msg m;
        cr_assert_eq(event_consumer_poll(g[k], 200, &m), ERR_NOT_FOUND);
    }
    event_consumer_free(g[0]);
    event_consumer_free(g[1]);
}

/* ---- a broker of our own, stopped and started ---- */

static char own_dir[64];

static int services(const char *cmd)
{
    char line[512];
    snprintf(line, sizeof line, "TASKD_RUN_DIR=%s bash shared/scripts/services.sh %s rabbitmq >&2",
             own_dir, cmd);
    return system(line);
}

static void own_cleanup(void)
{
    if (!own_dir[0])
        return;
    services("destroy");
    char line[128];
    snprintf(line, sizeof line, "rm -rf %s", own_dir);
    if (system(line) != 0)
        fprintf(stderr, "could not remove %s\n", own_dir);
    own_dir[0] = '\0';
}

static void own_url(char *out, size_t len)
{
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/services.env", own_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    out[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "AMQP_URL=", 9) == 0) {
            line[strcspn(line, "\n")] = '\0';
            cr_assert(strlen(line + 9) < len, "AMQP_URL too long");
            memcpy(out, line + 9, strlen(line + 9) + 1);
        }
    fclose(f);
    cr_assert(out[0], "no AMQP_URL in %s", path);
}

GRADED(bus_rabbitmq, sends_fail_unavailable_while_the_broker_is_down_and_work_after_restart, 3,
       .timeout = 240, .fini = own_cleanup)
{
    snprintf(own_dir, sizeof own_dir, "/tmp/taskd-rmq-XXXXXX");
    cr_assert(mkdtemp(own_dir));
    tk_run_dir_claim(own_dir);
    atexit(own_cleanup);
    cr_assert_eq(services("up"), 0);
    char url[256], topic[EVENT_BUS_TOPIC_MAX];
    own_url(url, sizeof url);
    struct event_bus_settings s = settings(url, topic, sizeof topic);
    s.timeout_ms = 1000;
    struct reports r = {0};
    for (int i = 0; i < N_MSGS; i++)
        r.rc[i] = 1;
    struct event_producer *p = NULL;
    cr_assert_eq(event_producer_open(&s, on_delivered, &r, &p), 0);
    send_n(p, 0, 3, "o");
    cr_assert_eq(event_producer_flush(p, WAIT_MS), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(r.rc[i], 0);

    cr_assert_eq(services("stop"), 0);
    send_n(p, 3, 3, "o");
    event_producer_flush(p, WAIT_MS);
    cr_assert_eq(event_producer_outstanding(p), 0, "reports still missing with the broker down");
    for (int i = 3; i < 6; i++)
        cr_assert_eq(r.rc[i], ERR_UNAVAILABLE, "message %d with the broker down: %s", i,
                     err_str(r.rc[i]));

    cr_assert_eq(services("up"), 0);
    usleep(1100 * 1000); /* past the backoff after the failed connect */
    send_n(p, 6, 3, "o");
    cr_assert_eq(event_producer_flush(p, WAIT_MS), 0);
    for (int i = 6; i < 9; i++)
        cr_assert_eq(r.rc[i], 0, "message %d after the restart: %s", i, err_str(r.rc[i]));
    cr_assert_eq(r.n, 9);
    event_producer_free(p);
}
