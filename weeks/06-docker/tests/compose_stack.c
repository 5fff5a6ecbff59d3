/* compose_stack.c — the graded checks of week 6's stack, made from outside as an operator would:
 * through taskd's published port, `docker-compose` (compose.sh dc) and `podman` (inspect, exec,
 * kill). Nothing here reads the programs' code: a check passes when a person could see the same
 * with the same commands.
 *
 * weeks/06-docker/stack/test-compose.sh builds the images, brings the week-6 profile up and runs
 * this suite one test at a time (--jobs=1: tests stop and start services). Every test starts by
 * waiting for the whole stack to be healthy, and leaves it so. The shared server is the
 * containerised taskd (TK_REMOTE_URL, TK_AUTH=1: the kit registers and logs in there). Where
 * podman cannot run, COMPOSE_NOT_RUN holds the reason and every check fails as "not run:
 * REASON", so a grade never counts them as passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_slow_clients.h"
#include "buf.h"
#include "testkit.h"

#define COMPOSE    "bash shared/scripts/compose.sh"
#define PODMAN     "bash shared/scripts/podman.sh podman"
#define OUT_MAX    16384
#define HEALTHY_S  180 /* the stack after a start: PostgreSQL's first start is the slowest */
#define BASE_IMAGE "localhost/taskd-base:bookworm"
#define TASKD_IMG  "localhost/taskd:week6"
/* The goal of issue 13: the runtime image of taskd at most this far above its base. */
#define IMAGE_ABOVE_BASE_MAX (40LL * 1000 * 1000)

static void need_stack(void)
{
    const char *why = getenv("COMPOSE_NOT_RUN");
    if (why && *why)
        cr_assert_fail("not run: %s", why);
}

/* Runs a command; fails the test with its output unless it exits 0. out may be NULL. */
static void must(char *out, size_t cap, const char *what, const char *cmd)
{
    char buf[OUT_MAX];
    if (!out) {
        out = buf;
        cap = sizeof buf;
    }
    int rc = tk_sh(out, cap, "%s", cmd);
    cr_assert_eq(rc, 0, "%s failed (exit %d): %s\n(command: %s)", what, rc, out, cmd);
}

static void chomp(char *s)
{
    s[strcspn(s, "\n")] = '\0';
}

/* The container id of a service of the stack, into id. */
static void container_of(const char *service, char *id, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, COMPOSE " dc ps -q %s 2>/dev/null", service);
    must(id, cap, "compose ps", cmd);
    chomp(id);
    cr_assert(id[0], "the stack has no container for the service %s", service);
}

/* podman inspect --format FORMAT of a container or image, into out. */
static void inspect(const char *what, const char *format, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, PODMAN " inspect --format '%s' %s", format, what);
    must(out, cap, "podman inspect", cmd);
    chomp(out);
}

static void health_of(const char *service, char *out, size_t cap)
{
    char id[128];
    container_of(service, id, sizeof id);
    inspect(id, "{{.State.Health.Status}}", out, cap);
}

/* Waits up to timeout_s for a service's health to read want ("healthy", "unhealthy"). */
static bool wait_health(const char *service, const char *want, int timeout_s)
{
    long deadline = tk_now_ms() + (long)timeout_s * 1000;
    char st[64] = "";
    while (tk_now_ms() < deadline) {
        health_of(service, st, sizeof st);
        if (strcmp(st, want) == 0)
            return true;
        tk_sleep_ms(1000);
    }
    return false;
}

static const char *const services[] = {"taskd", "worker",    "postgres",
                                       "redis", "memcached", "smtp-sink"};

/* Every test starts from a healthy stack. */
static void need_healthy(void)
{
    need_stack();
    for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
        cr_assert(wait_health(services[i], "healthy", HEALTHY_S),
                  "the stack is not healthy: %s did not become healthy within %d s", services[i],
                  HEALTHY_S);
}

/* GET path on the published port: the status, 0 without an answer. */
static long status_of(const char *path)
{
    struct tk_response *r = tk_get(tk_shared(), path);
    long st = r ? r->status : 0;
    tk_response_free(r);
    return st;
}

static bool wait_status(const char *path, long want, int timeout_s)
{
    long deadline = tk_now_ms() + (long)timeout_s * 1000;
    while (tk_now_ms() < deadline) {
        if (status_of(path) == want)
            return true;
        tk_sleep_ms(500);
    }
    return false;
}

/* ---- the image ---- */

