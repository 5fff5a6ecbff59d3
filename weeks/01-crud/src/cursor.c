/* cursor.c — signed keyset cursors for GET /tasks (cursor.h).
 *
 * A cursor is the position of the last row a page showed, plus a signature:
 *
 *     payload = version(1) | sort(1) | id(8) | created_at(8) | has_due(1) | due_at(8) | priority(4)
 *     mac     = HMAC-SHA512-256(instance key, context | payload | the listing's sort and filters)
 *     cursor  = base64url(payload | mac), no padding          (integers little-endian, fixed width)
 *
 * The filters are signed but not carried: the client sends them again with the next request, and
 * decoding recomputes the MAC over *that* request's sort and filters. So a cursor made for
 * ?status=done fails on ?status=todo, and nobody can edit a position without the key. We verify
 * before we read a single field of the payload: unauthenticated bytes are never interpreted.
 *
 * crypto_auth is libsodium's HMAC-SHA512-256; we use its streaming form
 * (crypto_auth_hmacsha512256_init/update/final, the same function fed in pieces) so the signed
 * message needs no buffer however long `q` is, and compare with crypto_verify_32, the constant-
 * time comparison crypto_auth_verify itself uses: the time a wrong cursor takes to fail says
 * nothing about how many of its bytes were right. */
#include "cursor.h"

#include <sodium.h>
#include <string.h>

#include "err.h"

#define CURSOR_VERSION 1
#define PAYLOAD_LEN    31 /* see the layout above */
#define MAC_LEN        crypto_auth_hmacsha512256_BYTES
#define RAW_LEN        (PAYLOAD_LEN + MAC_LEN)
#define B64_VARIANT    sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define TEXT_LEN       (sodium_base64_ENCODED_LEN(RAW_LEN, B64_VARIANT) - 1) /* 84 characters */

_Static_assert(MAC_LEN == 32, "crypto_verify_32 compares 32-byte tags");
_Static_assert(TEXT_LEN + 1 <= CURSOR_MAX, "a cursor must fit in CURSOR_MAX");
_Static_assert(TASK_REPO_KEY_BYTES == crypto_auth_hmacsha512256_KEYBYTES, "key size");

/* Separates cursor MACs from anything else the instance key may ever sign. */
static const char mac_context[] = "taskd/list-cursor";

/* ------------------------------------------------------------------ fixed-width integers */

/* Little-endian, `bytes` wide (8 or 4): the cursor's layout is the same on every machine. */
static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------------ the signed message */

typedef crypto_auth_hmacsha512256_state mac_state;

static void mac_bytes(mac_state *st, const void *p, size_t n)
{
    crypto_auth_hmacsha512256_update(st, p, n);
}

static void mac_byte(mac_state *st, unsigned v)
{
    unsigned char b = (unsigned char)v;
    mac_bytes(st, &b, 1);
}

/* A flag and a 64-bit value; the value is 0 when the flag is off, so an unused field can never
 * make two equal listings sign differently. */
static void mac_opt_i64(mac_state *st, bool has, int64_t v)
{
    unsigned char b[8];
    put_le(b, has ? (uint64_t)v : 0, 8);
    mac_byte(st, has);
    mac_bytes(st, b, sizeof b);
}

/* A presence byte, then the length, then the bytes: the length prefix is what keeps
 * (tag "ab", q "c") and (tag "a", q "bc") from signing as the same byte string. */
static void mac_opt_str(mac_state *st, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    unsigned char len[8];
    put_le(len, n, 8);
    mac_byte(st, s != NULL);
    mac_bytes(st, len, sizeof len);
    mac_bytes(st, s, n);
}

