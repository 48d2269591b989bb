-- A message's life after it is sent: edits, deletes, reactions, pins,
-- replies, mentions and full-text search.
--
-- Every change to a message takes its conversation's next rev (last_rev + 1,
-- gapless like last_seq); the message keeps the rev of its last change, so
-- "what changed after rev R" is an index range.

ALTER TABLE conversations ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reply_to TEXT NOT NULL DEFAULT '';
-- The usernames the message mentions, separated by spaces (usernames never
-- change and hold no space).
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX messages_rev ON messages (conversation_id, rev) WHERE rev > 0;
CREATE INDEX messages_pinned ON messages (conversation_id, seq) WHERE pinned_at > 0;

-- One row per (message, emoji, user); at is when the user reacted, which
-- orders the emoji (by their first use) and each emoji's users.
CREATE TABLE reactions (
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	emoji      TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	at         INTEGER NOT NULL,
	PRIMARY KEY (message_id, emoji, user_id)
) STRICT, WITHOUT ROWID;

-- Who is mentioned where, for the members' unread mention counts
-- (mentions after their read position).
CREATE TABLE mentions (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, user_id, seq)
) STRICT, WITHOUT ROWID;

-- Full-text search over the message text (FTS5, an external-content index
-- kept in step by triggers). A deleted message's text is '', so it is
-- never found.
CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'rowid', columnsize = 0, detail = none);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
	INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
