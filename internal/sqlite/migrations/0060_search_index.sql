-- Search indexing off the send path.
--
-- 0020 kept messages_fts in step with triggers inside every send
-- transaction, which flushed FTS5's pending terms to a new segment on every
-- message. Now a background indexer (searchindex.go) adds new messages in
-- batches, in rowid order, and records how far it got in search_index:
-- every message with rowid <= indexed_to is in messages_fts, with the text
-- it has now; none above it is. The triggers below keep the indexed ones
-- right on edit and delete, and leave the others to the indexer, which
-- reads the text as it is when it gets there. FTS5 external-content
-- 'delete' needs the values that were indexed, so an entry that was never
-- indexed is never deleted.

CREATE TABLE search_index (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	indexed_to INTEGER NOT NULL
) STRICT;

-- The 0020 triggers indexed every message that exists.
INSERT INTO search_index (id, indexed_to) SELECT 1, COALESCE(MAX(rowid), 0) FROM messages;

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

-- No trigger on insert: a trigger makes every message insert keep a
-- statement journal (a copy of each page it touches), which cost the send
-- path nearly as much as the index did.
--
-- messages has no AUTOINCREMENT: a new row takes the largest rowid + 1, so
-- once the newest rows are deleted (a group deleted) their rowids come
-- back. The delete trigger therefore lowers the mark to the largest rowid
-- left, after removing the row's entry (it was at or below the mark, so it
-- was indexed): the mark never exceeds the largest rowid, and a new row
-- always lands above it. Rows left at or below the old mark stay at or
-- below the new one, so their entries are removed too, in any order.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text)
		SELECT 'delete', old.rowid, old.text WHERE old.rowid <= (SELECT indexed_to FROM search_index);
	UPDATE search_index SET indexed_to = (SELECT COALESCE(MAX(rowid), 0) FROM messages)
		WHERE indexed_to > (SELECT COALESCE(MAX(rowid), 0) FROM messages);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.rowid <= (SELECT indexed_to FROM search_index) BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
	INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
