package node_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/node"
)

// gatedStore holds every AppendMessages until gate is closed, and records
// the batch sizes it was given.
type gatedStore struct {
	chat.Store
	gate    chan struct{}
	mu      sync.Mutex
	entered int // AppendMessages calls, counted before the gate
	sizes   []int
}

func (g *gatedStore) AppendMessages(ctx context.Context, batch []*chat.Append) error {
	g.mu.Lock()
	g.entered++
	g.mu.Unlock()
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

// TestCommitWaitGathers: with CommitWait, a message that follows a commit
// closely waits for more and commits with them (here until MaxBatch fills,
// as the wait is an hour); a stopping node commits what waits at once.
func TestCommitWaitGathers(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	gated := &gatedStore{Store: st, gate: make(chan struct{})}
	close(gated.gate)
	presence := inmem.NewPresence("n1")
	rt := node.New(node.Config{Store: gated, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1", MaxBatch: 4, CommitWait: time.Hour})
	svc := startService(t, st, presence, rt, newJournal())
	ann, bob := signup(t, svc, "ann"), signup(t, svc, "bob")

	send := func(i int) <-chan error {
		done := make(chan error, 1)
		svc.Send(ctx, ann, chat.SendRequest{ToUser: bob.Username, Text: fmt.Sprint(i), ClientMsgID: fmt.Sprint(i)},
			func(_ chat.Message, err error) { done <- err })
		return done
	}
	if err := <-send(0); err != nil { // the first commit has nothing to follow
		t.Fatal(err)
	}
	first := send(1)
	select {
	case err := <-first:
		t.Fatalf("a message right after a commit was answered (%v) before the wait was over", err)
	case <-time.After(50 * time.Millisecond):
	}
	rest := []<-chan error{first, send(2), send(3), send(4)}
	for i, done := range rest {
		if err := <-done; err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	last := send(5)
	rt.Stop()
	if err := <-last; err != nil {
		t.Fatalf("the message waiting at stop: %v", err)
	}
	gated.mu.Lock()
	defer gated.mu.Unlock()
	if want := []int{1, 4, 1}; fmt.Sprint(gated.sizes) != fmt.Sprint(want) {
		t.Errorf("batches %v; want %v", gated.sizes, want)
	}
}

// TestCommitWaitSkipsLargeBatches: a batch that is already large commits
// without waiting, however soon after the previous commit: under a closed
// loop a wait would only leave the store idle.
func TestCommitWaitSkipsLargeBatches(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	gated := &gatedStore{Store: st, gate: make(chan struct{})}
	presence := inmem.NewPresence("n1")
	rt := node.New(node.Config{Store: gated, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1", CommitWait: time.Hour})
	svc := startService(t, st, presence, rt, newJournal())
	ann, bob := signup(t, svc, "ann"), signup(t, svc, "bob")

	const queued = 40
	acks := make(chan error, queued+1)
	send := func(i int) {
		c := ann
		c.ConnID = fmt.Sprint(ann.ConnID, i)
		svc.Send(ctx, c, chat.SendRequest{ToUser: bob.Username, Text: fmt.Sprint(i), ClientMsgID: fmt.Sprint(i)},
			func(_ chat.Message, err error) { acks <- err })
	}
	send(0)
	// The first message is in the store, alone, before the rest queue.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		gated.mu.Lock()
		in := gated.entered
		gated.mu.Unlock()
		if in == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first batch never reached the store")
		}
	}
	for i := 1; i <= queued; i++ {
		send(i)
	}
	close(gated.gate)
	for i := 0; i <= queued; i++ {
		select {
		case err := <-acks:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d sends answered: a large batch waited", i, queued+1)
		}
	}
	gated.mu.Lock()
	defer gated.mu.Unlock()
	if want := []int{1, queued}; fmt.Sprint(gated.sizes) != fmt.Sprint(want) {
		t.Errorf("batches %v; want %v", gated.sizes, want)
	}
}
