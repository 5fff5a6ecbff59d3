/* api_jobs_worker.c — black-box tests of stage 3's background jobs, run by the real worker
 * (API.md week 3: POST /exports, GET /jobs/{id}, GET /exports/{id}.csv; `taskd-worker --help`).
 *
 * taskd only records that work is wanted; taskd-worker, a second program, does it. So each test
 * here runs a private server (a database of its own, hence a job queue of its own: every Redis key
 * is named after the database) and one or two workers beside it on the same DATABASE_URL, and
 * watches from outside what a client can see: the job's status, attempts and error through
 * GET /jobs/{id}, the file through GET /exports/{id}.csv, and the reminder e-mails the SMTP sink
 * stores, one file per message, in SMTP_SINK_DIR. The worker's fault settings
 * (FAULT_FAIL_EXPORT_ATTEMPTS, FAULT_EXPORT_DELAY_MS) make failing and slow jobs happen on demand;
 * SIGKILL and SIGTERM are sent for real.
 *
 * The worker is found as TASKD_WORKER_BIN, or beside TASKD_BIN (build/week-3/taskd-worker next to
 * build/week-3/taskd, the same in a lab build). Workers and server are stopped by jobs_fini,
 * named in .fini of every test and registered with atexit, however the test ends: the workers
 * first, since they hold connections to the database that stopping the server drops. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api_helpers.h"
#include "buf.h"
#include "testkit.h"

#define WORKER_START_MS 10000 /* from exec to "worker started" */
#define WORKER_STOP_MS  6000  /* SIGTERM lets a job in hand finish: the longest delay here is 4 s */
#define JOB_WAIT_MS     15000 /* longest a job may take to reach the status a test waits for */
#define JOB_POLL_MS     20    /* fast enough to see a retry waiting for its backoff */
#define MAIL_WAIT_MS    12000 /* from the task's creation to its reminder in the sink */
#define MAIL_POLL_MS    100
#define CLOCK_SLACK_MS  200  /* the sink's clock and ours are the same, but not read at once */
#define RECLAIM_MS      7000 /* from SIGKILL to the job done again, with 2 s leases */
#define LEAD_S          60   /* REMINDER_LEAD_SECONDS of the reminder tests */
#define MAX_WORKERS     2
#define MAX_MAILS       8

/* ------------------------------------------------------------------ server and workers */

static struct tk_server *server;
static struct tk_proc *workers[MAX_WORKERS];

/* Runs after every test, passed or failed (and again at exit: it is idempotent). A worker gets
 * SIGTERM, so it finishes what it holds and lets go of the database, then the server stops. */
static void jobs_fini(void)
{
    for (size_t i = 0; i < MAX_WORKERS; i++) {
        tk_proc_stop(workers[i], SIGTERM, WORKER_STOP_MS);
        workers[i] = NULL;
    }
    tk_server_stop(server);
    server = NULL;
}

static void jobs_server(void)
{
    cr_assert(atexit(jobs_fini) == 0, "test bug: atexit failed");
    server = tk_server_start(NULL);
}

static const char *worker_bin(void)
{
    return tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN");
}

/* The last part of a log, for failure messages. */
static const char *tail_of(const char *log, size_t n)
{
    size_t len = strlen(log);
    return len > n ? log + len - n : log;
}

static void print_worker_logs(void)
{
    for (size_t i = 0; i < MAX_WORKERS; i++) {
        if (!workers[i])
            continue;
        char *log = tk_proc_log(workers[i]);
        fprintf(stderr, "---- worker %zu log (%s), last lines ----\n%s----\n", i,
                tk_proc_log_path(workers[i]), tail_of(log, 3000));
        free(log);
    }
}

/* Starts a worker on the server's database with extra settings (NULL-terminated, may be NULL)
 * and waits until it says it has started. The server's TASKD_ENV settings go to the worker too
 * (a QUEUE_PREFIX there must be the same for both); the test's own settings come first, so they
 * win (getenv finds the first). */
static struct tk_proc *worker_start(const char *const *extra)
{
    size_t slot = 0;
    while (slot < MAX_WORKERS && workers[slot])
        slot++;
    cr_assert(slot < MAX_WORKERS, "test bug: more than %d workers", MAX_WORKERS);
    const char *argv[] = {worker_bin(), NULL};
    struct tk_proc *w = tk_proc_start_beside(server, argv, extra);
    workers[slot] = w;
    tk_proc_wait_log(w, "\"worker started\"", WORKER_START_MS);
    return w;
}

/* Stops worker w with sig and returns how it ended (see tk_proc_stop). */
static int worker_stop(struct tk_proc *w, int sig, int timeout_ms)
{
    for (size_t i = 0; i < MAX_WORKERS; i++)
        if (workers[i] == w)
            workers[i] = NULL;
    return tk_proc_stop(w, sig, timeout_ms);
}

/* The worker's log holds a line with all of these fragments (NULL-terminated). */
static bool log_has_line(struct tk_proc *w, const char *const *fragments)
{
    char *log = tk_proc_log(w);
    bool found = false;
    for (char *line = log; line && *line && !found;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        found = true;
        for (size_t i = 0; fragments[i] && found; i++)
            found = strstr(line, fragments[i]) != NULL;
        line = eol ? eol + 1 : NULL;
    }
    free(log);
    return found;
}

