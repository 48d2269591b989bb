-- Sharding (internal/shard). Every database of a sharded cluster has the
-- whole schema; these two tables are used by one side each.
--
-- shard_map, in the directory database: the shard that holds each
-- conversation, written in the same transaction as the directory's row of
-- the conversation and never changed afterwards, so adding a shard moves
-- nothing. It goes with the conversation.
CREATE TABLE shard_map (
    conversation_id text PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    shard           integer NOT NULL CHECK (shard >= 0)
);
CREATE INDEX shard_map_shard ON shard_map (shard);

-- shard_self, in a shard database: its own number, recorded the first time
-- it is opened as a shard, so that a list of shards given in another order
-- is refused instead of sending conversations to the wrong database.
CREATE TABLE shard_self (
    id    integer PRIMARY KEY CHECK (id = 1),
    shard integer NOT NULL CHECK (shard >= 0)
);
