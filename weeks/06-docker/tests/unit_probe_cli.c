/* unit_probe_cli.c — taskd-probe's arguments and checks (probe_cli.h), and the request under
 * them (week 5's probe_http_get, probe.h): every argument bounded and refused with a reason;
 * an HTTP check healthy on a 2xx only, from a fake server on the loopback that answers one
 * status line; no answer, a closed port and a server that says nothing each unhealthy, with a
 * line naming the request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "probe.h"
#include "probe_cli.h"
#include "testkit.h"

/* ---- arguments ---- */

/* Splits spec on '|' into argv (argv[0] "taskd-probe"); returns argc. */
static int split(const char *spec, char *buf, size_t buf_len, char *argv[], int cap)
{
    snprintf(buf, buf_len, "%s", spec);
    int argc = 0;
    argv[argc++] = "taskd-probe";
    argv[argc] = NULL;
    if (!buf[0])
        return argc;
    for (char *p = buf; argc < cap - 1;) {
        argv[argc++] = p;
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = '\0';
        p = bar + 1;
    }
    argv[argc] = NULL;
    return argc;
}

GRADED(probe_cli, parses_http_with_its_default_path, 1)
{
    char buf[256], *argv[8], why[256] = "";
    struct probe_cli c;
    int argc = split("http|8080", buf, sizeof buf, argv, 8);
    cr_assert_eq(probe_cli_parse(argc, argv, &c, why, sizeof why), 0, "%s", why);
    cr_assert(c.mode == PROBE_CLI_HTTP && c.port == 8080 && strcmp(c.target, "/health") == 0,
              "http 8080: expected GET /health on port 8080");
    argc = split("http|65535|/ready", buf, sizeof buf, argv, 8);
    cr_assert_eq(probe_cli_parse(argc, argv, &c, why, sizeof why), 0, "%s", why);
    cr_assert(c.port == 65535 && strcmp(c.target, "/ready") == 0);
}

GRADED(probe_cli, parses_file_with_its_max_age, 1)
{
    char buf[256], *argv[8], why[256] = "";
    struct probe_cli c;
    int argc = split("file|/run/taskd/health|30", buf, sizeof buf, argv, 8);
    cr_assert_eq(probe_cli_parse(argc, argv, &c, why, sizeof why), 0, "%s", why);
    cr_assert(c.mode == PROBE_CLI_FILE && c.max_age_s == 30 &&
              strcmp(c.target, "/run/taskd/health") == 0);
    argc = split("file|h|86400", buf, sizeof buf, argv, 8);
    cr_assert_eq(probe_cli_parse(argc, argv, &c, why, sizeof why), 0, "%s", why);
}

static void expect_usage_error(const char *spec)
{
    char buf[512], *argv[8], why[256] = "";
    struct probe_cli c;
    int argc = split(spec, buf, sizeof buf, argv, 8);
    int rc = probe_cli_parse(argc, argv, &c, why, sizeof why);
    cr_assert_eq(rc, ERR_INVALID, "taskd-probe %s: expected a usage error, got %s", spec,
                 err_str(rc));
    cr_assert(why[0], "taskd-probe %s: refused without saying why", spec);
}

GRADED_EACH(probe_cli, refuses_arguments_out_of_bounds_with_a_reason, 2, expect_usage_error, "",
            "ping|8080", "http", "http|0", "http|65536", "http|-1", "http|+80", "http|80a",
            "http| 80", "http|99999999999999999999", "http|8080|ready", "http|8080|/a b",
            "http|8080|/health|extra", "file", "file|/run/taskd/health", "file||30", "file|/h|0",
            "file|/h|86401", "file|/h|1.5", "file|/h|30|extra", "HTTP|8080")

GRADED(probe_cli, refuses_a_path_past_its_bound, 1)
{
    char path[PROBE_PATH_MAX + 2];
    path[0] = '/';
    memset(path + 1, 'a', sizeof path - 2);
    path[sizeof path - 1] = '\0'; /* PROBE_PATH_MAX + 1 bytes */
    char *argv[] = {"taskd-probe", "http", "8080", path, NULL};
    char why[256] = "";
    struct probe_cli c;
    cr_assert_eq(probe_cli_parse(4, argv, &c, why, sizeof why), ERR_INVALID,
                 "a path of %d bytes was accepted", PROBE_PATH_MAX + 1);
    path[sizeof path - 2] = '\0'; /* PROBE_PATH_MAX: the most there may be */
    cr_assert_eq(probe_cli_parse(4, argv, &c, why, sizeof why), 0, "%s", why);
}

/* ---- the HTTP check against a fake server ---- */

