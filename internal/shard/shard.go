// Package shard implements chat.Store over several PostgreSQL databases: a
// directory and N shards, each a *postgres.Store (and each may be a
// Patroni cluster behind a multi-host URL).
//
// A conversation lives on exactly one shard, with its counters (last seq,
// last rev, member count), its members' receipt positions and roles, its
// messages, reactions, mentions, bans and notification settings, so that
// an append, a change or a receipt is one transaction on one database
// under one row lock, as on a single database: seq and rev stay gapless.
//
// The directory holds users, sessions, tickets, blocks, push
// subscriptions and queue, media records, the audit log, and an index of
// the conversations: a row per conversation (name, title, settings, member
// count), a row per membership, and shard_map (conversation -> shard),
// written when the conversation is created and never changed, so adding a
// shard moves nothing: new conversations are placed by a hash over the
// shards configured at the time, old ones stay where the map says.
//
// A shard keeps a copy of the rows (id and username) of the users who are
// members of its conversations, written before the membership that needs
// it, so a shard's queries join users as on a single database.
//
// Writes that touch both sides go shard first, directory second, and each
// is idempotent, so a crash between them leaves a state that the same call
// repeated repairs:
//   - creating a conversation: the shard's rows, then the directory's row
//     with its shard_map entry and members in one transaction. Until the
//     directory commits, nothing routes to the shard's rows; a creation
//     that stopped there is registered by the next attempt (for a group,
//     the next CreateGroup of that name, which finds the name taken).
//   - joining and leaving (AddMember, RemoveMember, Ban): the shard, where
//     AppendMessages checks membership, then the directory's index, which
//     lists the user's conversations. A conversation is listed when both
//     say the user is a member; the call repeated brings them in step.
//   - deleting a group: the directory first (the name is free and no
//     route leads to it), then the shard's rows.
//   - deleting an account: memberships on every shard, then the directory.
//
// Reads that span conversations fan out in parallel and merge: a user's
// conversations and search go to the shards the directory's index names;
// Message by id, sent messages and media checks go to every shard.
package shard

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
)

// Store is a chat.Store over a directory database and N shard databases.
// It is safe for concurrent use, also by several processes opened on the
// same databases with the same list of shards.
type Store struct {
	dir    *postgres.Store
	shards []*postgres.Store
	routes *routeCache
	copied *copyCache
}

var (
	_ chat.Store             = (*Store)(nil)
	_ chat.AccountStore      = (*Store)(nil)
	_ chat.NotificationStore = (*Store)(nil)
	_ chat.PushStore         = (*Store)(nil)
	_ chat.TicketStore       = (*Store)(nil)
)

// Open opens the directory at dirURL and the shards at shardURLs (each
// migrated like a single database) and returns the store. The order of
// shardURLs is the shards' numbering: a shard is added by appending its
// URL, never by inserting or reordering (each shard records its number
// and Open refuses a list that disagrees).
func Open(ctx context.Context, dirURL string, shardURLs []string, opts ...postgres.Option) (*Store, error) {
	if len(shardURLs) == 0 {
		return nil, fmt.Errorf("shard: no shards")
	}
	s := &Store{routes: newRouteCache(), copied: newCopyCache()}
	var err error
	if s.dir, err = postgres.Open(ctx, dirURL, opts...); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	for i, u := range shardURLs {
		sh, err := postgres.Open(ctx, u, opts...)
		if err == nil {
			if err = sh.ClaimShard(ctx, i); err != nil {
				sh.Close()
			}
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		s.shards = append(s.shards, sh)
	}
	return s, nil
}

// Shards reports how many shards the store spreads conversations over.
func (s *Store) Shards() int { return len(s.shards) }

// ShardOf returns the number of the shard that holds a conversation.
// ENotFound if it does not exist.
func (s *Store) ShardOf(ctx context.Context, convID string) (int, error) {
	_, n, err := s.route(ctx, convID)
	if err == nil && n < 0 {
		return 0, chat.Errorf(chat.ENotFound, "no conversation %q", convID)
	}
	return n, err
}

// Ping checks that the directory and every shard answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.dir.Ping(ctx); err != nil {
		return err
	}
	return s.each(ctx, func(ctx context.Context, _ int, sh *postgres.Store) error { return sh.Ping(ctx) })
}

