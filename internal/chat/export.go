package chat

import "context"

// MaxExportPage is the most messages one ExportMessages call returns.
const MaxExportPage = 1000

// Export is what an account export holds besides the messages: the
// account, the conversations it is in (ids, kinds, names; the peer's
// username for a direct one) and its uploads. Nothing of other users'
// messages is in it.
type Export struct {
	User          User
	Conversations []ConversationState
	Media         []Media
}

// ExportAccount returns the caller's account, conversations and uploads.
func (s *Service) ExportAccount(ctx context.Context, sess Session) (Export, error) {
	as, err := s.accounts()
	if err != nil {
		return Export{}, err
	}
	u, err := s.cfg.Store.UserByID(ctx, sess.UserID)
	if err != nil {
		return Export{}, err
	}
	cs, err := s.cfg.Store.UserConversations(ctx, sess.UserID)
	if err != nil {
		return Export{}, err
	}
	ms, err := as.UserMedia(ctx, sess.UserID)
	if err != nil {
		return Export{}, err
	}
	return Export{User: u, Conversations: cs, Media: ms}, nil
}

// SentCursor is where a page of a user's sent messages starts: after the
// message seq of conversation ConversationID. The zero value is the start.
//
// The pages go by conversation, then seq, not by message id: a store finds
// a user's messages through the conversations the user sent into (a row
// written once per sender and conversation) instead of an index on
// (sender, id), which every message would cost an insert.
type SentCursor struct {
	ConversationID string
	Seq            int64
}

// ExportMessages pages through the messages the caller sent, by
// conversation and then oldest first: at most MaxExportPage from after.
func (s *Service) ExportMessages(ctx context.Context, sess Session, after SentCursor) ([]Message, error) {
	as, err := s.accounts()
	if err != nil {
		return nil, err
	}
	return as.SentMessages(ctx, sess.UserID, after, MaxExportPage)
}
