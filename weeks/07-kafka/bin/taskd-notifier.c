/* taskd-notifier.c — main() of the notifier of stage 7: one e-mail to a task's owner per event.
 *
 * The handler is notifier.h's (look up the owner, send through week 3's mailer with the
 * event_id as Message-ID); the program around the loop is consumer_main.h's, shared with
 * taskd-projector. This file adds what only the notifier needs: the mail server's settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "consumer_main.h"
#include "err.h"
#include "mailer.h"
#include "notifier.h"

#ifndef TASKD_STAGE
#error "build with -DTASKD_STAGE=stage_NN (the Makefile does)"
#endif
extern const struct stage TASKD_STAGE;

static const struct config_var vars[] = {
    {.name = "SMTP_URL",
     .kind = CONFIG_STRING,
     .min = 8,
     .max = 1024,
     .secret = true,
     .required = true,
     .help = "mail server: smtp://HOST:PORT (smtps:// for TLS)"},
    {.name = "SMTP_FROM",
     .kind = CONFIG_STRING,
     .default_value = "taskd@localhost",
     .min = 3,
     .max = 254,
     .help = "sender address of the notifications (its domain ends every Message-ID)"},
};

static int check(const struct config *cfg)
{
    int rc = 0;
    const char *smtp = config_get(cfg, "SMTP_URL");
    if (!smtp || (strncmp(smtp, "smtp://", 7) != 0 && strncmp(smtp, "smtps://", 8) != 0)) {
        fprintf(stderr, "SMTP_URL: must be smtp://HOST:PORT or smtps://HOST:PORT\n");
        rc = ERR_INVALID;
    }
    const char *from = config_get(cfg, "SMTP_FROM");
    if (!mailer_address_valid(from)) {
        fprintf(stderr, "SMTP_FROM=%s: must be a plain address like taskd@example.com\n", from);
        rc = ERR_INVALID;
    }
    return rc;
}

static int open_notifier(const struct config *cfg, struct pg_pool *pool, const char *name,
                         struct consumer_handler *h, void **state)
{
    struct notifier *n = calloc(1, sizeof *n);
    if (!n)
        return ERR_NOMEM;
    *n = (struct notifier){
        .pool = pool,
        .mail = {.smtp_url = config_get(cfg, "SMTP_URL"), .from = config_get(cfg, "SMTP_FROM")}};
    notifier_handler(n, name, h);
    *state = n;
    return 0;
}

static void close_notifier(void *state)
{
    free(state);
}

int main(int argc, char **argv)
{
    static const struct consumer_program program = {
        .name = "taskd-notifier",
        .group = "notifier",
        .about = "The notifier of taskd (stage 7): e-mails a task's owner (users.email) when the\n"
                 "task is created, updated or deleted; owner 0 and deleted users get nothing.",
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .needs_curl = true,
        .check = check,
        .open = open_notifier,
        .close = close_notifier,
    };
    return consumer_main(stage_lifecycle(&TASKD_STAGE), stage_observer(&TASKD_STAGE), &program,
                         argc, argv);
}
