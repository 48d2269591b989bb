package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/password"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// setup runs the rules on a runtime over the embedded store, with bus as
// the node's bus, and returns them with the store.
func setup(t testing.TB, bus chat.Bus, largeGroup int, d chat.Deliverer) (*chat.Service, *node.Node, chat.Store) {
	t.Helper()
	st := openStore(t)
	presence := inmem.NewPresence("n1")
	rt := node.New(node.Config{Store: st, Presence: presence, Bus: bus, NodeID: "n1", LargeGroup: largeGroup})
	return startService(t, st, presence, rt, d), rt, st
}

// openStore opens the embedded store in a temporary directory.
func openStore(t testing.TB) chat.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startService runs the rules over st on the runtime rt until the test
// ends.
func startService(t testing.TB, st chat.Store, presence chat.Presence, rt *node.Node, d chat.Deliverer) *chat.Service {
	t.Helper()
	var n atomic.Int64
	newID := func() string { return fmt.Sprintf("01J%023d", n.Add(1)) }
	svc := chat.NewService(chat.Config{
		Store: st, Presence: presence, Runtime: rt, NewID: newID,
		Hasher: password.Argon2id{MemoryKiB: 64, Time: 1},
	})
	runCtx, cancel := context.WithCancel(context.Background())
	svc.Start(runCtx, d)
	t.Cleanup(func() { svc.Stop(); cancel() })
	return svc
}

func signup(t testing.TB, svc *chat.Service, name string) chat.ConnInfo {
	t.Helper()
	u, err := svc.Signup(context.Background(), name, "a long password", "")
	if err != nil {
		t.Fatal(err)
	}
	return chat.ConnInfo{UserID: u.ID, Username: u.Username, ConnID: "n1/" + name}
}

// journal is a Deliverer that numbers what happens, acks and pushes alike,
// in one sequence.
type journal struct {
	mu     sync.Mutex
	n      int
	acks   map[string]int // message id -> when acked
	pushes map[string]int // message id -> when pushed
	seqs   map[string][]int64
}

func newJournal() *journal {
	return &journal{acks: map[string]int{}, pushes: map[string]int{}, seqs: map[string][]int64{}}
}

func (j *journal) Deliver(ev *chat.Event) {
	if ev.Kind != chat.EventMessage {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n++
	j.pushes[ev.Message.ID] = j.n
	j.seqs[ev.Message.ConversationID] = append(j.seqs[ev.Message.ConversationID], ev.Message.Seq)
}

func (j *journal) ack(m chat.Message) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n++
	j.acks[m.ID] = j.n
}

func (j *journal) pushed(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.pushes[id]
	return ok
}

func TestAckBeforeFanOutAndSeqOrder(t *testing.T) {
	j := newJournal()
	svc, _, _ := setup(t, inmem.NewBus("n1"), 0, j)
	ctx := context.Background()
	owner := signup(t, svc, "owner")
	g, err := svc.CreateGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	var senders []chat.ConnInfo
	for i := range 6 {
		s := signup(t, svc, fmt.Sprintf("sender%d", i))
		if _, err := svc.JoinGroup(ctx, chat.Session{UserID: s.UserID, Username: s.Username}, "room"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Connected(ctx, s); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, s)
	}
	const each = 50
	var wg sync.WaitGroup
	var ids sync.Map
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				done := make(chan struct{})
				svc.Send(ctx, s, chat.SendRequest{Conversation: g.ID, Text: "m", ClientMsgID: fmt.Sprint(i)}, func(m chat.Message, err error) {
					if err != nil {
						t.Errorf("send: %v", err)
					} else {
						j.ack(m)
						ids.Store(m.ID, true)
					}
					close(done)
				})
				<-done
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j.mu.Lock()
		n := len(j.seqs[g.ID])
		j.mu.Unlock()
		if n == len(senders)*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages pushed", n, len(senders)*each)
		}
		time.Sleep(time.Millisecond)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, seq := range j.seqs[g.ID] {
		if seq != int64(i+1) {
			t.Fatalf("push %d carries seq %d: pushes out of seq order", i, seq)
		}
	}
	ids.Range(func(k, _ any) bool {
		id := k.(string)
		if j.acks[id] > j.pushes[id] {
			t.Errorf("message %s pushed (%d) before its ack (%d)", id, j.pushes[id], j.acks[id])
		}
		return true
	})
}

