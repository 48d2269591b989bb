package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.Bus = (*Bus)(nil)

// BusOptions tunes a Bus. Zero values take the defaults.
type BusOptions struct {
	// MaxLen is how many entries each stream keeps (approximately; Redis
	// trims whole blocks). A node that falls further behind than this
	// loses events and tells its clients to resync. Default 10000.
	MaxLen int64
	// Batch is how many entries of each stream one read returns. It is
	// kept below MaxLen. Default 256.
	Batch int64
	// Block is how long one read waits for entries. Default 2s.
	Block time.Duration
	// StreamTTL is how long an inbox or topic stream outlives the last
	// node keeping it alive: the inbox of a node that is gone is dropped
	// after it, and sends to that node then fail. Default 5m.
	StreamTTL time.Duration
	// Backoff is the first delay before reconnecting to an unreachable
	// Redis; it doubles up to 5s. Default 100ms.
	Backoff time.Duration
}

func (o *BusOptions) defaults() {
	if o.MaxLen <= 0 {
		o.MaxLen = 10000
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Batch >= o.MaxLen {
		o.Batch = max(1, o.MaxLen/2)
	}
	if o.Block <= 0 {
		o.Block = 2 * time.Second
	}
	if o.StreamTTL <= 0 {
		o.StreamTTL = 5 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
}

// Stream entry fields: an event, or a marker that only wakes or creates a
// stream and is skipped by readers. On a cluster, a topic event in an inbox
// also names its topic.
const (
	fieldEvent  = "e"
	fieldMarker = "w"
	fieldTopic  = "t"
)

// Bus is the cluster Bus. Each node reads its own capped stream (its
// inbox), the broadcast stream every node reads, and the streams of the
// topics it subscribed to, with one blocking XREAD over all of them.
//
// Send is one XADD to the target node's inbox; Broadcast one XADD to the
// broadcast stream; PublishTopic one XADD to the topic's stream. Events
// from one sender to one node keep their order.
//
// On a Redis Cluster one XREAD may only name streams of one hash slot, so
// each node reads its inbox alone and the other two become fan-outs to
// inboxes (see fanout.go): Broadcast appends to the inbox of every live
// node, PublishTopic to the inbox of every node subscribed to the topic,
// each one lookup and then one XADD per node, pipelined (one round trip per
// master). The Redis work still grows with the nodes, not the members, and
// the inboxes, one key per node, spread over the masters.
//
// When the link to Redis breaks, or a stream was trimmed past what this
// node had read, Run passes an event of kind chat.EventResync to its handler
// once it reads again, and goes on from where it was.
type Bus struct {
	client  goredis.UniversalClient
	cluster bool // inbox-only reading and fan-out; see fanout.go
	prefix  string
	node    string
	opt     BusOptions
	n       counter

	sends, broadcasts, publishes, xadds, reads, resyncs, dropped atomic.Uint64

	running atomic.Bool
	// Owned by Run (one at a time); positions are kept across runs.
	inboxID, bcastID string
	// reader is the connection Run reads on. It is its own connection so
	// that a broken link shows as an error instead of being retried away
	// on another connection (which would hide that events were lost).
	reader *goredis.Conn

	mu     sync.Mutex
	topics map[string]string // subscribed topic -> last id read
}

// NewBus returns the Bus of node. Keys start with prefix.
func NewBus(client goredis.UniversalClient, prefix, node string, opt BusOptions) *Bus {
	opt.defaults()
	return &Bus{client: client, cluster: isCluster(client), prefix: prefix, node: node, opt: opt, topics: make(map[string]string)}
}

// BusStats counts what a Bus asked of Redis and what it saw.
type BusStats struct {
	Commands   uint64 // every command sent, reads included
	RoundTrips uint64
	XAdds      uint64 // entries appended: sends, broadcasts, publishes and markers
	Sends      uint64
	Broadcasts uint64
	Publishes  uint64 // topic publishes that reached a subscribed topic
	Reads      uint64
	Resyncs    uint64 // resync events passed to the handler
	Dropped    uint64 // entries that could not be decoded
}

// Stats returns the counts so far.
func (b *Bus) Stats() BusStats {
	return BusStats{
		Commands:   b.n.commands.Load(),
		RoundTrips: b.n.roundTrips.Load(),
		XAdds:      b.xadds.Load(),
		Sends:      b.sends.Load(),
		Broadcasts: b.broadcasts.Load(),
		Publishes:  b.publishes.Load(),
		Reads:      b.reads.Load(),
		Resyncs:    b.resyncs.Load(),
		Dropped:    b.dropped.Load(),
	}
}

func (b *Bus) inboxKey(node string) string  { return b.prefix + ":inbox:" + node }
func (b *Bus) bcastKey() string             { return b.prefix + ":bcast" }
func (b *Bus) topicKey(topic string) string { return b.prefix + ":topic:" + topic }

func (b *Bus) xaddArgs(key string, mustExist bool, field string, value any) *goredis.XAddArgs {
	return &goredis.XAddArgs{
		Stream:     key,
		NoMkStream: mustExist,
		MaxLen:     b.opt.MaxLen,
		Approx:     true,
		Values:     []any{field, value},
	}
}

// Send appends ev to node's inbox. EUnavailable if Redis cannot be reached
// or node has no inbox (it is not running and has not been for StreamTTL).
func (b *Bus) Send(ctx context.Context, node string, ev *chat.Event) error {
	err := b.xaddEvent(ctx, b.inboxKey(node), true, ev)
	if errors.Is(err, goredis.Nil) {
		return chat.Errorf(chat.EUnavailable, "node %q is not running", node)
	}
	if err != nil {
		return translate("bus send", err)
	}
	b.sends.Add(1)
	return nil
}

// Broadcast appends ev to the stream every node reads, this one included
// (on a cluster: to every live node's inbox).
func (b *Bus) Broadcast(ctx context.Context, ev *chat.Event) error {
	var err error
	if b.cluster {
		_, err = b.fanOut(ctx, b.membersKey(), "", ev)
	} else {
		err = b.xaddEvent(ctx, b.bcastKey(), false, ev)
	}
	if err != nil {
		return translate("bus broadcast", err)
	}
	b.broadcasts.Add(1)
	return nil
}

// SubscribeTopic makes Run deliver the events published to topic from now
// on. Subscribing twice is the same as once. Meant for very large groups:
// a node subscribes while it has a member of the group online.
func (b *Bus) SubscribeTopic(ctx context.Context, topic string) error {
	b.mu.Lock()
	_, ok := b.topics[topic]
	b.mu.Unlock()
	if ok {
		return nil
	}
	if b.cluster {
		return b.subscribeMember(ctx, topic)
	}
	// A marker creates the stream if needed and gives the position to
	// read from, with nothing published after it missed.
	id, err := b.touch(ctx, b.topicKey(topic))
	if err != nil {
		return translate("bus subscribe", err)
	}
	b.mu.Lock()
	if _, ok := b.topics[topic]; !ok {
		b.topics[topic] = id
	}
	b.mu.Unlock()
	b.wake(ctx)
	return nil
}

// UnsubscribeTopic stops delivering topic's events. The topic's stream
// expires once no node keeps it alive.
func (b *Bus) UnsubscribeTopic(ctx context.Context, topic string) error {
	b.mu.Lock()
	_, ok := b.topics[topic]
	delete(b.topics, topic)
	b.mu.Unlock()
	if ok && b.cluster {
		// Best effort: events published meanwhile are dropped on arrival,
		// and a leftover entry expires with its deadline.
		b.n.add(1)
		_ = b.client.HDel(ctx, b.subscribersKey(topic), b.node).Err()
		return nil
	}
	if ok {
		b.wake(ctx)
	}
	return nil
}

// PublishTopic delivers ev to every node subscribed to topic: one XADD
// whatever the number of nodes and members (on a cluster, one lookup and
// one XADD per subscribed node). A topic no node subscribes to drops ev and
// is no error.
func (b *Bus) PublishTopic(ctx context.Context, topic string, ev *chat.Event) error {
	if b.cluster {
		n, err := b.fanOut(ctx, b.subscribersKey(topic), topic, ev)
		if err != nil {
			return translate("bus publish", err)
		}
		if n > 0 {
			b.publishes.Add(1)
		}
		return nil
	}
	err := b.xaddEvent(ctx, b.topicKey(topic), true, ev)
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		return translate("bus publish", err)
	}
	b.publishes.Add(1)
	return nil
}

// xadd appends one entry to key and counts it. With mustExist a missing
// stream is not created and the error is goredis.Nil.
func (b *Bus) xadd(ctx context.Context, key string, mustExist bool, field string, value any) (string, error) {
	b.n.add(1)
	b.xadds.Add(1)
	return b.client.XAdd(ctx, b.xaddArgs(key, mustExist, field, value)).Result()
}

// xaddEvent appends ev, encoded, to key.
func (b *Bus) xaddEvent(ctx context.Context, key string, mustExist bool, ev *chat.Event) error {
	data, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	_, err = b.xadd(ctx, key, mustExist, fieldEvent, data)
	return err
}

// touch appends a marker to key (creating it) and renews its TTL; it
// returns the marker's id.
func (b *Bus) touch(ctx context.Context, key string) (string, error) {
	p := b.client.TxPipeline()
	add := p.XAdd(ctx, b.xaddArgs(key, false, fieldMarker, "1"))
	p.PExpire(ctx, key, b.opt.StreamTTL)
	_, err := p.Exec(ctx)
	b.n.add(4) // MULTI, XADD, PEXPIRE, EXEC
	b.xadds.Add(1)
	if err != nil {
		return "", err
	}
	return add.Val(), nil
}

// wake makes a blocked read of Run return, so it notices a change of its
// topics or a cancelled context. Best effort.
func (b *Bus) wake(ctx context.Context) {
	if !b.running.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_, _ = b.xadd(ctx, b.inboxKey(b.node), true, fieldMarker, "1")
}

// stream is one stream Run reads and its position.
type stream struct {
	key   string
	topic string // "" for the inbox and the broadcast stream
	last  string
}

// entry is one event read, with its id to merge streams in order.
type entry struct {
	id []uint64
	ev *chat.Event
}

// Run reads this node's inbox, the broadcast stream and the subscribed
// topics, calling h for each event in order, until ctx ends; then it
// returns ctx's error. It reconnects by itself, and calls h with an
// EventResync event when events may have been lost. Only one Run may be
// active at a time; a later Run goes on from where the previous stopped.
func (b *Bus) Run(ctx context.Context, h func(*chat.Event)) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("redis bus: Run is already running")
	}
	defer b.running.Store(false)
	stop := context.AfterFunc(ctx, func() { b.wake(ctx) })
	defer stop()
	defer b.dropReader()

	var (
		broken    bool // the link failed since the last good read
		behind    bool // the last read filled a batch: read with trim checks
		delay     = b.opt.Backoff
		keepAlive time.Time
	)
	fail := func() {
		broken = true
		b.dropReader()
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
	for ctx.Err() == nil {
		if b.inboxID == "" {
			if err := b.start(ctx); err != nil {
				fail()
				continue
			}
			keepAlive = time.Now()
		}
		if broken || time.Since(keepAlive) > b.opt.StreamTTL/3 {
			lost, err := b.keepAlive(ctx)
			if err != nil {
				fail()
				continue
			}
			keepAlive = time.Now()
			if lost || broken {
				broken = false
				b.resync(h)
			}
		}
		streams := b.streams()
		var (
			res  []goredis.XStream
			lost bool
			err  error
		)
		if behind {
			res, lost, err = b.readChecked(ctx, streams)
		} else {
			res, err = b.read(ctx, streams)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			fail()
			continue
		}
		delay = b.opt.Backoff
		if !behind && b.full(res) {
			// A full batch may follow a trim this read cannot see:
			// read it again with the trim check.
			behind = true
			continue
		}
		behind = b.full(res)
		if lost {
			b.resync(h)
		}
		b.deliver(streams, res, h)
	}
	return ctx.Err()
}

