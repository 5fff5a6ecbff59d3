/* probe_cli.c — taskd-probe's arguments and its two checks (see probe_cli.h). */
#include "probe_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "health_file.h"
#include "probe.h"
#include "timeutil.h"

const char probe_cli_usage[] =
    "usage: taskd-probe http PORT [PATH]\n"
    "       taskd-probe file PATH MAX_AGE_SECONDS\n"
    "\n"
    "A container healthcheck for taskd and taskd-worker (Docker HEALTHCHECK, compose\n"
    "healthcheck:), for images without curl or a shell.\n"
    "\n"
    "  http  GET PATH (default /health) on 127.0.0.1:PORT (1-65535); healthy when it answers\n"
    "        2xx within 2 s. /health: the process answers; /ready: it can serve (503 while\n"
    "        PostgreSQL is down).\n"
    "  file  the file HEALTH_FILE names (taskd-worker rewrites it at most once a second while\n"
    "        its loop turns); healthy when it says \"serving\" and was written at most\n"
    "        MAX_AGE_SECONDS (1-86400) ago.\n"
    "\n"
    "Exit status: 0 healthy, 1 unhealthy (one line on stderr says why), 2 usage error.\n";

/* A decimal number of at most 9 digits, nothing else (no sign, no space), in [lo, hi]. */
static bool parse_bounded(const char *s, long lo, long hi, long *out)
{
    size_t n = strnlen(s, 10);
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int probe_cli_parse(int argc, char *const argv[], struct probe_cli *out, char *why, size_t why_len)
{
    *out = (struct probe_cli){0};
    const char *mode = argc > 1 ? argv[1] : "";
    long n = 0;
    if (strcmp(mode, "http") == 0) {
        if (argc < 3 || argc > 4) {
            snprintf(why, why_len, "http takes PORT and an optional PATH");
            return ERR_INVALID;
        }
        if (!parse_bounded(argv[2], 1, 65535, &n)) {
            snprintf(why, why_len, "PORT must be a whole number from 1 to 65535, not '%.32s'",
                     argv[2]);
            return ERR_INVALID;
        }
        const char *path = argc == 4 ? argv[3] : "/health";
        if (!probe_http_path_ok(path)) {
            snprintf(why, why_len,
                     "PATH must start with / and be printable ASCII without spaces, at most %d "
                     "bytes",
                     PROBE_PATH_MAX);
            return ERR_INVALID;
        }
        *out = (struct probe_cli){.mode = PROBE_CLI_HTTP, .port = (unsigned)n, .target = path};
        return 0;
    }
    if (strcmp(mode, "file") == 0) {
        if (argc != 4) {
            snprintf(why, why_len, "file takes PATH and MAX_AGE_SECONDS");
            return ERR_INVALID;
        }
        size_t len = strnlen(argv[2], HEALTH_FILE_PATH_MAX + 1);
        if (len == 0 || len > HEALTH_FILE_PATH_MAX) {
            snprintf(why, why_len, "PATH must be 1 to %d bytes long", HEALTH_FILE_PATH_MAX);
            return ERR_INVALID;
        }
        if (!parse_bounded(argv[3], 1, 86400, &n)) {
            snprintf(why, why_len,
                     "MAX_AGE_SECONDS must be a whole number from 1 to 86400, not '%.32s'",
                     argv[3]);
            return ERR_INVALID;
        }
        *out = (struct probe_cli){.mode = PROBE_CLI_FILE, .target = argv[2], .max_age_s = (int)n};
        return 0;
    }
    if (*mode)
        snprintf(why, why_len, "unknown check '%.32s' (http or file)", mode);
    else
        snprintf(why, why_len, "which check: http or file?");
    return ERR_INVALID;
}

/* GET on the loopback: healthy on a 2xx, as an HTTP client would take it. */
static int run_http(const struct probe_cli *c, char *line, size_t line_len)
{
    struct probe_answer a;
    int rc =
        probe_http_get("127.0.0.1", c->port, c->target, "taskd-probe", PROBE_CLI_TIMEOUT_MS, &a);
    if (rc != 0) {
        snprintf(line, line_len, "GET %s on 127.0.0.1:%u: %s", c->target, c->port, a.why);
        return ERR_UNAVAILABLE;
    }
    snprintf(line, line_len, "GET %s on 127.0.0.1:%u answered %d", c->target, c->port, a.status);
    return a.status >= 200 && a.status <= 299 ? 0 : ERR_UNAVAILABLE;
}

int probe_cli_run(const struct probe_cli *c, char *line, size_t line_len)
{
    if (c->mode == PROBE_CLI_HTTP)
        return run_http(c, line, line_len);
    return health_file_check(c->target, clock_now_us() / 1000000, c->max_age_s, line, line_len);
}