func TestStopAnswersEverySend(t *testing.T) {
	j := newJournal()
	svc, rt, st := setup(t, inmem.NewBus("n1"), 0, j)
	ctx := context.Background()
	alice := signup(t, svc, "alice")
	signup(t, svc, "bob")
	var answered, acked atomic.Int64
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.Send(ctx, alice, chat.SendRequest{ToUser: "bob", Text: "m", ClientMsgID: fmt.Sprint(i)}, func(m chat.Message, err error) {
				if n := answered.Add(1); n > 400 {
					t.Errorf("answered %d times", n)
				}
				if err == nil {
					acked.Add(1)
				} else if chat.ErrorCode(err) != chat.EUnavailable {
					t.Errorf("send during stop: %v", err)
				}
			})
		}()
		if i == 200 {
			go rt.Stop()
		}
	}
	wg.Wait()
	rt.Stop()
	if answered.Load() != 400 {
		t.Fatalf("%d of 400 sends answered", answered.Load())
	}
	// Every acked message is stored, and nothing else.
	convs, err := st.UserConversations(ctx, alice.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, c := range convs {
		stored += c.LastSeq
	}
	if stored != acked.Load() {
		t.Fatalf("%d messages stored, %d acked", stored, acked.Load())
	}
	done := make(chan error, 1)
	rt.Commit(ctx, chat.Append{Message: chat.Message{ConversationID: "x", Text: "late"}}, alice, func(_ chat.Message, err error) { done <- err })
	if err := <-done; chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("a commit after stop: %v", err)
	}
}

// stalledBus is an in-process bus with topics whose subscribe hangs until
// released, as a stalled Redis would.
type stalledBus struct {
	*inmem.Bus
	release  chan struct{}
	stalling chan struct{}
	once     sync.Once
}

func (b *stalledBus) SubscribeTopic(ctx context.Context, _ string) error {
	b.once.Do(func() { close(b.stalling) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *stalledBus) UnsubscribeTopic(context.Context, string) error { return nil }

func (b *stalledBus) PublishTopic(ctx context.Context, _ string, ev *chat.Event) error {
	e := *ev
	e.Recipients = nil
	return b.Broadcast(ctx, &e)
}

func TestStalledTopicBusDoesNotBlockSends(t *testing.T) {
	bus := &stalledBus{Bus: inmem.NewBus("n1"), release: make(chan struct{}), stalling: make(chan struct{})}
	j := newJournal()
	svc, _, _ := setup(t, bus, 1, j)
	ctx := context.Background()
	a, b := signup(t, svc, "anna"), signup(t, svc, "bert")
	c, d := signup(t, svc, "cleo"), signup(t, svc, "dirk")
	if _, err := svc.CreateGroup(ctx, chat.Session{UserID: a.UserID, Username: a.Username}, "big", chat.GroupSettings{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.JoinGroup(ctx, chat.Session{UserID: b.UserID, Username: b.Username}, "big"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []chat.ConnInfo{c, d} { // in no large group: no topic to subscribe
		if err := svc.Connected(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	connected := make(chan error, 1)
	go func() { connected <- svc.Connected(ctx, a) }() // subscribes to "big", and hangs
	<-bus.stalling

	acked := make(chan error, 1)
	var id string
	svc.Send(ctx, c, chat.SendRequest{ToUser: "dirk", Text: "are you there?"}, func(m chat.Message, err error) {
		id = m.ID
		acked <- err
	})
	select {
	case err := <-acked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a send that needs no topic waited for a stalled subscribe")
	}
	for deadline := time.Now().Add(10 * time.Second); !j.pushed(id); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the message was not pushed while a subscribe was stalled")
		}
	}
	select {
	case err := <-connected:
		t.Fatalf("connect returned while its subscribe hung: %v", err)
	default:
	}
	close(bus.release)
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
}
