/* envfile.h — files of NAME=value lines, in the format of systemd's EnvironmentFile=.
 *
 * Under systemd a service's environment is fixed when it is started, so a reload cannot get new
 * values from it: taskd reads them from a file instead (TASKD_CONFIG_FILE), and it reads the
 * same format systemd does, so one file (/etc/taskd/taskd.env) can serve both. What is read:
 * blank lines; comments (a line whose first non-blank character is # or ;); and NAME=value,
 * with blanks around NAME and value ignored and one pair of matching quotes ("..." or '...')
 * around the value removed. NAME is letters, digits and '_', not starting with a digit. A line
 * ending in a backslash (a continuation) is refused rather than half understood. */
#ifndef TASKD_ENVFILE_H
#define TASKD_ENVFILE_H

#include <stddef.h>

#define ENVFILE_MAX_BYTES ((size_t)64 * 1024)
#define ENVFILE_LINE_MAX  ((size_t)4096)

/* Called for each setting, in file order; a non-zero return stops the parse and is returned. */
typedef int (*envfile_setting_fn)(const char *name, const char *value, void *ctx);

/* Parses text[0..len). 0, the callback's error, or ERR_INVALID with why saying which line and
 * what is wrong with it (never the value: it may be a secret). */
int envfile_parse(const char *text, size_t len, envfile_setting_fn fn, void *ctx, char *why,
                  size_t why_len);

/* The whole file at path (at most ENVFILE_MAX_BYTES), NUL-terminated, in *text (the caller
 * frees it). 0, ERR_IO or ERR_TOO_LARGE (why says which), or ERR_NOMEM. */
int envfile_read(const char *path, char **text, size_t *len, char *why, size_t why_len);

#endif
