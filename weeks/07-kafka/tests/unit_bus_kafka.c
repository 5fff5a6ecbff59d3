/* unit_bus_kafka.c — the Kafka backend of the event bus (event_bus_kafka.c) against a live broker.
 *
 * The relay and the consumers are tested on a fake bus; this suite proves that the real backend
 * keeps the promises event_bus.h makes, on the Kafka dev broker that `make test-week-7` starts
 * (services.sh up kafka: KAFKA_BROKERS): every send gets one delivery report, a key keeps one
 * partition and its order, a group reads a topic, what was not committed comes again, a dead
 * letter reaches "<topic>.dlq" with its reason, a group's members share the partitions, and a
 * broker outage holds sends back instead of losing them.
 *
 * It is a unit suite and not a black-box one because it links the backend itself (the black-box
 * suites link only the test kit). Tests stay independent on the shared broker by using topics
 * and groups of their own names (the dev broker creates a topic on first use, with 4
 * partitions); the rebalance test uses task-events, which services.sh creates with 3. The outage
 * test takes a broker away, so it runs one of its own (TASKD_RUN_DIR under /tmp). What the
 * consumer side cannot see through event_bus.h (the dead letter's headers) is read with kcat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "event_bus.h"
#include "testkit.h"

#define SERVICES_SH "shared/scripts/services.sh"

/* ------------------------------------------------------------------ helpers */

static const char *brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");
    cr_assert(b && *b, "KAFKA_BROKERS is not set: run this suite with make test-week-7, which "
                       "starts the Kafka dev broker (services.sh up kafka) and sets it");
    return b;
}

static struct event_bus_settings settings_for(const char *b, const char *topic, int timeout_ms)
{
    return (struct event_bus_settings){.kind = EVENT_BUS_KAFKA,
                                       .brokers = b,
                                       .topic = topic,
                                       .timeout_ms = timeout_ms,
                                       .session_timeout_ms = 6000};
}

/* What the delivery callback saw, per message: msg_ctx points at one of these. */
struct sent {
    long sent_ms;
    long delivered_ms;
    int rc;
    int reports;
};

static void on_delivered(void *ctx, void *msg_ctx, int rc)
{
    int *total = ctx;
    struct sent *s = msg_ctx;
    (*total)++;
    s->reports++;
    s->rc = rc;
    s->delivered_ms = tk_now_ms();
}

static struct event_producer *producer(const struct event_bus_settings *s, int *total)
{
    struct event_producer *p = NULL;
    int rc = event_producer_open(s, on_delivered, total, &p);
    cr_assert(rc == 0 && p, "expected event_producer_open to succeed, got %d (%s)", rc,
              err_str(rc));
    return p;
}

static void send_one(struct event_producer *p, const char *key, const char *value, struct sent *s)
{
    *s = (struct sent){.sent_ms = tk_now_ms(), .rc = 1}; /* rc 1: no report yet */
    int rc = event_producer_send(p, NULL, key, strlen(key), value, strlen(value), s);
    cr_assert(rc == 0, "expected send of %s=%s to be queued, got %d (%s)", key, value, rc,
              err_str(rc));
}

/* Sends key=value messages and waits until the broker has every one of them. */
static void publish(const struct event_bus_settings *s, const char *const *kv, size_t n)
{
    int total = 0;
    struct sent *sent = calloc(n, sizeof *sent);
    cr_assert(sent, "test bug: out of memory");
    struct event_producer *p = producer(s, &total);
    for (size_t i = 0; i < n; i++)
        send_one(p, kv[2 * i], kv[2 * i + 1], &sent[i]);
    int rc = event_producer_flush(p, 15000);
    cr_assert(rc == 0 && total == (int)n, "expected %zu delivery reports within 15 s, got %d", n,
              total);
    for (size_t i = 0; i < n; i++)
        cr_assert(sent[i].rc == 0, "expected message %zu delivered (rc 0), got %d", i, sent[i].rc);
    event_producer_free(p);
    free(sent);
}

