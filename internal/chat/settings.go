package chat

import (
	"context"
	"strings"
)

// ProfileChange is a change of one's own profile; nil fields stay as they
// are.
type ProfileChange struct {
	DisplayName *string
	// AvatarID is the media id of an image the user uploaded; "" removes
	// the avatar.
	AvatarID *string
}

// UpdateProfile changes the caller's display name and avatar. Bad input
// (a display name breaking the label rules, an avatar that is not an image
// or not the caller's upload) changes nothing.
func (s *Service) UpdateProfile(ctx context.Context, sess Session, ch ProfileChange) (User, error) {
	as, err := s.accounts()
	if err != nil {
		return User{}, err
	}
	u, err := s.cfg.Store.UserByID(ctx, sess.UserID)
	if err != nil {
		return User{}, err
	}
	name, avatar := u.DisplayName, u.AvatarID
	if ch.DisplayName != nil {
		name = *ch.DisplayName
		if err := checkLabel("display_name", name, MaxDisplayName); err != nil {
			return User{}, err
		}
	}
	if ch.AvatarID != nil {
		avatar = *ch.AvatarID
		if avatar != "" {
			if err := s.checkAvatar(ctx, sess, avatar); err != nil {
				return User{}, err
			}
		}
	}
	if err := as.SetProfile(ctx, sess.UserID, name, avatar); err != nil {
		return User{}, err
	}
	u.DisplayName, u.AvatarID = name, avatar
	return u, nil
}

// checkAvatar accepts only an image that the caller uploaded.
func (s *Service) checkAvatar(ctx context.Context, sess Session, id string) error {
	if s.cfg.Media == nil {
		return Errorf(EBadRequest, "this server keeps no media, so no avatars")
	}
	m, err := s.cfg.Media(ctx, id)
	if ErrorCode(err) == ENotFound {
		return Errorf(EBadRequest, "avatar: no media %q", id)
	} else if err != nil {
		return err
	}
	if m.UploaderID != sess.UserID {
		return Errorf(EForbidden, "avatar: media %q is not your upload", id)
	}
	if !strings.HasPrefix(m.ContentType, "image/") {
		return Errorf(EBadRequest, "avatar: media %q is %s, not an image", id, m.ContentType)
	}
	return nil
}

// ChangePassword sets a new password after checking the current one, and
// ends every other session of the user on every node at once: the
// sessions leave the store and their connections are closed by a revoke
// broadcast. The caller's own session stays.
func (s *Service) ChangePassword(ctx context.Context, sess Session, current, next string) error {
	as, err := s.accounts()
	if err != nil {
		return err
	}
	if err := s.checkCurrentPassword(ctx, sess, current); err != nil {
		return err
	}
	if err := s.checkPassword(next); err != nil {
		return err
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	if err := as.SetPasswordHash(ctx, sess.UserID, hash); err != nil {
		return err
	}
	ids, err := as.DeleteUserSessions(ctx, sess.UserID, sess.ID)
	if err != nil {
		return err
	}
	s.revoke(ctx, ids)
	return nil
}

// checkCurrentPassword verifies the caller's password under the same brake
// as logins, so a stolen token cannot be used to guess it.
func (s *Service) checkCurrentPassword(ctx context.Context, sess Session, password string) error {
	now := s.cfg.Now()
	key := sess.Username + "|" + Peer(ctx)
	if !s.logins.allow(key, now) {
		return s.logins.refuse(key, now, "too many password attempts; wait a few seconds")
	}
	_, hash, err := s.cfg.Store.UserByName(ctx, sess.Username)
	if err != nil {
		s.logins.give(key)
		return err
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil {
		s.logins.give(key)
		return err
	}
	if !ok {
		return Errorf(EForbidden, "the current password is wrong")
	}
	s.logins.give(key)
	return nil
}

// revoke closes the connections of ended sessions on every node.
func (s *Service) revoke(ctx context.Context, sessionIDs []string) {
	for _, id := range sessionIDs {
		s.rt.Broadcast(ctx, &Event{Kind: EventRevoke, SessionID: id})
	}
}

// Sessions lists the caller's sessions, newest first.
func (s *Service) Sessions(ctx context.Context, sess Session) ([]Session, error) {
	as, err := s.accounts()
	if err != nil {
		return nil, err
	}
	return as.UserSessions(ctx, sess.UserID)
}

// RevokeSession ends one of the caller's sessions on every node. ENotFound
// if the caller has no session with that id.
func (s *Service) RevokeSession(ctx context.Context, sess Session, id string) error {
	ss, err := s.Sessions(ctx, sess)
	if err != nil {
		return err
	}
	for _, x := range ss {
		if x.ID == id {
			return s.Logout(ctx, x)
		}
	}
	return Errorf(ENotFound, "you have no session %q", id)
}
