/* unit_event.c — the event's wire form (event.h): what the outbox writes, consumers can read
 * back unchanged, and what is not an event is refused with a reason, never a crash.
 *
 * Suite event: a round trip through the wire form, ids that are UUID v4, and the refusals a
 * consumer relies on to route poison messages to the dead-letter topic. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "task.h"
#include "testkit.h"

#define T0 INT64_C(1796115600000000) /* 2026-12-01T09:00:00Z in µs */

static void sample_task(struct task *t)
{
    task_init(t);
    t->id = 42;
    t->owner_id = 7;
    t->title = strdup("ship week 7");
    t->description = strdup("outbox, relay, consumers");
    cr_assert(t->title && t->description, "out of memory");
    t->version = 3;
    t->created_at = T0;
    t->updated_at = T0 + 1000000;
}

GRADED(event, the_wire_form_round_trips, 2)
{
    struct task t;
    sample_task(&t);
    struct event e, back;
    event_init(&e);
    event_init(&back);
    cr_assert_eq(event_of_task(EVENT_TASK_UPDATED, &t, t.updated_at, &e), 0,
                 "expected event_of_task to succeed");
    char *json = NULL;
    size_t len = 0;
    cr_assert_eq(event_to_json(&e, &json, &len), 0, "expected event_to_json to succeed");
    cr_assert(strstr(json, "\"type\":\"task.updated\"") && strstr(json, "\"task_id\":42") &&
                  strstr(json, "\"occurred_at\":\"2026-12-01T09:00:01Z\""),
              "expected the contract's fields in %s", json);
    cr_assert_eq(event_parse(json, len, &back), 0, "expected the wire form to parse: %s", json);
    cr_assert_str_eq(back.event_id, e.event_id, "expected the same event_id back");
    cr_assert(back.type == e.type && back.task_id == 42 && back.owner_id == 7 &&
                  back.version == 3 && back.occurred_at == e.occurred_at,
              "expected every field back unchanged from %s", json);
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(back.task, "title");
    cr_assert(cJSON_IsString(title) && strcmp(title->valuestring, "ship week 7") == 0,
              "expected the task inside the event");
    cJSON_free(json);
    event_clear(&e);
    event_clear(&back);
    task_clear(&t);
}

GRADED(event, ids_are_random_uuid_v4, 1)
{
    char a[EVENT_ID_LEN + 1], b[EVENT_ID_LEN + 1];
    event_new_id(a);
    event_new_id(b);
    cr_assert(event_id_valid(a), "expected %s to be a UUID", a);
    cr_assert_eq(a[14], '4', "expected version 4 in %s", a);
    cr_assert(strchr("89ab", a[19]) != NULL, "expected the RFC 4122 variant in %s", a);
    cr_assert_str_neq(a, b, "expected two ids to differ");
    cr_assert(!event_id_valid("not-a-uuid") && !event_id_valid("") && !event_id_valid(NULL),
              "expected non-UUIDs to be refused");
}

GRADED(event, what_is_not_an_event_is_refused, 2)
{
    static const char ok_head[] = "{\"event_id\":\"0b0c8a3e-1f2d-4c5b-9a8e-7d6c5b4a3f2e\",";
    struct {
        const char *value;
        int want;
    } cases[] = {
        {"not json", ERR_MALFORMED},
        {"[1,2]", ERR_INVALID},
        {"{}", ERR_INVALID},
        {"{\"event_id\":\"x\",\"type\":\"task.created\",\"occurred_at\":\"2026-12-01T09:00:00Z\","
         "\"task_id\":1,\"owner_id\":0,\"version\":1,\"task\":{}}",
         ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event e;
        event_init(&e);
        int rc = event_parse(cases[i].value, strlen(cases[i].value), &e);
        cr_assert_eq(rc, cases[i].want, "expected %s for %s, got %s", err_str(cases[i].want),
                     cases[i].value, err_str(rc));
        event_clear(&e);
    }
    const char *tails[] = {
        "\"type\":\"task.renamed\",\"occurred_at\":\"2026-12-01T09:00:00Z\",\"task_id\":1,"
        "\"owner_id\":0,\"version\":1,\"task\":{}}",
        "\"type\":\"task.created\",\"occurred_at\":\"yesterday\",\"task_id\":1,"
        "\"owner_id\":0,\"version\":1,\"task\":{}}",
        "\"type\":\"task.created\",\"occurred_at\":\"2026-12-01T09:00:00Z\",\"task_id\":0,"
        "\"owner_id\":0,\"version\":1,\"task\":{}}",
        "\"type\":\"task.created\",\"occurred_at\":\"2026-12-01T09:00:00Z\",\"task_id\":1.5,"
        "\"owner_id\":0,\"version\":1,\"task\":{}}",
        "\"type\":\"task.created\",\"occurred_at\":\"2026-12-01T09:00:00Z\",\"task_id\":1,"
        "\"owner_id\":0,\"version\":1,\"task\":null}",
        "\"type\":\"task.created\",\"type\":\"task.created\",\"occurred_at\":"
        "\"2026-12-01T09:00:00Z\",\"task_id\":1,\"owner_id\":0,\"version\":1,\"task\":{}}",
    };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char value[512];
        snprintf(value, sizeof value, "%s%s", ok_head, tails[i]);
        struct event e;
        event_init(&e);
        int rc = event_parse(value, strlen(value), &e);
        cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID for %s, got %s", value, err_str(rc));
        event_clear(&e);
    }
    char *big = malloc(EVENT_PAYLOAD_MAX + 2);
    cr_assert(big, "out of memory");
    memset(big, ' ', EVENT_PAYLOAD_MAX + 1);
    big[EVENT_PAYLOAD_MAX + 1] = '\0';
    struct event e;
    event_init(&e);
    cr_assert_eq(event_parse(big, EVENT_PAYLOAD_MAX + 1, &e), ERR_MALFORMED,
                 "expected a value past EVENT_PAYLOAD_MAX to be refused as malformed");
    free(big);
}
