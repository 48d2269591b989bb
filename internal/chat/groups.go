package chat

import (
	"context"
	"strings"
)

// Group visibilities and history modes (DESIGN.md section 6).
const (
	VisibilityPublic  = "public"     // anyone may join by name
	VisibilityPrivate = "private"    // only an admin can add you; a 404 to everyone else
	HistoryAll        = "all"        // a joiner reads from seq 1
	HistorySinceJoin  = "since_join" // a joiner reads from the seq at which it joined
)

// Group limits.
const (
	MaxGroupDescription = 1024
	MaxGroupSearch      = 64 // bytes of a directory query
	DefaultGroupResults = 20
	MaxGroupResults     = 100
)

// Private reports whether c is a private group.
func (c Conversation) Private() bool { return c.Kind == KindGroup && c.Visibility == VisibilityPrivate }

// SinceJoin reports whether c's members read only from when they joined.
func (c Conversation) SinceJoin() bool { return c.Kind == KindGroup && c.History == HistorySinceJoin }

// Floor is the seq at and below which the member may not read: its join
// position in a since_join group, else 0.
func (c ConversationState) Floor() int64 {
	if c.SinceJoin() {
		return c.JoinedSeq
	}
	return 0
}

// GroupSettings are the settings a group is created with or an edit
// changes; nil fields are left as they are.
type GroupSettings struct {
	Title       *string
	Description *string
	Visibility  *string
	History     *string
}

// apply checks s and sets its fields on c.
func (gs GroupSettings) apply(c *Conversation) error {
	if gs.Title != nil {
		if *gs.Title == "" {
			return Errorf(EBadRequest, "title must not be empty")
		}
		if err := checkLabel("title", *gs.Title, MaxGroupTitle); err != nil {
			return err
		}
		c.Title = *gs.Title
	}
	if gs.Description != nil {
		if err := checkText(EBadRequest, "description", *gs.Description, MaxGroupDescription); err != nil {
			return err
		}
		c.Description = *gs.Description
	}
	if gs.Visibility != nil {
		switch *gs.Visibility {
		case VisibilityPublic, VisibilityPrivate:
			c.Visibility = *gs.Visibility
		default:
			return Errorf(EBadRequest, "visibility must be public or private")
		}
	}
	if gs.History != nil {
		switch *gs.History {
		case HistoryAll, HistorySinceJoin:
			c.History = *gs.History
		default:
			return Errorf(EBadRequest, "history must be all or since_join")
		}
	}
	return nil
}

// CreateGroup creates a group with the caller as its owner. The title
// defaults to the name; visibility to public, history to all.
func (s *Service) CreateGroup(ctx context.Context, sess Session, name string, gs GroupSettings) (ConversationState, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return ConversationState{}, err
	}
	c := Conversation{ID: s.cfg.NewID(), Kind: KindGroup, Name: n, Title: n, CreatedAt: s.now(),
		Visibility: VisibilityPublic, History: HistoryAll}
	if gs.Title != nil && *gs.Title == "" {
		gs.Title = nil
	}
	if err := gs.apply(&c); err != nil {
		return ConversationState{}, err
	}
	if err := s.cfg.Store.CreateGroup(ctx, c, sess.UserID); err != nil {
		if ErrorCode(err) == EConflict {
			return ConversationState{}, Errorf(EConflict, "group %q exists", n)
		}
		return ConversationState{}, err
	}
	return ConversationState{Conversation: c, Role: RoleOwner, MemberCount: 1}, nil
}

// groupAs is a group as the caller sees it: the group, and the caller's
// membership (member false when it is none). A private group the caller is
// not in does not exist: ENotFound, word for word as for an unknown name.
func (s *Service) groupAs(ctx context.Context, sess Session, name string) (ConversationState, bool, error) {
	n, err := NormalizeName("group name", name)
	if err != nil {
		return ConversationState{}, false, err
	}
	c, err := s.cfg.Store.GroupByName(ctx, n)
	if ErrorCode(err) == ENotFound {
		return ConversationState{}, false, Errorf(ENotFound, "no group %q", n)
	} else if err != nil {
		return ConversationState{}, false, err
	}
	st, err := s.cfg.Store.ConversationState(ctx, c.ID, sess.UserID)
	switch ErrorCode(err) {
	case "":
		return st, true, nil
	case EForbidden:
		if c.Private() {
			return ConversationState{}, false, Errorf(ENotFound, "no group %q", n)
		}
		return ConversationState{Conversation: c}, false, nil
	case ENotFound:
		return ConversationState{}, false, Errorf(ENotFound, "no group %q", n)
	}
	return ConversationState{}, false, err
}

