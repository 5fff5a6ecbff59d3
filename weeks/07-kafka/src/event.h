/* event.h — a task event: what the outbox stores and the topic carries (API.md, "Events").
 *
 *   {"event_id": "uuid", "type": "task.created", "occurred_at": "...", "task_id": 42,
 *    "owner_id": 7, "version": 1, "task": {...}}
 *
 * The producer side (the outbox decorator) builds one from the task a write returned; the
 * consumer side (notifier, projector) parses one from a message, and treats anything that does
 * not parse as a poison message (consumer.h), never as a crash. event_id is a random UUID
 * (version 4): it names the change, so a consumer that sees it twice knows it is a redelivery. */
#ifndef TASKD_EVENT_H
#define TASKD_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct task;
struct cJSON;

#define EVENT_ID_LEN      36    /* 8-4-4-4-12 hex digits and dashes */
#define EVENT_PAYLOAD_MAX 65536 /* a task's JSON is far smaller; anything longer is poison */

enum event_type { EVENT_TASK_CREATED, EVENT_TASK_UPDATED, EVENT_TASK_DELETED };

struct event {
    char event_id[EVENT_ID_LEN + 1];
    enum event_type type;
    int64_t occurred_at; /* µs since the epoch */
    int64_t task_id;
    int64_t owner_id;
    int64_t version;
    struct cJSON *task; /* owned: the task as the API shows it (task_to_json) */
};

const char *event_type_name(enum event_type t);            /* "task.created", ... */
int event_type_parse(const char *s, enum event_type *out); /* 0 or ERR_INVALID */

/* A fresh random UUID v4 in out (lower-case, with dashes). */
void event_new_id(char out[EVENT_ID_LEN + 1]);
/* True when s is a UUID in the canonical form above (any version). */
int event_id_valid(const char *s);

/* The event of a write: type, the task as it is after the write (for a delete, as it was),
 * and when. Fills a fresh event_id. 0 or ERR_NOMEM; *out is cleared with event_clear. */
int event_of_task(enum event_type type, const struct task *t, int64_t occurred_at,
                  struct event *out);
/* The wire form, as above (caller frees *out with cJSON_free). 0 or ERR_NOMEM. */
int event_to_json(const struct event *e, char **out, size_t *len);
/* Parses a message value. ERR_MALFORMED (not JSON, or longer than EVENT_PAYLOAD_MAX),
 * ERR_INVALID (JSON but not an event: a field missing, of the wrong type, an unknown type, a
 * bad event_id, a non-positive task_id), ERR_NOMEM. On 0 *out owns its task tree. */
int event_parse(const char *value, size_t len, struct event *out);

void event_init(struct event *e);
void event_clear(struct event *e);

#endif
