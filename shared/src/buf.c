/* buf.c — the growable buffer behind every string this service builds (see buf.h). */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void buf_init(struct buf *b)
{
    *b = (struct buf)BUF_INIT;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->failed)
        return ERR_NOMEM;
    if (extra > SIZE_MAX / 2 - b->len - 1)
        goto fail;
    size_t need = b->len + extra + 1; /* +1 keeps room for the terminating NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = true;
    return ERR_NOMEM;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return ERR_NOMEM;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    /* Two passes over the arguments: one to measure, one to write. */
    va_list ap;
    va_start(ap, fmt);
    /* clang's analyzer misreads va_start here (a known false positive): */
    int n = vsnprintf(NULL, 0, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
        b->failed = true;
        return ERR_NOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_json_string(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (buf_reserve(b, n + 2) != 0)
        return ERR_NOMEM;
    buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            buf_append(b, "\\\"", 2);
            break;
        case '\\':
            buf_append(b, "\\\\", 2);
            break;
        case '\n':
            buf_append(b, "\\n", 2);
            break;
        case '\r':
            buf_append(b, "\\r", 2);
            break;
        case '\t':
            buf_append(b, "\\t", 2);
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, esc, sizeof esc);
        }
        }
    }
    buf_append(b, s + run, n - run);
    buf_putc(b, '"');
    return b->failed ? ERR_NOMEM : 0;
}

char *buf_steal(struct buf *b, size_t *len_out)
{
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    buf_init(b);
    return p;
}
