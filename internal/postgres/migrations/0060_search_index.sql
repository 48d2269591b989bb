-- Search indexing off the send path.
--
-- 0020 indexed message_tsv(text) with a GIN index on messages itself, so
-- every send computed the tsvector and updated the GIN index inside its
-- transaction. Now the index lives in message_search, which a background
-- indexer (searchindex.go) fills in batches, following search_id.
--
-- search_id is drawn from a sequence when a message is inserted, and drawn
-- again when its text changes (edit, delete), so a changed message comes
-- round to the indexer again. Transactions commit out of search_id order,
-- so the indexer cannot take "the largest search_id I have seen" as done:
-- search_index.indexed_to only moves up to a search_id once every
-- transaction that could still commit one at or below it has ended (see
-- searchindex.go for the argument). Every message whose search_id is at or
-- below indexed_to is in message_search as it now is.

CREATE SEQUENCE message_search_id AS bigint;

-- pg_current_xact_id() first: the transaction has its id before it draws
-- a search_id, which the indexer's argument needs. CASE evaluates it first.
ALTER TABLE messages ADD COLUMN search_id bigint NOT NULL
    DEFAULT (CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('message_search_id') END);
ALTER SEQUENCE message_search_id OWNED BY messages.search_id;
CREATE INDEX messages_search_id ON messages (search_id);

CREATE FUNCTION message_search_redraw() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    NEW.search_id := nextval('message_search_id');
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_search_redraw BEFORE UPDATE OF text ON messages
    FOR EACH ROW EXECUTE FUNCTION message_search_redraw();

-- One row per indexed message: its search_id when it was indexed and the
-- tsvector of its text then.
CREATE TABLE message_search (
    message_id      text     PRIMARY KEY,
    conversation_id text     NOT NULL,
    search_id       bigint   NOT NULL,
    tsv             tsvector NOT NULL
);
CREATE INDEX message_search_tsv ON message_search USING gin (conversation_id, tsv);

-- The indexer's progress. next_to and next_xmax are the next step it may
-- take: indexed_to may become next_to once every transaction with an id
-- below next_xmax has ended.
CREATE TABLE search_index (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    indexed_to bigint NOT NULL,
    next_to    bigint NOT NULL,
    next_xmax  bigint NOT NULL
);

-- What exists is indexed here: ALTER TABLE holds messages exclusively, so
-- no other transaction is writing messages while this one runs.
INSERT INTO message_search (message_id, conversation_id, search_id, tsv)
    SELECT id, conversation_id, search_id, message_tsv(text) FROM messages;
INSERT INTO search_index (indexed_to, next_to, next_xmax)
    SELECT COALESCE(MAX(search_id), 0), 0, 0 FROM messages;

DROP INDEX messages_search;
