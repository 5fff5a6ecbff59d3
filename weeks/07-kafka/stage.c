/* stage.c — stage 7: events, with a transactional outbox, Kafka (or RabbitMQ) and consumers.
 *
 * Stage 7 is stage 6 plus (resources in src/stage7.c):
 * - every create, update and delete writes its event into the outbox table in the same
 *   transaction as the change (src/task_repo_outbox.c, a decorator between the cache and the
 *   PostgreSQL store), so no acknowledged change is ever without its event;
 * - GET /tasks/{id}/activity: the task's history, from the read model taskd-projector fills.
 * taskd itself never talks to the broker. The stage's other programs (bin/) do: taskd-relay
 * publishes the outbox to the topic task-events; taskd-notifier (e-mail) and taskd-projector
 * (the activity feed) consume it, each in its own consumer group; kafka-dev-broker is the
 * local Kafka-protocol broker the services script starts. */
#include "activity_http.h"
#include "app.h"
#include "err.h"
#include "stage7.h"

extern const struct stage stage_06;

int stage7_serve(struct app *app, struct stage7 *s)
{
    int rc = stage6_serve(app, &s->s6);
    return rc != 0 ? rc : activity_http_register(app, s->read_pool);
}

static void close_stage(void *s)
{
    stage7_close(s);
}

static int start(struct app *app)
{
    struct stage7 *s = app_calloc(app, sizeof *s, close_stage);
    int rc = s ? stage7_open(app_config(app), s) : ERR_NOMEM;
    return rc != 0 ? rc : stage7_serve(app, s);
}

const struct stage stage_07 = {
    .name = "07-kafka",
    .week = 7,
    .prev = &stage_06,
    .declare = stage7_declare,
    .start = start,
    .commands_help = "Events leave through taskd-relay; taskd-notifier and taskd-projector consume "
                     "them (see their --help). kafka-dev-broker is the local broker.",
};
