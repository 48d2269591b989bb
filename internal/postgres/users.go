package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// CreateUser stores u. EConflict if the username (or id) is taken.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (id, username, display_name, password_hash, created_at, last_seen)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Username, u.DisplayName, passwordHash, u.CreatedAt, u.LastSeen)
	if chat.ErrorCode(dbErr(err)) == chat.EConflict {
		return chat.Errorf(chat.EConflict, "username %q is taken", u.Username)
	}
	return dbErr(err)
}

const userColumns = "id, username, display_name, created_at, last_seen, avatar_media_id, is_admin, suspended_at <> 0, deleted_at <> 0"

func scanUser(row pgx.Row, extra ...any) (chat.User, error) {
	var u chat.User
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &u.CreatedAt, &u.LastSeen, &u.AvatarID, &u.Admin, &u.Suspended, &u.Deleted}, extra...)
	return u, row.Scan(dest...)
}

// UserByName returns the user and its password hash. ENotFound.
func (s *Store) UserByName(ctx context.Context, username string) (chat.User, string, error) {
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx,
		"SELECT "+userColumns+", password_hash FROM users WHERE username = $1", username), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.User{}, "", chat.Errorf(chat.ENotFound, "no user %q", username)
	}
	if err != nil {
		return chat.User{}, "", dbErr(err)
	}
	return u, hash, nil
}

// UserByID returns a user. ENotFound.
func (s *Store) UserByID(ctx context.Context, id string) (chat.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.User{}, chat.Errorf(chat.ENotFound, "no user with id %q", id)
	}
	if err != nil {
		return chat.User{}, dbErr(err)
	}
	return u, nil
}

// SetLastSeen records that the users were last online at ts, in one
// statement. The time only moves forward, so nodes whose announcements
// cross keep the latest.
func (s *Store) SetLastSeen(ctx context.Context, ts int64, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, "UPDATE users SET last_seen = $1 WHERE id = ANY($2) AND last_seen < $1", ts, userIDs)
	return dbErr(err)
}

// CreateSession stores sess. ENotFound if its user does not exist,
// EConflict if its id or token hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess chat.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`,
		sess.ID, sess.TokenHash, sess.UserID, sess.CreatedAt, sess.ExpiresAt)
	return dbErr(err)
}

// SessionByTokenHash returns a session with its Username. ENotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (chat.Session, error) {
	var sess chat.Session
	err := s.pool.QueryRow(ctx, `SELECT s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND u.suspended_at = 0 AND u.deleted_at = 0`, tokenHash).
		Scan(&sess.ID, &sess.TokenHash, &sess.UserID, &sess.Username, &sess.CreatedAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Session{}, chat.Errorf(chat.ENotFound, "no such session")
	}
	if err != nil {
		return chat.Session{}, dbErr(err)
	}
	return sess, nil
}

// DeleteSession removes a session; removing a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id)
	return dbErr(err)
}
