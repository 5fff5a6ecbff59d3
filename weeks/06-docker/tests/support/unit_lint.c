/* unit_lint.c — the rules' report, and the secret-name rule they share (see unit_lint.h). */
#include "unit_lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lint_init(struct lint *l)
{
    buf_init(&l->text);
    l->problems = 0;
}

void lint_free(struct lint *l)
{
    buf_free(&l->text);
    l->problems = 0;
}

void lint_add(struct lint *l, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_printf(&l->text, "%s%s", l->problems ? "\n" : "", line);
    l->problems++;
}

const char *lint_text(const struct lint *l)
{
    return l->text.data ? l->text.data : "";
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

bool lint_secret_name(const char *name)
{
    static const char *const endings[] = {"PASSWORD", "PASSWD", "PASS",       "TOKEN",
                                          "API_KEY",  "APIKEY", "PRIVATE_KEY"};
    char upper[256];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof upper; n++)
        upper[n] = (char)toupper((unsigned char)name[n]);
    upper[n] = '\0';
    if (ends_with(upper, "_FILE"))
        return false;
    if (strstr(upper, "SECRET"))
        return true;
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        size_t e = strlen(endings[i]);
        /* The whole name, or its last word: DB_PASS, but not BYPASS. */
        if (ends_with(upper, endings[i]) && (n == e || upper[n - e - 1] == '_'))
            return true;
    }
    return false;
}

bool lint_url_password(const char *value)
{
    for (const char *s = strstr(value, "://"); s; s = strstr(s + 3, "://")) {
        const char *auth = s + 3;
        size_t len = strcspn(auth, "/?# \t");
        const char *at = memchr(auth, '@', len);
        if (at && memchr(auth, ':', (size_t)(at - auth)))
            return true;
    }
    return false;
}
