package redis

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.Presence = (*Presence)(nil)

// maxKeysPerScript bounds how many user keys one script call touches, so a
// huge Locate or Refresh does not stall Redis in one long script; larger
// requests become several calls in one pipeline.
const maxKeysPerScript = 500

// presenceSlots is how many hash slots the user keys of one prefix spread
// over on a Redis Cluster. Locate and Refresh run one script call per slot
// their users fall in, so on a cluster they cost at most this many
// commands (one pipelined round trip per master) whatever the number of
// users; it also bounds how many masters share the presence load.
const presenceSlots = 16

// connectScript records one connection and sweeps the user's expired ones.
// KEYS[1] user key; ARGV node, conn, ttl ms.
var connectScript = goredis.NewScript(nowScript + `
local ttl = tonumber(ARGV[3])
local f = string.len(ARGV[1]) .. ':' .. ARGV[1] .. ARGV[2]
local h = redis.call('HGETALL', KEYS[1])
for j = 1, #h, 2 do
  if tonumber(h[j+1]) <= now then redis.call('HDEL', KEYS[1], h[j]) end
end
redis.call('HSET', KEYS[1], f, string.format('%.0f', now + ttl))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return redis.call('HLEN', KEYS[1])
`)

// disconnectScript removes one connection and returns how many live ones the
// user still has on any node, sweeping expired ones.
// KEYS[1] user key; ARGV node, conn.
var disconnectScript = goredis.NewScript(nowScript + `
redis.call('HDEL', KEYS[1], string.len(ARGV[1]) .. ':' .. ARGV[1] .. ARGV[2])
local h = redis.call('HGETALL', KEYS[1])
local live = 0
for j = 1, #h, 2 do
  if tonumber(h[j+1]) > now then live = live + 1 else redis.call('HDEL', KEYS[1], h[j]) end
end
if live == 0 then redis.call('DEL', KEYS[1]) end
return live
`)

// refreshScript extends the deadlines of this node's connections of many
// users. It only extends entries that exist, so a connection removed while
// the refresh was on its way is not brought back; the missing ones are
// returned as pairs (key index, conn) for the node to restore.
// KEYS user keys; ARGV node, ttl ms, then per key a count and that many conns.
var refreshScript = goredis.NewScript(nowScript + `
local pre = string.len(ARGV[1]) .. ':' .. ARGV[1]
local ttl = tonumber(ARGV[2])
local dl = string.format('%.0f', now + ttl)
local missing = {}
local a = 3
for i, k in ipairs(KEYS) do
  local n = tonumber(ARGV[a]); a = a + 1
  local kept = false
  for j = 1, n do
    local f = pre .. ARGV[a]
    if redis.call('HEXISTS', k, f) == 1 then
      redis.call('HSET', k, f, dl); kept = true
    else
      missing[#missing+1] = i; missing[#missing+1] = ARGV[a]
    end
    a = a + 1
  end
  if kept and redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return missing
`)

// locateScript returns, for each user key, the nodes holding a live
// connection of that user.
var locateScript = goredis.NewScript(nowScript + `
local out = {}
for i, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  local nodes, seen = {}, {}
  for j = 1, #h, 2 do
    if tonumber(h[j+1]) > now then
      local f = h[j]
      local c = string.find(f, ':', 1, true)
      local node = string.sub(f, c + 1, c + tonumber(string.sub(f, 1, c - 1)))
      if not seen[node] then seen[node] = true; nodes[#nodes+1] = node end
    end
  end
  out[i] = nodes
end
return out
`)

// Presence is the cluster Presence: each connection is an entry of its
// user's hash with a deadline on the Redis clock. The node that holds the
// connection extends the deadline (Run or Refresh, every TTL/3); entries of
// a node that stopped doing so count as offline once their deadline passes
// and are deleted by Redis with the key or swept by later writes.
//
// Locate and Online cost one round trip for any number of users; on a Redis
// Cluster, one pipelined round trip per master, with at most presenceSlots
// script calls.
type Presence struct {
	client goredis.UniversalClient
	prefix string
	tags   []string // hash tags of the user keys on a cluster; nil otherwise
	node   string
	ttl    time.Duration
	n      counter

	// locks order the Redis writes of one user's connections on this node
	// (connect, disconnect, restore) with the local map below.
	locks [64]sync.Mutex

	mu    sync.Mutex
	conns map[string]map[string]struct{} // user -> this node's connection ids
	total int
}

// NewPresence returns the Presence of node. Keys start with prefix; ttl is
// how long an entry outlives the last refresh of its node (e.g. 30s).
func NewPresence(client goredis.UniversalClient, prefix, node string, ttl time.Duration) *Presence {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	var tags []string
	if isCluster(client) {
		tags = spreadTags(prefix+":u:", prefix+":", presenceSlots)
	}
	return &Presence{
		tags:   tags,
		client: client,
		prefix: prefix,
		node:   node,
		ttl:    ttl,
		conns:  make(map[string]map[string]struct{}),
	}
}