func (b *Bus) resync(h func(*chat.Event)) {
	b.resyncs.Add(1)
	h(&chat.Event{Kind: chat.EventResync})
}

// start creates this node's inbox and takes the current ends of the inbox
// and the broadcast stream as the positions to read from. Positions are
// always ids of entries that exist (a marker if need be), which the trim
// check relies on.
func (b *Bus) start(ctx context.Context) error {
	id, err := b.touch(ctx, b.inboxKey(b.node))
	if err != nil {
		return err
	}
	if b.cluster {
		// Listed only once the inbox exists, so a broadcast never
		// misses a node that reads.
		if err := b.stamp(ctx, b.membersKey()); err != nil {
			return err
		}
		b.inboxID = id
		return nil
	}
	b.n.add(1)
	last, err := b.client.XRevRangeN(ctx, b.bcastKey(), "+", "-", 1).Result()
	if err != nil {
		return err
	}
	bcast := ""
	if len(last) > 0 {
		bcast = last[0].ID
	} else {
		// The broadcast stream is shared and never expires: no TTL.
		if bcast, err = b.xadd(ctx, b.bcastKey(), false, fieldMarker, "1"); err != nil {
			return err
		}
	}
	b.inboxID, b.bcastID = id, bcast
	return nil
}

// keepAlive renews the TTL of the inbox and the subscribed topics, and
// recreates those that are gone; lost reports that one was gone (it
// expired or Redis lost it), so events for it may have been lost.
func (b *Bus) keepAlive(ctx context.Context) (lost bool, err error) {
	keys := []string{b.inboxKey(b.node)}
	b.mu.Lock()
	for t := range b.topics {
		if !b.cluster { // on a cluster topics have no stream
			keys = append(keys, b.topicKey(t))
		}
	}
	b.mu.Unlock()
	p := b.client.Pipeline()
	cmds := make([]*goredis.BoolCmd, len(keys))
	for i, k := range keys {
		cmds[i] = p.PExpire(ctx, k, b.opt.StreamTTL)
	}
	_, err = p.Exec(ctx)
	b.n.add(len(keys))
	if err != nil {
		return false, err
	}
	for i, c := range cmds {
		if c.Val() {
			continue
		}
		lost = true
		if _, err := b.touch(ctx, keys[i]); err != nil {
			return lost, err
		}
	}
	if b.cluster {
		return lost, b.stampAll(ctx)
	}
	return lost, nil
}

