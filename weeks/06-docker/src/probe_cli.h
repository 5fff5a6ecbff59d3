/* probe_cli.h — what `taskd-probe` is asked and what it answers (bin/taskd-probe.c is its main).
 *
 * A container engine's healthcheck runs a command inside the container and reads its exit
 * status: 0 healthy, 1 unhealthy. The slim image has neither curl nor a shell, so the stage
 * ships its own command:
 *   taskd-probe http PORT [PATH]            GET PATH (default /health) on 127.0.0.1:PORT, with
 *                                           week 5's probe (probe.h): healthy on a 2xx within
 *                                           2 s (/ready is 503 while PostgreSQL is down)
 *   taskd-probe file PATH MAX_AGE_SECONDS   the health file (health_file.h): healthy when it
 *                                           says serving and was written at most MAX_AGE ago
 * The arguments are checked here, bounded, before anything is asked; the parsing and the check
 * live in this module rather than in main, so the unit suite tests them. main prints one line
 * and picks the exit status (2 for a usage error). */
#ifndef TASKD_PROBE_CLI_H
#define TASKD_PROBE_CLI_H

#include <stddef.h>

/* The longest a check may take in all: connecting, asking and reading the status line. */
#define PROBE_CLI_TIMEOUT_MS 2000
/* Room for the line probe_cli_run writes: a health file's path and the words around it. */
#define PROBE_CLI_LINE_MAX 4608

enum probe_cli_mode { PROBE_CLI_HTTP, PROBE_CLI_FILE };

struct probe_cli {
    enum probe_cli_mode mode;
    unsigned port;      /* http: 1..65535 */
    const char *target; /* http: the path ("/health" when not given); file: the file */
    int max_age_s;      /* file: 1..86400 */
};

/* The usage text, for --help and after a usage error. */
extern const char probe_cli_usage[];

/* Reads argv[1..argc-1] into *out (its strings are argv's). 0, or ERR_INVALID with why saying
 * which argument is wrong and what it must be ("PORT must be a whole number from 1 to 65535,
 * not '80a'"). */
int probe_cli_parse(int argc, char *const argv[], struct probe_cli *out, char *why, size_t why_len);

/* Runs the check once. 0 when healthy; ERR_UNAVAILABLE (http: no answer, or not a 2xx) or the
 * file check's code (health_file_check) when not. Either way line gets one line without its
 * newline, to print after "taskd-probe: ": "GET /ready on 127.0.0.1:8080 answered 503". */
int probe_cli_run(const struct probe_cli *c, char *line, size_t line_len);

#endif
