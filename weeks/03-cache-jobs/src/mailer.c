/* mailer.c — one e-mail over SMTP with libcurl (see mailer.h).
 *
 * The message is built completely in memory first (it is a few kilobytes at most) and then
 * streamed to libcurl through a read callback. Two traps of SMTP are handled in exactly one
 * place each:
 * - Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." must be sent as "..", or the
 *   server would drop the dot (and a line of just "." would end the message early). libcurl
 *   does this itself for uploads over smtp:// — it scans for CRLF "." (and a "." at the very
 *   start) and doubles the dot; we checked lib/smtp.c of the installed 7.88 (and the unit test
 *   checks a body line starting with "." arrives intact). So we must NOT stuff as well, or the
 *   reader would see "..". libcurl only recognises a line start after CRLF, which is one more
 *   reason every line end of the body is normalised to CRLF here.
 * - Line length: SMTP lines are at most 1000 bytes with CRLF, and 8bit bodies must respect it,
 *   so a longer body line is broken (at a UTF-8 character boundary) every 998 bytes.
 *
 * No TLS here: the lab's sink speaks plain SMTP on 127.0.0.1. In production use smtps://
 * (implicit TLS, port 465) or smtp:// with CURLOPT_USE_SSL = CURLUSESSL_ALL (STARTTLS on 587,
 * refusing to go on without it), and credentials in the URL or CURLOPT_USERNAME/PASSWORD from
 * a secret file: mail relays refuse unauthenticated senders, and credentials must never cross
 * the network in clear. */
#include "mailer.h"

#include <ctype.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "utf8.h"

#define DEFAULT_TIMEOUT_MS 10000L
/* RFC 5322 2.1.1: a line MUST be at most 998 characters, CRLF excluded. */
#define LINE_MAX_BYTES 998
/* RFC 2047: a header line holding encoded-words is at most 76 characters. Each word spends 12
 * on "=?UTF-8?B?" and "?=", and base64 turns 3 bytes into 4 characters, so the first line
 * ("Subject: " + word) carries 39 bytes of text and a continuation line (" " + word) 45. */
#define LINE_ENCODED_MAX 76
#define WORD_RAW_MAX     45
/* A plain ASCII subject longer than this is folded as encoded-words too ("Subject: " + text
 * must stay under the 998-byte line limit). */
#define SUBJECT_PLAIN_MAX 900

int mailer_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_msg(LOG_ERROR, "libcurl cannot initialise");
        return ERR_INTERNAL;
    }
    return 0;
}

void mailer_global_cleanup(void)
{
    curl_global_cleanup();
}

