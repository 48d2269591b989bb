package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// The methods in this file serve internal/shard, which composes one
// directory Store and several shard Stores into one chat.Store. The
// directory's conversations and members tables are then an index (which
// conversations exist, their names, who is in which), and shard_map says
// where each conversation lives; a shard's tables hold the conversations
// themselves: counters, positions, messages, bans, plus a copy of the rows
// of the users who are members there.

// ShardState is a conversation as a member sees it, with its last activity
// for merging the lists of several shards.
type ShardState struct {
	chat.ConversationState
	LastTS int64
}

// ClaimShard records that this database is shard number n, or checks that
// it already is. EConflict if it was opened as another shard before.
func (s *Store) ClaimShard(ctx context.Context, n int) error {
	var got int
	err := s.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO shard_self (id, shard) VALUES (1, $1) ON CONFLICT (id) DO NOTHING RETURNING shard)
		SELECT shard FROM ins UNION ALL SELECT shard FROM shard_self`, n).Scan(&got)
	if err != nil {
		return dbErr(err)
	}
	if got != n {
		return chat.Errorf(chat.EConflict, "this database is shard %d, not %d: shards must be listed in the order they were added", got, n)
	}
	return nil
}

// ShardOf returns the shard that holds a conversation (directory side).
// ENotFound if the conversation is not in the map.
func (s *Store) ShardOf(ctx context.Context, convID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT shard FROM shard_map WHERE conversation_id = $1`, convID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, chat.Errorf(chat.ENotFound, "no conversation %q", convID)
	}
	return n, dbErr(err)
}

// UserShards returns the user's conversations grouped by the shard that
// holds them (directory side).
func (s *Store) UserShards(ctx context.Context, userID string) (map[int][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT sm.shard, m.conversation_id FROM members m
		JOIN shard_map sm ON sm.conversation_id = m.conversation_id WHERE m.user_id = $1`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := make(map[int][]string)
	for rows.Next() {
		var n int
		var id string
		if err := rows.Scan(&n, &id); err != nil {
			return nil, dbErr(err)
		}
		out[n] = append(out[n], id)
	}
	return out, dbErr(rows.Err())
}

// DirectShard returns the direct conversation of a and b with its shard
// (directory side). ENotFound if there is none.
func (s *Store) DirectShard(ctx context.Context, a, b string) (chat.Conversation, int, error) {
	if b < a {
		a, b = b, a
	}
	var c chat.Conversation
	var n int
	err := s.pool.QueryRow(ctx, "SELECT "+convColumns+`, sm.shard FROM conversations c
		JOIN shard_map sm ON sm.conversation_id = c.id WHERE c.direct_a = $1 AND c.direct_b = $2`, a, b).
		Scan(append(convDest(&c), &n)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Conversation{}, 0, chat.Errorf(chat.ENotFound, "no direct conversation")
	}
	return c, n, dbErr(err)
}

// RegisterDirect enters the direct conversation c of a and b, held by
// shard n, with both as members, in one statement (directory side). If the
// pair is already registered (by a node that raced this one) it returns
// that conversation and its shard instead. ENotFound if a user is missing.
func (s *Store) RegisterDirect(ctx context.Context, c chat.Conversation, a, b string, n int) (chat.Conversation, int, error) {
	if b < a {
		a, b = b, a
	}
	_, err := s.pool.Exec(ctx, `WITH c AS (
			INSERT INTO conversations (id, kind, title, direct_a, direct_b, created_at, last_ts, member_count)
			VALUES ($1, 'direct', '', $2, $3, $4, $4, CASE WHEN $2 = $3 THEN 1 ELSE 2 END)
			ON CONFLICT DO NOTHING
			RETURNING id),
		m AS (INSERT INTO members (conversation_id, user_id, joined_at)
			SELECT c.id, u.id, $4 FROM c, (SELECT DISTINCT id FROM (VALUES ($2), ($3)) AS v(id)) AS u)
		INSERT INTO shard_map (conversation_id, shard) SELECT id, $5 FROM c`,
		c.ID, a, b, c.CreatedAt, n)
	if err != nil {
		if chat.ErrorCode(dbErr(err)) == chat.ENotFound {
			return chat.Conversation{}, 0, chat.Errorf(chat.ENotFound, "no such user")
		}
		return chat.Conversation{}, 0, dbErr(err)
	}
	return s.DirectShard(ctx, a, b)
}

// RegisterGroup enters the group c, held by shard n, with memberIDs as its
// members, in one transaction (directory side). Registering the same id
// again adds the members that are missing. EConflict if another group
// holds the name.
func (s *Store) RegisterGroup(ctx context.Context, c chat.Conversation, memberIDs []string, n int) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `WITH ins AS (
				INSERT INTO conversations (id, kind, name, title, created_at, last_ts, description, visibility, history)
				VALUES ($1, 'group', $2, $3, $4, $4, $5, $6, $7)
				ON CONFLICT DO NOTHING RETURNING id)
			SELECT id FROM ins UNION ALL SELECT id FROM conversations WHERE name = $2`,
			c.ID, c.Name, c.Title, c.CreatedAt, c.Description, c.Visibility, c.History).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// The id is taken by another conversation: ids are unique, so
			// this is not a group of this name.
			return chat.Errorf(chat.EConflict, "conversation %q exists", c.ID)
		} else if err != nil {
			return dbErr(err)
		}
		if id != c.ID {
			return chat.Errorf(chat.EConflict, "group %q exists", c.Name)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO shard_map (conversation_id, shard) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.ID, n); err != nil {
			return dbErr(err)
		}
		return s.indexMembers(ctx, tx, c.ID, memberIDs, c.CreatedAt, true)
	})
}

// IndexMember adds userID to (present) or removes it from the directory's
// member index of convID, keeping member_count in step. Either is a no-op
// when the index already says so, so a repeated call repairs an earlier
// one that did not happen.
func (s *Store) IndexMember(ctx context.Context, convID, userID string, ts int64, present bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.indexMembers(ctx, tx, convID, []string{userID}, ts, present)
	})
}

func (s *Store) indexMembers(ctx context.Context, tx pgx.Tx, convID string, userIDs []string, ts int64, present bool) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR NO KEY UPDATE`, convID); err != nil {
		return dbErr(err)
	}
	var sql string
	if present {
		sql = `INSERT INTO members (conversation_id, user_id, joined_at)
			SELECT $1, u, $3 FROM unnest($2::text[]) AS u ON CONFLICT DO NOTHING`
	} else {
		sql = `DELETE FROM members WHERE conversation_id = $1 AND user_id = ANY($2::text[]) AND $3::bigint IS NOT NULL`
	}
	tag, err := tx.Exec(ctx, sql, convID, userIDs, ts)
	if err != nil {
		return dbErr(err)
	}
	delta := int(tag.RowsAffected())
	if !present {
		delta = -delta
	}
	return s.countMembers(ctx, tx, convID, delta)
}

