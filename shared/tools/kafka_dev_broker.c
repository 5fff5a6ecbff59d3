/* kafka_dev_broker.c — a Kafka-protocol broker for development and tests: librdkafka's mock
 * cluster.
 *
 * Week 7's programs talk Kafka (librdkafka), and their suites need a broker that starts in
 * milliseconds, needs no JVM and leaves nothing behind. librdkafka ships one inside the client
 * library (rdkafka_mock.h): a cluster of N in-process brokers that speak the real wire protocol
 * on loopback — produce with acks=all and idempotence, fetch, metadata, consumer groups with
 * their coordinator, offset commits. This program creates one, creates the topics, writes the
 * bootstrap list ("127.0.0.1:PORT,...") to a file and stdout, and then only waits for signals:
 *
 *   SIGTERM, SIGINT  exit 0 (everything the brokers held is gone)
 *   SIGUSR1          every broker goes down: connections are refused and dropped, data is kept
 *   SIGUSR2          every broker comes back up on the same port
 *
 * shared/scripts/services.sh runs it (`services.sh up kafka`; kafka-pause and kafka-resume send
 * SIGUSR1 and SIGUSR2), so `make run` and the week-7 suites get KAFKA_BROKERS from services.env.
 *
 * What it is NOT, compared with a real Kafka (Apache Kafka or Redpanda), with librdkafka 2.0.2:
 *   - nothing survives a restart: the log lives in this process's memory;
 *   - the ports change at every start (the mock binds 127.0.0.1:0; 2.0.2's rdkafka_mock.h has
 *     no port option), so services.sh rewrites KAFKA_BROKERS each time;
 *   - no real replication: every "replica" is in this one process, so acks=all costs nothing
 *     and no failover can be practised on it (one process: one crash takes every broker);
 *   - no TLS, no SASL, no ACLs, no quotas, no retention or compaction;
 *   - a limited admin API: topics are made here at start (TOPIC:PARTITIONS arguments); an
 *     unknown topic is auto-created on first produce with the mock's default of 4 partitions,
 *     where a real cluster may refuse (auto.create.topics.enable=false);
 *   - joining a consumer group takes about 3 s (the mock waits for more members before it
 *     assigns), a little like a real broker's group.initial.rebalance.delay.ms;
 *   - its log is librdkafka's own, not a broker's.
 * Verified with kcat 1.7.1: `kcat -L` lists the brokers and the topics with their partitions;
 * `kcat -P -K:` then `kcat -C` round-trip keyed messages (a key stays in one partition); `kcat -G`
 * joins a group, is assigned all 3 partitions, reads from the start (-o beginning) and the
 * revoke comes on exit; an unknown topic is auto-created with 4 partitions; after SIGUSR1 kcat
 * gets "Connection refused", after SIGUSR2 metadata works again on the same port. Startup (to the
 * bootstrap file) takes about 40 ms. weeks/07-kafka/tests/unit_bus_kafka.c checks the rest
 * through our own backend: idempotent produce with acks=all, manual commits, redelivery, a
 * two-member rebalance, and sends held through a SIGUSR1/SIGUSR2 outage.
 *
 * usage: kafka-dev-broker [--brokers N] [--bootstrap-file FILE] [TOPIC:PARTITIONS...]
 *        default topics: task-events:3 task-events.dlq:1 */
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BROKERS    9
#define MAX_PARTITIONS 256
#define TOPIC_MAX      200

static const char *const default_topics[] = {"task-events:3", "task-events.dlq:1"};

static void usage(void)
{
    fprintf(stderr, "usage: kafka-dev-broker [--brokers N] [--bootstrap-file FILE] "
                    "[TOPIC:PARTITIONS...]\n"
                    "       default topics: task-events:3 task-events.dlq:1\n");
    exit(2);
}

/* "name:3" into name and count; 0, or -1 when it is not that. */
static int parse_topic(const char *arg, char *name, size_t name_len, int *partitions)
{
    const char *colon = strrchr(arg, ':');
    size_t n = colon ? (size_t)(colon - arg) : 0;
    if (!colon || n == 0 || n >= name_len)
        return -1;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 1 || p > MAX_PARTITIONS)
        return -1;
    memcpy(name, arg, n);
    name[n] = '\0';
    *partitions = (int)p;
    return 0;
}

