/* main.c — the one main() of every stage.
 *
 * It knows nothing about weeks: the Makefile compiles it with TASKD_STAGE naming the stage to run
 * (stage_01, stage_02...). main declares the core settings, lets the stage declare its own,
 * loads and validates them all, builds the HTTP server, lets the stage add its routes and
 * resources, serves until SIGINT or SIGTERM, and then stops in order: no new connections,
 * requests under way finish, resources are released newest first. SIGHUP asks the stage to
 * reload its live settings. At each of these moments main calls the stage's lifecycle hooks
 * (lifecycle.h), so a supervisor hears when the service is ready, reloading and stopping.
 * `taskd --version` prints the version it was built from (gen/version.h, written by the
 * Makefile from git describe: shared/scripts/version.sh). */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "http_log.h"
#include "lifecycle.h"
#include "log.h"
#include "log_config.h"
#include "version.h"

#ifndef TASKD_STAGE
#error "build with -DTASKD_STAGE=stage_NN (the Makefile does)"
#endif
extern const struct stage TASKD_STAGE;

static const struct config_var core_vars[] = {
    {.name = "PORT",
     .kind = CONFIG_INT,
     .default_value = "8080",
     .min = 0,
     .max = 65535,
     .help = "TCP port to listen on (0 = any free port, logged at start)"},
    {.name = "BIND_ADDRESS",
     .kind = CONFIG_STRING,
     .default_value = "127.0.0.1",
     .min = 2,
     .max = 64,
     .help = "numeric address to listen on (0.0.0.0 or :: for every interface)"},
    {.name = "MAX_BODY_BYTES",
     .kind = CONFIG_INT,
     .default_value = "1048576",
     .min = 1024,
     .max = 64LL * 1024 * 1024,
     .help = "largest request body accepted (else 413)"},
    {.name = "MAX_HEADER_BYTES",
     .kind = CONFIG_INT,
     .default_value = "16384",
     .min = 1024,
     .max = 1024LL * 1024,
     .help = "largest request line + headers accepted (else 431)"},
    {.name = "HTTP_MODE",
     .kind = CONFIG_ENUM,
     .default_value = "pool",
     .choices = "pool|thread",
     .help = "pool = epoll event loops; thread = one thread per connection"},
    {.name = "HTTP_THREADS",
     .kind = CONFIG_INT,
     .default_value = "0",
     .min = 0,
     .max = 256,
     .help = "event loops in pool mode (0 = one per CPU)"},
    {.name = "HTTP_TIMEOUT_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "15",
     .min = 1,
     .max = 3600,
     .help = "close connections idle (or stalled) this long"},
    {.name = "HTTP_MAX_CONNECTIONS",
     .kind = CONFIG_INT,
     .default_value = "1024",
     .min = 1,
     .max = 65536,
     .help = "connections served at once"},
    {.name = "HTTP_MAX_CONNECTIONS_PER_IP",
     .kind = CONFIG_INT,
     .default_value = "0",
     .min = 0,
     .max = 65536,
     .help = "connections one client address may hold (0 = half of HTTP_MAX_CONNECTIONS)"},
    {.name = "HTTP_HEADER_TIMEOUT_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 1,
     .max = 3600,
     .help = "close a connection whose request line and headers take longer in total"},
    {.name = "HTTP_BODY_TIMEOUT_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "30",
     .min = 1,
     .max = 3600,
     .help = "close a connection whose request body takes longer in total"},
    {.name = "HTTP_DRAIN_SECONDS",
     .kind = CONFIG_INT,
     .default_value = "10",
     .min = 0,
     .max = 3600,
     .help = "on SIGTERM, let requests under way finish and answer this long"},
};

/* The chain of stages, oldest first: stage_01, ..., TASKD_STAGE. At most 12 weeks. */
static size_t stage_chain(const struct stage *chain[], size_t cap)
{
    size_t n = 0;
    for (const struct stage *s = &TASKD_STAGE; s && n < cap; s = s->prev)
        n++;
    size_t i = n;
    for (const struct stage *s = &TASKD_STAGE; s && i > 0; s = s->prev)
        chain[--i] = s;
    return n;
}

#define STAGES_MAX 16

