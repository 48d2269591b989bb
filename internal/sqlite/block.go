package sqlite

import (
	"context"
	"database/sql"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Block records that userID blocks blockedID. ENotFound for an unknown user.
func (s *Store) Block(ctx context.Context, userID, blockedID string, ts int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, userID, blockedID, ts)
		if isConstraint(err) {
			return chat.Errorf(chat.ENotFound, "no such user")
		}
		return err
	})
}

// Unblock lifts a block; lifted is false if there was none.
func (s *Store) Unblock(ctx context.Context, userID, blockedID string) (lifted bool, err error) {
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?`, userID, blockedID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		lifted = n == 1
		return err
	})
	return lifted, err
}

// Blocks lists the users userID blocks, ordered by username.
func (s *Store) Blocks(ctx context.Context, userID string) ([]chat.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, u.username, u.display_name, u.created_at, u.last_seen
		FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ? ORDER BY u.username`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.User{}
	for rows.Next() {
		var u chat.User
		if err := rows.Scan(&u.ID, &u.Username, &u.DisplayName, &u.CreatedAt, &u.LastSeen); err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// Blockers returns the ids of the users who block userID.
func (s *Store) Blockers(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id FROM blocks WHERE blocked_id = ? ORDER BY user_id`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, translate(err)
		}
		out = append(out, id)
	}
	return out, translate(rows.Err())
}
