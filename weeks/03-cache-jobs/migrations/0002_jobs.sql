-- 0002_jobs: background jobs (week 3). The row is the truth about a job; Redis only carries its
-- id to a worker (src/queue.h). A job is finished by the worker whose attempt number matches
-- (a fence), so a job redelivered after its worker died is still finished exactly once.
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id     bigint      NOT NULL,
    type         text        NOT NULL CHECK (type IN ('export', 'reminder')),
    status       text        NOT NULL DEFAULT 'queued'
                             CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    payload      jsonb       NOT NULL DEFAULT '{}',
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer     NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    error        text,
    result_url   text,
    -- A job that must exist once per fact (one reminder per task and due date): a second insert
    -- of the same key does nothing.
    dedupe_key   text        UNIQUE,
    run_at       timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- GET /jobs/{id} is by primary key and owner; the sweeper looks for queued jobs that are due.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'running');

-- A finished export's CSV, kept in the database so any API instance can serve it.
CREATE TABLE exports (
    job_id     bigint      PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    owner_id   bigint      NOT NULL,
    csv        text        NOT NULL,
    rows       integer     NOT NULL CHECK (rows >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The worker's reminder scan looks for tasks coming due across every owner.
CREATE INDEX tasks_due_at ON tasks (due_at) WHERE due_at IS NOT NULL;
