/* api_outage.c — black-box tests of what the service does when PostgreSQL goes away and comes
 * back (API.md "503 a required backing service is down", "GET /ready"; pg_pool.h).
 *
 * The contract: while the database is down every task route answers 503 problem+json with
 * Retry-After, quickly (a client must never hang and never see a 500), /ready says which
 * dependency is down, and the process stays up; when the database returns, the service recovers
 * by itself, without a restart, and no request after recovery fails because a pooled connection
 * died with the old server. Nothing acknowledged before the crash is lost, and nothing refused
 * with a 503 happened anyway. At start-up, an unreachable database is a clear, prompt refusal
 * that does not print the password of the URL.
 *
 * Taking the database away must not disturb the other tests running in parallel, so each test
 * here makes a PostgreSQL cluster of its own (TASKD_RUN_DIR=<temp dir> services.sh: own data
 * directory, own port) and a private server on it. Criterion runs each test in its own process,
 * so .fini (and, should an assertion end the process first, an atexit handler) stops that server
 * and destroys that cluster; a test killed at its time limit leaves them to the reaper in
 * `services.sh prune-test-dbs`, which runs before and after every suite. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "testkit.h"
#include "tk_race.h"

#define OUTAGE_ANSWER_MS 5000  /* longest a 503 may take while the db is down */
#define RECOVERY_MS      15000 /* longest /ready may stay 503 once it is back */
#define POOL_SIZE        "4"

static char run_dir[64]; /* the test's cluster, "" when none */
static char db_env[600]; /* "DATABASE_URL=<a fresh database of that cluster>" */
static struct tk_server *server;

/* Runs at the end of the test process, passed or failed: the server first (it holds
 * connections), then the cluster and its directory. */
static void outage_cleanup(void)
{
    if (server) {
        tk_server_stop(server);
        server = NULL;
    }
    pg_api_cluster_destroy(run_dir);
}

/* .fini: the same cleanup inside the test's time limit. Left to atexit alone, it ran after
 * Criterion had seen the test end, and a time limit reached then aborted the whole suite
 * ("The test has already ended, invalid state 'timeout'"). A test killed at its limit runs
 * neither: services.sh prune-test-dbs reaps its cluster (tk_run_dir_claim). */
static void outage_fini(void)
{
    outage_cleanup();
}

/* A cluster of the test's own with a fresh database, and a private server on it that gives up on
 * a connection after 1 s and on a pool borrow after 500 ms. */
static struct tk_server *outage_start_with(const char *pool_size, const char *statement_timeout)
{
    cr_assert(atexit(outage_cleanup) == 0, "test bug: atexit failed");
    char url[512];
    pg_api_cluster_start("outage", run_dir, sizeof run_dir, url, sizeof url);
    snprintf(db_env, sizeof db_env, "DATABASE_URL=%s", url);
    server = tk_server_start((const char *const[]){db_env, "DB_CONNECT_TIMEOUT_SECONDS=1",
                                                   "DB_POOL_WAIT_MS=500", pool_size,
                                                   "AUTO_MIGRATE=1", statement_timeout, NULL});
    return server;
}

static struct tk_server *outage_start(void)
{
    return outage_start_with("DB_POOL_SIZE=" POOL_SIZE, NULL);
}

/* The server process has not exited (it is this test process's only child left). */
static void expect_server_alive(void)
{
    int status;
    pid_t gone = waitpid(-1, &status, WNOHANG);
    cr_assert(gone == 0, "expected the server process to be still running, but it %s (status %d)",
              gone > 0 ? "exited" : "is not a child any more", status);
    struct tk_response *r = tk_get(server, "/health");
    cr_assert(r->status == 200, "%s while the database is down: expected 200 (liveness), got %ld",
              r->what, r->status);
    tk_response_free(r);
}

static const char *const json_headers[] = {"Content-Type: application/json", NULL};

/* Sends a request while the database is down and expects a prompt 503 with Retry-After. */
static void expect_unavailable(const char *method, const char *path, const char *body)
{
    long start = tk_now_ms();
    struct tk_response *r =
        tk_request(server, method, path, body ? json_headers : NULL, body, body ? strlen(body) : 0);
    long took = tk_now_ms() - start;
    tk_expect_problem(r, 503);
    char retry[64];
    cr_assert(tk_header(r, "Retry-After", retry, sizeof retry),
              "%s while the database is down: expected a Retry-After header on the 503", r->what);
    char *end;
    long secs = strtol(retry, &end, 10);
    cr_assert(end != retry && *end == '\0' && secs >= 1,
              "%s: expected Retry-After to be a positive number of seconds, got \"%s\"", r->what,
              retry);
    cr_assert(took <= OUTAGE_ANSWER_MS,
              "%s while the database is down: expected the 503 within %d ms, it took %ld ms",
              r->what, OUTAGE_ANSWER_MS, took);
    tk_response_free(r);
}

