-- The push outbox: with push on, the transaction that stores a message
-- also writes its row here, due when the presence grace has passed. A
-- node claims due rows with a lease and, in one transaction, queues the
-- message's per-subscription pushes in push_queue and deletes the row, so
-- no acknowledged message loses its pushes to a crash. No foreign key: a
-- row whose message has gone (its conversation deleted) is just removed.
CREATE TABLE push_outbox (
	message_id      TEXT PRIMARY KEY,
	conversation_id TEXT NOT NULL,
	due_at          INTEGER NOT NULL,
	lease_until     INTEGER NOT NULL DEFAULT 0,
	attempts        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX push_outbox_due ON push_outbox (due_at);
