package chat

import (
	"context"
	"strings"
)

// Search returns the messages the caller may read that match q.Text,
// newest first: in every conversation it is a member of, or in
// q.Conversation. Deleted messages never match.
func (s *Service) Search(ctx context.Context, sess Session, q SearchQuery) ([]Message, error) {
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return nil, Errorf(EBadRequest, "q is required")
	}
	if err := checkText(ETooLarge, "q", q.Text, MaxSearchText); err != nil {
		return nil, err
	}
	if q.Limit < 0 {
		return nil, Errorf(EBadRequest, "limit must not be negative")
	}
	if q.Limit == 0 {
		q.Limit = DefaultHistoryPage
	}
	if q.Limit > MaxSearchLimit {
		return nil, Errorf(EBadRequest, "limit is at most %d", MaxSearchLimit)
	}
	if q.Conversation != "" {
		if _, err := s.cfg.Store.ConversationState(ctx, q.Conversation, sess.UserID); err != nil {
			return nil, err
		}
	}
	return s.cfg.Store.Search(ctx, sess.UserID, q)
}
