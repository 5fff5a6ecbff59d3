/* unit_settings.c — the configuration file (envfile.h) and the live settings read from it
 * (live_settings.h): what the format accepts and refuses, and that a refused file changes
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "envfile.h"
#include "err.h"
#include "live_settings.h"
#include "log_config.h"
#include "testkit.h"

/* ---- the file format ---- */

struct seen {
    char text[512];
};

static int collect(const char *name, const char *value, void *ctx)
{
    struct seen *s = ctx;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof s->text - len, "%s=[%s];", name, value);
    return 0;
}

static int parse(const char *text, struct seen *s, char *why, size_t why_len)
{
    s->text[0] = '\0';
    return envfile_parse(text, strlen(text), collect, s, why, why_len);
}

GRADED(envfile, reads_names_values_quotes_and_comments, 2)
{
    struct seen s;
    char why[128] = "";
    const char *text = "# a comment\n"
                       "; another\n"
                       "\n"
                       "LOG_LEVEL=warn\n"
                       "  PORT = 8080  \n"
                       "A=\"two words\"\n"
                       "B='x=y'\n"
                       "EMPTY=\n"
                       "LAST=no newline";
    cr_assert_eq(parse(text, &s, why, sizeof why), 0, "refused: %s", why);
    cr_assert_str_eq(
        s.text, "LOG_LEVEL=[warn];PORT=[8080];A=[two words];B=[x=y];EMPTY=[];LAST=[no newline];");
}

static void refuses(const char *text, const char *want_why)
{
    struct seen s;
    char why[128] = "";
    cr_assert_eq(parse(text, &s, why, sizeof why), ERR_INVALID, "accepted \"%s\"", text);
    cr_assert(strstr(why, want_why), "for \"%s\" the reason is \"%s\", expected \"%s\" in it", text,
              why, want_why);
}

GRADED(envfile, refuses_what_it_does_not_understand_naming_the_line, 2)
{
    refuses("LOG_LEVEL=info\nnot a setting\n", "line 2: expected NAME=value");
    refuses("9LIVES=1\n", "line 1: '9LIVES' is not a variable name");
    refuses("=1\n", "line 1");
    refuses("A=\"open\n", "line 1: A: the quote is not closed");
    refuses("A=b \\\n", "line 1: continued lines are not supported");
}

GRADED(envfile, a_missing_file_is_an_error_that_names_it, 1)
{
    char *text = NULL;
    size_t len = 0;
    char why[256] = "";
    cr_assert_eq(envfile_read("/nonexistent/taskd.env", &text, &len, why, sizeof why), ERR_IO);
    cr_assert(strstr(why, "/nonexistent/taskd.env"), "why: %s", why);
    cr_assert_null(text);
}

/* ---- the live settings ---- */

/* A configuration as the programs load it, with LOG_LEVEL from the environment. */
static struct config *running_config(const char *log_level)
{
    struct config *cfg = config_new();
    cr_assert(cfg && log_config_declare(cfg) == 0);
    static const struct config_var port = {
        .name = "PORT", .kind = CONFIG_INT, .default_value = "8080", .min = 0, .max = 65535};
    cr_assert(config_declare(cfg, &port, 1) == 0);
    cr_assert(setenv("LOG_LEVEL", log_level, 1) == 0);
    cr_assert(unsetenv("PORT") == 0);
    cr_assert(config_load(cfg, stderr) == 0);
    return cfg;
}

static void write_file(char *path, size_t path_len, const char *text)
{
    snprintf(path, path_len, "/tmp/taskd-live-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

GRADED(live_settings, the_environment_without_a_file, 2)
{
    struct config *cfg = running_config("debug");
    struct live_settings got = {.log_level = LOG_ERROR};
    char why[256];
    cr_assert_eq(live_settings_read(cfg, NULL, &got, why, sizeof why), 0, "%s", why);
    cr_assert_eq(got.log_level, LOG_DEBUG);
    config_free(cfg);
}

GRADED(live_settings, the_file_wins_and_other_settings_are_left_alone, 3)
{
    struct config *cfg = running_config("info");
    char path[64];
    write_file(path, sizeof path, "# taskd.env\nPORT=9999\nLOG_LEVEL=\"warn\"\nUNKNOWN=1\n");
    struct live_settings got = {.log_level = LOG_DEBUG};
    char why[256];
    cr_assert_eq(live_settings_read(cfg, path, &got, why, sizeof why), 0, "%s", why);
    cr_assert_eq(got.log_level, LOG_WARN);
    cr_assert_eq(config_get_int(cfg, "PORT"), 8080,
                 "the file changed a setting that needs a restart");
    unlink(path);
    config_free(cfg);
}

GRADED(live_settings, a_bad_file_changes_nothing_and_says_why, 3)
{
    struct config *cfg = running_config("info");
    static const char *const bad[] = {
        "LOG_LEVEL=loud\n",
        "LOG_LEVEL=debug\nthis line is broken\n", /* a good value before a bad line: not taken */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[64];
        write_file(path, sizeof path, bad[i]);
        struct live_settings got = {.log_level = LOG_ERROR};
        char why[256] = "";
        cr_assert_eq(live_settings_read(cfg, path, &got, why, sizeof why), ERR_INVALID,
                     "accepted: %s", bad[i]);
        cr_assert_eq(got.log_level, LOG_ERROR, "a refused file still changed the settings: %s",
                     bad[i]);
        cr_assert(why[0] && !strstr(why, "loud"), "the reason is empty or shows the value: %s",
                  why);
        unlink(path);
    }
    char why[256] = "";
    struct live_settings got = {.log_level = LOG_ERROR};
    cr_assert_eq(live_settings_read(cfg, "/nonexistent/taskd.env", &got, why, sizeof why), ERR_IO);
    cr_assert_eq(got.log_level, LOG_ERROR);
    config_free(cfg);
}
