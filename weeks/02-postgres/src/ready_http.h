/* ready_http.h — GET /ready: is every required backing service answering? */
#ifndef TASKD_READY_HTTP_H
#define TASKD_READY_HTTP_H

struct app;

/* Adds GET /ready, checking the "task_repo" service. 0 or an ERR_ code. */
int ready_register(struct app *app);

#endif
