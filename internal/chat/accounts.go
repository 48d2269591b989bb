package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Signup creates an account.
func (s *Service) Signup(ctx context.Context, username, password, displayName string) (User, error) {
	name, err := NormalizeName("username", username)
	if err != nil {
		return User{}, err
	}
	if err := s.checkPassword(password); err != nil {
		return User{}, err
	}
	if displayName == "" {
		displayName = name
	}
	if err := checkLabel("display_name", displayName, MaxDisplayName); err != nil {
		return User{}, err
	}
	now := s.cfg.Now()
	if peer := Peer(ctx); !s.signups.allow(peer, now) {
		return User{}, s.signups.refuse(peer, now, "too many new accounts from your address; wait a while")
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	u := User{ID: s.cfg.NewID(), Username: name, DisplayName: displayName, CreatedAt: now.UnixMilli()}
	if err := s.cfg.Store.CreateUser(ctx, u, hash); err != nil {
		if ErrorCode(err) == EConflict {
			return User{}, Errorf(EConflict, "username %q is taken", name)
		}
		return User{}, err
	}
	return u, nil
}

// checkPassword enforces the password rules: 8 to 256 bytes, not all
// spaces, not on the common-password list.
func (s *Service) checkPassword(password string) error {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return Errorf(EBadRequest, "password must be %d to %d bytes", MinPasswordLen, MaxPasswordLen)
	}
	if strings.TrimSpace(password) == "" {
		return Errorf(EBadRequest, "password must not be only spaces")
	}
	if s.cfg.CommonPassword != nil && s.cfg.CommonPassword(password) {
		return Errorf(EBadRequest, "that password is among the most common ones; choose another")
	}
	return nil
}

// Login checks a password and opens a session. The returned token is shown
// once; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password string) (string, Session, User, error) {
	bad := Errorf(EUnauthorized, "wrong username or password")
	name, err := NormalizeName("username", username)
	if err != nil {
		return "", Session{}, User{}, bad
	}
	now := s.cfg.Now()
	peer := Peer(ctx)
	key := name + "|" + peer
	// Spend before checking, per username and address: a guess that is
	// still being checked counts, so parallel guesses cannot slip through.
	// The address's budget over all usernames is spent by failures only:
	// many people behind one address log in at once.
	if !s.logins.allow(key, now) {
		return "", Session{}, User{}, s.logins.refuse(key, now, "too many login attempts for %q; wait a few seconds", name)
	}
	if !s.loginAddrs.ready(peer, now) {
		s.logins.give(key)
		return "", Session{}, User{}, s.loginAddrs.refuse(peer, now, "too many failed logins from your address; wait a few seconds")
	}
	failed := func() { s.loginAddrs.allow(peer, now) }
	u, hash, err := s.cfg.Store.UserByName(ctx, name)
	if ErrorCode(err) == ENotFound || (err == nil && u.Deleted) {
		failed()
		return "", Session{}, User{}, bad
	} else if err != nil {
		s.logins.give(key)
		return "", Session{}, User{}, err
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil {
		s.logins.give(key)
		return "", Session{}, User{}, err
	}
	if !ok {
		failed()
		return "", Session{}, User{}, bad
	}
	s.logins.give(key) // the right password is no guess
	if u.Suspended {
		return "", Session{}, User{}, Errorf(EForbidden, "this account is suspended")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, User{}, err
	}
	token := "sb_" + base64.RawURLEncoding.EncodeToString(raw)
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
