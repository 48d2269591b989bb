package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.AccountStore = (*Store)(nil)

// changedOne turns "no row changed" into ENotFound.
func changedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return chat.Errorf(chat.ENotFound, "no %s", what)
	}
	return nil
}

// SetProfile sets a user's display name and avatar. ENotFound.
func (s *Store) SetProfile(ctx context.Context, userID, displayName, avatarID string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET display_name = ?, avatar_media_id = ? WHERE id = ? AND deleted_at = 0`,
			displayName, avatarID, userID)
		return changedOne(res, err, "user "+userID)
	})
}

// SetPasswordHash replaces a user's password hash. ENotFound.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND deleted_at = 0`, hash, userID)
		return changedOne(res, err, "user "+userID)
	})
}

// UserSessions lists a user's sessions, newest first.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]chat.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.user_id = ? ORDER BY s.created_at DESC, s.id DESC`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.Session{}
	for rows.Next() {
		var x chat.Session
		if err := rows.Scan(&x.ID, &x.TokenHash, &x.UserID, &x.Username, &x.CreatedAt, &x.ExpiresAt); err != nil {
			return nil, translate(err)
		}
		out = append(out, x)
	}
	return out, translate(rows.Err())
}

func deleteSessions(ctx context.Context, tx *sql.Tx, userID, exceptID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id`, userID, exceptID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteUserSessions removes every session of userID but exceptID and
// returns the removed ids.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]string, error) {
	var ids []string
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		ids, err = deleteSessions(ctx, tx, userID, exceptID)
		return err
	})
	return ids, translate(err)
}

// SetAdmin grants or takes away the admin role. ENotFound.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET is_admin = ? WHERE id = ?`, admin, userID)
		return changedOne(res, err, "user "+userID)
	})
}

// SetSuspended suspends a user at ts, or lifts it with 0. ENotFound.
func (s *Store) SetSuspended(ctx context.Context, userID string, ts int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET suspended_at = ? WHERE id = ?`, ts, userID)
		return changedOne(res, err, "user "+userID)
	})
}

// DeleteUser marks a user deleted, clears its secrets and profile, and
// removes its sessions and memberships, in one transaction. ENotFound.
func (s *Store) DeleteUser(ctx context.Context, userID string, ts int64) ([]string, error) {
	var ids []string
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET deleted_at = ?, password_hash = '', avatar_media_id = '',
			is_admin = 0, display_name = ? WHERE id = ? AND deleted_at = 0`, ts, chat.DeletedDisplayName, userID)
		if err := changedOne(res, err, "user "+userID); err != nil {
			return err
		}
		if ids, err = deleteSessions(ctx, tx, userID, ""); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM members WHERE user_id = ?`, userID)
		return err
	})
	return ids, translate(err)
}

// SearchUsers lists users whose username or display name contains query,
// by username.
func (s *Store) SearchUsers(ctx context.Context, query, after string, limit int) ([]chat.User, error) {
	pat := "%" + likeEscape(strings.ToLower(query)) + "%"
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users
		WHERE (lower(username) LIKE ?1 ESCAPE '\' OR lower(display_name) LIKE ?1 ESCAPE '\') AND username > ?2
		ORDER BY username LIMIT ?3`, pat, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.User{}
	for rows.Next() {
		u, _, err := scanUser(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AppendAudit stores one audit row.
func (s *Store) AppendAudit(ctx context.Context, e chat.AuditEntry) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, ts, actor_id, actor, action, target, details)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.TS, e.ActorID, e.Actor, e.Action, e.Target, e.Details)
		return err
	})
}

// Audit lists audit rows newest first, with ids below before.
func (s *Store) Audit(ctx context.Context, before string, limit int) ([]chat.AuditEntry, error) {
	q := `SELECT id, ts, actor_id, actor, action, target, details FROM audit_log `
	args := []any{}
	if before != "" {
		q += `WHERE id < ? `
		args = append(args, before)
	}
	rows, err := s.r.QueryContext(ctx, q+`ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.AuditEntry{}
	for rows.Next() {
		var e chat.AuditEntry
		if err := rows.Scan(&e.ID, &e.TS, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Details); err != nil {
			return nil, translate(err)
		}
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// Counts returns the store's totals.
func (s *Store) Counts(ctx context.Context) (chat.Counts, error) {
	var c chat.Counts
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM users WHERE deleted_at = 0),
		(SELECT COUNT(*) FROM conversations),
		(SELECT COUNT(*) FROM messages)`).Scan(&c.Users, &c.Conversations, &c.Messages)
	return c, translate(err)
}

// SentMessages lists the messages userID sent, by conversation id and then
// seq, from after: conversation by conversation of those it sent into, each
// from the seq of its first message there.
func (s *Store) SentMessages(ctx context.Context, userID string, after chat.SentCursor, limit int) ([]chat.Message, error) {
	// Ordered by cs.conversation_id, not m's: the same order, but this way
	// SQLite walks the rows in it instead of sorting them all. Within the
	// cursor's conversation the scan starts past the cursor.
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageCols+` FROM conversation_senders cs
		JOIN messages m ON m.conversation_id = cs.conversation_id
			AND m.seq > iif(cs.conversation_id = ?2, max(?3, cs.first_seq - 1), cs.first_seq - 1)
		JOIN users u ON u.id = m.sender_id
		WHERE cs.sender_id = ?1 AND cs.conversation_id >= ?2 AND m.sender_id = ?1
		ORDER BY cs.conversation_id, m.seq LIMIT ?4`, userID, after.ConversationID, after.Seq, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, m)
	}
	return out, translate(rows.Err())
}

// UserMedia lists the uploads of userID, oldest first.
func (s *Store) UserMedia(ctx context.Context, userID string) ([]chat.Media, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, uploader_id, content_type, size, width, height, sha256, created_at
		FROM media WHERE uploader_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []chat.Media{}
	for rows.Next() {
		var m chat.Media
		if err := rows.Scan(&m.ID, &m.UploaderID, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.SHA256, &m.CreatedAt); err != nil {
			return nil, translate(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err)
	}
	return out, nil
}