// DeleteMediaRecord removes an upload's record (directory side); removing
// a missing one is no error.
func (s *Store) DeleteMediaRecord(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM media WHERE id = $1`, id)
	return dbErr(err)
}

// CopyUsers stores copies of users' rows (id and username; the rest stays
// in the directory) so that a shard's members, bans and messages can name
// them (shard side). Users already copied are skipped.
func (s *Store) CopyUsers(ctx context.Context, users []chat.User) error {
	ids := make([]string, len(users))
	names := make([]string, len(users))
	for i, u := range users {
		ids[i], names[i] = u.ID, u.Username
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO users (id, username, display_name, password_hash, created_at)
		SELECT i, n, '', '', 0 FROM unnest($1::text[], $2::text[]) AS v(i, n) ON CONFLICT DO NOTHING`, ids, names)
	return dbErr(err)
}

// DeleteMemberships removes every membership of userID (shard side), for a
// deleted account.
func (s *Store) DeleteMemberships(ctx context.Context, userID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM members WHERE user_id = $1`, userID)
	return dbErr(err)
}

// StatesOf returns those of convIDs of which userID is a member, as it sees
// them, most recently active first (shard side).
func (s *Store) StatesOf(ctx context.Context, userID string, convIDs []string) ([]ShardState, error) {
	rows, err := s.pool.Query(ctx, statesOfSelect+`
		WHERE m.user_id = $1 AND m.conversation_id = ANY($2::text[]) ORDER BY c.last_ts DESC, c.id DESC`, userID, convIDs)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ShardState, error) {
		var st ShardState
		return st, row.Scan(append(stateDest(&st.ConversationState), &st.LastTS)...)
	})
	return out, dbErr(err)
}

// statesOfSelect is stateSelect with the conversation's last activity.
var statesOfSelect = strings.Replace(stateSelect, "\n\tFROM members m", ", c.last_ts\n\tFROM members m", 1)

// LastSeqs returns the last seq of each of ids that this database holds
// (shard side).
func (s *Store) LastSeqs(ctx context.Context, ids []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, last_seq FROM conversations WHERE id = ANY($1::text[])`, ids)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(ids))
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, dbErr(err)
		}
		out[id] = seq
	}
	return out, dbErr(rows.Err())
}

// MediaInUse reports whether a message of this database carries the media
// (shard side).
func (s *Store) MediaInUse(ctx context.Context, mediaID string) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages WHERE media IS NOT NULL AND media ->> 'id' = $1)`, mediaID).Scan(&used)
	return used, dbErr(err)
}

// MessageCount counts the messages this database holds.
func (s *Store) MessageCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&n)
	return n, dbErr(err)
}
