/* fuzz_time.c — libFuzzer target: RFC 3339 timestamps (due_at, due_before, due_after).
 *
 * Every accepted timestamp must format back and parse again to the same instant: a parser and
 * a formatter that disagree would silently move a user's deadline. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t us = 0, again = 0;
    const char *why = NULL;
    if (rfc3339_parse((const char *)data, size, &us, &why) != 0)
        return 0;
    char text[RFC3339_MAX];
    if (rfc3339_format(us, text, sizeof text) != 0)
        abort(); /* an accepted instant must be printable */
    size_t n = 0;
    while (text[n])
        n++;
    if (rfc3339_parse(text, n, &again, &why) != 0 || again != us)
        abort(); /* and must read back as the same instant */
    return 0;
}
