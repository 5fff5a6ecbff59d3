/* task.h — the task: the one resource of the service, its rules, and its JSON form.
 *
 * Every rule of API.md's Task table lives in task.c and nowhere else. Handlers turn a request
 * body into a `struct task` (create) or a `struct task_patch` (update) here, collecting every
 * broken rule at once so the client can fix them all in one go; repositories only ever see
 * tasks that passed. */
#ifndef TASKD_TASK_H
#define TASKD_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Only the three JSON functions at the end take a tree: a repository includes this header
 * without seeing cJSON. */
struct cJSON;
struct field_errors;

#define TASK_TITLE_MAX       200  /* code points, after trimming */
#define TASK_DESCRIPTION_MAX 5000 /* code points */
#define TASK_TAGS_MAX        10   /* entries as sent, before de-duplication */
#define TASK_TAG_MAX         32   /* bytes of [a-z0-9_-] */

enum task_status { TASK_TODO, TASK_IN_PROGRESS, TASK_DONE };
/* Numeric order is the sort order: low < normal < high. */
enum task_priority { TASK_LOW, TASK_NORMAL, TASK_HIGH };

struct task {
    int64_t id;
    int64_t owner_id;  /* the scope it belongs to; 0 = anonymous */
    char *title;       /* owned, trimmed, valid UTF-8 */
    char *description; /* owned, valid UTF-8, never NULL once set */
    enum task_status status;
    enum task_priority priority;
    bool has_due;
    int64_t due_at; /* µs since the epoch, UTC; meaningful when has_due */
    char tags[TASK_TAGS_MAX][TASK_TAG_MAX + 1];
    size_t ntags;
    int64_t version;
    int64_t created_at, updated_at; /* µs since the epoch */
};

/* Which fields a PATCH names. */
enum task_field {
    TASK_F_TITLE = 1u << 0,
    TASK_F_DESCRIPTION = 1u << 1,
    TASK_F_STATUS = 1u << 2,
    TASK_F_PRIORITY = 1u << 3,
    TASK_F_DUE_AT = 1u << 4, /* with values.has_due false: clear it */
    TASK_F_TAGS = 1u << 5,
};

struct task_patch {
    unsigned fields;    /* TASK_F_* bits of what the client named */
    struct task values; /* the new values of those fields (others unset) */
};

/* A task with the defaults of API.md and no strings; task_clear frees what it owns. */
void task_init(struct task *t);
void task_clear(struct task *t);
/* Deep copy into dst (which must be initialised or cleared). 0 or ERR_NOMEM. */
int task_copy(struct task *dst, const struct task *src);

void task_patch_init(struct task_patch *p);
void task_patch_clear(struct task_patch *p);
/* Applies p to t (in memory; the in-memory repository uses it). 0 or ERR_NOMEM. */
int task_apply_patch(struct task *t, const struct task_patch *p);

const char *task_status_name(enum task_status s);
int task_status_parse(const char *s, enum task_status *out); /* 0 or ERR_INVALID */
const char *task_priority_name(enum task_priority p);
int task_priority_parse(const char *s, enum task_priority *out);
/* True when s is 1..32 bytes of [a-z0-9_-]. */
bool task_tag_valid(const char *s, size_t n);

/* Builds a new task from a POST body. Adds one entry per broken rule to errs (which may already
 * hold entries from parsing) and returns ERR_INVALID when errs is non-empty at the end, 0 when
 * *out is a valid task, ERR_NOMEM. *out must be initialised; on error it is cleared. */
int task_from_json(const struct cJSON *obj, struct task *out, struct field_errors *errs);

/* The same for a PATCH body (merge-patch: absent = unchanged; null clears due_at only). */
int task_patch_from_json(const struct cJSON *obj, struct task_patch *out,
                         struct field_errors *errs);

/* The API representation of t (caller frees with cJSON_Delete), or NULL on ERR_NOMEM. */
struct cJSON *task_to_json(const struct task *t);

#endif