static struct event_consumer *consumer(const struct event_bus_settings *s, const char *group)
{
    struct event_consumer *c = NULL;
    int rc = event_consumer_open(s, group, &c);
    cr_assert(rc == 0 && c, "expected event_consumer_open(%s) to succeed, got %d (%s)", group, rc,
              err_str(rc));
    return c;
}

/* The next message within timeout_ms (joining the group takes a few seconds), as "value". */
static int next(struct event_consumer *c, long timeout_ms, struct event_msg *m)
{
    long deadline = tk_now_ms() + timeout_ms;
    for (;;) {
        int rc = event_consumer_poll(c, 200, m);
        if (rc == 0 || tk_now_ms() >= deadline)
            return rc;
    }
}

static void expect_value(const struct event_msg *m, const char *want)
{
    cr_assert(m->value_len == strlen(want) && memcmp(m->value, want, m->value_len) == 0,
              "expected message \"%s\", got \"%.*s\" (partition %d, offset %lld)", want,
              (int)m->value_len, m->value, (int)m->partition, (long long)m->offset);
}

/* ------------------------------------------------------------------ producing */

GRADED(bus_kafka, every_send_gets_one_delivery_report_with_rc_0, 3)
{
    char topic[64];
    tk_unique("t-deliver", topic, sizeof topic);
    struct event_bus_settings s = settings_for(brokers(), topic, 10000);
    enum { N = 300 };
    static struct sent sent[N];
    int total = 0;
    struct event_producer *p = producer(&s, &total);
    long start = tk_now_ms();
    for (int i = 0; i < N; i++) {
        char key[16], value[32];
        snprintf(key, sizeof key, "task-%d", i % 17);
        snprintf(value, sizeof value, "event-%d", i);
        send_one(p, key, value, &sent[i]);
    }
    cr_assert(event_producer_outstanding(p) > 0,
              "expected messages outstanding right after the sends (a send only queues)");
    int rc = event_producer_flush(p, 15000);
    long all_ms = tk_now_ms() - start;
    cr_assert(rc == 0, "expected flush to see every report within 15 s, got %d (%s), %zu left", rc,
              err_str(rc), event_producer_outstanding(p));
    cr_assert(total == N, "expected %d delivery reports, got %d", N, total);
    cr_assert(event_producer_outstanding(p) == 0, "expected 0 outstanding after flush, got %zu",
              event_producer_outstanding(p));
    long max = 0, sum = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(sent[i].reports == 1 && sent[i].rc == 0,
                  "message %d: expected one report with rc 0, got %d report(s), rc %d", i,
                  sent[i].reports, sent[i].rc);
        long lat = sent[i].delivered_ms - sent[i].sent_ms;
        sum += lat;
        if (lat > max)
            max = lat;
    }
    printf("figure: %d messages delivered in %ld ms, latency mean %ld ms, max %ld ms\n", N, all_ms,
           sum / N, max);
    event_producer_free(p);
}

/* ------------------------------------------------------------------ consuming */

