package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/node"
)

// gatedStore holds every AppendMessages until gate is closed, and records
// the batch sizes it was given.
type gatedStore struct {
	chat.Store
	gate  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func (g *gatedStore) AppendMessages(ctx context.Context, batch []*chat.Append) error {
	<-g.gate
	g.mu.Lock()
	g.sizes = append(g.sizes, len(batch))
	g.mu.Unlock()
	return g.Store.AppendMessages(ctx, batch)
}

// TestBatchesStopAtMaxBatch: messages queued behind a busy store go to it
// in batches of at most MaxBatch, filled up to it, and every one is stored
// once, in the order it was sent.
func TestBatchesStopAtMaxBatch(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	gated := &gatedStore{Store: st, gate: make(chan struct{})}
	const maxBatch, sends = 8, 41
	presence := inmem.NewPresence("n1")
	rt := node.New(node.Config{Store: gated, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1", MaxBatch: maxBatch})
	svc := startService(t, st, presence, rt, newJournal())

	ann, bob := signup(t, svc, "ann"), signup(t, svc, "bob")
	var wg sync.WaitGroup
	seqs := make([]int64, sends)
	for i := range sends {
		wg.Add(1)
		// Send returns once the message is queued: all of them wait behind
		// the gate.
		svc.Send(ctx, ann, chat.SendRequest{ToUser: bob.Username, Text: fmt.Sprint(i), ClientMsgID: fmt.Sprint(i)},
			func(m chat.Message, err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("send %d: %v", i, err)
					return
				}
				seqs[i] = m.Seq
			})
	}
	close(gated.gate)
	wg.Wait()

	gated.mu.Lock()
	defer gated.mu.Unlock()
	total, full := 0, 0
	for _, size := range gated.sizes {
		if size > maxBatch {
			t.Errorf("a batch of %d; at most %d", size, maxBatch)
		}
		if size == maxBatch {
			full++
		}
		total += size
	}
	if total != sends || full == 0 {
		t.Errorf("batches %v: %d messages, %d full; want %d, some full", gated.sizes, total, full, sends)
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("send %d got seq %d; want %d (seqs %v)", i, seq, i+1, seqs)
		}
	}
}