struct fake {
    int listener;
    unsigned port;
    const char *answer; /* what it writes after reading the request; NULL: nothing, ever */
    char request[512];  /* what it read */
    pthread_t thread;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t have = 0;
    while (have < sizeof f->request - 1 && !strstr(f->request, "\r\n\r\n")) {
        ssize_t n = recv(fd, f->request + have, sizeof f->request - 1 - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
        f->request[have] = '\0';
    }
    if (f->answer) {
        ssize_t sent = send(fd, f->answer, strlen(f->answer), MSG_NOSIGNAL);
        (void)sent; /* the probe's own result says whether it came */
    } else {
        tk_sleep_ms(PROBE_CLI_TIMEOUT_MS + 1000); /* silent past the probe's deadline */
    }
    close(fd);
    return NULL;
}

/* A server on a free loopback port; with serve, a thread that answers one connection. */
static void fake_start(struct fake *f, const char *answer, bool serve)
{
    memset(f, 0, sizeof *f);
    f->answer = answer;
    f->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert(f->listener >= 0 && bind(f->listener, (struct sockaddr *)&sa, sizeof sa) == 0 &&
              listen(f->listener, 4) == 0 &&
              getsockname(f->listener, (struct sockaddr *)&sa, &len) == 0);
    f->port = ntohs(sa.sin_port);
    if (serve)
        cr_assert(pthread_create(&f->thread, NULL, fake_serve, f) == 0);
}

static void fake_stop(struct fake *f, bool served)
{
    if (served)
        pthread_join(f->thread, NULL);
    close(f->listener);
}

/* taskd-probe http PORT path against a fake server answering `answer`; returns the check's
 * result, its line into line. */
static int run_against(const char *answer, const char *path, char *line, size_t line_len,
                       struct fake *f)
{
    fake_start(f, answer, true);
    struct probe_cli c = {.mode = PROBE_CLI_HTTP, .port = f->port, .target = path};
    int rc = probe_cli_run(&c, line, line_len);
    fake_stop(f, true);
    return rc;
}

GRADED(probe_cli, http_is_healthy_on_a_2xx_only, 3)
{
    static const struct {
        const char *answer;
        int healthy;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1},
        {"HTTP/1.1 204 \r\n\r\n", 1},
        {"HTTP/1.0 299 Whatever\r\n\r\n", 1},
        {"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n", 0},
        {"HTTP/1.1 404 Not Found\r\n\r\n", 0},
        {"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[PROBE_CLI_LINE_MAX] = "";
        struct fake f;
        int rc = run_against(cases[i].answer, "/ready", line, sizeof line, &f);
        char status[4];
        memcpy(status, cases[i].answer + 9, 3);
        status[3] = '\0';
        cr_assert_eq(rc == 0, cases[i].healthy, "a %s was called %s (\"%s\")", status,
                     rc == 0 ? "healthy" : "unhealthy", line);
        char want[96];
        snprintf(want, sizeof want, "GET /ready on 127.0.0.1:%u answered %s", f.port, status);
        cr_assert_str_eq(line, want, "the line for a %s", status);
        cr_assert(strncmp(f.request, "GET /ready HTTP/1.1\r\n", 21) == 0,
                  "the request line sent was: \"%.60s\"", f.request);
    }
}

GRADED(probe_cli, http_without_an_answer_is_unhealthy_and_says_why, 2)
{
    char line[PROBE_CLI_LINE_MAX] = "";
    struct fake f;
    /* Closed: bound to learn a free port, then closed, so nothing listens there. */
    fake_start(&f, NULL, false);
    fake_stop(&f, false);
    struct probe_cli c = {.mode = PROBE_CLI_HTTP, .port = f.port, .target = "/health"};
    cr_assert_eq(probe_cli_run(&c, line, sizeof line), ERR_UNAVAILABLE);
    cr_assert(strstr(line, "GET /health on 127.0.0.1:") && strstr(line, "refused"),
              "a closed port: \"%s\"", line);
    /* Not HTTP. */
    cr_assert_eq(run_against("SSH-2.0-OpenSSH_9.2\r\n", "/health", line, sizeof line, &f),
                 ERR_UNAVAILABLE);
    cr_assert(strstr(line, "not HTTP"), "an answer that is not HTTP: \"%s\"", line);
    /* Closed without a word. */
    cr_assert_eq(run_against("", "/health", line, sizeof line, &f), ERR_UNAVAILABLE);
    cr_assert(strstr(line, "without an answer"), "a connection closed at once: \"%s\"", line);
}

GRADED(probe_cli, http_gives_up_on_a_silent_server_within_its_timeout, 2)
{
    char line[PROBE_CLI_LINE_MAX] = "";
    struct fake f;
    fake_start(&f, NULL, true); /* reads the request, then says nothing */
    struct probe_cli c = {.mode = PROBE_CLI_HTTP, .port = f.port, .target = "/health"};
    long start = tk_now_ms();
    int rc = probe_cli_run(&c, line, sizeof line);
    long took = tk_now_ms() - start;
    fake_stop(&f, true);
    cr_assert_eq(rc, ERR_UNAVAILABLE, "a server that never answers was called healthy");
    cr_assert(strstr(line, "no answer within 2000 ms"), "the line: \"%s\"", line);
    cr_assert(took < PROBE_CLI_TIMEOUT_MS + 1000, "the probe took about %ld ms", took);
}
