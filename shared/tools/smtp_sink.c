/* smtp_sink.c — a local SMTP server that accepts every message and relays none.
 *
 * Week 3's worker sends reminder e-mails over SMTP (libcurl). Its tests must see real SMTP
 * traffic — the dialogue, the envelope, dot-stuffing, the size limit — and never a real inbox, so
 * this server speaks enough of RFC 5321 for such a client and stores each accepted message as one
 * file, DIR/<epoch_ms>-<pid>-<seq>.eml, which a test then reads back. The file is the message
 * exactly as received (dot-stuffing undone, CRLFs kept), after lines that record the envelope:
 *
 *     X-Sink-Mail-From: a@example.com               (empty for the null sender <>)
 *     X-Sink-Rcpt-To: b@example.com                 (one line per recipient, in order)
 *     X-Sink-Received-At: 2024-05-01T12:00:00.123Z  (RFC 3339, UTC, milliseconds)
 *
 * A message is written to DIR/.tmp-*, fsynced and renamed, so a test polling DIR never sees half of
 * one. Everything is bounded, as a server facing a buggy client must be: 64 connections at once
 * (one detached thread each), lines of 1000 octets CRLF included, messages of 10 MiB, 100
 * recipients, 60 s of silence per connection. SIGTERM or SIGINT stops it with exit status 0.
 * shared/scripts/services.sh runs it for the suites and `make run` (`services.sh up smtp`).
 *
 * usage: smtp-sink --port N --dir DIR [--bind 127.0.0.1] [--port-file FILE]
 *        --port 0 picks a free port; --port-file receives the port actually bound. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define MAX_LINE        1000     /* octets, CRLF included (RFC 5321 4.5.3.1.6) */
#define MAX_MESSAGE     10485760 /* octets: 10 MiB, as EHLO's SIZE says */
#define MAX_RCPT        100
#define MAX_PATH_LEN    256 /* a reverse- or forward-path (RFC 5321 4.5.3.1.3) */
#define IDLE_TIMEOUT_S  60
#define IN_BUF_SIZE     4096

/* The mail directory, opened once: openat/renameat keep working whatever the working directory,
 * and fsync on it makes a rename durable. */
static int g_dir_fd = -1;
static atomic_int g_active;          /* connections being served */
static atomic_ulong g_seq;           /* messages stored by this process, for unique names */
static volatile sig_atomic_t g_stop; /* set by SIGTERM/SIGINT */

struct session {
    int fd;
    char in[IN_BUF_SIZE]; /* bytes received but not consumed yet: in[in_pos, in_len) */
    size_t in_pos, in_len;
    char line[MAX_LINE + 1]; /* the current line, terminator included, NUL-terminated */
    bool line_crlf;          /* it ended with CRLF (not a bare LF) */
    bool greeted;            /* HELO/EHLO seen */
    bool in_mail;            /* MAIL accepted: a transaction is open */
    char from[MAX_PATH_LEN + 1];
    char rcpt[MAX_RCPT][MAX_PATH_LEN + 1];
    size_t nrcpt;
};

/* A growable byte buffer for one message; callers keep len <= MAX_MESSAGE. */
struct msgbuf {
    char *data;
    size_t len, cap;
};

