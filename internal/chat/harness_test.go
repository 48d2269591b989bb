package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/grapheme"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/password"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// core is the rules wired as serve wires them, on the embedded store and
// the in-memory presence and bus, with a clock the test moves.
type core struct {
	svc   *chat.Service
	store chat.Store
	got   *recorder
	clock *clock
}

type options struct {
	sendRate    float64
	sendBurst   int
	grace       time.Duration
	signupRate  float64 // 0: off for these tests
	signupBurst int
	hashSlots   int
	hashWait    time.Duration
	hasher      chat.PasswordHasher
	common      func(string) bool
	maxConns    int
}

func newCore(t *testing.T, o options) *core {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var n atomic.Int64
	newID := func() string { return fmt.Sprintf("01J%023d", n.Add(1)) }
	clk := &clock{t: time.UnixMilli(1_700_000_000_000)}
	presence := inmem.NewPresence("n1")
	rt := node.New(node.Config{Store: st, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1", PresenceGrace: o.grace})
	if o.hasher == nil {
		o.hasher = password.Argon2id{MemoryKiB: 64, Time: 1}
	}
	if o.signupRate == 0 {
		o.signupRate = -1
	}
	svc := chat.NewService(chat.Config{
		Store: st, Presence: presence, Runtime: rt, NewID: newID, Now: clk.now,
		Hasher:   o.hasher,
		SendRate: o.sendRate, SendBurst: o.sendBurst,
		SignupRate: o.signupRate, SignupBurst: o.signupBurst,
		HashConcurrency: o.hashSlots, HashWait: o.hashWait,
		CommonPassword: o.common, MaxConnsPerUser: o.maxConns,
		IsGrapheme: grapheme.IsOne,
	})
	rec := &recorder{}
	runCtx, cancel := context.WithCancel(ctx)
	svc.Start(runCtx, rec)
	t.Cleanup(func() { svc.Stop(); cancel() })
	return &core{svc: svc, store: st, got: rec, clock: clk}
}

// user signs up name and returns its connection info, connected when
// online is set.
func (c *core) user(t *testing.T, name string, online bool) chat.ConnInfo {
	t.Helper()
	ctx := context.Background()
	u, err := c.svc.Signup(ctx, name, "a long password", "")
	if err != nil {
		t.Fatal(err)
	}
	ci := chat.ConnInfo{UserID: u.ID, Username: u.Username, ConnID: "n1/" + name, Session: "s-" + name}
	if online {
		if err := c.svc.Connected(ctx, ci); err != nil {
			t.Fatal(err)
		}
	}
	return ci
}

func (c *core) session(ci chat.ConnInfo) chat.Session {
	return chat.Session{ID: ci.Session, UserID: ci.UserID, Username: ci.Username}
}

// send sends synchronously and returns the ack.
func (c *core) send(ci chat.ConnInfo, req chat.SendRequest) (chat.Message, error) {
	type result struct {
		m   chat.Message
		err error
	}
	ch := make(chan result, 1)
	c.svc.Send(context.Background(), ci, req, func(m chat.Message, err error) { ch <- result{m, err} })
	r := <-ch
	return r.m, r.err
}

// mustSend sends and fails the test on error.
func (c *core) mustSend(t *testing.T, ci chat.ConnInfo, req chat.SendRequest) chat.Message {
	t.Helper()
	m, err := c.send(ci, req)
	if err != nil {
		t.Fatalf("send %+v: %v", req, err)
	}
	return m
}

// clock is a time source the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is the gateway's place: it keeps every event delivered.
type recorder struct {
	mu     sync.Mutex
	events []chat.Event
}

func (r *recorder) Deliver(ev *chat.Event) {
	r.mu.Lock()
	r.events = append(r.events, *ev)
	r.mu.Unlock()
}

// wait returns the first event matching ok, polling until a deadline that
// only a hang reaches.
func (r *recorder) wait(t *testing.T, what string, ok func(chat.Event) bool) chat.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ev, found := r.find(ok); found {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event delivered", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *recorder) find(ok func(chat.Event) bool) (chat.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ok(ev) {
			return ev, true
		}
	}
	return chat.Event{}, false
}

func (r *recorder) count(ok func(chat.Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ok(ev) {
			n++
		}
	}
	return n
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := chat.ErrorCode(err); got != code {
		t.Fatalf("error %v: got code %q, want %q", err, got, code)
	}
}
