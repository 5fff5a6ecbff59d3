/* activity_http.h — GET /tasks/{id}/activity: a task's history (activity.h). */
#ifndef TASKD_ACTIVITY_HTTP_H
#define TASKD_ACTIVITY_HTTP_H

struct app;
struct pg_pool;

/* Adds the route, reading through pool (which must outlive the server). 0 or an ERR_ code. */
int activity_http_register(struct app *app, struct pg_pool *pool);

#endif
