/* stage8.c — stage 8's resources: stage 7's (see stage8.h). */
#include "stage8.h"

int stage8_declare(struct config *cfg)
{
    return stage7_declare(cfg);
}

int stage8_open(const struct config *cfg, struct stage8 *out)
{
    return stage7_open(cfg, &out->s7);
}

void stage8_close(struct stage8 *s)
{
    stage7_close(&s->s7);
}
