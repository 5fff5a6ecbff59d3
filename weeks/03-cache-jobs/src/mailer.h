/* mailer.h — sends one plain-text e-mail over SMTP (libcurl), for the worker's reminders.
 *
 * The worker is the only process that sends mail, one message per reminder job. A message is
 * built here in full (RFC 5322 headers, a UTF-8 body with CRLF line ends) and handed to libcurl,
 * which speaks SMTP to SMTP_URL: EHLO, MAIL FROM, RCPT TO, DATA. In the lab SMTP_URL points at a
 * local sink that writes each message to a file; nothing ever reaches a real inbox.
 *
 * Everything that goes into a header is treated as hostile: a task title becomes the Subject,
 * and a title holding "\r\nBcc: someone" must not add a header (header injection), so CR and LF
 * never reach a header value, and addresses with anything that could end or split one are
 * refused. */
#ifndef TASKD_MAILER_H
#define TASKD_MAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* Longest address accepted (RFC 5321's limit on a forward-path). */
#define MAILER_ADDRESS_MAX 254

struct mailer_config {
    const char *smtp_url; /* smtp://HOST:PORT (smtps:// for TLS); may hold user:password */
    const char *from;     /* envelope sender and From: header, e.g. "taskd@localhost" */
    long timeout_ms;      /* whole exchange, connect included; 0 = 10000 */
    /* Called about once a second while libcurl waits on the server (may be NULL). A non-zero
     * return aborts the send (ERR_UNAVAILABLE): the worker uses it to renew its job's lease and
     * to give up when told to stop at once. */
    int (*progress)(void *ctx);
    void *progress_ctx;
};

/* Initialises libcurl for the process. Call once from main() before any thread starts, and
 * mailer_global_cleanup() once at the end. 0 or ERR_INTERNAL. */
int mailer_global_init(void);
void mailer_global_cleanup(void);

/* True when s is an address we are willing to put in an envelope and a header: 3..254 bytes of
 * printable ASCII with one '@' that is neither first nor last, and none of space, '<', '>',
 * ',', ';', '"', '(' or ')'. Deliberately stricter than RFC 5322 (no quoted local parts, no
 * display names): what it accepts cannot end, split or add a header. */
bool mailer_address_valid(const char *s);

/* Appends the whole message to out, headers and body, every line ended by CRLF:
 * Date (of now_us), From, To, Subject (RFC 2047 encoded-words when it is not plain printable
 * ASCII), Message-ID, MIME-Version, Content-Type text/plain; charset=utf-8,
 * Content-Transfer-Encoding 8bit, a blank line, then body with its line ends made CRLF.
 * Control characters in the subject (CR and LF included) become spaces. Dot-stuffing is *not*
 * done here: libcurl does it while sending. 0, ERR_INVALID (an address refused, or the subject
 * or body is not valid UTF-8), ERR_NOMEM. */
int mailer_format(const struct mailer_config *c, const char *to, const char *subject,
                  const char *body, int64_t now_us, struct buf *out);

/* The left part of a Message-ID the caller chooses ("<id@domain-of-from>"): 1..MAILER_ID_MAX
 * bytes of letters, digits, '.', '-' and '_'. A sender that may send the same message twice (week
 * 7's notifier, after a crash between the mail and its record) names it the same both times, so
 * receivers that keep Message-IDs drop the repeat. */
#define MAILER_ID_MAX 128
bool mailer_message_id_valid(const char *id);

/* mailer_format with that Message-ID instead of a random one (NULL: a random one, as above).
 * ERR_INVALID also when id is not valid. */
int mailer_format_id(const struct mailer_config *c, const char *to, const char *subject,
                     const char *body, const char *message_id, int64_t now_us, struct buf *out);

/* Sends one message to `to`. 0 when the server accepted it; ERR_INVALID (a bad address or
 * URL); ERR_UNAVAILABLE (the server cannot be reached, timed out, or the send was aborted by
 * `progress`); ERR_IO (the server refused the message); ERR_NOMEM. The reason is logged at
 * warn level without the URL (it may hold a password). */
int mailer_send(const struct mailer_config *c, const char *to, const char *subject,
                const char *body);
/* mailer_send with a Message-ID of the caller's (mailer_format_id). */
int mailer_send_id(const struct mailer_config *c, const char *to, const char *subject,
                   const char *body, const char *message_id);

#endif
