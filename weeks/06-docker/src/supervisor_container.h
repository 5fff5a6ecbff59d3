/* supervisor_container.h — stage 6's lifecycle provider: stage 5's, plus a health file for a
 * container's healthcheck.
 *
 * In a container nobody reads systemd's notify socket; the engine runs a healthcheck command
 * in the container instead. For taskd that command asks its HTTP port (taskd-probe http). The
 * worker has no port, so this provider leaves the evidence in a file (health_file.h) when
 * HEALTH_FILE names one:
 *   open       a file left by an earlier run of the container is removed: until this run
 *              serves, the check must not read that run's "serving";
 *   serving    "serving PROGRAM TIME", written atomically;
 *   alive      (the worker's loop, every turn) the same line with the new time, at most once a
 *              second: a clock read and a comparison on every other turn, so the loop pays
 *              nothing for it;
 *   SIGTERM    "stopping PROGRAM TIME" at once, so that the check fails while the program
 *              drains; alive writes nothing more.
 * taskd calls no alive (its loops are libmicrohttpd's): its file says when it started serving
 * and when it stopped, and its healthcheck is HTTP.
 *
 * A file that cannot be written is logged once (and once more when writing works again), never
 * a reason to stop: the program still does its work, only its healthcheck will say otherwise.
 * Every hook first calls stage 5's (supervisor.h), so stage 6 under systemd still says READY=1,
 * pings its watchdog, reloads on SIGHUP and says STOPPING=1. The hooks run on one thread at a
 * time (taskd's main thread; the worker's, which also runs its loop). */
#ifndef TASKD_SUPERVISOR_CONTAINER_H
#define TASKD_SUPERVISOR_CONTAINER_H

#include "lifecycle.h"

extern const struct lifecycle_provider supervisor_container;

#endif
