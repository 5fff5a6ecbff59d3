/* log.h — structured logs: one JSON object per line on stderr.
 *
 * Every line has "ts", "level" and "msg"; callers add key/value fields. A log shipper (or jq)
 * reads the lines without guessing. Secrets never go through here: log the fact, not the value.
 * Writes are a single write(2) of a whole line, so lines from different threads never mix. */
#ifndef TASKD_LOG_H
#define TASKD_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_kv_kind { LOG_KV_STR, LOG_KV_INT, LOG_KV_DOUBLE };

struct log_kv {
    const char *key;
    enum log_kv_kind kind;
    const char *str; /* LOG_KV_STR; NULL is written as null */
    long long num;   /* LOG_KV_INT */
    double dbl;      /* LOG_KV_DOUBLE */
};

#define LOG_STR(k, v) ((struct log_kv){.key = (k), .kind = LOG_KV_STR, .str = (v)})
#define LOG_INT(k, v) ((struct log_kv){.key = (k), .kind = LOG_KV_INT, .num = (v)})
#define LOG_DBL(k, v) ((struct log_kv){.key = (k), .kind = LOG_KV_DOUBLE, .dbl = (v)})

/* Parses "debug" | "info" | "warn" | "error"; returns 0 or ERR_INVALID. */
int log_level_parse(const char *name, enum log_level *out);
/* The name log_level_parse reads ("info"); "?" for a value out of range. */
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* With on != 0, every line starts with its syslog priority in angle brackets ("<3>" for error,
 * "<4>" warn, "<6>" info, "<7>" debug: sd-daemon(3)). journald reads that prefix off a service's
 * stderr, files the line at that priority and drops the prefix, so `journalctl -p err` finds
 * the error lines and MESSAGE stays the JSON object. Off by default: on a terminal, in a file
 * or in a pipe the prefix would only break the JSON. Week 5 turns it on when stderr is the
 * journal. */
void log_set_priority_prefix(int on);

/* Writes one line with msg and the n fields in kv (kv may be NULL when n is 0). */
void log_kv(enum log_level level, const char *msg, const struct log_kv *kv, size_t n);
void log_msg(enum log_level level, const char *msg);
/* The last error line (without its newline) that the calling thread wrote, cut to 511 bytes; ""
 * before the first. A caller that turns an error into a bare code (a unit test's "internal
 * error") shows it, so the reason the module logged travels with the code. */
const char *log_last_error(void);

#endif
