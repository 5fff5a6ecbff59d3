/* err.c — names for the shared error codes (for logs and test messages, never for clients). */
#include "err.h"

const char *err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "ok";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_INVALID:
        return "invalid";
    case ERR_MALFORMED:
        return "malformed";
    case ERR_NOT_FOUND:
        return "not found";
    case ERR_CONFLICT:
        return "conflict";
    case ERR_PRECONDITION:
        return "precondition failed";
    case ERR_UNAVAILABLE:
        return "unavailable";
    case ERR_IO:
        return "i/o error";
    case ERR_INTERNAL:
        return "internal error";
    case ERR_TOO_LARGE:
        return "too large";
    default:
        return "unknown error";
    }
}
