-- The push outbox: with push on, the transaction that stores a message
-- also writes its row here, due when the presence grace has passed. Nodes
-- claim due rows with a lease (FOR UPDATE SKIP LOCKED) and, in one
-- transaction, queue the message's per-subscription pushes in push_queue
-- and delete the row, so no acknowledged message loses its pushes to a
-- crash. No foreign key: a row whose message has gone (its conversation
-- deleted) is just removed.
CREATE TABLE push_outbox (
    message_id      text PRIMARY KEY,
    conversation_id text NOT NULL,
    due_at          bigint NOT NULL,
    lease_until     bigint NOT NULL DEFAULT 0,
    attempts        int NOT NULL DEFAULT 0
);
CREATE INDEX push_outbox_due ON push_outbox (due_at);
