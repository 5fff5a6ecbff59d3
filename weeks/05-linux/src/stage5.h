/* stage5.h — what stage 5 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 5 is stage 4 run as a Linux service: under systemd, taskd and taskd-worker say when
 * they are ready, reloading and stopping, and prove they are alive to a watchdog
 * (supervisor.h). None of that is a resource a later stage reaches: stage 5 adds its lifecycle
 * provider to `struct stage` (stage.c) and no routes, so its resources are stage 4's. */
#ifndef TASKD_STAGE5_H
#define TASKD_STAGE5_H

#include "stage4.h"

struct stage5 {
    struct stage4 s4;
};

/* Stage 4's settings; stage 5's own (TASKD_CONFIG_FILE) belong to its lifecycle provider,
 * which every program of the stage declares (supervisor.h). */
int stage5_declare(struct config *cfg);
int stage5_open(const struct config *cfg, struct stage5 *out);
void stage5_close(struct stage5 *s);
int stage5_serve(struct app *app, struct stage5 *s);

#endif
