-- Groups people can trust: settings, roles, bans and blocks.
-- Existing groups become public with history 'all'; the first member of each
-- (by join time) becomes its owner, since the creator was not recorded.

ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN visibility TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN history TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET visibility = 'public', history = 'all' WHERE kind = 'group';
UPDATE conversations SET member_count = (SELECT count(*) FROM members WHERE conversation_id = conversations.id);

ALTER TABLE members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE members ADD COLUMN joined_seq INTEGER NOT NULL DEFAULT 0;
UPDATE members SET role = 'owner' WHERE (conversation_id, user_id) IN (
	SELECT conversation_id, user_id FROM (
		SELECT mb.conversation_id, mb.user_id,
			row_number() OVER (PARTITION BY mb.conversation_id ORDER BY mb.joined_at, mb.user_id) AS rn
		FROM members mb JOIN conversations c ON c.id = mb.conversation_id AND c.kind = 'group')
	WHERE rn = 1);

CREATE INDEX conversations_public ON conversations (member_count DESC, name) WHERE kind = 'group' AND visibility = 'public';

CREATE TABLE bans (
	conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE blocks (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, blocked_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX blocks_blocked ON blocks (blocked_id, user_id);
