package chat

import (
	"context"
	"time"
)

// Profile returns a user with its presence as viewerID may see it.
func (s *Service) Profile(ctx context.Context, viewerID, username string) (PresenceInfo, User, error) {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return PresenceInfo{}, User{}, err
	}
	// The cache holds the immutable fields; display name and avatar change.
	if u, err = s.cfg.Store.UserByID(ctx, u.ID); err != nil {
		return PresenceInfo{}, User{}, err
	}
	ps, err := s.presenceOf(ctx, viewerID, []User{u})
	if err != nil {
		return PresenceInfo{}, User{}, err
	}
	return ps[0], u, nil
}

// Presence returns the presence of the named users as viewerID may see it:
// a user who blocks the viewer is Hidden, offline and never seen. Unknown
// names are an ENotFound error.
func (s *Service) Presence(ctx context.Context, viewerID string, usernames []string) ([]PresenceInfo, error) {
	if len(usernames) > 1000 {
		return nil, Errorf(ETooLarge, "at most 1000 users at once")
	}
	us := make([]User, 0, len(usernames))
	for _, n := range usernames {
		u, err := s.userByName(ctx, n)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return s.presenceOf(ctx, viewerID, us)
}

func (s *Service) presenceOf(ctx context.Context, viewerID string, us []User) ([]PresenceInfo, error) {
	hidden, err := s.hiddenFrom(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	online, err := s.cfg.Presence.Online(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]PresenceInfo, len(us))
	for i, u := range us {
		full, err := s.cfg.Store.UserByID(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if _, hide := hidden[u.ID]; hide {
			out[i] = PresenceInfo{UserID: u.ID, Username: u.Username, Hidden: true}
			continue
		}
		out[i] = PresenceInfo{UserID: u.ID, Username: u.Username, Online: online[u.ID], LastSeen: full.LastSeen}
	}
	return out, nil
}

// Connected records a new connection. A user who comes online (not merely
// back within the grace period) is announced to presence subscribers.
//
// A user may hold at most MaxConnsPerUser connections over the cluster; one
// more is undone and refused with ERateLimited.
func (s *Service) Connected(ctx context.Context, c ConnInfo) error {
	cameOnline, conns, err := s.rt.Connected(ctx, c)
	if err != nil {
		return err
	}
	if conns > s.cfg.MaxConnsPerUser {
		s.rt.Disconnected(ctx, c)
		e := Errorf(ERateLimited, "too many open connections: at most %d per user", s.cfg.MaxConnsPerUser)
		e.RetryAfter = 5 * time.Second
		return e
	}
	if cameOnline {
		s.announce(ctx, PresenceInfo{UserID: c.UserID, Username: c.Username, Online: true, LastSeen: s.now()})
	}
	return nil
}

// Disconnected records a closed connection. When the user has no connection
// left anywhere, it is announced offline after the grace period unless it
// came back meanwhile (see wentOffline).
func (s *Service) Disconnected(ctx context.Context, c ConnInfo) {
	s.rt.Disconnected(ctx, c)
}

// wentOffline records last-seen and announces a user whose grace period
// ended with no connection anywhere.
func (s *Service) wentOffline(ctx context.Context, userID, username string, lastSeen int64) {
	if err := s.cfg.Store.SetLastSeen(ctx, lastSeen, []string{userID}); err != nil {
		s.log.Warn("set last seen", "err", err)
	}
	s.announce(ctx, PresenceInfo{UserID: userID, Username: username, Online: false, LastSeen: lastSeen})
}

func (s *Service) announce(ctx context.Context, p PresenceInfo) {
	s.rt.Broadcast(ctx, &Event{Kind: EventPresence, Presence: &p})
}

// FlushPresence records last_seen for users whose offline announcement is
// still waiting, so a clean shutdown loses no last_seen: one store write
// for all of them.
func (s *Service) FlushPresence(ctx context.Context) {
	ids := s.rt.Departing()
	if err := s.cfg.Store.SetLastSeen(ctx, s.now(), ids); err != nil {
		s.log.Warn("flush last seen", "users", len(ids), "err", err)
	}
}