/* The tag of payload for listing q: HMAC over context | payload | q's sort and filters. */
static void mac_of(const unsigned char key[TASK_REPO_KEY_BYTES],
                   const unsigned char payload[PAYLOAD_LEN], const struct task_list_query *q,
                   unsigned char mac[MAC_LEN])
{
    mac_state st;
    crypto_auth_hmacsha512256_init(&st, key, TASK_REPO_KEY_BYTES);
    mac_bytes(&st, mac_context, sizeof mac_context); /* NUL included: ends the context */
    mac_bytes(&st, payload, PAYLOAD_LEN);
    const struct task_filter *f = &q->filter;
    /* LAB:BEGIN 1.6 Sign q's sort and every filter (flags, values, strings length-prefixed). */
    mac_byte(&st, (unsigned)q->sort);
    mac_opt_i64(&st, f->has_status, f->status);
    mac_opt_i64(&st, f->has_priority, f->priority);
    mac_opt_str(&st, f->tag);
    mac_opt_str(&st, f->q);
    mac_opt_i64(&st, f->has_due_before, f->due_before);
    mac_opt_i64(&st, f->has_due_after, f->due_after);
    /* LAB:END */
    crypto_auth_hmacsha512256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

/* ------------------------------------------------------------------ encode / decode */

int cursor_encode(const unsigned char key[TASK_REPO_KEY_BYTES], const struct task_list_query *q,
                  const struct task_key *after, char *out, size_t out_len)
{
    if (!out || out_len < TEXT_LEN + 1)
        return ERR_INVALID;
    out[0] = '\0';
    unsigned char raw[RAW_LEN];
    raw[0] = CURSOR_VERSION;
    raw[1] = (unsigned char)q->sort;
    put_le(raw + 2, (uint64_t)after->id, 8);
    put_le(raw + 10, (uint64_t)after->created_at, 8);
    raw[18] = after->has_due ? 1 : 0;
    put_le(raw + 19, after->has_due ? (uint64_t)after->due_at : 0, 8);
    put_le(raw + 27, (uint32_t)after->priority, 4);
    mac_of(key, raw, q, raw + PAYLOAD_LEN);

    sodium_bin2base64(out, out_len, raw, sizeof raw, B64_VARIANT);
    return 0;
}

int cursor_decode(const unsigned char key[TASK_REPO_KEY_BYTES], const char *s,
                  struct task_list_query *q)
{
    if (!s)
        return ERR_MALFORMED;
    /* Every cursor we make has exactly TEXT_LEN characters; strnlen never reads past
     * CURSOR_MAX bytes of whatever the client sent. */
    size_t len = strnlen(s, CURSOR_MAX);
    if (len != TEXT_LEN)
        return ERR_MALFORMED;
    unsigned char raw[RAW_LEN];
    size_t raw_len = 0;
    /* No characters to ignore and no end pointer: the whole string must be base64url, and
     * libsodium also refuses non-zero leftover bits, so one cursor has one spelling. */
    if (sodium_base642bin(raw, sizeof raw, s, len, NULL, &raw_len, NULL, B64_VARIANT) != 0 ||
        raw_len != RAW_LEN)
        return ERR_MALFORMED;

    unsigned char expected[MAC_LEN];
    /* LAB:BEGIN 1.5 Recompute the MAC for *this* q; compare in constant time (crypto_verify_32). */
    mac_of(key, raw, q, expected);
    if (crypto_verify_32(expected, raw + PAYLOAD_LEN) != 0)
        return ERR_MALFORMED;
    /* LAB:END */

    /* Genuine from here on; the checks below only guard against a future format change. */
    if (raw[0] != CURSOR_VERSION || raw[1] != (unsigned char)q->sort || raw[18] > 1)
        return ERR_MALFORMED;
    struct task_key k = {
        .id = (int64_t)get_le(raw + 2, 8),
        .created_at = (int64_t)get_le(raw + 10, 8),
        .has_due = raw[18] == 1,
        .due_at = (int64_t)get_le(raw + 19, 8),
        .priority = (int)(int32_t)(uint32_t)get_le(raw + 27, 4),
    };
    q->after = k;
    q->has_after = true;
    return 0;
}
