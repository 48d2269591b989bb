-- conversation_senders: the conversations each user has sent into, with
-- the seq of their first message there. The export finds a user's
-- messages through it, conversation by conversation from first_seq, in
-- place of messages_sender_id, an index on (sender_id, id) on every
-- partition that cost every message a B-tree insert for the sake of that
-- one rare read. A row here is written once per sender and conversation:
-- the append path's INSERT ... ON CONFLICT DO NOTHING finds it in the
-- primary key and writes nothing after that. (Closed-loop direct
-- messages: docs/benchmarks.md.)
--
-- conversation_id is in the "C" collation, byte order, whatever the
-- database's: pages of a user's messages go in that order, the same on
-- every store and every shard, so a sharded store merges its shards' pages
-- by comparing ids as bytes.
CREATE TABLE conversation_senders (
    sender_id       text NOT NULL,
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    first_seq       bigint NOT NULL,
    PRIMARY KEY (sender_id, conversation_id)
);

-- For the cascade when a conversation is deleted.
CREATE INDEX conversation_senders_conversation ON conversation_senders (conversation_id);

INSERT INTO conversation_senders (sender_id, conversation_id, first_seq)
    SELECT sender_id, conversation_id, min(seq) FROM messages GROUP BY sender_id, conversation_id;

DROP INDEX IF EXISTS messages_sender_id;