/* ---- clients in parallel ---- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

struct burst {
    char url[256];
    int requests;
    int ok;        /* answers with status 200 */
    long last_bad; /* the last other status, -1 for no answer */
};

/* One client with its own keep-alive connection, started together with the others. */
static void *burst_thread(void *arg)
{
    struct burst *b = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *auth = tk_curl_auth(NULL); /* week 4 on: a logged-in user */
    tk_race_gate();
    for (int i = 0; h && i < b->requests; i++) {
        curl_easy_setopt(h, CURLOPT_URL, b->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, auth);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        long status = -1;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
            b->ok++;
        else
            b->last_bad = status;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(auth);
    return NULL;
}

/* threads clients at once, each GETting path `requests` times: all must be 200. Concurrent, so
 * that the pool lends (and opens) several connections, not the same one again and again. */
static void expect_burst_ok(const char *path, int threads, int requests, const char *when)
{
    enum { MAX_THREADS = 8 };
    cr_assert(threads <= MAX_THREADS, "test bug: too many threads");
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    struct burst b[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        b[i] = (struct burst){.requests = requests, .last_bad = 0};
        snprintf(b[i].url, sizeof b[i].url, "%s%s", tk_server_url(server), path);
    }
    cr_assert(tk_race(threads, burst_thread, b, sizeof b[0]) == 0,
              "test bug: could not start %d client threads: %s", threads, strerror(errno));
    for (int i = 0; i < threads; i++)
        cr_assert(b[i].ok == requests,
                  "GET %s %s, %d clients at once: client %d got %d of %d answers 200 (another "
                  "was %ld)",
                  path, when, threads, i, b[i].ok, requests, b[i].last_bad);
}

/* The title and status a task was left with before the crash. */
struct kept {
    long long id;
    char title[64];
    const char *status;
    long long version;
};

GRADED(outage, a_lost_database_gives_503_with_retry_after_then_recovers, 3, .timeout = 90,
       .fini = outage_fini)
{
    outage_start();
    enum { N = 20 };
    struct kept kept[N];
    char path[64];
    for (int i = 0; i < N; i++) {
        snprintf(kept[i].title, sizeof kept[i].title, "kept %02d", i);
        char body[160];
        snprintf(body, sizeof body, "{\"title\":\"%s\",\"description\":\"row %d\"}", kept[i].title,
                 i);
        kept[i].id = tk_create_task(server, body);
        kept[i].status = "todo";
        kept[i].version = 1;
        if (i % 4 == 0) { /* an acknowledged update must survive the crash too */
            struct tk_response *r =
                tk_patch_json(server, api_task_path(kept[i].id, path, 64), "{\"status\":\"done\"}");
            tk_expect_status(r, 200);
            tk_response_free(r);
            kept[i].status = "done";
            kept[i].version = 2;
        }
    }

    /* Every connection of the pool open (clients at once), so that all of them die in the
     * crash, not only the one sequential requests keep reusing. */
    expect_burst_ok(api_task_path(kept[0].id, path, sizeof path), 4, 5,
                    "before the crash (warming the pool)");

    pg_api_services(run_dir, "kill", "postgres", NULL, 0);

    expect_unavailable("GET", api_task_path(kept[3].id, path, sizeof path), NULL);
    expect_unavailable("GET", "/tasks", NULL);
    expect_unavailable("POST", "/tasks", "{\"title\":\"refused during the outage\"}");
    expect_unavailable("PATCH", api_task_path(kept[1].id, path, sizeof path),
                       "{\"title\":\"refused update\"}");
    expect_unavailable("DELETE", api_task_path(kept[2].id, path, sizeof path), NULL);
    expect_unavailable("POST", "/tasks", "{\"title\":\"refused during the outage\"}");

    long start = tk_now_ms();
    struct tk_response *r = tk_get(server, "/ready");
    long took = tk_now_ms() - start;
    tk_expect_problem(r, 503);
    char retry[64];
    cr_assert(tk_header(r, "Retry-After", retry, sizeof retry),
              "%s while the database is down: expected a Retry-After header", r->what);
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(r->json, "checks");
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(checks, "database");
    cr_assert(cJSON_IsString(db) && strcmp(db->valuestring, "down") == 0,
              "%s while the database is down: expected \"checks\": {\"database\": \"down\"}, got: "
              "%.300s",
              r->what, r->body);
    cr_assert(took <= OUTAGE_ANSWER_MS, "%s: expected the 503 within %d ms, it took %ld ms",
              r->what, OUTAGE_ANSWER_MS, took);
    tk_response_free(r);
    expect_server_alive();

    pg_api_services(run_dir, "start", "postgres", NULL, 0);

    long back = tk_now_ms(), last_status = 0;
    for (;;) {
        r = tk_get(server, "/ready");
        last_status = r->status;
        tk_response_free(r);
        if (last_status == 200 || tk_now_ms() - back > RECOVERY_MS)
            break;
        tk_sleep_ms(100);
    }
    cr_assert(last_status == 200,
              "GET /ready after the database came back: expected 200 within %d ms (no restart "
              "needed), still %ld",
              RECOVERY_MS, last_status);

    /* 30 requests in a row, every one 200: a pooled connection that died with the old server
     * must be noticed and replaced, not handed to a request. Each read also proves that the
     * acknowledged rows (and the acknowledged updates) survived the crash, and that the refused
     * PATCH and DELETE did not happen. */
    for (int round = 0; round < 30; round++) {
        if (round % 3 == 2) {
            r = tk_get(server, "/tasks?limit=100");
            cr_assert(r->status == 200,
                      "%s (request %d of 30 after recovery): expected 200, got %ld: %.300s",
                      r->what, round + 1, r->status, r->body);
            tk_response_free(r);
            continue;
        }
        const struct kept *k = &kept[(round * 7) % N];
        r = tk_get(server, api_task_path(k->id, path, sizeof path));
        cr_assert(r->status == 200,
                  "%s (request %d of 30 after recovery): expected 200, got %ld: %.300s", r->what,
                  round + 1, r->status, r->body);
        tk_response_free(r);
    }
    /* Clients at once borrow every pooled connection, including those no request touched
     * during the outage. */
    expect_burst_ok(api_task_path(kept[5].id, path, sizeof path), 4, 5, "after recovery");
    expect_burst_ok("/tasks?limit=5", 4, 2, "after recovery");

    for (int i = 0; i < N; i++) {
        r = tk_get(server, api_task_path(kept[i].id, path, sizeof path));
        cr_assert(r->status == 200, "%s: the task acknowledged before the crash is gone (got %ld)",
                  r->what, r->status);
        tk_expect_json_str(r, "title", kept[i].title);
        tk_expect_json_str(r, "status", kept[i].status);
        tk_expect_json_int(r, "version", kept[i].version);
        tk_response_free(r);
    }

    long long ids[64];
    size_t n = api_collect(server, "", 100, ids, 64);
    cr_assert(n == N,
              "GET /tasks after recovery: expected exactly the %d tasks acknowledged before the "
              "crash (a POST answered 503 must not have created one), got %zu",
              N, n);
    r = api_list(server, "limit=100");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r->json, "items"))
    {
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(item, "title");
        cr_assert(cJSON_IsString(title) && strncmp(title->valuestring, "kept ", 5) == 0,
                  "GET /tasks after recovery: found a task no 201 acknowledged: %.200s",
                  cJSON_IsString(title) ? title->valuestring : "(no title)");
    }
    tk_response_free(r);
}