// streams lists what to read and from where.
func (b *Bus) streams() []stream {
	if b.cluster {
		return []stream{{key: b.inboxKey(b.node), last: b.inboxID}}
	}
	out := []stream{
		{key: b.inboxKey(b.node), last: b.inboxID},
		{key: b.bcastKey(), last: b.bcastID},
	}
	b.mu.Lock()
	for t, id := range b.topics {
		out = append(out, stream{key: b.topicKey(t), topic: t, last: id})
	}
	b.mu.Unlock()
	return out
}

func readArgs(streams []stream, count int64, block time.Duration) *goredis.XReadArgs {
	args := make([]string, 0, 2*len(streams))
	for _, s := range streams {
		args = append(args, s.key)
	}
	for _, s := range streams {
		args = append(args, s.last)
	}
	return &goredis.XReadArgs{Streams: args, Count: count, Block: block}
}

// conn returns the connection Run reads on: to the server, or on a
// cluster to the master that holds this node's inbox.
func (b *Bus) conn(ctx context.Context) (*goredis.Conn, error) {
	if b.reader != nil {
		return b.reader, nil
	}
	switch c := b.client.(type) {
	case *goredis.ClusterClient:
		m, err := c.MasterForKey(ctx, b.inboxKey(b.node))
		if err != nil {
			return nil, err
		}
		b.reader = m.Conn()
	case *goredis.Client:
		b.reader = c.Conn()
	default:
		return nil, fmt.Errorf("redis bus: unsupported client %T", b.client)
	}
	return b.reader, nil
}

