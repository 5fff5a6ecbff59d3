-- 0006_outbox: week 7's events (src/task_repo_outbox.h, src/outbox.h, src/consumer.h).
--
-- outbox: one row per successful create, update or delete, written in the same transaction as the
-- change, so no acknowledged change is ever without its event. The relay (taskd-relay) publishes
-- pending rows and marks a row sent only from the broker's delivery report. not_before is the
-- claim: a relay that takes a row moves it into the future by its lease (a relay killed with
-- kill -9 gives its rows back when the lease runs out), and a failed publish moves it by the
-- retry's backoff. Only a task's oldest pending row may be claimed, so two relays never publish
-- one task's events out of order (outbox.h says why this and not only SKIP LOCKED).
CREATE TABLE outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    task_id     bigint      NOT NULL,
    payload     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    not_before  timestamptz NOT NULL DEFAULT now(),
    attempts    integer     NOT NULL DEFAULT 0,
    sent_at     timestamptz
);
-- The relay's scans touch pending rows only; sent rows are kept a while for inspection and
-- pruned by the relay (OUTBOX_KEEP_SECONDS).
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_pending_task ON outbox (task_id, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- The activity feed's read model (GET /tasks/{id}/activity), filled by taskd-projector from the
-- topic. event_id is the key, so a redelivered event inserts nothing.
CREATE TABLE task_activity (
    event_id    uuid        PRIMARY KEY,
    task_id     bigint      NOT NULL,
    owner_id    bigint      NOT NULL,
    version     bigint      NOT NULL,
    type        text        NOT NULL CHECK (type IN ('task.created', 'task.updated', 'task.deleted')),
    occurred_at timestamptz NOT NULL,
    payload     text        NOT NULL,
    -- When the projector wrote the row: projected_at - occurred_at is the event's end-to-end
    -- latency (commit, relay, broker, consumer), which `make bench-events` reports.
    projected_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX task_activity_task ON task_activity (task_id, owner_id, occurred_at, event_id);

-- What each consumer has already done, by event_id: the consumers' dedupe (consumer.h). A row is
-- written in the same transaction as the consumer's own effect, or, for an effect outside the
-- database (an e-mail), right after it.
CREATE TABLE processed_events (
    consumer     text        NOT NULL CHECK (length(consumer) BETWEEN 1 AND 64),
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
