/* config.h — configuration from the environment (twelve-factor), declared and validated.
 *
 * Each module declares the variables it reads (name, default, bounds, help text); main() loads
 * them all at once and reports every bad value before anything starts, so a typo in PORT is a
 * clear message and not a half-started service. Secret variables may instead name a file with
 * NAME_FILE (Docker/Kubernetes secrets), and their values are never printed. */
#ifndef TASKD_CONFIG_H
#define TASKD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

enum config_kind {
    CONFIG_STRING, /* any value, length-checked by min/max (0 = unbounded) */
    CONFIG_INT,    /* a decimal integer in [min, max] */
    CONFIG_ENUM,   /* one of the |-separated words in `choices` */
};

struct config_var {
    const char *name;
    enum config_kind kind;
    const char *default_value; /* NULL: unset unless given (use `required` to insist) */
    const char *help;          /* one line for --help */
    long long min, max;        /* CONFIG_INT bounds; CONFIG_STRING length bounds */
    const char *choices;       /* CONFIG_ENUM: "debug|info|warn|error" */
    bool secret;               /* also read NAME_FILE; never print the value */
    bool required;
};

struct config;

struct config *config_new(void);
void config_free(struct config *cfg);

/* Adds variables (the array must outlive cfg; declaring a name twice keeps the first).
 * Returns 0 or ERR_NOMEM. */
int config_declare(struct config *cfg, const struct config_var *vars, size_t n);

/* Replaces the --help text of a declared variable (help must outlive cfg): a later stage that
 * widens what a variable accepts says so (stage 2's DATABASE_URL takes postgres:// too). 0, or
 * ERR_NOT_FOUND when name is not declared. */
int config_describe(struct config *cfg, const char *name, const char *help);

/* Makes a declared variable a secret, as if declared with .secret: it may come from NAME_FILE,
 * and its value is never shown. For a later stage whose values of it can hold a password
 * (stage 2's DATABASE_URL: postgres://USER:PASSWORD@...). 0, or ERR_NOT_FOUND. */
int config_make_secret(struct config *cfg, const char *name);

/* Reads every declared variable from the environment and validates it. On failure returns
 * ERR_INVALID and writes one line per problem to `errors`. */
int config_load(struct config *cfg, FILE *errors);

/* The loaded value, or NULL when unset. The string lives as long as cfg. */
const char *config_get(const struct config *cfg, const char *name);
/* The loaded integer of a CONFIG_INT variable (its default when unset). */
long long config_get_int(const struct config *cfg, const char *name);

/* Prints "NAME  help (default: X)" for every declared variable. */
void config_print_help(const struct config *cfg, FILE *out);

/* True when the command line asks for help (--help or -h anywhere): every program answers it
 * before loading anything, so help works even with a broken environment. */
bool config_help_requested(int argc, char *const argv[]);

#endif