func (b *Bus) dropReader() {
	if b.reader != nil {
		_ = b.reader.Close()
		b.reader = nil
	}
	if c, ok := b.client.(*goredis.ClusterClient); ok {
		// The inbox's master may have failed over: learn the slots
		// again before the next read.
		c.ReloadState(context.Background())
	}
}

// read waits up to Block for entries after each stream's position.
func (b *Bus) read(ctx context.Context, streams []stream) ([]goredis.XStream, error) {
	conn, err := b.conn(ctx)
	if err != nil {
		return nil, err
	}
	b.n.add(1)
	b.reads.Add(1)
	res, err := conn.XRead(ctx, readArgs(streams, b.opt.Batch, b.opt.Block)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	return res, err
}

// readChecked reads without waiting and, in the same transaction, asks
// each stream where it now starts, to tell whether it was trimmed past this
// node's position (events this node never read).
func (b *Bus) readChecked(ctx context.Context, streams []stream) ([]goredis.XStream, bool, error) {
	conn, err := b.conn(ctx)
	if err != nil {
		return nil, false, err
	}
	p := conn.TxPipeline()
	rd := p.XRead(ctx, readArgs(streams, b.opt.Batch, -1))
	infos := make([]*goredis.XInfoStreamCmd, len(streams))
	for i, s := range streams {
		infos[i] = p.XInfoStream(ctx, s.key)
	}
	_, _ = p.Exec(ctx)
	b.n.add(len(streams) + 3)
	b.reads.Add(1)
	res, err := rd.Result()
	if errors.Is(err, goredis.Nil) {
		res, err = nil, nil
	}
	if err != nil {
		return nil, false, err
	}
	lost := false
	for i, s := range streams {
		info, err := infos[i].Result()
		if err != nil {
			if strings.Contains(err.Error(), "no such key") {
				continue
			}
			return nil, false, err
		}
		// Trimming removes the oldest entries, so a first entry past the
		// position means what followed the position is gone. (It may
		// also be that the trim ended right after it; then the resync is
		// merely unneeded.) Deleted ids past it mean the same.
		if info.Length > 0 && idLess(s.last, info.FirstEntry.ID) ||
			info.MaxDeletedEntryID != "" && idLess(s.last, info.MaxDeletedEntryID) {
			lost = true
		}
	}
	return res, lost, nil
}

func (b *Bus) full(res []goredis.XStream) bool {
	for _, s := range res {
		if int64(len(s.Messages)) >= b.opt.Batch {
			return true
		}
	}
	return false
}

// deliver advances the positions past res and calls h for its events,
// merged across streams in id order.
func (b *Bus) deliver(streams []stream, res []goredis.XStream, h func(*chat.Event)) {
	var out []entry
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		last := s.Messages[len(s.Messages)-1].ID
		if !b.advance(streams, s.Stream, last) {
			continue // a topic unsubscribed meanwhile
		}
		for _, m := range s.Messages {
			raw, ok := m.Values[fieldEvent]
			if !ok {
				continue // a marker
			}
			if t, ok := m.Values[fieldTopic].(string); ok && !b.subscribed(t) {
				continue // fanned out before this node unsubscribed
			}
			str, _ := raw.(string)
			ev, err := decodeEvent([]byte(str))
			if err != nil {
				b.dropped.Add(1)
				continue
			}
			out = append(out, entry{id: parseID(m.ID), ev: ev})
		}
	}
	if len(res) > 1 {
		slices.SortStableFunc(out, func(x, y entry) int { return slices.Compare(x.id, y.id) })
	}
	for _, e := range out {
		h(e.ev)
	}
}

// advance moves the position of the stream key to last; it reports false
// for a topic no longer subscribed, whose entries are then dropped.
func (b *Bus) advance(streams []stream, key, last string) bool {
	for _, s := range streams {
		if s.key != key {
			continue
		}
		switch {
		case s.topic != "":
			b.mu.Lock()
			defer b.mu.Unlock()
			if _, ok := b.topics[s.topic]; !ok {
				return false
			}
			b.topics[s.topic] = last
		case key == b.bcastKey():
			b.bcastID = last
		default:
			b.inboxID = last
		}
		return true
	}
	return false
}

// parseID splits a stream id "ms-seq" into its two numbers.
func parseID(id string) []uint64 {
	ms, seq, _ := strings.Cut(id, "-")
	a, _ := strconv.ParseUint(ms, 10, 64)
	c, _ := strconv.ParseUint(seq, 10, 64)
	return []uint64{a, c}
}

// idLess reports whether stream id a comes before b.
func idLess(a, b string) bool { return slices.Compare(parseID(a), parseID(b)) < 0 }
