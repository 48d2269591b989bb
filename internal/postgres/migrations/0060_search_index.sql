-- Search indexing off the send path.
--
-- 0020 indexed message_tsv(text) with a GIN index on messages itself, so
-- every send computed the tsvector and updated the GIN index inside its
-- transaction. Now the index lives in message_search, which a background
-- indexer (searchindex.go) fills in batches, following search_id.
--
-- search_id is drawn from a sequence when a message is inserted.
-- Transactions commit out of search_id order, so the indexer cannot take
-- "the largest search_id I have seen" as done: search_index.indexed_to only
-- moves up to a search_id once every transaction that could still commit
-- one at or below it has ended (see searchindex.go for the argument).
-- Every message whose search_id is at or below indexed_to is in
-- message_search; those above it are found by comparing the two tables'
-- search_id ranges (a merge of two index scans).

CREATE SEQUENCE message_search_id AS bigint;

-- pg_current_xact_id() first: the transaction has its id before it draws
-- a search_id, which the indexer's argument needs. CASE evaluates it first.
-- (A volatile default: adding the column numbers the existing rows.)
ALTER TABLE messages ADD COLUMN search_id bigint NOT NULL
    DEFAULT (CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('message_search_id') END);
ALTER SEQUENCE message_search_id OWNED BY messages.search_id;
CREATE INDEX messages_search_id ON messages (search_id);

-- One row per indexed message, keyed by its search_id, with the tsvector
-- of its text as it now is.
CREATE TABLE message_search (
    search_id       bigint   PRIMARY KEY,
    conversation_id text     NOT NULL,
    tsv             tsvector NOT NULL
);
CREATE INDEX message_search_tsv ON message_search USING gin (conversation_id, tsv);

-- An edit or delete fixes the entry of an indexed message at once. The
-- shared advisory lock (the key is searchIndexLock in searchindex.go) keeps
-- it from interleaving with an index pass, which holds it exclusively: a
-- pass that read the old text has committed its entry before this UPDATE
-- looks (READ COMMITTED: a new snapshot per statement), and a pass that
-- starts after it waits for this transaction and reads the new text.
CREATE FUNCTION message_search_edit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1398229331);
    UPDATE message_search SET tsv = message_tsv(NEW.text) WHERE search_id = NEW.search_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER messages_search_edit AFTER UPDATE OF text ON messages
    FOR EACH ROW EXECUTE FUNCTION message_search_edit();

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
INSERT INTO message_search (search_id, conversation_id, tsv)
    SELECT search_id, conversation_id, message_tsv(text) FROM messages;
INSERT INTO search_index (indexed_to, next_to, next_xmax)
    SELECT COALESCE(MAX(search_id), 0), 0, 0 FROM messages;

DROP INDEX messages_search;