/* ------------------------------------------------------------------ jobs */

/* POST /exports with no body: 202, Location /jobs/<id>, {"id","type":"export","status":"queued"}.
 * Returns the job id. */
static long long export_request(void)
{
    struct tk_response *r = tk_request(server, "POST", "/exports", NULL, NULL, 0);
    tk_expect_status(r, 202);
    long long id = tk_json_int(r, "id");
    cr_assert(id > 0, "%s: expected a positive job id, got %lld", r->what, id);
    tk_expect_json_str(r, "type", "export");
    tk_expect_json_str(r, "status", "queued");
    char location[64];
    snprintf(location, sizeof location, "/jobs/%lld", id);
    tk_expect_header(r, "Location", location);
    tk_response_free(r);
    return id;
}

static struct tk_response *job_get(long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld", id);
    struct tk_response *r = tk_get(server, path);
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "id", id);
    const char *status = tk_json_str(r, "status");
    cr_assert(strcmp(status, "queued") == 0 || strcmp(status, "running") == 0 ||
                  strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0,
              "%s: expected status queued, running, succeeded or failed, got \"%s\"", r->what,
              status);
    return r;
}

/* What a test saw of a job while waiting for it. */
struct job_watch {
    bool saw_retry_wait; /* queued again, with the error of a failed attempt */
    char retry_error[128];
};

static bool is_final(const char *status)
{
    return strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0;
}

/* Polls GET /jobs/{id} until its status is `want` or final, at most timeout_ms; returns that
 * last answer (the caller frees it). Fails the test, with the workers' logs, on a timeout. */
static struct tk_response *job_wait(long long id, const char *want, long timeout_ms,
                                    struct job_watch *seen)
{
    long deadline = tk_now_ms() + timeout_ms;
    for (;;) {
        struct tk_response *r = job_get(id);
        const char *status = tk_json_str(r, "status");
        long long attempts = tk_json_int(r, "attempts");
        if (seen) {
            const cJSON *err = cJSON_GetObjectItemCaseSensitive(r->json, "error");
            if (strcmp(status, "queued") == 0 && attempts > 0 && cJSON_IsString(err)) {
                seen->saw_retry_wait = true;
                snprintf(seen->retry_error, sizeof seen->retry_error, "%s", err->valuestring);
            }
        }
        if (strcmp(status, want) == 0 || is_final(status))
            return r;
        if (tk_now_ms() >= deadline) {
            print_worker_logs();
            cr_assert_fail("GET /jobs/%lld: expected status \"%s\" within %ld ms; it is still: "
                           "%.300s (the workers' logs are above)",
                           id, want, timeout_ms, r->body);
        }
        tk_response_free(r);
        tk_sleep_ms(JOB_POLL_MS);
    }
}

/* The job is `status` after `attempts` attempts. */
static void expect_job(const struct tk_response *r, const char *status, long long attempts)
{
    tk_expect_json_str(r, "status", status);
    tk_expect_json_str(r, "type", "export");
    tk_expect_json_int(r, "attempts", attempts);
}

/* A finished export: succeeded after `attempts`, no error, its file at /exports/<id>.csv. */
static void expect_export_succeeded(const struct tk_response *r, long long id, long long attempts)
{
    expect_job(r, "succeeded", attempts);
    tk_expect_json_null(r, "error");
    char url[64];
    snprintf(url, sizeof url, "/exports/%lld.csv", id);
    tk_expect_json_str(r, "result_url", url);
}

static struct tk_response *export_get(long long id)
{
    char path[64];
    snprintf(path, sizeof path, "/exports/%lld.csv", id);
    return tk_get(server, path);
}

/* ------------------------------------------------------------------ CSV (RFC 4180) */

#define CSV_COLS     10
#define CSV_ROWS_MAX 200

static const char *const csv_header[CSV_COLS] = {
    "id",     "title", "description", "status",     "priority",
    "due_at", "tags",  "version",     "created_at", "updated_at"};

struct csv {
    char *cell[CSV_ROWS_MAX][CSV_COLS];
    size_t rows;
};

static void csv_free(struct csv *c)
{
    for (size_t r = 0; r < c->rows; r++)
        for (size_t f = 0; f < CSV_COLS; f++)
            free(c->cell[r][f]);
    free(c);
}

/* Parses a whole file strictly by RFC 4180 as the export writes it: every record ends with CRLF
 * (the last one too) and has CSV_COLS fields; a field is either plain (no quote, comma, CR or LF)
 * or quoted, with quotes inside doubled and anything else, CR and LF included, kept as is. Fails
 * the test saying where the file breaks the rules. */
