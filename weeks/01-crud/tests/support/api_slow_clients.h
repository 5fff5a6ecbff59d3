/* api_slow_clients.h — slow clients for the slowloris tests (api_slow.c, attack_slowloris.c).
 *
 * A slowloris client opens a connection and sends its request head one line at a time, slowly
 * enough to hold the connection and quickly enough never to look idle. These helpers open such
 * connections from a chosen loopback address (127.0.0.2: the server then sees a client other
 * than the test's own 127.0.0.1, which is what a per-address cap tells apart) and probe /health
 * from 127.0.0.1 meanwhile. Every wait is bounded; only loopback is ever used. */
#ifndef TASKD_API_SLOW_CLIENTS_H
#define TASKD_API_SLOW_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "testkit.h"

/* A connection to s from local address src; -1 when it could not be made. */
int slow_connect(const struct tk_server *s, const char *src);
/* Sends text without blocking; false when the server has closed the connection. */
bool slow_send(int fd, const char *text);
/* Waits up to wait_ms for the server to close fd (end of stream or reset, answer bytes
 * skipped); true when it did. */
bool slow_closed(int fd, long wait_ms);

/* A request under way: POST /tasks with the server's auth header (if any) and the head plus the
 * first half of body sent, from 127.0.0.1. The fd, or -1 when it could not connect or send.
 * For the drain tests (api_drain.c, week 5's api_systemd.c, week 6's compose suite): a signal
 * comes now, then slow_post_finish sends the rest. */
int slow_post_half(const struct tk_server *s, const char *body);
/* Sends the rest of body and collects what the server sends until it closes the connection or
 * wait_ms passes, into got. false when the rest could not be sent. */
bool slow_post_finish(int fd, const char *body, struct buf *got, long wait_ms);

/* n slow clients from src, each dribbling a request head one header line per tick. */
struct slow_pool;
struct slow_pool *slow_pool_new(const struct tk_server *s, const char *src, size_t n);
/* One header line to every client; a client the server has closed reconnects (as an attacker
 * would). A close within a second of the connect is counted as refused (a connection cap), a
 * later one as closed (a deadline). */
void slow_pool_tick(struct slow_pool *p);
size_t slow_pool_closed(const struct slow_pool *p);  /* closed after a second or more */
size_t slow_pool_refused(const struct slow_pool *p); /* closed within a second */
/* The shortest and longest life (open to close seen, in ms) of the connections counted as
 * closed; 0 and 0 when there was none. */
void slow_pool_lifetimes(const struct slow_pool *p, long *min_ms, long *max_ms);
void slow_pool_free(struct slow_pool *p);

/* GETs /health on a new connection from 127.0.0.1: the milliseconds to a whole 200 answer, or
 * -1 when none came within timeout_ms. */
long slow_health_ms(const struct tk_server *s, long timeout_ms);

#endif
