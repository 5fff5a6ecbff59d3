/* err.h — the one error vocabulary of the service.
 *
 * Every function that can fail returns an int: 0 for success or one of these negative codes, and
 * hands its results back through out-parameters. Only problem.c turns a code into an HTTP status,
 * so handlers never hard-code "which failure is which status". */
#ifndef TASKD_ERR_H
#define TASKD_ERR_H

enum err {
    ERR_OK = 0,
    ERR_NOMEM = -1,        /* an allocation failed */
    ERR_INVALID = -2,      /* input breaks a rule (422 when it reaches HTTP) */
    ERR_MALFORMED = -3,    /* input cannot be parsed at all (400) */
    ERR_NOT_FOUND = -4,    /* no such row, or not the caller's (404) */
    ERR_CONFLICT = -5,     /* a uniqueness rule, or a transaction aborted to retry (409) */
    ERR_PRECONDITION = -6, /* If-Match did not match (412) */
    ERR_UNAVAILABLE = -7,  /* a backing service is down (503) */
    ERR_IO = -8,           /* a file or socket call failed */
    ERR_INTERNAL = -9,     /* a bug or an unexpected library failure (500) */
    ERR_TOO_LARGE = -10,   /* over a size limit (413) */
};

/* A short, stable English name for a code ("not found"); never NULL. */
const char *err_str(int code);

#endif