GRADED(image, taskd_runs_as_a_user_that_is_not_root, 2)
{
    need_healthy();
    char id[128], st[OUT_MAX], cmd[256];
    container_of("taskd", id, sizeof id);
    /* The real process's uids (real, effective, saved, fs), not what the image declares. */
    snprintf(cmd, sizeof cmd, PODMAN " exec %s sh -c 'grep ^Uid: /proc/1/status'", id);
    must(st, sizeof st, "reading /proc/1/status in the taskd container", cmd);
    unsigned r = 0, e = 0, s = 0, f = 0;
    cr_assert(sscanf(st, "Uid: %u %u %u %u", &r, &e, &s, &f) == 4, "unexpected status: %s", st);
    cr_assert(r != 0 && e != 0 && s != 0 && f != 0,
              "taskd (PID 1 of its container) runs with uid 0 in one of its ids: %s"
              "(the image needs a USER that is not root)",
              st);
}

GRADED(image, pid_1_of_the_container_is_taskd, 1)
{
    need_healthy();
    char id[128], out[OUT_MAX], cmd[256];
    container_of("taskd", id, sizeof id);
    /* argv[0] of PID 1: the first NUL-terminated field of /proc/1/cmdline. A shell in between
     * (`sh -c taskd`, a shell-form ENTRYPOINT) has taskd only in a later field. */
    snprintf(cmd, sizeof cmd,
             PODMAN " exec %s sh -c 'tr \"\\0\" \"\\n\" </proc/1/cmdline | head -n1'", id);
    must(out, sizeof out, "reading /proc/1/cmdline", cmd);
    chomp(out);
    const char *slash = strrchr(out, '/');
    const char *prog = slash ? slash + 1 : out;
    cr_assert_str_eq(prog, "taskd",
                     "PID 1 in the taskd container is '%s', not taskd: SIGTERM from `docker stop` "
                     "goes to PID 1 (an ENTRYPOINT in exec form, no shell in between)",
                     out);
}

GRADED(image, the_runtime_image_has_no_toolchain, 1)
{
    need_healthy();
    char id[128], out[OUT_MAX], cmd[512];
    container_of("taskd", id, sizeof id);
    snprintf(cmd, sizeof cmd,
             PODMAN " exec %s sh -c 'for t in gcc cc make ld pkg-config; do "
                    "command -v $t; done; ls /usr/include 2>/dev/null | head -3'",
             id);
    tk_sh(out, sizeof out, "%s", cmd);
    cr_assert(out[0] == '\0',
              "the taskd image ships build tools or headers (a multi-stage build compiles in "
              "one stage and copies only the program into the next):\n%s",
              out);
}

GRADED(image, taskd_image_is_at_most_40_MB_above_its_base, 2)
{
    need_stack();
    char img[64], base[64], build[64] = "";
    inspect(TASKD_IMG, "{{.Size}}", img, sizeof img);
    inspect(BASE_IMAGE, "{{.Size}}", base, sizeof base);
    long long above = atoll(img) - atoll(base);
    /* The build stage, tagged by test-compose.sh: what a single-stage build would ship. */
    if (tk_sh(build, sizeof build,
              PODMAN " image inspect --format '{{.Size}}' "
                     "localhost/taskd:week6-build 2>/dev/null") == 0)
        chomp(build);
    printf("figure: taskd image %lld bytes, base %lld, above base %lld (goal <= %lld); "
           "single-stage (the build stage) %s bytes\n",
           atoll(img), atoll(base), above, IMAGE_ABOVE_BASE_MAX, build[0] ? build : "?");
    fflush(stdout);
    cr_assert(above <= IMAGE_ABOVE_BASE_MAX,
              "the taskd image is %.1f MB above its base; the goal is at most 40 MB (ship the "
              "program and its libraries, not the toolchain or the apt lists)",
              (double)above / 1e6);
}

/* ---- secrets ---- */

/* Reads compose/secrets/NAME into out (one line). */
static void secret_value(const char *name, char *out, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "head -n1 compose/secrets/%s", name);
    must(out, cap, "reading a secret file", cmd);
    chomp(out);
    cr_assert(strlen(out) >= 16, "compose/secrets/%s is too short to be a real secret", name);
}

GRADED(secrets, inspect_shows_no_secret_value, 2)
{
    need_healthy();
    static const char *const names[] = {"postgres_password", "jwt_secret", "database_url"};
    static const char *const who[] = {"taskd", "worker", "postgres"};
    for (size_t w = 0; w < sizeof who / sizeof who[0]; w++) {
        char id[128], out[OUT_MAX];
        container_of(who[w], id, sizeof id);
        inspect(id, "{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Labels}}", out,
                sizeof out);
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
            char secret[512];
            secret_value(names[n], secret, sizeof secret);
            cr_assert(!strstr(out, secret),
                      "`podman inspect` of the %s container shows the value of the secret %s "
                      "in its environment, command or labels: secrets go in files "
                      "(/run/secrets/NAME, read through NAME_FILE)",
                      who[w], names[n]);
        }
        cr_assert(strstr(out, "_FILE=/run/secrets/"),
                  "the %s container does not read its secrets from /run/secrets (no NAME_FILE "
                  "setting points there): %s",
                  who[w], out);
    }
}

