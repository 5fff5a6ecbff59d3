/* api_drain.c — black-box tests of the graceful stop (API.md "Settled details: Connections").
 *
 * On SIGTERM the server stops accepting at once, lets the requests under way finish and send
 * their answers (with Connection: close) within HTTP_DRAIN_SECONDS, then closes what is left and
 * exits. A client whose write was committed must get its answer: one that sees the connection
 * close instead cannot tell it from a failure, and its retry writes the task twice. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_drain_load.h"
#include "api_slow_clients.h"
#include "buf.h"
#include "testkit.h"

struct stopper {
    struct tk_server *server;
    int status;
    long ms;
};

static void *stop_server(void *arg)
{
    struct stopper *st = arg;
    long start = tk_now_ms();
    st->status = tk_server_stop(st->server);
    st->ms = tk_now_ms() - start;
    return NULL;
}

/* Waits up to 5 s for the server to refuse new connections (it has seen SIGTERM). */
static bool refuses_connections(const struct tk_server *s)
{
    long deadline = tk_now_ms() + 5000;
    while (tk_now_ms() < deadline) {
        int fd = slow_connect(s, "127.0.0.1");
        if (fd < 0)
            return true;
        close(fd);
        tk_sleep_ms(20);
    }
    return false;
}

GRADED(drain, a_request_under_way_at_sigterm_is_answered_then_closed, 3)
{
    struct tk_server *s = tk_server_start(NULL);
    cr_assert(s, "the server did not start");
    static const char body[] = "{\"title\":\"sent across a SIGTERM\"}";
    /* The head and half the body: the request is under way when SIGTERM comes. */
    int fd = slow_post_half(s, body);
    cr_assert(fd >= 0, "cannot connect");
    tk_sleep_ms(200);

    pthread_t t;
    struct stopper st = {.server = s};
    cr_assert(pthread_create(&t, NULL, stop_server, &st) == 0, "pthread_create failed");
    bool refused = refuses_connections(s);
    /* The rest of the body, after the server stopped accepting. */
    struct buf got = BUF_INIT;
    slow_post_finish(fd, body, &got, 8000);
    close(fd);
    pthread_join(t, NULL);
    const char *answer = got.data ? got.data : "";
    cr_assert(refused, "new connections were still accepted 5 s after SIGTERM");
    cr_assert(strncmp(answer, "HTTP/1.1 201", 12) == 0,
              "a POST whose body was completed after SIGTERM got no 201 (got %zu bytes: %.200s)",
              got.len, answer);
    cr_assert(strcasestr(answer, "\r\nConnection: close\r\n") != NULL,
              "the answer sent while draining lacks Connection: close: %.300s", answer);
    cr_assert_eq(st.status, 0, "the server did not exit cleanly (status %d)", st.status);
    buf_free(&got);
}

/* ---- under load ---- */

GRADED(drain, under_load_every_logged_201_reaches_its_client, 3)
{
    struct drain_load r;
    drain_under_load(8, 700, &r);
    cr_log_info("drain under load: %ld answered, %ld refused, %ld reset unread, %ld dropped, "
                "stop took %ld ms",
                r.answered, r.refused, r.unread, r.dropped, r.stop_ms);
    cr_assert(r.answered > 0, "no POST was answered before SIGTERM");
    cr_assert(r.refused + r.unread > 0, "the clients never saw the server stop (test bug?)");
    cr_assert_eq(r.exhausted, 0,
                 "%ld clients had sent all their requests before SIGTERM (test bug)", r.exhausted);
    cr_assert_eq(r.dropped, 0,
                 "%ld requests the server logged got no answer at their client, e.g. %s", r.dropped,
                 r.first_drop);
    cr_assert_eq(r.status, 0, "the server did not exit cleanly (status %d)", r.status);
}
