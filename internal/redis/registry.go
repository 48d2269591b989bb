package redis

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// registerScript stores one node's entry with a deadline on the Redis clock.
// KEYS[1] registry; ARGV id, ttl ms, conns, url.
var registerScript = goredis.NewScript(nowScript + `
local ttl = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + ttl) .. '|' .. ARGV[3] .. '|' .. ARGV[4])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`)

// nodesScript returns the fresh entries (at least ARGV[1] ms before their
// deadline) as id, value pairs and deletes the expired ones.
var nodesScript = goredis.NewScript(nowScript + `
local h = redis.call('HGETALL', KEYS[1])
local fresh = tonumber(ARGV[1])
local out = {}
for j = 1, #h, 2 do
  local v = h[j+1]
  local dl = tonumber(string.sub(v, 1, string.find(v, '|', 1, true) - 1))
  if dl > now then
    if dl - now >= fresh then
      out[#out+1] = h[j]; out[#out+1] = v
    end
  else
    redis.call('HDEL', KEYS[1], h[j])
  end
end
return out
`)

// NodeInfo is what a node publishes about itself for discovery.
type NodeInfo struct {
	ID    string
	URL   string // public WebSocket URL
	Conns int    // open connections
}

// Registry is the list of live nodes: each node publishes its NodeInfo with
// a TTL and refreshes it every TTL/3. Nodes lists only entries refreshed
// within the last two of those intervals, so a node that crashes stops
// being listed after at most 2*TTL/3, and its entry is deleted at its TTL.
// Every node of a cluster must use the same TTL.
type Registry struct {
	client goredis.UniversalClient
	key    string
	ttl    time.Duration
	n      counter
}

// DefaultRegistryTTL is how long an entry lives after its last refresh.
const DefaultRegistryTTL = 6 * time.Second

// NewRegistry returns the registry under prefix; entries live ttl after
// their last Register [DefaultRegistryTTL].
func NewRegistry(client goredis.UniversalClient, prefix string, ttl time.Duration) *Registry {
	if ttl <= 0 {
		ttl = DefaultRegistryTTL
	}
	return &Registry{client: client, key: prefix + ":nodes", ttl: ttl}
}

// Register publishes or updates info for the registry's TTL.
func (r *Registry) Register(ctx context.Context, info NodeInfo) error {
	err := runScript(ctx, r.client, &r.n, registerScript, []string{r.key},
		info.ID, r.ttl.Milliseconds(), info.Conns, info.URL).Err()
	return translate("register node", err)
}

// Deregister removes a node at once (it is draining or stopping).
func (r *Registry) Deregister(ctx context.Context, id string) error {
	r.n.add(1)
	return translate("deregister node", r.client.HDel(ctx, r.key, id).Err())
}

// Nodes returns the live nodes, those refreshed within the last two
// refresh intervals, least loaded first (ties by id).
func (r *Registry) Nodes(ctx context.Context) ([]NodeInfo, error) {
	// An entry refreshed every ttl/3 is never less than ttl/3 from its
	// deadline; one that is has missed at least one refresh.
	raw, err := runScript(ctx, r.client, &r.n, nodesScript, []string{r.key}, (r.ttl / 3).Milliseconds()).StringSlice()
	if err != nil {
		return nil, translate("list nodes", err)
	}
	out := make([]NodeInfo, 0, len(raw)/2)
	for i := 0; i+1 < len(raw); i += 2 {
		// value: deadline|conns|url (the url may hold '|').
		parts := strings.SplitN(raw[i+1], "|", 3)
		if len(parts) != 3 {
			continue
		}
		conns, _ := strconv.Atoi(parts[1])
		out = append(out, NodeInfo{ID: raw[i], Conns: conns, URL: parts[2]})
	}
	slices.SortFunc(out, func(a, b NodeInfo) int {
		return cmp.Or(cmp.Compare(a.Conns, b.Conns), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Run registers info() now and every TTL/3 until ctx ends, then deregisters
// the node. Failures are retried at the next tick.
func (r *Registry) Run(ctx context.Context, info func() NodeInfo) error {
	t := time.NewTicker(r.ttl / 3)
	defer t.Stop()
	for {
		_ = r.Register(ctx, info())
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = r.Deregister(dctx, info().ID)
			return ctx.Err()
		case <-t.C:
		}
	}
}