GRADED(bus_kafka, group_reads_all_and_a_key_keeps_its_partition_and_order, 3)
{
    char topic[64], group[64];
    tk_unique("t-order", topic, sizeof topic);
    tk_unique("g-order", group, sizeof group);
    struct event_bus_settings s = settings_for(brokers(), topic, 10000);
    enum { KEYS = 4, PER_KEY = 25 };
    static char values[KEYS * PER_KEY][32];
    const char *kv[2 * KEYS * PER_KEY];
    static const char *const keys[KEYS] = {"task-1", "task-2", "task-3", "task-4"};
    for (int i = 0; i < KEYS * PER_KEY; i++) {
        snprintf(values[i], sizeof values[i], "%d:%d", i % KEYS, i / KEYS);
        kv[2 * i] = keys[i % KEYS];
        kv[2 * i + 1] = values[i];
    }
    publish(&s, kv, KEYS * PER_KEY);

    struct event_consumer *c = consumer(&s, group);
    int last_seq[KEYS] = {-1, -1, -1, -1};
    int partition_of[KEYS] = {-1, -1, -1, -1};
    for (int got = 0; got < KEYS * PER_KEY; got++) {
        struct event_msg m;
        int rc = next(c, 20000, &m);
        cr_assert(rc == 0, "expected message %d of %d, got %d (%s)", got + 1, KEYS * PER_KEY, rc,
                  err_str(rc));
        int k = -1, seq = -1;
        char v[32];
        snprintf(v, sizeof v, "%.*s", (int)m.value_len, m.value);
        cr_assert(sscanf(v, "%d:%d", &k, &seq) == 2 && k >= 0 && k < KEYS,
                  "unexpected message \"%s\"", v);
        cr_assert(m.key_len == strlen(keys[k]) && memcmp(m.key, keys[k], m.key_len) == 0,
                  "message %s: expected key %s, got %.*s", v, keys[k], (int)m.key_len, m.key);
        cr_assert(partition_of[k] == -1 || partition_of[k] == m.partition,
                  "key %s: expected every message in partition %d, %s came from %d", keys[k],
                  partition_of[k], v, (int)m.partition);
        partition_of[k] = m.partition;
        cr_assert(seq == last_seq[k] + 1, "key %s: expected message %d next, got %d (out of order)",
                  keys[k], last_seq[k] + 1, seq);
        last_seq[k] = seq;
        cr_assert(event_consumer_commit(c, &m) == 0, "expected the commit of %s to succeed", v);
    }
    struct event_msg extra;
    cr_assert(event_consumer_poll(c, 500, &extra) == ERR_NOT_FOUND,
              "expected nothing after the %d messages (ERR_NOT_FOUND)", KEYS * PER_KEY);
    event_consumer_free(c);
}

GRADED(bus_kafka, a_message_not_committed_comes_again_to_the_next_member, 3)
{
    char topic[64], group[64];
    tk_unique("t-redeliver", topic, sizeof topic);
    tk_unique("g-redeliver", group, sizeof group);
    struct event_bus_settings s = settings_for(brokers(), topic, 10000);
    const char *kv[] = {"task-9", "first", "task-9", "second"};
    publish(&s, kv, 2);

    struct event_consumer *a = consumer(&s, group);
    struct event_msg m;
    cr_assert(next(a, 20000, &m) == 0, "expected the first message");
    expect_value(&m, "first");
    cr_assert(event_consumer_commit(a, &m) == 0, "expected the commit to succeed");
    cr_assert(next(a, 5000, &m) == 0, "expected the second message");
    expect_value(&m, "second");
    int64_t offset = m.offset;
    event_consumer_free(a); /* "second" never committed: as if the consumer died mid-work */

    struct event_consumer *b = consumer(&s, group);
    cr_assert(next(b, 20000, &m) == 0,
              "expected the uncommitted message to come again to a new member of the group");
    expect_value(&m, "second");
    cr_assert(m.offset == offset, "expected the same offset %lld again, got %lld",
              (long long)offset, (long long)m.offset);
    cr_assert(event_consumer_commit(b, &m) == 0, "expected the commit to succeed");
    cr_assert(event_consumer_poll(b, 500, &m) == ERR_NOT_FOUND,
              "expected nothing more: \"first\" was committed and must not come again");
    event_consumer_free(b);
}

