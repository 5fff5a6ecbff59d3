/* field_errors.h — everything wrong with one request body, as (field, message) pairs.
 *
 * A plain list with no notion of HTTP: the JSON parser (json.c) and the domain rules (task.c
 * and later weeks' validators) add to it, and only the problem layer (problem.h) turns it into
 * a 422 body. Keeping it down here is what lets the parser and the rules be used, tested and
 * fuzzed without the HTTP layer. */
#ifndef TASKD_FIELD_ERRORS_H
#define TASKD_FIELD_ERRORS_H

#include <stddef.h>

/* At most this many entries are kept (API.md: "errors is capped at 100 entries"). */
#define FIELD_ERRORS_MAX 100

struct field_errors;

struct field_errors *field_errors_new(void);
void field_errors_free(struct field_errors *fe);
/* Copies both strings. Past FIELD_ERRORS_MAX the entry is counted but not kept. 0 or ERR_NOMEM */
int field_errors_add(struct field_errors *fe, const char *field, const char *message);
/* Entries reported, kept or not (0 for NULL). */
size_t field_errors_count(const struct field_errors *fe);
/* True when `field` already has an entry (so a rule can avoid reporting one field twice). */
int field_errors_has(const struct field_errors *fe, const char *field);

/* Entries kept (at most FIELD_ERRORS_MAX; 0 for NULL), for walking with field_errors_at. */
size_t field_errors_kept(const struct field_errors *fe);
/* The i-th kept entry, in the order added; i < field_errors_kept(fe). */
void field_errors_at(const struct field_errors *fe, size_t i, const char **field,
                     const char **message);

#endif
