-- Messages partitioned by month: RANGE partitions on ts (Unix ms, UTC
-- month boundaries) named messages_yYYYYmMM, so an old month can be
-- detached (archived) or dropped as a whole (`switchboard admin
-- partitions`) instead of deleted row by row. messages_default catches a
-- row whose month has no partition yet, so an append never fails for
-- want of one; the store creates the coming months ahead
-- (messages_ensure_month, at every start and by the admin command), and
-- creating a month moves its rows out of the default partition first.
--
-- A partitioned table's unique indexes must include the partition key, so
-- the uniqueness that messages had moves to message_keys, one small row
-- per message, not partitioned: the id (primary key, and what reactions
-- reference), (conversation_id, seq), and (sender_id, client_msg_id) under
-- the index name messages_sender_client_msg_id, which the append path
-- recognises as "sent before". Statement-level triggers on messages fill
-- and empty message_keys in the same statement as the messages insert or
-- delete, so the append path's SQL is unchanged. messages keeps plain
-- indexes on id and on (sender_id, client_msg_id) for the lookups, and its
-- primary key becomes (conversation_id, seq, ts).

ALTER TABLE reactions DROP CONSTRAINT IF EXISTS reactions_message_id_fkey;
ALTER TABLE messages RENAME TO messages_unpartitioned;
ALTER TABLE messages_unpartitioned RENAME CONSTRAINT messages_pkey TO messages_unpartitioned_pkey;

CREATE TABLE messages (LIKE messages_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (ts);
ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (conversation_id, seq, ts);
CREATE TABLE messages_default PARTITION OF messages DEFAULT;

-- messages_month_bounds gives the UTC month holding at_ms as
-- [lo, hi) in Unix ms and its partition's name.
CREATE FUNCTION messages_month_bounds(at_ms bigint, OUT lo bigint, OUT hi bigint, OUT name text)
    LANGUAGE sql STABLE AS $$
    SELECT (extract(epoch FROM m) * 1000)::bigint,
           (extract(epoch FROM m + interval '1 month') * 1000)::bigint,
           'messages_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM')
    FROM (SELECT date_trunc('month', to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC') AS m) AS t
$$;

-- messages_ensure_month creates the partition of the month holding at_ms
-- if it is missing, first moving that month's rows out of the default
-- partition (the attach would fail while they are there), and returns its
-- name. Nodes that run it at once take turns on an advisory lock.
CREATE FUNCTION messages_ensure_month(at_ms bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    SELECT * INTO b FROM messages_month_bounds(at_ms);
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'messages'::regclass AND c.relname = b.name) THEN
        RETURN b.name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('switchboard messages partitions'));
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'messages'::regclass AND c.relname = b.name) THEN
        RETURN b.name;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE messages INCLUDING DEFAULTS)', b.name);
    EXECUTE format('WITH moved AS (DELETE FROM messages_default WHERE ts >= %s AND ts < %s RETURNING *)
        INSERT INTO %I SELECT * FROM moved', b.lo, b.hi, b.name);
    EXECUTE format('ALTER TABLE messages ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)', b.name, b.lo, b.hi);
    RETURN b.name;
END
$$;

-- The months that hold messages, and this month and the next two.
SELECT messages_ensure_month(ms) FROM (
    SELECT DISTINCT (messages_month_bounds(ts)).lo AS ms FROM messages_unpartitioned
    UNION SELECT (extract(epoch FROM now()) * 1000)::bigint
    UNION SELECT (extract(epoch FROM now() + interval '1 month') * 1000)::bigint
    UNION SELECT (extract(epoch FROM now() + interval '2 months') * 1000)::bigint) AS months;

INSERT INTO messages SELECT * FROM messages_unpartitioned;

CREATE TABLE message_keys (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL,
    seq             bigint NOT NULL,
    sender_id       text NOT NULL,
    client_msg_id   text NOT NULL,
    UNIQUE (conversation_id, seq)
);
INSERT INTO message_keys (id, conversation_id, seq, sender_id, client_msg_id)
    SELECT id, conversation_id, seq, sender_id, client_msg_id FROM messages_unpartitioned;

-- The old table's other indexes (whatever earlier migrations made) are
-- made again on the partitioned table, which makes them on every
-- partition; its unique ones are replaced by message_keys and the two
-- plain indexes below.
DO $$
DECLARE
    defs text[];
    d    text;
BEGIN
    SELECT array_agg(pg_get_indexdef(i.indexrelid)) INTO defs
        FROM pg_index i WHERE i.indrelid = 'messages_unpartitioned'::regclass AND NOT i.indisunique;
    -- The search id sequence (0060) belongs to the old table's column;
    -- the new table's default uses it, so it moves to the new column.
    ALTER SEQUENCE message_search_id OWNED BY NONE;
    DROP TABLE messages_unpartitioned;
    ALTER SEQUENCE message_search_id OWNED BY messages.search_id;
    FOREACH d IN ARRAY coalesce(defs, '{}') LOOP
        EXECUTE regexp_replace(d, ' ON (ONLY )?(\S+\.)?messages_unpartitioned ', ' ON messages ');
    END LOOP;
END
$$;

CREATE INDEX messages_id ON messages (id);
CREATE INDEX messages_sender_client ON messages (sender_id, client_msg_id) WHERE client_msg_id <> '';
CREATE UNIQUE INDEX messages_sender_client_msg_id ON message_keys (sender_id, client_msg_id) WHERE client_msg_id <> '';

ALTER TABLE reactions ADD CONSTRAINT reactions_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES message_keys (id) ON DELETE CASCADE;

CREATE FUNCTION message_keys_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO message_keys (id, conversation_id, seq, sender_id, client_msg_id)
        SELECT id, conversation_id, seq, sender_id, client_msg_id FROM new_rows;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_keys_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION message_keys_insert();

CREATE FUNCTION message_keys_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM message_keys k USING old_rows o WHERE k.id = o.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER message_keys_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION message_keys_delete();

-- The search indexer's trigger (0060) went with the old table: an edit or
-- delete fixes an indexed message's entry on the partitioned table too.
CREATE TRIGGER messages_search_edit AFTER UPDATE OF text ON messages
    FOR EACH ROW EXECUTE FUNCTION message_search_edit();
