/* attack_program_metrics.c — a client that goes after a background program's metrics port.
 *
 * taskd-worker's GET /metrics (METRICS_PORT, src/program_metrics.c) is a second HTTP server in
 * a program whose job is something else. It must answer what is not a scrape with a clear 4xx
 * (no route: 404; another method: 405; headers or a body past its small limits: 431, 413), never
 * crash or hang the worker, and never let a client add to what it exposes: it counts the
 * program's work, not its requests. The attack sends ATTEMPTS of each kind from a shell loop of
 * curl, then checks every status, that the worker still runs, and that the exposition has
 * exactly the lines it had and names nothing that was sent. Counted, not timed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_w9_helpers.h"
#include "testkit.h"

#define ATTEMPTS 50

static void scrape(unsigned port, char *out, size_t cap)
{
    int rc = tk_sh(out, cap, "curl -s --max-time 5 http://127.0.0.1:%u/metrics", port);
    cr_assert_eq(rc, 0, "GET /metrics on the worker's port %u failed: %s", port, out);
}

Test(program_metrics_attack, the_worker_metrics_port_answers_4xx_and_mints_nothing, .timeout = 240)
{
    tk_need_local("runs taskd-worker beside a taskd of its own");
    struct tk_server *s = tk_server_start(NULL);
    unsigned port = 0;
    struct tk_proc *w = w9_start_with_metrics(s, "taskd-worker", "TASKD_WORKER_BIN",
                                              (const char *const[]){"METRICS_PORT=0", NULL},
                                              "\"msg\":\"worker started\"", &port);
    char run[32];
    tk_unique("zq", run, sizeof run); /* a marker no series, label or help text holds */
    static char before[65536], after[65536], codes[65536];
    scrape(port, before, sizeof before);
    /* Each line of output: KIND CODE. 000 is curl's "no answer". */
    int rc = tk_sh(
        codes, sizeof codes,
        "u=http://127.0.0.1:%u; big=$(head -c 12000 /dev/zero | tr '\\0' a); "
        "body=$(head -c 4096 /dev/zero | tr '\\0' b); "
        "for i in $(seq %d); do "
        "echo path $(curl -s -o /dev/null -w '%%{http_code}' --max-time 5 $u/%s/$i); "
        "echo method $(curl -s -o /dev/null -w '%%{http_code}' --max-time 5 -X M%sX$i $u/metrics); "
        "echo post $(curl -s -o /dev/null -w '%%{http_code}' --max-time 5 -d \"$body\" "
        "$u/metrics); "
        "echo header $(curl -s -o /dev/null -w '%%{http_code}' --max-time 5 -H \"X-$i: $big\" "
        "$u/metrics); "
        "echo query $(curl -s -o /dev/null -w '%%{http_code}' --max-time 5 \"$u/metrics?%s=$i\"); "
        "done",
        port, ATTEMPTS, run, run, run);
    cr_assert_eq(rc, 0, "the attack's shell loop failed: %.2000s", codes);
    struct {
        const char *kind;
        const char *allowed; /* the statuses a clear answer may have */
    } expect[] = {{"path", "404"},
                  {"method", "405"},
                  {"post", "405 413"},
                  {"header", "431"},
                  {"query", "200"}};
    size_t seen = 0;
    for (char *line = strtok(codes, "\n"); line; line = strtok(NULL, "\n")) {
        char kind[16] = "", code[8] = "";
        cr_assert(sscanf(line, "%15s %7s", kind, code) == 2, "a line of no shape: %s", line);
        bool known = false;
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
            if (strcmp(kind, expect[i].kind) == 0) {
                known = true;
                cr_assert(strstr(expect[i].allowed, code) != NULL,
                          "%s attack: the worker's metrics port answered %s, expected %s", kind,
                          code, expect[i].allowed);
            }
        cr_assert(known, "an unexpected line: %s", line);
        seen++;
    }
    cr_assert_eq(seen, (size_t)ATTEMPTS * 5, "expected %d answers, read %zu", ATTEMPTS * 5, seen);
    cr_assert(tk_proc_running(w), "taskd-worker died under the attack on its metrics port");
    scrape(port, after, sizeof after);
    cr_assert_eq(w9_lines(after), w9_lines(before),
                 "GET /metrics grew from %zu to %zu lines: a request reached the exposition",
                 w9_lines(before), w9_lines(after));
    cr_assert(!strstr(after, run), "GET /metrics names what a client sent (%s):\n%.3000s", run,
              after);
    tk_proc_stop(w, SIGTERM, 15000);
    tk_server_stop(s);
}