static void usage(const struct config *cfg, FILE *out)
{
    const struct stage *chain[STAGES_MAX];
    size_t n = stage_chain(chain, STAGES_MAX);
    fprintf(out, "usage: taskd [--help | --version] [COMMAND ARGS...]\n\n");
    fprintf(out,
            "The task service, stage %s. Without a command it serves HTTP until SIGINT or "
            "SIGTERM (which drain the requests under way, then exit 0). SIGHUP %s.\n\n",
            TASKD_STAGE.name,
            stage_lifecycle(&TASKD_STAGE)
                ? "reloads the settings that can change live (see TASKD_CONFIG_FILE below)"
                : "changes nothing in this stage (it has no live settings)");
    fprintf(out, "Commands:\n");
    fprintf(out, "  taskd routes    start the stage without serving and print its routes, one "
                 "\"METHOD /path\" a line\n");
    for (size_t i = 0; i < n; i++)
        if (chain[i]->commands_help)
            fprintf(out, "%s\n", chain[i]->commands_help);
    fprintf(out, "\n");
    fprintf(out, "Configuration comes from the environment:\n\n");
    config_print_help(cfg, out);
}

/* Process-wide initialisation of every stage's libraries, oldest first, before any thread. */
static int init_stages(void)
{
    const struct stage *chain[STAGES_MAX];
    size_t n = stage_chain(chain, STAGES_MAX);
    for (size_t i = 0; i < n; i++) {
        int rc = chain[i]->init ? chain[i]->init() : 0;
        if (rc != 0) {
            fprintf(stderr, "taskd: stage %s could not initialise its libraries (%s)\n",
                    chain[i]->name, err_str(rc));
            return rc;
        }
    }
    return 0;
}

/* `taskd routes`: the stage's route table, one "METHOD /path/{param}" a line. The stage starts
 * as it would to serve (its resources open, so the configuration must be the serving one) but
 * nothing listens; a test compares this list with the OpenAPI document's paths. */
