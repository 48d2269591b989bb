package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.AccountStore = (*Store)(nil)

// changedOne turns "no row changed" into ENotFound.
func changedOne(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return chat.Errorf(chat.ENotFound, "no %s", what)
	}
	return nil
}

// SetProfile sets a user's display name and avatar. ENotFound.
func (s *Store) SetProfile(ctx context.Context, userID, displayName, avatarID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET display_name = $1, avatar_media_id = $2 WHERE id = $3 AND deleted_at = 0`,
		displayName, avatarID, userID)
	return changedOne(tag, err, "user "+userID)
}

// SetPasswordHash replaces a user's password hash. ENotFound.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at = 0`, hash, userID)
	return changedOne(tag, err, "user "+userID)
}

// UserSessions lists a user's sessions, newest first.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]chat.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id DESC`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Session, error) {
		var x chat.Session
		err := row.Scan(&x.ID, &x.TokenHash, &x.UserID, &x.Username, &x.CreatedAt, &x.ExpiresAt)
		return x, err
	})
	if out == nil {
		out = []chat.Session{}
	}
	return out, dbErr(err)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func deleteSessions(ctx context.Context, q querier, userID, exceptID string) ([]string, error) {
	rows, err := q.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, exceptID)
	if err != nil {
		return nil, dbErr(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if ids == nil {
		ids = []string{}
	}
	return ids, dbErr(err)
}

// DeleteUserSessions removes every session of userID but exceptID and
// returns the removed ids.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]string, error) {
	return deleteSessions(ctx, s.pool, userID, exceptID)
}

// SetAdmin grants or takes away the admin role. ENotFound.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET is_admin = $1 WHERE id = $2`, admin, userID)
	return changedOne(tag, err, "user "+userID)
}

// SetSuspended suspends a user at ts, or lifts it with 0. ENotFound.
func (s *Store) SetSuspended(ctx context.Context, userID string, ts int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET suspended_at = $1 WHERE id = $2`, ts, userID)
	return changedOne(tag, err, "user "+userID)
}

// DeleteUser marks a user deleted, clears its secrets and profile, and
// removes its sessions and memberships, in one transaction. ENotFound.
func (s *Store) DeleteUser(ctx context.Context, userID string, ts int64) ([]string, error) {
	var ids []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET deleted_at = $1, password_hash = '', avatar_media_id = '',
			is_admin = false, display_name = $2 WHERE id = $3 AND deleted_at = 0`, ts, chat.DeletedDisplayName, userID)
		if err := changedOne(tag, err, "user "+userID); err != nil {
			return err
		}
		if ids, err = deleteSessions(ctx, tx, userID, ""); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM push_subscriptions WHERE user_id = $1`, userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM members WHERE user_id = $1`, userID)
		return err
	})
	return ids, dbErr(err)
}

// SearchUsers lists users whose username or display name contains query,
// by username.
func (s *Store) SearchUsers(ctx context.Context, query, after string, limit int) ([]chat.User, error) {
	pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(query) + "%"
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+` FROM users
		WHERE (username ILIKE $1 OR display_name ILIKE $1) AND username > $2 ORDER BY username LIMIT $3`, pat, after, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.User, error) { return scanUser(row) })
	if out == nil {
		out = []chat.User{}
	}
	return out, dbErr(err)
}

// AppendAudit stores one audit row.
func (s *Store) AppendAudit(ctx context.Context, e chat.AuditEntry) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_log (id, ts, actor_id, actor, action, target, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, e.TS, e.ActorID, e.Actor, e.Action, e.Target, e.Details)
	return dbErr(err)
}

// Audit lists audit rows newest first, with ids below before.
func (s *Store) Audit(ctx context.Context, before string, limit int) ([]chat.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, ts, actor_id, actor, action, target, details FROM audit_log
		WHERE $1 = '' OR id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.AuditEntry, error) {
		var e chat.AuditEntry
		err := row.Scan(&e.ID, &e.TS, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Details)
		return e, err
	})
	if out == nil {
		out = []chat.AuditEntry{}
	}
	return out, dbErr(err)
}

// Counts returns the store's totals.
func (s *Store) Counts(ctx context.Context) (chat.Counts, error) {
	var c chat.Counts
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM users WHERE deleted_at = 0),
		(SELECT COUNT(*) FROM conversations),
		(SELECT COUNT(*) FROM messages)`).Scan(&c.Users, &c.Conversations, &c.Messages)
	return c, dbErr(err)
}

// SentMessages lists the messages userID sent, by conversation id (as
// bytes: conversation_senders.conversation_id is in the "C" collation) and
// then seq, from after: conversation by conversation of those it sent
// into, each from the seq of its first message there, until limit. One
// query a conversation keeps a page's cost at limit rows and the
// conversations it passes; a single join would leave the planner sorting
// every conversation's rows before the limit.
func (s *Store) SentMessages(ctx context.Context, userID string, after chat.SentCursor, limit int) ([]chat.Message, error) {
	type from struct {
		conv string
		seq  int64
	}
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, first_seq FROM conversation_senders
		WHERE sender_id = $1 AND conversation_id >= $2 ORDER BY conversation_id`, userID, after.ConversationID)
	if err != nil {
		return nil, dbErr(err)
	}
	convs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (from, error) {
		var f from
		err := row.Scan(&f.conv, &f.seq)
		return f, err
	})
	if err != nil {
		return nil, dbErr(err)
	}
	out := []chat.Message{}
	for _, c := range convs {
		if len(out) >= limit {
			break
		}
		past := c.seq - 1
		if c.conv == after.ConversationID {
			past = max(past, after.Seq)
		}
		rows, err := s.pool.Query(ctx, "SELECT "+messageColumns+` FROM messages m JOIN users u ON u.id = m.sender_id
			WHERE m.conversation_id = $1 AND m.seq > $2 AND m.sender_id = $3 ORDER BY m.seq LIMIT $4`,
			c.conv, past, userID, limit-len(out))
		if err != nil {
			return nil, dbErr(err)
		}
		ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Message, error) { return scanMessage(row) })
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// UserMedia lists the uploads of userID, oldest first.
func (s *Store) UserMedia(ctx context.Context, userID string) ([]chat.Media, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, uploader_id, content_type, size, width, height, sha256, created_at
		FROM media WHERE uploader_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (chat.Media, error) {
		var m chat.Media
		err := row.Scan(&m.ID, &m.UploaderID, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.SHA256, &m.CreatedAt)
		return m, err
	})
	if out == nil {
		out = []chat.Media{}
	}
	return out, dbErr(err)
}
