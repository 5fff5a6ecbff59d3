/* Lab copy of weeks/01-crud/src/task.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/01-crud/README.md explains them. */
/* task.c — the rules of a task and its JSON form (task.h).
 *
 * This is the one place that knows API.md's Task table. A POST or PATCH body arrives here as a
 * cJSON tree that json_parse_strict has already checked (valid UTF-8, no NUL, duplicate keys
 * reported); we walk every member once, check it against its rule, and either keep its value or
 * add one (field, message) entry to the request's field_errors. We never stop at the first
 * broken rule: a client should be able to fix everything after one 422. Create and PATCH share
 * the same per-field checks and differ in exactly two places — `title` is required on create,
 * and on PATCH `null` means "clear" (allowed for due_at only, as in JSON merge-patch).
 *
 * Messages are written for a person reading a 422 response, so they say the rule, not the bug. */
#include "task.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "field_errors.h"
#include "timeutil.h"
#include "utf8.h"

static const char *const status_names[] = {"todo", "in_progress", "done"};
static const char *const priority_names[] = {"low", "normal", "high"};
#define NSTATUS   (sizeof status_names / sizeof status_names[0])
#define NPRIORITY (sizeof priority_names / sizeof priority_names[0])

/* Fields a client may send, and the TASK_F_* bit each one sets. */
static const struct {
    const char *name;
    enum task_field field;
} client_fields[] = {
    {"title", TASK_F_TITLE},       {"description", TASK_F_DESCRIPTION}, {"status", TASK_F_STATUS},
    {"priority", TASK_F_PRIORITY}, {"due_at", TASK_F_DUE_AT},           {"tags", TASK_F_TAGS},
};

/* Fields in the representation that only the server writes: naming them is a 422, with a
 * message that says why rather than pretending we have never heard of them. */
static const char *const server_fields[] = {"id", "version", "created_at", "updated_at"};

/* ------------------------------------------------------------------ lifecycle */

void task_init(struct task *t)
{
    memset(t, 0, sizeof *t);
    t->status = TASK_TODO;
    t->priority = TASK_NORMAL;
}

void task_clear(struct task *t)
{
    free(t->title);
    free(t->description);
    task_init(t);
}

int task_copy(struct task *dst, const struct task *src)
{
    /* Copy the strings first, so a failed allocation leaves dst exactly as it was. */
    char *title = NULL, *description = NULL;
    if (src->title && !(title = strdup(src->title)))
        goto nomem;
    if (src->description && !(description = strdup(src->description)))
        goto nomem;
    task_clear(dst);
    *dst = *src; /* the scalars and the fixed-size tags array */
    dst->title = title;
    dst->description = description;
    return 0;
nomem:
    free(title);
    free(description);
    return ERR_NOMEM;
}

void task_patch_init(struct task_patch *p)
{
    p->fields = 0;
    task_init(&p->values);
}

void task_patch_clear(struct task_patch *p)
{
    task_clear(&p->values);
    p->fields = 0;
}

int task_apply_patch(struct task *t, const struct task_patch *p)
{
    const struct task *v = &p->values;
    char *title = NULL, *description = NULL;
    /* A patch naming a string field always carries its value (task_patch_from_json sees to it);
     * one that does not was built by hand, wrongly. */
    if (((p->fields & TASK_F_TITLE) && !v->title) ||
        ((p->fields & TASK_F_DESCRIPTION) && !v->description))
        return ERR_INVALID;
    /* Allocate before changing anything: all of the patch applies, or none of it. */
    if ((p->fields & TASK_F_TITLE) && !(title = strdup(v->title)))
        goto nomem;
    if ((p->fields & TASK_F_DESCRIPTION) && !(description = strdup(v->description)))
        goto nomem;

    if (p->fields & TASK_F_TITLE) {
        free(t->title);
        t->title = title;
    }
    if (p->fields & TASK_F_DESCRIPTION) {
        free(t->description);
        t->description = description;
    }
    if (p->fields & TASK_F_STATUS)
        t->status = v->status;
    if (p->fields & TASK_F_PRIORITY)
        t->priority = v->priority;
    if (p->fields & TASK_F_DUE_AT) {
        t->has_due = v->has_due; /* false: the patch said "due_at": null */
        t->due_at = v->has_due ? v->due_at : 0;
    }
    if (p->fields & TASK_F_TAGS) {
        memcpy(t->tags, v->tags, sizeof t->tags);
        t->ntags = v->ntags;
    }
    return 0;
nomem:
    free(title);
    free(description);
    return ERR_NOMEM;
}

/* ------------------------------------------------------------------ enums and tags */

/* Finds s among names; *out is its index. Matching is exact: "TODO" and " todo" are not "todo". */
static int parse_name(const char *const *names, size_t count, const char *s, size_t *out)
{
    /* TODO(lab 1.1): Find s among names (exact match); set *out to its index and return 0. */
    return ERR_INVALID;
}

