-- messages_id (0070) indexed id on every partition of messages, and
-- message_keys' primary key holds the same ids with each message's
-- (conversation_id, seq). A message is now found by id through
-- message_keys and then by (conversation_id, seq) on the partitions'
-- primary keys, and changed by its whole primary key, so this index, a
-- B-tree insert on every message, goes. (Closed-loop direct messages:
-- docs/benchmarks.md.)
DROP INDEX IF EXISTS messages_id;
