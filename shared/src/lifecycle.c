/* lifecycle.c — the calls a program makes at the moments of its life (see lifecycle.h). */
#include "lifecycle.h"

#include <stddef.h>

#include "err.h"

void lifecycle_status(const struct lifecycle *lc, const char *what)
{
    if (lc && lc->status)
        lc->status(lc->ctx, what);
}

void lifecycle_serving(const struct lifecycle *lc, const struct lifecycle_serving *how)
{
    if (lc && lc->serving)
        lc->serving(lc->ctx, how);
}

int lifecycle_reload(const struct lifecycle *lc)
{
    return lc && lc->reload ? lc->reload(lc->ctx) : ERR_NOT_FOUND;
}

void lifecycle_stopping(const struct lifecycle *lc)
{
    if (lc && lc->stopping)
        lc->stopping(lc->ctx);
}

void lifecycle_alive(const struct lifecycle *lc)
{
    if (lc && lc->alive)
        lc->alive(lc->ctx);
}

void lifecycle_close(struct lifecycle *lc)
{
    if (!lc)
        return;
    if (lc->close)
        lc->close(lc->ctx);
    *lc = (struct lifecycle){0};
}
