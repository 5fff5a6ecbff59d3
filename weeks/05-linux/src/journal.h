/* journal.h — is this process's stderr the systemd journal?
 *
 * systemd connects a service's stdout/stderr to journald (StandardError=journal, the default)
 * and says so in $JOURNAL_STREAM: "DEVICE:INODE" of that stream (systemd.exec(5)). A program
 * that compares it with fstat() of its own stderr knows whether its lines reach journald, and not
 * merely whether some ancestor's did (a child whose stderr was redirected inherits the variable
 * but not the stream). Stage 5 then prefixes each log line with its syslog priority
 * (log_set_priority_prefix), so `journalctl -p err` works; see decision 0025. */
#ifndef TASKD_JOURNAL_H
#define TASKD_JOURNAL_H

#include <stdbool.h>

/* True when stream ("DEVICE:INODE" in decimal, as $JOURNAL_STREAM holds it) names the file
 * open on fd. False for NULL, for text that is not two decimal numbers, or for another file. */
bool journal_stream_matches(const char *stream, int fd);

/* journal_stream_matches($JOURNAL_STREAM, STDERR_FILENO). */
bool journal_is_stderr(void);

#endif
