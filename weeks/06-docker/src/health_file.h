/* health_file.h — a file that says a program still does its work, for a container healthcheck.
 *
 * A container engine decides whether a container is healthy by running a command inside it
 * (Docker's HEALTHCHECK, compose's healthcheck:) and reading its exit status. taskd answers
 * HTTP, so its check asks GET /health or /ready (taskd-probe http). taskd-worker has no port:
 * what proves it works is that its loop turns. So, when HEALTH_FILE names a file, the stage's
 * lifecycle (supervisor_container.h) writes this file when the program starts serving, again
 * each time the worker's loop turns (at most once a second), and once more when it stops; the
 * check (taskd-probe file) reads it back.
 *
 * The file is one line:   STATE PROGRAM UNIX_TIME\n      e.g. "serving taskd-worker 1733450000"
 * STATE is "serving", or "stopping" from SIGTERM on, so that a draining program fails its check
 * at once. The line is replaced atomically, never rewritten in place: a reader that opens the
 * file while it is being written would otherwise read it empty or cut, and call a healthy
 * program unhealthy. */
#ifndef TASKD_HEALTH_FILE_H
#define TASKD_HEALTH_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The longest path of a health file (the HEALTH_FILE setting), and the longest line. */
#define HEALTH_FILE_PATH_MAX 4096
#define HEALTH_FILE_LINE_MAX 128

/* Writes "state program unix_s\n" into path: into a new temporary file in the same directory
 * first (path.XXXXXX), which rename(2) then puts in path's place in one step. state and program
 * are words of [A-Za-z0-9._-]. 0; ERR_INVALID (a bad word, a path too long); ERR_IO when a
 * step failed (the temporary file is removed). On failure why says what failed, naming the
 * file ("cannot create /run/taskd/health.Xa81bQ: No such file or directory"). */
int health_file_write(const char *path, const char *state, const char *program, int64_t unix_s,
                      char *why, size_t why_len);

/* The check of taskd-probe file: reads path (at most HEALTH_FILE_LINE_MAX bytes) at now_s.
 * 0 when it says "serving" and its time is at most max_age_s from now_s; ERR_UNAVAILABLE when it
 * says another state, or its time is further away (older, or in the future: a clock set back);
 * ERR_IO when it cannot be read; ERR_MALFORMED when it is not the line above. Either way, what
 * says what was found, in a phrase that names the file ("/run/taskd/health says stopping
 * (taskd-worker), not serving"). */
int health_file_check(const char *path, int64_t now_s, int max_age_s, char *what, size_t what_len);

#endif
