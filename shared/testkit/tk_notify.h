/* tk_notify.h — a fake systemd notify socket, for the tests of a Type=notify service.
 *
 * systemd hands a service $NOTIFY_SOCKET, the address of an AF_UNIX datagram socket, and reads
 * one message per datagram (READY=1, WATCHDOG=1, STATUS=...). A test binds such a socket itself,
 * gives its address to the program under test (NOTIFY_SOCKET=... in its environment, or setenv
 * in a unit test), and reads what arrives, in order. Both address forms systemd uses are
 * offered: a path (in a temp directory of its own) and a name in the abstract namespace
 * ("@name": no file at all). Every wait is bounded. */
#ifndef TASKD_TK_NOTIFY_H
#define TASKD_TK_NOTIFY_H

#include <stdbool.h>

struct tk_notify;

/* Binds a new socket: abstract ("@taskd-test-...") or a path. Fails the test when it cannot. */
struct tk_notify *tk_notify_new(bool abstract);
/* Its address as NOTIFY_SOCKET takes it ("@name" or "/tmp/.../notify"). */
const char *tk_notify_address(const struct tk_notify *n);
/* "NOTIFY_SOCKET=<address>", for an extra_env list. */
const char *tk_notify_env(const struct tk_notify *n);
/* The next message, waiting up to timeout_ms; NULL when none came. Valid until the next call. */
const char *tk_notify_next(struct tk_notify *n, long timeout_ms);
/* Reads messages until one holds the line `line` (e.g. "READY=1"), for up to timeout_ms in
 * total; returns it (valid until the next call) or NULL. *skipped (may be NULL) gets the
 * number of messages read before it. */
const char *tk_notify_wait(struct tk_notify *n, const char *line, long timeout_ms, int *skipped);
/* True when message holds `line` as a whole line ("READY=1", or "STATUS=" as a prefix when
 * line ends in '='). */
bool tk_notify_has(const char *message, const char *line);
/* The value of NAME= in message, copied into buf, or NULL. */
const char *tk_notify_value(const char *message, const char *name, char *buf, unsigned buf_len);
void tk_notify_free(struct tk_notify *n);

#endif