/* A container whose secret file is missing must exit at once, saying which file, never serve
 * half-configured. */
GRADED(secrets, a_missing_secret_file_stops_the_container_with_a_clear_message, 2)
{
    need_stack();
    char out[OUT_MAX];
    int rc = tk_sh(out, sizeof out,
                   "timeout 60 " PODMAN " run --rm --pull=never --network=none "
                   "-e JWT_SECRET_FILE=/run/secrets/jwt_secret "
                   "-e DATABASE_URL=sqlite::memory: " TASKD_IMG " 2>&1");
    cr_assert(rc != 0 && rc != 124,
              "taskd without its secret file: expected it to exit non-zero at once, got exit %d: "
              "%.800s",
              rc, out);
    cr_assert(strstr(out, "JWT_SECRET_FILE") && strstr(out, "/run/secrets/jwt_secret"),
              "taskd without its secret file: expected a message naming JWT_SECRET_FILE and the "
              "missing path, got: %.800s",
              out);
}

/* ---- health ---- */

GRADED(health, taskd_turns_unhealthy_without_postgres_and_recovers_without_a_restart, 3)
{
    need_healthy();
    char id[128], started[128], after[128];
    container_of("taskd", id, sizeof id);
    inspect(id, "{{.State.StartedAt}}", started, sizeof started);
    long t0 = tk_now_ms();
    must(NULL, 0, "stopping postgres", COMPOSE " dc stop postgres");
    long t_stopped = tk_now_ms();
    bool ready503 = wait_status("/ready", 503, 30);
    long t_503 = tk_now_ms();
    bool unhealthy = ready503 && wait_health("taskd", "unhealthy", 60);
    long t_unhealthy = tk_now_ms();
    long health = status_of("/health");
    must(NULL, 0, "starting postgres", COMPOSE " dc start postgres");
    long t_started = tk_now_ms();
    bool back = wait_status("/ready", 200, 90);
    long t_ready = tk_now_ms();
    bool healthy = back && wait_health("taskd", "healthy", 60);
    long t_healthy = tk_now_ms();
    printf("figure: postgres stop took %ld ms; then /ready 503 after %ld ms, taskd unhealthy "
           "after %ld ms; postgres start took %ld ms; then /ready 200 after %ld ms, healthy "
           "after %ld ms\n",
           t_stopped - t0, t_503 - t_stopped, t_unhealthy - t_stopped, t_started - t_unhealthy,
           t_ready - t_started, t_healthy - t_started);
    fflush(stdout);
    inspect(id, "{{.State.StartedAt}}", after, sizeof after);
    cr_assert(ready503, "with PostgreSQL stopped, GET /ready did not answer 503 within 30 s");
    cr_assert_eq(health, 200,
                 "with PostgreSQL stopped, GET /health answered %ld: taskd itself "
                 "is alive, only not ready",
                 health);
    cr_assert(unhealthy, "with PostgreSQL stopped, the taskd container was not marked unhealthy "
                         "within 60 s (its HEALTHCHECK should ask /ready)");
    cr_assert(back, "PostgreSQL started again, but GET /ready did not answer 200 within 90 s");
    cr_assert(healthy, "PostgreSQL started again, but taskd did not turn healthy within 60 s");
    cr_assert_str_eq(started, after,
                     "taskd was restarted to recover (StartedAt %s, then %s): it must reconnect "
                     "by itself",
                     started, after);
}

/* The worker has no port: its health is its health file, rewritten every turn of its loop. A
 * stopped loop (SIGSTOP) must turn it unhealthy, and SIGCONT healthy again. */
GRADED(health, a_stalled_worker_turns_unhealthy, 2)
{
    need_healthy();
    char id[128], cmd[256];
    container_of("worker", id, sizeof id);
    snprintf(cmd, sizeof cmd, PODMAN " kill --signal STOP %s", id);
    must(NULL, 0, "SIGSTOP to the worker", cmd);
    long t0 = tk_now_ms();
    bool unhealthy = wait_health("worker", "unhealthy", 60);
    long t_unhealthy = tk_now_ms();
    snprintf(cmd, sizeof cmd, PODMAN " kill --signal CONT %s", id);
    must(NULL, 0, "SIGCONT to the worker", cmd);
    long t_cont = tk_now_ms();
    bool healthy = wait_health("worker", "healthy", 60);
    printf("figure: worker SIGSTOP to unhealthy %ld ms; SIGCONT to healthy %ld ms\n",
           t_unhealthy - t0, tk_now_ms() - t_cont);
    fflush(stdout);
    cr_assert(unhealthy, "the worker's loop was stopped (SIGSTOP) for 60 s and its container "
                         "stayed healthy: its HEALTHCHECK must see the loop, not the process");
    cr_assert(healthy, "the worker was resumed (SIGCONT) but did not turn healthy within 60 s");
}