static struct csv *csv_parse(const char *s, size_t len)
{
    struct csv *c = calloc(1, sizeof *c);
    cr_assert(c, "out of memory");
    size_t i = 0, field = 0;
    struct buf cell = BUF_INIT;
    while (i < len) {
        cr_assert(c->rows < CSV_ROWS_MAX, "the CSV has more than %d records", CSV_ROWS_MAX);
        cr_assert(field < CSV_COLS, "CSV record %zu has more than %d fields (at byte %zu)",
                  c->rows + 1, CSV_COLS, i);
        buf_reset(&cell);
        if (s[i] == '"') {
            for (i++;; i++) {
                cr_assert(i < len, "CSV record %zu: a quoted field is never closed", c->rows + 1);
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        buf_putc(&cell, '"');
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                buf_putc(&cell, s[i]);
            }
        } else {
            for (; i < len && s[i] != ',' && s[i] != '\r' && s[i] != '\n'; i++) {
                cr_assert(s[i] != '"',
                          "CSV record %zu field %zu: a quote inside an unquoted field (byte %zu)",
                          c->rows + 1, field + 1, i);
                buf_putc(&cell, s[i]);
            }
        }
        buf_putc(&cell, '\0');
        cr_assert(!cell.failed, "out of memory");
        c->cell[c->rows][field] = strdup(cell.data);
        cr_assert(c->cell[c->rows][field], "out of memory");
        field++;
        if (i < len && s[i] == ',') {
            i++;
            cr_assert(i < len, "the CSV ends with a comma instead of a CRLF");
            continue;
        }
        cr_assert(i + 1 < len && s[i] == '\r' && s[i + 1] == '\n',
                  "CSV record %zu field %zu: expected a comma or CRLF after the field, got %s "
                  "(byte %zu)",
                  c->rows + 1, field, i >= len ? "the end of the file" : "another character", i);
        cr_assert(field == CSV_COLS, "CSV record %zu has %zu fields, expected %d", c->rows + 1,
                  field, CSV_COLS);
        i += 2;
        c->rows++;
        field = 0;
    }
    buf_free(&cell);
    return c;
}

/* What the export must write for a text cell: the text, after a ' when a spreadsheet would read
 * it as a formula (it starts with = + - @, TAB or CR). */
static char *guarded(const char *s)
{
    bool formula =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    return api_format("%s%s", formula ? "'" : "", s);
}

static const char *json_str_of(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsString(v), "a listed task has no string \"%s\"", name);
    return v->valuestring;
}

/* Compares CSV record `row` with task t (an item of GET /tasks), field by field. */
static void expect_row_is_task(const struct csv *c, size_t row, const cJSON *t)
{
    char want[CSV_COLS][512];
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(t, "version");
    const cJSON *due = cJSON_GetObjectItemCaseSensitive(t, "due_at");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(t, "tags");
    cr_assert(cJSON_IsNumber(id) && cJSON_IsNumber(version) && cJSON_IsArray(tags),
              "a listed task lacks id, version or tags");
    snprintf(want[0], sizeof want[0], "%lld", (long long)id->valuedouble);
    char *title = guarded(json_str_of(t, "title"));
    char *description = guarded(json_str_of(t, "description"));
    snprintf(want[1], sizeof want[1], "%s", title);
    snprintf(want[2], sizeof want[2], "%s", description);
    free(title);
    free(description);
    snprintf(want[3], sizeof want[3], "%s", json_str_of(t, "status"));
    snprintf(want[4], sizeof want[4], "%s", json_str_of(t, "priority"));
    snprintf(want[5], sizeof want[5], "%s", cJSON_IsString(due) ? due->valuestring : "");
    char joined[400] = "";
    const cJSON *tag;
    cJSON_ArrayForEach(tag, tags)
    {
        size_t used = strlen(joined);
        snprintf(joined + used, sizeof joined - used, "%s%s", used ? ";" : "", tag->valuestring);
    }
    char *tags_cell = guarded(joined);
    snprintf(want[6], sizeof want[6], "%s", tags_cell);
    free(tags_cell);
    snprintf(want[7], sizeof want[7], "%lld", (long long)version->valuedouble);
    snprintf(want[8], sizeof want[8], "%s", json_str_of(t, "created_at"));
    snprintf(want[9], sizeof want[9], "%s", json_str_of(t, "updated_at"));
    for (size_t f = 0; f < CSV_COLS; f++)
        cr_assert(strcmp(c->cell[row][f], want[f]) == 0,
                  "CSV record %zu (task %s), column %s: expected \"%s\" (the task as GET /tasks "
                  "shows it), got \"%s\"",
                  row + 1, want[0], csv_header[f], want[f], c->cell[row][f]);
}

/* GET /exports/<id>.csv: 200 text/csv, parsed; the header record exact. */
static struct csv *export_csv(long long id)
{
    struct tk_response *r = export_get(id);
    tk_expect_status(r, 200);
    char ct[128];
    const char *type = tk_header(r, "Content-Type", ct, sizeof ct);
    cr_assert(type && strncasecmp(type, "text/csv", 8) == 0 && (type[8] == '\0' || type[8] == ';'),
              "%s: expected Content-Type text/csv, got %s", r->what, type ? type : "none");
    static const char header_line[] =
        "id,title,description,status,priority,due_at,tags,version,created_at,updated_at\r\n";
    cr_assert(strncmp(r->body, header_line, strlen(header_line)) == 0,
              "%s: expected the file to start with the header line \"%.*s\\r\\n\", got: %.120s",
              r->what, (int)strlen(header_line) - 2, header_line, r->body);
    struct csv *c = csv_parse(r->body, r->body_len);
    tk_response_free(r);
    cr_assert(c->rows >= 1, "the CSV has no header record");
    for (size_t f = 0; f < CSV_COLS; f++)
        cr_assert(strcmp(c->cell[0][f], csv_header[f]) == 0,
                  "CSV header column %zu: expected \"%s\", got \"%s\"", f + 1, csv_header[f],
                  c->cell[0][f]);
    return c;
}

