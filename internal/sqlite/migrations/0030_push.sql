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
