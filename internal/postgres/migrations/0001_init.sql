-- Switchboard schema, version 1. Times are Unix milliseconds.

CREATE TABLE users (
    id            text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    bigint NOT NULL,
    last_seen     bigint NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- last_seq and last_ts change with every message: a low fillfactor keeps
-- those updates HOT (no index maintenance).
CREATE TABLE conversations (
    id         text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('direct', 'group')),
    name       text UNIQUE,          -- groups only; NULL for direct
    title      text NOT NULL DEFAULT '',
    direct_a   text REFERENCES users (id),  -- direct only: the pair, direct_a <= direct_b
    direct_b   text REFERENCES users (id),
    created_at bigint NOT NULL,
    last_seq   bigint NOT NULL DEFAULT 0,
    last_ts    bigint NOT NULL DEFAULT 0,   -- last activity, for ordering
    UNIQUE (direct_a, direct_b),
    CHECK ((kind = 'direct') = (direct_a IS NOT NULL AND direct_b IS NOT NULL)),
    CHECK ((kind = 'group') = (name IS NOT NULL))
) WITH (fillfactor = 50);

CREATE TABLE members (
    conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       bigint NOT NULL,
    read_seq        bigint NOT NULL DEFAULT 0,
    delivered_seq   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITH (fillfactor = 70);
CREATE INDEX members_user_id ON members (user_id);

-- messages has no foreign keys on purpose: AppendMessages checks membership
-- under the conversation's row lock, and per-row referential triggers would
-- cost the hot path for nothing. text is bytea because a message may hold any
-- valid UTF-8, NUL included, which a PostgreSQL text value cannot.
CREATE TABLE messages (
    conversation_id text NOT NULL,
    seq             bigint NOT NULL,
    id              text NOT NULL UNIQUE,
    sender_id       text NOT NULL,
    ts              bigint NOT NULL,
    text            bytea NOT NULL,
    client_msg_id   text NOT NULL DEFAULT '',
    media           jsonb,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_sender_client_msg_id
    ON messages (sender_id, client_msg_id) WHERE client_msg_id <> '';
