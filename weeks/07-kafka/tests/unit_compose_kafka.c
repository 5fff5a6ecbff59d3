/* unit_compose_kafka.c — compose.yaml's week7 profile, graded: a real Apache Kafka for people
 * with Docker (decision 0029), and the stage's event programs wired to it.
 *
 * Week 6's rules (weeks/06-docker/tests/support/unit_compose_lint.c) hold for every service of
 * the file and run in week 6's suite; these are the week-7 ones, on the file as docker-compose
 * resolves it (unit_compose_doc.h): the broker is apache/kafka at a pinned tag, in KRaft mode
 * (its own controller: no ZooKeeper), checked by a healthcheck, with its log on a named volume;
 * taskd-relay, taskd-notifier and taskd-projector reach it by its service name and start only
 * once it is healthy. The `checker` test feeds the rules a broken file: a rule that cannot
 * fail grades nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testkit.h"
#include "unit_compose_doc.h"
#include "unit_lint.h"

#define KAFKA "kafka"

static const char *const event_programs[] = {"taskd-relay", "taskd-notifier", "taskd-projector"};

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *env_of(const cJSON *svc, const char *name)
{
    const cJSON *v = get(get(svc, "environment"), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool in_week7(const cJSON *svc)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, get(svc, "profiles"))
    {
        if (cJSON_IsString(p) && strcmp(p->valuestring, "week7") == 0)
            return true;
    }
    return false;
}

/* The broker: apache/kafka:TAG (TAG a version, not latest), KRaft settings, no ZooKeeper, a
 * healthcheck, its log directory on a named volume. */
static void lint_kafka_service(const struct compose_doc *d, struct lint *l)
{
    const cJSON *services = get(compose_doc_config(d), "services"), *svc;
    const cJSON *k = get(services, KAFKA);
    if (!k || !in_week7(k)) {
        lint_add(l, "%s: no service %s in the profile week7", compose_doc_path(d), KAFKA);
        return;
    }
    const cJSON *img = get(k, "image");
    const char *image = cJSON_IsString(img) ? img->valuestring : "";
    const char *tag = strncmp(image, "apache/kafka:", 13) == 0 ? image + 13 : NULL;
    if (!tag || !*tag || strcmp(tag, "latest") == 0 || !strchr("0123456789", tag[0]))
        lint_add(l,
                 "service kafka: image `%s`: use the official apache/kafka at a pinned version "
                 "tag (apache/kafka:3.7.1)",
                 image);
    static const char *const kraft[] = {"KAFKA_NODE_ID",
                                        "KAFKA_PROCESS_ROLES",
                                        "KAFKA_CONTROLLER_QUORUM_VOTERS",
                                        "KAFKA_CONTROLLER_LISTENER_NAMES",
                                        "KAFKA_ADVERTISED_LISTENERS",
                                        "CLUSTER_ID"};
    for (size_t i = 0; i < sizeof kraft / sizeof kraft[0]; i++)
        if (!env_of(k, kraft[i]))
            lint_add(l, "service kafka: no %s: a KRaft node needs it", kraft[i]);
    const char *roles = env_of(k, "KAFKA_PROCESS_ROLES");
    if (roles && !(strstr(roles, "broker") && strstr(roles, "controller")))
        lint_add(l, "service kafka: KAFKA_PROCESS_ROLES=%s: one node is broker,controller", roles);
    const char *adv = env_of(k, "KAFKA_ADVERTISED_LISTENERS");
    if (adv && !strstr(adv, "//kafka:"))
        lint_add(l,
                 "service kafka: KAFKA_ADVERTISED_LISTENERS=%s: advertise the service's name "
                 "(PLAINTEXT://kafka:9092), or clients on the network are sent elsewhere",
                 adv);
    const cJSON *e;
    cJSON_ArrayForEach(e, get(k, "environment"))
    {
        if (strstr(e->string, "ZOOKEEPER"))
            lint_add(l, "service kafka: %s: KRaft mode has no ZooKeeper", e->string);
    }
    cJSON_ArrayForEach(svc, services)
    {
        if (strstr(svc->string, "zookeeper"))
            lint_add(l, "service %s: KRaft mode has no ZooKeeper", svc->string);
    }
    const cJSON *hc = get(k, "healthcheck");
    if (!hc || cJSON_IsTrue(get(hc, "disable")) || !get(hc, "test"))
        lint_add(l, "service kafka: no healthcheck: nothing can wait for the broker to serve");
    bool volume = false;
    const cJSON *v;
    const char *dirs = env_of(k, "KAFKA_LOG_DIRS");
    cJSON_ArrayForEach(v, get(k, "volumes"))
    {
        const char *s = cJSON_IsString(v) ? v->valuestring : "";
        const char *colon = strchr(s, ':');
        volume = volume || (colon && s[0] != '/' && s[0] != '.' && dirs &&
                            strncmp(colon + 1, dirs, strlen(dirs)) == 0);
    }
    if (!volume)
        lint_add(l,
                 "service kafka: its log directory (KAFKA_LOG_DIRS=%s) is on no named volume: "
                 "the topics vanish with the container",
                 dirs ? dirs : "unset");
}

