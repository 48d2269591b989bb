package chat

import "context"

// Roles in a group. Members send, react and leave; admins also add, remove
// and ban members, edit the group, pin and delete anyone's message; the
// owner (one per group) also sets roles, transfers ownership and deletes
// the group.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// rank orders roles; an unknown role ranks below member.
func rank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

func plural(role string) string {
	switch role {
	case RoleOwner:
		return "the owner"
	case RoleAdmin:
		return "admins"
	}
	return "members"
}

// mayModerate checks that a member of role actor may remove or ban a
// member of role target: never the owner, and an admin only by the owner.
func mayModerate(actor, target, what string) error {
	switch {
	case target == RoleOwner:
		return Errorf(EForbidden, "the owner cannot be %s", pastTense(what))
	case target == RoleAdmin && actor != RoleOwner:
		return Errorf(EForbidden, "only the owner may %s an admin", what)
	}
	return nil
}

func pastTense(what string) string {
	if what == "ban" {
		return "banned"
	}
	return what + "d"
}

// SetRole gives a member a role; the owner only. Giving RoleOwner transfers
// ownership: the old owner becomes an admin. The owner cannot step down
// any other way, since a group needs one.
func (s *Service) SetRole(ctx context.Context, sess Session, name, username, role string) (ConversationState, error) {
	if rank(role) == 0 {
		return ConversationState{}, Errorf(EBadRequest, "role must be member, admin or owner")
	}
	st, err := s.groupWithRole(ctx, sess, name, RoleOwner, "set roles")
	if err != nil {
		return ConversationState{}, err
	}
	target, err := s.memberNamed(ctx, st, username)
	if err != nil {
		return ConversationState{}, err
	}
	if target.UserID == sess.UserID {
		if role == RoleOwner {
			return st, nil
		}
		return ConversationState{}, Errorf(EBadRequest, "a group needs an owner: transfer ownership instead")
	}
	if target.Role == role {
		return st, nil
	}
	if err := s.cfg.Store.SetRole(ctx, st.ID, target.UserID, role); err != nil {
		return ConversationState{}, err
	}
	s.memberChanged(ctx, st.ID, &MemberEvent{UserID: target.UserID, Username: target.Username, Event: MemberRole, Role: role, By: sess.Username}, nil)
	if role == RoleOwner {
		s.memberChanged(ctx, st.ID, &MemberEvent{UserID: sess.UserID, Username: sess.Username, Event: MemberRole, Role: RoleAdmin, By: sess.Username}, nil)
	}
	return s.cfg.Store.ConversationState(ctx, st.ID, sess.UserID)
}