static int print_routes(struct http_server *http)
{
    for (size_t i = 0; i < http_server_route_count(http); i++) {
        const char *method = NULL, *pattern = NULL;
        if (http_server_route_at(http, i, &method, &pattern) != 0)
            return 1;
        printf("%s %s\n", method, pattern);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* `taskd COMMAND ...`: a one-shot job of a stage (week 2: migrate) with the same settings. The
 * newest stage that knows the command runs it. */
static int run_command(struct config *cfg, int argc, char **argv)
{
    for (const struct stage *s = &TASKD_STAGE; s; s = s->prev) {
        int rc = s->command ? s->command(cfg, argc, argv) : ERR_NOT_FOUND;
        if (rc != ERR_NOT_FOUND)
            return rc;
    }
    fprintf(stderr, "taskd: unknown command '%s' (try --help)\n", argv[0]);
    return 2;
}

int main(int argc, char **argv)
{
    int rc = 1;
    bool served =
        false; /* the "stopped" line belongs to a server run, not to --help or a command */
    struct config *cfg = NULL;
    struct http_server *http = NULL;
    struct app *app = NULL;
    struct lifecycle lc = {0};
    const struct lifecycle_provider *provider = stage_lifecycle(&TASKD_STAGE);

    /* Block the stop signals and SIGHUP in every thread (the HTTP threads inherit this mask)
     * and wait for them here with sigwait: no async-signal-safety puzzles in handlers. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (init_stages() != 0)
        return 1;

    cfg = config_new();
    if (!cfg || config_declare(cfg, core_vars, sizeof core_vars / sizeof core_vars[0]) != 0 ||
        log_config_declare(cfg) != 0 || TASKD_STAGE.declare(cfg) != 0 ||
        (provider && provider->declare && provider->declare(cfg) != 0)) {
        fprintf(stderr, "taskd: out of memory\n");
        goto done;
    }
    if (config_help_requested(argc, argv)) {
        usage(cfg, stdout);
        rc = 0;
        goto done;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("taskd %s (stage %s)\n", TASKD_VERSION, TASKD_STAGE.name);
        rc = 0;
        goto done;
    }
    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "taskd: unknown option '%s' (try --help)\n", argv[1]);
        rc = 2;
        goto done;
    }
    if (config_load(cfg, stderr) != 0) {
        fprintf(stderr, "taskd: fix the configuration above (see taskd --help)\n");
        rc = 2;
        goto done;
    }
    log_config_apply(cfg);
    bool list_routes = argc == 2 && strcmp(argv[1], "routes") == 0;
    if (argc > 1 && !list_routes) {
        rc = run_command(cfg, argc - 1, argv + 1);
        goto done;
    }
    served = !list_routes;
    if (served && provider && provider->open(cfg, &lc) != 0) {
        fprintf(stderr, "taskd: fix the configuration above (see taskd --help)\n");
        rc = 2;
        goto done;
    }
    lifecycle_status(&lc, "starting: opening the stage's resources");

    struct http_options opts = {
        .bind_address = config_get(cfg, "BIND_ADDRESS"),
        .port = (unsigned)config_get_int(cfg, "PORT"),
        .mode = strcmp(config_get(cfg, "HTTP_MODE"), "thread") == 0
                    ? HTTP_MODE_THREAD_PER_CONNECTION
                    : HTTP_MODE_POOL,
        .threads = (unsigned)config_get_int(cfg, "HTTP_THREADS"),
        .max_body_bytes = (size_t)config_get_int(cfg, "MAX_BODY_BYTES"),
        .max_header_bytes = (size_t)config_get_int(cfg, "MAX_HEADER_BYTES"),
        .timeout_seconds = (unsigned)config_get_int(cfg, "HTTP_TIMEOUT_SECONDS"),
        .max_connections = (unsigned)config_get_int(cfg, "HTTP_MAX_CONNECTIONS"),
        .max_connections_per_ip = (unsigned)config_get_int(cfg, "HTTP_MAX_CONNECTIONS_PER_IP"),
        .header_timeout_seconds = (unsigned)config_get_int(cfg, "HTTP_HEADER_TIMEOUT_SECONDS"),
        .body_timeout_seconds = (unsigned)config_get_int(cfg, "HTTP_BODY_TIMEOUT_SECONDS"),
        .drain_seconds = (unsigned)config_get_int(cfg, "HTTP_DRAIN_SECONDS"),
    };
    http = http_server_new(&opts);
    app = http ? app_new(cfg, http, TASKD_STAGE.week, TASKD_VERSION) : NULL;
    if (!app || http_use(http, http_log_middleware()) != 0) {
        log_msg(LOG_ERROR, "out of memory at start-up");
        goto done;
    }
    if (TASKD_STAGE.start(app) != 0) {
        log_kv(LOG_ERROR, "the stage did not start",
               (struct log_kv[]){LOG_STR("stage", TASKD_STAGE.name)}, 1);
        goto done;
    }
    if (list_routes) {
        rc = print_routes(http);
        goto done;
    }
    if (http_server_start(http) != 0)
        goto done;
    log_kv(LOG_INFO, "listening",
           (struct log_kv[]){LOG_STR("stage", TASKD_STAGE.name),
                             LOG_STR("address", opts.bind_address),
                             LOG_INT("port", http_server_port(http)),
                             LOG_STR("mode", config_get(cfg, "HTTP_MODE"))},
           4);
    /* Ready only now, when both are true: the socket accepts (a client that connects is
     * served, not refused) and the stage's start() has returned (its routes and resources are
     * there). Said earlier, a supervisor would start what depends on us, or send us traffic,
     * while the port still refused it. */
    lifecycle_serving(&lc, &(struct lifecycle_serving){.program = "taskd",
                                                       .address = opts.bind_address,
                                                       .port = http_server_port(http)});

    int sig = 0;
    for (;;) {
        sigwait(&stop, &sig);
        if (sig != SIGHUP)
            break;
        log_msg(LOG_INFO, "reloading (SIGHUP)");
        if (lifecycle_reload(&lc) == ERR_NOT_FOUND)
            log_msg(LOG_INFO, "SIGHUP: this stage has no settings that change live");
    }
    log_kv(LOG_INFO, "stopping", (struct log_kv[]){LOG_STR("signal", strsignal(sig))}, 1);
    lifecycle_stopping(&lc);
    http_server_stop(http);
    rc = 0;
done:
    http_server_stop(http); /* before the stage's resources go: handlers may still use them */
    lifecycle_close(&lc);
    app_free(app);
    http_server_free(http);
    config_free(cfg);
    if (served && rc == 0)
        log_msg(LOG_INFO, "stopped");
    return rc;
}
