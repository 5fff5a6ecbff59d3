/* unit_fake_producer.h — an in-memory bus producer for unit tests of the relay.
 *
 * A backend of event_bus.h's producer half with no broker. Every send is recorded (topic, key,
 * value, its msg_ctx) and held; what its delivery report says, and when, is the test's choice:
 * reports are served by poll and flush only for messages the test has released, with the outcome
 * it set (0: the broker took it; an ERR_ code: it did not). So a test can stop time between
 * "sent" and "delivered", the gap where a relay must not mark anything. */
#ifndef TASKD_UNIT_FAKE_PRODUCER_H
#define TASKD_UNIT_FAKE_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>

#include "event_bus.h"

#define FAKE_PRODUCER_MAX 256

/* A fake whose reports go to delivered(ctx, ...). With auto_ok, every send is released at
 * once with outcome 0 (a healthy broker). Free with event_producer_free. */
struct event_producer *fake_producer_new(event_delivered_fn delivered, void *ctx, bool auto_ok);

size_t fake_producer_sent(const struct event_producer *p);
const char *fake_producer_key(const struct event_producer *p, size_t i);
const char *fake_producer_value(const struct event_producer *p, size_t i);
/* Releases message i (in send order): its report, with outcome rc, comes at the next poll. */
void fake_producer_release(struct event_producer *p, size_t i, int rc);

#endif
