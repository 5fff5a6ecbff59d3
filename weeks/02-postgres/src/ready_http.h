/* ready_http.h — GET /ready: is every required backing service answering? */
#ifndef TASKD_READY_HTTP_H
#define TASKD_READY_HTTP_H

struct app;

/* Adds GET /ready, which runs the app's checks (app_add_check) on every call: 200 when every
 * required one answers, else 503; optional ones are listed but never a reason for 503.
 * 0 or an ERR_ code. */
int ready_register(struct app *app);

#endif
