/* buf.h — a small growable byte buffer, the only way this code base builds strings.
 *
 * It replaces sprintf/strcat: every append is bounded by the buffer's own bookkeeping, and a
 * failed allocation is sticky (buf_failed) so a long run of appends can be checked once at the
 * end. The bytes are always NUL-terminated for convenience, but `len` is the truth: a buffer may
 * hold NUL bytes. */
#ifndef TASKD_BUF_H
#define TASKD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed: contents are incomplete */
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b); /* empty it, keep the memory */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included, escaping what RFC 8259 requires. */
int buf_json_string(struct buf *b, const char *s, size_t n);
/* Hands the bytes to the caller (who frees them) and leaves the buffer empty. */
char *buf_steal(struct buf *b, size_t *len_out);

#endif
