package chat

import (
	"context"
	"strings"
)

// BanFromGroup removes the named user from a group, if a member, and keeps
// it out until unbanned; admins only, and only the owner bans an admin.
// Nobody bans the owner or themselves.
func (s *Service) BanFromGroup(ctx context.Context, sess Session, name, username string) error {
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "ban")
	if err != nil {
		return err
	}
	if strings.EqualFold(username, sess.Username) {
		return Errorf(EBadRequest, "you cannot ban yourself")
	}
	u, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	if target, err := s.memberNamed(ctx, st, u.Username); err == nil {
		if err := mayModerate(st.Role, target.Role, "ban"); err != nil {
			return err
		}
	} else if ErrorCode(err) != ENotFound {
		return err
	}
	wasMember, err := s.cfg.Store.Ban(ctx, st.ID, u.ID, s.now())
	if err != nil {
		return err
	}
	if wasMember {
		s.memberChanged(ctx, st.ID, &MemberEvent{UserID: u.ID, Username: u.Username, Event: MemberBanned, By: sess.Username}, []string{u.ID})
	}
	return nil
}

// UnbanFromGroup lifts a ban; admins only. ENotFound if there was none.
func (s *Service) UnbanFromGroup(ctx context.Context, sess Session, name, username string) error {
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "unban")
	if err != nil {
		return err
	}
	u, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	lifted, err := s.cfg.Store.Unban(ctx, st.ID, u.ID)
	if err != nil {
		return err
	}
	if !lifted {
		return Errorf(ENotFound, "%s is not banned from %q", u.Username, st.Name)
	}
	return nil
}

// GroupBans lists a group's banned users; admins only.
func (s *Service) GroupBans(ctx context.Context, sess Session, name string) ([]Ban, error) {
	st, err := s.groupWithRole(ctx, sess, name, RoleAdmin, "see bans")
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Bans(ctx, st.ID)
}