/* The file of export `id` holds exactly the tasks GET /tasks lists, in that order (oldest first,
 * the export's order and the listing's default). Returns the number of tasks. */
static size_t expect_export_matches_tasks(long long id)
{
    struct csv *c = export_csv(id);
    struct tk_response *list = api_list(server, "limit=100");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list->json, "items");
    size_t n = (size_t)cJSON_GetArraySize(items);
    cr_assert(api_next_cursor(list) == NULL, "test bug: more than 100 tasks");
    cr_assert(c->rows - 1 == n,
              "GET /exports/%lld.csv: expected one record per task, %zu, after the header; got "
              "%zu",
              id, n, c->rows - 1);
    size_t row = 1;
    const cJSON *t;
    cJSON_ArrayForEach(t, items)
    {
        expect_row_is_task(c, row++, t);
    }
    tk_response_free(list);
    csv_free(c);
    return n;
}

/* ------------------------------------------------------------------ e-mail in the sink */

struct mail {
    char path[600];
    char received_at[64]; /* X-Sink-Received-At */
    char subject[1024];   /* decoded */
};

static const char *sink_dir(void)
{
    const char *dir = getenv("SMTP_SINK_DIR");
    cr_assert(dir && *dir && getenv("SMTP_URL"),
              "SMTP_URL and SMTP_SINK_DIR are not set: run these tests through make test-week-3");
    return dir;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static const char *rfc3339_ms(long long ms, char *buf, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char whole[32];
    strftime(whole, sizeof whole, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03lldZ", whole, ms % 1000);
    return buf;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes the text of one RFC 2047 encoded-word ("B" or "Q") onto out. */
static void decode_word(char enc, const char *text, size_t n, struct buf *out)
{
    if (enc == 'B' || enc == 'b') {
        unsigned acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
            int v = b64_value(text[i]);
            if (v < 0)
                continue; /* padding */
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                buf_putc(out, (char)((acc >> bits) & 0xff));
            }
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '_') {
            buf_putc(out, ' ');
        } else if (text[i] == '=' && i + 2 < n && isxdigit((unsigned char)text[i + 1]) &&
                   isxdigit((unsigned char)text[i + 2])) {
            char hex[3] = {text[i + 1], text[i + 2], '\0'};
            buf_putc(out, (char)strtol(hex, NULL, 16));
            i += 2;
        } else {
            buf_putc(out, text[i]);
        }
    }
}

/* The value of an (unfolded) Subject header with its encoded-words decoded; white space between
 * two encoded-words is dropped, as RFC 2047 says. */
static void decode_subject(const char *v, char *out, size_t out_len)
{
    struct buf b = BUF_INIT;
    bool after_word = false;
    while (*v) {
        const char *q1 = NULL, *q2 = NULL, *end = NULL;
        if (v[0] == '=' && v[1] == '?') {
            q1 = strchr(v + 2, '?');
            q2 = q1 ? strchr(q1 + 1, '?') : NULL;
            end = q2 ? strstr(q2 + 1, "?=") : NULL;
        }
        if (end && q2 == q1 + 2) {
            decode_word(q1[1], q2 + 1, (size_t)(end - q2 - 1), &b);
            v = end + 2;
            after_word = true;
            continue;
        }
        size_t ws = strspn(v, " \t");
        if (after_word && ws > 0 && v[ws] == '=' && v[ws + 1] == '?') {
            v += ws;
            continue;
        }
        after_word = false;
        buf_putc(&b, *v++);
    }
    buf_putc(&b, '\0');
    snprintf(out, out_len, "%s", b.failed ? "" : b.data);
    buf_free(&b);
}

/* The value of header `name` in a message's header block (folded lines joined), or false. */
static bool mail_header(const char *msg, const char *name, char *out, size_t out_len)
{
    size_t n = strlen(name);
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *line = msg; line && (!end || line < end);) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            struct buf b = BUF_INIT;
            const char *p = line + n + 1;
            p += strspn(p, " \t");
            for (;;) {
                const char *eol = strstr(p, "\r\n");
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                buf_append(&b, p, len);
                if (!eol || (eol[2] != ' ' && eol[2] != '\t'))
                    break;
                p = eol + 2; /* a folded line: its white space stays */
            }
            buf_putc(&b, '\0');
            snprintf(out, out_len, "%s", b.failed ? "" : b.data);
            buf_free(&b);
            return true;
        }
        const char *eol = strstr(line, "\r\n");
        line = eol ? eol + 2 : NULL;
    }
    return false;
}

/* Messages for rcpt that the sink stored at or after since_ms (wall clock; the sink names each
 * file <epoch_ms>-..., so older files are not even opened). Returns how many, up to max. */
