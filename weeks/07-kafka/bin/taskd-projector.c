/* taskd-projector.c — main() of the projector of stage 7: the topic into the activity feed.
 *
 * Each task event becomes a row of task_activity (activity.h), in the same transaction as its
 * processed_events row (projector.h), so GET /tasks/{id}/activity shows every change once. The
 * program around the loop is consumer_main.h's, shared with taskd-notifier; this file only
 * says what is particular to the projector. */
#include "app.h"
#include "consumer_main.h"
#include "projector.h"

#ifndef TASKD_STAGE
#error "build with -DTASKD_STAGE=stage_NN (the Makefile does)"
#endif
extern const struct stage TASKD_STAGE;

static int open_projector(const struct config *cfg, struct pg_pool *pool, const char *name,
                          struct consumer_handler *h, void **state)
{
    (void)cfg, (void)pool; /* the handler runs on the loop's own connection */
    projector_handler(name, h);
    *state = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct consumer_program program = {
        .name = "taskd-projector",
        .group = "projector",
        .about = "The projector of taskd (stage 7): writes every task event into the activity\n"
                 "feed's table, task_activity, which GET /tasks/{id}/activity reads.",
        .open = open_projector,
    };
    return consumer_main(stage_lifecycle(&TASKD_STAGE), stage_observer(&TASKD_STAGE), &program,
                         argc, argv);
}
