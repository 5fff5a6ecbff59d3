/* api_ops.c — week 1's operational contract: configuration, logs, timeouts, threading modes.
 *
 * What an operator relies on rather than what a client sees: a bad setting stops the service
 * with a clear message before it listens, --help lists every setting, secrets can come from a
 * file, each request leaves one JSON log line carrying its X-Request-Id and its route template
 * (never raw ids), a stalled connection is closed after HTTP_TIMEOUT_SECONDS, and both
 * threading modes serve the same API. (Secrets from *_FILE are tested with week 4's JWT_SECRET,
 * the first secret setting.) Each test starts a private server with the settings it
 * is about. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testkit.h"
#include "tk_raw.h"

/* Runs TASKD_BIN with extra settings and arguments; returns its exit status and output. */
static int run_taskd(const char *const *env, const char *arg, char *out, size_t out_len)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin, "TASKD_BIN is not set");
    const char *argv[] = {bin, arg, NULL};
    return tk_run(argv, env, out, out_len);
}

static char *read_log(const struct tk_server *s)
{
    FILE *f = fopen(tk_server_log_path(s), "r");
    cr_assert(f, "cannot open the server log %s", tk_server_log_path(s));
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The log line of the request with this id, waiting briefly (it is written after the answer). */
static const char *log_line_of(const struct tk_server *s, const char *request_id, char *line,
                               size_t line_len)
{
    for (int tries = 0; tries < 50; tries++) {
        const char *text = read_log(s);
        const char *hit = strstr(text, request_id);
        if (hit) {
            const char *start = hit;
            while (start > text && start[-1] != '\n')
                start--;
            size_t len = strcspn(start, "\n");
            snprintf(line, line_len, "%.*s", (int)len, start);
            return line;
        }
        usleep(20 * 1000);
    }
    return NULL;
}

GRADED(ops, a_bad_setting_stops_the_service_with_a_clear_message, 2)
{
    char out[4096];
    const char *env[] = {"PORT=70000", "LOG_LEVEL=loud", NULL};
    int status = run_taskd(env, NULL, out, sizeof out);
    cr_assert(status == 2, "taskd with PORT=70000: expected exit status 2, got %d: %s", status,
              out);
    cr_assert(strstr(out, "PORT") && strstr(out, "LOG_LEVEL"),
              "expected both bad settings (PORT and LOG_LEVEL) named in one go, got: %s", out);
    cr_assert(!strstr(out, "listening"), "a misconfigured service must not listen: %s", out);
}

GRADED(ops, help_lists_every_setting_and_exits_0, 1)
{
    char out[8192];
    int status = run_taskd(NULL, "--help", out, sizeof out);
    cr_assert(status == 0, "taskd --help: expected exit status 0, got %d", status);
    const char *names[] = {"PORT",           "BIND_ADDRESS",         "LOG_LEVEL",
                           "MAX_BODY_BYTES", "MAX_HEADER_BYTES",     "HTTP_MODE",
                           "HTTP_THREADS",   "HTTP_TIMEOUT_SECONDS", "DATABASE_URL"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(strstr(out, names[i]), "taskd --help does not mention %s: %s", names[i], out);
}

GRADED(ops, an_unknown_argument_is_refused, 1)
{
    char out[1024];
    int status = run_taskd(NULL, "--frobnicate", out, sizeof out);
    cr_assert(status == 2, "taskd --frobnicate: expected exit status 2, got %d: %s", status, out);
}

GRADED(ops, every_request_logs_one_json_line_with_its_id_and_route_template, 3)
{
    struct tk_server *s = tk_server_start(NULL);
    long long id = tk_create_task(s, "{\"title\":\"logged\"}");
    char path[64], rid[80], line[2048];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    const char *headers[] = {"X-Request-Id: ops-log-check-1", NULL};
    struct tk_response *r = tk_request(s, "GET", path, headers, NULL, 0);
    tk_expect_status(r, 200);
    tk_expect_header(r, "X-Request-Id", "ops-log-check-1");
    cr_assert(log_line_of(s, "ops-log-check-1", line, sizeof line),
              "no log line carries the request id ops-log-check-1");
    cJSON *json = cJSON_Parse(line);
    cr_assert(cJSON_IsObject(json), "the log line is not one JSON object: %s", line);
    const char *want[][2] = {{"msg", "request"},
                             {"method", "GET"},
                             {"path", "/tasks/{id}"},
                             {"request_id", "ops-log-check-1"},
                             {"level", "info"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, want[i][0]);
        cr_assert(cJSON_IsString(v) && strcmp(v->valuestring, want[i][1]) == 0,
                  "log line: expected \"%s\": \"%s\" in %s", want[i][0], want[i][1], line);
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(json, "status");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(json, "duration_ms");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(json, "ts");
    cr_assert(cJSON_IsNumber(st) && st->valuedouble == 200, "log line: status 200 in %s", line);
    cr_assert(cJSON_IsNumber(ms) && ms->valuedouble >= 0, "log line: duration_ms in %s", line);
    cr_assert(cJSON_IsString(ts) && strchr(ts->valuestring, 'Z'), "log line: UTC ts in %s", line);
    snprintf(rid, sizeof rid, "/tasks/%lld\"", id);
    cr_assert(!strstr(read_log(s), rid), "the raw path %s (with an id) reached the log", path);
    cJSON_Delete(json);
    tk_response_free(r);
    cr_assert(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

/* One last request on s, `method path` (with a JSON body when json is given), answering status
 * (a problem from 400 on); then s must stop cleanly. */
static void last_request_then_stop(struct tk_server *s, const char *method, const char *path,
                                   const char *json, int status)
{
    const char *headers[] = {json ? "Content-Type: application/json" : NULL, NULL};
    struct tk_response *r = tk_request(s, method, path, headers, json, json ? strlen(json) : 0);
    if (status >= 400)
        tk_expect_problem(r, status);
    else
        tk_expect_status(r, status);
    tk_response_free(r);
    cr_assert(tk_server_stop(s) == 0, "the server did not stop cleanly");
}

GRADED(ops, a_stalled_connection_is_closed_after_the_timeout, 2, .timeout = 30)
{
    const char *env[] = {"HTTP_TIMEOUT_SECONDS=1", NULL};
    struct tk_server *s = tk_server_start(env);
    int fd = tk_raw_connect(s);
    const char *half = "GET /health HTTP/1.1\r\nHost: test\r\n"; /* no blank line: stalled */
    tk_raw_send(fd, half, strlen(half));
    time_t start = time(NULL);
    char byte;
    ssize_t got = 1;
    while (got > 0 && time(NULL) - start < 6)
        got = read(fd, &byte, 1); /* blocks until the server closes (or sends something) */
    cr_assert(got == 0, "expected the server to close a connection stalled mid-request within "
                        "a few seconds of HTTP_TIMEOUT_SECONDS=1; it did not");
    close(fd);
    last_request_then_stop(s, "GET", "/health", NULL, 200);
}

GRADED(ops, thread_per_connection_mode_serves_the_same_api, 2)
{
    const char *env[] = {"HTTP_MODE=thread", NULL};
    struct tk_server *s = tk_server_start(env);
    long long id = tk_create_task(s, "{\"title\":\"threaded\",\"tags\":[\"a\"]}");
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    struct tk_response *r = tk_get(s, path);
    tk_expect_status(r, 200);
    tk_expect_json_str(r, "title", "threaded");
    tk_response_free(r);
    last_request_then_stop(s, "GET", "/no/such/route", NULL, 404);
}

GRADED(ops, max_body_bytes_is_honoured, 2)
{
    const char *env[] = {"MAX_BODY_BYTES=2048", NULL};
    struct tk_server *s = tk_server_start(env);
    char body[3000];
    int n = snprintf(body, sizeof body, "{\"title\":\"t\",\"description\":\"%2500s\"}", "x");
    struct tk_response *r = tk_post_json(s, "/tasks", body);
    tk_expect_problem(r, 413);
    tk_response_free(r);
    cr_assert(n > 2048, "test bug: the body should be over 2048 bytes");
    last_request_then_stop(s, "POST", "/tasks", "{\"title\":\"small enough\"}", 201);
}
