/* stage7.h — what stage 7 gives the stages and programs built on it (the pattern: stage1.h).
 *
 * Stage 7 is stage 6 plus events. taskd writes each change's event into the outbox, in the
 * change's own transaction (task_repo_outbox.h, under the cache), and serves the activity feed
 * (GET /tasks/{id}/activity) from the read model the projector fills. taskd needs no broker:
 * the other programs of the stage talk to it (event_bus.h): taskd-relay publishes the outbox,
 * taskd-notifier and taskd-projector consume the topic, and kafka-dev-broker is the local
 * broker. */
#ifndef TASKD_STAGE7_H
#define TASKD_STAGE7_H

#include "stage6.h"

struct pg_pool;

struct stage7 {
    struct stage6 s6;          /* its store is cache(outbox(postgres)) */
    struct pg_pool *read_pool; /* ACTIVITY_DB_POOL_SIZE connections for the activity feed */
};

int stage7_declare(struct config *cfg);
/* Opens stage 6, then puts the outbox between the cache and the PostgreSQL store. */
int stage7_open(const struct config *cfg, struct stage7 *out);
void stage7_close(struct stage7 *s);
/* Stage 6's routes and GET /tasks/{id}/activity. */
int stage7_serve(struct app *app, struct stage7 *s);

#endif
