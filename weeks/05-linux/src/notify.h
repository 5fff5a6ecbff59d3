/* notify.h — systemd's notify protocol (sd_notify(3)): the one place that speaks it.
 *
 * A service started with Type=notify tells systemd how it is doing by sending datagrams of
 * NAME=value lines to the AF_UNIX socket named in $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace): READY=1 once it serves, RELOADING=1 and READY=1 around a reload,
 * STOPPING=1 when it drains, WATCHDOG=1 as a sign of life, STATUS= for `systemctl status`.
 * libsystemd does the sending. Without $NOTIFY_SOCKET (`make run`, the tests of other weeks)
 * every call is a no-op that succeeds: nobody is listening, and that is fine. */
#ifndef TASKD_NOTIFY_H
#define TASKD_NOTIFY_H

#include <stdint.h>

/* Sends message as it is. 0 when sent or when there is no socket; ERR_IO (logged) when the
 * socket is set but the send failed. */
int notify_send(const char *message);

/* The messages the service sends; status (may be NULL) becomes a STATUS= line, its newlines
 * turned into spaces so it cannot add lines of its own. Each returns what notify_send does. */
int notify_ready(const char *status);     /* READY=1 */
int notify_reloading(const char *status); /* RELOADING=1 and MONOTONIC_USEC= */
int notify_stopping(const char *status);  /* STOPPING=1 */
int notify_status(const char *status);    /* STATUS= alone */
int notify_watchdog(void);                /* WATCHDOG=1 */

/* The watchdog interval systemd expects pings within ($WATCHDOG_USEC, when $WATCHDOG_PID is
 * unset or this process), in microseconds; 0 when no watchdog is asked for. */
uint64_t notify_watchdog_usec(void);

#endif
