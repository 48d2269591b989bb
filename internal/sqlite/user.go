package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

const userCols = `id, username, display_name, created_at, last_seen, password_hash,
	avatar_media_id, is_admin <> 0, suspended_at <> 0, deleted_at <> 0`

func scanUser(row scanner) (chat.User, string, error) {
	var u chat.User
	var hash string
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.CreatedAt, &u.LastSeen, &hash,
		&u.AvatarID, &u.Admin, &u.Suspended, &u.Deleted)
	return u, hash, err
}

// CreateUser stores u. EConflict if the username (or id) is taken.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, display_name, password_hash, created_at, last_seen)
			VALUES (?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.DisplayName, passwordHash, u.CreatedAt, u.LastSeen)
		if isConstraint(err) {
			return chat.Errorf(chat.EConflict, "username %q is taken", u.Username)
		}
		return err
	})
}

// UserByName returns the user with the given (normalised) username and its
// password hash. ENotFound.
func (s *Store) UserByName(ctx context.Context, username string) (chat.User, string, error) {
	u, hash, err := scanUser(s.stmts.userByName.QueryRowContext(ctx, username))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, "", chat.Errorf(chat.ENotFound, "no user %q", username)
	}
	return u, hash, translate(err)
}

// UserByID returns a user. ENotFound.
func (s *Store) UserByID(ctx context.Context, id string) (chat.User, error) {
	u, _, err := scanUser(s.stmts.userByID.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, chat.Errorf(chat.ENotFound, "no user with id %q", id)
	}
	return u, translate(err)
}

// SetLastSeen records that the users were last online at ts, in one
// transaction; a later time already stored is kept.
func (s *Store) SetLastSeen(ctx context.Context, ts int64, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE users SET last_seen = ? WHERE id = ? AND last_seen < ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range userIDs {
			if _, err := st.ExecContext(ctx, ts, id, ts); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateSession stores sess; its Username is not stored but read from the
// user. ENotFound if the user does not exist, EConflict if the id or token
// hash is taken.
func (s *Store) CreateSession(ctx context.Context, sess chat.Session) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, sess.ID, sess.TokenHash, sess.UserID, sess.CreatedAt, sess.ExpiresAt)
		return err
	})
}

// SessionByTokenHash returns a session with its Username. ENotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (chat.Session, error) {
	var sess chat.Session
	err := s.stmts.session.QueryRowContext(ctx, tokenHash).Scan(
		&sess.ID, &sess.TokenHash, &sess.UserID, &sess.Username, &sess.CreatedAt, &sess.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Session{}, chat.Errorf(chat.ENotFound, "no such session")
	}
	return sess, translate(err)
}

// DeleteSession removes a session; removing a missing one is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
}
