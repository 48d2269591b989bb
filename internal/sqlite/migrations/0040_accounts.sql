-- Accounts and operators: avatar, admin role, suspension, deletion (the
-- row stays so the username stays reserved and messages keep a sender),
-- and the audit log of admin actions.

ALTER TABLE users ADD COLUMN avatar_media_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN suspended_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;


CREATE INDEX messages_sender ON messages (sender_id, id);

CREATE TABLE audit_log (
	id       TEXT PRIMARY KEY,
	ts       INTEGER NOT NULL,
	actor_id TEXT NOT NULL,
	actor    TEXT NOT NULL,
	action   TEXT NOT NULL,
	target   TEXT NOT NULL,
	details  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX users_avatar ON users (avatar_media_id) WHERE avatar_media_id <> '';
