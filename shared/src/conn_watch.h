/* conn_watch.h — total deadlines for receiving a request, per connection (slowloris defence).
 *
 * libmicrohttpd's only timeout is for idleness: a client that sends one header byte every few
 * seconds is never idle and keeps its connection (and a slot of HTTP_MAX_CONNECTIONS) for ever.
 * Like nginx's client_header_timeout and client_body_timeout, this module gives each phase of a
 * request a total deadline: the head must be in within HTTP_HEADER_TIMEOUT_SECONDS of the
 * connection (or of the request line on a kept-alive one), the body within
 * HTTP_BODY_TIMEOUT_SECONDS of the head. A sweeper thread shuts down the socket of a connection
 * past its deadline; libmicrohttpd then sees it fail and closes the connection the usual way.
 * The HTTP layer (http.c) reports each connection's phases; nothing else uses this module. */
#ifndef TASKD_CONN_WATCH_H
#define TASKD_CONN_WATCH_H

struct conn_watch;
struct conn_watch_entry; /* one watched connection */

enum conn_phase {
    CONN_HEAD, /* receiving a request line and headers */
    CONN_BODY, /* receiving a body */
    CONN_BUSY, /* handler running or answer being sent: no deadline here (the idle timeout is) */
    CONN_IDLE, /* kept alive between requests: the next head within idle + header seconds */
};

/* Watches at most capacity connections at once (the server's connection limit); deadlines in
 * seconds, all > 0. Starts the sweeper. NULL (logged) when memory or the thread ran out. */
struct conn_watch *conn_watch_new(unsigned capacity, unsigned header_seconds, unsigned body_seconds,
                                  unsigned idle_seconds);
/* Stops the sweeper and frees everything; entries still open are forgotten. NULL is a no-op. */
void conn_watch_free(struct conn_watch *w);

/* A connection was accepted on fd: it starts in CONN_HEAD. NULL when capacity is reached (the
 * connection is then not watched). Thread-safe, like the calls below. */
struct conn_watch_entry *conn_watch_open(struct conn_watch *w, int fd);
/* The connection enters phase, its deadline counted from now; entering the phase it is already
 * in changes nothing (a request line after the connection's first keeps the first deadline). */
void conn_watch_phase(struct conn_watch *w, struct conn_watch_entry *e, enum conn_phase phase);
/* The connection is closing (before its fd is): forget it. NULL e is a no-op. */
void conn_watch_close(struct conn_watch *w, struct conn_watch_entry *e);

#endif