GRADED(bus_kafka, dead_letter_goes_to_dlq_with_its_reason_and_consumption_goes_on, 3)
{
    char topic[64], group[64], dlq[80];
    tk_unique("t-dlq", topic, sizeof topic);
    tk_unique("g-dlq", group, sizeof group);
    snprintf(dlq, sizeof dlq, "%s.dlq", topic);
    struct event_bus_settings s = settings_for(brokers(), topic, 10000);
    const char *kv[] = {"task-5", "poison", "task-5", "after"};
    publish(&s, kv, 2);

    struct event_consumer *c = consumer(&s, group);
    struct event_msg m;
    cr_assert(next(c, 20000, &m) == 0, "expected the poison message");
    expect_value(&m, "poison");
    int64_t poison_offset = m.offset;
    int32_t poison_partition = m.partition;
    int rc = event_consumer_dead_letter(c, &m, "value is not JSON");
    cr_assert(rc == 0, "expected dead_letter to succeed, got %d (%s)", rc, err_str(rc));
    cr_assert(next(c, 5000, &m) == 0, "expected consumption to go on after the dead letter");
    expect_value(&m, "after");
    cr_assert(event_consumer_commit(c, &m) == 0, "expected the commit to succeed");
    event_consumer_free(c);

    /* A new member starts after both: the dead letter committed the poison message. */
    c = consumer(&s, group);
    cr_assert(next(c, 8000, &m) == ERR_NOT_FOUND,
              "expected nothing for a new member: the dead-lettered message was committed");
    event_consumer_free(c);

    char out[2048];
    int st =
        tk_sh(out, sizeof out, "kcat -C -b '%s' -t '%s' -o beginning -e -q -f '%%k|%%s|%%h\\n'",
              brokers(), dlq);
    char want[512];
    snprintf(want, sizeof want,
             "task-5|poison|reason=value is not JSON,original-topic=%s,original-partition=%d,"
             "original-offset=%lld\n",
             topic, (int)poison_partition, (long long)poison_offset);
    cr_assert(st == 0 && strcmp(out, want) == 0,
              "expected %s to hold exactly the poison message with its headers:\n%s\ngot (kcat "
              "exit %d):\n%s",
              dlq, want, st, out);
}

/* Polls both members (either may be NULL) until want(a, b) holds or timeout_ms passes; the
 * members must keep polling for a rebalance to finish. */
static bool settle(struct event_consumer *a, struct event_consumer *b, int want_a, int want_b,
                   long timeout_ms)
{
    long deadline = tk_now_ms() + timeout_ms;
    struct event_msg m;
    while (tk_now_ms() < deadline) {
        if (a)
            (void)event_consumer_poll(a, 100, &m);
        if (b)
            (void)event_consumer_poll(b, 100, &m);
        int na = a ? event_consumer_assigned(a) : 0, nb = b ? event_consumer_assigned(b) : 0;
        if ((want_a < 0 ? na > 0 : na == want_a) && (want_b < 0 ? nb > 0 : nb == want_b) &&
            na + nb == 3)
            return true;
    }
    return false;
}

GRADED(bus_kafka, two_members_share_three_partitions_and_one_takes_all_when_the_other_leaves, 3)
{
    char group[64];
    tk_unique("g-share", group, sizeof group);
    struct event_bus_settings s = settings_for(brokers(), "task-events", 10000);
    struct event_consumer *a = consumer(&s, group);
    cr_assert(settle(a, NULL, 3, 0, 20000),
              "expected a lone member to hold task-events' 3 partitions, it holds %d",
              event_consumer_assigned(a));
    struct event_consumer *b = consumer(&s, group);
    cr_assert(settle(a, b, -1, -1, 30000),
              "expected two members to share the 3 partitions (each at least one), got %d + %d",
              event_consumer_assigned(a), event_consumer_assigned(b));
    event_consumer_free(b); /* leaves the group: a rebalance at once, not after the session */
    cr_assert(settle(a, NULL, 3, 0, 20000),
              "expected the remaining member to take all 3 partitions back, it holds %d",
              event_consumer_assigned(a));
    event_consumer_free(a);
}

/* ------------------------------------------------------------------ a broker outage */

/* A dev broker of this test's own, in a private run directory: pausing the shared one would
 * break the tests running beside this one. */
static char run_dir[128];

static void services(const char *cmd)
{
    char out[2048];
    int st =
        tk_sh(out, sizeof out, "TASKD_RUN_DIR='%s' bash %s %s 2>&1", run_dir, SERVICES_SH, cmd);
    cr_assert(st == 0, "services.sh %s (TASKD_RUN_DIR=%s): expected exit 0, got %d: %s", cmd,
              run_dir, st, out);
}

static void private_broker_fini(void)
{
    if (!run_dir[0])
        return;
    char out[256];
    tk_sh(out, sizeof out, "TASKD_RUN_DIR='%s' bash %s destroy >/dev/null 2>&1; rm -rf '%s'",
          run_dir, SERVICES_SH, run_dir);
    run_dir[0] = '\0';
}

