/* unit_cursor.c — signed keyset cursors (cursor.h).
 *
 * A cursor must survive the trip to the client and back unchanged, and must be refused when
 * anything about it is not what this service made for this listing: one edited character, other
 * filters, another sort, another instance key, or bytes that are not a cursor at all. */
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "err.h"
#include "testkit.h"

static const struct task_key sample_key = {
    .id = 1234567,
    .created_at = INT64_C(1796115600000000),
    .has_due = true,
    .due_at = INT64_C(1796119200000000),
    .priority = TASK_HIGH,
};

static void key_fill(unsigned char key[TASK_REPO_KEY_BYTES], unsigned char seed)
{
    for (int i = 0; i < TASK_REPO_KEY_BYTES; i++)
        key[i] = (unsigned char)(seed + 31 * i);
}

/* A listing with every kind of filter set. */
static struct task_list_query full_query(enum task_sort sort)
{
    struct task_list_query q;
    memset(&q, 0, sizeof q);
    q.sort = sort;
    q.limit = 20;
    q.filter.has_status = true;
    q.filter.status = TASK_IN_PROGRESS;
    q.filter.has_priority = true;
    q.filter.priority = TASK_NORMAL;
    q.filter.tag = "work";
    q.filter.q = "report";
    q.filter.has_due_before = true;
    q.filter.due_before = INT64_C(1800000000000000);
    q.filter.has_due_after = true;
    q.filter.due_after = INT64_C(1700000000000000);
    return q;
}

static void encode(const unsigned char *key, const struct task_list_query *q,
                   const struct task_key *after, char out[CURSOR_MAX])
{
    int rc = cursor_encode(key, q, after, out, CURSOR_MAX);
    cr_assert_eq(rc, 0, "expected cursor_encode to succeed with CURSOR_MAX bytes, got %d", rc);
}

/* A cursor for sample_key under full_query(sort), into c, signed with the key made from seed
 * (into key). Returns the query it was made for. */
static struct task_list_query made_cursor(unsigned char key[TASK_REPO_KEY_BYTES],
                                          unsigned char seed, enum task_sort sort,
                                          char c[CURSOR_MAX])
{
    key_fill(key, seed);
    struct task_list_query q = full_query(sort);
    encode(key, &q, &sample_key, c);
    return q;
}

/* Decodes s against a fresh copy of q (no position yet) and expects a refusal. */
static void expect_refused(const unsigned char *key, const char *s, struct task_list_query q,
                           const char *what)
{
    q.has_after = false;
    int rc = cursor_decode(key, s, &q);
    cr_assert_eq(rc, ERR_MALFORMED, "expected ERR_MALFORMED for %s, got %d", what, rc);
    cr_assert(!q.has_after, "expected no position set after refusing %s", what);
}

static void expect_same_key(const struct task_key *got, const struct task_key *want)
{
    cr_assert(got->id == want->id && got->created_at == want->created_at &&
                  got->has_due == want->has_due && got->priority == want->priority &&
                  (!want->has_due || got->due_at == want->due_at),
              "expected the position back as encoded (id %lld, created_at %lld, has_due %d, "
              "due_at %lld, priority %d), got (id %lld, created_at %lld, has_due %d, due_at "
              "%lld, priority %d)",
              (long long)want->id, (long long)want->created_at, want->has_due,
              (long long)want->due_at, want->priority, (long long)got->id,
              (long long)got->created_at, got->has_due, (long long)got->due_at, got->priority);
}

/* ------------------------------------------------------------------ round trips */

GRADED(cursor, round_trips_for_every_sort, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    for (int s = TASK_SORT_CREATED_AT; s <= TASK_SORT_PRIORITY_DESC; s++) {
        char c[CURSOR_MAX];
        made_cursor(key, 7, (enum task_sort)s, c);
        struct task_list_query back = full_query((enum task_sort)s);
        int rc = cursor_decode(key, c, &back);
        cr_assert_eq(rc, 0, "expected the cursor for sort %d to decode, got %d", s, rc);
        cr_assert(back.has_after, "expected has_after set for sort %d", s);
        expect_same_key(&back.after, &sample_key);
    }
}

