package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.TicketStore = (*Store)(nil)

// CreateTicket stores t and removes the tickets that expired before now.
// ENotFound if its session does not exist.
func (s *Store) CreateTicket(ctx context.Context, t chat.Ticket, now int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_tickets WHERE expires_at < ?`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO event_tickets (token_hash, session_id, expires_at) VALUES (?, ?, ?)`,
			t.TokenHash, t.SessionID, t.ExpiresAt)
		return err
	})
}

// TakeTicket removes the ticket with tokenHash and returns it with its
// session. ENotFound.
func (s *Store) TakeTicket(ctx context.Context, tokenHash string) (chat.Ticket, chat.Session, error) {
	var t chat.Ticket
	var sess chat.Session
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM event_tickets WHERE token_hash = ? RETURNING token_hash, session_id, expires_at`,
			tokenHash).Scan(&t.TokenHash, &t.SessionID, &t.ExpiresAt)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, t.SessionID).Scan(
			&sess.ID, &sess.TokenHash, &sess.UserID, &sess.Username, &sess.CreatedAt, &sess.ExpiresAt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Ticket{}, chat.Session{}, chat.Errorf(chat.ENotFound, "no such ticket")
	}
	if err != nil {
		return chat.Ticket{}, chat.Session{}, translate(err)
	}
	return t, sess, nil
}
