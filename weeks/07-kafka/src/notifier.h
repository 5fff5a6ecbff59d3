/* notifier.h — taskd-notifier's handler: one e-mail to the task's owner per event.
 *
 * The notifier is the consumer loop (consumer.h) with this handler. Its effect, a mail, is
 * outside the database, so it is not transactional: the loop records the event as processed
 * right after the mail is accepted, and a crash between the two sends it again. That repeat
 * carries the same Message-ID (made from the event_id), so a receiver that keeps Message-IDs
 * shows it once.
 *
 * The address is the owner's (users.email, week 4). An event of owner 0 (the anonymous owner of
 * weeks 1-3) or of a user who is deleted or unknown has no one to tell: done, nothing sent. An
 * SMTP server that cannot be reached is ERR_UNAVAILABLE, so the loop waits and tries the same
 * event again without counting it against the event. */
#ifndef TASKD_NOTIFIER_H
#define TASKD_NOTIFIER_H

#include "mailer.h"

struct buf;
struct consumer_handler;
struct event;
struct pg_pool;

struct notifier {
    struct pg_pool *pool;      /* borrowed: where users are */
    struct mailer_config mail; /* borrowed strings: SMTP_URL, SMTP_FROM */
};

/* Fills h with the notifier's handler over n (borrowed; it must outlive the consumer), named
 * `name` in processed_events ("notifier"). */
void notifier_handler(struct notifier *n, const char *name, struct consumer_handler *h);

/* The mail of e: the subject ("Task 42 created: Buy milk") and the body (what changed), each
 * appended to its buffer NUL-terminated. 0 or ERR_NOMEM. For the handler and its tests. */
int notifier_compose(const struct event *e, struct buf *subject, struct buf *body);

#endif
