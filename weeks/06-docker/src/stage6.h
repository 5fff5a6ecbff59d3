/* stage6.h — what stage 6 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 6 is stage 5 run in containers. What a container needs from the programs is a way to
 * tell its engine that they work: taskd answers HTTP, and the worker, which has no port, leaves
 * a health file when HEALTH_FILE names one (supervisor_container.h); the stage's third program,
 * taskd-probe (bin/), is the healthcheck command that asks either. None of that is a resource a
 * later stage reaches: stage 6 adds a lifecycle provider to `struct stage` (stage.c) and no
 * routes, so its resources are stage 5's. */
#ifndef TASKD_STAGE6_H
#define TASKD_STAGE6_H

#include "stage5.h"

struct stage6 {
    struct stage5 s5;
};

/* Stage 5's settings; stage 6's own (HEALTH_FILE) belong to its lifecycle provider, which every
 * program of the stage declares (supervisor_container.h). */
int stage6_declare(struct config *cfg);
int stage6_open(const struct config *cfg, struct stage6 *out);
void stage6_close(struct stage6 *s);
int stage6_serve(struct app *app, struct stage6 *s);

#endif