/* Written to FILE.tmp and renamed, so a reader polling FILE sees all of it or none. */
static int write_bootstrap(const char *path, const char *list)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fprintf(f, "%s\n", list) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* librdkafka's log lines, syslog levels: 4 (warning) and more severe only. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 4)
        fprintf(stderr, "kafka-dev-broker: librdkafka %s: %s\n", fac, buf);
}

/* Every broker of the cluster down (up = 0) or up. */
static void set_all(rd_kafka_mock_cluster_t *mc, int brokers, int up)
{
    for (int id = 1; id <= brokers; id++) {
        rd_kafka_resp_err_t err =
            up ? rd_kafka_mock_broker_set_up(mc, id) : rd_kafka_mock_broker_set_down(mc, id);
        if (err)
            fprintf(stderr, "kafka-dev-broker: broker %d %s: %s\n", id, up ? "up" : "down",
                    rd_kafka_err2str(err));
    }
    fprintf(stderr, "kafka-dev-broker: %d broker(s) %s\n", brokers,
            up ? "up again (SIGUSR2)" : "down: refusing connections (SIGUSR1)");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"brokers", required_argument, NULL, 'n'},
                                         {"bootstrap-file", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int brokers = 1;
    const char *bootstrap_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "n:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > MAX_BROKERS)
                usage();
            brokers = (int)v;
            break;
        }
        case 'f':
            bootstrap_file = optarg;
            break;
        default:
            usage();
        }
    }
    const char *const *topics = (const char *const *)argv + optind;
    size_t ntopics = (size_t)(argc - optind);
    if (ntopics == 0) {
        topics = default_topics;
        ntopics = sizeof default_topics / sizeof default_topics[0];
    }
    char names[64][TOPIC_MAX];
    int parts[64];
    if (ntopics > 64)
        usage();
    for (size_t i = 0; i < ntopics; i++)
        if (parse_topic(topics[i], names[i], sizeof names[i], &parts[i]) != 0) {
            fprintf(stderr, "kafka-dev-broker: expected TOPIC:PARTITIONS (1-%d), got '%s'\n",
                    MAX_PARTITIONS, topics[i]);
            usage();
        }

    /* The signals are blocked before librdkafka starts its threads (they inherit the mask), so
     * only sigwaitinfo below ever takes them. */
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGUSR1);
    sigaddset(&wanted, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &wanted, NULL) != 0) {
        perror("kafka-dev-broker: sigprocmask");
        return 1;
    }

    /* The mock cluster needs a client instance to hang its threads on; this one sends nothing
     * and has no bootstrap.servers, which librdkafka notes at level 5 (CONFWARN) whatever
     * log_level says: on_log drops that level, warnings and errors go to stderr. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf || rd_kafka_conf_set(conf, "client.id", "kafka-dev-broker", errstr, sizeof errstr) !=
                     RD_KAFKA_CONF_OK) {
        fprintf(stderr, "kafka-dev-broker: configuration: %s\n", conf ? errstr : "no memory");
        return 1;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka-dev-broker: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "kafka-dev-broker: could not create a mock cluster of %d broker(s)\n",
                brokers);
        rd_kafka_destroy(rk);
        return 1;
    }
    int status = 1;
    for (size_t i = 0; i < ntopics; i++) {
        /* Replication factor = the broker count: the metadata then looks like a real cluster's. */
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, names[i], parts[i], brokers);
        if (err) {
            fprintf(stderr, "kafka-dev-broker: topic %s: %s\n", names[i], rd_kafka_err2str(err));
            goto done;
        }
        fprintf(stderr, "kafka-dev-broker: topic %s with %d partition(s)\n", names[i], parts[i]);
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (bootstrap_file && write_bootstrap(bootstrap_file, bootstraps) != 0) {
        fprintf(stderr, "kafka-dev-broker: cannot write %s: %s\n", bootstrap_file, strerror(errno));
        goto done;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    fprintf(stderr, "kafka-dev-broker: %d broker(s) listening: %s\n", brokers, bootstraps);

    for (;;) {
        int sig = sigwaitinfo(&wanted, NULL);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            perror("kafka-dev-broker: sigwaitinfo");
            goto done;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            set_all(mc, brokers, sig == SIGUSR2);
            continue;
        }
        fprintf(stderr, "kafka-dev-broker: stopping (%s)\n", strsignal(sig));
        status = 0;
        break;
    }
done:
    if (bootstrap_file && status == 0)
        unlink(bootstrap_file); /* the ports die with us */
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return status;
}
