/* unit_journal.c — is stderr the journal (journal.h), and the priority prefix journald reads off
 * each log line (log_set_priority_prefix in log.h). Criterion runs each test in a process of its
 * own, so redirecting stderr here touches no other test. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "testkit.h"

/* "DEVICE:INODE" of the file open on fd, as systemd writes $JOURNAL_STREAM. */
static void stream_of(int fd, char *out, size_t cap)
{
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    snprintf(out, cap, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

GRADED(journal, matches_only_the_stream_open_on_the_fd, 1)
{
    FILE *a = tmpfile(), *b = tmpfile();
    cr_assert(a && b);
    char stream[64];
    stream_of(fileno(a), stream, sizeof stream);
    cr_expect(journal_stream_matches(stream, fileno(a)), "%s should match its own file", stream);
    cr_expect(!journal_stream_matches(stream, fileno(b)),
              "%s matched another file: a child whose stderr was redirected would prefix its "
              "lines",
              stream);
    fclose(a);
    fclose(b);
}

GRADED(journal, refuses_text_that_is_not_two_decimal_numbers, 1)
{
    FILE *f = tmpfile();
    cr_assert(f);
    char stream[64], bad[96];
    stream_of(fileno(f), stream, sizeof stream);
    cr_expect(!journal_stream_matches(NULL, fileno(f)));
    const char *const forms[] = {"", ":", "%s:", "+%s", " %s", "%sx", "%s:1", "-%s", "%s\n"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(bad, sizeof bad, forms[i], stream);
        cr_expect(!journal_stream_matches(bad, fileno(f)), "\"%s\" was taken for \"%s\"", bad,
                  stream);
    }
    cr_expect(!journal_stream_matches("99999999999999999999999:1", fileno(f)),
              "a device number past ULLONG_MAX was accepted");
    fclose(f);
}

/* Runs the logging calls with stderr on a pipe and returns what they wrote. */
static void capture_stderr(void (*write_lines)(void), char *out, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int saved = dup(STDERR_FILENO);
    cr_assert(saved >= 0 && dup2(p[1], STDERR_FILENO) >= 0);
    write_lines();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(p[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
}

static void error_then_info(void)
{
    log_msg(LOG_ERROR, "disk full");
    log_msg(LOG_WARN, "slow");
    log_msg(LOG_INFO, "served");
}

GRADED(journal, each_line_carries_its_priority_once_turned_on, 2)
{
    char out[2048];
    log_set_level(LOG_DEBUG);
    capture_stderr(error_then_info, out, sizeof out);
    cr_expect(out[0] == '{' && strstr(out, "\n<") == NULL,
              "expected plain JSON lines while the prefix is off:\n%s", out);

    log_set_priority_prefix(1);
    capture_stderr(error_then_info, out, sizeof out);
    cr_expect(strncmp(out, "<3>{\"ts\":", 9) == 0, "expected the error line to start \"<3>{\":\n%s",
              out);
    cr_expect(strstr(out, "\n<4>{\"ts\":") != NULL, "expected the warn line to start \"<4>{\":\n%s",
              out);
    cr_expect(strstr(out, "\n<6>{\"ts\":") != NULL, "expected the info line to start \"<6>{\":\n%s",
              out);
    /* The prefix is journald's, not part of the line a caller is shown. */
    cr_expect(strncmp(log_last_error(), "{\"ts\":", 6) == 0 &&
                  strstr(log_last_error(), "disk full") != NULL,
              "expected log_last_error to be the JSON line without its prefix: %s",
              log_last_error());
}
