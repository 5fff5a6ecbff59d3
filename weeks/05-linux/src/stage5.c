/* stage5.c — stage 5's resources: stage 4's (see stage5.h). */
#include "stage5.h"

int stage5_declare(struct config *cfg)
{
    return stage4_declare(cfg);
}

int stage5_open(const struct config *cfg, struct stage5 *out)
{
    return stage4_open(cfg, &out->s4);
}

void stage5_close(struct stage5 *s)
{
    stage4_close(&s->s4);
}
