-- Users, sessions, conversations, members and messages.
-- Times are Unix milliseconds. IDs are the core's time-ordered strings.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

-- A direct conversation names its two parties in user_a <= user_b (equal for
-- a conversation with oneself); a group has a unique name.
CREATE TABLE conversations (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
	name       TEXT NOT NULL DEFAULT '',
	title      TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	last_seq   INTEGER NOT NULL DEFAULT 0,
	last_ts    INTEGER NOT NULL, -- last activity: creation or latest message
	user_a     TEXT REFERENCES users (id),
	user_b     TEXT REFERENCES users (id),
	CHECK ((kind = 'direct') = (user_a IS NOT NULL AND user_b IS NOT NULL AND user_a <= user_b))
) STRICT;

CREATE UNIQUE INDEX conversations_group_name ON conversations (name) WHERE kind = 'group';
CREATE UNIQUE INDEX conversations_direct_pair ON conversations (user_a, user_b) WHERE kind = 'direct';

CREATE TABLE members (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	joined_at       INTEGER NOT NULL,
	read_seq        INTEGER NOT NULL DEFAULT 0,
	delivered_seq   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conversation_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX members_user ON members (user_id, conversation_id);

-- Media fields are copied onto the message row: a message keeps describing
-- its attachment whatever happens to the upload record.
CREATE TABLE messages (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	id              TEXT NOT NULL UNIQUE,
	sender_id       TEXT NOT NULL REFERENCES users (id),
	ts              INTEGER NOT NULL,
	text            TEXT NOT NULL,
	client_msg_id   TEXT NOT NULL DEFAULT '',
	media_id        TEXT NOT NULL DEFAULT '',
	media_type      TEXT NOT NULL DEFAULT '',
	media_size      INTEGER NOT NULL DEFAULT 0,
	media_width     INTEGER NOT NULL DEFAULT 0,
	media_height    INTEGER NOT NULL DEFAULT 0,
	media_sha256    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conversation_id, seq)
) STRICT;

CREATE UNIQUE INDEX messages_client_msg ON messages (sender_id, client_msg_id) WHERE client_msg_id <> '';
CREATE INDEX messages_media ON messages (media_id) WHERE media_id <> '';
