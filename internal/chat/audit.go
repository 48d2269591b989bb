package chat

import (
	"context"
	"fmt"
)

// Audit actions: what an admin (or the CLI on the store) did.
const (
	AuditGrantAdmin    = "grant_admin"
	AuditRevokeAdmin   = "revoke_admin"
	AuditSuspend       = "suspend"
	AuditUnsuspend     = "unsuspend"
	AuditForceLogout   = "force_logout"
	AuditDeleteMessage = "delete_message"
	AuditDeleteGroup   = "delete_group"
)

// AuditEntry is one row of the audit log: who did what to which target,
// when, with details.
type AuditEntry struct {
	ID      string
	TS      int64 // Unix ms
	ActorID string
	Actor   string // the admin's username, or "cli" for the store directly
	Action  string
	Target  string
	Details string
}

// MaxAuditPage is the most audit rows one call returns.
const MaxAuditPage = 500

// audit writes a row; a failed write fails the action's answer, not the
// action, which is already done: the error says so.
func (s *Service) audit(ctx context.Context, as AccountStore, admin Session, action, target, details string) error {
	err := as.AppendAudit(ctx, AuditEntry{ID: s.cfg.NewID(), TS: s.now(), ActorID: admin.UserID, Actor: admin.Username,
		Action: action, Target: target, Details: details})
	if err != nil {
		return fmt.Errorf("%s done, audit row not written: %w", action, err)
	}
	return nil
}

// AuditLog lists the audit log newest first; admins only. limit is 1 to
// MaxAuditPage (0 means 100); before pages back from an entry id.
func (s *Service) AuditLog(ctx context.Context, sess Session, before string, limit int) ([]AuditEntry, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > MaxAuditPage {
		return nil, Errorf(EBadRequest, "limit must be 1 to %d", MaxAuditPage)
	}
	return as.Audit(ctx, before, limit)
}

// GrantAdmin gives (or with admin false takes away) the admin role, run
// by an operator directly against the store (switchboard admin grant), so
// the first admin needs no API. It writes an audit row with actor "cli".
func GrantAdmin(ctx context.Context, store Store, username string, admin bool, id string, ts int64) error {
	as, ok := store.(AccountStore)
	if !ok {
		return Errorf(EInternal, "this store keeps no account settings")
	}
	name, err := NormalizeName("username", username)
	if err != nil {
		return err
	}
	u, _, err := store.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if u.Deleted {
		return Errorf(EBadRequest, "user %q was deleted", name)
	}
	if err := as.SetAdmin(ctx, u.ID, admin); err != nil {
		return err
	}
	action := AuditGrantAdmin
	if !admin {
		action = AuditRevokeAdmin
	}
	return as.AppendAudit(ctx, AuditEntry{ID: id, TS: ts, Actor: "cli", Action: action, Target: name})
}
