/* Lab copy of weeks/06-docker/src/health_file.c (made by shared/scripts/labgen.sh): write your code here.
 * Each TODO(lab N.M) is one exercise; labs/06-docker/README.md explains them. */
/* health_file.c — the health file's one line, written atomically and checked (see
 * health_file.h). */
#include "health_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/* The longest STATE and PROGRAM, and the most digits of a UNIX_TIME. */
#define WORD_MAX   48
#define DIGITS_MAX 18

/* A word of the line: 1..WORD_MAX of [A-Za-z0-9._-] (no space, nothing a line could break on). */
static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool word_ok(const char *s)
{
    size_t n = s ? strnlen(s, WORD_MAX + 1) : 0;
    if (n == 0 || n > WORD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!word_char(s[i]))
            return false;
    return true;
}

int health_file_write(const char *path, const char *state, const char *program, int64_t unix_s,
                      char *why, size_t why_len)
{
    char line[HEALTH_FILE_LINE_MAX];
    char tmp[HEALTH_FILE_PATH_MAX + 8];
    int fd = -1;
    bool made = false; /* tmp exists, and is ours to remove */
    if (!word_ok(state) || !word_ok(program)) {
        snprintf(why, why_len, "the state and the program must be words of [A-Za-z0-9._-]");
        return ERR_INVALID;
    }
    int len = snprintf(line, sizeof line, "%s %s %lld\n", state, program, (long long)unix_s);
    size_t plen = path ? strnlen(path, HEALTH_FILE_PATH_MAX + 1) : 0;
    if (len < 0 || (size_t)len >= sizeof line || plen == 0 || plen > HEALTH_FILE_PATH_MAX) {
        snprintf(why, why_len, "the path must be 1 to %d bytes long", HEALTH_FILE_PATH_MAX);
        return ERR_INVALID;
    }
    snprintf(why, why_len, "cannot write %s", path);
    int rc = ERR_IO;
    /* TODO(lab 6.5): Write the line into a new file beside path, then rename it over path. */
done:
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    return rc;
}

/* The line, taken apart. */
struct health_line {
    char state[WORD_MAX + 1];
    char program[WORD_MAX + 1];
    long long unix_s;
};

/* Copies the word at *p into out and moves *p past it; false when there is none. */
static bool take_word(const char **p, const char *end, char *out)
{
    size_t n = 0;
    while (*p + n < end && word_char((*p)[n]) && n < WORD_MAX)
        n++;
    if (n == 0 || (*p + n < end && word_char((*p)[n])))
        return false;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return true;
}

/* "STATE PROGRAM UNIX_TIME" with one space between, then "\n" or nothing: exactly what
 * health_file_write writes. 0 or ERR_MALFORMED. */
static int parse_line(const char *text, size_t len, struct health_line *out)
{
    const char *p = text, *end = text + len;
    if (len > 0 && end[-1] == '\n')
        end--;
    if (!take_word(&p, end, out->state) || p >= end || *p++ != ' ' ||
        !take_word(&p, end, out->program) || p >= end || *p++ != ' ')
        return ERR_MALFORMED;
    long long t = 0;
    size_t digits = 0;
    for (; p < end && *p >= '0' && *p <= '9' && digits < DIGITS_MAX; p++, digits++)
        t = t * 10 + (*p - '0');
    if (digits == 0 || p != end)
        return ERR_MALFORMED;
    out->unix_s = t;
    return 0;
}

/* Reads the whole file into buf (at most cap - 1 bytes, NUL-terminated); *len gets its length.
 * 0, ERR_IO (errno set), or ERR_TOO_LARGE when it holds more than cap - 1 bytes. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    int rc = 0;
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ERR_IO;
            break;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        if (have == cap - 1) { /* full: one byte more means too long */
            char more;
            ssize_t m = read(fd, &more, 1);
            rc = m == 0 ? 0 : m > 0 ? ERR_TOO_LARGE : ERR_IO;
            break;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    buf[have] = '\0';
    *len = have;
    return rc;
}

int health_file_check(const char *path, int64_t now_s, int max_age_s, char *what, size_t what_len)
{
    char text[HEALTH_FILE_LINE_MAX + 1];
    size_t len = 0;
    struct health_line l;
    int rc = read_small(path, text, sizeof text, &len);
    if (rc == ERR_TOO_LARGE) {
        snprintf(what, what_len, "%s is longer than a health file's line (%d bytes)", path,
                 HEALTH_FILE_LINE_MAX);
        return ERR_MALFORMED;
    }
    if (rc != 0) {
        int err = errno;
        snprintf(what, what_len, "cannot read %s: %s%s", path, strerror(err),
                 err == ENOENT ? " (not serving yet?)" : "");
        return ERR_IO;
    }
    if (parse_line(text, len, &l) != 0) {
        snprintf(what, what_len, "%s does not hold \"STATE PROGRAM UNIX_TIME\"", path);
        return ERR_MALFORMED;
    }
    snprintf(what, what_len, "%s says %s (%s)", path, l.state, l.program);
    /* TODO(lab 6.6): Healthy only when it says serving and was written at most max_age_s ago. */
    return 0;
}
