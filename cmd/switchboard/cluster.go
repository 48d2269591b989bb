package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/wire"
)

// cluster is how a node finds and reaches the others: Redis presence, bus
// and registry with --redis, or in-process ones for a single node.
type cluster struct {
	presence chat.Presence
	bus      chat.Bus
	limiter  chat.RateLimiter // nil for a single node

	client   goredis.UniversalClient // nil for a single node
	rbus     *redis.Bus
	rpres    *redis.Presence
	registry *redis.Registry
}

func openCluster(ctx context.Context, cfg serveConfig) (*cluster, error) {
	if cfg.redis == "" {
		return &cluster{presence: inmem.NewPresence(cfg.nodeID), bus: inmem.NewBus(cfg.nodeID)}, nil
	}
	// Redis is not asked here: waitBackends waits for it at start, and
	// later outages are ridden out (readiness reports them).
	client, err := newRedisClient(cfg.redis)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	p := redis.NewPresence(client, cfg.redisPrefix, cfg.nodeID, 30*time.Second)
	b := redis.NewBus(client, cfg.redisPrefix, cfg.nodeID, redis.BusOptions{})
	return &cluster{
		presence: p,
		bus:      b,
		limiter:  redis.NewLimiter(client, cfg.redisPrefix),
		client:   client,
		rbus:     b,
		rpres:    p,
		registry: redis.NewRegistry(client, cfg.redisPrefix, cfg.registryTTL),
	}, nil
}

// start keeps this node's presence entries and registry entry alive.
func (c *cluster) start(ctx context.Context, info func() redis.NodeInfo, log *slog.Logger) {
	if c.client == nil {
		return
	}
	go func() {
		if err := c.rpres.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("presence refresh stopped", "err", err)
		}
	}()
	go func() {
		if err := c.registry.Run(ctx, info); err != nil && ctx.Err() == nil {
			log.Error("registry refresh stopped", "err", err)
		}
	}()
	// After an outage or a master switch, put this node's entries back
	// now rather than at the next refresh: presence, registry and, on a
	// Redis Cluster, the bus's fan-out lists. (The bus notices a break of
	// its own link by itself: its reading connection breaks, and it tells
	// the clients to resync.)
	go redis.Watch(ctx, c.client, time.Second, log, func(ctx context.Context) {
		if err := c.rpres.Refresh(ctx); err != nil {
			log.Warn("presence refresh after a Redis change failed", "err", err)
		}
		if err := c.registry.Register(ctx, info()); err != nil {
			log.Warn("registration after a Redis change failed", "err", err)
		}
		if err := c.rbus.Renew(ctx); err != nil {
			log.Warn("bus lists after a Redis change failed", "err", err)
		}
	})
}

// register exposes the Redis adapters' own counters as metrics, so an
// operator (and a test) can see the Redis work per message.
func (c *cluster) register(reg prometheus.Registerer) {
	if c.rbus == nil {
		return
	}
	counter := func(name, help string, f func(redis.BusStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(c.rbus.Stats())) })
	}
	reg.MustRegister(
		counter("switchboard_bus_commands_total", "Redis commands issued by the bus, reads included.", func(s redis.BusStats) uint64 { return s.Commands }),
		counter("switchboard_bus_sends_total", "Envelopes sent to other nodes' inboxes.", func(s redis.BusStats) uint64 { return s.Sends }),
		counter("switchboard_bus_publishes_total", "Large-group events published on a topic.", func(s redis.BusStats) uint64 { return s.Publishes }),
		counter("switchboard_bus_broadcasts_total", "Events broadcast to every node.", func(s redis.BusStats) uint64 { return s.Broadcasts }),
		counter("switchboard_bus_resyncs_total", "Times the bus link broke and clients were told to resync.", func(s redis.BusStats) uint64 { return s.Resyncs }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_presence_commands_total", Help: "Redis commands issued by presence."},
			func() float64 { return float64(c.rpres.Stats().Commands) }),
	)
}

func (c *cluster) ping(ctx context.Context) error {
	if c.client == nil {
		return nil
	}
	if err := c.client.Ping(ctx).Err(); err != nil {
		// The error names Redis's address: log it, do not answer it.
		slog.Warn("redis ping", "err", err)
		return chat.Errorf(chat.EUnavailable, "redis unreachable")
	}
	return nil
}

// maxAlternates bounds the other nodes a discovery answer lists.
const maxAlternates = 3

// discover returns the least-loaded live node, or this one when alone, and
// up to maxAlternates others to try if it cannot be reached. Only nodes
// that refreshed their registry entry lately are named (Registry.Nodes),
// so a crashed node drops out within 2/3 of the registry TTL.
func (c *cluster) discover(ctx context.Context, selfURL, selfID string) (wire.DiscoverResponse, error) {
	self := wire.DiscoverResponse{WSURL: selfURL, Node: selfID}
	if c.registry == nil {
		return self, nil
	}
	nodes, err := c.registry.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		// Redis is out: this node is alive, so it is a fair answer.
		return self, nil
	}
	out := wire.DiscoverResponse{WSURL: nodes[0].URL, Node: nodes[0].ID}
	selfListed := nodes[0].ID == selfID
	for _, n := range nodes[1:] {
		selfListed = selfListed || n.ID == selfID
		if len(out.Alternates) < maxAlternates {
			out.Alternates = append(out.Alternates, n.URL)
		}
	}
	if !selfListed && len(out.Alternates) < maxAlternates {
		// This node answers, so it is alive even if its entry is late.
		out.Alternates = append(out.Alternates, selfURL)
	}
	return out, nil
}

// leaveDiscovery stops discovery from handing out this node.
func (c *cluster) leaveDiscovery(ctx context.Context, id string) {
	if c.registry != nil {
		_ = c.registry.Deregister(ctx, id)
	}
}

// leave drops this node's presence entries at once rather than at their TTL.
func (c *cluster) leave(ctx context.Context) {
	if c.rpres != nil {
		_ = c.rpres.Leave(ctx)
	}
}

func (c *cluster) close() {
	if c.client != nil {
		_ = c.client.Close()
	}
}
