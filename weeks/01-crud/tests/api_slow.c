/* api_slow.c — black-box tests of the defences against slow clients (slowloris): a total
 * deadline for a request's head (HTTP_HEADER_TIMEOUT_SECONDS) and body
 * (HTTP_BODY_TIMEOUT_SECONDS), and a cap on the connections of one client address
 * (HTTP_MAX_CONNECTIONS_PER_IP), which together keep /health reachable (API.md "Settled
 * details: Connections").
 *
 * An idle timeout alone does not stop a client that sends one header line every few seconds: it
 * is never idle. Each test starts a private server with short deadlines and a long idle timeout,
 * so only the new deadlines can close what it holds. Slow clients come from 127.0.0.2, the
 * probes from 127.0.0.1. Every loop is bounded in count and time. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_slow_clients.h"
#include "testkit.h"

/* Generous: the deadline is 2 s; the sweeper looks every 250 ms; the machine may be loaded. */
#define CLOSE_WITHIN_MS 8000

static struct tk_server *start(const char *const *env)
{
    struct tk_server *s = tk_server_start(env);
    cr_assert(s, "the server did not start");
    return s;
}

/* Sends `first`, then `next` every 300 ms until the server closes fd or CLOSE_WITHIN_MS pass;
 * returns the milliseconds until the close, or -1 when it stayed open. */
static long dribble_until_closed(int fd, const char *first, const char *next)
{
    long start_ms = tk_now_ms();
    slow_send(fd, first);
    while (tk_now_ms() - start_ms < CLOSE_WITHIN_MS) {
        if (slow_closed(fd, 300))
            return tk_now_ms() - start_ms;
        if (!slow_send(fd, next))
            return tk_now_ms() - start_ms;
    }
    return -1;
}

GRADED(slow, a_head_sent_slowly_is_closed_after_the_header_deadline, 3)
{
    struct tk_server *s = start(
        (const char *const[]){"HTTP_HEADER_TIMEOUT_SECONDS=2", "HTTP_TIMEOUT_SECONDS=60", NULL});
    int fd = slow_connect(s, "127.0.0.2");
    cr_assert(fd >= 0, "cannot connect from 127.0.0.2");
    long ms = dribble_until_closed(fd, "GET /health HTTP/1.1\r\nHost: slow\r\n", "X-Slow: 1\r\n");
    close(fd);
    cr_assert(ms >= 0,
              "a request head sent one line every 300 ms was still open after %d ms "
              "(HTTP_HEADER_TIMEOUT_SECONDS=2): expected the server to close it",
              CLOSE_WITHIN_MS);
    cr_assert(ms >= 1500, "the head was closed after %ld ms, before its 2 s deadline", ms);
    /* The server itself is fine. */
    cr_assert(slow_health_ms(s, 5000) >= 0, "/health did not answer after the slow head");
    cr_assert_eq(tk_server_stop(s), 0, "the server did not stop cleanly");
}

GRADED(slow, a_body_sent_slowly_is_closed_after_the_body_deadline, 2)
{
    struct tk_server *s = start(
        (const char *const[]){"HTTP_BODY_TIMEOUT_SECONDS=2", "HTTP_TIMEOUT_SECONDS=60", NULL});
    const char *auth = tk_server_auth_header(s);
    char head[1024];
    snprintf(head, sizeof head,
             "POST /tasks HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
             "Content-Length: 1000\r\n%s%s\r\n{\"title\":\"",
             auth ? auth : "", auth ? "\r\n" : "");
    int fd = slow_connect(s, "127.0.0.2");
    cr_assert(fd >= 0, "cannot connect from 127.0.0.2");
    long ms = dribble_until_closed(fd, head, "x");
    close(fd);
    cr_assert(ms >= 0,
              "a 1000-byte body sent one byte every 300 ms was still open after %d ms "
              "(HTTP_BODY_TIMEOUT_SECONDS=2): expected the server to close it",
              CLOSE_WITHIN_MS);
    cr_assert(ms >= 1500, "the body was closed after %ld ms, before its 2 s deadline", ms);
    cr_assert_eq(tk_server_stop(s), 0, "the server did not stop cleanly");
}

GRADED(slow, one_address_cannot_hold_more_than_its_share_of_connections, 2)
{
    struct tk_server *s = start(
        (const char *const[]){"HTTP_MAX_CONNECTIONS=8", "HTTP_MAX_CONNECTIONS_PER_IP=3", NULL});
    int held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = slow_connect(s, "127.0.0.2");
        cr_assert(held[i] >= 0, "connection %d from 127.0.0.2 was refused (cap is 3)", i + 1);
        slow_send(held[i], "GET /health HTTP/1.1\r\n");
    }
    /* The fourth from the same address is accepted by the kernel and closed by the server
     * without an answer; a whole request on it must not be served. */
    tk_sleep_ms(200);
    int extra = slow_connect(s, "127.0.0.2");
    bool refused = extra < 0;
    if (!refused) {
        slow_send(extra, "GET /health HTTP/1.1\r\nHost: extra\r\n\r\n");
        struct pollfd p = {.fd = extra, .events = POLLIN};
        char got[16];
        refused = poll(&p, 1, 3000) == 1 && recv(extra, got, sizeof got, MSG_DONTWAIT) <= 0;
        close(extra);
    }
    cr_assert(refused, "a 4th connection from 127.0.0.2 was served with "
                       "HTTP_MAX_CONNECTIONS_PER_IP=3");
    cr_assert(slow_health_ms(s, 5000) >= 0,
              "/health from 127.0.0.1 did not answer while 127.0.0.2 held its 3 connections");
    for (int i = 0; i < 3; i++)
        close(held[i]);
    cr_assert_eq(tk_server_stop(s), 0, "the server did not stop cleanly");
}

GRADED(slow, health_answers_while_60_slow_clients_hold_connections, 3)
{
    /* As in the attack that found it: 60 slow clients against HTTP_MAX_CONNECTIONS=50. The
     * per-address cap (half, by default) leaves the other half to everyone else. */
    struct tk_server *s =
        start((const char *const[]){"HTTP_MAX_CONNECTIONS=50", "HTTP_HEADER_TIMEOUT_SECONDS=3",
                                    "HTTP_TIMEOUT_SECONDS=60", NULL});
    struct slow_pool *pool = slow_pool_new(s, "127.0.0.2", 60);
    long worst = 0;
    for (int tick = 0; tick < 16; tick++) { /* 16 × (≥ 300 ms): past two header deadlines */
        slow_pool_tick(pool);
        long ms = slow_health_ms(s, 5000);
        cr_assert(ms >= 0,
                  "/health from 127.0.0.1 got no answer within 5 s while 60 slow clients from "
                  "127.0.0.2 held connections (tick %d)",
                  tick);
        worst = ms > worst ? ms : worst;
        tk_sleep_ms(300);
    }
    size_t closed = slow_pool_closed(pool);
    slow_pool_free(pool);
    cr_assert(closed > 0, "no slow client was ever closed in 5 s with a 3 s header deadline");
    cr_log_info("60 slow clients: /health worst %ld ms, %zu slow connections closed", worst,
                closed);
    cr_assert_eq(tk_server_stop(s), 0, "the server did not stop cleanly");
}
