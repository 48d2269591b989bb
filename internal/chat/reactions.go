package chat

import "context"

// React adds (on) or removes c's user's reaction emoji on message msgID.
// Any member may. An emoji is one grapheme of at most MaxEmojiBytes bytes;
// a message carries at most MaxReactions distinct emoji. Reacting twice, or
// removing a reaction that is not there, changes nothing.
func (s *Service) React(ctx context.Context, c ConnInfo, msgID, emoji string, on bool) (Message, error) {
	if err := s.checkEmoji(emoji); err != nil {
		return Message{}, err
	}
	m, err := s.changeable(ctx, c, msgID)
	if err != nil {
		return Message{}, err
	}
	return s.change(ctx, c, Change{Kind: ChangeReact, MessageID: m.ID, ConversationID: m.ConversationID, Emoji: emoji, On: on})
}

func (s *Service) checkEmoji(e string) error {
	if e == "" {
		return Errorf(EBadRequest, "emoji is required")
	}
	if len(e) > MaxEmojiBytes {
		return Errorf(ETooLarge, "emoji is %d bytes; the limit is %d", len(e), MaxEmojiBytes)
	}
	if err := checkText(ETooLarge, "emoji", e, MaxEmojiBytes); err != nil {
		return err
	}
	if s.cfg.IsGrapheme == nil || !s.cfg.IsGrapheme(e) {
		return Errorf(EBadRequest, "emoji must be one character")
	}
	return nil
}
