package node

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// pending is a message on its way through the write path.
type pending struct {
	append chat.Append
	conn   chat.ConnInfo
	done   func(chat.Message, error)
}

// Commit queues m for the group-committed write path; see chat.Runtime.
func (n *Node) Commit(ctx context.Context, a chat.Append, conn chat.ConnInfo, done func(chat.Message, error)) {
	p := &pending{append: chat.Append{Message: a.Message, MentionIDs: a.MentionIDs}, conn: conn, done: done}
	// Count this call before looking at stopping: the writer, once stopping
	// is closed, waits for the count to reach zero before its last drain,
	// so a message that got past the check is never left in the queue.
	n.inflight.Add(1)
	defer n.inflight.Add(-1)
	select {
	case <-n.stopping:
		done(chat.Message{}, chat.Errorf(chat.EUnavailable, "node is shutting down"))
		return
	default:
	}
	select {
	case n.queue <- p:
	case <-ctx.Done():
		done(chat.Message{}, chat.Errorf(chat.EUnavailable, "request cancelled"))
	}
}

// next returns the next queued message, blocking until one comes or, once
// the node is stopping, until no sender is in flight and the queue is
// empty: then ok is false.
func (n *Node) next() (p *pending, ok bool) {
	select {
	case p := <-n.queue:
		return p, true
	case <-n.stopping:
	}
	for {
		select {
		case p := <-n.queue:
			return p, true
		default:
		}
		if n.inflight.Load() == 0 && len(n.queue) == 0 {
			return nil, false
		}
		time.Sleep(time.Millisecond) // a sender is between its check and its enqueue
	}
}

// writeLoop takes queued messages and commits them in batches: concurrent
// senders share one transaction (group commit).
func (n *Node) writeLoop() {
	defer close(n.dispatch)
	pace := newPacer(n.cfg.CommitWait, n.cfg.MaxBatch)
	for {
		p, ok := n.next()
		if !ok {
			return
		}
		batch := []*pending{p}
	fill:
		for len(batch) < n.cfg.MaxBatch {
			select {
			case q := <-n.queue:
				batch = append(batch, q)
			default:
				break fill
			}
		}
		if d := pace.delay(time.Now(), len(batch)); d > 0 {
			had := len(batch)
			batch = n.gather(batch, d)
			pace.waited(len(batch)-had, time.Now())
		}
		pace.committing(time.Now())
		n.commit(batch)
		n.dispatch <- batch
	}
}

// gather adds to batch what is queued within d, until the batch is full or
// the node is stopping (a stopping node commits what it has at once).
func (n *Node) gather(batch []*pending, d time.Duration) []*pending {
	t := time.NewTimer(d)
	defer t.Stop()
	for len(batch) < n.cfg.MaxBatch {
		select {
		case q := <-n.queue:
			batch = append(batch, q)
		case <-t.C:
			return batch
		case <-n.stopping:
			return batch
		}
	}
	return batch
}

// commit stores a batch in one transaction and sets each message's outcome.
func (n *Node) commit(batch []*pending) {
	appends := make([]*chat.Append, len(batch))
	for i, q := range batch {
		appends[i] = &q.append
	}
	start := n.cfg.Now()
	// The write must finish even if the client has gone: its message may
	// be committed, and its retry must then find it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := n.cfg.Store.AppendMessages(ctx, appends)
	cancel()
	n.observe("append", start)
	if f := n.cfg.Metrics.BatchSize; f != nil {
		f(len(batch))
	}
	if err == nil {
		return
	}
	code := chat.ErrorCode(err)
	if code == chat.EUnavailable {
		// The store logs an outage once at each end; one line per failed
		// batch would bury that under hundreds.
		n.log.Debug("append batch", "n", len(batch), "err", err)
	} else {
		n.log.Error("append batch", "n", len(batch), "err", err)
	}
	if code == chat.EInternal {
		code = chat.EUnavailable
	}
	for _, q := range batch {
		q.append.Err = chat.Errorf(code, "message not stored: %s", chat.ErrorMessage(err))
	}
}

// ackLoop answers committed batches in commit order, then hands them to
// the fan-out: a sender's ack never waits for the fan-out of earlier
// batches, which may be slow while Redis is (a Sentinel failover).
func (n *Node) ackLoop() {
	defer close(n.fanout)
	for batch := range n.dispatch {
		for _, p := range batch {
			if a := &p.append; a.Err != nil {
				p.done(chat.Message{}, a.Err)
			} else {
				p.done(a.Result, nil)
			}
		}
		n.fanout <- batch
	}
}

// fanOutLoop pushes committed messages in commit order, so every
// connection sees a conversation's messages in seq order.
func (n *Node) fanOutLoop() {
	ctx := context.Background()
	for batch := range n.fanout {
		for _, p := range batch {
			a := &p.append
			if a.Err != nil || a.Duplicate {
				continue
			}
			if f := n.cfg.Metrics.MessageSent; f != nil {
				f()
			}
			ms, err := n.Members(ctx, a.Result.ConversationID)
			if err != nil {
				n.log.Warn("fan-out members", "err", err)
				continue
			}
			// The event points at the stored message itself: nothing changes
			// a batch once it is committed.
			n.Publish(ctx, &chat.Event{Kind: chat.EventMessage, Message: &a.Result, ExceptConn: p.conn.ConnID, PrevTS: a.PrevTS}, ms, ms.IDs())
		}
	}
}
