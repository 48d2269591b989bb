package chat

import "context"

// Edit replaces the text of message msgID. Only its author may, and not
// once it is deleted. An edit to the text it already has changes nothing
// and takes no rev, so a retry is harmless.
func (s *Service) Edit(ctx context.Context, c ConnInfo, msgID, text string) (Message, error) {
	if err := checkText(ETooLarge, "text", text, s.cfg.MaxText); err != nil {
		return Message{}, err
	}
	m, err := s.changeable(ctx, c, msgID)
	if err != nil {
		return Message{}, err
	}
	if m.SenderID != c.UserID {
		return Message{}, Errorf(EForbidden, "only the author may edit a message")
	}
	if text == "" && m.Media == nil {
		return Message{}, Errorf(EBadRequest, "a message needs text or media")
	}
	return s.change(ctx, c, Change{Kind: ChangeEdit, MessageID: m.ID, ConversationID: m.ConversationID, Text: text})
}

// Delete removes message msgID's text, media, reactions and pin; its seq
// stays, marked deleted. Its author may, and in a group a moderator (see
// canModerate). The media's bytes go once no other message carries them.
// Deleting a deleted message changes nothing.
func (s *Service) Delete(ctx context.Context, c ConnInfo, msgID string) (Message, error) {
	m, err := s.changeable(ctx, c, msgID)
	if err != nil {
		return Message{}, err
	}
	if m.SenderID != c.UserID {
		mod, err := s.canModerate(ctx, m.ConversationID, c.UserID)
		if err != nil {
			return Message{}, err
		}
		if !mod {
			return Message{}, Errorf(EForbidden, "only the author or a group admin may delete a message")
		}
	}
	return s.deleteMessage(ctx, c, m)
}

// deleteMessage deletes m on behalf of c, whose right to has been checked,
// and frees the media's bytes once no other message carries them.
func (s *Service) deleteMessage(ctx context.Context, c ConnInfo, m Message) (Message, error) {
	res, err := s.changeResult(ctx, c, Change{Kind: ChangeDelete, MessageID: m.ID, ConversationID: m.ConversationID})
	if err != nil {
		return Message{}, err
	}
	if res.FreedMedia != "" && s.cfg.DeleteMedia != nil {
		if err := s.cfg.DeleteMedia(context.WithoutCancel(ctx), res.FreedMedia); err != nil {
			// The message is deleted and nothing links to the bytes any
			// more; they are only wasted space.
			s.log.Warn("delete media bytes", "media", res.FreedMedia, "err", err)
		}
	}
	return res.Message, nil
}

// canModerate reports whether userID may delete others' messages and pin
// in a group conversation: a group admin or owner. A direct conversation
// has no moderator.
func (s *Service) canModerate(ctx context.Context, convID, userID string) (bool, error) {
	st, err := s.cfg.Store.ConversationState(ctx, convID, userID)
	if err != nil {
		return false, err
	}
	return st.Kind == KindGroup && (st.Role == RoleAdmin || st.Role == RoleOwner), nil
}

// changeable returns message msgID if c's user may see it: a member of its
// conversation. To anyone else it does not exist.
func (s *Service) changeable(ctx context.Context, c ConnInfo, msgID string) (Message, error) {
	if msgID == "" {
		return Message{}, Errorf(EBadRequest, "message is required")
	}
	if err := s.allowSend(ctx, c.UserID); err != nil {
		return Message{}, err
	}
	m, err := s.cfg.Store.Message(ctx, msgID)
	if ErrorCode(err) == ENotFound {
		return Message{}, Errorf(ENotFound, "no message %q", msgID)
	} else if err != nil {
		return Message{}, err
	}
	if _, err := s.requireMember(ctx, m.ConversationID, c.UserID); ErrorCode(err) == EForbidden {
		return Message{}, Errorf(ENotFound, "no message %q", msgID)
	} else if err != nil {
		return Message{}, err
	}
	return m, nil
}

// change commits ch through the runtime and returns the message as it now is.
func (s *Service) change(ctx context.Context, c ConnInfo, ch Change) (Message, error) {
	res, err := s.changeResult(ctx, c, ch)
	return res.Message, err
}

func (s *Service) changeResult(ctx context.Context, c ConnInfo, ch Change) (ChangeResult, error) {
	ch.UserID = c.UserID
	ch.TS = s.now()
	start := s.cfg.Now()
	res, err := s.rt.Change(ctx, ch, c)
	s.observe("change", start)
	if err != nil {
		return ChangeResult{}, err
	}
	return res, nil
}