GRADED(cursor, round_trips_extreme_positions_and_no_filters, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    key_fill(key, 1);
    const struct task_key keys[] = {
        {.id = INT64_MAX, .created_at = INT64_MIN, .has_due = false, .priority = TASK_LOW},
        {.id = 1, .created_at = -1, .has_due = true, .due_at = INT64_MIN, .priority = TASK_HIGH},
        {.id = 1, .created_at = 0, .has_due = true, .due_at = INT64_MAX, .priority = -1},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct task_list_query q;
        memset(&q, 0, sizeof q);
        q.sort = TASK_SORT_DUE_AT_DESC;
        char c[CURSOR_MAX];
        encode(key, &q, &keys[i], c);
        struct task_list_query back = q;
        int rc = cursor_decode(key, c, &back);
        cr_assert_eq(rc, 0, "expected position %zu to decode, got %d", i, rc);
        expect_same_key(&back.after, &keys[i]);
    }
}

GRADED(cursor, is_url_safe_text_that_fits_cursor_max, 1)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    char c[CURSOR_MAX];
    made_cursor(key, 3, TASK_SORT_CREATED_AT, c);
    size_t n = strlen(c);
    cr_assert(n > 0 && n < CURSOR_MAX, "expected 1..%d characters, got %zu", CURSOR_MAX - 1, n);
    cr_assert_eq(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), n,
                 "expected only base64url characters (no padding), got \"%s\"", c);
}

GRADED(cursor, is_accepted_by_another_instance_with_the_same_key_and_listing, 2)
{
    /* Another process: equal key bytes, equal filter strings at other addresses, another
     * page size and leftovers in `after` — none of which may matter. */
    unsigned char key1[TASK_REPO_KEY_BYTES], key2[TASK_REPO_KEY_BYTES];
    key_fill(key1, 9);
    key_fill(key2, 9);
    struct task_list_query q = full_query(TASK_SORT_PRIORITY);
    char c[CURSOR_MAX];
    encode(key1, &q, &sample_key, c);
    char tag[] = "work", text[] = "report";
    struct task_list_query other = full_query(TASK_SORT_PRIORITY);
    other.filter.tag = tag;
    other.filter.q = text;
    other.limit = 100;
    other.has_after = true;
    other.after.id = 99;
    int rc = cursor_decode(key2, c, &other);
    cr_assert_eq(rc, 0, "expected an equal key and listing to accept the cursor, got %d", rc);
    expect_same_key(&other.after, &sample_key);
}

GRADED(cursor, encode_refuses_a_buffer_too_small, 1)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    key_fill(key, 2);
    struct task_list_query q = full_query(TASK_SORT_CREATED_AT);
    char big[CURSOR_MAX];
    encode(key, &q, &sample_key, big);
    size_t need = strlen(big) + 1;
    char small[CURSOR_MAX];
    int rc = cursor_encode(key, &q, &sample_key, small, need - 1);
    cr_assert_eq(rc, ERR_INVALID, "expected ERR_INVALID with %zu bytes (need %zu), got %d",
                 need - 1, need, rc);
    rc = cursor_encode(key, &q, &sample_key, small, need);
    cr_assert_eq(rc, 0, "expected exactly %zu bytes to be enough, got %d", need, rc);
    cr_assert_str_eq(small, big, "expected the same cursor whatever the buffer size");
}

/* ------------------------------------------------------------------ refusals */

GRADED(cursor, refuses_any_single_edited_character, 3)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    char c[CURSOR_MAX];
    struct task_list_query q = made_cursor(key, 4, TASK_SORT_DUE_AT, c);
    size_t n = strlen(c);
    for (size_t i = 0; i < n; i++) {
        char t[CURSOR_MAX];
        memcpy(t, c, n + 1);
        t[i] = t[i] == 'A' ? 'B' : 'A'; /* still base64url: only the signature can catch it */
        char what[64];
        snprintf(what, sizeof what, "the cursor with character %zu edited", i);
        expect_refused(key, t, q, what);
    }
}

GRADED(cursor, refuses_a_cursor_made_with_another_key, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES], other[TASK_REPO_KEY_BYTES];
    key_fill(key, 5);
    key_fill(other, 5);
    other[TASK_REPO_KEY_BYTES - 1] ^= 1; /* one bit */
    struct task_list_query q = full_query(TASK_SORT_CREATED_AT);
    char c[CURSOR_MAX];
    encode(other, &q, &sample_key, c);
    expect_refused(key, c, q, "a cursor signed with another instance key");
}

GRADED(cursor, refuses_a_cursor_reused_with_another_sort, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    for (int a = TASK_SORT_CREATED_AT; a <= TASK_SORT_PRIORITY_DESC; a++) {
        char c[CURSOR_MAX];
        made_cursor(key, 6, (enum task_sort)a, c);
        for (int b = TASK_SORT_CREATED_AT; b <= TASK_SORT_PRIORITY_DESC; b++) {
            if (a == b)
                continue;
            char what[64];
            snprintf(what, sizeof what, "a sort-%d cursor used with sort %d", a, b);
            expect_refused(key, c, full_query((enum task_sort)b), what);
        }
    }
}