static size_t sink_find(const char *rcpt, long long since_ms, struct mail *out, size_t max)
{
    const char *dir = sink_dir();
    DIR *d = opendir(dir);
    cr_assert(d, "cannot open SMTP_SINK_DIR %s: %s", dir, strerror(errno));
    size_t found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".eml") != 0)
            continue;
        if (strtoll(e->d_name, NULL, 10) < since_ms - 2000)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue; /* removed meanwhile (another test's clean-up) */
        char msg[16384];
        size_t got = fread(msg, 1, sizeof msg - 1, f);
        fclose(f);
        msg[got] = '\0';
        char to[256];
        if (!mail_header(msg, "X-Sink-Rcpt-To", to, sizeof to) || strcasecmp(to, rcpt) != 0)
            continue;
        if (found < max) {
            struct mail *m = &out[found];
            snprintf(m->path, sizeof m->path, "%s", path);
            if (!mail_header(msg, "X-Sink-Received-At", m->received_at, sizeof m->received_at))
                m->received_at[0] = '\0';
            char raw[1024];
            if (mail_header(msg, "Subject", raw, sizeof raw))
                decode_subject(raw, m->subject, sizeof m->subject);
            else
                m->subject[0] = '\0';
        }
        found++;
    }
    closedir(d);
    return found < max ? found : max;
}

static long long received_ms(const struct mail *m)
{
    long long sec = 0;
    long nsec = 0;
    cr_assert(api_parse_utc(m->received_at, &sec, &nsec),
              "the sink's X-Sink-Received-At is not an RFC 3339 UTC time: \"%s\"", m->received_at);
    return sec * 1000 + nsec / 1000000;
}

/* A worker that mails reminders to a new address of its own (written into rcpt). */
static struct tk_proc *reminder_worker(char *rcpt, size_t rcpt_len)
{
    sink_dir();
    char unique[64];
    tk_unique("remind", unique, sizeof unique);
    snprintf(rcpt, rcpt_len, "%s@example.com", unique);
    char notify[320];
    snprintf(notify, sizeof notify, "NOTIFY_EMAIL=%s", rcpt);
    char lead[48];
    snprintf(lead, sizeof lead, "REMINDER_LEAD_SECONDS=%d", LEAD_S);
    return worker_start((const char *const[]){notify, lead, "REMINDER_SCAN_SECONDS=1", NULL});
}

/* Creates a task titled title due at due_ms (wall clock); returns its id. */
static long long task_due_at(const char *title, long long due_ms)
{
    char due[40];
    cJSON *body = cJSON_CreateObject();
    cr_assert(body && cJSON_AddStringToObject(body, "title", title) &&
                  cJSON_AddStringToObject(body, "due_at", rfc3339_ms(due_ms, due, sizeof due)),
              "out of memory");
    char *json = cJSON_PrintUnformatted(body);
    cr_assert(json, "out of memory");
    long long id = tk_create_task(server, json);
    free(json);
    cJSON_Delete(body);
    return id;
}

/* The mails among m[0..n) whose Subject holds title, moved to the front; returns how many. */
static size_t with_title(struct mail *m, size_t n, const char *title)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strstr(m[i].subject, title)) {
            struct mail tmp = m[k];
            m[k++] = m[i];
            m[i] = tmp;
        }
    }
    return k;
}

/* Waits for the one reminder of a task titled title, due at due_ms, mailed to rcpt: not before
 * its time (due - lead), within MAIL_WAIT_MS of created_ms, with the title in its Subject, and
 * no second copy. The file is removed once checked. */
static void expect_reminder(const char *rcpt, const char *title, long long created_ms,
                            long long due_ms)
{
    long long remind_ms = due_ms - LEAD_S * 1000LL;
    char when[40], due[40];
    rfc3339_ms(remind_ms, when, sizeof when);
    rfc3339_ms(due_ms, due, sizeof due);
    struct mail m[MAX_MAILS];
    size_t n = 0, mine = 0;
    for (;;) {
        n = sink_find(rcpt, created_ms, m, MAX_MAILS);
        mine = with_title(m, n, title);
        if (mine > 0 || wall_ms() >= created_ms + MAIL_WAIT_MS)
            break;
        tk_sleep_ms(MAIL_POLL_MS);
    }
    long long seen_ms = wall_ms(); /* when the test first saw it */
    if (n == 0)
        print_worker_logs();
    cr_assert(n > 0,
              "expected the reminder of \"%s\" (due %s - lead %d s = %s) to reach the sink for "
              "%s within %d ms of its creation; nothing came (the worker's log is above)",
              title, due, LEAD_S, when, rcpt, MAIL_WAIT_MS);
    cr_assert(mine > 0,
              "the reminder mailed to %s should name the task's title \"%s\" in its Subject; the "
              "Subject was \"%s\"",
              rcpt, title, m[0].subject);
    cr_assert(seen_ms >= remind_ms - 500,
              "the reminder of \"%s\" was in the sink %lld ms before its time (%s): a reminder "
              "must wait until due_at - REMINDER_LEAD_SECONDS",
              title, remind_ms - seen_ms, when);
    long long got_ms = received_ms(&m[0]);
    cr_assert(got_ms >= remind_ms - CLOCK_SLACK_MS,
              "the reminder of \"%s\" was received at %s, before its time %s (due_at - lead): "
              "delayed jobs must not run early",
              title, m[0].received_at, when);
    /* A second scan or a second delivery of the job must not mail it again. */
    tk_sleep_ms(1500);
    n = sink_find(rcpt, created_ms, m, MAX_MAILS);
    mine = with_title(m, n, title);
    cr_assert(mine == 1, "expected exactly one reminder of \"%s\" mailed to %s, found %zu", title,
              rcpt, mine);
    unlink(m[0].path);
}

