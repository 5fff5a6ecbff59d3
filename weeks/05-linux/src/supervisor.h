/* supervisor.h — stage 5's lifecycle provider: taskd and taskd-worker under systemd.
 *
 * The hooks the core calls at each moment of a program's life (lifecycle.h), made into the
 * messages systemd's Type=notify expects (notify.h) and the watchdog (watchdog.h):
 *   start      the live settings are read (TASKD_CONFIG_FILE wins over the environment) and
 *              applied; a STATUS= line says what the program does while it starts;
 *   serving    READY=1 with a STATUS= naming where it serves; then, when systemd asks for a
 *              watchdog ($WATCHDOG_USEC), the thread that pings after each liveness probe;
 *   SIGHUP     RELOADING=1, the live settings read and checked, swapped in only when all are
 *              valid (else the old ones stay, and the log says why), then READY=1 either way;
 *   SIGTERM    the watchdog stops first (the probe of a draining server would fail), then
 *              STOPPING=1 and a STATUS= saying it drains.
 * Without $NOTIFY_SOCKET the messages go nowhere, and without $WATCHDOG_USEC no thread runs:
 * `make run` and the earlier weeks' suites see no difference but a working SIGHUP. */
#ifndef TASKD_SUPERVISOR_H
#define TASKD_SUPERVISOR_H

#include "lifecycle.h"

extern const struct lifecycle_provider supervisor_systemd;

#endif
