package chat

import "context"

// CreateGroup creates a group with the caller as its first member.
func (s *Service) CreateGroup(ctx context.Context, sess Session, name, title string) (ConversationState, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return ConversationState{}, err
	}
	if title == "" {
		title = n
	}
	if err := checkLabel("title", title, MaxGroupTitle); err != nil {
		return ConversationState{}, err
	}
	c := Conversation{ID: s.cfg.NewID(), Kind: KindGroup, Name: n, Title: title, CreatedAt: s.now()}
	if err := s.cfg.Store.CreateGroup(ctx, c, sess.UserID); err != nil {
		if ErrorCode(err) == EConflict {
			return ConversationState{}, Errorf(EConflict, "group %q exists", n)
		}
		return ConversationState{}, err
	}
	return ConversationState{Conversation: c}, nil
}

func (s *Service) groupByName(ctx context.Context, name string) (Conversation, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return Conversation{}, err
	}
	c, err := s.cfg.Store.GroupByName(ctx, n)
	if ErrorCode(err) == ENotFound {
		return Conversation{}, Errorf(ENotFound, "no group %q", n)
	}
	return c, err
}

// JoinGroup makes the caller a member of the named group. Joining a group
// one is in already is not an error.
func (s *Service) JoinGroup(ctx context.Context, sess Session, name string) (ConversationState, error) {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return ConversationState{}, err
	}
	added, err := s.cfg.Store.AddMember(ctx, c.ID, sess.UserID, s.now())
	if err != nil {
		return ConversationState{}, err
	}
	if added {
		s.memberChanged(ctx, c.ID, sess, MemberJoined, nil)
	}
	return s.cfg.Store.ConversationState(ctx, c.ID, sess.UserID)
}

// LeaveGroup removes the caller from the named group.
func (s *Service) LeaveGroup(ctx context.Context, sess Session, name string) error {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return err
	}
	removed, err := s.cfg.Store.RemoveMember(ctx, c.ID, sess.UserID)
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(ENotFound, "you are not a member of %q", c.Name)
	}
	s.memberChanged(ctx, c.ID, sess, MemberLeft, []string{sess.UserID})
	return nil
}

// memberChanged tells the members (and extra, such as the one who left)
// about a change of membership; every node drops its cached members.
func (s *Service) memberChanged(ctx context.Context, convID string, sess Session, event string, extra []string) {
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		s.log.Warn("members after change", "conv", convID, "err", err)
		return
	}
	ev := &Event{Kind: EventMember, Member: &MemberEvent{ConversationID: convID, UserID: sess.UserID, Username: sess.Username, Event: event, Members: len(ms)}}
	ev.Recipients = append(memberIDs(ms), extra...)
	// Broadcast, not route: every node must drop its cached member list.
	s.rt.Broadcast(ctx, ev)
}

// MemberState is a member as other members see it: online state and the
// delivered and read positions that drive message ticks.
type MemberState struct {
	Member
	Online bool
}

// GroupMembers lists a group's members; only members may ask.
func (s *Service) GroupMembers(ctx context.Context, sess Session, name string) ([]MemberState, error) {
	c, err := s.groupByName(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.ConversationMembers(ctx, sess, c.ID)
}

// ConversationMembers lists the members of a conversation of any kind, with
// their positions and online state; only members may ask.
func (s *Service) ConversationMembers(ctx context.Context, sess Session, convID string) ([]MemberState, error) {
	if _, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID); err != nil {
		return nil, err
	}
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		return nil, err
	}
	online, err := s.cfg.Presence.Online(ctx, memberIDs(ms))
	if err != nil {
		return nil, err
	}
	out := make([]MemberState, len(ms))
	for i, m := range ms {
		out[i] = MemberState{Member: m, Online: online[m.UserID]}
	}
	return out, nil
}
