/* envfile.c — reading EnvironmentFile= lines (see envfile.h). */
#include "envfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static bool name_valid(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* Removes blanks at both ends of s[0..*len) in place; returns the new start. */
static char *trim(char *s, size_t *len)
{
    while (*len > 0 && isblank((unsigned char)s[0])) {
        s++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)s[*len - 1]))
        (*len)--;
    s[*len] = '\0';
    return s;
}

/* One line (a copy the function may change). 0, the callback's error, or ERR_INVALID. */
static int parse_line(char *line, size_t len, size_t lineno, envfile_setting_fn fn, void *ctx,
                      char *why, size_t why_len)
{
    line = trim(line, &len);
    if (len == 0 || line[0] == '#' || line[0] == ';')
        return 0;
    if (line[len - 1] == '\\') {
        snprintf(why, why_len, "line %zu: continued lines are not supported", lineno);
        return ERR_INVALID;
    }
    char *eq = strchr(line, '=');
    if (!eq) {
        snprintf(why, why_len, "line %zu: expected NAME=value", lineno);
        return ERR_INVALID;
    }
    size_t name_len = (size_t)(eq - line);
    char *name = trim(line, &name_len);
    size_t value_len = len - (size_t)(eq + 1 - line);
    char *value = trim(eq + 1, &value_len);
    if (!name_valid(name)) {
        snprintf(why, why_len, "line %zu: '%.64s' is not a variable name", lineno, name);
        return ERR_INVALID;
    }
    if (value_len >= 2 && (value[0] == '"' || value[0] == '\'') &&
        value[value_len - 1] == value[0]) {
        value[value_len - 1] = '\0';
        value++;
    } else if (value_len > 0 && (value[0] == '"' || value[0] == '\'')) {
        snprintf(why, why_len, "line %zu: %s: the quote is not closed", lineno, name);
        return ERR_INVALID;
    }
    return fn(name, value, ctx);
}

int envfile_parse(const char *text, size_t len, envfile_setting_fn fn, void *ctx, char *why,
                  size_t why_len)
{
    char line[ENVFILE_LINE_MAX + 1];
    size_t lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        if (n > ENVFILE_LINE_MAX) {
            snprintf(why, why_len, "line %zu: longer than %zu bytes", lineno, ENVFILE_LINE_MAX);
            return ERR_INVALID;
        }
        if (memchr(text + at, '\0', n)) {
            snprintf(why, why_len, "line %zu: holds a NUL byte", lineno);
            return ERR_INVALID;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        int rc = parse_line(line, n, lineno, fn, ctx, why, why_len);
        if (rc != 0)
            return rc;
        at += n + 1;
    }
    return 0;
}

int envfile_read(const char *path, char **text, size_t *len, char *why, size_t why_len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    int rc = ERR_NOMEM;
    char *buf = malloc(ENVFILE_MAX_BYTES + 1);
    if (!buf)
        goto done;
    size_t n = fread(buf, 1, ENVFILE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(why, why_len, "%s: cannot read it", path);
        rc = ERR_IO;
        goto done;
    }
    if (n > ENVFILE_MAX_BYTES) {
        snprintf(why, why_len, "%s: larger than %zu bytes", path, ENVFILE_MAX_BYTES);
        rc = ERR_TOO_LARGE;
        goto done;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}
