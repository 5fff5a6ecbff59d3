-- 0003_users: accounts and refresh tokens (week 4). Tasks and jobs already carry owner_id; from
-- stage 4 it is a user's id (0 was "anonymous" in weeks 1-3).
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored lower-cased by the service; the unique index is what makes "taken" race-free.
    email         text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- argon2id in libsodium's encoded form ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE UNIQUE INDEX users_email ON users (email);

-- A refresh token is stored only as its SHA-256: a stolen table gives no usable token. Tokens of
-- one login form a family; a spent token presented again revokes the whole family (it was
-- stolen, or the client is broken — either way, log in again).
CREATE TABLE refresh_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  bigint      NOT NULL,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE SEQUENCE refresh_families;
