/* server_url.c — SCHEME://[[USER]:PASSWORD@]HOST[:PORT]... (see server_url.h). */
#include "server_url.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies s[0..n) into out (SERVER_URL_PART_MAX + 1 bytes) with %XX escapes decoded. NULL on
 * success, or why not. */
static const char *decode_part(const char *s, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || hi + lo == 0)
                return "a %-escape in the user or password is not %XX (or is %00)";
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (len == SERVER_URL_PART_MAX)
            return "the user or password is too long";
        out[len++] = c;
    }
    out[len] = '\0';
    return NULL;
}

const char *server_url_parse(const char *url, const char *scheme, int default_port,
                             struct server_url *out)
{
    *out = (struct server_url){.port = default_port};
    size_t scheme_len = strlen(scheme);
    if (strncmp(url, scheme, scheme_len) != 0)
        return "the URL does not start with the scheme it should";
    const char *s = url + scheme_len;
    const char *at = memchr(s, '@', strcspn(s, "/"));
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (!colon || colon + 1 == at)
            return "a user needs a password: USER:PASSWORD@HOST or :PASSWORD@HOST";
        const char *why = decode_part(s, (size_t)(colon - s), out->user);
        if (!why)
            why = decode_part(colon + 1, (size_t)(at - colon - 1), out->password);
        if (why)
            return why;
        s = at + 1;
    }
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '-' || s[n] == '_')
        n++;
    if (n == 0 || n > SERVER_URL_PART_MAX)
        return "the host is missing or not a host name or IPv4 address";
    memcpy(out->host, s, n);
    out->host[n] = '\0';
    s += n;
    if (*s == ':') {
        char *end = NULL;
        errno = 0;
        long port = isdigit((unsigned char)s[1]) ? strtol(s + 1, &end, 10) : 0;
        if (errno != 0 || port < 1 || port > 65535)
            return "the port is not a number in 1..65535";
        out->port = (int)port;
        s = end;
    }
    out->rest = s;
    return NULL;
}