/* ------------------------------------------------------------------ tests */

GRADED(jobs_worker, export_end_to_end_with_real_csv, 3, .fini = jobs_fini)
{
    jobs_server();
    /* Every rule of the file gets a task: quoting (comma, quote, CR LF and a bare LF inside a
     * field), UTF-8, tags joined with ';', due dates present and absent, the formula guard on
     * each text column, an updated task (version 2) and a deleted one (not exported). */
    static const char *const bodies[] = {
        "{\"title\":\"Plain task\"}",
        "{\"title\":\"Comma, separated\",\"description\":\"has, two, commas\"}",
        "{\"title\":\"She said \\\"hi\\\"\",\"description\":\"a \\\"quoted\\\" word\"}",
        "{\"title\":\"Line feed\",\"description\":\"first line\\nsecond line\"}",
        "{\"title\":\"CR LF\",\"description\":\"first line\\r\\nsecond line\"}",
        "{\"title\":\"\xc3\x9cn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe2\x9c\x93 "
        "\xe6\x97\xa5\xe6\x9c\xac\",\"description\":\"emoji \xf0\x9f\x98\x80\"}",
        "{\"title\":\"Tagged\",\"tags\":[\"work\",\"q4\",\"x-1_y\"],\"priority\":\"high\"}",
        "{\"title\":\"Due soon\",\"due_at\":\"2030-01-02T03:04:05Z\",\"priority\":\"low\"}",
        "{\"title\":\"=SUM(A1:A2)\",\"description\":\"a title that is a formula\"}",
        "{\"title\":\"+1 for this\",\"description\":\"-5 degrees outside\"}",
        "{\"title\":\"@channel\",\"description\":\"=HYPERLINK(\\\"http://x\\\",\\\"y\\\"), "
        "quoted\",\"status\":\"in_progress\"}",
        "{\"title\":\"Tabbed\",\"description\":\"\\tindented\",\"tags\":[\"-neg\",\"ok\"]}",
        "{\"title\":\"Due with fraction\",\"due_at\":\"2031-06-30T23:59:59.250Z\"}",
        "{\"title\":\"To be deleted\"}", /* the last one: deleted below */
    };
    enum { NTASKS = sizeof bodies / sizeof bodies[0] };
    long long ids[NTASKS];
    for (size_t i = 0; i < NTASKS; i++)
        ids[i] = tk_create_task(server, bodies[i]);
    char path[64];
    struct tk_response *r =
        tk_patch_json(server, api_task_path(ids[0], path, sizeof path), "{\"status\":\"done\"}");
    tk_expect_status(r, 200);
    tk_response_free(r);
    r = tk_delete(server, api_task_path(ids[NTASKS - 1], path, sizeof path));
    tk_expect_status(r, 204);
    tk_response_free(r);

    /* No worker yet: the job waits, and its file does not exist. */
    long long id = export_request();
    r = job_get(id);
    expect_job(r, "queued", 0);
    tk_expect_json_null(r, "error");
    tk_expect_json_null(r, "result_url");
    tk_response_free(r);
    r = export_get(id);
    tk_expect_problem(r, 404);
    tk_response_free(r);

    worker_start(NULL);
    r = job_wait(id, "succeeded", JOB_WAIT_MS, NULL);
    expect_export_succeeded(r, id, 1);
    tk_response_free(r);
    size_t rows = expect_export_matches_tasks(id);
    cr_assert(rows == NTASKS - 1, "expected the export to hold the %d tasks left, it holds %zu",
              NTASKS - 1, rows);
}

GRADED(jobs_worker, a_failing_job_is_retried_with_backoff_then_succeeds, 2, .fini = jobs_fini)
{
    jobs_server();
    api_new_task(server);
    api_new_task(server);
    /* Retry n waits [d/2, d], d = 1000 ms * 2^(n-1) (taskd-worker --help): at least 500 + 1000 ms
     * in all, where retrying at once would take about one queue tick (500 ms) per retry. */
    worker_start(
        (const char *const[]){"FAULT_FAIL_EXPORT_ATTEMPTS=2", "JOB_BACKOFF_MS=1000", NULL});
    long start = tk_now_ms();
    long long id = export_request();
    struct job_watch seen = {0};
    struct tk_response *r = job_wait(id, "succeeded", JOB_WAIT_MS, &seen);
    long took = tk_now_ms() - start;
    /* A job that failed twice and then worked: three attempts, and no error left over. */
    expect_export_succeeded(r, id, 3);
    tk_response_free(r);
    /* While it waited for a retry it was queued again, with the reason of the failure. */
    cr_assert(seen.saw_retry_wait,
              "GET /jobs/%lld, polled every %d ms: expected to see the job queued again with the "
              "error of its failed attempt while it waited (at least 500 ms) for its retry",
              id, JOB_POLL_MS);
    cr_assert(strcmp(seen.retry_error, "injected failure") == 0,
              "GET /jobs/%lld between attempts: expected \"error\": \"injected failure\", got "
              "\"%s\"",
              id, seen.retry_error);
    cr_assert(took >= 1500,
              "job %lld failed twice and succeeded within %ld ms: with JOB_BACKOFF_MS=1000 its two "
              "retries should have waited at least 500 + 1000 ms",
              id, took);
    size_t rows = expect_export_matches_tasks(id);
    cr_assert(rows == 2, "expected the export to hold the 2 tasks, it holds %zu", rows);
}

