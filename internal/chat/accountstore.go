package chat

import "context"

// AccountStore is what account management, the admin API and export need
// of the store beyond Store. Both internal/sqlite and internal/postgres
// implement it and pass internal/storetest's account tests; the rules find
// it on Config.Store by a type assertion.
//
// Errors as on Store: ENotFound where documented, EUnavailable when the
// database cannot be reached.
type AccountStore interface {
	// SetProfile sets a user's display name and avatar media id ("" for
	// none). ENotFound if the user does not exist.
	SetProfile(ctx context.Context, userID, displayName, avatarID string) error
	// SetPasswordHash replaces a user's password hash. ENotFound.
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// UserSessions lists a user's sessions, newest first.
	UserSessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteUserSessions removes every session of userID but exceptID
	// ("" for none) in one write and returns the ids it removed.
	DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]string, error)
	// SetAdmin grants or takes away the admin role. ENotFound.
	SetAdmin(ctx context.Context, userID string, admin bool) error
	// SetSuspended suspends a user at ts (Unix ms), or lifts the suspension
	// with ts 0. ENotFound. A suspended user's sessions are not found by
	// SessionByTokenHash.
	SetSuspended(ctx context.Context, userID string, ts int64) error
	// DeleteUser marks a user deleted at ts in one transaction: the row
	// stays (the username stays reserved and messages keep their sender),
	// its password hash, avatar and admin role are cleared, its display
	// name becomes DeletedDisplayName, and its sessions and memberships are
	// removed. It returns the ids of the removed sessions. ENotFound.
	DeleteUser(ctx context.Context, userID string, ts int64) (sessionIDs []string, err error)
	// SearchUsers lists users whose username or display name contains
	// query (case-insensitive; "" matches all), ordered by username, at
	// most limit of them, starting after the username after.
	SearchUsers(ctx context.Context, query, after string, limit int) ([]User, error)
	// AppendAudit stores one audit log row.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// Audit lists audit rows newest first, at most limit, with ids below
	// before ("" for the newest).
	Audit(ctx context.Context, before string, limit int) ([]AuditEntry, error)
	// Counts returns how many users (not deleted), conversations and
	// messages the store holds.
	Counts(ctx context.Context) (Counts, error)
	// SentMessages lists the messages userID sent, by conversation id and
	// then seq, at most limit, from after (the zero value for the first).
	SentMessages(ctx context.Context, userID string, after SentCursor, limit int) ([]Message, error)
	// UserMedia lists the uploads of userID, oldest first.
	UserMedia(ctx context.Context, userID string) ([]Media, error)
}

// DeletedDisplayName is the display name of a deleted account.
const DeletedDisplayName = "Deleted user"

// Counts are the totals of a store.
type Counts struct {
	Users         int64
	Conversations int64
	Messages      int64
}

func (s *Service) accounts() (AccountStore, error) {
	as, ok := s.cfg.Store.(AccountStore)
	if !ok {
		return nil, Errorf(EInternal, "this store keeps no account settings")
	}
	return as, nil
}