/* The event programs: in week7, EVENT_BUS=kafka, KAFKA_BROKERS=kafka:9092, waiting for kafka's
 * health. */
static void lint_kafka_clients(const struct compose_doc *d, struct lint *l)
{
    const cJSON *services = get(compose_doc_config(d), "services");
    for (size_t i = 0; i < sizeof event_programs / sizeof event_programs[0]; i++) {
        const char *name = event_programs[i];
        const cJSON *svc = get(services, name);
        if (!svc || !in_week7(svc)) {
            lint_add(l, "%s: no service %s in the profile week7", compose_doc_path(d), name);
            continue;
        }
        const char *brokers = env_of(svc, "KAFKA_BROKERS"), *bus = env_of(svc, "EVENT_BUS");
        if (!brokers || strcmp(brokers, "kafka:9092") != 0)
            lint_add(l, "service %s: KAFKA_BROKERS=%s: the broker is the service kafka:9092", name,
                     brokers ? brokers : "unset");
        if (!bus || strcmp(bus, "kafka") != 0)
            lint_add(l, "service %s: EVENT_BUS=%s: the week7 stack's bus is kafka", name,
                     bus ? bus : "unset");
        const cJSON *cond = get(get(get(svc, "depends_on"), KAFKA), "condition");
        if (!cJSON_IsString(cond) || strcmp(cond->valuestring, "service_healthy") != 0)
            lint_add(l,
                     "service %s: does not wait for kafka: `kafka: {condition: "
                     "service_healthy}`",
                     name);
    }
}

static struct compose_doc *load(const char *path)
{
    char why[8192];
    struct compose_doc *d = NULL;
    cr_assert(compose_doc_load(path, &d, why, sizeof why) == 0, "%s", why);
    return d;
}

static void expect_clean(void (*rule)(const struct compose_doc *, struct lint *))
{
    struct compose_doc *d = load("compose/compose.yaml");
    struct lint l;
    lint_init(&l);
    rule(d, &l);
    compose_doc_free(d);
    int problems = l.problems;
    static char text[1024];
    snprintf(text, sizeof text, "%s", lint_text(&l));
    lint_free(&l);
    cr_assert(problems == 0, "%s", text);
}

GRADED(compose_kafka, kafka_is_a_pinned_single_node_kraft_broker_with_health_and_a_volume, 2)
{
    expect_clean(lint_kafka_service);
}

GRADED(compose_kafka, event_programs_reach_kafka_by_name_once_it_is_healthy, 2)
{
    expect_clean(lint_kafka_clients);
}

/* Not graded: it grades the rules. A week7 stack with every fault the rules look for. */
Test(checker_kafka, rejects_zookeeper_an_unpinned_image_and_an_impatient_client,
     .description = "points:0")
{
    static const char broken[] =
        "services:\n"
        "  zookeeper: {image: zookeeper:3.8, profiles: [week7]}\n"
        "  kafka:\n"
        "    profiles: [week7]\n"
        "    image: apache/kafka:latest\n"
        "    environment: {KAFKA_ZOOKEEPER_CONNECT: 'zookeeper:2181',\n"
        "                  KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://localhost:9092'}\n"
        "  taskd-relay:\n"
        "    image: x\n"
        "    profiles: [week7]\n"
        "    environment: {KAFKA_BROKERS: 'localhost:9092', EVENT_BUS: kafka}\n"
        "    depends_on: [kafka]\n";
    char path[] = "/tmp/unit-compose-kafka.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    cr_assert(write(fd, broken, sizeof broken - 1) == (ssize_t)(sizeof broken - 1));
    close(fd);
    struct compose_doc *d = load(path);
    struct lint l;
    lint_init(&l);
    lint_kafka_service(d, &l);
    lint_kafka_clients(d, &l);
    compose_doc_free(d);
    unlink(path);
    const char *t = lint_text(&l);
    static const char *const want[] = {"image `apache/kafka:latest`",
                                       "no KAFKA_PROCESS_ROLES",
                                       "no KAFKA_CONTROLLER_QUORUM_VOTERS",
                                       "no KAFKA_NODE_ID",
                                       "KAFKA_ZOOKEEPER_CONNECT: KRaft",
                                       "service zookeeper: KRaft",
                                       "no healthcheck",
                                       "on no named volume",
                                       "PLAINTEXT://localhost:9092: advertise",
                                       "taskd-relay: KAFKA_BROKERS=localhost:9092",
                                       "taskd-relay: does not wait for kafka",
                                       "no service taskd-notifier"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(t, want[i]), "the rules should say `%s`; they said:\n%s", want[i], t);
    lint_free(&l);
}
