/* projector.h — taskd-projector's handler: each event becomes a row of the activity feed.
 *
 * The projector is the consumer loop (consumer.h) with this handler. Its effect is in
 * PostgreSQL, so it is transactional: the activity row and the processed_events row commit
 * together, and a redelivered event changes nothing (activity.h). */
#ifndef TASKD_PROJECTOR_H
#define TASKD_PROJECTOR_H

struct consumer_handler;

/* Fills h with the projector's handler, named `name` in processed_events ("projector"; a
 * static string or one that outlives the consumer). */
void projector_handler(const char *name, struct consumer_handler *h);

#endif
