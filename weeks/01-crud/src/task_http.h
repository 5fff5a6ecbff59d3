/* task_http.h — the HTTP face of week 1: the /tasks routes and /health.
 *
 * Handlers are thin: they turn a request into calls on task.c (rules), task_repo.h (storage) and
 * cursor.h (paging), and turn the outcome into a response; every error goes through problem.h. */
#ifndef TASKD_TASK_HTTP_H
#define TASKD_TASK_HTTP_H

struct app;
struct task_repo;

/* Adds GET /health and the /tasks routes, serving from repo (which must outlive the server;
 * the app stops the server before it releases anything). 0 or an ERR_ code. */
int task_http_register(struct app *app, struct task_repo *repo);

#endif
