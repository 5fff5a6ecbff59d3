/* server_url.h — the one reader of week 3's server URLs: SCHEME://[[USER]:PASSWORD@]HOST[:PORT]...
 *
 * Redis (redis_conn.c) and memcached (cache_memcached.c) are named by URLs of one shape, and a
 * URL is where a configuration mistake or a secret first meets the code, so one careful reader
 * serves both: a host name or IPv4 address, a port in 1..65535, a user and password with %XX
 * escapes decoded (so a password may hold '@', ':' or '/'), and whatever follows the port left
 * for the caller, which refuses what it does not understand rather than ignoring it. A refusal
 * says why, never quoting the URL: it may hold a password. */
#ifndef TASKD_SERVER_URL_H
#define TASKD_SERVER_URL_H

#define SERVER_URL_PART_MAX 255

struct server_url {
    char host[SERVER_URL_PART_MAX + 1];
    int port;
    char user[SERVER_URL_PART_MAX + 1];     /* "" when the URL has none */
    char password[SERVER_URL_PART_MAX + 1]; /* "" when the URL has none */
    const char *rest; /* what follows HOST[:PORT]: "" or "/...", pointing into the URL */
};

/* Parses url, which must start with scheme ("redis://"). NULL on success, or why not (static
 * text). A user needs a password: "USER:PASSWORD@" or ":PASSWORD@". The caller wipes
 * out->password (explicit_bzero) when done with it. */
const char *server_url_parse(const char *url, const char *scheme, int default_port,
                             struct server_url *out);

#endif
