// Package redis holds the cluster Presence and Bus of Switchboard on Redis,
// plus the node registry used for discovery and per-group topics.
//
// Every key starts with the prefix given to the constructors, so several
// clusters (or tests) can share one Redis. The client is a
// goredis.UniversalClient: a *redis.Client of one server (standalone, or a
// Sentinel failover client), or a *redis.ClusterClient of a Redis Cluster.
// On a cluster (Redis 7 or later) no key needs a hash tag: every command
// and script names one key, except the presence scripts over many users,
// which are made once per master with the allow-cross-slot-keys flag (see
// crossSlot), and the bus's read, which names only its node's inbox (see
// fanout.go). Redis 7 or later gives exact detection of trimmed streams;
// older single servers are treated conservatively.
//
// Layout (P is the prefix):
//
//	P:u:USER       hash  "len(node):node conn" -> deadline (ms, Redis clock)
//	P:nodes        hash  node -> "deadline|conns|url"
//	P:inbox:NODE   stream of events for one node (capped)
//	P:bcast        stream of events for every node (capped; one server only)
//	P:topic:NAME   stream of a large group's events (capped; one server only)
//	P:busnodes     hash  node -> deadline (cluster only, see fanout.go)
//	P:tsub:NAME    hash  node -> deadline (cluster only, see fanout.go)
//	P:rl:KEY       a rate limiter's theoretical arrival time
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// translate turns a driver error into what callers of this package see:
// Redis being unreachable (dial, I/O, timeouts, a loading or read-only
// server) is a *chat.Error with EUnavailable in the chain, with the cause
// kept in the text for logs; other replies are plain errors. A cancelled
// context is passed through.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return err
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) && !unavailableReply(err) {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	return fmt.Errorf("%w (%s: %v)", chat.Errorf(chat.EUnavailable, "cluster link unavailable"), op, err)
}

func unavailableReply(err error) bool {
	return goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) ||
		goredis.IsMasterDownError(err) || goredis.IsClusterDownError(err)
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// NewClusterClient returns a client of the Redis Cluster opt names, set up
// to follow failovers: it asks for the slot map again as soon as a command
// cannot reach its node (a master that died refuses connections and sends
// no MOVED to learn from), and every ClusterStateReloadInterval (1s unless
// set) while in use.
func NewClusterClient(opt *goredis.ClusterOptions) *goredis.ClusterClient {
	if opt.ClusterStateReloadInterval == 0 {
		opt.ClusterStateReloadInterval = time.Second
	}
	cc := goredis.NewClusterClient(opt)
	cc.AddHook(reloadHook{cc})
	return cc
}

// reloadHook makes a cluster client reload its slot map after a command or
// pipeline failed for want of a node.
type reloadHook struct{ cc *goredis.ClusterClient }

func (h reloadHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h reloadHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h reloadHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			h.check(ctx, c.Err())
		}
		return err
	}
}

func (h reloadHook) check(ctx context.Context, err error) {
	var rerr goredis.Error
	switch {
	case err == nil, errors.Is(err, goredis.Nil), errors.Is(err, context.Canceled), ctx.Err() != nil:
	case errors.As(err, &rerr) && !unavailableReply(err):
	default:
		h.cc.ReloadState(ctx) // lazy: one reload at a time, whatever the callers
	}
}

// isCluster reports whether client talks to a Redis Cluster.
func isCluster(client goredis.UniversalClient) bool {
	_, ok := client.(*goredis.ClusterClient)
	return ok
}

// counter counts what a component asks of Redis: commands, and the round
// trips they took (a pipeline is one round trip).
type counter struct {
	commands   atomic.Uint64
	roundTrips atomic.Uint64
}

func (c *counter) add(commands int) {
	c.commands.Add(uint64(commands))
	c.roundTrips.Add(1)
}

// runScript runs s with EVALSHA, loading it on NOSCRIPT (a restarted or
// flushed server), and counts what it cost.
func runScript(ctx context.Context, c goredis.Scripter, n *counter, s *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	n.add(1)
	cmd := s.EvalSha(ctx, c, keys, args...)
	if isNoScript(cmd.Err()) {
		n.add(1)
		if err := s.Load(ctx, c).Err(); err != nil {
			return cmd
		}
		n.add(1)
		cmd = s.EvalSha(ctx, c, keys, args...)
	}
	return cmd
}

// pipeScripts sends the commands queued by build in one pipeline. If a
// script was missing from the server's cache it loads scripts and sends the
// pipeline again, once.
func pipeScripts(ctx context.Context, c goredis.UniversalClient, n *counter, scripts []*goredis.Script, build func(p goredis.Pipeliner)) ([]goredis.Cmder, error) {
	for attempt := 0; ; attempt++ {
		p := c.Pipeline()
		build(p)
		size := p.Len()
		if size == 0 {
			return nil, nil
		}
		cmds, err := p.Exec(ctx)
		n.add(size)
		if attempt == 0 && hasNoScript(cmds) {
			for _, s := range scripts {
				n.add(1)
				if err := s.Load(ctx, c).Err(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err != nil && !errors.Is(err, goredis.Nil) {
			return cmds, err
		}
		return cmds, nil
	}
}

func hasNoScript(cmds []goredis.Cmder) bool {
	for _, c := range cmds {
		if isNoScript(c.Err()) {
			return true
		}
	}
	return false
}

// fieldFor is the presence hash field of one connection: the node id
// length-prefixed so any node id and connection id can be told apart.
func fieldFor(node, conn string) string {
	return strconv.Itoa(len(node)) + ":" + node + conn
}

// nowScript is the Lua prologue reading the Redis clock in ms, so every node
// measures deadlines against the same clock.
const nowScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`
