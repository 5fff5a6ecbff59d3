/* log_config.h — LOG_LEVEL, the one setting every program of the service shares.
 *
 * taskd and taskd-worker (and every later program) declare it the same way and apply it the
 * same way, so `LOG_LEVEL=debug` means one thing everywhere. It sits above log.h and config.h
 * and is the only place that knows both. */
#ifndef TASKD_LOG_CONFIG_H
#define TASKD_LOG_CONFIG_H

struct config;

/* Declares LOG_LEVEL (debug|info|warn|error, default info). 0 or an ERR_ code. */
int log_config_declare(struct config *cfg);
/* Sets the process's log level from the loaded configuration. */
void log_config_apply(const struct config *cfg);

#endif
