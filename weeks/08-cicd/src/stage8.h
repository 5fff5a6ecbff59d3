/* stage8.h — what stage 8 gives the stages built on it (the pattern: stage1.h).
 *
 * Stage 8 is stage 7 delivered by a pipeline: built, tested, released with a version, deployed
 * blue/green and rolled back (ci/, release/, deploy/, autoupdate/ in this week's directory). What
 * the program itself gains is small and on purpose: it says which release it is, on GET /health
 * (release_http.h), so that a deploy can check it switched to the right one. Its resources are
 * stage 7's. */
#ifndef TASKD_STAGE8_H
#define TASKD_STAGE8_H

#include "stage7.h"

struct stage8 {
    struct stage7 s7;
};

int stage8_declare(struct config *cfg);
int stage8_open(const struct config *cfg, struct stage8 *out);
void stage8_close(struct stage8 *s);
/* Stage 7's routes, and GET /health with the version. */
int stage8_serve(struct app *app, struct stage8 *s);

#endif
