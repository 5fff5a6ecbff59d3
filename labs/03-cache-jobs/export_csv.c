/* Lab copy of weeks/03-cache-jobs/src/export_csv.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/03-cache-jobs/README.md explains them. */
/* export_csv.c — a user's tasks as RFC 4180 CSV (see export_csv.h).
 *
 * The tasks are read the way a client would page through GET /tasks: task_repo_list in
 * created_at order, 100 at a time, each page starting after the key of the last task of the
 * previous one. Keyset paging keeps every page one index range scan however far in, and never
 * repeats or skips a task that existed when the export began.
 *
 * Each line is one task. A field is quoted when it holds a comma, a quote, CR or LF, and a quote
 * inside it is doubled; lines end in CRLF; tags are joined with ';' (a tag is [a-z0-9_-], so the
 * separator can never be part of one); timestamps are RFC 3339 like the API's; an absent due_at
 * is an empty field. */
#include "export_csv.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "task.h"
#include "task_repo.h"
#include "timeutil.h"

/* Does a text cell need its formula guard? Spreadsheet programs (Excel, LibreOffice, Google
 * Sheets) do not open a CSV as data: a cell that starts with = + - @ (or a TAB / CR before one)
 * is read as a formula, and a formula can fetch URLs with the sheet's contents
 * (=HYPERLINK, =WEBSERVICE) or, in older Excel, start programs through DDE. A task's title may
 * have been typed by anyone who could write it, so an export is untrusted input for whoever
 * opens it. A leading apostrophe makes the spreadsheet show the text as text (OWASP's advice
 * for "CSV injection"). The price is an apostrophe a plain-text reader of the file will see
 * in front of, say, "-5 degrees"; we pay it, since the file's usual reader is a spreadsheet. */
static bool needs_formula_guard(const char *s, size_t n)
{
    if (n == 0)
        return false;
    switch (s[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
        return true;
    default:
        return false;
    }
}

/* Appends one field. `text` marks a cell whose content came from a user (formula guard). */
static void put_field(struct buf *b, const char *s, size_t n, bool text)
{
    /* TODO(lab 3.13): RFC 4180: quote when needed, double quotes; guard a user's formula. */
    buf_append(b, s, n);
}

static void put_text(struct buf *b, const char *s)
{
    put_field(b, s ? s : "", s ? strlen(s) : 0, true);
}

static void put_time(struct buf *b, int64_t us)
{
    char text[RFC3339_MAX];
    if (rfc3339_format(us, text, sizeof text) != 0)
        text[0] = '\0'; /* out of RFC 3339's range: cannot come from the repository's checks */
    buf_puts(b, text);
}

/* Appends the line of one task, CRLF included. */
static void put_task(struct buf *b, const struct task *t)
{
    buf_printf(b, "%lld,", (long long)t->id);
    put_text(b, t->title);
    buf_putc(b, ',');
    put_text(b, t->description);
    buf_printf(b, ",%s,%s,", task_status_name(t->status), task_priority_name(t->priority));
    if (t->has_due)
        put_time(b, t->due_at);
    buf_putc(b, ',');
    /* The tags as one cell: joined first, so the guard and the quoting see the whole cell. */
    char tags[TASK_TAGS_MAX * (TASK_TAG_MAX + 1)];
    size_t len = 0;
    for (size_t i = 0; i < t->ntags && i < TASK_TAGS_MAX; i++) {
        size_t n = strnlen(t->tags[i], TASK_TAG_MAX);
        if (i > 0)
            tags[len++] = ';';
        memcpy(tags + len, t->tags[i], n);
        len += n;
    }
    put_field(b, tags, len, true);
    buf_printf(b, ",%lld,", (long long)t->version);
    put_time(b, t->created_at);
    buf_putc(b, ',');
    put_time(b, t->updated_at);
    buf_puts(b, "\r\n");
}

int export_csv_build(struct task_repo *repo, int64_t owner_id, struct buf *out, int *rows)
{
    if (!repo || !out || !rows)
        return ERR_INVALID;
    *rows = 0;
    size_t start = out->len;
    bool was_failed = out->failed;
    struct scope sc = {.owner_id = owner_id};
    struct task_list_query q;
    memset(&q, 0, sizeof q);
    q.sort = TASK_SORT_CREATED_AT;
    q.limit = TASK_LIST_LIMIT_MAX;
    struct task_page page;
    task_page_init(&page);
    int count = 0;
    buf_puts(out, EXPORT_CSV_HEADER "\r\n");
    int rc = 0;
    for (;;) {
        if ((rc = task_repo_list(repo, &sc, &q, &page)) != 0)
            break;
        for (size_t i = 0; i < page.count; i++) {
            put_task(out, &page.items[i]);
            count++;
        }
        if (out->failed) {
            rc = ERR_NOMEM;
            break;
        }
        if (out->len - start > EXPORT_CSV_MAX_BYTES) {
            rc = ERR_TOO_LARGE;
            break;
        }
        if (!page.has_more)
            break;
        if (page.count == 0) {
            rc = ERR_INTERNAL; /* "more follows" after an empty page would loop forever */
            break;
        }
        q.has_after = true;
        q.after = task_key_of(&page.items[page.count - 1]);
        task_page_clear(&page);
    }
    task_page_clear(&page);
    if (rc == 0 && out->failed)
        rc = ERR_NOMEM;
    if (rc != 0) {
        /* Give the caller back the buffer it handed in, not half a file. */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        out->failed = was_failed;
        return rc;
    }
    *rows = count;
    return 0;
}
