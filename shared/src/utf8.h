/* utf8.h — strict UTF-8 at the edge of the service.
 *
 * Requests are checked here once, so the rest of the code can trust that every string it holds
 * is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). Lengths in the API
 * are counted in code points, which is what a person means by "characters". */
#ifndef TASKD_UTF8_H
#define TASKD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..n) is well-formed UTF-8 (RFC 3629). */
bool utf8_valid(const char *s, size_t n);

/* Decodes one code point at s (which must be valid UTF-8); returns its byte length (1..4). */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Number of code points in valid UTF-8. */
size_t utf8_count(const char *s, size_t n);

/* True for code points with the Unicode White_Space property. */
bool utf8_is_space(uint32_t cp);

/* Finds the span of s without leading/trailing Unicode white space: *start is its offset and
 * *len its byte length (0 when s is all white space). s must be valid UTF-8. */
void utf8_trim(const char *s, size_t n, size_t *start, size_t *len);

#endif
