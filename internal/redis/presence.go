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

// crossSlot is the first line of the cluster variants of the scripts that
// take many user keys: Redis 7's allow-cross-slot-keys flag lets one call
// touch keys of several slots so long as one master serves them all. (The
// keys a command names must still share a slot, so the call names only the
// first and passes them all as arguments; see crossArgs.) On a cluster
// Locate and Refresh group their users by master and make one call per
// master, all in one pipeline that the cluster client splits by master:
// one command and one round trip per master, whatever the number of users.
// A call refused because the slot map moved (a failover, a resharding) is
// made again one key at a time.
const crossSlot = "#!lua flags=allow-cross-slot-keys\n"

// plainArgs and crossArgs are the prologues of the scripts over many user
// keys, giving them keys and argv: KEYS and ARGV as they are, or, in the
// cross-slot form, ARGV = count, that many keys, then the arguments.
const (
	plainArgs = "local keys, argv = KEYS, ARGV\n"
	crossArgs = `
local keys, argv = {}, {}
local nk = tonumber(ARGV[1])
for i = 2, nk + 1 do keys[#keys+1] = ARGV[i] end
for i = nk + 2, #ARGV do argv[#argv+1] = ARGV[i] end
`
)

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
var (
	refreshScript      = goredis.NewScript(plainArgs + refreshSource)
	refreshCrossScript = goredis.NewScript(crossSlot + crossArgs + refreshSource)
)

const refreshSource = nowScript + `
local pre = string.len(argv[1]) .. ':' .. argv[1]
local ttl = tonumber(argv[2])
local dl = string.format('%.0f', now + ttl)
local missing = {}
local a = 3
for i, k in ipairs(keys) do
  local n = tonumber(argv[a]); a = a + 1
  local kept = false
  for j = 1, n do
    local f = pre .. argv[a]
    if redis.call('HEXISTS', k, f) == 1 then
      redis.call('HSET', k, f, dl); kept = true
    else
      missing[#missing+1] = i; missing[#missing+1] = argv[a]
    end
    a = a + 1
  end
  if kept and redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return missing
`

// locateScript returns, for each user key, the nodes holding a live
// connection of that user.
var (
	locateScript      = goredis.NewScript(plainArgs + locateSource)
	locateCrossScript = goredis.NewScript(crossSlot + crossArgs + locateSource)
)

const locateSource = nowScript + `
local out = {}
for i, k in ipairs(keys) do
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
`