GRADED(cursor, refuses_a_cursor_reused_with_other_filters, 3)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    char c[CURSOR_MAX];
    const struct task_list_query made = made_cursor(key, 8, TASK_SORT_CREATED_AT, c);

    /* The listing the cursor was made for, with one filter edited: a statement per case. */
#define REFUSED_WITH(edit, what)                                                                   \
    do {                                                                                           \
        struct task_list_query q = made;                                                           \
        q.filter.edit;                                                                             \
        expect_refused(key, c, q, what);                                                           \
    } while (0)
    REFUSED_WITH(has_status = false, "no status filter instead of status=in_progress");
    REFUSED_WITH(status = TASK_DONE, "status=done instead of in_progress");
    REFUSED_WITH(has_priority = false, "no priority filter");
    REFUSED_WITH(priority = TASK_HIGH, "priority=high instead of normal");
    REFUSED_WITH(tag = "home", "tag=home instead of work");
    REFUSED_WITH(tag = NULL, "no tag filter");
    REFUSED_WITH(q = "reports", "q=reports instead of report");
    REFUSED_WITH(q = NULL, "no q filter");
    REFUSED_WITH(due_before += 1, "due_before one µs later");
    REFUSED_WITH(has_due_before = false, "no due_before filter");
    REFUSED_WITH(due_after -= 1, "due_after one µs earlier");
    REFUSED_WITH(has_due_after = false, "no due_after filter");
#undef REFUSED_WITH
}

GRADED(cursor, keeps_string_filters_apart, 3)
{
    /* Without length prefixes, tag "ab" + q "c" and tag "a" + q "bc" would sign the same bytes;
     * and an empty filter string is not the same as no filter. */
    unsigned char key[TASK_REPO_KEY_BYTES];
    key_fill(key, 10);
    struct task_list_query made;
    memset(&made, 0, sizeof made);
    made.filter.tag = "ab";
    made.filter.q = "c";
    char c[CURSOR_MAX];
    encode(key, &made, &sample_key, c);
    struct task_list_query q = made;
    q.filter.tag = "a";
    q.filter.q = "bc";
    expect_refused(key, c, q, "tag=a&q=bc for a tag=ab&q=c cursor");

    memset(&made, 0, sizeof made);
    made.filter.tag = "";
    encode(key, &made, &sample_key, c);
    q = made;
    q.filter.tag = NULL;
    expect_refused(key, c, q, "no tag for a cursor made with an empty tag");
}

GRADED(cursor, refuses_strings_that_are_not_cursors, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    char c[CURSOR_MAX];
    struct task_list_query q = made_cursor(key, 11, TASK_SORT_CREATED_AT, c);
    size_t n = strlen(c);

    expect_refused(key, "", q, "an empty string");
    expect_refused(key, "abc", q, "\"abc\"");
    expect_refused(key, "null", q, "\"null\"");

    char t[CURSOR_MAX + 8];
    memcpy(t, c, n + 1);
    t[n - 1] = '\0';
    expect_refused(key, t, q, "the cursor without its last character");
    memcpy(t, c, n);
    memcpy(t + n, "A", 2);
    expect_refused(key, t, q, "the cursor with one more character");
    memcpy(t, c, n);
    memcpy(t + n, "==", 3);
    expect_refused(key, t, q, "the cursor with base64 padding");
    memcpy(t, c, n + 1);
    t[n / 2] = '+'; /* standard base64, not base64url */
    expect_refused(key, t, q, "a cursor with a '+'");
    memcpy(t, c, n + 1);
    t[3] = '=';
    expect_refused(key, t, q, "a cursor with '=' inside");
    memcpy(t, c, n + 1);
    t[0] = ' ';
    expect_refused(key, t, q, "a cursor with a space");

    char same_len[CURSOR_MAX];
    memset(same_len, '*', n);
    same_len[n] = '\0';
    expect_refused(key, same_len, q, "non-base64 text of a cursor's length");
    memset(same_len, 'A', n);
    expect_refused(key, same_len, q, "all-zero bytes in base64url");
}

GRADED(cursor, refuses_overlong_input_without_reading_all_of_it, 2)
{
    unsigned char key[TASK_REPO_KEY_BYTES];
    key_fill(key, 12);
    struct task_list_query q = full_query(TASK_SORT_CREATED_AT);
    static char huge[1 << 16];
    memset(huge, 'A', sizeof huge - 1);
    expect_refused(key, huge, q, "64 KiB of 'A'");
    expect_refused(key, NULL, q, "a NULL string");
}
