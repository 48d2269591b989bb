package shard

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
)

// Users, sessions, tickets, push, media records and the audit log live in
// the directory; the methods here pass through, but for the few that also
// need the shards (DeleteUser, Counts, SentMessages, CanAccessMedia).

// CreateUser stores a user in the directory; shards get a copy of its row
// when it first becomes a member of one of theirs.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	return s.dir.CreateUser(ctx, u, passwordHash)
}

// UserByName reads the directory.
func (s *Store) UserByName(ctx context.Context, username string) (chat.User, string, error) {
	return s.dir.UserByName(ctx, username)
}

// UserByID reads the directory.
func (s *Store) UserByID(ctx context.Context, id string) (chat.User, error) {
	return s.dir.UserByID(ctx, id)
}

// SetLastSeen writes the directory.
func (s *Store) SetLastSeen(ctx context.Context, ts int64, userIDs []string) error {
	return s.dir.SetLastSeen(ctx, ts, userIDs)
}

// CreateSession writes the directory.
func (s *Store) CreateSession(ctx context.Context, sess chat.Session) error {
	return s.dir.CreateSession(ctx, sess)
}

// SessionByTokenHash reads the directory.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (chat.Session, error) {
	return s.dir.SessionByTokenHash(ctx, tokenHash)
}

// DeleteSession writes the directory.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.dir.DeleteSession(ctx, id)
}

// SetProfile writes the directory.
func (s *Store) SetProfile(ctx context.Context, userID, displayName, avatarID string) error {
	return s.dir.SetProfile(ctx, userID, displayName, avatarID)
}

// SetPasswordHash writes the directory.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return s.dir.SetPasswordHash(ctx, userID, hash)
}

// UserSessions reads the directory.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]chat.Session, error) {
	return s.dir.UserSessions(ctx, userID)
}

// DeleteUserSessions writes the directory.
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) ([]string, error) {
	return s.dir.DeleteUserSessions(ctx, userID, exceptID)
}

// SetAdmin writes the directory.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	return s.dir.SetAdmin(ctx, userID, admin)
}

// SetSuspended writes the directory.
func (s *Store) SetSuspended(ctx context.Context, userID string, ts int64) error {
	return s.dir.SetSuspended(ctx, userID, ts)
}

// DeleteUser removes the user's memberships on every shard, then marks it
// deleted in the directory (which removes its sessions, subscriptions and
// the index of its memberships). A repeated call after a failure finishes
// the job; the shards' part is idempotent.
func (s *Store) DeleteUser(ctx context.Context, userID string, ts int64) ([]string, error) {
	if _, err := s.dir.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	err := s.each(ctx, func(ctx context.Context, _ int, sh *postgres.Store) error { return sh.DeleteMemberships(ctx, userID) })
	if err != nil {
		return nil, err
	}
	return s.dir.DeleteUser(ctx, userID, ts)
}

// SearchUsers reads the directory.
func (s *Store) SearchUsers(ctx context.Context, query, after string, limit int) ([]chat.User, error) {
	return s.dir.SearchUsers(ctx, query, after, limit)
}

// AppendAudit writes the directory.
func (s *Store) AppendAudit(ctx context.Context, e chat.AuditEntry) error {
	return s.dir.AppendAudit(ctx, e)
}

// Audit reads the directory.
func (s *Store) Audit(ctx context.Context, before string, limit int) ([]chat.AuditEntry, error) {
	return s.dir.Audit(ctx, before, limit)
}

// Counts takes users and conversations from the directory and adds up the
// shards' messages.
func (s *Store) Counts(ctx context.Context) (chat.Counts, error) {
	c, err := s.dir.Counts(ctx)
	if err != nil {
		return chat.Counts{}, err
	}
	counts := make([]int64, len(s.shards))
	err = s.each(ctx, func(ctx context.Context, n int, sh *postgres.Store) error {
		var err error
		counts[n], err = sh.MessageCount(ctx)
		return err
	})
	if err != nil {
		return chat.Counts{}, err
	}
	c.Messages = 0
	for _, n := range counts {
		c.Messages += n
	}
	return c, nil
}

