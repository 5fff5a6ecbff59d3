-- 0004_idempotency: the answers kept for Idempotency-Key (week 3, src/idempotency.h). One row per
-- caller and key: the first request claims it (status NULL: still in progress), and its answer
-- is stored when it is sent, for a retry to get again. Rows older than 24 hours count as absent
-- and are taken over by the next request with that key. Numbered after week 4's 0003 because
-- stage 4 runs every week's migrations in number order, and 0003 was already taken.
CREATE TABLE idempotency_keys (
    owner_id     bigint      NOT NULL,
    key          text        NOT NULL CHECK (key ~ '^[A-Za-z0-9_-]{1,64}$'),
    -- SHA-256 (hex) of method, path and body: the same key with another request is 422.
    request_hash text        NOT NULL,
    status       integer     CHECK (status BETWEEN 100 AND 499),
    content_type text,
    body         text,
    location     text,
    etag         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, key)
);

-- For a clean-up of expired rows (DELETE ... WHERE created_at < now() - interval '24 hours').
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
