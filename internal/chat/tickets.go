package chat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"
)

// TicketTTL is how long an event-stream ticket may wait to be used.
const TicketTTL = 30 * time.Second

// Ticket is a short-lived, single-use credential for opening an event stream
// (GET /v1/events) from a client that cannot set an Authorization header
// (a browser's EventSource), so that no long-lived token travels in a URL.
// Only a hash of the ticket is stored.
type Ticket struct {
	TokenHash string
	SessionID string
	ExpiresAt int64 // Unix ms
}

// TicketStore keeps event-stream tickets. Both stores implement it; the
// Service finds it on its Store.
type TicketStore interface {
	// CreateTicket stores t and removes the tickets that expired before
	// now. ENotFound if its session does not exist.
	CreateTicket(ctx context.Context, t Ticket, now int64) error
	// TakeTicket removes the ticket with tokenHash and returns it with its
	// session (Username filled in). Only one caller ever gets a given
	// ticket. ENotFound if there is none (never issued, taken, or its
	// session ended).
	TakeTicket(ctx context.Context, tokenHash string) (Ticket, Session, error)
}

// IssueTicket returns a new ticket for sess, valid once within TicketTTL.
func (s *Service) IssueTicket(ctx context.Context, sess Session) (string, time.Duration, error) {
	ts, ok := s.cfg.Store.(TicketStore)
	if !ok {
		return "", 0, Errorf(EUnavailable, "this store does not keep event tickets")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", 0, err
	}
	token := "tk_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	t := Ticket{TokenHash: hashToken(token), SessionID: sess.ID, ExpiresAt: now + TicketTTL.Milliseconds()}
	if err := ts.CreateTicket(ctx, t, now); err != nil {
		if ErrorCode(err) == ENotFound {
			return "", 0, Errorf(EUnauthorized, "session ended")
		}
		return "", 0, err
	}
	return token, TicketTTL, nil
}

// RedeemTicket uses up a ticket and returns the live session it was issued
// for. EUnauthorized if the ticket is unknown, used, expired, or its session
// has ended or expired.
func (s *Service) RedeemTicket(ctx context.Context, token string) (Session, error) {
	ts, ok := s.cfg.Store.(TicketStore)
	if !ok {
		return Session{}, Errorf(EUnavailable, "this store does not keep event tickets")
	}
	if token == "" {
		return Session{}, Errorf(EUnauthorized, "missing ticket")
	}
	t, sess, err := ts.TakeTicket(ctx, hashToken(token))
	if ErrorCode(err) == ENotFound {
		return Session{}, Errorf(EUnauthorized, "invalid or used ticket")
	} else if err != nil {
		return Session{}, err
	}
	now := s.now()
	if t.ExpiresAt <= now {
		return Session{}, Errorf(EUnauthorized, "ticket expired")
	}
	if sess.ExpiresAt <= now {
		return Session{}, Errorf(EUnauthorized, "token expired")
	}
	return sess, nil
}