// PresenceStats counts what a Presence asked of Redis.
type PresenceStats struct {
	Commands   uint64
	RoundTrips uint64
}

// Stats returns the counts so far.
func (p *Presence) Stats() PresenceStats {
	return PresenceStats{Commands: p.n.commands.Load(), RoundTrips: p.n.roundTrips.Load()}
}

// Conns returns the number of connections on this node.
func (p *Presence) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// key is the hash of user's connections: P:u:USER, or on a cluster
// P:u:{TAG}:USER with the tag of the user's slot group.
func (p *Presence) key(user string) string {
	if p.tags == nil {
		return p.prefix + ":u:" + user
	}
	return p.prefix + ":u:{" + p.tags[p.group(user)] + "}:" + user
}

// group is the slot group of user's key: 0 on a single server.
func (p *Presence) group(user string) int {
	if p.tags == nil {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(user))
	return int(h.Sum32() % uint32(len(p.tags)))
}

// chunks splits users into the batches one script call may take: users of
// one slot group, at most maxKeysPerScript of them.
func (p *Presence) chunks(users []string) [][]string {
	if p.tags == nil {
		return slices.Collect(slices.Chunk(users, maxKeysPerScript))
	}
	groups := make([][]string, len(p.tags))
	for _, u := range users {
		g := p.group(u)
		groups[g] = append(groups[g], u)
	}
	var out [][]string
	for _, g := range groups {
		out = append(out, slices.Collect(slices.Chunk(g, maxKeysPerScript))...)
	}
	return out
}

func (p *Presence) stripe(user string) int {
	h := fnv.New32a()
	h.Write([]byte(user))
	return int(h.Sum32() % uint32(len(p.locks)))
}

func (p *Presence) lockFor(user string) *sync.Mutex { return &p.locks[p.stripe(user)] }

// userConn names one connection of a user.
type userConn struct{ user, conn string }

func (p *Presence) ttlMS() int64 { return p.ttl.Milliseconds() }

// Connect records a live connection of userID on this node and returns
// the user's live connections on every node.
func (p *Presence) Connect(ctx context.Context, userID, connID string) (int, error) {
	l := p.lockFor(userID)
	l.Lock()
	defer l.Unlock()
	n, err := runScript(ctx, p.client, &p.n, connectScript, []string{p.key(userID)}, p.node, connID, p.ttlMS()).Int()
	if err != nil {
		return 0, translate("presence connect", err)
	}
	p.mu.Lock()
	cs := p.conns[userID]
	if cs == nil {
		cs = make(map[string]struct{}, 1)
		p.conns[userID] = cs
	}
	if _, ok := cs[connID]; !ok {
		cs[connID] = struct{}{}
		p.total++
	}
	p.mu.Unlock()
	return n, nil
}

// Disconnect removes a connection and reports how many the user still has on
// any node. The connection is forgotten locally even if Redis cannot be
// reached; its entry then expires with its deadline.
func (p *Presence) Disconnect(ctx context.Context, userID, connID string) (int, error) {
	l := p.lockFor(userID)
	l.Lock()
	defer l.Unlock()
	p.mu.Lock()
	if cs := p.conns[userID]; cs != nil {
		if _, ok := cs[connID]; ok {
			delete(cs, connID)
			p.total--
		}
		if len(cs) == 0 {
			delete(p.conns, userID)
		}
	}
	p.mu.Unlock()
	n, err := runScript(ctx, p.client, &p.n, disconnectScript, []string{p.key(userID)}, p.node, connID).Int()
	if err != nil {
		return 0, translate("presence disconnect", err)
	}
	return n, nil
}

