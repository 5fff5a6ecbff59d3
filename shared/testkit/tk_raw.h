/* tk_raw.h — a plain TCP client for protocol-level black-box tests (part of the test kit).
 *
 * libcurl always speaks well-formed HTTP and always sends the body it promised; some tests need
 * exactly what it will not do: headers with no body after them, half a request and then
 * silence, bytes that are not HTTP at all, several requests on one connection we control. The
 * reader returns a struct tk_response, so the kit's assertions work on raw answers too. */
#ifndef TASKD_TK_RAW_H
#define TASKD_TK_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

/* Connects to s; fails the test when it cannot. */
int tk_raw_connect(const struct tk_server *s);
/* Sends all of data; returns false when the peer has closed or stopped reading (5 s). */
bool tk_raw_send(int fd, const void *data, size_t len);
/* Sends data unless an answer (or the close) arrives first, as a client must when the server may
 * refuse a body from its headers: it stops pushing at once. Returns true when all of data went,
 * false when the server answered, closed or stopped reading (timeout_ms) before that. */
bool tk_raw_send_until_answer(int fd, const void *data, size_t len, int timeout_ms);
/* One request on a fresh connection (Connection: close) with the server's Authorization when it
 * has one: the head, then the body by tk_raw_send_until_answer, then the answer by tk_raw_read.
 * headers as tk_request's; a "Name:" with no value is left out. */
struct tk_response *tk_raw_request(const struct tk_server *s, const char *method, const char *path,
                                   const char *const *headers, const char *body, size_t body_len);
/* Reads one whole response (Content-Length or chunked body) within timeout_ms and returns it
 * like tk_request does; fails the test when the server closes without answering. */
struct tk_response *tk_raw_read(int fd, const char *what, int timeout_ms);

#endif
