/* email.c — checks and lower-cases an account's e-mail address (see email.h).
 *
 * The checks are written out rule by rule rather than as one regular expression: each rule has
 * its own message, so a person who typed "name@localhost" learns what is missing, and a reader
 * can match every line to API.md's "dot-atom ASCII, local part ≤ 64, domain with ≥ 2 labels". */
#include "email.h"

#include <stdbool.h>
#include <string.h>

#include "err.h"

static int invalid(const char **why, const char *message)
{
    *why = message;
    return ERR_INVALID;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 §3.2.3 atext: letters, digits and these printable symbols. */
static bool is_atext(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Folds A-Z only: the C library's tolower() depends on the locale, and the stored form of an
 * address must not. */
static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The part before the '@': a dot-atom (atoms of atext joined by single dots). NULL when fine,
 * else the message. */
static const char *check_local(const char *s, size_t n)
{
    if (n == 0)
        return "must have a name before the @";
    if (n > EMAIL_LOCAL_MAX)
        return "must have at most 64 characters before the @";
    if (s[0] == '.' || s[n - 1] == '.')
        return "must not start or end the part before the @ with a dot";
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') /* i + 1 < n: s[n - 1] is not a dot */
                return "must not have two dots in a row";
            continue;
        }
        if (!is_atext(s[i]))
            return "must have only letters, digits, dots and !#$%&'*+-/=?^_`{|}~ before the @";
    }
    return NULL;
}

/* One label of the domain: 1..63 letters, digits and hyphens, no hyphen at either end. */
static const char *check_label(const char *s, size_t n)
{
    if (n == 0)
        return "must have a domain of labels joined by single dots, such as example.com";
    if (n > EMAIL_LABEL_MAX)
        return "must have domain labels of at most 63 characters";
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return "must have only letters, digits, hyphens and dots after the @";
    if (s[0] == '-' || s[n - 1] == '-')
        return "must not start or end a domain label with a hyphen";
    return NULL;
}

/* The part after the '@': at least two labels, so "name@localhost" is refused (an account
 * needs an address that can be reached from elsewhere). */
static const char *check_domain(const char *s, size_t n)
{
    if (n == 0)
        return "must have a domain after the @, such as example.com";
    if (memchr(s, '@', n))
        return "must have exactly one @";
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        const char *why = check_label(s + start, i - start);
        if (why)
            return why;
        labels++;
        start = i + 1;
    }
    if (labels < 2)
        return "must have a domain of at least two labels, such as example.com";
    return NULL;
}

int email_normalize(const char *in, size_t len, char out[EMAIL_MAX + 1], const char **why)
{
    out[0] = '\0';
    /* ASCII first: the length limit is in characters, which for ASCII are bytes. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] >= 0x80)
            return invalid(why, "must be ASCII (international addresses are not accepted)");
    if (len > EMAIL_MAX)
        return invalid(why, "must be at most 254 characters");
    const char *at = memchr(in, '@', len);
    if (len == 0 || !at)
        return invalid(why, "must be an e-mail address such as name@example.com");
    size_t local_len = (size_t)(at - in);
    const char *message = check_local(in, local_len);
    if (!message)
        message = check_domain(at + 1, len - local_len - 1);
    if (message)
        return invalid(why, message);
    for (size_t i = 0; i < len; i++)
        out[i] = ascii_lower(in[i]);
    out[len] = '\0';
    return 0;
}
