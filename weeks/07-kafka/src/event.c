/* event.c — a task event, built from a write and parsed from a message (event.h).
 *
 * Parsing is strict, because a message is input from outside the process like a request body:
 * the value must be strict JSON (json_parse_strict: valid UTF-8, no duplicate keys, bounded
 * depth) and an object with every field of the contract, of the right type. Anything else is
 * refused with a reason, and the consumer loop sends it to the dead-letter topic. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "field_errors.h"
#include "json.h"
#include "task.h"
#include "timeutil.h"

static const char *const type_names[] = {
    [EVENT_TASK_CREATED] = "task.created",
    [EVENT_TASK_UPDATED] = "task.updated",
    [EVENT_TASK_DELETED] = "task.deleted",
};

const char *event_type_name(enum event_type t)
{
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : "unknown";
}

int event_type_parse(const char *s, enum event_type *out)
{
    for (size_t i = 0; s && i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *out = (enum event_type)i;
            return 0;
        }
    return ERR_INVALID;
}

void event_new_id(char out[EVENT_ID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4: random */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}

int event_id_valid(const char *s)
{
    if (!s || strlen(s) != EVENT_ID_LEN)
        return 0;
    for (size_t i = 0; i < EVENT_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = s[i];
        bool hexdigit =
            (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (dash ? ch != '-' : !hexdigit)
            return 0;
    }
    return 1;
}

void event_init(struct event *e)
{
    *e = (struct event){0};
}

void event_clear(struct event *e)
{
    cJSON_Delete(e->task);
    event_init(e);
}

int event_of_task(enum event_type type, const struct task *t, int64_t occurred_at,
                  struct event *out)
{
    cJSON *task = task_to_json(t);
    if (!task)
        return ERR_NOMEM;
    event_clear(out);
    event_new_id(out->event_id);
    out->type = type;
    out->occurred_at = occurred_at;
    out->task_id = t->id;
    out->owner_id = t->owner_id;
    out->version = t->version;
    out->task = task;
    return 0;
}

int event_to_json(const struct event *e, char **out, size_t *len)
{
    char when[40];
    if (rfc3339_format(e->occurred_at, when, sizeof when) != 0)
        return ERR_INVALID;
    struct buf b;
    buf_init(&b);
    buf_printf(&b,
               "{\"event_id\":\"%s\",\"type\":\"%s\",\"occurred_at\":\"%s\",\"task_id\":%lld,"
               "\"owner_id\":%lld,\"version\":%lld,\"task\":",
               e->event_id, event_type_name(e->type), when, (long long)e->task_id,
               (long long)e->owner_id, (long long)e->version);
    if (e->task)
        json_render(e->task, &b);
    else
        buf_puts(&b, "null");
    buf_putc(&b, '}');
    if (b.failed) {
        buf_free(&b);
        return ERR_NOMEM;
    }
    *out = buf_steal(&b, len);
    return *out ? 0 : ERR_NOMEM;
}

/* An integer member that fits int64_t exactly (JSON numbers are doubles in cJSON; event ids
 * and versions stay far below 2^53). */
static int int_member(const cJSON *obj, const char *name, int64_t min, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > 9007199254740991.0 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return ERR_INVALID;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static const char *string_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int event_parse(const char *value, size_t len, struct event *out)
{
    if (!value || len > EVENT_PAYLOAD_MAX)
        return ERR_MALFORMED;
    struct field_errors *errs = field_errors_new();
    if (!errs)
        return ERR_NOMEM;
    cJSON *root = NULL;
    const char *why = NULL;
    int rc = json_parse_strict(value, len, &root, errs, &why);
    if (rc == 0 && (field_errors_count(errs) > 0 || !cJSON_IsObject(root)))
        rc = ERR_INVALID;
    struct event e;
    event_init(&e);
    const char *id = rc == 0 ? string_member(root, "event_id") : NULL;
    const char *type = rc == 0 ? string_member(root, "type") : NULL;
    const char *when = rc == 0 ? string_member(root, "occurred_at") : NULL;
    cJSON *task = rc == 0 ? cJSON_GetObjectItemCaseSensitive(root, "task") : NULL;
    if (rc == 0 && (!event_id_valid(id) || event_type_parse(type, &e.type) != 0 || !when ||
                    rfc3339_parse(when, strlen(when), &e.occurred_at, &why) != 0 ||
                    int_member(root, "task_id", 1, &e.task_id) != 0 ||
                    int_member(root, "owner_id", 0, &e.owner_id) != 0 ||
                    int_member(root, "version", 1, &e.version) != 0 || !cJSON_IsObject(task)))
        rc = ERR_INVALID;
    if (rc == 0) {
        memcpy(e.event_id, id, EVENT_ID_LEN + 1);
        cJSON_DetachItemViaPointer(root, task);
        e.task = task;
        event_clear(out);
        *out = e;
    }
    cJSON_Delete(root);
    field_errors_free(errs);
    return rc;
}
