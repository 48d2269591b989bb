package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Signup creates an account.
func (s *Service) Signup(ctx context.Context, username, password, displayName string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, err
	}
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return User{}, Errorf(EBadRequest, "password must be %d to %d bytes", MinPasswordLen, MaxPasswordLen)
	}
	if displayName == "" {
		displayName = name
	}
	if err := checkText(EBadRequest, "display_name", displayName, MaxDisplayName); err != nil {
		return User{}, err
	}
	hash, err := s.cfg.Hasher.Hash(password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: s.cfg.NewID(), Username: name, DisplayName: displayName, CreatedAt: s.now()}
	if err := s.cfg.Store.CreateUser(ctx, u, hash); err != nil {
		if ErrorCode(err) == EConflict {
			return User{}, Errorf(EConflict, "username %q is taken", name)
		}
		return User{}, err
	}
	return u, nil
}

// Login checks a password and opens a session. The returned token is shown
// once; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password string) (string, Session, User, error) {
	bad := Errorf(EUnauthorized, "wrong username or password")
	name, err := NormalizeName("username", username)
	if err != nil {
		return "", Session{}, User{}, bad
	}
	if !s.logins.ready(name, s.cfg.Now()) {
		return "", Session{}, User{}, Errorf(ERateLimited, "too many login attempts for %q; wait a few seconds", name)
	}
	u, hash, err := s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound {
		return "", Session{}, User{}, bad
	} else if err != nil {
		return "", Session{}, User{}, err
	}
	ok, err := s.cfg.Hasher.Verify(hash, password)
	if err != nil {
		return "", Session{}, User{}, err
	}
	if !ok {
		s.logins.allow(name, s.cfg.Now()) // only failures spend the budget
		return "", Session{}, User{}, bad
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, User{}, err
	}
	token := "sb_" + base64.RawURLEncoding.EncodeToString(raw)
	now := s.cfg.Now()
	sess := Session{
		ID:        s.cfg.NewID(),
		TokenHash: hashToken(token),
		UserID:    u.ID,
		Username:  u.Username,
		CreatedAt: now.UnixMilli(),
		ExpiresAt: now.Add(s.cfg.SessionTTL).UnixMilli(),
	}
	if err := s.cfg.Store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, User{}, err
	}
	return token, sess, u, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the live session of a bearer token. Any node can
// check any token: the session lives in the shared store.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, Errorf(EUnauthorized, "missing token")
	}
	start := s.cfg.Now()
	sess, err := s.cfg.Store.SessionByTokenHash(ctx, hashToken(token))
	s.observe("session", start)
	if ErrorCode(err) == ENotFound {
		return Session{}, Errorf(EUnauthorized, "invalid or revoked token")
	} else if err != nil {
		return Session{}, err
	}
	if sess.ExpiresAt <= s.now() {
		return Session{}, Errorf(EUnauthorized, "token expired")
	}
	return sess, nil
}

// User returns the account of a user id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	return s.cfg.Store.UserByID(ctx, id)
}

// Logout ends a session on every node and closes its connections.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	if err := s.cfg.Store.DeleteSession(ctx, sess.ID); err != nil {
		return err
	}
	s.rt.Broadcast(ctx, &Event{Kind: EventRevoke, SessionID: sess.ID})
	return nil
}

// userByName resolves a username through a cache of the immutable fields.
func (s *Service) userByName(ctx context.Context, username string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, Errorf(ENotFound, "no user %q", username)
	}
	if u, ok := s.users.Get(name); ok {
		return u, nil
	}
	u, _, err := s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound {
		return User{}, Errorf(ENotFound, "no user %q", name)
	} else if err != nil {
		return User{}, err
	}
	u.LastSeen = 0
	s.users.Put(name, u)
	return u, nil
}
