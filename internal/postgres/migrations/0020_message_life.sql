-- A message's life after it is sent: edits, deletes, reactions, pins,
-- replies, mentions and full-text search.
--
-- Every change to a message takes its conversation's next rev (last_rev + 1,
-- gapless like last_seq, under the same row lock); the message keeps the
-- rev of its last change, so "what changed after rev R" is an index range.
-- Columns with constant defaults are added without rewriting the table.

ALTER TABLE conversations ADD COLUMN last_rev bigint NOT NULL DEFAULT 0;

ALTER TABLE messages
    ADD COLUMN rev       bigint  NOT NULL DEFAULT 0,
    ADD COLUMN edited_at bigint  NOT NULL DEFAULT 0,
    ADD COLUMN deleted   boolean NOT NULL DEFAULT false,
    ADD COLUMN reply_to  text    NOT NULL DEFAULT '',
    -- usernames the message mentions, separated by spaces
    ADD COLUMN mentions  text    NOT NULL DEFAULT '',
    ADD COLUMN pinned_at bigint  NOT NULL DEFAULT 0;

CREATE INDEX messages_rev ON messages (conversation_id, rev) WHERE rev > 0;
CREATE INDEX messages_pinned ON messages (conversation_id, seq) WHERE pinned_at > 0;

-- One row per (message, emoji, user); at orders the emoji (by first use)
-- and each emoji's users.
CREATE TABLE reactions (
    message_id text   NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      text   NOT NULL,
    user_id    text   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         bigint NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- Who is mentioned where, for the members' unread mention counts.
CREATE TABLE mentions (
    conversation_id text   NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text   NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
);

-- Full-text search. The text column is bytea (it may hold NUL, which a
-- text value cannot), so the document is made by message_tsv: the 'simple'
-- configuration (no stemming, no stop words: chats are in every language)
-- over the text, with NULs made spaces first. message_tsv is plain SQL so
-- that PostgreSQL inlines it into the index expression and the queries;
-- only a text that holds a NUL pays for the PL/pgSQL loop.
CREATE FUNCTION message_text_without_nul(body bytea) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    i int := position('\x00'::bytea IN body);
BEGIN
    WHILE i > 0 LOOP
        body := overlay(body PLACING '\x20'::bytea FROM i FOR 1);
        i := position('\x00'::bytea IN body);
    END LOOP;
    RETURN body;
END
$$;

CREATE FUNCTION message_tsv(body bytea) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('simple'::regconfig, convert_from(
        CASE WHEN position('\x00'::bytea IN body) = 0 THEN body ELSE message_text_without_nul(body) END, 'UTF8'));

-- One GIN index over (conversation, words): btree_gin (a contrib extension
-- shipped with PostgreSQL, trusted since 13) lets the conversation be a GIN
-- key, so a search touches only the matches in the caller's conversations
-- instead of every match of a common word in the whole table.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX messages_search ON messages USING gin (conversation_id, message_tsv(text));
