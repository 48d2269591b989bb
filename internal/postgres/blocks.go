package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Block records that userID blocks blockedID. ENotFound for an unknown user.
func (s *Store) Block(ctx context.Context, userID, blockedID string, ts int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO blocks (user_id, blocked_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, userID, blockedID, ts)
	if chat.ErrorCode(dbErr(err)) == chat.ENotFound {
		return chat.Errorf(chat.ENotFound, "no such user")
	}
	return dbErr(err)
}

// Unblock lifts a block; lifted is false if there was none.
func (s *Store) Unblock(ctx context.Context, userID, blockedID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2`, userID, blockedID)
	if err != nil {
		return false, dbErr(err)
	}
	return tag.RowsAffected() == 1, nil
}

// Blocks lists the users userID blocks, ordered by username.
func (s *Store) Blocks(ctx context.Context, userID string) ([]chat.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id, u.username, u.display_name, u.created_at, u.last_seen
		FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = $1 ORDER BY u.username`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.User, error) {
		var u chat.User
		return u, row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.CreatedAt, &u.LastSeen)
	})
	return out, dbErr(err)
}

// Blockers returns the ids of the users who block userID.
func (s *Store) Blockers(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id FROM blocks WHERE blocked_id = $1 ORDER BY user_id`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, dbErr(err)
}
