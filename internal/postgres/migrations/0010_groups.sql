-- Groups people can trust: settings, roles, bans and blocks.
-- Existing groups become public with history 'all'; the first member of each
-- (by join time) becomes its owner, since the creator was not recorded.

ALTER TABLE conversations ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN visibility text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN history text NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN member_count integer NOT NULL DEFAULT 0;
UPDATE conversations SET visibility = 'public', history = 'all' WHERE kind = 'group';
UPDATE conversations c SET member_count = (SELECT count(*) FROM members m WHERE m.conversation_id = c.id);

ALTER TABLE members ADD COLUMN role text NOT NULL DEFAULT 'member';
ALTER TABLE members ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0;
UPDATE members m SET role = 'owner' FROM (
	SELECT DISTINCT ON (mb.conversation_id) mb.conversation_id, mb.user_id
	FROM members mb JOIN conversations c ON c.id = mb.conversation_id AND c.kind = 'group'
	ORDER BY mb.conversation_id, mb.joined_at, mb.user_id) f
WHERE m.conversation_id = f.conversation_id AND m.user_id = f.user_id;

CREATE INDEX conversations_public ON conversations (member_count DESC, name) WHERE kind = 'group' AND visibility = 'public';

CREATE TABLE bans (
    conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE blocks (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);