enum read_status { READ_LINE, READ_TOO_LONG, READ_EOF, READ_TIMEOUT, READ_ERROR };

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One reply line; CRLF is added here. Returns false when the client is gone. */
__attribute__((format(printf, 2, 3))) static bool reply(struct session *s, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n =
        vsnprintf(text, sizeof text - 2, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    if (n < 0)
        return false;
    size_t len = (size_t)n < sizeof text - 2 ? (size_t)n : sizeof text - 3;
    text[len++] = '\r';
    text[len++] = '\n';
    const char *p = text;
    while (len > 0) {
        /* MSG_NOSIGNAL: a client that hung up must not kill the whole sink with SIGPIPE. */
        ssize_t w = send(s->fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* Reads one line, its LF included, into s->line (*len excludes the NUL). A line longer than
 * MAX_LINE is consumed up to its LF all the same and reported as READ_TOO_LONG, so the dialogue
 * stays in step; a line cut by the end of the connection is dropped (READ_EOF). */
static enum read_status read_line(struct session *s, size_t *len)
{
    size_t n = 0;
    bool too_long = false;
    char prev = '\0';
    for (;;) {
        if (s->in_pos == s->in_len) {
            ssize_t r = recv(s->fd, s->in, sizeof s->in, 0);
            if (r == 0)
                return READ_EOF;
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                /* SO_RCVTIMEO expired: the client has been silent for IDLE_TIMEOUT_S. */
                return errno == EAGAIN || errno == EWOULDBLOCK ? READ_TIMEOUT : READ_ERROR;
            }
            s->in_pos = 0;
            s->in_len = (size_t)r;
        }
        char c = s->in[s->in_pos++];
        if (n < MAX_LINE)
            s->line[n++] = c;
        else
            too_long = true;
        if (c == '\n') {
            s->line_crlf = prev == '\r';
            break;
        }
        prev = c;
    }
    s->line[n] = '\0';
    *len = n;
    return too_long ? READ_TOO_LONG : READ_LINE;
}

static int msgbuf_append(struct msgbuf *b, const char *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap - b->len < n)
            cap *= 2;
        if (cap > MAX_MESSAGE && b->len + n <= MAX_MESSAGE)
            cap = MAX_MESSAGE; /* no more than one message's worth per connection */
        char *data = realloc(b->data, cap);
        if (!data)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* "<path>" at *p: copies the path into out (without brackets) and advances *p past '>'.
 * Returns 0, or -1 when it is not a bracketed path of at most MAX_PATH_LEN printable octets. */
static int parse_path(const char **p, char out[MAX_PATH_LEN + 1])
{
    const char *q = *p;
    if (*q != '<')
        return -1;
    q++;
    size_t n = 0;
    while (*q && *q != '>') {
        unsigned char c = (unsigned char)*q;
        if (c <= ' ' || c == 0x7f || c == '<' || n == MAX_PATH_LEN)
            return -1;
        out[n++] = *q++;
    }
    if (*q != '>')
        return -1;
    out[n] = '\0';
    *p = q + 1;
    return 0;
}

static void reset_transaction(struct session *s)
{
    s->in_mail = false;
    s->from[0] = '\0';
    s->nrcpt = 0;
}

/* Writes the message as DIR/<epoch_ms>-<pid>-<seq>.eml, the envelope lines first; the name goes
 * to name[cap]. Returns 0, or -1 (logged) when nothing was stored. */
static int store_message(const struct session *s, const struct msgbuf *msg, char *name, size_t cap)
{
    struct timespec now;
    struct tm tm;
    char stamp[64], tmp[64], line[MAX_PATH_LEN + 64];
    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || !gmtime_r(&now.tv_sec, &tm) ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return -1;
    long ms = now.tv_nsec / 1000000;
    unsigned long seq = atomic_fetch_add(&g_seq, 1) + 1;
    long long epoch_ms = (long long)now.tv_sec * 1000 + ms;
    int n1 = snprintf(name, cap, "%lld-%ld-%lu.eml", epoch_ms, (long)getpid(), seq);
    int n2 = snprintf(tmp, sizeof tmp, ".tmp-%ld-%lu", (long)getpid(), seq);
    if (n1 < 0 || (size_t)n1 >= cap || n2 < 0 || (size_t)n2 >= sizeof tmp)
        return -1;

    int fd = openat(g_dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "smtp-sink: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    int rc = -1;
    int n = snprintf(line, sizeof line, "X-Sink-Mail-From: %s\r\n", s->from);
    if (n < 0 || (size_t)n >= sizeof line || write_all(fd, line, (size_t)n) != 0)
        goto done;
    for (size_t i = 0; i < s->nrcpt; i++) {
        n = snprintf(line, sizeof line, "X-Sink-Rcpt-To: %s\r\n", s->rcpt[i]);
        if (n < 0 || (size_t)n >= sizeof line || write_all(fd, line, (size_t)n) != 0)
            goto done;
    }
    n = snprintf(line, sizeof line, "X-Sink-Received-At: %s.%03ldZ\r\n", stamp, ms);
    if (n < 0 || (size_t)n >= sizeof line || write_all(fd, line, (size_t)n) != 0)
        goto done;
    if (msg->len > 0 && write_all(fd, msg->data, msg->len) != 0)
        goto done;
    /* Data on disk before the name appears: a crash never leaves a truncated .eml behind. */
    if (fsync(fd) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "smtp-sink: cannot write %s: %s\n", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        fprintf(stderr, "smtp-sink: cannot close %s: %s\n", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && renameat(g_dir_fd, tmp, g_dir_fd, name) != 0) {
        fprintf(stderr, "smtp-sink: cannot rename %s to %s: %s\n", tmp, name, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlinkat(g_dir_fd, tmp, 0); /* best effort: the message is refused either way */
        return rc;
    }
    /* The rename itself: the message exists now, so a failure here is only worth a warning
     * (refusing it would make the client send a duplicate). */
    if (fsync(g_dir_fd) != 0)
        fprintf(stderr, "smtp-sink: warning: fsync of the mail directory: %s\n", strerror(errno));
    fprintf(stderr, "smtp-sink: stored %s (%zu recipient(s), %zu octets)\n", name, s->nrcpt,
            msg->len);
    return 0;
}

/* After the 354: reads the message up to CRLF.CRLF and answers it. Returns false when the
 * connection must close. */
static bool receive_data(struct session *s)
{
    struct msgbuf msg = {0};
    bool too_big = false, too_long = false, no_memory = false;
    bool at_line_start = true; /* the previous line ended with CRLF (the DATA command's did) */
    bool open = true;
    for (;;) {
        size_t n;
        enum read_status st = read_line(s, &n);
        if (st == READ_TIMEOUT)
            reply(s, "421 4.4.2 idle for %d s, closing connection", IDLE_TIMEOUT_S);
        if (st == READ_TIMEOUT || st == READ_EOF || st == READ_ERROR) {
            open = false;
            goto done;
        }
        if (st == READ_TOO_LONG) {
            too_long = true;
            at_line_start = s->line_crlf;
            continue;
        }
        if (at_line_start && n == 3 && memcmp(s->line, ".\r\n", 3) == 0)
            break;
        const char *p = s->line;
        /* Dot-stuffing (RFC 5321 4.5.2): the client doubled a leading dot; drop one. */
        if (at_line_start && p[0] == '.') {
            p++;
            n--;
        }
        at_line_start = s->line_crlf;
        if (too_big || too_long || no_memory)
            continue; /* refused already; read on to the end to stay in step */
        if (msg.len + n > MAX_MESSAGE) {
            too_big = true;
            free(msg.data);
            msg = (struct msgbuf){0};
        } else if (msgbuf_append(&msg, p, n) != 0) {
            no_memory = true;
        }
    }

    char name[64];
    if (too_long)
        open = reply(s, "500 5.5.2 line too long (limit %d octets with CRLF)", MAX_LINE);
    else if (too_big)
        open =
            reply(s, "552 5.3.4 message exceeds the fixed maximum size of %d octets", MAX_MESSAGE);
    else if (no_memory || store_message(s, &msg, name, sizeof name) != 0)
        open = reply(s, "451 4.3.0 could not store the message, try again later");
    else
        open = reply(s, "250 2.0.0 OK: stored as %s", name);
done:
    free(msg.data);
    reset_transaction(s);
    return open;
}

/* The len octets at p are word, ignoring case. */
static bool token_is(const char *p, size_t len, const char *word)
{
    return len == strlen(word) && strncasecmp(p, word, len) == 0;
}

/* MAIL FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME] */
static bool cmd_mail(struct session *s, const char *args)
{
    if (!s->greeted)
        return reply(s, "503 5.5.1 send EHLO or HELO first");
    if (s->in_mail)
        return reply(s, "503 5.5.1 nested MAIL command");
    if (strncasecmp(args, "FROM:", 5) != 0)
        return reply(s, "501 5.5.4 syntax: MAIL FROM:<address>");
    const char *p = args + 5;
    while (*p == ' ')
        p++;
    if (parse_path(&p, s->from) != 0)
        return reply(s, "501 5.1.7 bad sender address syntax");
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *param = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - param);
        if (len > 5 && strncasecmp(param, "SIZE=", 5) == 0) {
            /* The client's own estimate: refuse an oversized message before it is sent. */
            char *end;
            errno = 0;
            unsigned long long size = strtoull(param + 5, &end, 10);
            if (end != p || errno != 0)
                return reply(s, "501 5.5.4 bad SIZE parameter");
            if (size > MAX_MESSAGE)
                return reply(s, "552 5.3.4 message size exceeds fixed maximum message size");
        } else if (!token_is(param, len, "BODY=7BIT") && !token_is(param, len, "BODY=8BITMIME")) {
            return reply(s, "555 5.5.4 MAIL parameter not recognized");
        }
    }
    s->in_mail = true;
    s->nrcpt = 0;
    return reply(s, "250 2.1.0 OK");
}

/* RCPT TO:<path> */
static bool cmd_rcpt(struct session *s, const char *args)
{
    if (!s->in_mail)
        return reply(s, "503 5.5.1 send MAIL first");
    if (strncasecmp(args, "TO:", 3) != 0)
        return reply(s, "501 5.5.4 syntax: RCPT TO:<address>");
    if (s->nrcpt == MAX_RCPT)
        return reply(s, "452 4.5.3 too many recipients (limit %d)", MAX_RCPT);
    const char *p = args + 3;
    while (*p == ' ')
        p++;
    char *to = s->rcpt[s->nrcpt];
    if (parse_path(&p, to) != 0 || to[0] == '\0')
        return reply(s, "501 5.1.3 bad recipient address syntax");
    while (*p == ' ')
        p++;
    if (*p)
        return reply(s, "555 5.5.4 RCPT parameters not recognized");
    s->nrcpt++;
    return reply(s, "250 2.1.5 OK");
}

static bool cmd_data(struct session *s, const char *args)
{
    if (*args)
        return reply(s, "501 5.5.4 DATA takes no argument");
    if (!s->in_mail)
        return reply(s, "503 5.5.1 send MAIL first");
    if (s->nrcpt == 0)
        return reply(s, "503 5.5.1 send RCPT first");
    if (!reply(s, "354 end data with <CR><LF>.<CR><LF>"))
        return false;
    return receive_data(s);
}

static bool verb_is(const char *line, const char *verb)
{
    size_t n = strlen(verb);
    return strncasecmp(line, verb, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

/* One command line (CRLF stripped). Returns false when the connection must close. */
static bool dispatch(struct session *s, const char *line)
{
    const char *args = line;
    while (*args && *args != ' ')
        args++;
    while (*args == ' ')
        args++;

    if (verb_is(line, "EHLO") || verb_is(line, "HELO")) {
        if (!*args)
            return reply(s, "501 5.5.4 %.4s needs a domain", line);
        reset_transaction(s);
        s->greeted = true;
        if (toupper((unsigned char)line[0]) == 'H')
            return reply(s, "250 smtp-sink");
        return reply(s, "250-smtp-sink") && reply(s, "250-8BITMIME") &&
               reply(s, "250 SIZE %d", MAX_MESSAGE);
    }
    if (verb_is(line, "MAIL"))
        return cmd_mail(s, args);
    if (verb_is(line, "RCPT"))
        return cmd_rcpt(s, args);
    if (verb_is(line, "DATA"))
        return cmd_data(s, args);
    if (verb_is(line, "RSET")) {
        reset_transaction(s);
        return reply(s, "250 2.0.0 OK");
    }
    if (verb_is(line, "NOOP"))
        return reply(s, "250 2.0.0 OK");
    if (verb_is(line, "VRFY"))
        return reply(s, "252 2.1.5 cannot verify the user, but will accept the message");
    if (verb_is(line, "QUIT")) {
        reply(s, "221 2.0.0 bye");
        return false;
    }
    return reply(s, "502 5.5.2 command not recognized");
}

static void session_run(struct session *s)
{
    if (!reply(s, "220 smtp-sink ESMTP (a test sink: mail is stored, never relayed)"))
        return;
    for (;;) {
        size_t n;
        switch (read_line(s, &n)) {
        case READ_LINE:
            break;
        case READ_TOO_LONG:
            if (!reply(s, "500 5.5.2 line too long (limit %d octets with CRLF)", MAX_LINE))
                return;
            continue;
        case READ_TIMEOUT:
            reply(s, "421 4.4.2 idle for %d s, closing connection", IDLE_TIMEOUT_S);
            return;
        case READ_EOF:
        case READ_ERROR:
            return;
        }
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
            s->line[--n] = '\0';
        if (!dispatch(s, s->line))
            return;
    }
}

static void *session_thread(void *arg)
{
    struct session *s = arg;
    session_run(s);
    close(s->fd);
    free(s);
    atomic_fetch_sub(&g_active, 1);
    return NULL;
}

/* Starts a detached thread for a new connection, or turns it away when MAX_CONNECTIONS are
 * being served. The fd is always consumed. */
static void serve_connection(int fd)
{
    static const char busy[] = "421 4.3.2 too many connections, try again later\r\n";
    if (atomic_fetch_add(&g_active, 1) >= MAX_CONNECTIONS) {
        /* Non-blocking: the accept loop must never wait on a client. */
        if (send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            /* nothing to do: the connection is closed just below either way */
        }
        close(fd);
        atomic_fetch_sub(&g_active, 1);
        return;
    }
    struct timeval idle = {.tv_sec = IDLE_TIMEOUT_S};
    struct session *s = calloc(1, sizeof *s);
    pthread_attr_t attr;
    pthread_t tid;
    int attr_ok = -1;
    if (!s || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle) != 0)
        goto fail;
    s->fd = fd;
    attr_ok = pthread_attr_init(&attr);
    if (attr_ok != 0 || pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) != 0 ||
        pthread_create(&tid, &attr, session_thread, s) != 0)
        goto fail;
    pthread_attr_destroy(&attr);
    return;
fail:
    fprintf(stderr, "smtp-sink: cannot serve a connection (out of memory or threads)\n");
    if (attr_ok == 0)
        pthread_attr_destroy(&attr);
    free(s);
    close(fd);
    atomic_fetch_sub(&g_active, 1);
}

/* PORT and a newline into path, through a temporary file and a rename: whoever polls for the
 * file (services.sh) reads either nothing or the whole number. */
static int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int rc = fprintf(f, "%u\n", port) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: smtp-sink --port N --dir DIR [--bind 127.0.0.1] [--port-file FILE]\n"
                    "       --port 0 picks a free port (written to --port-file)\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'}, {"dir", required_argument, NULL, 'd'},
        {"bind", required_argument, NULL, 'b'}, {"port-file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *bind_addr = "127.0.0.1", *port_file = NULL;
    long port = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end || port < 0 || port > 65535) {
                fprintf(stderr, "smtp-sink: --port must be 0-65535, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'd':
            dir = optarg;
            break;
        case 'b':
            bind_addr = optarg;
            break;
        case 'f':
            port_file = optarg;
            break;
        case 'h':
            usage();
            return 0;
        default:
            usage();
            return 2;
        }
    }
    if (port < 0 || !dir || optind != argc) {
        usage();
        return 2;
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "smtp-sink: --bind needs an IPv4 address, not '%s'\n", bind_addr);
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "smtp-sink: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    g_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_dir_fd < 0) {
        fprintf(stderr, "smtp-sink: cannot open %s: %s\n", dir, strerror(errno));
        return 1;
    }

    /* SIGTERM/SIGINT are blocked everywhere (the session threads inherit this mask) except
     * inside ppoll below, so they always interrupt the accept loop and nothing else. */
    sigset_t stop_signals, run_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigemptyset(&ignore.sa_mask);
    if (pthread_sigmask(SIG_BLOCK, &stop_signals, &run_mask) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGPIPE, &ignore, NULL) != 0) {
        fprintf(stderr, "smtp-sink: cannot set up signal handling\n");
        return 1;
    }
    sigdelset(&run_mask, SIGTERM);
    sigdelset(&run_mask, SIGINT);

    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, SOMAXCONN) != 0) {
        fprintf(stderr, "smtp-sink: cannot listen on %s:%ld: %s\n", bind_addr, port,
                strerror(errno));
        return 1;
    }
    socklen_t alen = sizeof addr;
    if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        fprintf(stderr, "smtp-sink: getsockname: %s\n", strerror(errno));
        return 1;
    }
    unsigned bound = ntohs(addr.sin_port);
    if (port_file && write_port_file(port_file, bound) != 0) {
        fprintf(stderr, "smtp-sink: cannot write %s: %s\n", port_file, strerror(errno));
        return 1;
    }
    fprintf(stderr, "smtp-sink: listening on %s:%u, writing to %s\n", bind_addr, bound, dir);

    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    while (!g_stop) {
        int ready = ppoll(&pfd, 1, NULL, &run_mask);
        if (ready < 0) {
            if (errno == EINTR)
                continue; /* a stop signal, or another one: the loop condition decides */
            fprintf(stderr, "smtp-sink: poll: %s\n", strerror(errno));
            return 1;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: back off instead of spinning on the backlog. */
                fprintf(stderr, "smtp-sink: accept: %s\n", strerror(errno));
                nanosleep(&(struct timespec){.tv_nsec = 100000000L}, NULL);
            }
            continue; /* EINTR, ECONNABORTED...: the next client */
        }
        serve_connection(fd);
    }
    /* Sessions still open end with the process; a message not yet renamed stays a .tmp-* file,
     * which no reader takes for a message. */
    close(lfd);
    fprintf(stderr, "smtp-sink: stopping (signal received, %d connection(s) open)\n",
            atomic_load(&g_active));
    return 0;
}
