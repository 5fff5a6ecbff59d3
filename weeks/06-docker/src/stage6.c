/* stage6.c — stage 6's resources: stage 5's (see stage6.h). */
#include "stage6.h"

int stage6_declare(struct config *cfg)
{
    return stage5_declare(cfg);
}

int stage6_open(const struct config *cfg, struct stage6 *out)
{
    return stage5_open(cfg, &out->s5);
}

void stage6_close(struct stage6 *s)
{
    stage5_close(&s->s5);
}