GRADED(jobs_worker, a_job_that_keeps_failing_is_dead_lettered, 2, .fini = jobs_fini)
{
    jobs_server();
    api_new_task(server);
    worker_start((const char *const[]){"FAULT_FAIL_EXPORT_ATTEMPTS=99", "JOB_MAX_ATTEMPTS=3",
                                       "JOB_BACKOFF_MS=100", NULL});
    long long id = export_request();
    struct tk_response *r = job_wait(id, "failed", JOB_WAIT_MS, NULL);
    expect_job(r, "failed", 3);
    tk_expect_json_str(r, "error", "injected failure");
    tk_expect_json_null(r, "result_url");
    tk_response_free(r);
    r = export_get(id);
    tk_expect_problem(r, 404);
    tk_response_free(r);
    /* Failed for good means no more attempts: a retry would show up within its backoff. */
    tk_sleep_ms(1200);
    r = job_get(id);
    expect_job(r, "failed", 3);
    tk_response_free(r);
}

GRADED(jobs_worker, a_sigkilled_workers_job_is_reclaimed_and_finished_exactly_once, 3,
       .fini = jobs_fini)
{
    jobs_server();
    for (int i = 0; i < 3; i++)
        api_new_task(server);
    struct tk_proc *a = worker_start(
        (const char *const[]){"FAULT_EXPORT_DELAY_MS=4000", "WORKER_VISIBILITY_SECONDS=2", NULL});
    long long id = export_request();
    struct tk_response *r = job_wait(id, "running", JOB_WAIT_MS, NULL);
    expect_job(r, "running", 1);
    tk_response_free(r);
    /* Worker A dies holding the job: no ack, no release, no last words. */
    int status = worker_stop(a, SIGKILL, 2000);
    cr_assert(status == 128 + SIGKILL, "expected worker A to die of SIGKILL, it ended with %d",
              status);

    long killed = tk_now_ms();
    struct tk_proc *b = worker_start((const char *const[]){"WORKER_VISIBILITY_SECONDS=2", NULL});
    r = job_wait(id, "succeeded", JOB_WAIT_MS, NULL);
    long took = tk_now_ms() - killed;
    /* A's attempt never finished, B's did: two attempts, one outcome. */
    expect_export_succeeded(r, id, 2);
    tk_response_free(r);
    /* Back on the queue once A's 2 s lease ran out, not 10 s later through the sweeper (which
     * re-queues running jobs whose row has not moved for that long): a lost worker costs one
     * visibility timeout. */
    cr_assert(took <= RECLAIM_MS,
              "job %lld finished %ld ms after its worker was killed; with a 2 s lease it should "
              "be reclaimed and done within %d ms",
              id, took, RECLAIM_MS);

    char sql[128], out[256];
    snprintf(sql, sizeof sql, "select count(*) from exports where job_id = %lld", id);
    const char *argv[] = {"/usr/bin/env",
                          "psql",
                          "-X",
                          "-A",
                          "-t",
                          "-v",
                          "ON_ERROR_STOP=1",
                          tk_server_database_url(server),
                          "-c",
                          sql,
                          NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 0, "psql -c \"%s\" failed (exit %d): %s", sql, rc, out);
    out[strcspn(out, "\r\n")] = '\0';
    cr_assert(strcmp(out, "1") == 0, "expected exactly one exports row for job %lld, found %s", id,
              out);
    size_t rows = expect_export_matches_tasks(id);
    cr_assert(rows == 3, "expected the export to hold the 3 tasks, it holds %zu", rows);
    /* The job came back because its lease ran out, not through the sweeper or a restart. */
    cr_assert(log_has_line(b, (const char *const[]){"\"reclaimed\":1", NULL}),
              "expected worker B's log (%s) to report the reclaimed claim (\"reclaimed\":1)",
              tk_proc_log_path(b));
}

/* A job that runs longer than its lease keeps it: the worker renews the lease while the job runs
 * (the heartbeat), so a second worker that is idle meanwhile never reclaims it. Without the
 * heartbeat the lease runs out after 2 s, worker B takes the job over, and it runs twice. */
GRADED(jobs_worker, a_job_longer_than_its_lease_keeps_it_by_heartbeat_and_runs_once, 2,
       .fini = jobs_fini)
{
    jobs_server();
    api_new_task(server);
    worker_start(
        (const char *const[]){"FAULT_EXPORT_DELAY_MS=4000", "WORKER_VISIBILITY_SECONDS=2", NULL});
    long long id = export_request();
    struct tk_response *r = job_wait(id, "running", JOB_WAIT_MS, NULL);
    expect_job(r, "running", 1);
    tk_response_free(r);
    worker_start((const char *const[]){"WORKER_VISIBILITY_SECONDS=2", NULL});
    r = job_wait(id, "succeeded", JOB_WAIT_MS, NULL);
    /* One attempt: the 4 s job outlived two 2 s leases because each was renewed in time. */
    expect_export_succeeded(r, id, 1);
    tk_response_free(r);
}

