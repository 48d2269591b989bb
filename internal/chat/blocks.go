package chat

import (
	"context"
	"strings"
)

// Block makes the caller block the named user: that user can no longer
// send the caller direct messages, add it to groups or see its presence.
// Blocking twice is not an error.
func (s *Service) Block(ctx context.Context, sess Session, username string) error {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	if u.ID == sess.UserID {
		return Errorf(EBadRequest, "you cannot block yourself")
	}
	if err := s.cfg.Store.Block(ctx, sess.UserID, u.ID, s.now()); err != nil {
		return err
	}
	s.blockChanged(ctx, &BlockEvent{Blocker: sess.UserID, Blocked: u.ID, On: true})
	return nil
}

// Unblock lifts the caller's block of the named user; lifting one that is
// not there is not an error.
func (s *Service) Unblock(ctx context.Context, sess Session, username string) error {
	u, err := s.userByName(ctx, username)
	if err != nil {
		return err
	}
	lifted, err := s.cfg.Store.Unblock(ctx, sess.UserID, u.ID)
	if err != nil {
		return err
	}
	if lifted {
		s.blockChanged(ctx, &BlockEvent{Blocker: sess.UserID, Blocked: u.ID})
	}
	return nil
}

// Blocks lists the users the caller blocks.
func (s *Service) Blocks(ctx context.Context, sess Session) ([]User, error) {
	return s.cfg.Store.Blocks(ctx, sess.UserID)
}

// blockChanged forgets the cached answer here and tells every node, whose
// caches and presence watchers follow when it reaches them.
func (s *Service) blockChanged(ctx context.Context, b *BlockEvent) {
	s.ForgetBlock(b)
	s.rt.Broadcast(ctx, &Event{Kind: EventBlock, Block: b})
}

// ForgetBlock drops the cached answer for b's pair; the runtime calls it for
// every block event it receives.
func (s *Service) ForgetBlock(b *BlockEvent) {
	s.blocked.Forget(blockPair{b.Blocker, b.Blocked})
}

// blockPair keys the cache of who blocks whom: a struct, not a joined
// string, so a lookup on every send allocates nothing.
type blockPair struct{ blocker, user string }

// blocks reports whether blocker blocks userID, through a cache that block
// events clear on every node.
func (s *Service) blocks(ctx context.Context, blocker, userID string) (bool, error) {
	key := blockPair{blocker, userID}
	if v, ok := s.blocked.Get(key); ok {
		return v, nil
	}
	epoch := s.blocked.Epoch()
	ids, err := s.cfg.Store.Blockers(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id == blocker {
			s.blocked.PutAt(epoch, key, true)
			return true, nil
		}
	}
	s.blocked.PutAt(epoch, key, false)
	return false, nil
}

// hiddenFrom returns the users whose presence viewerID may not see: those
// who block it.
func (s *Service) hiddenFrom(ctx context.Context, viewerID string) (map[string]struct{}, error) {
	ids, err := s.cfg.Store.Blockers(ctx, viewerID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		out[id] = struct{}{}
	}
	return out, nil
}

// HiddenFrom is hiddenFrom for the gateway, which filters room frames.
func (s *Service) HiddenFrom(ctx context.Context, viewerID string) (map[string]struct{}, error) {
	return s.hiddenFrom(ctx, viewerID)
}

// mayDirect checks a send to convID: in a direct conversation neither party
// may block the other. Conversation kinds are cached for good (they never
// change).
func (s *Service) mayDirect(ctx context.Context, c ConnInfo, convID string) error {
	kind, ok := s.kinds.Get(convID)
	if !ok {
		conv, err := s.cfg.Store.Conversation(ctx, convID)
		if err != nil {
			return err
		}
		kind = conv.Kind
		s.kinds.Put(convID, kind)
	}
	if kind != KindDirect {
		return nil
	}
	ms, err := s.rt.Members(ctx, convID)
	if err != nil {
		return err
	}
	for _, m := range ms.List {
		if m.UserID == c.UserID {
			continue
		}
		if b, err := s.blocks(ctx, m.UserID, c.UserID); err != nil {
			return err
		} else if b {
			return Errorf(EForbidden, "%s does not accept messages from you", m.Username)
		}
		if b, err := s.blocks(ctx, c.UserID, m.UserID); err != nil {
			return err
		} else if b {
			return Errorf(EForbidden, "you block %s; unblock to send", strings.ToLower(m.Username))
		}
	}
	return nil
}
