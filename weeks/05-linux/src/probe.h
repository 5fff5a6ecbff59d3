/* probe.h — the liveness checks the watchdog makes before each ping (watchdog.h).
 *
 * A ping must mean "this program still does its work", not "a timer thread still runs": a
 * process whose event loops are stuck keeps every other thread alive. So the watchdog asks a
 * probe first, and a probe is evidence from the work itself:
 *   - taskd: probe_http asks the real server, over loopback, for GET /health, through the same
 *     listening socket, event loop, router and handler as any client (probe_http_get is the
 *     same request for any path: week 6's container healthcheck, taskd-probe, is built on it);
 *   - taskd-worker: a heartbeat its job loop advances every turn; the probe checks it moved
 *     since the last check. */
#ifndef TASKD_PROBE_H
#define TASKD_PROBE_H

#include <stdatomic.h>
#include <stdbool.h>

/* GET /health on address:port (a wildcard address is asked on its loopback: 0.0.0.0 on
 * 127.0.0.1, :: on ::1). 0 when a 200 came back within timeout_ms in total, else ERR_UNAVAILABLE.
 */
int probe_http(const char *address, unsigned port, int timeout_ms);

/* The longest request path probe_http_get sends. */
#define PROBE_PATH_MAX 256

/* True for a path probe_http_get sends as it is: "/" and printable ASCII without spaces, at
 * most PROBE_PATH_MAX bytes. */
bool probe_http_path_ok(const char *path);

/* What one GET came back with. */
struct probe_answer {
    int status; /* the HTTP status code, when probe_http_get returned 0 */
    /* Otherwise why there is none, a phrase for a log line or a message: "cannot connect:
     * Connection refused", "no answer within 2000 ms"... */
    char why[160];
};

/* The request under probe_http, for any path (week 6's taskd-probe asks /ready too): GET path
 * on address:port (wildcards as above), "User-Agent: agent", everything within timeout_ms.
 * 0 when a status line came back (out->status, whatever it is: the caller decides what is
 * healthy); ERR_INVALID for a path probe_http_path_ok refuses; ERR_UNAVAILABLE when nothing
 * answered (out->why says how). Only the status line is read: a probe needs nothing else, and
 * reads no unbounded body. */
int probe_http_get(const char *address, unsigned port, const char *path, const char *agent,
                   int timeout_ms, struct probe_answer *out);

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
