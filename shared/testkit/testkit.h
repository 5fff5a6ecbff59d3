/* testkit.h — what every graded suite is written with.
 *
 * Black-box suites talk HTTP to the real stage binary. tk_main.c (linked into every suite) starts
 * that binary once per suite when TASKD_BIN is set — on a free port, with a fresh database,
 * waiting for /health — and Criterion forks each test from there, so tests share that server.
 * A test that needs a store of its own (listings, paging) starts a private server with
 * tk_server_start(). The same compiled suite runs against any later stage (TASKD_BIN names it,
 * TASKD_ENV adds its settings), which is how week N re-runs week 1's tests without copying them.
 *
 * Every test carries points (GRADED); tk_main prints the score and a line per failure, and
 * writes build/results/<suite>.json for the grader. Assertions say what was expected and what
 * came back, with the request that produced it. */
#ifndef TASKD_TESTKIT_H
#define TASKD_TESTKIT_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A graded test: Test() with its points recorded in the description, where the grader reads
 * them. Extra Criterion options (.timeout, .init...) may follow. */
#define GRADED(suite, name, points, ...)                                                           \
    Test(suite, name, .description = "points:" #points, ##__VA_ARGS__)

/* A graded test made of a table of cases: it calls check(value) on each string listed, in order.
 * The test keeps its own name and points; a failing check names the value it was given. */
#define GRADED_EACH(suite, name, points, check, ...)                                               \
    GRADED(suite, name, points)                                                                    \
    {                                                                                              \
        static const char *const values_[] = {__VA_ARGS__};                                        \
        for (size_t i_ = 0; i_ < sizeof values_ / sizeof values_[0]; i_++)                         \
            check(values_[i_]);                                                                    \
    }

/* ---- servers ---- */

struct tk_server;

/* TK_REMOTE_URL=http://HOST:PORT (or https://, with TK_CA_FILE naming the CA that vouches for
 * its certificate when that is not a public one: week 9's front): the suite's shared server is a
 * service deployed elsewhere (week 5's server, through its public port), which this suite neither
 * starts nor stops. A test that needs more than a running service (a taskd process of its own, its
 * log, a database of its own, the signing key, a binary to run, no worker beside it) calls
 * tk_need_local(why) first: against a deployed service it is reported as not applicable
 * (Criterion's "skipped", counted and listed in the suite's output); otherwise tk_need_local does
 * nothing. */
bool tk_remote(void);
void tk_need_local(const char *why);
/* The shared server of a TK_REMOTE_URL run: the URL, no process (tk_main.c). */
struct tk_server *tk_server_remote(const char *url);

/* The suite's shared server (started by tk_main). Fails the test when there is none. */
struct tk_server *tk_shared(void);

/* Starts a private server of TASKD_BIN with a fresh database (a SQLite file, or a new database
 * from TK_FRESH_DB_CMD when the stage's store is a service), plus extra "NAME=value" settings
 * (NULL-terminated array, may be NULL; a DATABASE_URL there replaces the fresh database).
 * Waits until /health answers; fails the test if it does not within 10 s. */
struct tk_server *tk_server_start(const char *const *extra_env);
/* With TK_AUTH=1 (week 4 on), tk_server_start logs in as the test process's user; this does it
 * for a server that was started otherwise (tk_main's shared one). 0 or -1 (a message said why). */
int tk_server_login(struct tk_server *s);
/* "Authorization: Bearer <token>" that the kit adds to every request to s, or NULL without
 * TK_AUTH: for tests that talk to the server with their own client (threads, raw sockets). */
const char *tk_server_auth_header(const struct tk_server *s);
/* For a test's own libcurl client (threads): appends the Authorization header of the server
 * this process last logged in to, when there is one (TK_AUTH), and returns the list. */
struct curl_slist;
struct curl_slist *tk_curl_auth(struct curl_slist *list);
/* For a test's own libcurl client (threads), the kit's own request setup: a GET of url with
 * headers (may be NULL), a 10 s timeout, the body appended to body and the header block to head
 * (head may be NULL). Set other options (method, request body) after it. */
struct buf;
/* For a test's own libcurl handle set up by hand: trust TK_CA_FILE when it is set (an https
 * TK_REMOTE_URL); tk_curl_collect does it too. */
void tk_curl_tls(void *curl);
void tk_curl_collect(void *curl, const char *url, struct curl_slist *headers, struct buf *body,
                     struct buf *head);
/* Stops it with SIGTERM and returns its exit status (0 = clean); frees s. */
int tk_server_stop(struct tk_server *s);
/* "http://127.0.0.1:PORT" */
const char *tk_server_url(const struct tk_server *s);
/* The server's process id: for a test that sends it a signal of its own (SIGHUP). */
pid_t tk_server_pid(const struct tk_server *s);
/* Path of the file the server's stderr (its JSON log) goes to. */
const char *tk_server_log_path(const struct tk_server *s);
/* The DATABASE_URL the server was started with ("sqlite:/tmp/..." or "postgres://..."). */
const char *tk_server_database_url(const struct tk_server *s);

/* Runs argv (argv[0] a path) with the test's environment, TASKD_ENV's settings and extra
 * "NAME=value" settings (each replacing the ones before), collecting stdout and stderr into output
 * (NUL-terminated, truncated to output_len; output may be NULL). Returns the exit status
 * (128 + signal when killed). */
int tk_run(const char *const *argv, const char *const *extra_env, char *output, size_t output_len);

/* Runs a shell command (printf-style, through /bin/sh -c) as tk_run does, collecting its stdout
 * and stderr into out (may be NULL); unlike tk_run, also against a deployed service
 * (TK_REMOTE_URL): an operator's tools run here whatever the service is. Returns the exit status;
 * fails the test when the command does not fit the kit's 8 KiB. For the suites that check artefacts
 * with an operator's tools (week 5's deploy suite, week 6's compose suite). */
int tk_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int tk_vsh(char *out, size_t cap, const char *fmt, va_list ap);

/* ---- other processes (the worker of week 3, or any helper a test runs beside the server) ---- */

struct tk_proc;

/* Starts argv (argv[0] a path, NULL-terminated) in the background with the test's environment
 * plus extra "NAME=value" settings (which replace inherited ones of the same name), stdout and
 * stderr going to a log file in a temp directory of its own. Like a private server, it gets
 * SIGTERM if the test process ends first, so it never outlives the test. Returns at once (it does
 * not wait for the process to be ready: watch its log for that). Fails the test when it cannot
 * be forked; a binary that cannot be run exits 127 with a line in its log. */
struct tk_proc *tk_proc_start(const char *const *argv, const char *const *extra_env);
/* The path of program `name` in TASKD_BIN's directory (a stage's other binary, week 3's
 * taskd-worker), or $override_var when that is set; fails the test when it cannot be run.
 * The string is static: it lasts until the next call. */
const char *tk_bin_beside(const char *name, const char *override_var);
/* tk_proc_start for a process that works beside server s (week 3's worker): it gets s's
 * DATABASE_URL and TASKD_ENV's settings, as the server did, after extra_env (which wins). */
struct tk_proc *tk_proc_start_beside(const struct tk_server *s, const char *const *argv,
                                     const char *const *extra_env);
/* Sends sig (0 sends nothing: just wait), waits up to timeout_ms for the process to end, and
 * SIGKILLs it past that (saying so on stderr). Returns its exit status, or 128 + the signal that
 * ended it (-1 if something else reaped it). Frees p (NULL: returns 0). The temp directory is
 * removed when the process ended as asked (status 0, or 128 + sig), kept for inspection
 * otherwise. */
int tk_proc_stop(struct tk_proc *p, int sig, int timeout_ms);
/* True while the process runs; once it has ended (reaped here), tk_proc_stop returns how. */
bool tk_proc_running(struct tk_proc *p);
/* Path of the file its stdout and stderr go to. */
const char *tk_proc_log_path(const struct tk_proc *p);
/* Everything it has logged so far, NUL-terminated (the caller frees it; "" before any line). */
char *tk_proc_log(const struct tk_proc *p);
/* Waits up to timeout_ms for p's log to contain needle (a process saying it is ready); fails the
 * test with the log's tail when it does not, or when p exits first. */
void tk_proc_wait_log(struct tk_proc *p, const char *needle, long timeout_ms);
pid_t tk_proc_pid(const struct tk_proc *p);

/* ---- requests ---- */

/* The body size above which tk_request sends on a raw connection: past the server's drain bound
 * (64 KiB) a refused body is not read, and the answer comes before the body is all sent. */
#define TK_EARLY_ANSWER_BYTES ((size_t)64 * 1024)

struct tk_response {
    long status;
    char *body; /* NUL-terminated */
    size_t body_len;
    cJSON *json;    /* parsed body when it was JSON, else NULL */
    char *headers;  /* raw header block */
    char what[256]; /* "POST /tasks" — used in assertion messages */
    /* On a 5xx: the last error line the server logged while answering (not its access line),
     * so a failing test says why the server failed, not only that it did; else "". */
    char server_error[512];
};

/* Sends one request. headers: NULL-terminated "Name: value" strings (may be NULL); body may be
 * NULL. Fails the test on a transport error (no answer, reset, timeout 10 s). A body over
 * TK_EARLY_ANSWER_BYTES without Expect or Transfer-Encoding goes on a raw connection
 * (tk_raw_request), which reads an answer the server gives before it has read the body. */
struct tk_response *tk_request(struct tk_server *s, const char *method, const char *path,
                               const char *const *headers, const char *body, size_t body_len);
/* Shorthands; the body ones send Content-Type: application/json. */
struct tk_response *tk_get(struct tk_server *s, const char *path);
struct tk_response *tk_delete(struct tk_server *s, const char *path);
struct tk_response *tk_post_json(struct tk_server *s, const char *path, const char *json);
struct tk_response *tk_patch_json(struct tk_server *s, const char *path, const char *json);
void tk_response_free(struct tk_response *r);

/* A response header's value (case-insensitive name; copy into buf), or NULL when absent. */
const char *tk_header(const struct tk_response *r, const char *name, char *buf, size_t buf_len);

/* ---- assertions (each fails the test with a message naming the request) ---- */

void tk_expect_status(const struct tk_response *r, long status);
/* status, Content-Type application/problem+json, and a body with type/title/status(=status). */
void tk_expect_problem(const struct tk_response *r, long status);
/* The problem's "errors" array has an entry for field. */
void tk_expect_field_error(const struct tk_response *r, const char *field);
/* The problem's "errors" names exactly these fields (NULL-terminated), in any order. */
void tk_expect_field_errors_exactly(const struct tk_response *r, const char *const *fields);
void tk_expect_header(const struct tk_response *r, const char *name, const char *value);
void tk_expect_no_header(const struct tk_response *r, const char *name);
/* JSON body field checks (top level). */
void tk_expect_json_str(const struct tk_response *r, const char *field, const char *value);
void tk_expect_json_int(const struct tk_response *r, const char *field, long long value);
void tk_expect_json_null(const struct tk_response *r, const char *field);

/* Top-level JSON accessors; fail the test when the field is missing or of another type. */
const char *tk_json_str(const struct tk_response *r, const char *field);
long long tk_json_int(const struct tk_response *r, const char *field);

/* ---- helpers later suites reuse ---- */

/* POSTs /tasks with json and expects 201; returns the new id. */
long long tk_create_task(struct tk_server *s, const char *json);
/* A string unique to this test process (for titles and e-mails that must not collide). */
const char *tk_unique(const char *prefix, char *buf, size_t buf_len);
/* Percent-encodes s for a query string into buf. */
const char *tk_urlencode(const char *s, char *buf, size_t buf_len);
/* Milliseconds on the monotonic clock (for timing and deadlines, not the time of day). */
long tk_now_ms(void);
/* Sleeps ms milliseconds. */
void tk_sleep_ms(long ms);
/* Marks dir (a private run directory under /tmp/taskd-*) as this test process's: writes
 * dir/owner with our PID and start time. A test that overruns its time limit is killed with
 * SIGKILL, so its own cleanup never runs; `services.sh prune-test-dbs` (before and after every
 * suite) then stops what runs in a directory whose owner is gone and removes it. Returns 0, or -1
 * when the file cannot be written (the directory is then only cleaned by the test itself). */
int tk_run_dir_claim(const char *dir);
/* The whole file at path, NUL-terminated (caller frees), its length in *len (len may be NULL);
 * NULL when it cannot be opened or memory ran out. */
char *tk_read_file(const char *path, size_t *len);
/* The file a suite grades that a lab can replace (a non-C lab file: week 8's ci.yml, slots.sh):
 * the learner's copy lab_name in $TASKD_LAB_FILES when that names a directory (labs.mk sets it
 * for lab-N, lab-check-N and solution-N), else repo_path, the week's own, from the repository's
 * root (where the suites run). Fails the test when the file cannot be read. The string is
 * static: it lasts until the next call. */
const char *tk_graded_file(const char *lab_name, const char *repo_path);
/* Asserts that o (a unit test's own JSON, not a response) prints, unformatted, exactly as want;
 * frees o. */
void tk_expect_json_text(cJSON *o, const char *want);
/* The bytes that base64url text (RFC 4648 section 5, unpadded: a JWT's parts) spells, decoded by
 * OpenSSL, NUL-terminated (caller frees), their count in *out_len; NULL when text is not
 * base64url or memory ran out. */
unsigned char *tk_b64url_decode(const char *text, size_t len, size_t *out_len);

#endif
