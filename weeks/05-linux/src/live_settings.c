/* live_settings.c — reading, checking and applying the live settings (see live_settings.h). */
#include "live_settings.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "envfile.h"
#include "err.h"

/* One reading of the file: the new settings being built, and what the running process has. */
struct reading {
    const struct config *running;
    struct live_settings next;
    char *why;
    size_t why_len;
};

/* envfile_parse's callback: a live setting is checked and taken into r->next; another setting
 * of this program is only compared with the running value. Nothing is applied here. */
static int take_setting(const char *name, const char *value, void *ctx)
{
    struct reading *r = ctx;
    if (strcmp(name, "LOG_LEVEL") == 0) {
        if (log_level_parse(value, &r->next.log_level) != 0) {
            snprintf(r->why, r->why_len, "LOG_LEVEL: must be one of debug|info|warn|error");
            return ERR_INVALID;
        }
        return 0;
    }
    const char *now = config_get(r->running, name);
    if (now && strcmp(now, value) != 0)
        log_kv(LOG_WARN, "a setting in the configuration file changes only with a restart",
               (struct log_kv[]){LOG_STR("setting", name)}, 1);
    return 0;
}

int live_settings_read(const struct config *running, const char *path, struct live_settings *out,
                       char *why, size_t why_len)
{
    int rc = ERR_INVALID;
    char *text = NULL;
    size_t len = 0;
    struct reading r = {.running = running, .why = why, .why_len = why_len};
    snprintf(why, why_len, "the live settings were not read"); /* until they are */
    /* LAB:BEGIN 5.1 Running values, then the file's, each checked; *out only if all is well. */
    if (log_level_parse(config_get(running, "LOG_LEVEL"), &r.next.log_level) != 0) {
        snprintf(why, why_len, "LOG_LEVEL: must be one of debug|info|warn|error");
        goto done;
    }
    if (path) {
        rc = envfile_read(path, &text, &len, why, why_len);
        if (rc != 0)
            goto done;
        rc = envfile_parse(text, len, take_setting, &r, why, why_len);
        if (rc != 0)
            goto done;
    }
    *out = r.next;
    rc = 0;
    /* LAB:END rc = ERR_INTERNAL; */
done:
    free(text);
    return rc;
}

void live_settings_apply(const struct live_settings *s)
{
    log_set_level(s->log_level);
}