// Locate groups the online users among userIDs by the nodes that hold their
// connections; a user connected to two nodes is listed under both.
func (p *Presence) Locate(ctx context.Context, userIDs []string) (map[string][]string, error) {
	out := make(map[string][]string)
	err := p.locate(ctx, userIDs, func(user string, nodes []string) {
		for _, n := range nodes {
			out[n] = append(out[n], user)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Online reports which of userIDs have at least one live connection.
func (p *Presence) Online(ctx context.Context, userIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	err := p.locate(ctx, userIDs, func(user string, nodes []string) {
		out[user] = out[user] || len(nodes) > 0
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// locate runs locateScript over userIDs in chunks, all in one pipeline,
// and calls f with each user's nodes.
func (p *Presence) locate(ctx context.Context, userIDs []string, f func(user string, nodes []string)) error {
	if len(userIDs) == 0 {
		return nil
	}
	chunks := p.chunks(userIDs)
	keys := make([][]string, len(chunks))
	for i, c := range chunks {
		keys[i] = make([]string, len(c))
		for j, u := range c {
			keys[i][j] = p.key(u)
		}
	}
	var replies []any
	if len(chunks) == 1 {
		r, err := runScript(ctx, p.client, &p.n, locateScript, keys[0]).Slice()
		if err != nil {
			return translate("presence locate", err)
		}
		replies = []any{r}
	} else {
		cmds, err := pipeScripts(ctx, p.client, &p.n, []*goredis.Script{locateScript}, func(pipe goredis.Pipeliner) {
			for _, k := range keys {
				locateScript.EvalSha(ctx, pipe, k)
			}
		})
		if err != nil {
			return translate("presence locate", err)
		}
		for _, c := range cmds {
			r, err := c.(*goredis.Cmd).Slice()
			if err != nil {
				return translate("presence locate", err)
			}
			replies = append(replies, r)
		}
	}
	for i, r := range replies {
		perUser := r.([]any)
		for j, user := range chunks[i] {
			if j >= len(perUser) {
				break
			}
			raw, _ := perUser[j].([]any)
			nodes := make([]string, 0, len(raw))
			for _, n := range raw {
				if s, ok := n.(string); ok {
					nodes = append(nodes, s)
				}
			}
			f(user, nodes)
		}
	}
	return nil
}

// Refresh extends the deadlines of all this node's connections in a few
// script calls sent as one pipeline, and restores entries Redis lost (a
// restart without persistence, or a link down for longer than the TTL).
func (p *Presence) Refresh(ctx context.Context) error {
	p.mu.Lock()
	users := make([]string, 0, len(p.conns))
	conns := make(map[string][]string, len(p.conns))
	for u, cs := range p.conns {
		users = append(users, u)
		ids := make([]string, 0, len(cs))
		for c := range cs {
			ids = append(ids, c)
		}
		conns[u] = ids
	}
	p.mu.Unlock()
	if len(users) == 0 {
		return nil
	}

	batches := p.chunks(users)
	cmds, err := pipeScripts(ctx, p.client, &p.n, []*goredis.Script{refreshScript}, func(pipe goredis.Pipeliner) {
		for _, b := range batches {
			keys := make([]string, 0, len(b))
			args := []any{p.node, p.ttlMS()}
			for _, u := range b {
				keys = append(keys, p.key(u))
				args = append(args, len(conns[u]))
				for _, c := range conns[u] {
					args = append(args, c)
				}
			}
			refreshScript.EvalSha(ctx, pipe, keys, args...)
		}
	})
	if err != nil {
		return translate("presence refresh", err)
	}
	var missing []userConn
	for i, c := range cmds {
		r, err := c.(*goredis.Cmd).Slice()
		if err != nil {
			return translate("presence refresh", err)
		}
		for j := 0; j+1 < len(r); j += 2 {
			idx, _ := r[j].(int64)
			conn, _ := r[j+1].(string)
			if idx >= 1 && int(idx) <= len(batches[i]) {
				missing = append(missing, userConn{batches[i][idx-1], conn})
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return p.restore(ctx, missing)
}

// restore writes back entries of connections that are still open here.
func (p *Presence) restore(ctx context.Context, missing []userConn) error {
	// Hold the locks of every user involved, in a fixed order, so a
	// disconnect cannot slip between the check and the write.
	idx := make([]int, 0, len(missing))
	for _, m := range missing {
		idx = append(idx, p.stripe(m.user))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		p.locks[i].Lock()
	}
	defer func() {
		for _, i := range idx {
			p.locks[i].Unlock()
		}
	}()
	p.mu.Lock()
	keep := missing[:0]
	for _, m := range missing {
		if _, ok := p.conns[m.user][m.conn]; ok {
			keep = append(keep, m)
		}
	}
	p.mu.Unlock()
	cmds, err := pipeScripts(ctx, p.client, &p.n, []*goredis.Script{connectScript}, func(pipe goredis.Pipeliner) {
		for _, m := range keep {
			connectScript.EvalSha(ctx, pipe, []string{p.key(m.user)}, p.node, m.conn, p.ttlMS())
		}
	})
	if err == nil {
		for _, c := range cmds {
			if err = c.Err(); err != nil {
				break
			}
		}
	}
	return translate("presence restore", err)
}

// Run refreshes this node's entries every TTL/3 until ctx ends. A failed
// refresh is retried at the next tick; the error of the last failure is
// not returned, only ctx's.
func (p *Presence) Run(ctx context.Context) error {
	t := time.NewTicker(p.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			_ = p.Refresh(ctx)
		}
	}
}

// Leave removes all of this node's entries at once (a clean shutdown), so
// other nodes see its users offline without waiting for the TTL.
func (p *Presence) Leave(ctx context.Context) error {
	for i := range p.locks {
		p.locks[i].Lock()
	}
	defer func() {
		for i := range p.locks {
			p.locks[i].Unlock()
		}
	}()
	p.mu.Lock()
	conns := p.conns
	p.conns = make(map[string]map[string]struct{})
	p.total = 0
	p.mu.Unlock()
	_, err := pipeScripts(ctx, p.client, &p.n, nil, func(pipe goredis.Pipeliner) {
		for u, cs := range conns {
			fields := make([]string, 0, len(cs))
			for c := range cs {
				fields = append(fields, fieldFor(p.node, c))
			}
			pipe.HDel(ctx, p.key(u), fields...)
		}
	})
	if errors.Is(err, goredis.Nil) {
		err = nil
	}
	return translate("presence leave", err)
}