/* ---- stop ---- */

/* SIGTERM to the container (what `docker stop` sends: STOPSIGNAL) while a request is under way:
 * the request gets its answer, then taskd exits 0, long before the grace period's SIGKILL. */
GRADED(stop, sigterm_drains_the_request_under_way_then_exits_0, 3)
{
    need_healthy();
    struct tk_server *s = tk_shared();
    static const char body[] = "{\"title\":\"sent across docker stop\"}";
    int fd = slow_post_half(s, body);
    cr_assert(fd >= 0, "cannot connect to the published port");
    tk_sleep_ms(300);

    /* `docker stop` (here: compose stop) sends the image's STOPSIGNAL, waits the grace period,
     * and only then SIGKILLs; a stopped container is not restarted by its restart policy. It
     * blocks until the container is gone, so it runs in the background. */
    char id[128], cmd[512];
    container_of("taskd", id, sizeof id);
    snprintf(cmd, sizeof cmd, COMPOSE " dc stop taskd >/tmp/compose-stop-%d.log 2>&1 </dev/null &",
             (int)getpid());
    long t_stop = tk_now_ms();
    must(NULL, 0, "compose stop taskd", cmd);
    /* docker-compose takes a second or two to send the signal: the rest of the body goes once
     * taskd refuses new connections (it has SIGTERM and is draining), not before. */
    bool draining = false;
    for (long until = tk_now_ms() + 15000; !draining && tk_now_ms() < until;) {
        int probe = slow_connect(s, "127.0.0.1");
        draining = probe < 0;
        if (probe >= 0) {
            close(probe);
            tk_sleep_ms(50);
        }
    }
    struct buf got = BUF_INIT;
    slow_post_finish(fd, body, &got, 12000);
    close(fd);
    char answer[4096];
    snprintf(answer, sizeof answer, "%s", got.data ? got.data : "");
    buf_free(&got);
    char state[64] = "", code[32] = "";
    long until = tk_now_ms() + 30000;
    while (tk_now_ms() < until) {
        inspect(id, "{{.State.Status}}", state, sizeof state);
        if (strcmp(state, "exited") == 0)
            break;
        tk_sleep_ms(500);
    }
    inspect(id, "{{.State.ExitCode}}", code, sizeof code);
    printf("figure: compose stop of taskd with a POST under way: exited (%s) within %ld ms, "
           "exit status %s\n",
           state, tk_now_ms() - t_stop, code);
    fflush(stdout);
    must(NULL, 0, "starting taskd again", COMPOSE " dc start taskd");
    cr_assert(wait_health("taskd", "healthy", HEALTHY_S), "taskd did not come back healthy");
    cr_assert(draining, "taskd still accepted new connections 15 s after compose stop");
    cr_assert(strncmp(answer, "HTTP/1.1 201", 12) == 0,
              "the POST under way at SIGTERM got no 201 (got: %.300s)", answer);
    cr_assert(strcasestr(answer, "\r\nConnection: close\r\n"),
              "the answer sent while draining lacks Connection: close: %.300s", answer);
    cr_assert_str_eq(state, "exited", "taskd had not exited 30 s after SIGTERM (state %s)", state);
    cr_assert_str_eq(code, "0", "taskd exited %s after SIGTERM: a drained stop exits 0", code);
}

/* ---- data ---- */

/* A named volume outlives its containers: `down` without -v, then `up`, and the task is there. */
GRADED(data, a_task_survives_compose_down_and_up, 3)
{
    need_healthy();
    struct tk_server *s = tk_shared();
    char path[64];
    tk_response_free(api_new_task_read(s, path, sizeof path)); /* fails the test unless 200 */
    char out[OUT_MAX];
    must(out, sizeof out, "compose down (volumes kept)", COMPOSE " down");
    long t_up = tk_now_ms();
    must(out, sizeof out, "compose up", COMPOSE " up 6");
    need_healthy();
    printf("figure: compose up after down (images cached) until healthy: %ld ms\n",
           tk_now_ms() - t_up);
    fflush(stdout);
    struct tk_response *r = tk_get(s, path);
    long st = r ? r->status : 0;
    tk_response_free(r);
    cr_assert_eq(st, 200,
                 "GET %s after compose down and up answered %ld: the data must live in a named "
                 "volume, not in the container",
                 path, st);
}
