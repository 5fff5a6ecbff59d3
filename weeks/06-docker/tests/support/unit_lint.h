/* unit_lint.h — the report week 6's file rules write to, and what they share: which names and
 * values are secrets.
 *
 * Each rule (unit_dockerfile_lint.c, unit_compose_lint.c) adds one line per problem it finds,
 * saying what is wrong, where (path:line) and what to do; a test passes when its rule added
 * nothing, and fails with all the lines at once, so the learner sees every place to fix. */
#ifndef TASKD_UNIT_LINT_H
#define TASKD_UNIT_LINT_H

#include <stdbool.h>

#include "buf.h"

struct lint {
    struct buf text; /* the problems, a line each */
    int problems;
};

void lint_init(struct lint *l);
void lint_free(struct lint *l);
/* One problem: a line of text (no newline needed). */
void lint_add(struct lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* All the lines, "" when there is no problem (valid until the next lint_add or lint_free). */
const char *lint_text(const struct lint *l);

/* Is an environment variable or build argument of this name a secret? Its name ends with
 * PASSWORD, PASSWD, PASS, TOKEN, API_KEY, APIKEY or PRIVATE_KEY, or has SECRET in it; a name
 * ending in _FILE is the path of a secret file, which is what the programs read instead. A name
 * about secrets that does not end so is a setting: ACCESS_TOKEN_TTL_SECONDS, PASSWORD_WORKERS. */
bool lint_secret_name(const char *name);
/* Does value hold a URL with a password in it (scheme://user:password@host)? */
bool lint_url_password(const char *value);

#endif