const char *task_status_name(enum task_status s)
{
    return (size_t)s < NSTATUS ? status_names[s] : "unknown";
}

int task_status_parse(const char *s, enum task_status *out)
{
    size_t i;
    if (parse_name(status_names, NSTATUS, s, &i) != 0)
        return ERR_INVALID;
    *out = (enum task_status)i;
    return 0;
}

const char *task_priority_name(enum task_priority p)
{
    return (size_t)p < NPRIORITY ? priority_names[p] : "unknown";
}

int task_priority_parse(const char *s, enum task_priority *out)
{
    size_t i;
    if (parse_name(priority_names, NPRIORITY, s, &i) != 0)
        return ERR_INVALID;
    *out = (enum task_priority)i;
    return 0;
}

bool task_tag_valid(const char *s, size_t n)
{
    if (!s || n < 1 || n > TASK_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ one member at a time */

/* Each check returns 0 (value stored in t), ERR_INVALID with *why set, or ERR_NOMEM. */
static int invalid(const char **why, const char *message)
{
    *why = message;
    return ERR_INVALID;
}

/* The string value of v, with its byte length. The parser guarantees valid UTF-8 without NUL;
 * we re-check validity anyway because counting and trimming rely on it, and a tree built some
 * other way must not be able to break them. */
static int string_of(const cJSON *v, const char **s, size_t *n, const char **why)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return invalid(why, "must be a string");
    *s = v->valuestring;
    *n = strlen(v->valuestring);
    if (!utf8_valid(*s, *n))
        return invalid(why, "must be valid UTF-8 text");
    return 0;
}

static int check_title(const cJSON *v, struct task *t, const char **why)
{
    const char *s;
    size_t n;
    if (string_of(v, &s, &n, why) != 0)
        return ERR_INVALID;
    size_t start = 0, len = n;
    /* TODO(lab 1.2): Trim s with utf8_trim (sets start, len); then 1..200 code points, else 422. */
    char *title = strndup(s + start, len);
    if (!title)
        return ERR_NOMEM;
    free(t->title);
    t->title = title;
    return 0;
}

static int check_description(const cJSON *v, struct task *t, const char **why)
{
    const char *s;
    size_t n;
    if (string_of(v, &s, &n, why) != 0)
        return ERR_INVALID;
    /* Not trimmed: white space in a description may be the user's formatting. */
    if (utf8_count(s, n) > TASK_DESCRIPTION_MAX)
        return invalid(why, "must be at most 5000 characters");
    char *description = strndup(s, n);
    if (!description)
        return ERR_NOMEM;
    free(t->description);
    t->description = description;
    return 0;
}

static int check_status(const cJSON *v, struct task *t, const char **why)
{
    if (!cJSON_IsString(v) || task_status_parse(v->valuestring, &t->status) != 0)
        return invalid(why, "must be one of todo, in_progress, done");
    return 0;
}

static int check_priority(const cJSON *v, struct task *t, const char **why)
{
    if (!cJSON_IsString(v) || task_priority_parse(v->valuestring, &t->priority) != 0)
        return invalid(why, "must be one of low, normal, high");
    return 0;
}

static int check_due_at(const cJSON *v, struct task *t, const char **why)
{
    const char *s, *ignored;
    size_t n;
    if (string_of(v, &s, &n, &ignored) != 0)
        return invalid(why, "must be an RFC 3339 date-time string or null");
    if (rfc3339_parse(s, n, &t->due_at, &ignored) != 0)
        return invalid(why, "must be an RFC 3339 date-time with a time zone, e.g. "
                            "2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00");
    t->has_due = true;
    return 0;
}

static int check_tags(const cJSON *v, struct task *t, const char **why)
{
    if (!cJSON_IsArray(v))
        return invalid(why, "must be an array of strings");
    size_t ntags = 0;
    /* TODO(lab 1.3): At most 10 tags as sent; each 1..32 of [a-z0-9_-]; drop repeats, keep order. */
    t->ntags = ntags;
    return 0;
}

/* Checks member v, the value of field f, and stores it in t. */
static int check_member(const cJSON *v, enum task_field f, struct task *t, const char **why)
{
    if (cJSON_IsNull(v)) {
        /* TODO(lab 1.4): null: due_at becomes "no due date"; null for any other field is a 422. */
    }
    switch (f) {
    case TASK_F_TITLE:
        return check_title(v, t, why);
    case TASK_F_DESCRIPTION:
        return check_description(v, t, why);
    case TASK_F_STATUS:
        return check_status(v, t, why);
    case TASK_F_PRIORITY:
        return check_priority(v, t, why);
    case TASK_F_DUE_AT:
        return check_due_at(v, t, why);
    case TASK_F_TAGS:
        return check_tags(v, t, why);
    }
    return invalid(why, "is not a known field");
}

/* The TASK_F_* bit of a client field, or 0. */
static unsigned field_bit(const char *name)
{
    for (size_t i = 0; i < sizeof client_fields / sizeof client_fields[0]; i++)
        if (strcmp(name, client_fields[i].name) == 0)
            return client_fields[i].field;
    return 0;
}

static bool is_server_field(const char *name)
{
    for (size_t i = 0; i < sizeof server_fields / sizeof server_fields[0]; i++)
        if (strcmp(name, server_fields[i]) == 0)
            return true;
    return false;
}

/* Walks every member of obj into t, reporting each broken rule once per field. *named gets the
 * TASK_F_* bits of the fields that were present. Returns 0 (look at errs) or ERR_NOMEM. */
static int read_members(const cJSON *obj, bool create, struct task *t, unsigned *named,
                        struct field_errors *errs)
{
    *named = 0;
    if (!cJSON_IsObject(obj))
        return field_errors_add(errs, "body", "must be a JSON object");
    for (const cJSON *m = obj->child; m; m = m->next) {
        const char *name = m->string ? m->string : "";
        /* The parser may have reported this field already (a duplicate key, a NUL escape):
         * one entry per field is enough, and its value may be a stand-in. */
        if (field_errors_has(errs, name))
            continue;
        unsigned bit = field_bit(name);
        const char *why = NULL;
        int rc;
        if (bit == 0)
            rc = invalid(&why,
                         is_server_field(name) ? "is set by the server" : "is not a known field");
        else if (*named & bit) /* a duplicate the parser did not flag (a hand-built tree) */
            rc = invalid(&why, "is given more than once");
        else
            rc = check_member(m, (enum task_field)bit, t, &why);
        *named |= bit;
        if (rc == ERR_INVALID)
            rc = field_errors_add(errs, name, why);
        if (rc != 0)
            return rc; /* ERR_NOMEM */
    }
    if (create && !(*named & TASK_F_TITLE) && !field_errors_has(errs, "title"))
        return field_errors_add(errs, "title", "is required");
    return 0;
}

int task_from_json(const cJSON *obj, struct task *out, struct field_errors *errs)
{
    if (!errs)
        return ERR_INTERNAL; /* nowhere to say what is wrong: a caller bug */
    task_clear(out);
    unsigned named;
    int rc = read_members(obj, true, out, &named, errs);
    if (rc == 0 && field_errors_count(errs) > 0)
        rc = ERR_INVALID;
    if (rc == 0 && !out->description && !(out->description = strdup("")))
        rc = ERR_NOMEM;
    if (rc != 0)
        task_clear(out);
    return rc;
}

int task_patch_from_json(const cJSON *obj, struct task_patch *out, struct field_errors *errs)
{
    if (!errs)
        return ERR_INTERNAL;
    task_patch_clear(out);
    int rc = read_members(obj, false, &out->values, &out->fields, errs);
    if (rc == 0 && field_errors_count(errs) > 0)
        rc = ERR_INVALID;
    if (rc != 0)
        task_patch_clear(out);
    return rc;
}

/* ------------------------------------------------------------------ representation */

static bool add_time(cJSON *o, const char *name, int64_t us)
{
    char text[RFC3339_MAX];
    return rfc3339_format(us, text, sizeof text) == 0 && cJSON_AddStringToObject(o, name, text);
}

cJSON *task_to_json(const struct task *t)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* Members in API.md's order, so responses read like the documentation. owner_id is not
     * part of the representation: the owner is whoever is asking. */
    if (!cJSON_AddNumberToObject(o, "id", (double)t->id) ||
        !cJSON_AddStringToObject(o, "title", t->title ? t->title : "") ||
        !cJSON_AddStringToObject(o, "description", t->description ? t->description : "") ||
        !cJSON_AddStringToObject(o, "status", task_status_name(t->status)) ||
        !cJSON_AddStringToObject(o, "priority", task_priority_name(t->priority)))
        goto fail;
    if (t->has_due ? !add_time(o, "due_at", t->due_at) : !cJSON_AddNullToObject(o, "due_at"))
        goto fail;
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    if (!tags)
        goto fail;
    for (size_t i = 0; i < t->ntags && i < TASK_TAGS_MAX; i++) {
        cJSON *tag = cJSON_CreateString(t->tags[i]);
        if (!tag || !cJSON_AddItemToArray(tags, tag)) {
            cJSON_Delete(tag);
            goto fail;
        }
    }
    if (!cJSON_AddNumberToObject(o, "version", (double)t->version) ||
        !add_time(o, "created_at", t->created_at) || !add_time(o, "updated_at", t->updated_at))
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}