bool mailer_address_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 3 || n > MAILER_ADDRESS_MAX)
        return false;
    const char *at = strchr(s, '@');
    if (!at || at == s || at == s + n - 1 || strchr(at + 1, '@'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        /* Printable ASCII only: this also refuses CR, LF, NUL tricks and UTF-8 (SMTPUTF8 is an
         * extension the server may not offer). */
        if (ch <= 0x20 || ch >= 0x7f || strchr("<>,;\"()", ch))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ headers */

/* "Tue, 01 Dec 2026 09:00:00 +0000" (RFC 5322 3.3). Day and month names are spelled out here
 * rather than by strftime, whose %a and %b follow the process locale. */
static int put_date(struct buf *out, int64_t now_us)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t secs = (time_t)(now_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return ERR_INVALID;
    return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
}

/* "<time.random@domain-of-from>": unique without coordination, which is all a Message-ID
 * needs to be (RFC 5322 3.6.4). A caller's id instead names a message that may be sent again
 * (mailer_format_id): the same name both times. */
static int put_message_id(struct buf *out, const char *from, const char *id, int64_t now_us)
{
    if (id)
        return buf_printf(out, "Message-ID: <%s@%s>\r\n", id, strchr(from, '@') + 1);
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* Without randomness the pid still separates two processes sending in the same µs. */
        long pid = (long)getpid();
        memcpy(rnd, &pid, sizeof pid < sizeof rnd ? sizeof pid : sizeof rnd);
    }
    int rc = buf_printf(out, "Message-ID: <%lld.", (long long)now_us);
    for (size_t i = 0; rc == 0 && i < sizeof rnd; i++)
        rc = buf_printf(out, "%02x", rnd[i]);
    if (rc == 0)
        rc = buf_printf(out, "@%s>\r\n", strchr(from, '@') + 1);
    return rc;
}

/* The subject with every control character (CR and LF above all) turned into a space, a run of
 * them into one: a title can then never end the Subject line and start a header of its own. */
static int subject_clean(const char *subject, struct buf *out)
{
    bool in_run = false;
    for (const char *p = subject; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool control = ch < 0x20 || ch == 0x7f;
        if (control && in_run)
            continue;
        in_run = control;
        if (buf_putc(out, control ? ' ' : (char)ch) != 0)
            return ERR_NOMEM;
    }
    return buf_putc(out, '\0') == 0 ? 0 : ERR_NOMEM; /* NUL-terminated, not counted below */
}

static bool plain_ascii(const char *s, size_t n)
{
    if (n > SUBJECT_PLAIN_MAX || strstr(s, "=?")) /* "=?" could read as an encoded-word */
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* Subject: as is when plain ASCII, else a run of =?UTF-8?B?...?= words, one per folded line.
 * A word never splits a UTF-8 character (RFC 2047 section 5 requires whole characters). */
static int put_subject(struct buf *out, const char *subject)
{
    struct buf clean = BUF_INIT;
    int rc = subject_clean(subject, &clean);
    if (rc != 0)
        goto done;
    size_t n = clean.len - 1; /* without the NUL */
    const char *s = clean.data;
    if (!utf8_valid(s, n)) {
        rc = ERR_INVALID;
        goto done;
    }
    if (plain_ascii(s, n)) {
        rc = buf_printf(out, "Subject: %s\r\n", s);
        goto done;
    }
    rc = buf_puts(out, "Subject:");
    for (size_t off = 0; rc == 0 && off < n;) {
        size_t prefix = off == 0 ? strlen("Subject: ") : 1;
        size_t room = (LINE_ENCODED_MAX - prefix - 12) / 4 * 3;
        size_t take = n - off < room ? n - off : room;
        /* Back off to the start of a character: continuation bytes are 10xxxxxx. */
        while (off + take < n && ((unsigned char)s[off + take] & 0xc0) == 0x80)
            take--;
        char b64[sodium_base64_ENCODED_LEN(WORD_RAW_MAX, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + off, take,
                          sodium_base64_VARIANT_ORIGINAL);
        rc = buf_printf(out, "%s=?UTF-8?B?%s?=", off == 0 ? " " : "\r\n ", b64);
        off += take;
    }
    if (rc == 0)
        rc = buf_puts(out, "\r\n");
done:
    buf_free(&clean);
    return rc;
}

/* ------------------------------------------------------------------ body */

/* Copies body with every line end (CRLF, LF or a lone CR) made CRLF, long lines broken at a
 * character boundary, and a final CRLF. */
static int put_body(struct buf *out, const char *body)
{
    size_t n = strlen(body);
    if (!utf8_valid(body, n))
        return ERR_INVALID;
    size_t line = 0; /* bytes on the current output line */
    for (size_t i = 0; i < n;) {
        if (body[i] == '\r' || body[i] == '\n') {
            i += (body[i] == '\r' && i + 1 < n && body[i + 1] == '\n') ? 2 : 1;
            if (buf_puts(out, "\r\n") != 0)
                return ERR_NOMEM;
            line = 0;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(body + i, n - i, &cp);
        if (line + len > LINE_MAX_BYTES) {
            if (buf_puts(out, "\r\n") != 0)
                return ERR_NOMEM;
            line = 0;
        }
        if (buf_append(out, body + i, len) != 0)
            return ERR_NOMEM;
        line += len;
        i += len;
    }
    if (line > 0 && buf_puts(out, "\r\n") != 0)
        return ERR_NOMEM;
    return 0;
}

bool mailer_message_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > MAILER_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr(".-_", id[i]))
            return false;
    return true;
}

int mailer_format(const struct mailer_config *c, const char *to, const char *subject,
                  const char *body, int64_t now_us, struct buf *out)
{
    return mailer_format_id(c, to, subject, body, NULL, now_us, out);
}

int mailer_format_id(const struct mailer_config *c, const char *to, const char *subject,
                     const char *body, const char *message_id, int64_t now_us, struct buf *out)
{
    if (!c || !out || !subject || !body || !mailer_address_valid(c->from) ||
        !mailer_address_valid(to) || (message_id && !mailer_message_id_valid(message_id)))
        return ERR_INVALID;
    size_t start = out->len;
    int rc = put_date(out, now_us);
    if (rc == 0)
        rc = buf_printf(out, "From: %s\r\nTo: %s\r\n", c->from, to);
    if (rc == 0)
        rc = put_subject(out, subject);
    if (rc == 0)
        rc = put_message_id(out, c->from, message_id, now_us);
    if (rc == 0)
        rc = buf_puts(out, "MIME-Version: 1.0\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Content-Transfer-Encoding: 8bit\r\n"
                           "\r\n");
    if (rc == 0)
        rc = put_body(out, body);
    if (rc == 0 && out->failed)
        rc = ERR_NOMEM;
    if (rc != 0) {
        out->len = start; /* as it was: no half message */
        if (out->data)
            out->data[start] = '\0';
        return rc == ERR_INVALID ? ERR_INVALID : ERR_NOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------------ sending */

struct upload {
    const char *data;
    size_t len, off;
};

static size_t upload_read(char *dst, size_t size, size_t nmemb, void *userdata)
{
    struct upload *u = userdata;
    size_t room = size * nmemb;
    size_t n = u->len - u->off < room ? u->len - u->off : room;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n; /* 0 = end of the message */
}

static int upload_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const struct mailer_config *c = ctx;
    return c->progress(c->progress_ctx) != 0; /* non-zero aborts the transfer */
}

static int map_curl_error(CURLcode cc, long smtp_code)
{
    if (smtp_code >= 400) /* the server answered, and said no */
        return ERR_IO;
    switch (cc) {
    case CURLE_OUT_OF_MEMORY:
        return ERR_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ERR_INVALID;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return ERR_UNAVAILABLE;
    default:
        return ERR_IO;
    }
}

static bool smtp_url_valid(const char *url)
{
    return url && (strncmp(url, "smtp://", 7) == 0 || strncmp(url, "smtps://", 8) == 0);
}

/* Sets up curl for one SMTP send of up (from from_path to rcpt), libcurl's error text going
 * to why. Stops at the first option libcurl refuses and returns its code. */
static CURLcode smtp_options(CURL *curl, const struct mailer_config *c, const char *from_path,
                             struct curl_slist *rcpt, struct upload *up, char *why)
{
    long timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : DEFAULT_TIMEOUT_MS;
    CURLcode cc;
    if ((cc = curl_easy_setopt(curl, CURLOPT_URL, c->smtp_url)) != CURLE_OK ||
    /* Only SMTP, whatever the URL says: a typo must not turn into an HTTP or FILE upload. */
#if LIBCURL_VERSION_NUM >= 0x075500
        (cc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps")) != CURLE_OK ||
#else
        (cc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                               (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS))) != CURLE_OK ||
#endif
        (cc = curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_path)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_READDATA, up)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms)) != CURLE_OK ||
        /* No SIGALRM for DNS timeouts: signals belong to the worker's main loop. */
        (cc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, why)) != CURLE_OK)
        return cc;
    if (!c->progress)
        return CURLE_OK;
    if ((cc = curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, upload_progress)) != CURLE_OK ||
        (cc = curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)c)) != CURLE_OK)
        return cc;
    return curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
}