GRADED(jobs_worker, the_worker_stops_gracefully_on_sigterm, 1, .fini = jobs_fini)
{
    jobs_server();
    api_new_task(server);
    struct tk_proc *w = worker_start((const char *const[]){"FAULT_EXPORT_DELAY_MS=2000", NULL});
    long long id = export_request();
    struct tk_response *r = job_wait(id, "running", JOB_WAIT_MS, NULL);
    tk_response_free(r);
    /* The first SIGTERM stops claiming, lets the job in hand finish, and exits 0. */
    long start = tk_now_ms();
    int status = worker_stop(w, SIGTERM, WORKER_STOP_MS);
    long took = tk_now_ms() - start;
    cr_assert(status == 0,
              "expected the worker to exit 0 after SIGTERM with a job in hand (it finishes the "
              "job first), got %d",
              status);
    r = job_get(id);
    expect_export_succeeded(r, id, 1);
    tk_response_free(r);
    cr_assert(took >= 300,
              "the worker exited %ld ms after SIGTERM, yet its job had about 2 s of work left",
              took);
}

GRADED(jobs_worker, reminder_email_reaches_the_sink, 3, .fini = jobs_fini)
{
    jobs_server();
    char rcpt[128];
    reminder_worker(rcpt, sizeof rcpt);
    char title[96];
    tk_unique("Reminder test", title, sizeof title);
    long long created = wall_ms();
    long long due = created + LEAD_S * 1000LL + 4000; /* the mail is due in 4 s */
    task_due_at(title, due);
    expect_reminder(rcpt, title, created, due);
}

GRADED(jobs_worker, a_delayed_job_is_not_run_early, 2, .fini = jobs_fini)
{
    jobs_server();
    char rcpt[128];
    reminder_worker(rcpt, sizeof rcpt);
    /* A UTF-8 title, so the Subject is made of RFC 2047 encoded-words too. */
    char unique[64], title[128];
    tk_unique("early", unique, sizeof unique);
    snprintf(title, sizeof title, "Fr\xc3\xbch \xe2\x9c\x93 %s", unique);
    long long created = wall_ms();
    long long due = created + LEAD_S * 1000LL + 6000; /* the mail is due in 6 s, planned at ~4 */
    task_due_at(title, due);
    expect_reminder(rcpt, title, created, due);
}

GRADED(jobs_worker, a_moved_due_date_sends_no_stale_reminder, 1, .fini = jobs_fini)
{
    jobs_server();
    char rcpt[128];
    struct tk_proc *w = reminder_worker(rcpt, sizeof rcpt);
    char moved[96], kept[96];
    tk_unique("Moved", moved, sizeof moved);
    tk_unique("Kept", kept, sizeof kept);
    const int ahead_s = 6; /* the reminders are due 6 s after the tasks are created */
    long long created = wall_ms();
    long long due = created + LEAD_S * 1000LL + ahead_s * 1000LL;
    long long remind_ms = due - LEAD_S * 1000LL;
    long long moved_id = task_due_at(moved, due);
    task_due_at(kept, due); /* the control: proves the worker mails this test's reminders */

    /* Let the scan plan the reminder first (it looks 2 scans ahead: at ~4 s), so the job that
     * runs at 6 s is the stale one and must notice the task has moved. */
    char fragment[64];
    snprintf(fragment, sizeof fragment, "\"task_id\":%lld", moved_id);
    bool planned = false;
    while (
        !(planned = log_has_line(w, (const char *const[]){"reminder planned", fragment, NULL})) &&
        wall_ms() < remind_ms - 400)
        tk_sleep_ms(50);
    cr_assert(planned,
              "expected the worker to plan the reminder of task %lld (due in %d s + lead) within "
              "%lld ms; its log is %s",
              moved_id, ahead_s, remind_ms - 400 - created, tk_proc_log_path(w));
    char path[64], body[96], later[40];
    snprintf(body, sizeof body, "{\"due_at\":\"%s\"}",
             rfc3339_ms(due + 86400000LL, later, sizeof later));
    struct tk_response *r = tk_patch_json(server, api_task_path(moved_id, path, sizeof path), body);
    tk_expect_status(r, 200);
    tk_response_free(r);
    cr_assert(wall_ms() < remind_ms - 100,
              "test too slow: the due date was moved only %lld ms before the reminder's time",
              remind_ms - wall_ms());

    expect_reminder(rcpt, kept, created, due);
    while (wall_ms() < remind_ms + 3000)
        tk_sleep_ms(MAIL_POLL_MS);
    struct mail m[MAX_MAILS];
    size_t n = sink_find(rcpt, created, m, MAX_MAILS);
    size_t stale = with_title(m, n, moved);
    cr_assert(stale == 0,
              "task %lld's due date was moved a day later before its reminder ran, yet a reminder "
              "for its old date was mailed: \"%s\"",
              moved_id, m[0].subject);
}
