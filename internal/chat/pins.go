package chat

import "context"

// Pin pins (on) or unpins message msgID: either party in a direct
// conversation, a moderator in a group (see canModerate). Pinning a pinned
// message changes nothing.
func (s *Service) Pin(ctx context.Context, c ConnInfo, msgID string, on bool) (Message, error) {
	m, err := s.changeable(ctx, c, msgID)
	if err != nil {
		return Message{}, err
	}
	conv, err := s.cfg.Store.Conversation(ctx, m.ConversationID)
	if err != nil {
		return Message{}, err
	}
	if conv.Kind == KindGroup {
		mod, err := s.canModerate(ctx, conv.ID, c.UserID)
		if err != nil {
			return Message{}, err
		}
		if !mod {
			return Message{}, Errorf(EForbidden, "only a group admin may pin")
		}
	}
	return s.change(ctx, c, Change{Kind: ChangePin, MessageID: m.ID, ConversationID: m.ConversationID, On: on})
}

// Pins lists a conversation's pinned messages, in seq order, to a member.
func (s *Service) Pins(ctx context.Context, sess Session, convID string) ([]Message, error) {
	if _, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID); err != nil {
		return nil, err
	}
	return s.cfg.Store.Pins(ctx, convID)
}
