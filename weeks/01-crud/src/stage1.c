/* stage1.c — stage 1's resources: the task store (see stage1.h for the pattern every stage
 * follows). Nothing here speaks HTTP: taskd's stage.c adds the routes, and later weeks' other
 * programs open the same resources through the same functions. */
#include "stage1.h"

#include <sodium.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "task_repo.h"
#include "task_repo_factory.h"

static const struct config_var vars[] = {
    {.name = "DATABASE_URL",
     .kind = CONFIG_STRING,
     .default_value = "sqlite:taskd.db",
     .min = 1,
     .max = 4096,
     .help = "where tasks are stored: sqlite:PATH or memory:"},
};

int stage1_init(void)
{
    /* sodium_init picks the fastest implementations for this CPU and opens the randomness
     * source; 1 means "already done", which is fine. Below 0 nothing random can be trusted. */
    if (sodium_init() < 0) {
        log_msg(LOG_ERROR, "libsodium cannot initialise: no source of randomness");
        return ERR_INTERNAL;
    }
    return 0;
}

int stage1_declare(struct config *cfg)
{
    return config_declare(cfg, vars, sizeof vars / sizeof vars[0]);
}

int stage1_open(const struct config *cfg, const struct task_repo_factory *backends,
                struct stage1 *out)
{
    *out = (struct stage1){0};
    /* The factory logs why a URL could not be opened (never the URL itself: it may hold a
     * password). */
    return task_repo_factory_open(backends, config_get(cfg, "DATABASE_URL"), &out->repo);
}

void stage1_close(struct stage1 *s)
{
    task_repo_free(s->repo);
    *s = (struct stage1){0};
}
