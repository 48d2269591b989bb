package chat

import "context"

// Conversations lists the caller's conversations.
func (s *Service) Conversations(ctx context.Context, sess Session) ([]ConversationState, error) {
	return s.cfg.Store.UserConversations(ctx, sess.UserID)
}

// History returns a page of a conversation's messages, ascending by seq.
func (s *Service) History(ctx context.Context, sess Session, convID string, q HistoryQuery) ([]Message, error) {
	if q.After < 0 || q.Before < 0 || q.Limit < 0 {
		return nil, Errorf(EBadRequest, "before, after and limit must not be negative")
	}
	if q.After > 0 && q.Before > 0 {
		return nil, Errorf(EBadRequest, "give before or after, not both")
	}
	if q.Limit == 0 {
		q.Limit = DefaultHistoryPage
	}
	if q.Limit > MaxHistoryLimit {
		return nil, Errorf(EBadRequest, "limit is at most %d", MaxHistoryLimit)
	}
	st, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID)
	if err != nil {
		return nil, s.hidePrivate(ctx, convID, err)
	}
	floor := st.Floor()
	if q.After > 0 && q.After < floor {
		q.After = floor
	}
	ms, err := s.cfg.Store.Messages(ctx, convID, q)
	if err != nil {
		return nil, err
	}
	// since_join: what came before the member joined is not theirs to read.
	for len(ms) > 0 && ms[0].Seq <= floor {
		ms = ms[1:]
	}
	return ms, nil
}

// requireMember returns the members of convID if userID is one of them,
// else ENotFound or EForbidden.
func (s *Service) requireMember(ctx context.Context, convID, userID string) (*MemberSet, error) {
	if convID == "" {
		return nil, Errorf(EBadRequest, "conversation is required")
	}
	ms, err := s.rt.Members(ctx, convID)
	if err != nil {
		return nil, err
	}
	if ms.Has(userID) {
		return ms, nil
	}
	if ms.Len() == 0 {
		if _, err := s.cfg.Store.Conversation(ctx, convID); ErrorCode(err) == ENotFound {
			return nil, Errorf(ENotFound, "no conversation %q", convID)
		} else if err != nil {
			return nil, err
		}
	}
	return nil, s.hidePrivate(ctx, convID, Errorf(EForbidden, "you are not a member of conversation %q", convID))
}

// direct returns the direct conversation between userID and the named peer,
// creating it on first use.
func (s *Service) direct(ctx context.Context, userID, peerName string) (Conversation, error) {
	peer, err := s.userByName(ctx, peerName)
	if err != nil {
		return Conversation{}, err
	}
	a, b := userID, peer.ID
	if b < a {
		a, b = b, a
	}
	key := a + "|" + b
	if c, ok := s.directs.Get(key); ok {
		return c, nil
	}
	// The name cache holds immutable fields only: ask the store whether the
	// peer deleted the account before a conversation makes it a member.
	if u, err := s.cfg.Store.UserByID(ctx, peer.ID); err != nil {
		return Conversation{}, err
	} else if u.Deleted {
		return Conversation{}, Errorf(ENotFound, "user %q deleted the account", peer.Username)
	}
	c, err := s.cfg.Store.DirectConversation(ctx, s.cfg.NewID(), a, b, s.now())
	if err != nil {
		return Conversation{}, err
	}
	s.directs.Put(key, c)
	return c, nil
}
