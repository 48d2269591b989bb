package chat

import (
	"context"
	"slices"
)

// Notification levels of a member in a conversation.
const (
	LevelAll      = "all"      // every message is pushed (the default)
	LevelMentions = "mentions" // only messages that mention the member
	LevelNone     = "none"     // nothing is pushed
)

// NotificationSetting is how one member wants a conversation's pushes.
type NotificationSetting struct {
	Level      string
	MutedUntil int64 // Unix ms; no pushes before it
}

// NotificationStore keeps members' notification settings. Both stores
// implement it; the Service finds it on its Store.
type NotificationStore interface {
	// SetNotification stores userID's setting for convID.
	SetNotification(ctx context.Context, convID, userID string, s NotificationSetting) error
	// Notifications returns the settings of those of userIDs that have
	// one in convID; the others are at the default (all, not muted).
	Notifications(ctx context.Context, convID string, userIDs []string) (map[string]NotificationSetting, error)
}

func (s *Service) notificationStore() (NotificationStore, error) {
	ns, ok := s.cfg.Store.(NotificationStore)
	if !ok {
		return nil, Errorf(EUnavailable, "this store does not keep notification settings")
	}
	return ns, nil
}

// SetNotification sets sess's user's notification level in a conversation
// it is a member of; mutedUntil (Unix ms, 0 for none) stops its pushes
// until then whatever the level.
func (s *Service) SetNotification(ctx context.Context, sess Session, convID string, ns NotificationSetting) (NotificationSetting, error) {
	store, err := s.notificationStore()
	if err != nil {
		return NotificationSetting{}, err
	}
	switch ns.Level {
	case LevelAll, LevelMentions, LevelNone:
	default:
		return NotificationSetting{}, Errorf(EBadRequest, "level must be all, mentions or none")
	}
	if ns.MutedUntil < 0 {
		return NotificationSetting{}, Errorf(EBadRequest, "muted_until must be a Unix time in milliseconds, or 0")
	}
	if _, err := s.requireMember(ctx, convID, sess.UserID); err != nil {
		return NotificationSetting{}, err
	}
	return ns, store.SetNotification(ctx, convID, sess.UserID, ns)
}

// Notification returns sess's user's setting in a conversation.
func (s *Service) Notification(ctx context.Context, sess Session, convID string) (NotificationSetting, error) {
	store, err := s.notificationStore()
	if err != nil {
		return NotificationSetting{}, err
	}
	if _, err := s.requireMember(ctx, convID, sess.UserID); err != nil {
		return NotificationSetting{}, err
	}
	got, err := store.Notifications(ctx, convID, []string{sess.UserID})
	if err != nil {
		return NotificationSetting{}, err
	}
	if ns, ok := got[sess.UserID]; ok {
		return ns, nil
	}
	return NotificationSetting{Level: LevelAll}, nil
}

// wantsPush filters the members to push for m by their settings at now.
func (s *Service) wantsPush(ctx context.Context, m Message, members []Member, now int64) ([]string, error) {
	ids := make([]string, len(members))
	for i, mb := range members {
		ids[i] = mb.UserID
	}
	store, ok := s.cfg.Store.(NotificationStore)
	if !ok {
		return ids, nil
	}
	settings, err := store.Notifications(ctx, m.ConversationID, ids)
	if err != nil {
		return nil, err
	}
	// No push from someone the member blocks: one lookup of the sender's
	// blockers, whatever the number of members.
	blockers, err := s.cfg.Store.Blockers(ctx, m.SenderID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, mb := range members {
		if slices.Contains(blockers, mb.UserID) {
			continue
		}
		ns, ok := settings[mb.UserID]
		switch {
		case !ok:
		case ns.MutedUntil > now, ns.Level == LevelNone:
			continue
		case ns.Level == LevelMentions && !slices.Contains(m.Mentions, mb.Username):
			continue
		}
		out = append(out, mb.UserID)
	}
	return out, nil
}