// Close closes every database.
func (s *Store) Close() error {
	if s.dir != nil {
		s.dir.Close()
	}
	for _, sh := range s.shards {
		sh.Close()
	}
	return nil
}

// place picks the shard of a new conversation from key: the same key goes
// to the same shard while the number of shards stays, so nodes creating
// the same direct pair or group name at once meet on one shard, whose
// unique constraints pick one winner.
func (s *Store) place(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(s.shards)))
}

// route returns the shard of a conversation. A conversation the directory
// does not know goes to shard 0 with n = -1, whose store then answers as a
// single database does for a missing conversation (ENotFound, EForbidden
// or an empty list, as documented on chat.Store).
func (s *Store) route(ctx context.Context, convID string) (*postgres.Store, int, error) {
	if n, ok := s.routes.get(convID); ok {
		return s.shards[n], n, nil
	}
	n, err := s.dir.ShardOf(ctx, convID)
	if chat.ErrorCode(err) == chat.ENotFound {
		return s.shards[0], -1, nil
	} else if err != nil {
		return nil, 0, err
	}
	if n >= len(s.shards) {
		return nil, 0, chat.Errorf(chat.EUnavailable, "conversation %q is on shard %d, which this node does not have", convID, n)
	}
	s.routes.put(convID, n)
	return s.shards[n], n, nil
}

// ensureUsers copies the users' rows to shard n before a membership or ban
// there names them. ENotFound if a user does not exist.
func (s *Store) ensureUsers(ctx context.Context, n int, userIDs ...string) error {
	var missing []chat.User
	for _, id := range userIDs {
		if s.copied.has(n, id) {
			continue
		}
		u, err := s.dir.UserByID(ctx, id)
		if err != nil {
			if chat.ErrorCode(err) == chat.ENotFound {
				return chat.Errorf(chat.ENotFound, "no user with id %q", id)
			}
			return err
		}
		missing = append(missing, u)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.shards[n].CopyUsers(ctx, missing); err != nil {
		return err
	}
	for _, u := range missing {
		s.copied.put(n, u.ID)
	}
	return nil
}

// each runs fn on every shard in parallel and returns the first error.
func (s *Store) each(ctx context.Context, fn func(ctx context.Context, n int, sh *postgres.Store) error) error {
	return fanOut(len(s.shards), func(i int) error { return fn(ctx, i, s.shards[i]) })
}

// fanOut runs fn(0..n-1) in parallel and returns the first error.
func fanOut(n int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// cacheMax bounds each cache (some 20 MB of ids at most); a full cache
// starts over (every entry can be read again from the directory).
const cacheMax = 1 << 18

// routeCache remembers conversation -> shard. Entries never go stale: a
// conversation never moves (a deleted one's id is never reused).
type routeCache struct {
	mu sync.Mutex
	m  map[string]int
}

func newRouteCache() *routeCache { return &routeCache{m: make(map[string]int)} }

func (c *routeCache) get(id string) (int, bool) {
	c.mu.Lock()
	n, ok := c.m[id]
	c.mu.Unlock()
	return n, ok
}

func (c *routeCache) put(id string, n int) {
	c.mu.Lock()
	if len(c.m) >= cacheMax {
		c.m = make(map[string]int)
	}
	c.m[id] = n
	c.mu.Unlock()
}

func (c *routeCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// copyCache remembers which users' rows a shard holds; the copies are
// never removed (a deleted account's row stays, as in the directory).
type copyCache struct {
	mu sync.Mutex
	m  map[copyKey]struct{}
}

type copyKey struct {
	shard int
	user  string
}

func newCopyCache() *copyCache { return &copyCache{m: make(map[copyKey]struct{})} }

func (c *copyCache) has(n int, id string) bool {
	c.mu.Lock()
	_, ok := c.m[copyKey{n, id}]
	c.mu.Unlock()
	return ok
}

func (c *copyCache) put(n int, id string) {
	c.mu.Lock()
	if len(c.m) >= cacheMax {
		c.m = make(map[copyKey]struct{})
	}
	c.m[copyKey{n, id}] = struct{}{}
	c.mu.Unlock()
}