/* ---- a clean restart while the service is idle ---- */

GRADED(outage, restart_while_idle_needs_no_retry, 2, .fini = outage_fini)
{
    outage_start();
    char path[64];
    long long id = api_new_task(server);
    api_task_path(id, path, sizeof path);
    expect_burst_ok(path, 4, 5, "before the restart (warming the pool)");

    /* A clean stop and start while no request runs: every pooled connection is now dead. */
    pg_api_services(run_dir, "stop", "postgres", NULL, 0);
    pg_api_services(run_dir, "start", "postgres", NULL, 0);

    struct tk_response *r = tk_get(server, path);
    cr_assert(r->status == 200,
              "%s, the first request after the database restarted: expected 200 (the service must "
              "notice a dead pooled connection before using it), got %ld: %.300s",
              r->what, r->status, r->body);
    tk_response_free(r);
    expect_burst_ok(path, 4, 3, "right after the restart");
}

/* ---- start-up without a database ---- */

GRADED(outage, starts_refusing_when_the_database_is_unreachable, 1)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    /* Our settings must win: the first of two same-named variables is the one a program sees. */
    unsetenv("DATABASE_URL");
    unsetenv("PORT");
    const char *argv[] = {"/usr/bin/timeout", "-k", "2", "10", bin, NULL};
    const char *env[] = {"DATABASE_URL=postgres://taskd:s3cr3tpw@127.0.0.1:1/x",
                         "PORT=0",
                         "BIND_ADDRESS=127.0.0.1",
                         "AUTO_MIGRATE=1",
                         "DB_CONNECT_TIMEOUT_SECONDS=1",
                         NULL};
    char out[16384];
    long start = tk_now_ms();
    int rc = tk_run(argv, env, out, sizeof out);
    long took = tk_now_ms() - start;
    cr_assert(rc != 124 && rc != 137,
              "taskd with an unreachable database: expected it to exit within 10 s, it was still "
              "running (output: %.600s)",
              out);
    cr_assert(rc != 0,
              "taskd with an unreachable database: expected a non-zero exit, got 0: %.600s", out);
    cr_assert(took <= 10000, "taskd with an unreachable database: took %ld ms to give up", took);
    bool says_connect = false;
    for (const char *p = out; *p && !says_connect; p++)
        says_connect = strncasecmp(p, "connect", 7) == 0;
    cr_assert(says_connect,
              "taskd with an unreachable database: expected a log line saying it cannot connect, "
              "got: %.600s",
              out);
    cr_assert(!strstr(out, "s3cr3tpw"),
              "taskd with an unreachable database: the log shows the database password: %.600s",
              out);
    cr_assert(!strstr(out, "\"listening\""),
              "taskd with an unreachable database: expected it not to start listening: %.600s",
              out);
}

