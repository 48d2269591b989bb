package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.TicketStore = (*Store)(nil)

// CreateTicket stores t and removes the tickets that expired before now.
// ENotFound if its session does not exist.
func (s *Store) CreateTicket(ctx context.Context, t chat.Ticket, now int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM event_tickets WHERE expires_at < $1`, now); err != nil {
		return dbErr(err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO event_tickets (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
		t.TokenHash, t.SessionID, t.ExpiresAt)
	return dbErr(err)
}

// TakeTicket removes the ticket with tokenHash and returns it with its
// session. ENotFound.
func (s *Store) TakeTicket(ctx context.Context, tokenHash string) (chat.Ticket, chat.Session, error) {
	var t chat.Ticket
	var sess chat.Session
	// One statement: the DELETE's row lock makes a second taker find nothing.
	err := s.pool.QueryRow(ctx, `WITH t AS (
			DELETE FROM event_tickets WHERE token_hash = $1 RETURNING token_hash, session_id, expires_at)
		SELECT t.token_hash, t.session_id, t.expires_at, s.id, s.token_hash, s.user_id, u.username, s.created_at, s.expires_at
		FROM t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id`, tokenHash).Scan(
		&t.TokenHash, &t.SessionID, &t.ExpiresAt,
		&sess.ID, &sess.TokenHash, &sess.UserID, &sess.Username, &sess.CreatedAt, &sess.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return chat.Ticket{}, chat.Session{}, chat.Errorf(chat.ENotFound, "no such ticket")
	}
	if err != nil {
		return chat.Ticket{}, chat.Session{}, dbErr(err)
	}
	return t, sess, nil
}
