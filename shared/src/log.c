/* log.c — JSON-lines logging on stderr (see log.h).
 *
 * A line is built in memory and handed to write(2) whole, in one call (a short write is
 * continued by further calls). POSIX keeps a write to a pipe of up to PIPE_BUF bytes (4096 on
 * Linux) in one piece; a longer line, or the rest of a short write, may interleave with another
 * thread's line (there is no lock). One call still avoids the mixing that several fprintf()
 * calls from different threads would produce. */
#include "log.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "timeutil.h"

static atomic_int min_level = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* The syslog priority of each level (LOG_DEBUG 7 ... LOG_ERR 3), as log_set_priority_prefix
 * writes it. */
static const char *const level_prefixes[] = {"<7>", "<6>", "<4>", "<3>"};
static atomic_int priority_prefix;

/* The last error line this thread wrote (see log_last_error). Thread-local: a request's thread
 * never reports another's error. */
static _Thread_local char last_error[512];

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return ERR_INVALID;
}

const char *log_level_name(enum log_level level)
{
    size_t i = (size_t)level;
    return i < sizeof level_names / sizeof level_names[0] ? level_names[i] : "?";
}

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

void log_set_priority_prefix(int on)
{
    atomic_store(&priority_prefix, on != 0);
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&min_level);
}

void log_kv(enum log_level level, const char *msg, const struct log_kv *kv, size_t n)
{
    if (!log_enabled(level))
        return;
    char ts[RFC3339_MAX];
    if (rfc3339_format(clock_now_us(), ts, sizeof ts) != 0)
        ts[0] = '\0';
    struct buf tmp = BUF_INIT;
    size_t json_at = 0; /* where the JSON object starts, after a priority prefix */
    if (atomic_load(&priority_prefix)) {
        buf_puts(&tmp, level_prefixes[level]);
        json_at = tmp.len;
    }
    buf_puts(&tmp, "{\"ts\":\"");
    buf_puts(&tmp, ts);
    buf_puts(&tmp, "\",\"level\":\"");
    buf_puts(&tmp, level_names[level]);
    buf_puts(&tmp, "\",\"msg\":");
    buf_json_string(&tmp, msg, strlen(msg));
    for (size_t i = 0; i < n; i++) {
        buf_putc(&tmp, ',');
        buf_json_string(&tmp, kv[i].key, strlen(kv[i].key));
        buf_putc(&tmp, ':');
        switch (kv[i].kind) {
        case LOG_KV_STR:
            if (kv[i].str)
                buf_json_string(&tmp, kv[i].str, strlen(kv[i].str));
            else
                buf_puts(&tmp, "null");
            break;
        case LOG_KV_INT:
            buf_printf(&tmp, "%lld", kv[i].num);
            break;
        case LOG_KV_DOUBLE:
            buf_printf(&tmp, "%.3f", kv[i].dbl);
            break;
        }
    }
    buf_puts(&tmp, "}\n");
    if (!tmp.failed && level == LOG_ERROR) {
        size_t line = tmp.len - 1 - json_at;
        size_t keep = line < sizeof last_error - 1 ? line : sizeof last_error - 1;
        memcpy(last_error, tmp.data + json_at, keep);
        last_error[keep] = '\0';
    }
    if (!tmp.failed) {
        /* stderr may be a pipe or a file; a short write is retried, an error is dropped (there
         * is nowhere left to report it). */
        size_t off = 0;
        while (off < tmp.len) {
            ssize_t w = write(STDERR_FILENO, tmp.data + off, tmp.len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    buf_free(&tmp);
}

const char *log_last_error(void)
{
    return last_error;
}

void log_msg(enum log_level level, const char *msg)
{
    log_kv(level, msg, NULL, 0);
}
