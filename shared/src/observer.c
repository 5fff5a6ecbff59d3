/* observer.c — the calls a background program makes to report its work (see observer.h). */
#include "observer.h"

#include <stddef.h>

void observe_job(const struct observer *o, const char *type, enum observed_job how, uint64_t n)
{
    if (o && o->job)
        o->job(o->ctx, type, how, n);
}

void observe_messages(const struct observer *o, const char *consumer,
                      const struct observed_messages *delta)
{
    if (o && o->messages)
        o->messages(o->ctx, consumer, delta);
}

const char *observed_job_name(enum observed_job how)
{
    switch (how) {
    case OBSERVED_JOB_QUEUED:
        return "queued";
    case OBSERVED_JOB_SUCCEEDED:
        return "succeeded";
    case OBSERVED_JOB_RETRIED:
        return "retried";
    case OBSERVED_JOB_FAILED:
        return "failed";
    }
    return "unknown";
}

void observer_close(struct observer *o)
{
    if (!o)
        return;
    if (o->close)
        o->close(o->ctx);
    *o = (struct observer){0};
}
