package chat

import "context"

// DeleteAccount deletes the caller's account after checking its password.
// Its messages stay and show as from a deleted user (display name
// DeletedDisplayName, deleted true); its username stays reserved, so no one
// can later appear as the author of its messages; its sessions end and
// connections close on every node; it leaves every conversation.
func (s *Service) DeleteAccount(ctx context.Context, sess Session, password string) error {
	as, err := s.accounts()
	if err != nil {
		return err
	}
	if err := s.checkCurrentPassword(ctx, sess, password); err != nil {
		return err
	}
	convs, err := s.cfg.Store.UserConversations(ctx, sess.UserID)
	if err != nil {
		return err
	}
	for _, c := range convs {
		if c.Kind == KindGroup && c.Role == RoleOwner {
			if err := s.handOver(ctx, sess, c.ID); err != nil {
				return err
			}
		}
	}
	ids, err := as.DeleteUser(ctx, sess.UserID, s.now())
	if err != nil {
		return err
	}
	s.revoke(ctx, ids)
	for _, c := range convs {
		// Every node drops its cached member list; the members see one leave.
		s.memberChanged(ctx, c.ID, &MemberEvent{UserID: sess.UserID, Username: sess.Username, Event: MemberLeft}, []string{sess.UserID})
	}
	return nil
}

// handOver gives a group that a departing owner owns to its first admin by
// username, else its first other member; a group with no one else in it is
// deleted. A group is never left without an owner.
func (s *Service) handOver(ctx context.Context, sess Session, convID string) error {
	ms, err := s.cfg.Store.Members(ctx, convID)
	if err != nil {
		return err
	}
	var next *Member
	for i := range ms {
		m := &ms[i]
		if m.UserID == sess.UserID {
			continue
		}
		if next == nil || (m.Role == RoleAdmin && next.Role != RoleAdmin) {
			next = m
		}
	}
	if next == nil {
		_, err := s.removeGroup(ctx, sess, convID)
		return err
	}
	if err := s.cfg.Store.SetRole(ctx, convID, next.UserID, RoleOwner); err != nil {
		return err
	}
	s.memberChanged(ctx, convID, &MemberEvent{UserID: next.UserID, Username: next.Username, Event: MemberRole, Role: RoleOwner, By: sess.Username}, nil)
	return nil
}
