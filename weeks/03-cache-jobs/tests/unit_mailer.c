/* unit_mailer.c — one e-mail over SMTP (mailer.h), through the lab's SMTP sink.
 *
 * SMTP_URL names the sink and SMTP_SINK_DIR the directory where it stores each message it
 * accepts as a file, the envelope first (X-Sink-Mail-From, X-Sink-Rcpt-To) and then the message
 * as received, dot-stuffing undone (`make test-week-3` starts the sink and sets both). Other
 * suites write to the same directory at the same time, so every test sends to a recipient
 * address of its own and finds its message by that address. The outage tests need no sink: a
 * closed port, and a socket that accepts connections but never says a word. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "mailer.h"
#include "testkit.h"

/* ------------------------------------------------------------------ helpers */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v,
              "%s is not set: run these tests with make test-week-3, which starts the SMTP sink "
              "and sets SMTP_URL and SMTP_SINK_DIR",
              name);
    return v;
}

static struct mailer_config sink_config(void)
{
    return (struct mailer_config){
        .smtp_url = env_or_fail("SMTP_URL"), .from = "taskd@localhost", .timeout_ms = 5000};
}

/* A recipient no other test (or suite) uses. */
static const char *unique_rcpt(char *buf, size_t len)
{
    char u[64];
    snprintf(buf, len, "%s@example.com", tk_unique("mailer", u, sizeof u));
    return buf;
}

/* The stored message whose envelope has rcpt, waiting up to 5 s for it to appear (the sink
 * renames a finished file into place, so a file that is there is whole). Caller frees. */
static char *sink_find(const char *rcpt)
{
    const char *dir = env_or_fail("SMTP_SINK_DIR");
    char needle[320];
    snprintf(needle, sizeof needle, "X-Sink-Rcpt-To: %s\r\n", rcpt);
    long deadline = tk_now_ms() + 5000;
    do {
        DIR *d = opendir(dir);
        cr_assert(d, "cannot open SMTP_SINK_DIR %s", dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            char *text = tk_read_file(path, NULL);
            if (text && strstr(text, needle)) {
                closedir(d);
                return text;
            }
            free(text);
        }
        closedir(d);
        tk_sleep_ms(50);
    } while (tk_now_ms() < deadline);
    cr_assert_fail("expected a message for %s in %s within 5 s, found none", rcpt, dir);
    return NULL;
}

/* The header block (envelope lines included) and the body of a stored message. */
static void split_message(char *text, char **headers, char **body)
{
    char *sep = strstr(text, "\r\n\r\n");
    cr_assert(sep, "expected a blank CRLF line between headers and body, got:\n%s", text);
    sep[2] = '\0'; /* headers keep their last CRLF */
    *headers = text;
    *body = sep + 4;
}

/* Sends subject and body to a recipient no other test uses (written to `to`) through the sink,
 * and returns the message the sink stored for it (caller frees), split into *headers and *body. */
static char *sink_send(char *to, size_t to_len, const char *subject, const char *body_text,
                       char **headers, char **body)
{
    struct mailer_config c = sink_config();
    unique_rcpt(to, to_len);
    int rc = mailer_send(&c, to, subject, body_text);
    cr_assert_eq(rc, 0, "expected mailer_send to succeed, got %d (%s)", rc, err_str(rc));
    char *text = sink_find(to);
    split_message(text, headers, body);
    return text;
}

/* Counts the header lines (not continuation lines) whose name is `name`. */
static int header_count(const char *headers, const char *name)
{
    int count = 0;
    size_t n = strlen(name);
    for (const char *line = headers; line && *line;) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':')
            count++;
        const char *eol = strstr(line, "\r\n");
        line = eol ? eol + 2 : NULL;
    }
    return count;
}

/* The value of header `name`, unfolded (CRLF + white space joined), into out. */
static const char *header_value(const char *headers, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *line = headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            size_t o = 0;
            const char *p = line + n + 1;
            while (*p == ' ')
                p++;
            for (; *p && o + 1 < len; p++) {
                if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
                    p += 1; /* the fold: keep the white space that follows */
                    continue;
                }
                if (p[0] == '\r' && p[1] == '\n')
                    break;
                out[o++] = *p;
            }
            out[o] = '\0';
            return out;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

/* Decodes an unfolded value made of =?UTF-8?B?...?= words separated by white space (which
 * RFC 2047 says to drop between two encoded-words); plain text is copied as is. */
