/* email.h — the e-mail addresses stage 4 accepts as account names.
 *
 * An account is named by its e-mail address, so two spellings of one address must be one
 * account: the address is lower-cased before it is stored or looked up. The syntax is the
 * RFC 5322 dot-atom form and nothing more exotic (no quoted local parts, no comments, no
 * address literals, ASCII only): what every mail system delivers and every person types. */
#ifndef TASKD_EMAIL_H
#define TASKD_EMAIL_H

#include <stddef.h>

#define EMAIL_MAX       254 /* characters of the whole address (RFC 5321's path limit) */
#define EMAIL_LOCAL_MAX 64  /* characters before the '@' */
#define EMAIL_LABEL_MAX 63  /* characters of one domain label */

/* Checks in[0..len) and writes its lower-cased form to out (NUL-terminated). Rules:
 *   - at most EMAIL_MAX characters, all ASCII (case is folded, white space is not trimmed);
 *   - local@domain with exactly one '@';
 *   - local: 1..EMAIL_LOCAL_MAX of RFC 5322 atext and dots, no leading, trailing or doubled dot;
 *   - domain: at least two labels separated by dots, each 1..EMAIL_LABEL_MAX of letters, digits
 *     and hyphens, not starting or ending with a hyphen.
 * Returns 0, or ERR_INVALID with *why (static text, written for a client: "must be ...") and
 * out set to "". */
int email_normalize(const char *in, size_t len, char out[EMAIL_MAX + 1], const char **why);

#endif
