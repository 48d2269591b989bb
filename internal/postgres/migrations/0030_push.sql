-- Notifications. Event-stream tickets: single-use, short-lived credentials
-- for GET /v1/events (a browser's EventSource cannot send a header), gone
-- with their session.

CREATE TABLE event_tickets (
    token_hash text PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at bigint NOT NULL
);
CREATE INDEX event_tickets_expires ON event_tickets (expires_at);
CREATE INDEX event_tickets_session ON event_tickets (session_id);

-- Web Push: the cluster's VAPID key pair (one row), subscriptions, and the
-- durable queue of pushes (one row per message and subscription), claimed
-- with FOR UPDATE SKIP LOCKED.
CREATE TABLE push_vapid (
    id          int PRIMARY KEY CHECK (id = 1),
    private_key text NOT NULL,
    public_key  text NOT NULL
);

CREATE TABLE push_subscriptions (
    endpoint   text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    device     text NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

CREATE TABLE push_queue (
    id          bigserial PRIMARY KEY,
    message_id  text NOT NULL,
    endpoint    text NOT NULL REFERENCES push_subscriptions (endpoint) ON DELETE CASCADE ON UPDATE CASCADE,
    payload     bytea NOT NULL,
    topic       text NOT NULL,
    due_at      bigint NOT NULL,
    lease_until bigint NOT NULL DEFAULT 0,
    attempts    int NOT NULL DEFAULT 0,
    UNIQUE (message_id, endpoint)
);
CREATE INDEX push_queue_due ON push_queue (due_at);
CREATE INDEX push_queue_endpoint ON push_queue (endpoint);

-- A member's notification level in a conversation; no row is "all".
CREATE TABLE notification_settings (
    conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level           text NOT NULL,
    muted_until     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