// SentMessages asks every shard for its first limit messages of userID
// from after and keeps the first limit of them all. Every shard orders them
// by conversation id as bytes, then seq, and so does the merge.
func (s *Store) SentMessages(ctx context.Context, userID string, after chat.SentCursor, limit int) ([]chat.Message, error) {
	parts := make([][]chat.Message, len(s.shards))
	err := s.each(ctx, func(ctx context.Context, n int, sh *postgres.Store) error {
		var err error
		parts[n], err = sh.SentMessages(ctx, userID, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	all := slices.Concat(parts...)
	slices.SortFunc(all, func(a, b chat.Message) int {
		return cmp.Or(strings.Compare(a.ConversationID, b.ConversationID), cmp.Compare(a.Seq, b.Seq))
	})
	if limit >= 0 && len(all) > limit {
		all = all[:limit]
	}
	if all == nil {
		all = []chat.Message{}
	}
	return all, nil
}

// UserMedia reads the directory.
func (s *Store) UserMedia(ctx context.Context, userID string) ([]chat.Media, error) {
	return s.dir.UserMedia(ctx, userID)
}

// PutMedia records an upload in the directory.
func (s *Store) PutMedia(ctx context.Context, m chat.Media) error {
	return s.dir.PutMedia(ctx, m)
}

// Media reads an upload's record from the directory.
func (s *Store) Media(ctx context.Context, id string) (chat.Media, error) {
	return s.dir.Media(ctx, id)
}

// CanAccessMedia asks the directory (uploader, avatars), then the shards
// (a message carrying it in a conversation the user may read).
func (s *Store) CanAccessMedia(ctx context.Context, mediaID, userID string) (bool, error) {
	ok, err := s.dir.CanAccessMedia(ctx, mediaID, userID)
	if err != nil || ok {
		return ok, err
	}
	found := make([]bool, len(s.shards))
	err = s.each(ctx, func(ctx context.Context, n int, sh *postgres.Store) error {
		var err error
		found[n], err = sh.CanAccessMedia(ctx, mediaID, userID)
		return err
	})
	return slices.Contains(found, true), err
}

// MediaUsage reads the directory.
func (s *Store) MediaUsage(ctx context.Context, userID string, since int64) (chat.MediaUsage, error) {
	return s.dir.MediaUsage(ctx, userID, since)
}

// CreateTicket writes the directory.
func (s *Store) CreateTicket(ctx context.Context, t chat.Ticket, now int64) error {
	return s.dir.CreateTicket(ctx, t, now)
}

// TakeTicket writes the directory.
func (s *Store) TakeTicket(ctx context.Context, tokenHash string) (chat.Ticket, chat.Session, error) {
	return s.dir.TakeTicket(ctx, tokenHash)
}

// VAPIDKeys reads or writes the directory.
func (s *Store) VAPIDKeys(ctx context.Context, priv, pub string) (string, string, error) {
	return s.dir.VAPIDKeys(ctx, priv, pub)
}

// PutSubscription writes the directory.
func (s *Store) PutSubscription(ctx context.Context, sub chat.PushSubscription, max int) error {
	return s.dir.PutSubscription(ctx, sub, max)
}

// DeleteSubscription writes the directory.
func (s *Store) DeleteSubscription(ctx context.Context, userID, endpoint string) error {
	return s.dir.DeleteSubscription(ctx, userID, endpoint)
}

// EnqueuePushes writes the directory's push queue.
func (s *Store) EnqueuePushes(ctx context.Context, b chat.PushBatch) (int, error) {
	return s.dir.EnqueuePushes(ctx, b)
}

// ClaimPushes claims from the directory's push queue.
func (s *Store) ClaimPushes(ctx context.Context, now, lease int64, limit int) ([]chat.PushJob, error) {
	return s.dir.ClaimPushes(ctx, now, lease, limit)
}

// FinishPush writes the directory's push queue.
func (s *Store) FinishPush(ctx context.Context, id int64) error {
	return s.dir.FinishPush(ctx, id)
}

// RetryPush writes the directory's push queue.
func (s *Store) RetryPush(ctx context.Context, id int64, dueAt int64) error {
	return s.dir.RetryPush(ctx, id, dueAt)
}

// PushQueueDepth reads the directory's push queue.
func (s *Store) PushQueueDepth(ctx context.Context) (int, error) {
	return s.dir.PushQueueDepth(ctx)
}
