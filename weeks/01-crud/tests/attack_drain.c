/* attack_drain.c — SIGTERM under load, run as a permanent attack (issue 11).
 *
 * 16 clients POST /tasks on kept-alive connections; the server is stopped with SIGTERM while
 * they run. Before the drain, 4–5 writes per run were committed and logged as 201 while their
 * clients saw the connection close. Every 201 in the log must reach its client, and every
 * client failure must be a refused connection (or a reset of a request never read). Bounded:
 * 5000 requests a client, 20 s; loopback only. */
#include <stdio.h>

#include "api_drain_load.h"
#include "testkit.h"

Test(drain, sigterm_under_load_drops_no_answer, .timeout = 60)
{
    struct drain_load r;
    drain_under_load(16, 1500, &r);
    printf("figure: SIGTERM under 16 POST clients: %ld answered, %ld dropped, %ld refused, "
           "%ld reset unread; stop (drain) took %ld ms\n",
           r.answered, r.dropped, r.refused, r.unread, r.stop_ms);
    fflush(stdout);
    cr_assert(r.answered > 0, "no POST was answered before SIGTERM");
    cr_assert_eq(r.exhausted, 0,
                 "%ld clients had sent all their requests before SIGTERM (test bug)", r.exhausted);
    cr_assert_eq(r.dropped, 0, "%ld logged answers never reached their client, e.g. %s", r.dropped,
                 r.first_drop);
    cr_assert_eq(r.status, 0, "the server did not exit cleanly (status %d)", r.status);
}
