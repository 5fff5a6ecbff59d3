/* unit_fake_bus.h — an in-memory bus consumer for unit tests of the consumer loop.
 *
 * A backend of event_bus.h (its ops table) with no broker: the test queues message values, the
 * loop polls them in order (like one Kafka partition: a poll moves the position on, whatever
 * was committed), and the fake records every commit and dead letter so the test can assert
 * what the loop told the broker and when. It can be told to fail its next calls (a broker that
 * is down), and counts polls, so a test can see that a held message is retried without one. */
#ifndef TASKD_UNIT_FAKE_BUS_H
#define TASKD_UNIT_FAKE_BUS_H

#include <stddef.h>
#include <stdint.h>

struct event_consumer;

#define FAKE_BUS_MAX 64 /* messages per fake, and records of each kind */

/* A new fake (the test fails when out of memory); free with event_consumer_free. Like Kafka it
 * lets the loop hold any number of polled messages uncommitted; the _one_by_one fake says, as
 * RabbitMQ does, that each must be committed before the next poll (max_uncommitted 1). */
struct event_consumer *fake_bus_new(void);
struct event_consumer *fake_bus_new_one_by_one(void);
/* Queues a message with value (copied) and key "k"; its offset is its index (0, 1, ...). */
void fake_bus_push(struct event_consumer *c, const char *value);

/* What the loop did: polls (each call), polls that returned a message, commits, dead letters. */
size_t fake_bus_polls(const struct event_consumer *c);
size_t fake_bus_delivered(const struct event_consumer *c);
size_t fake_bus_commits(const struct event_consumer *c);
int64_t fake_bus_commit_offset(const struct event_consumer *c, size_t i);
size_t fake_bus_dead(const struct event_consumer *c);
int64_t fake_bus_dead_offset(const struct event_consumer *c, size_t i);
const char *fake_bus_dead_reason(const struct event_consumer *c, size_t i);

/* The next n calls of that kind fail with rc (ERR_UNAVAILABLE: the broker is down) and record
 * nothing. */
void fake_bus_fail_polls(struct event_consumer *c, int rc, int n);
void fake_bus_fail_commits(struct event_consumer *c, int rc, int n);
void fake_bus_fail_dead_letters(struct event_consumer *c, int rc, int n);

#endif
