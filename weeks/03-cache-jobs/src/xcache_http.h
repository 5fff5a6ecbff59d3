/* xcache_http.h — the X-Cache response header: did the cache answer this request's read?
 *
 * GET /tasks/{id} says X-Cache: HIT when the cache answered and MISS when the store did, so a
 * client (and the test suite) can watch the cache work from outside. Two parties are involved
 * who never meet: the cached repository (task_repo_cached.c), which knows how it answered, and
 * the response, which week 1's handler builds without knowing a cache exists. They meet in the
 * request's locals (locals.h): the repository notes the result there through the scope it is
 * given, and a middleware of this module turns the note into the header just before the answer
 * is sent. Week 1's code is unchanged, and a request that read nothing through the cache (a
 * PATCH, a 404) carries no X-Cache at all.
 *
 * This is the pattern for any later week that wants a request to report something learnt deep
 * inside it: a key of its own, a typed setter, and a middleware with on_answer. */
#ifndef TASKD_XCACHE_HTTP_H
#define TASKD_XCACHE_HTTP_H

#include <stdbool.h>

struct http_server;
struct locals;

/* Notes that this request's read was answered by the cache (hit) or by the store. l may be
 * NULL (a call made outside any request, by the worker): there is no one to tell. */
void xcache_note(struct locals *l, bool hit);

/* What was noted for this request: none (it read nothing through the cache), hit or miss. For
 * the header below, and for later weeks that count cache results (week 9's metrics). */
enum xcache_result { XCACHE_NONE = 0, XCACHE_HIT = 1, XCACHE_MISS = 2 };
enum xcache_result xcache_result(const struct locals *l);

/* Adds the middleware that sends the note as X-Cache: HIT or MISS. 0 or ERR_NOMEM. */
int xcache_use(struct http_server *http);

#endif