int mailer_send(const struct mailer_config *c, const char *to, const char *subject,
                const char *body)
{
    return mailer_send_id(c, to, subject, body, NULL);
}

int mailer_send_id(const struct mailer_config *c, const char *to, const char *subject,
                   const char *body, const char *message_id)
{
    if (!c || !smtp_url_valid(c->smtp_url))
        return ERR_INVALID;
    struct buf msg = BUF_INIT;
    struct curl_slist *rcpt = NULL;
    char from_path[MAILER_ADDRESS_MAX + 3], to_path[MAILER_ADDRESS_MAX + 3];
    char why[CURL_ERROR_SIZE] = "";
    CURL *curl = NULL;
    int rc = mailer_format_id(c, to, subject, body, message_id, clock_now_us(), &msg);
    if (rc != 0)
        goto done;
    /* Both addresses passed mailer_address_valid, so they fit. */
    snprintf(from_path, sizeof from_path, "<%s>", c->from);
    snprintf(to_path, sizeof to_path, "<%s>", to);
    rc = ERR_NOMEM;
    curl = curl_easy_init();
    rcpt = curl_slist_append(NULL, to_path);
    if (!curl || !rcpt)
        goto done;

    struct upload up = {.data = msg.data, .len = msg.len, .off = 0};
    CURLcode cc = smtp_options(curl, c, from_path, rcpt, &up, why);
    if (cc != CURLE_OK) {
        rc = cc == CURLE_OUT_OF_MEMORY ? ERR_NOMEM : ERR_INTERNAL;
        log_kv(LOG_ERROR, "libcurl refused an SMTP option",
               (struct log_kv[]){LOG_STR("error", curl_easy_strerror(cc))}, 1);
        goto done;
    }

    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK) {
        rc = 0;
        goto done;
    }
    long smtp_code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &smtp_code);
    rc = map_curl_error(cc, smtp_code);
    /* curl's message names the host and the SMTP reply, never the URL's password. */
    struct log_kv kv[] = {LOG_STR("error", why[0] ? why : curl_easy_strerror(cc)),
                          LOG_INT("curl_code", (long long)cc), LOG_INT("smtp_code", smtp_code)};
    log_kv(LOG_WARN, "mail not sent", kv, 3);
done:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    buf_free(&msg);
    return rc;
}
