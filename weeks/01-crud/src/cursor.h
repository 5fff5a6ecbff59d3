/* cursor.h — opaque, signed keyset cursors for GET /tasks.
 *
 * A cursor carries the position after which the next page starts (the last row's sort key and
 * id). It is signed with the store's instance key (HMAC, libsodium) over that position *and* the
 * listing's sort and filters, so a forged or edited cursor, or one reused with other filters or
 * another sort, fails verification: 400, never a surprising page. Keyset paging (not OFFSET)
 * means a page never repeats or skips a row when rows are inserted between requests. */
#ifndef TASKD_CURSOR_H
#define TASKD_CURSOR_H

#include <stddef.h>

#include "task_repo.h"

#define CURSOR_MAX 128 /* longest cursor string, NUL included */

/* Writes the cursor for "the page after `after`" of query q (its sort and filter) into out.
 * 0 or ERR_INVALID (out too small). */
int cursor_encode(const unsigned char key[TASK_REPO_KEY_BYTES], const struct task_list_query *q,
                  const struct task_key *after, char *out, size_t out_len);

/* Verifies s against q's sort and filter and, when it is genuine, sets q->after and
 * q->has_after. ERR_MALFORMED when s is not a cursor this service made for this listing. */
int cursor_decode(const unsigned char key[TASK_REPO_KEY_BYTES], const char *s,
                  struct task_list_query *q);

#endif
