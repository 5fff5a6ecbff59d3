-- 0001_tasks: the tasks table of API.md, and what the service needs to page it fast.
--
-- Timestamps are timestamptz (an instant, shown in the session's time zone); the service speaks
-- microseconds since the epoch, converted by the two functions below, exactly in both directions.
CREATE FUNCTION us_to_ts(bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN 'epoch'::timestamptz + $1 * interval '1 microsecond';

CREATE FUNCTION ts_to_us(timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (extract(epoch FROM $1) * 1000000)::bigint;

CREATE TABLE tasks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id    bigint      NOT NULL,
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL CHECK (status IN ('todo', 'in_progress', 'done')),
    priority    smallint    NOT NULL CHECK (priority BETWEEN 0 AND 2),
    due_at      timestamptz,
    tags        text[]      NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL CHECK (version >= 1),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- One index per sort, each led by the owner, so a page of any listing is one range scan that
-- stops after LIMIT rows. "No due date" sorts last in both directions: the due_at indexes order
-- by the key the queries use, with a missing date standing in as +infinity (ascending) or
-- -infinity (descending, scanned backwards).
CREATE INDEX tasks_owner_created ON tasks (owner_id, created_at, id);
CREATE INDEX tasks_owner_due ON tasks (owner_id, coalesce(due_at, 'infinity'::timestamptz), id);
CREATE INDEX tasks_owner_due_desc ON tasks (owner_id, coalesce(due_at, '-infinity'::timestamptz), id);
CREATE INDEX tasks_owner_priority ON tasks (owner_id, priority, id);

-- Settings of the store itself; today only the key cursors are signed with.
CREATE TABLE settings (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);
