/* scope_http.h — whose data a request is about: the one place a handler gets its scope.
 *
 * Every repository call takes a scope (task_repo.h). In week 1 nobody signs in, so every
 * request is about the anonymous owner, 0. A middleware that does learn who is calling says so
 * with scope_set_owner, before the handler runs; handlers build their scope with
 * scope_from_req and look nowhere else, so telling owners apart is one middleware added in front
 * of unchanged handlers, not a rewrite of them.
 *
 * The owner is kept in the request's locals (locals.h) under a key this module owns: the HTTP
 * layer knows nothing about owners. */
#ifndef TASKD_SCOPE_HTTP_H
#define TASKD_SCOPE_HTTP_H

#include <stdint.h>

#include "task_repo.h"

struct http_req;

/* Makes owner_id the owner of everything req does from now on. 0 or ERR_NOMEM (the request's
 * locals are full). */
int scope_set_owner(struct http_req *req, int64_t owner_id);

/* The scope of req: its owner (0 until someone set one) and its locals, so that a repository
 * decorator can note what it learnt about this request. Valid while req is. */
struct scope scope_from_req(struct http_req *req);

#endif