// Presence is the cluster Presence: each connection is an entry of its
// user's hash with a deadline on the Redis clock. The node that holds the
// connection extends the deadline (Run or Refresh, every TTL/3); entries of
// a node that stopped doing so count as offline once their deadline passes
// and are deleted by Redis with the key or swept by later writes.
//
// Locate and Online cost one round trip for any number of users; on a Redis
// Cluster, one script call and one round trip per master (see crossSlot).
type Presence struct {
	client goredis.UniversalClient
	prefix string
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
	return &Presence{
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

func (p *Presence) key(user string) string { return p.prefix + ":u:" + user }

// batches splits users into the batches one script call may take, at most
// maxKeysPerScript each: on a cluster, the users whose keys one master
// serves (as the client's slot map has it).
func (p *Presence) batches(ctx context.Context, users []string) [][]string {
	cc, ok := p.client.(*goredis.ClusterClient)
	if !ok {
		return slices.Collect(slices.Chunk(users, maxKeysPerScript))
	}
	byMaster := make(map[string][]string)
	var order []string
	for _, u := range users {
		addr := "?" // no slot map yet: the call is refused and made per key
		if m, err := cc.MasterForKey(ctx, p.key(u)); err == nil {
			addr = m.Options().Addr
		}
		if _, ok := byMaster[addr]; !ok {
			order = append(order, addr)
		}
		byMaster[addr] = append(byMaster[addr], u)
	}
	var out [][]string
	for _, a := range order {
		out = append(out, slices.Collect(slices.Chunk(byMaster[a], maxKeysPerScript))...)
	}
	return out
}

// scripts returns the script for many user keys: plain on one server, with
// allow-cross-slot-keys on a cluster.
func (p *Presence) scripts(plain, cross *goredis.Script) *goredis.Script {
	if isCluster(p.client) {
		return cross
	}
	return plain
}

// scriptArgs returns the keys and arguments to call s with over keys and
// args, in the form s takes them (see crossArgs).
func scriptArgs(s *goredis.Script, keys []string, args ...any) ([]string, []any) {
	if s != locateCrossScript && s != refreshCrossScript {
		return keys, args
	}
	all := make([]any, 0, 1+len(keys)+len(args))
	all = append(all, len(keys))
	for _, k := range keys {
		all = append(all, k)
	}
	return keys[:1], append(all, args...)
}

// evalKeys queues s over keys with args (see scriptArgs).
func evalKeys(ctx context.Context, pipe goredis.Pipeliner, s *goredis.Script, keys []string, args ...any) {
	k, a := scriptArgs(s, keys, args...)
	s.EvalSha(ctx, pipe, k, a...)
}

// runScripts runs s over each batch of keys, one call alone or several in
// one pipeline, and returns the calls.
func (p *Presence) runScripts(ctx context.Context, s *goredis.Script, keys [][]string, args [][]any) ([]goredis.Cmder, error) {
	if len(keys) == 1 {
		k, a := scriptArgs(s, keys[0], args[0]...)
		cmd := runScript(ctx, p.client, &p.n, s, k, a...)
		return []goredis.Cmder{cmd}, cmd.Err()
	}
	return pipeScripts(ctx, p.client, &p.n, []*goredis.Script{s}, func(pipe goredis.Pipeliner) {
		for i := range keys {
			evalKeys(ctx, pipe, s, keys[i], args[i]...)
		}
	})
}

// movedReply reports a reply refusing a call that went by a slot map that
// moved: a master that does not serve all its keys, or one that the script
// was not loaded on (the map did not list it).
func movedReply(err error) bool {
	var rerr goredis.Error
	return errors.As(err, &rerr) && !unavailableReply(err)
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

// locate runs locateScript over userIDs in batches, all in one pipeline,
// and calls f with each user's nodes.
func (p *Presence) locate(ctx context.Context, userIDs []string, f func(user string, nodes []string)) error {
	if len(userIDs) == 0 {
		return nil
	}
	batches := p.batches(ctx, userIDs)
	script := p.scripts(locateScript, locateCrossScript)
	keys := make([][]string, len(batches))
	for i, b := range batches {
		keys[i] = p.keys(b)
	}
	cmds, err := p.runScripts(ctx, script, keys, make([][]any, len(batches)))
	if err != nil && (cmds == nil || !movedReply(err)) {
		return translate("presence locate", err)
	}
	for i, c := range cmds {
		r, err := c.(*goredis.Cmd).Slice()
		if movedReply(err) && script == locateCrossScript {
			r, err = p.locateEach(ctx, batches[i])
		}
		if err != nil {
			return translate("presence locate", err)
		}
		for j, user := range batches[i] {
			if j >= len(r) {
				break
			}
			raw, _ := r[j].([]any)
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

// locateEach is locate's reply for users with one call per key, which any
// master takes: the way round a slot map that moved.
func (p *Presence) locateEach(ctx context.Context, users []string) ([]any, error) {
	cmds, err := pipeScripts(ctx, p.client, &p.n, []*goredis.Script{locateScript}, func(pipe goredis.Pipeliner) {
		for _, u := range users {
			// EVAL, not EVALSHA: a stale map may not have loaded
			// the script on the master that serves the key.
			locateScript.Eval(ctx, pipe, []string{p.key(u)})
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]any, len(users))
	for i, c := range cmds {
		r, err := c.(*goredis.Cmd).Slice()
		if err != nil {
			return nil, err
		}
		if len(r) > 0 {
			out[i] = r[0]
		}
	}
	return out, nil
}

func (p *Presence) keys(users []string) []string {
	keys := make([]string, len(users))
	for i, u := range users {
		keys[i] = p.key(u)
	}
	return keys
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

	batches := p.batches(ctx, users)
	script := p.scripts(refreshScript, refreshCrossScript)
	args := func(b []string) []any {
		a := []any{p.node, p.ttlMS()}
		for _, u := range b {
			a = append(a, len(conns[u]))
			for _, c := range conns[u] {
				a = append(a, c)
			}
		}
		return a
	}
	keys := make([][]string, len(batches))
	argv := make([][]any, len(batches))
	for i, b := range batches {
		keys[i], argv[i] = p.keys(b), args(b)
	}
	cmds, err := p.runScripts(ctx, script, keys, argv)
	if err != nil && (cmds == nil || !movedReply(err)) {
		return translate("presence refresh", err)
	}
	var missing []userConn
	note := func(b []string, r []any) {
		for j := 0; j+1 < len(r); j += 2 {
			idx, _ := r[j].(int64)
			conn, _ := r[j+1].(string)
			if idx >= 1 && int(idx) <= len(b) {
				missing = append(missing, userConn{b[idx-1], conn})
			}
		}
	}
	var each []string // users of calls refused for a moved slot map
	for i, c := range cmds {
		r, err := c.(*goredis.Cmd).Slice()
		if movedReply(err) && script == refreshCrossScript {
			each = append(each, batches[i]...)
			continue
		}
		if err != nil {
			return translate("presence refresh", err)
		}
		note(batches[i], r)
	}
	if len(each) > 0 {
		cmds, err := pipeScripts(ctx, p.client, &p.n, []*goredis.Script{refreshScript}, func(pipe goredis.Pipeliner) {
			for _, u := range each {
				refreshScript.Eval(ctx, pipe, []string{p.key(u)}, args([]string{u})...)
			}
		})
		if err != nil {
			return translate("presence refresh", err)
		}
		for i, c := range cmds {
			r, err := c.(*goredis.Cmd).Slice()
			if err != nil {
				return translate("presence refresh", err)
			}
			note(each[i:i+1], r)
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
