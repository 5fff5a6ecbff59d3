/* probe.h — the liveness checks the watchdog makes before each ping (watchdog.h).
 *
 * A ping must mean "this program still does its work", not "a timer thread still runs": a
 * process whose event loops are stuck keeps every other thread alive. So the watchdog asks a
 * probe first, and a probe is evidence from the work itself:
 *   - taskd: probe_http asks the real server, over loopback, for GET /health, through the same
 *     listening socket, event loop, router and handler as any client;
 *   - taskd-worker: a heartbeat its job loop advances every turn; the probe checks it moved
 *     since the last check. */
#ifndef TASKD_PROBE_H
#define TASKD_PROBE_H

#include <stdatomic.h>

/* GET /health on address:port (a wildcard address is asked on its loopback: 0.0.0.0 on
 * 127.0.0.1, :: on ::1). 0 when a 200 came back within timeout_ms in total, else ERR_UNAVAILABLE.
 */
int probe_http(const char *address, unsigned port, int timeout_ms);

/* Advanced by the loop that does the work (any thread), checked by the watchdog (one thread). */
struct heartbeat {
    atomic_ullong beats;
    unsigned long long seen; /* the count at the last check: the watchdog's own */
};

void heartbeat_beat(struct heartbeat *h);
/* 0 when the heartbeat moved since the previous check (or since it was zeroed), else
 * ERR_UNAVAILABLE. */
int heartbeat_check(struct heartbeat *h);

#endif