static void rfc2047_decode(const char *in, char *out, size_t len)
{
    size_t o = 0;
    const char *p = in;
    while (*p && o + 1 < len) {
        if (strncasecmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(p + 10, "?=");
            cr_assert(end, "expected an encoded-word to end with ?=, got: %s", p);
            size_t bin_len = 0;
            int rc = sodium_base642bin((unsigned char *)out + o, len - o - 1, p + 10,
                                       (size_t)(end - p - 10), NULL, &bin_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL);
            cr_assert_eq(rc, 0, "expected valid base64 in the encoded-word: %.*s",
                         (int)(end - p + 2), p);
            o += bin_len;
            p = end + 2;
            if (*p == ' ' && strncasecmp(p + 1, "=?UTF-8?B?", 10) == 0)
                p++;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------ delivery */

GRADED(mailer, delivers_to_the_envelope_recipient_with_a_complete_header, 2)
{
    char to[128], *headers, *body;
    char *text = sink_send(to, sizeof to, "Reminder: water the plants", "Task 7 is due soon.\n",
                           &headers, &body);
    char v[512];
    cr_expect_eq(header_count(headers, "X-Sink-Rcpt-To"), 1,
                 "expected exactly one envelope recipient, headers:\n%s", headers);
    cr_expect(header_value(headers, "X-Sink-Mail-From", v, sizeof v) &&
                  strcmp(v, "taskd@localhost") == 0,
              "expected envelope sender taskd@localhost, headers:\n%s", headers);
    cr_expect(header_value(headers, "From", v, sizeof v) && strcmp(v, "taskd@localhost") == 0,
              "expected From: taskd@localhost, headers:\n%s", headers);
    cr_expect(header_value(headers, "To", v, sizeof v) && strcmp(v, to) == 0,
              "expected To: %s, headers:\n%s", to, headers);
    cr_expect(header_value(headers, "Subject", v, sizeof v) &&
                  strcmp(v, "Reminder: water the plants") == 0,
              "expected the ASCII subject as is, headers:\n%s", headers);
    cr_expect(header_value(headers, "MIME-Version", v, sizeof v) && strcmp(v, "1.0") == 0,
              "expected MIME-Version: 1.0, headers:\n%s", headers);
    cr_expect(header_value(headers, "Content-Type", v, sizeof v) &&
                  strcasecmp(v, "text/plain; charset=utf-8") == 0,
              "expected Content-Type: text/plain; charset=utf-8, headers:\n%s", headers);
    cr_expect(header_value(headers, "Content-Transfer-Encoding", v, sizeof v) &&
                  strcmp(v, "8bit") == 0,
              "expected Content-Transfer-Encoding: 8bit, headers:\n%s", headers);
    /* "Tue, 01 Dec 2026 09:00:00 +0000" */
    char day[4], mon[4], zone[6];
    int dd, yyyy, hh, mm, ss;
    cr_expect(header_value(headers, "Date", v, sizeof v) &&
                  sscanf(v, "%3[A-Za-z], %d %3s %d %d:%d:%d %5s", day, &dd, mon, &yyyy, &hh, &mm,
                         &ss, zone) == 8 &&
                  strlen(day) == 3 && strstr("Sun Mon Tue Wed Thu Fri Sat", day) &&
                  strstr("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon) &&
                  strcmp(zone, "+0000") == 0,
              "expected an RFC 5322 Date like 'Tue, 01 Dec 2026 09:00:00 +0000', headers:\n%s",
              headers);
    cr_expect(header_value(headers, "Message-ID", v, sizeof v) && v[0] == '<' &&
                  strstr(v, "@localhost>") != NULL,
              "expected Message-ID: <...@localhost>, headers:\n%s", headers);
    cr_expect_str_eq(body, "Task 7 is due soon.\r\n", "expected the body with a CRLF line end");
    free(text);
}

GRADED(mailer, a_utf8_subject_is_encoded_and_decodes_back_to_the_same_text, 2)
{
    char to[128], *headers, *body;
    /* Long enough to need several encoded-words, with 2-, 3- and 4-byte characters that must
     * not be cut in half at a word boundary. */
    const char *subject = "Reminder: Café crème ☕ — 日本語のタスク 🚀🚀🚀 naïve résumé "
                          "Größe Ωmega ✓ is due 2026-12-01T09:00:00Z";
    char *text = sink_send(to, sizeof to, subject, "body\n", &headers, &body);
    char raw[2048], decoded[2048];
    cr_assert(header_value(headers, "Subject", raw, sizeof raw), "expected a Subject, got:\n%s",
              headers);
    cr_expect(strncmp(raw, "=?UTF-8?B?", 10) == 0,
              "expected a non-ASCII subject as RFC 2047 encoded-words, got: %s", raw);
    for (const char *p = raw; *p; p++)
        cr_assert((unsigned char)*p < 0x80, "expected only ASCII on the wire, got: %s", raw);
    /* RFC 2047: a line with encoded-words is at most 76 characters. */
    for (const char *line = strstr(headers, "Subject:"); line;) {
        const char *eol = strstr(line, "\r\n");
        cr_assert(eol && eol - line <= 76,
                  "expected folded Subject lines of at most 76 characters, got %ld: %.*s",
                  eol ? (long)(eol - line) : -1L, eol ? (int)(eol - line) : 0, line);
        line = eol[2] == ' ' ? eol + 2 : NULL;
    }
    rfc2047_decode(raw, decoded, sizeof decoded);
    cr_expect_str_eq(decoded, subject, "expected the decoded subject to equal the one sent");
    free(text);
}

/* ------------------------------------------------------------------ hostile input */

GRADED(mailer, a_line_break_in_the_subject_cannot_add_a_header, 2)
{
    char to[128], *headers, *body;
    char *text = sink_send(to, sizeof to, "Reminder: hi\r\nBcc: evil@x\nX-Evil: 1", "body\n",
                           &headers, &body);
    char v[512];
    cr_expect_eq(header_count(headers, "Bcc"), 0, "expected no Bcc header, headers:\n%s", headers);
    cr_expect_eq(header_count(headers, "X-Evil"), 0, "expected no X-Evil header, headers:\n%s",
                 headers);
    cr_expect_eq(header_count(headers, "X-Sink-Rcpt-To"), 1,
                 "expected the one envelope recipient only, headers:\n%s", headers);
    cr_expect(header_value(headers, "Subject", v, sizeof v) &&
                  strcmp(v, "Reminder: hi Bcc: evil@x X-Evil: 1") == 0,
              "expected the line breaks turned into spaces in the Subject, headers:\n%s", headers);
    free(text);
}

GRADED(mailer, refuses_addresses_that_could_break_a_header_or_the_envelope, 1)
{
    struct mailer_config c = {.smtp_url = "smtp://127.0.0.1:1", .from = "taskd@localhost"};
    const char *bad[] = {"a@b>\r\nBcc: evil@x",
                         "a b@example.com",
                         "<a@example.com>",
                         "a@example.com\n",
                         "",
                         "no-at-sign",
                         "@example.com",
                         "a@",
                         "a@b@example.com",
                         "a@example.com,evil@x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mailer_send(&c, bad[i], "s", "b");
        cr_expect_eq(rc, ERR_INVALID, "expected ERR_INVALID for recipient \"%s\", got %d", bad[i],
                     rc);
    }
    c.from = "taskd@localhost\r\nBcc: evil@x";
    int rc = mailer_send(&c, "ok@example.com", "s", "b");
    cr_expect_eq(rc, ERR_INVALID, "expected ERR_INVALID for a sender with CRLF, got %d", rc);
    cr_expect(mailer_address_valid("first.last+tag@sub.example.com"),
              "expected an ordinary address to be accepted");
}

/* Week 7's notifier names a mail that may be sent twice with a Message-ID of its own. */
GRADED(mailer, a_chosen_message_id_is_used_and_a_header_breaking_one_refused, 1)
{
    struct mailer_config c = {.smtp_url = "smtp://127.0.0.1:1", .from = "taskd@example.com"};
    struct buf out = BUF_INIT;
    int rc = mailer_format_id(&c, "to@example.com", "s", "b", "0f3c-42.task_event", 0, &out);
    cr_assert_eq(rc, 0, "expected mailer_format_id to succeed, got %d (%s)", rc, err_str(rc));
    cr_assert(strstr(out.data, "\r\nMessage-ID: <0f3c-42.task_event@example.com>\r\n"),
              "expected the chosen Message-ID with the sender's domain, got:\n%s", out.data);
    const char *bad[] = {"", "a b", "a>\r\nBcc: evil@x", "a@b", "<a>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t before = out.len;
        rc = mailer_format_id(&c, "to@example.com", "s", "b", bad[i], 0, &out);
        cr_expect_eq(rc, ERR_INVALID, "expected ERR_INVALID for Message-ID \"%s\", got %d", bad[i],
                     rc);
        cr_expect_eq(out.len, before, "expected nothing appended for a refused Message-ID");
    }
    buf_free(&out);
}

/* ------------------------------------------------------------------ the body */

GRADED(mailer, body_lines_starting_with_a_dot_arrive_intact, 2)
{
    char to[128], *headers, *body;
    /* A lone "." line would end the DATA early if libcurl did not stuff it; a doubled dot
     * would show if we stuffed as well. Mixed line ends must all arrive as CRLF. */
    const char *sent = ".starts with a dot\n..two dots\r\n.\nlast line";
    char *text = sink_send(to, sizeof to, "dots", sent, &headers, &body);
    cr_expect_str_eq(body, ".starts with a dot\r\n..two dots\r\n.\r\nlast line\r\n",
                     "expected every dot as sent and CRLF line ends");
    free(text);
}

GRADED(mailer, a_body_line_longer_than_smtp_allows_is_broken_not_refused, 1)
{
    char to[128], *headers, *body;
    /* 1500 bytes of "é" (2 bytes each) on one line: over the 998-byte limit of RFC 5322. */
    struct buf long_line = BUF_INIT;
    for (int i = 0; i < 750; i++)
        buf_puts(&long_line, "é");
    cr_assert(!long_line.failed, "out of memory building the body");
    char *text = sink_send(to, sizeof to, "long", long_line.data, &headers, &body);
    struct buf joined = BUF_INIT;
    for (const char *line = body; *line;) {
        const char *eol = strstr(line, "\r\n");
        cr_assert(eol, "expected every body line to end with CRLF");
        cr_expect(eol - line <= 998, "expected body lines of at most 998 bytes, got %ld",
                  (long)(eol - line));
        buf_append(&joined, line, (size_t)(eol - line));
        line = eol + 2;
    }
    buf_putc(&joined, '\0');
    cr_expect_str_eq(joined.data, long_line.data,
                     "expected the pieces to join back into the line sent, no character cut");
    buf_free(&joined);
    buf_free(&long_line);
    free(text);
}

/* ------------------------------------------------------------------ outages */

/* A listening socket nobody accepts on: the kernel completes the TCP handshake, and then the
 * client waits forever for the 220 greeting. Returns the socket (close it); url gets its URL. */
static int silent_server(char *url, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "cannot create a socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 8) == 0 &&
                  getsockname(fd, (struct sockaddr *)&a, &alen) == 0,
              "cannot listen on 127.0.0.1");
    snprintf(url, len, "smtp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    return fd;
}

GRADED(mailer, a_closed_port_is_unavailable_at_once, 1)
{
    log_set_level(LOG_ERROR); /* the expected "mail not sent" warning is noise here */
    struct mailer_config c = {.smtp_url = "smtp://127.0.0.1:1", .from = "taskd@localhost"};
    long t0 = tk_now_ms();
    int rc = mailer_send(&c, "someone@example.com", "s", "b");
    long took = tk_now_ms() - t0;
    cr_expect_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE for a closed port, got %d", rc);
    cr_expect(took < 2000, "expected a refused connection to fail at once, it took %ld ms", took);
}

GRADED(mailer, a_server_that_never_answers_times_out_as_unavailable, 2, .timeout = 20)
{
    log_set_level(LOG_ERROR);
    char url[64];
    int fd = silent_server(url, sizeof url);
    struct mailer_config c = {.smtp_url = url, .from = "taskd@localhost", .timeout_ms = 1500};
    long t0 = tk_now_ms();
    int rc = mailer_send(&c, "someone@example.com", "s", "b");
    long took = tk_now_ms() - t0;
    close(fd);
    cr_expect_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from a silent server, got %d", rc);
    cr_expect(took >= 1200 && took < 4000,
              "expected the send to give up after about the 1.5 s timeout, it took %ld ms", took);
}

/* The worker aborts a send through the progress callback (a second stop signal). */
static int abort_now(void *ctx)
{
    (*(int *)ctx)++;
    return 1;
}

GRADED(mailer, the_progress_callback_can_abort_a_send, 1, .timeout = 20)
{
    log_set_level(LOG_ERROR);
    char url[64];
    int fd = silent_server(url, sizeof url);
    int calls = 0;
    struct mailer_config c = {.smtp_url = url,
                              .from = "taskd@localhost",
                              .timeout_ms = 10000,
                              .progress = abort_now,
                              .progress_ctx = &calls};
    long t0 = tk_now_ms();
    int rc = mailer_send(&c, "someone@example.com", "s", "b");
    long took = tk_now_ms() - t0;
    close(fd);
    cr_expect_eq(rc, ERR_UNAVAILABLE, "expected ERR_UNAVAILABLE from an aborted send, got %d", rc);
    cr_expect(calls >= 1, "expected the progress callback to be called");
    cr_expect(took < 3000, "expected the abort well before the 10 s timeout, it took %ld ms", took);
}
