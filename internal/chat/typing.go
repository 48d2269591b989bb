package chat

import "context"

// Typing tells the other members' online devices that the caller types.
func (s *Service) Typing(ctx context.Context, c ConnInfo, convID string) error {
	ms, err := s.requireMember(ctx, convID, c.UserID)
	if err != nil {
		return err
	}
	s.rt.Publish(ctx, &Event{Kind: EventTyping, ExceptConn: c.ConnID, Typing: &TypingEvent{ConversationID: convID, UserID: c.UserID, Username: c.Username}}, ms, ms.Except(c.UserID))
	return nil
}