/* A postgres:// URL holds a password, so DATABASE_URL is a secret from stage 2 on: it may come
 * from DATABASE_URL_FILE (a container's secret file, week 6) and is never shown. The URL in the
 * file points at a closed port: "cannot connect" proves taskd read the file. */
GRADED(outage, the_database_url_may_come_from_a_file, 1)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    unsetenv("DATABASE_URL");
    unsetenv("DATABASE_URL_FILE");
    unsetenv("PORT");
    char path[] = "/tmp/taskd-dburl-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    static const char url[] = "postgres://taskd:s3cr3tpw@127.0.0.1:1/x\n";
    cr_assert(write(fd, url, strlen(url)) == (ssize_t)strlen(url), "cannot write %s", path);
    close(fd);
    char file_env[64], out[16384];
    snprintf(file_env, sizeof file_env, "DATABASE_URL_FILE=%s", path);
    const char *argv[] = {"/usr/bin/timeout", "-k", "2", "10", bin, NULL};
    const char *env[] = {file_env,
                         "PORT=0",
                         "BIND_ADDRESS=127.0.0.1",
                         "AUTO_MIGRATE=1",
                         "DB_CONNECT_TIMEOUT_SECONDS=1",
                         NULL};
    int rc = tk_run(argv, env, out, sizeof out);
    bool says_connect = false;
    for (const char *p = out; *p && !says_connect; p++)
        says_connect = strncasecmp(p, "connect", 7) == 0;
    /* Both set is a mistake the program names instead of choosing one. */
    const char *env_both[] = {file_env, "DATABASE_URL=sqlite::memory:", "PORT=0", NULL};
    char out_both[4096];
    int rc_both = tk_run(argv, env_both, out_both, sizeof out_both);
    unlink(path);
    cr_assert(rc != 0 && says_connect,
              "taskd with DATABASE_URL_FILE naming a file that holds an unreachable postgres:// "
              "URL: expected it to read the file, try that database and exit non-zero saying it "
              "cannot connect; exit %d, output: %.600s",
              rc, out);
    cr_assert(!strstr(out, "s3cr3tpw"), "the log shows the password from the file: %.600s", out);
    cr_assert(rc_both != 0 && strstr(out_both, "DATABASE_URL and DATABASE_URL_FILE are both set"),
              "taskd with both DATABASE_URL and DATABASE_URL_FILE: expected it to refuse to start "
              "and say so; exit %d, output: %.600s",
              rc_both, out_both);
}

GRADED(outage, help_names_the_postgres_url_and_the_statement_deadline, 1)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    const char *argv[] = {bin, "--help", NULL};
    char out[16384];
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 0, "taskd --help: expected exit 0, got %d", rc);
    const char *line = strstr(out, "DATABASE_URL ");
    cr_assert(line, "taskd --help does not list DATABASE_URL: %.2000s", out);
    size_t len = strcspn(line, "\n");
    cr_assert(memmem(line, len, "postgres://", 11),
              "taskd --help: expected the DATABASE_URL line to name the postgres:// form, got: "
              "%.*s",
              (int)len, line);
    cr_assert(strstr(out, "DB_STATEMENT_TIMEOUT_MS"),
              "taskd --help does not list DB_STATEMENT_TIMEOUT_MS: %.2000s", out);
}

