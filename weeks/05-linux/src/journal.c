/* journal.c — is this process's stderr the systemd journal? (see journal.h) */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses a decimal number of at most ULLONG_MAX from *s up to stop; advances *s. */
static bool parse_number(const char **s, char stop, unsigned long long *out)
{
    const char *p = *s;
    if (*p < '0' || *p > '9') /* strtoull would take a sign or spaces */
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno != 0 || end == p || *end != stop)
        return false;
    *out = v;
    *s = end;
    return true;
}

bool journal_stream_matches(const char *stream, int fd)
{
    if (!stream)
        return false;
    unsigned long long dev = 0, ino = 0;
    const char *p = stream;
    if (!parse_number(&p, ':', &dev))
        return false;
    p++;
    if (!parse_number(&p, '\0', &ino))
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool journal_is_stderr(void)
{
    return journal_stream_matches(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}