GRADED(bus_kafka, sends_during_an_outage_wait_and_are_delivered_after_it, 3,
       .fini = private_broker_fini)
{
    snprintf(run_dir, sizeof run_dir, "/tmp/taskd-kafka-XXXXXX");
    cr_assert(mkdtemp(run_dir), "test bug: mkdtemp failed");
    if (tk_run_dir_claim(run_dir) != 0)
        fprintf(stderr, "cannot write %s/owner: a killed test would leak its broker\n", run_dir);
    services("up kafka");
    char env[256], path[200];
    snprintf(path, sizeof path, "%s/services.env", run_dir);
    char *text = tk_read_file(path, NULL);
    const char *line = text ? strstr(text, "KAFKA_BROKERS=") : NULL;
    cr_assert(line, "expected KAFKA_BROKERS in %s", path);
    snprintf(env, sizeof env, "%.*s", (int)strcspn(line + 14, "\n"), line + 14);
    free(text);

    char topic[64];
    tk_unique("t-outage", topic, sizeof topic);
    /* The deadline is far longer than the outage: messages must wait, not fail. */
    struct event_bus_settings s = settings_for(env, topic, 60000);
    int total = 0;
    struct event_producer *p = producer(&s, &total);
    struct sent warm, held[10];
    send_one(p, "task-1", "before", &warm); /* connected, producer id acquired */
    cr_assert(event_producer_flush(p, 10000) == 0 && warm.rc == 0,
              "expected the message sent before the outage to be delivered");

    char group[64];
    tk_unique("g-outage", group, sizeof group);
    struct event_consumer *c = consumer(&s, group);
    struct event_msg m;
    cr_assert(next(c, 20000, &m) == 0, "expected the consumer to read the message sent before");
    expect_value(&m, "before");
    cr_assert(event_consumer_commit(c, &m) == 0, "expected the commit to succeed");

    services("kafka-pause");
    for (int i = 0; i < 10; i++)
        send_one(p, "task-1", "during", &held[i]);
    /* Both sides keep polling through the outage: no report, no message, no crash. */
    long until = tk_now_ms() + 3000;
    while (tk_now_ms() < until) {
        event_producer_poll(p, 50);
        int rc = event_consumer_poll(c, 50, &m);
        cr_assert(rc == ERR_NOT_FOUND || rc == ERR_UNAVAILABLE,
                  "expected the consumer's poll to say nothing came (ERR_NOT_FOUND) or the broker "
                  "is lost (ERR_UNAVAILABLE) during the outage, got %d (%s)",
                  rc, err_str(rc));
    }
    cr_assert(total == 1 && event_producer_outstanding(p) == 10,
              "expected the 10 sends to stay outstanding while the broker is down (no report), "
              "got %d report(s) and %zu outstanding",
              total - 1, event_producer_outstanding(p));

    services("kafka-resume");
    long resumed = tk_now_ms();
    int rc = event_producer_flush(p, 30000);
    cr_assert(rc == 0 && total == 11,
              "expected the 10 held messages delivered after the resume, "
              "got rc %d, %d report(s), %zu outstanding",
              rc, total - 1, event_producer_outstanding(p));
    for (int i = 0; i < 10; i++)
        cr_assert(held[i].reports == 1 && held[i].rc == 0,
                  "held message %d: expected one report with rc 0, got %d, rc %d", i,
                  held[i].reports, held[i].rc);
    printf("figure: 10 messages held through a 3 s outage, delivered %ld ms after the resume\n",
           tk_now_ms() - resumed);
    for (int i = 0; i < 10; i++) {
        cr_assert(next(c, 15000, &m) == 0,
                  "expected the consumer to read held message %d after the resume", i);
        expect_value(&m, "during");
        cr_assert(event_consumer_commit(c, &m) == 0, "expected the commit to succeed");
    }
    event_consumer_free(c);
    event_producer_free(p);
}