// groupWithRole returns the group if the caller is a member with at least
// role: a non-member gets ENotFound (private) or EForbidden (public).
func (s *Service) groupWithRole(ctx context.Context, sess Session, name, role, what string) (ConversationState, error) {
	st, member, err := s.groupAs(ctx, sess, name)
	if err != nil {
		return ConversationState{}, err
	}
	if !member {
		return ConversationState{}, Errorf(EForbidden, "you are not a member of %q", st.Name)
	}
	if rank(st.Role) < rank(role) {
		return ConversationState{}, Errorf(EForbidden, "only %s may %s", plural(role), what)
	}
	return st, nil
}

// JoinGroup makes the caller a member of the named public group. Joining a
// group one is in already is not an error.
func (s *Service) JoinGroup(ctx context.Context, sess Session, name string) (ConversationState, error) {
	st, member, err := s.groupAs(ctx, sess, name)
	if err != nil || member {
		return st, err
	}
	added, err := s.cfg.Store.AddMember(ctx, st.ID, sess.UserID, s.now())
	if ErrorCode(err) == EForbidden {
		return ConversationState{}, Errorf(EForbidden, "you are banned from %q", st.Name)
	} else if err != nil {
		return ConversationState{}, err
	}
	if added {
		s.memberChanged(ctx, st.ID, &MemberEvent{UserID: sess.UserID, Username: sess.Username, Event: MemberJoined}, nil)
	}
	return s.cfg.Store.ConversationState(ctx, st.ID, sess.UserID)
}

// AddToGroup adds the named user to a group; admins only. Adding a member
// is not an error. A banned user must be unbanned first; a user who blocks
// the caller cannot be added by it.
func (s *Service) AddToGroup(ctx context.Context, sess Session, name, username string) (ConversationState, error) {
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "add members")
	if err != nil {
		return ConversationState{}, err
	}
	u, err := s.userByName(ctx, username)
	if err != nil {
		return ConversationState{}, err
	}
	if blocked, err := s.blocks(ctx, u.ID, sess.UserID); err != nil {
		return ConversationState{}, err
	} else if blocked {
		return ConversationState{}, Errorf(EForbidden, "%s does not accept invitations from you", u.Username)
	}
	added, err := s.cfg.Store.AddMember(ctx, st.ID, u.ID, s.now())
	if ErrorCode(err) == EForbidden {
		return ConversationState{}, Errorf(EForbidden, "%s is banned from %q; unban first", u.Username, st.Name)
	} else if err != nil {
		return ConversationState{}, err
	}
	if added {
		s.memberChanged(ctx, st.ID, &MemberEvent{UserID: u.ID, Username: u.Username, Event: MemberAdded, By: sess.Username}, nil)
	}
	return s.cfg.Store.ConversationState(ctx, st.ID, sess.UserID)
}

// LeaveGroup removes the caller from the named group. The owner cannot
// leave: it transfers ownership or deletes the group.
func (s *Service) LeaveGroup(ctx context.Context, sess Session, name string) error {
	st, member, err := s.groupAs(ctx, sess, name)
	if err != nil {
		return err
	}
	if !member {
		return Errorf(ENotFound, "you are not a member of %q", st.Name)
	}
	if st.Role == RoleOwner {
		return Errorf(EConflict, "the owner cannot leave %q: transfer ownership or delete the group", st.Name)
	}
	removed, err := s.cfg.Store.RemoveMember(ctx, st.ID, sess.UserID)
	if err != nil {
		return err
	}
	if !removed {
		return Errorf(ENotFound, "you are not a member of %q", st.Name)
	}
	s.memberChanged(ctx, st.ID, &MemberEvent{UserID: sess.UserID, Username: sess.Username, Event: MemberLeft}, []string{sess.UserID})
	return nil
}

// RemoveFromGroup removes the named member; admins only, and only the
// owner removes an admin. The owner cannot be removed. Naming oneself is
// leaving.
func (s *Service) RemoveFromGroup(ctx context.Context, sess Session, name, username string) error {
	if strings.EqualFold(username, sess.Username) || username == "me" {
		return s.LeaveGroup(ctx, sess, name)
	}
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "remove members")
	if err != nil {
		return err
	}
	target, err := s.memberNamed(ctx, st, username)
	if err != nil {
		return err
	}
	if err := mayModerate(st.Role, target.Role, "remove"); err != nil {
		return err
	}
	removed, err := s.cfg.Store.RemoveMember(ctx, st.ID, target.UserID)
	if err != nil {
		return err
	}
	if removed {
		s.memberChanged(ctx, st.ID, &MemberEvent{UserID: target.UserID, Username: target.Username, Event: MemberRemoved, By: sess.Username}, []string{target.UserID})
	}
	return nil
}

