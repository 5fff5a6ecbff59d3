/* log_config.c — LOG_LEVEL for every program (see log_config.h). */
#include "log_config.h"

#include "config.h"
#include "log.h"

static const struct config_var log_level = {
    .name = "LOG_LEVEL",
    .kind = CONFIG_ENUM,
    .default_value = "info",
    .choices = "debug|info|warn|error",
    .help = "least severe log level written to stderr",
};

int log_config_declare(struct config *cfg)
{
    return config_declare(cfg, &log_level, 1);
}

void log_config_apply(const struct config *cfg)
{
    enum log_level level = LOG_INFO;
    log_level_parse(config_get(cfg, "LOG_LEVEL"), &level); /* config_load checked the choices */
    log_set_level(level);
}
