/* json.h — strict JSON in, compact JSON out, over cJSON.
 *
 * cJSON is a small, well-kept parser, but it is lenient where an API must not be: it does not
 * check UTF-8, it turns "\u0000" into a truncated C string, it keeps duplicate keys, and it nests
 * a thousand levels deep. json_parse_strict() runs a fast lexical pass first that enforces what
 * API.md settles (invalid UTF-8, a BOM, NaN/Infinity or nesting past JSON_MAX_DEPTH are
 * malformed: 400; a NUL or lone-surrogate escape, or a duplicate key, is a rule broken on that
 * field: 422), then lets cJSON build the tree. */
#ifndef TASKD_JSON_H
#define TASKD_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON; /* callers that walk the tree include <cjson/cJSON.h> themselves */
struct field_errors;
struct buf;

#define JSON_MAX_DEPTH 32

/* Parses body[0..len). Returns:
 *   0             *out is the tree (caller frees with cJSON_Delete). Rule breaks found on the way
 *                 (a NUL or lone surrogate escape inside a top-level field's value, a duplicate
 *                 key) were added to `errs` under the top-level field's name; such values are
 *                 replaced in the tree by U+FFFD so the caller can go on validating the rest.
 *   ERR_MALFORMED *why (static text) says what is wrong; *out is NULL.
 *   ERR_NOMEM */
int json_parse_strict(const char *body, size_t len, struct cJSON **out, struct field_errors *errs,
                      const char **why);

/* Appends the compact rendering of item to b. Returns 0 or ERR_NOMEM. */
int json_render(const struct cJSON *item, struct buf *b);

/* Number of direct children of an object or array. */
size_t json_child_count(const struct cJSON *item);

#endif