/* ---- a stuck database: connected, but not answering ---- */

#define STUCK_TIMEOUT_MS 1000 /* the server's DB_STATEMENT_TIMEOUT_MS in this test */
/* The client gives up 500 ms after the statement timeout; the rest is slack for a busy machine. */
#define STUCK_ANSWER_MS (STUCK_TIMEOUT_MS + 500 + 1500)

struct stopped {
    pid_t pids[16];
    int n;
    pid_t watchdog; /* resumes them after 20 s, however the test ends */
};

/* Stops (SIGSTOP) every backend serving the test server (application_name taskd), leaving a child
 * that resumes them after 20 s if the test dies first. */
static void stop_taskd_backends(const char *url, struct stopped *st)
{
    char out[1024];
    pg_api_psql(url,
                "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity "
                "WHERE application_name = 'taskd' AND datname = current_database()",
                out, sizeof out);
    st->n = 0;
    for (char *p = out, *end; st->n < 16; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        st->pids[st->n++] = (pid_t)pid;
    }
    cr_assert(st->n > 0, "test bug: no backend of the server in pg_stat_activity (got \"%s\")",
              out);
    st->watchdog = fork();
    cr_assert(st->watchdog >= 0, "test bug: fork failed");
    if (st->watchdog == 0) {
        sleep(20);
        for (int i = 0; i < st->n; i++)
            kill(st->pids[i], SIGCONT);
        _exit(0);
    }
    for (int i = 0; i < st->n; i++)
        cr_assert(kill(st->pids[i], SIGSTOP) == 0, "test bug: cannot stop backend %d",
                  (int)st->pids[i]);
}

/* Resumes them, and ends the watchdog (the server must stay this process's only child). */
static void resume_backends(struct stopped *st)
{
    for (int i = 0; i < st->n; i++)
        kill(st->pids[i], SIGCONT);
    kill(st->watchdog, SIGKILL);
    waitpid(st->watchdog, NULL, 0);
}

/* A GET that must be a prompt 503 while the backends are stopped. */
static void expect_stuck_503(const char *path)
{
    long start = tk_now_ms();
    struct tk_response *r = tk_get(server, path);
    long took = tk_now_ms() - start;
    cr_assert(r->status == 503,
              "%s while the PostgreSQL backend is stopped (SIGSTOP): expected 503 after "
              "DB_STATEMENT_TIMEOUT_MS=%d, got %ld after %ld ms: %.300s",
              r->what, STUCK_TIMEOUT_MS, r->status, took, r->body);
    tk_expect_problem(r, 503);
    cr_assert(took <= STUCK_ANSWER_MS,
              "%s while the PostgreSQL backend is stopped: expected the 503 within %d ms, it took "
              "%ld ms",
              r->what, STUCK_ANSWER_MS, took);
    tk_response_free(r);
}

GRADED(outage, a_stuck_database_gives_503_within_the_statement_timeout, 3, .timeout = 90,
       .fini = outage_fini)
{
    /* One pooled connection, so that /ready asks on the connection whose backend is stopped. */
    outage_start_with("DB_POOL_SIZE=1", "DB_STATEMENT_TIMEOUT_MS=1000");
    const char *url = db_env + strlen("DATABASE_URL=");
    char path[64];
    long long id = api_new_task(server); /* never read: no cache of a later week can answer it */
    api_task_path(id, path, sizeof path);

    struct stopped st;
    stop_taskd_backends(url, &st);
    expect_stuck_503(path);
    resume_backends(&st);

    /* /ready asks the database with the same deadline: a stuck one is "down", not "ok". */
    struct tk_response *r = tk_get(server, "/ready"); /* reconnects: a fresh, running backend */
    tk_expect_status(r, 200);
    tk_response_free(r);
    stop_taskd_backends(url, &st);
    expect_stuck_503("/ready");
    resume_backends(&st);

    /* Resumed: the connections that missed their deadline were dropped, new ones serve. */
    r = tk_get(server, "/ready");
    tk_expect_status(r, 200);
    tk_response_free(r);
    r = tk_get(server, path);
    tk_expect_status(r, 200);
    tk_response_free(r);
    expect_server_alive();
}
