/* taskd-events.c — a command-line client of the event bus, for people and tests.
 *
 * kcat speaks Kafka only; this speaks whatever EVENT_BUS says, through the same interface as
 * the relay and the consumers (event_bus.h), so a drill or a test reads the same on Kafka and on
 * RabbitMQ:
 *
 *   taskd-events publish KEY         sends standard input (at most 1 MiB) as one message with
 *                                    KEY to EVENTS_TOPIC, and waits for its delivery report
 *   taskd-events read [--dlq] [--group NAME] [--max N] [--idle-ms MS]
 *                                    prints "KEY<TAB>VALUE" per message of EVENTS_TOPIC (or its
 *                                    dead-letter topic), committing each, until N messages or MS
 *                                    without one (default 3000)
 *
 * It needs no database. Exit 0 when it did what was asked, 1 when the broker did not take or
 * give the messages, 2 for a usage or configuration error. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "event_bus.h"
#include "log.h"
#include "log_config.h"

#define VALUE_MAX (1024 * 1024)
#define JOIN_MS   30000

static int usage(FILE *out, int rc)
{
    fprintf(out, "usage: taskd-events publish KEY < value\n"
                 "       taskd-events read [--dlq] [--group NAME] [--max N] [--idle-ms MS]\n"
                 "The bus is EVENT_BUS (kafka|rabbitmq) at KAFKA_BROKERS or AMQP_URL; the topic "
                 "EVENTS_TOPIC (see taskd-relay --help).\n");
    return rc;
}

static void on_delivered(void *ctx, void *msg_ctx, int rc)
{
    (void)msg_ctx;
    *(int *)ctx = rc;
}

static int publish(const struct event_bus_settings *s, const char *key)
{
    char *value = malloc(VALUE_MAX);
    if (!value)
        return 1;
    size_t len = fread(value, 1, VALUE_MAX, stdin);
    struct event_producer *p = NULL;
    int outcome = ERR_UNAVAILABLE;
    int rc = event_producer_open(s, on_delivered, &outcome, &p);
    if (rc == 0)
        rc = event_producer_send(p, NULL, key, strlen(key), value, len, NULL);
    if (rc == 0)
        rc = event_producer_flush(p, s->timeout_ms);
    if (rc == 0)
        rc = outcome;
    if (rc != 0)
        fprintf(stderr, "taskd-events: the broker did not take the message: %s\n", err_str(rc));
    event_producer_free(p);
    free(value);
    return rc == 0 ? 0 : 1;
}

static int print_and_commit(struct event_consumer *c, const struct event_msg *m)
{
    printf("%.*s\t%.*s\n", (int)m->key_len, m->key ? m->key : "", (int)m->value_len, m->value);
    fflush(stdout);
    return event_consumer_commit(c, m);
}

static int read_messages(struct event_bus_settings *s, bool dlq, const char *group, long max,
                         int idle_ms)
{
    char topic[EVENT_BUS_TOPIC_MAX];
    if (dlq) {
        snprintf(topic, sizeof topic, "%s.dlq", s->topic);
        s->topic = topic;
    }
    struct event_consumer *c = NULL;
    int rc = event_consumer_open(s, group, &c);
    long got = 0;
    /* Joining a group takes a few seconds (Kafka's rebalance): the idle time counts from when
     * the consumer has partitions, at most JOIN_MS later. */
    for (int waited = 0; rc == 0 && event_consumer_assigned(c) == 0 && waited < JOIN_MS;
         waited += 200) {
        struct event_msg m;
        rc = event_consumer_poll(c, 200, &m);
        if (rc == 0) { /* a message came with the assignment */
            rc = print_and_commit(c, &m);
            got++;
        } else if (rc == ERR_NOT_FOUND) {
            rc = 0;
        }
    }
    while (rc == 0 && (max <= 0 || got < max)) {
        struct event_msg m;
        rc = event_consumer_poll(c, idle_ms, &m);
        if (rc == ERR_NOT_FOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        rc = print_and_commit(c, &m);
        got++;
    }
    if (rc != 0)
        fprintf(stderr, "taskd-events: reading stopped: %s\n", err_str(rc));
    event_consumer_free(c);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(stdout, 0);
    struct config *cfg = config_new();
    struct event_bus_settings s;
    int rc = 2;
    if (!cfg || log_config_declare(cfg) != 0 || event_bus_declare(cfg) != 0 ||
        config_load(cfg, stderr) != 0 || event_bus_settings_read(cfg, &s) != 0)
        goto done;
    log_config_apply(cfg);
    if (strcmp(argv[1], "publish") == 0 && argc == 3) {
        rc = publish(&s, argv[2]);
        goto done;
    }
    if (strcmp(argv[1], "read") != 0) {
        rc = usage(stderr, 2);
        goto done;
    }
    bool dlq = false;
    const char *group = "taskd-events";
    long max = 0;
    int idle_ms = 3000;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dlq") == 0)
            dlq = true;
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = argv[++i];
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            max = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc)
            idle_ms = (int)strtol(argv[++i], NULL, 10);
        else {
            rc = usage(stderr, 2);
            goto done;
        }
    }
    if (idle_ms < 1 || max < 0 || !*group || strlen(group) >= EVENT_BUS_GROUP_MAX) {
        rc = usage(stderr, 2);
        goto done;
    }
    rc = read_messages(&s, dlq, group, max, idle_ms);
done:
    config_free(cfg);
    return rc;
}
