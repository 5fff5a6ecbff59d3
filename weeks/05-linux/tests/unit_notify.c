/* unit_notify.c — the messages of systemd's notify protocol (notify.h), read from a fake
 * NOTIFY_SOCKET the test binds (tk_notify.h): by path and in the abstract namespace, and
 * nothing at all (and no error) when NOTIFY_SOCKET is unset. Criterion runs each test in a
 * process of its own, so setenv here touches no other test. */
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "testkit.h"
#include "tk_notify.h"

static struct tk_notify *listen_here(bool abstract)
{
    struct tk_notify *n = tk_notify_new(abstract);
    cr_assert(setenv("NOTIFY_SOCKET", tk_notify_address(n), 1) == 0);
    return n;
}

static void expect_message(struct tk_notify *n, const char *want)
{
    const char *m = tk_notify_next(n, 5000);
    cr_assert(m, "no message arrived (expected \"%s\")", want);
    cr_assert_str_eq(m, want, "expected the message \"%s\", got \"%s\"", want, m);
}

GRADED(notify, ready_with_status_on_a_path_socket, 2)
{
    struct tk_notify *n = listen_here(false);
    cr_assert_eq(notify_ready("taskd serving on 127.0.0.1:8080"), 0);
    expect_message(n, "READY=1\nSTATUS=taskd serving on 127.0.0.1:8080");
    tk_notify_free(n);
}

GRADED(notify, every_message_on_an_abstract_socket, 2)
{
    struct tk_notify *n = listen_here(true);
    cr_assert(tk_notify_address(n)[0] == '@');
    cr_assert_eq(notify_status("starting"), 0);
    cr_assert_eq(notify_watchdog(), 0);
    cr_assert_eq(notify_stopping("draining"), 0);
    expect_message(n, "STATUS=starting");
    expect_message(n, "WATCHDOG=1");
    expect_message(n, "STOPPING=1\nSTATUS=draining");
    tk_notify_free(n);
}

GRADED(notify, reloading_carries_the_monotonic_time, 2)
{
    struct tk_notify *n = listen_here(false);
    cr_assert_eq(notify_reloading("reloading"), 0);
    const char *m = tk_notify_next(n, 5000);
    cr_assert(m, "no message arrived");
    cr_assert(tk_notify_has(m, "RELOADING=1"), "no RELOADING=1 in \"%s\"", m);
    char usec[32];
    cr_assert(tk_notify_value(m, "MONOTONIC_USEC", usec, sizeof usec), "no MONOTONIC_USEC: %s", m);
    cr_assert(strtoull(usec, NULL, 10) > 0, "MONOTONIC_USEC=%s", usec);
    cr_assert(tk_notify_has(m, "STATUS=reloading"), "no STATUS in \"%s\"", m);
    tk_notify_free(n);
}

GRADED(notify, a_status_cannot_add_lines, 2)
{
    struct tk_notify *n = listen_here(false);
    cr_assert_eq(notify_ready("evil\nSTOPPING=1"), 0);
    const char *m = tk_notify_next(n, 5000);
    cr_assert(m, "no message arrived");
    cr_assert(!tk_notify_has(m, "STOPPING=1"), "the status added a line: \"%s\"", m);
    cr_assert_str_eq(m, "READY=1\nSTATUS=evil STOPPING=1");
    tk_notify_free(n);
}

GRADED(notify, without_a_socket_nothing_is_sent_and_nothing_fails, 2)
{
    struct tk_notify *n = tk_notify_new(false);
    cr_assert(unsetenv("NOTIFY_SOCKET") == 0);
    cr_assert_eq(notify_ready("x"), 0);
    cr_assert_eq(notify_watchdog(), 0);
    cr_assert_eq(notify_stopping(NULL), 0);
    cr_assert_null(tk_notify_next(n, 0), "a message arrived without NOTIFY_SOCKET");
    tk_notify_free(n);
}

GRADED(notify, watchdog_interval_only_when_asked_for_this_process, 2)
{
    cr_assert(unsetenv("WATCHDOG_USEC") == 0 && unsetenv("WATCHDOG_PID") == 0);
    cr_assert_eq(notify_watchdog_usec(), 0);
    cr_assert(setenv("WATCHDOG_USEC", "3000000", 1) == 0);
    cr_assert_eq(notify_watchdog_usec(), 3000000);
    /* Meant for another process (a child that inherited the variable): not ours. */
    cr_assert(setenv("WATCHDOG_PID", "1", 1) == 0);
    cr_assert_eq(notify_watchdog_usec(), 0);
}
