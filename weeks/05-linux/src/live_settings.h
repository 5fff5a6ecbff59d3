/* live_settings.h — the settings taskd (and its worker) may change without a restart.
 *
 * Most settings are copied into the objects built at start-up (the listening port, the pools'
 * sizes, the signing key), and changing them under a running process would be a restart in
 * disguise. One is read at every use: LOG_LEVEL (log.h keeps it in an atomic). It is the live
 * setting: it comes from the environment at start, and from TASKD_CONFIG_FILE, a file of
 * NAME=value lines (envfile.h) read at start and again on SIGHUP, which wins over the
 * environment. The file may hold any other setting too (it can be the unit's EnvironmentFile):
 * those are left alone, and one whose value differs from the running one is named in the log
 * as needing a restart.
 *
 * A reload validates everything before it changes anything: live_settings_read gives a whole,
 * checked new set or nothing, and only then does the caller apply it. A bad file never leaves
 * the process half reloaded, and never stops it. */
#ifndef TASKD_LIVE_SETTINGS_H
#define TASKD_LIVE_SETTINGS_H

#include <stddef.h>

#include "log.h"

struct config;

struct live_settings {
    enum log_level log_level;
};

/* The live settings of the running configuration, overridden by the file at path (NULL: no
 * file). 0 and *out filled; or ERR_INVALID / ERR_IO / ERR_TOO_LARGE / ERR_NOMEM with *out
 * untouched and why saying the first problem (a line number, a name, never a value). */
int live_settings_read(const struct config *running, const char *path, struct live_settings *out,
                       char *why, size_t why_len);

/* Makes s the process's settings. */
void live_settings_apply(const struct live_settings *s);

#endif
