package chat

import (
	"context"
	"fmt"
)

// MaxUserPage is the most users one search returns.
const MaxUserPage = 500

// MaxReason is the longest reason an admin may give for a deletion.
const MaxReason = 256

// RequireAdmin checks that the session's user holds the admin role, read
// fresh from the store so a revoked role counts at once. EForbidden.
func (s *Service) RequireAdmin(ctx context.Context, sess Session) (AccountStore, error) {
	as, err := s.accounts()
	if err != nil {
		return nil, err
	}
	u, err := s.cfg.Store.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Admin {
		return nil, Errorf(EForbidden, "this needs the admin role")
	}
	return as, nil
}

// SearchUsers lists users whose username or display name contains query;
// admins only. limit is 1 to MaxUserPage (0 means 100).
func (s *Service) SearchUsers(ctx context.Context, sess Session, query, after string, limit int) ([]User, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > MaxUserPage {
		return nil, Errorf(EBadRequest, "limit must be 1 to %d", MaxUserPage)
	}
	if len(query) > MaxDisplayName {
		return nil, Errorf(EBadRequest, "query must be at most %d bytes", MaxDisplayName)
	}
	return as.SearchUsers(ctx, query, after, limit)
}

// adminTarget resolves a user an admin acts on.
func (s *Service) adminTarget(ctx context.Context, username string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, Errorf(ENotFound, "no user %q", username)
	}
	u, _, err := s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound {
		return User{}, Errorf(ENotFound, "no user %q", name)
	}
	return u, err
}

// Suspend suspends a user (or lifts it with suspended false); admins only.
// A suspended user cannot log in or authenticate: their sessions end and
// their connections close on every node at once.
func (s *Service) Suspend(ctx context.Context, sess Session, username string, suspended bool) (User, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return User{}, err
	}
	u, err := s.adminTarget(ctx, username)
	if err != nil {
		return User{}, err
	}
	if u.ID == sess.UserID && suspended {
		return User{}, Errorf(EBadRequest, "you cannot suspend yourself")
	}
	var ts int64
	action := AuditUnsuspend
	if suspended {
		ts, action = s.now(), AuditSuspend
	}
	if err := as.SetSuspended(ctx, u.ID, ts); err != nil {
		return User{}, err
	}
	details := ""
	if suspended {
		ids, err := as.DeleteUserSessions(ctx, u.ID, "")
		if err != nil {
			return User{}, err
		}
		s.revoke(ctx, ids)
		details = fmt.Sprintf("%d sessions ended", len(ids))
	}
	u.Suspended = suspended
	return u, s.audit(ctx, as, sess, action, u.Username, details)
}

// ForceLogout ends every session of a user on every node; admins only. It
// returns how many sessions ended.
func (s *Service) ForceLogout(ctx context.Context, sess Session, username string) (int, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return 0, err
	}
	u, err := s.adminTarget(ctx, username)
	if err != nil {
		return 0, err
	}
	ids, err := as.DeleteUserSessions(ctx, u.ID, "")
	if err != nil {
		return 0, err
	}
	s.revoke(ctx, ids)
	return len(ids), s.audit(ctx, as, sess, AuditForceLogout, u.Username, fmt.Sprintf("%d sessions ended", len(ids)))
}

// AdminDeleteMessage deletes the message at seq of convID as its author
// could (see Delete): the text, media, reactions and pin go, the seq stays,
// and every member's devices get the update; admins only, whether or not
// they are members.
func (s *Service) AdminDeleteMessage(ctx context.Context, sess Session, convID string, seq int64, reason string) (Message, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return Message{}, err
	}
	if seq < 1 {
		return Message{}, Errorf(EBadRequest, "seq must be at least 1")
	}
	if len(reason) > MaxReason {
		return Message{}, Errorf(EBadRequest, "reason must be at most %d bytes", MaxReason)
	}
	ms, err := s.cfg.Store.Messages(ctx, convID, HistoryQuery{After: seq - 1, Forward: true, Limit: 1})
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 || ms[0].Seq != seq {
		return Message{}, Errorf(ENotFound, "no message %d in conversation %q", seq, convID)
	}
	m, err := s.deleteMessage(ctx, ConnInfo{UserID: sess.UserID, Username: sess.Username, Session: sess.ID}, ms[0])
	if err != nil {
		return Message{}, err
	}
	target := fmt.Sprintf("%s/%d", convID, seq)
	details := "message " + m.ID + " from " + ms[0].Sender
	if reason != "" {
		details += ": " + reason
	}
	return m, s.audit(ctx, as, sess, AuditDeleteMessage, target, details)
}

// AdminDeleteGroup deletes a group as its owner could (see DeleteGroup);
// admins only.
func (s *Service) AdminDeleteGroup(ctx context.Context, sess Session, name string) error {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return err
	}
	n, err := NormalizeName("group name", name)
	if err != nil {
		return err
	}
	c, err := s.cfg.Store.GroupByName(ctx, n)
	if ErrorCode(err) == ENotFound {
		return Errorf(ENotFound, "no group %q", n)
	} else if err != nil {
		return err
	}
	members, err := s.removeGroup(ctx, sess, c.ID)
	if err != nil {
		return err
	}
	return s.audit(ctx, as, sess, AuditDeleteGroup, c.Name, fmt.Sprintf("group %s with %d members", c.ID, members))
}

// Stats returns the store's totals; admins only.
func (s *Service) Stats(ctx context.Context, sess Session) (Counts, error) {
	as, err := s.RequireAdmin(ctx, sess)
	if err != nil {
		return Counts{}, err
	}
	return as.Counts(ctx)
}
