/* taskd-probe.c — main() of the containers' healthcheck command (stage 6).
 *
 * Docker's HEALTHCHECK (and compose's healthcheck:) runs a command in the container every
 * interval and reads its exit status. The stage's slim image has no curl and no shell, so this
 * small program is the command: `taskd-probe http 8080 /ready` for taskd, `taskd-probe file
 * /run/taskd/health 30` for taskd-worker (probe_cli.h says what each checks). It reads no
 * environment and opens nothing but the one connection or the one file, so it stays cheap to
 * run every few seconds. This file is only the wiring: arguments, one line of output, the exit
 * status.
 *
 * Exit status: 0 healthy (one line on stdout saying what was seen), 1 unhealthy (one line on
 * stderr saying why, which `docker inspect` shows), 2 for a usage error (with the usage). */
#include <stdio.h>

#include "config.h"
#include "probe_cli.h"

int main(int argc, char **argv)
{
    if (config_help_requested(argc, argv)) {
        fputs(probe_cli_usage, stdout);
        return 0;
    }
    struct probe_cli c;
    char why[256];
    if (probe_cli_parse(argc, argv, &c, why, sizeof why) != 0) {
        fprintf(stderr, "taskd-probe: %s\n\n%s", why, probe_cli_usage);
        return 2;
    }
    char line[PROBE_CLI_LINE_MAX];
    int rc = probe_cli_run(&c, line, sizeof line);
    fprintf(rc == 0 ? stdout : stderr, "taskd-probe: %s\n", line);
    return rc == 0 ? 0 : 1;
}