// memberNamed returns the named member of st. ENotFound for an unknown user
// or one who is not a member.
func (s *Service) memberNamed(ctx context.Context, st ConversationState, username string) (Member, error) {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return Member{}, err
	}
	ms, err := s.cfg.Store.Members(ctx, st.ID)
	if err != nil {
		return Member{}, err
	}
	for _, m := range ms {
		if m.UserID == u.ID {
			return m, nil
		}
	}
	return Member{}, Errorf(ENotFound, "%s is not a member of %q", u.Username, st.Name)
}

// EditGroup changes a group's settings; admins only.
func (s *Service) EditGroup(ctx context.Context, sess Session, name string, gs GroupSettings) (ConversationState, error) {
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "edit the group")
	if err != nil {
		return ConversationState{}, err
	}
	c := st.Conversation
	if err := gs.apply(&c); err != nil {
		return ConversationState{}, err
	}
	if c == st.Conversation {
		return st, nil
	}
	if err := s.cfg.Store.UpdateGroup(ctx, c); err != nil {
		return ConversationState{}, err
	}
	return s.cfg.Store.ConversationState(ctx, st.ID, sess.UserID)
}

// DeleteGroup deletes a group and its history; the owner only. The members
// are told with a member event "deleted".
func (s *Service) DeleteGroup(ctx context.Context, sess Session, name string) error {
	st, err := s.groupWithRole(ctx, sess, name, RoleOwner, "delete the group")
	if err != nil {
		return err
	}
	_, err = s.removeGroup(ctx, sess, st.ID)
	return err
}

// removeGroup deletes group convID and tells its members (and every node,
// which drops its cached members); it returns how many members it had.
func (s *Service) removeGroup(ctx context.Context, by Session, convID string) (int, error) {
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		return 0, err
	}
	if err := s.cfg.Store.DeleteGroup(ctx, convID); err != nil {
		return 0, err
	}
	ev := &Event{Kind: EventMember, Recipients: memberIDs(ms), Member: &MemberEvent{
		ConversationID: convID, UserID: by.UserID, Username: by.Username, Event: MemberDeleted, By: by.Username,
	}}
	s.rt.Broadcast(ctx, ev)
	return len(ms), nil
}

// SearchGroups returns public groups whose name or title contains q, most
// members first; limit 0 takes the default.
func (s *Service) SearchGroups(ctx context.Context, q string, limit int) ([]ConversationState, error) {
	if err := checkText(EBadRequest, "q", q, MaxGroupSearch); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxGroupResults {
		return nil, Errorf(EBadRequest, "limit is 1 to %d", MaxGroupResults)
	}
	if limit == 0 {
		limit = DefaultGroupResults
	}
	return s.cfg.Store.SearchGroups(ctx, strings.TrimSpace(q), limit)
}

// memberChanged tells the members (and extra, such as the one who left)
// about a change of membership; every node drops its cached members.
func (s *Service) memberChanged(ctx context.Context, convID string, m *MemberEvent, extra []string) {
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		s.log.Warn("members after change", "conv", convID, "err", err)
		return
	}
	m.ConversationID = convID
	m.Members = len(ms)
	ev := &Event{Kind: EventMember, Member: m}
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
	st, member, err := s.groupAs(ctx, sess, name)
	if err != nil {
		return nil, err
	}
	if !member {
		return nil, Errorf(EForbidden, "you are not a member of %q", st.Name)
	}
	return s.ConversationMembers(ctx, sess, st.ID)
}

// ConversationMembers lists the members of a conversation of any kind, with
// their positions and online state; only members may ask. A member who
// blocks the caller shows as offline.
func (s *Service) ConversationMembers(ctx context.Context, sess Session, convID string) ([]MemberState, error) {
	st, err := s.cfg.Store.ConversationState(ctx, convID, sess.UserID)
	if err != nil {
		return nil, s.hidePrivate(ctx, convID, err)
	}
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		return nil, err
	}
	online, err := s.cfg.Presence.Online(ctx, memberIDs(ms))
	if err != nil {
		return nil, err
	}
	hidden, err := s.hiddenFrom(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]MemberState, len(ms))
	for i, m := range ms {
		_, hide := hidden[m.UserID]
		out[i] = MemberState{Member: m, Online: online[m.UserID] && !hide}
		if st.Kind != KindGroup {
			out[i].Role = "" // roles are a group's
		}
	}
	return out, nil
}

// hidePrivate turns err, a caller's EForbidden on convID, into ENotFound
// when convID is a private group: to a non-member it does not exist.
func (s *Service) hidePrivate(ctx context.Context, convID string, err error) error {
	if ErrorCode(err) != EForbidden {
		return err
	}
	c, cerr := s.cfg.Store.Conversation(ctx, convID)
	if cerr != nil {
		return cerr
	}
	if c.Private() {
		return Errorf(ENotFound, "no conversation %q", convID)
	}
	return err
}
