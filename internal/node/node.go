// Package node is one Switchboard node's runtime: the group-committed
// write path, the dispatch of committed messages, routing of events to the
// nodes that hold their recipients, large-group topics, per-conversation
// push order, the member cache and the local presence of users with their
// grace timers. The rules live in internal/chat and call it through
// chat.Runtime; each stateful piece here has its own lock, and none is held
// over network or disk I/O.
package node

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Config holds the runtime's dependencies and tunables. Store, Presence, Bus
// and NodeID are required; zero values take the defaults.
type Config struct {
	Store    chat.Store
	Presence chat.Presence
	Bus      chat.Bus
	NodeID   string
	Now      func() time.Time
	Logger   *slog.Logger

	PresenceGrace time.Duration // default 5s
	MaxBatch      int           // messages per store transaction, default 4096
	// CommitWait spaces commits that come close together: a batch that
	// would start less than CommitWait after the previous one started
	// waits for the rest of it, and takes what arrives meanwhile (up to
	// MaxBatch). A message after a quiet spell commits at once, and so
	// does a batch that already holds waitBelow messages; under a steady
	// stream of sends each commit carries several. Waits that gather
	// little (senders waiting for their acks) stop; see pacer. 0 never
	// waits.
	CommitWait  time.Duration
	MemberCache time.Duration // default 30s
	// LargeGroup is the member count above which a group's events travel
	// on its topic (when the Bus is a chat.TopicBus) instead of one envelope
	// per node with recipients. 0 turns topics off.
	LargeGroup int
	// ReorderWait is how long a node holds a pushed message whose
	// predecessor has not reached it yet (default 1s); see sequencer.
	ReorderWait time.Duration
	Metrics     chat.Metrics
}

// Node is the runtime of one node. It implements chat.Runtime.
type Node struct {
	cfg Config
	log *slog.Logger

	deliverer chat.Deliverer
	hooks     chat.Hooks
	order     *sequencer // message pushes in seq order per conversation
	revOrder  *sequencer // update pushes in rev order per conversation
	members   *chat.Cache[string, *chat.MemberSet]
	topics    *topics // nil when large-group topics are off
	local     *localPresence
	nodeLocal bool   // the Presence knows only this node (chat.NodeLocal): route asks it nothing
	rooms     *rooms // watched rooms' online members

	// The write path: Commit queues, writeLoop commits in batches, ackLoop
	// answers the senders, fanOutLoop pushes to the members. Stop closes
	// stopping; the writer then drains what senders already in flight put
	// in the queue.
	queue    chan *pending
	dispatch chan []*pending
	fanout   chan []*pending
	stopping chan struct{}
	stopOnce sync.Once
	inflight atomic.Int64 // Commit calls between their stopping check and their enqueue
	writers  sync.WaitGroup
}

var _ chat.Runtime = (*Node)(nil)

// New returns a runtime; chat.Service starts it.
func New(cfg Config) *Node {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PresenceGrace == 0 {
		cfg.PresenceGrace = 5 * time.Second
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.ReorderWait == 0 {
		cfg.ReorderWait = time.Second
	}
	if cfg.MemberCache == 0 {
		cfg.MemberCache = 30 * time.Second
	}
	n := &Node{
		cfg:      cfg,
		log:      cfg.Logger,
		members:  chat.NewCache[string, *chat.MemberSet](10_000, cfg.MemberCache, cfg.Now),
		queue:    make(chan *pending, 8192),
		dispatch: make(chan []*pending, 64),
		fanout:   make(chan []*pending, 256),
		stopping: make(chan struct{}),
	}
	if tb, ok := cfg.Bus.(chat.TopicBus); ok && cfg.LargeGroup > 0 {
		n.topics = newTopics(tb, cfg.Logger)
	}
	if l, ok := cfg.Presence.(chat.NodeLocal); ok {
		n.nodeLocal = l.NodeLocal()
	}
	n.local = newLocalPresence(n)
	n.rooms = newRooms(n)
	return n
}

// NodeID returns this node's id.
func (n *Node) NodeID() string { return n.cfg.NodeID }

// Start runs the write path and the bus consumer, delivering events to d,
// until ctx ends or Stop is called.
func (n *Node) Start(ctx context.Context, d chat.Deliverer, h chat.Hooks) {
	n.deliverer = d
	n.hooks = h
	n.order = newSequencer(bySeq, n.cfg.ReorderWait, n.cfg.Now, d.Deliver)
	n.revOrder = newSequencer(byRev, n.cfg.ReorderWait, n.cfg.Now, d.Deliver)
	n.writers.Add(3)
	go func() { defer n.writers.Done(); n.writeLoop() }()
	go func() { defer n.writers.Done(); n.ackLoop() }()
	go func() { defer n.writers.Done(); n.fanOutLoop() }()
	// The bus consumer runs until ctx ends, after Stop, so that events for
	// the writes Stop finishes still reach other nodes.
	go func() {
		for ctx.Err() == nil {
			err := n.cfg.Bus.Run(ctx, n.onBusEvent)
			if ctx.Err() != nil {
				return
			}
			n.log.Warn("bus consumer stopped; restarting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

// Stop finishes the messages already accepted and stops the write path.
func (n *Node) Stop() {
	n.stopOnce.Do(func() { close(n.stopping) })
	n.writers.Wait()
}

// Broadcast delivers ev to every node, this one included. A member event
// also drops this node's cached members at once (the others drop theirs
// when it reaches them).
func (n *Node) Broadcast(ctx context.Context, ev *chat.Event) {
	if ev.Kind == chat.EventMember && ev.Member != nil {
		n.members.Forget(ev.Member.ConversationID)
	}
	if err := n.cfg.Bus.Broadcast(ctx, ev); err != nil {
		n.log.Warn("broadcast", "kind", ev.Kind, "err", err)
	}
}

func (n *Node) observe(op string, start time.Time) {
	if f := n.cfg.Metrics.StoreLatency; f != nil {
		f(op, n.cfg.Now().Sub(start))
	}
}
