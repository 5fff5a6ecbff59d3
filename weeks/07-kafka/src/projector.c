/* projector.c — the projector's handler (projector.h): activity_record in the dedupe
 * transaction. */
#include "projector.h"

#include "activity.h"
#include "consumer.h"

static int project(void *ctx, struct pg_conn *c, const struct event *e)
{
    (void)ctx;
    return activity_record(c, e);
}

void projector_handler(const char *name, struct consumer_handler *h)
{
    *h = (struct consumer_handler){
        .name = name, .transactional = true, .handle = project, .ctx = NULL};
}
