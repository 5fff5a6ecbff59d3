/* field_errors.c — the list of rule breaks of one request body (field_errors.h). */
#include "field_errors.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

struct field_error {
    char *field;
    char *message;
};

struct field_errors {
    struct field_error items[FIELD_ERRORS_MAX];
    size_t kept;  /* entries stored */
    size_t total; /* entries reported, kept or not */
};

struct field_errors *field_errors_new(void)
{
    return calloc(1, sizeof(struct field_errors));
}

void field_errors_free(struct field_errors *fe)
{
    if (!fe)
        return;
    for (size_t i = 0; i < fe->kept; i++) {
        free(fe->items[i].field);
        free(fe->items[i].message);
    }
    free(fe);
}

int field_errors_add(struct field_errors *fe, const char *field, const char *message)
{
    fe->total++;
    if (fe->kept == FIELD_ERRORS_MAX)
        return 0;
    char *f = strdup(field);
    char *m = strdup(message);
    if (!f || !m) {
        free(f);
        free(m);
        return ERR_NOMEM;
    }
    fe->items[fe->kept].field = f;
    fe->items[fe->kept].message = m;
    fe->kept++;
    return 0;
}

size_t field_errors_count(const struct field_errors *fe)
{
    return fe ? fe->total : 0;
}

int field_errors_has(const struct field_errors *fe, const char *field)
{
    for (size_t i = 0; fe && i < fe->kept; i++)
        if (strcmp(fe->items[i].field, field) == 0)
            return 1;
    return 0;
}

size_t field_errors_kept(const struct field_errors *fe)
{
    return fe ? fe->kept : 0;
}

void field_errors_at(const struct field_errors *fe, size_t i, const char **field,
                     const char **message)
{
    *field = fe->items[i].field;
    *message = fe->items[i].message;
}
