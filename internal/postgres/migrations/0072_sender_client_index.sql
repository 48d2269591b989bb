-- messages_sender_client (0070) indexed (sender_id, client_msg_id) on every
-- partition of messages for one query: the append path's lookup of the
-- original of a retried send. message_keys holds the same pairs under its
-- unique index (messages_sender_client_msg_id), and a message is found from
-- its key by (conversation_id, seq), so the lookup goes through message_keys
-- and this index, a B-tree insert on every message, goes. (Closed-loop
-- direct messages: docs/benchmarks.md.)
DROP INDEX messages_sender_client;
