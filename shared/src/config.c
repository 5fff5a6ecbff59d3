/* config.c — declared, validated configuration from the environment (see config.h).
 *
 * Values are copied at load time, so nothing later depends on the environment staying put, and
 * validation happens once, up front, with every problem reported: the service either starts with
 * a configuration it understands or does not start at all. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#define CONFIG_VARS_MAX 64
/* A secret file larger than this is surely a mistake. */
#define SECRET_FILE_MAX ((size_t)64 * 1024)

struct config_entry {
    const struct config_var *var;
    const char *help; /* --help text: var->help unless config_describe replaced it */
    bool secret;      /* var->secret, or made one by config_make_secret */
    char *value;      /* owned; NULL when unset */
    long long int_value;
};

struct config {
    struct config_entry entries[CONFIG_VARS_MAX];
    size_t n;
};

struct config *config_new(void)
{
    return calloc(1, sizeof(struct config));
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        if (cfg->entries[i].value && cfg->entries[i].secret)
            explicit_bzero(cfg->entries[i].value, strlen(cfg->entries[i].value));
        free(cfg->entries[i].value);
    }
    free(cfg);
}

static struct config_entry *find(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].var->name, name) == 0)
            return (struct config_entry *)&cfg->entries[i];
    return NULL;
}

int config_declare(struct config *cfg, const struct config_var *vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (find(cfg, vars[i].name))
            continue;
        if (cfg->n == CONFIG_VARS_MAX)
            return ERR_NOMEM;
        cfg->entries[cfg->n++] =
            (struct config_entry){.var = &vars[i], .help = vars[i].help, .secret = vars[i].secret};
    }
    return 0;
}

int config_describe(struct config *cfg, const char *name, const char *help)
{
    struct config_entry *e = find(cfg, name);
    if (!e || !help)
        return ERR_NOT_FOUND;
    e->help = help;
    return 0;
}

int config_make_secret(struct config *cfg, const char *name)
{
    struct config_entry *e = find(cfg, name);
    if (!e)
        return ERR_NOT_FOUND;
    e->secret = true;
    return 0;
}

/* Reads a secret from the file named by NAME_FILE, dropping one trailing newline (editors and
 * `echo` add one; a secret never ends in one). */
static int read_secret_file(const char *path, char **out, FILE *errors, const char *name)
{
    int rc = ERR_IO;
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    if (!f) {
        fprintf(errors, "%s_FILE: cannot open %s: %s\n", name, path, strerror(errno));
        goto done;
    }
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > SECRET_FILE_MAX) {
            fprintf(errors, "%s_FILE: %s is larger than %zu bytes\n", name, path, SECRET_FILE_MAX);
            goto done;
        }
        if (buf_append(&b, chunk, got) != 0) {
            rc = ERR_NOMEM;
            goto done;
        }
    }
    if (ferror(f)) {
        fprintf(errors, "%s_FILE: cannot read %s\n", name, path);
        goto done;
    }
    if (b.len > 0 && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    if (b.len > 0 && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    if (!b.data && buf_append(&b, "", 0) != 0) {
        rc = ERR_NOMEM;
        goto done;
    }
    *out = buf_steal(&b, NULL);
    rc = 0;
done:
    if (b.data)
        explicit_bzero(b.data, b.cap);
    buf_free(&b);
    if (f)
        fclose(f);
    return rc;
}

static bool enum_has(const char *choices, const char *value)
{
    size_t n = strlen(value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int validate(struct config_entry *e, FILE *errors)
{
    const struct config_var *v = e->var;
    const char *val = e->value;
    if (!val) {
        if (v->required) {
            fprintf(errors, "%s is required%s: %s\n", v->name, e->secret ? " (or NAME_FILE)" : "",
                    e->help);
            return ERR_INVALID;
        }
        return 0;
    }
    /* A secret's value is never echoed back, even in an error message. */
    const char *shown = e->secret ? "(secret)" : val;
    switch (v->kind) {
    case CONFIG_INT: {
        char *end = NULL;
        errno = 0;
        long long x = strtoll(val, &end, 10);
        if (errno != 0 || end == val || *end != '\0' || x < v->min || x > v->max) {
            fprintf(errors, "%s=%s: must be a whole number from %lld to %lld\n", v->name, shown,
                    v->min, v->max);
            return ERR_INVALID;
        }
        e->int_value = x;
        return 0;
    }
    case CONFIG_ENUM:
        if (!enum_has(v->choices, val)) {
            fprintf(errors, "%s=%s: must be one of %s\n", v->name, shown, v->choices);
            return ERR_INVALID;
        }
        return 0;
    case CONFIG_STRING: {
        size_t len = strlen(val);
        if ((v->min > 0 && (long long)len < v->min) || (v->max > 0 && (long long)len > v->max)) {
            fprintf(errors, "%s: must be %lld..%lld characters long (got %zu)\n", v->name, v->min,
                    v->max, len);
            return ERR_INVALID;
        }
        return 0;
    }
    }
    return 0;
}

int config_load(struct config *cfg, FILE *errors)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        struct config_entry *e = &cfg->entries[i];
        const struct config_var *v = e->var;
        const char *env = getenv(v->name);
        char file_var[128];
        const char *file = NULL;
        if (e->secret &&
            snprintf(file_var, sizeof file_var, "%s_FILE", v->name) < (int)sizeof file_var)
            file = getenv(file_var);
        free(e->value);
        e->value = NULL;
        if (env && file) {
            fprintf(errors, "%s and %s_FILE are both set: use one\n", v->name, v->name);
            rc = ERR_INVALID;
            continue;
        }
        if (file) {
            int frc = read_secret_file(file, &e->value, errors, v->name);
            if (frc != 0) {
                rc = frc == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID;
                continue;
            }
        } else {
            const char *src = env ? env : v->default_value;
            if (src && !(e->value = strdup(src)))
                return ERR_NOMEM;
        }
        if (v->kind == CONFIG_INT && !e->value)
            e->int_value = 0;
        if (validate(e, errors) != 0)
            rc = ERR_INVALID;
    }
    return rc;
}

const char *config_get(const struct config *cfg, const char *name)
{
    const struct config_entry *e = find(cfg, name);
    return e ? e->value : NULL;
}

long long config_get_int(const struct config *cfg, const char *name)
{
    const struct config_entry *e = find(cfg, name);
    return e ? e->int_value : 0;
}

void config_print_help(const struct config *cfg, FILE *out)
{
    for (size_t i = 0; i < cfg->n; i++) {
        const struct config_var *v = cfg->entries[i].var;
        bool secret = cfg->entries[i].secret;
        fprintf(out, "  %-22s %s", v->name, cfg->entries[i].help);
        if (v->kind == CONFIG_INT)
            fprintf(out, " [%lld..%lld]", v->min, v->max);
        if (v->kind == CONFIG_ENUM)
            fprintf(out, " [%s]", v->choices);
        if (v->default_value && !v->secret)
            fprintf(out, " (default: %s)", v->default_value);
        if (v->required)
            fprintf(out, " (required)");
        if (secret)
            fprintf(out, " (secret; or %s_FILE=path)", v->name);
        fputc('\n', out);
    }
}

bool config_help_requested(int argc, char *const argv[])
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}
