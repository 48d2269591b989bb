-- Notifications. Event-stream tickets: single-use, short-lived credentials
-- for GET /v1/events (a browser's EventSource cannot send a header), gone
-- with their session.

CREATE TABLE event_tickets (
	token_hash TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX event_tickets_expires ON event_tickets (expires_at);
CREATE INDEX event_tickets_session ON event_tickets (session_id);

-- Web Push: the cluster's VAPID key pair (one row), subscriptions, and the
-- durable queue of pushes (one row per message and subscription).
CREATE TABLE push_vapid (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	private_key TEXT NOT NULL,
	public_key  TEXT NOT NULL
) STRICT;

CREATE TABLE push_subscriptions (
	endpoint   TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	p256dh     TEXT NOT NULL,
	auth       TEXT NOT NULL,
	device     TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

CREATE TABLE push_queue (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id  TEXT NOT NULL,
	endpoint    TEXT NOT NULL REFERENCES push_subscriptions (endpoint) ON DELETE CASCADE ON UPDATE CASCADE,
	payload     BLOB NOT NULL,
	topic       TEXT NOT NULL,
	due_at      INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (message_id, endpoint)
) STRICT;
CREATE INDEX push_queue_due ON push_queue (due_at);
CREATE INDEX push_queue_endpoint ON push_queue (endpoint);

-- A member's notification level in a conversation; no row is "all".
CREATE TABLE notification_settings (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	level           TEXT NOT NULL,
	muted_until     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conversation_id, user_id)
) STRICT;
