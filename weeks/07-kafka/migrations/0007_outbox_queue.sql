-- 0007_outbox_queue: the outbox holds pending events only (src/outbox.h).
--
-- 0006 kept a sent row, marked with sent_at, for an hour, for inspection. Every event then cost
-- the database three writes after its INSERT: the claim's UPDATE, the UPDATE that marked it sent
-- (a new row version with an entry in each of four indexes), and the DELETE that pruned it. The
-- relay now deletes a row from its delivery report: the broker's topic is the record of what was
-- sent, and a row in this table means "not sent yet", nothing else.
-- event_id loses its UNIQUE index: the id is 122 random bits (event.h), no statement looks a row
-- up by it, and the consumers' processed_events is where duplicates are caught. A random-order
-- index costs every INSERT a write into a random page.
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_sent;
DROP INDEX outbox_pending;
DROP INDEX outbox_pending_task;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN sent_at;
-- The claim walks the primary key in id order and, for each row, looks for an older row of its
-- task here.
CREATE INDEX outbox_task ON outbox (task_id, id);
