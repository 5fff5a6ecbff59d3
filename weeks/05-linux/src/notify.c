/* notify.c — systemd's notify protocol over libsystemd (see notify.h). */
#include "notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "err.h"
#include "log.h"

/* A message is a handful of short lines; a status longer than this is cut. */
#define NOTIFY_MESSAGE_MAX 512

int notify_send(const char *message)
{
    /* unset_environment = 0: the variable stays for the next message (and for the watchdog). */
    int rc = sd_notify(0, message);
    if (rc >= 0)
        return 0;
    log_kv(LOG_WARN, "could not notify the service manager",
           (struct log_kv[]){LOG_STR("error", strerror(-rc))}, 1);
    return ERR_IO;
}

/* head (the state lines), then "STATUS=" and status with its newlines made spaces. */
static int send_with_status(const char *head, const char *status)
{
    char msg[NOTIFY_MESSAGE_MAX];
    int n =
        snprintf(msg, sizeof msg, "%s%s%s", head, status ? "\nSTATUS=" : "", status ? status : "");
    if (n < 0)
        return ERR_INTERNAL;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1; /* a long status is cut */
    for (size_t i = strlen(head) + 1; status && i < len; i++)
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    return notify_send(msg);
}

int notify_ready(const char *status)
{
    return send_with_status("READY=1", status);
}

int notify_reloading(const char *status)
{
    /* MONOTONIC_USEC tells systemd (253 and later, Type=notify-reload) which reload this is:
     * it waits for a READY=1 sent after that moment. Older versions ignore it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char head[80];
    snprintf(head, sizeof head, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    return send_with_status(head, status);
}

int notify_stopping(const char *status)
{
    return send_with_status("STOPPING=1", status);
}

int notify_status(const char *status)
{
    char msg[NOTIFY_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "STATUS=%s", status ? status : "");
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return notify_send(msg);
}

int notify_watchdog(void)
{
    return notify_send("WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    /* > 0: enabled for this process; 0: not asked for; < 0: a malformed variable (treated as
     * not asked for, and said). */
    int rc = sd_watchdog_enabled(0, &usec);
    if (rc < 0)
        log_kv(LOG_WARN, "ignoring a malformed WATCHDOG_USEC or WATCHDOG_PID",
               (struct log_kv[]){LOG_STR("error", strerror(-rc))}, 1);
    return rc > 0 ? usec : 0;
}
