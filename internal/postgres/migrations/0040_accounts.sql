-- Accounts and operators: avatar, admin role, suspension, deletion (the
-- row stays so the username stays reserved and messages keep a sender),
-- and the audit log of admin actions.

ALTER TABLE users ADD COLUMN avatar_media_id text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN suspended_at bigint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at bigint NOT NULL DEFAULT 0;


CREATE INDEX messages_sender_id ON messages (sender_id, id);

CREATE TABLE audit_log (
    id       text PRIMARY KEY,
    ts       bigint NOT NULL,
    actor_id text NOT NULL,
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    details  text NOT NULL DEFAULT ''
);


CREATE INDEX users_avatar_media_id ON users (avatar_media_id) WHERE avatar_media_id <> '';
