-- conversation_senders: the conversations each user has sent into, with
-- the seq of their first message there. The export finds a user's
-- messages through it, conversation by conversation from first_seq, in
-- place of messages_sender, an index on (sender_id, id) that cost every
-- message a B-tree insert (and its leaf page in the WAL at every commit)
-- for the sake of that one rare read. A row here is written once per
-- sender and conversation: the append path's INSERT OR IGNORE finds it and
-- writes nothing after that. (Closed-loop direct messages:
-- docs/benchmarks.md.)
CREATE TABLE conversation_senders (
	sender_id       TEXT NOT NULL,
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	first_seq       INTEGER NOT NULL,
	PRIMARY KEY (sender_id, conversation_id)
) STRICT, WITHOUT ROWID;

-- For the cascade when a conversation is deleted.
CREATE INDEX conversation_senders_conversation ON conversation_senders (conversation_id);

INSERT INTO conversation_senders (sender_id, conversation_id, first_seq)
	SELECT sender_id, conversation_id, MIN(seq) FROM messages GROUP BY sender_id, conversation_id;

DROP INDEX messages_sender;
