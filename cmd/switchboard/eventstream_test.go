package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/wire"
)

// streamSeen collects the message frames an EventStream hands over, per
// conversation, in arrival order.
type streamSeen struct {
	mu    sync.Mutex
	seqs  map[string][]int64
	types map[string]int
}

// collect reads es until its frames end, in a goroutine; the returned
// channel closes then.
func (s *streamSeen) collect(es *client.EventStream) <-chan struct{} {
	s.seqs, s.types = map[string][]int64{}, map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for f := range es.Frames() {
			s.mu.Lock()
			s.types[f.Type]++
			if f.Type == wire.TypeMessage && f.Msg != nil {
				s.seqs[f.Msg.Conversation] = append(s.seqs[f.Msg.Conversation], f.Msg.Seq)
			}
			s.mu.Unlock()
		}
	}()
	return done
}

// count returns how many frames of type typ came.
func (s *streamSeen) count(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.types[typ]
}

// wait waits until every conversation of want has want[conv] messages.
func (s *streamSeen) wait(t testing.TB, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		ok := true
		for conv, n := range want {
			ok = ok && len(s.seqs[conv]) >= n
		}
		got := fmt.Sprint(s.seqs)
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages seen after 30s: %s; want counts %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// check fails unless each conversation of want got seqs 1..want[conv],
// each once, in order.
func (s *streamSeen) check(t testing.TB, want map[string]int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for conv, n := range want {
		seqs := s.seqs[conv]
		ok := len(seqs) == n
		for i := 0; ok && i < n; i++ {
			ok = seqs[i] == int64(i+1)
		}
		if !ok {
			t.Errorf("conversation %s: seqs %v; want 1..%d once each, in order", conv, seqs, n)
		}
	}
}

// TestEventStreamCutResume: the Go client's event stream, whose TCP
// connection is cut again and again while messages flow in two
// conversations, reconnects with a fresh ticket and Last-Event-ID and
// hands over every message once, in order.
func TestEventStreamCutResume(t *testing.T) {
	s := startServer(t)
	proxy := testenv.StartProxy(t, strings.TrimPrefix(s.URL, "http://"))
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	g, err := bob.CreateGroup(ctxT(t), "team", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.JoinGroup(ctxT(t), "team"); err != nil {
		t.Fatal(err)
	}
	viaProxy := client.New("http://"+proxy.Addr, client.WithSessionToken(alice.Token()))
	es, err := viaProxy.OpenEvents(ctxT(t), client.StreamConfig{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var seen streamSeen
	done := seen.collect(es)
	bc := dial(t, bob, "phone")
	const rounds, perRound = 5, 30
	var dm string
	for r := 0; r < rounds; r++ {
		before := es.Reconnects()
		for i := 0; i < perRound; i++ {
			m, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprint("dm ", r, i)})
			if err != nil {
				t.Fatal(err)
			}
			dm = m.Conversation
			if _, err := bc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprint("group ", r, i)}); err != nil {
				t.Fatal(err)
			}
			if i == perRound/2 {
				proxy.Stop() // messages go on while the stream is cut
			}
		}
		proxy.Start()
		deadline := time.Now().Add(20 * time.Second)
		// Back once reconnected and its new connection's ready frame came,
		// so the next cut cuts a live stream.
		for es.Reconnects() == before || seen.count(wire.TypeReady) != es.Reconnects()+1 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the stream did not reconnect (%d reconnects, %d ready frames)", r, es.Reconnects(), seen.count(wire.TypeReady))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want := map[string]int{dm: rounds * perRound, g.ID: rounds * perRound}
	seen.wait(t, want)
	seen.check(t, want)
	if n := es.Reconnects(); n < rounds {
		t.Errorf("reconnects = %d; want at least %d", n, rounds)
	}
	if id := es.LastEventID(); !strings.Contains(id, dm+":") || !strings.Contains(id, g.ID+":") {
		t.Errorf("LastEventID %q; want cursors of both conversations", id)
	}
	if err := es.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if !errors.Is(es.Err(), client.ErrClosed) {
		t.Errorf("Err after Close = %v; want ErrClosed", es.Err())
	}
	if n := seen.types[wire.TypeReady]; n != es.Reconnects()+1 {
		t.Errorf("%d ready frames for %d connections", n, es.Reconnects()+1)
	}
}

// TestEventStreamNodeRestart: a node SIGKILLed and restarted on the same
// store and port; the stream reconnects to it (a new ticket from the new
// process), and the messages sent before, during and after reach it once.
func TestEventStreamNodeRestart(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	args := []string{"--data", t.TempDir(), "--addr", addr}
	n := startProcNode(t, "events", args...)
	srv := &testServer{URL: n.URL}
	alice, bob := user(t, srv, "alice"), user(t, srv, "bob")
	es, err := alice.OpenEvents(ctxT(t), client.StreamConfig{MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { es.Close() })
	var seen streamSeen
	seen.collect(es)
	send := func(from, to int) string {
		bc, err := bob.Dial(ctxT(t), "phone")
		if err != nil {
			t.Fatal(err)
		}
		defer bc.Close()
		var conv string
		for i := from; i <= to; i++ {
			m, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprint("m", i)})
			if err != nil {
				t.Fatal(err)
			}
			conv = m.Conversation
		}
		return conv
	}
	dm := send(1, 10)
	seen.wait(t, map[string]int{dm: 10})
	n.Kill()
	startProcNode(t, "events", args...)
	send(11, 20) // perhaps before the stream is back: it catches up
	seen.wait(t, map[string]int{dm: 20})
	seen.check(t, map[string]int{dm: 20})
	if es.Reconnects() < 1 {
		t.Errorf("reconnects = %d; want at least 1", es.Reconnects())
	}
}

// TestEventStreamEnds: a line over MaxLine ends the stream with
// ErrLineTooLong; a logout ends it with unauthorized and no reconnect; a
// refused session fails OpenEvents.
func TestEventStreamEnds(t *testing.T) {
	s := startServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	bc := dial(t, bob, "phone")

	if _, err := client.New(s.URL, client.WithSessionToken("nope")).OpenEvents(ctxT(t), client.StreamConfig{}); client.ErrorCode(err) != "unauthorized" {
		t.Errorf("OpenEvents with a bad token: %v; want unauthorized", err)
	}

	// The ready frame fits in 1 KiB; a message of 2 KiB does not.
	small, err := alice.OpenEvents(ctxT(t), client.StreamConfig{MaxLine: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: strings.Repeat("x", 2<<10)}); err != nil {
		t.Fatal(err)
	}
	for range small.Frames() {
	}
	if !errors.Is(small.Err(), client.ErrLineTooLong) {
		t.Errorf("Err = %v; want ErrLineTooLong", small.Err())
	}
	small.Close()

	es, err := alice.OpenEvents(ctxT(t), client.StreamConfig{MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	// The stream is registered once its ready frame has come.
	if f := <-es.Frames(); f.Type != wire.TypeReady {
		t.Fatalf("first frame %+v; want ready", f)
	}
	if err := alice.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var last wire.ServerFrame
	for f := range es.Frames() {
		last = f
	}
	if client.ErrorCode(es.Err()) != "unauthorized" || last.Type != wire.TypeError || es.Reconnects() != 0 {
		t.Errorf("after logout: Err %v, last frame %+v, %d reconnects; want unauthorized, an error frame, none",
			es.Err(), last, es.Reconnects())
	}
}

// TestEventStreamIdle: a stream that brings nothing for IdleTimeout (the
// server's keep-alives far apart) is dropped and reconnected, and the
// messages of the quiet connection's successors arrive once each.
func TestEventStreamIdle(t *testing.T) {
	s := startServer(t, "--heartbeat", "1h")
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	es, err := alice.OpenEvents(ctxT(t), client.StreamConfig{IdleTimeout: 200 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	var seen streamSeen
	seen.collect(es)
	deadline := time.Now().Add(20 * time.Second)
	for es.Reconnects() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("reconnects = %d after 20s; want the idle stream dropped and reopened", es.Reconnects())
		}
		time.Sleep(10 * time.Millisecond)
	}
	bc := dial(t, bob, "phone")
	var dm string
	for i := 0; i < 20; i++ {
		m, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprint("m", i)})
		if err != nil {
			t.Fatal(err)
		}
		dm = m.Conversation
	}
	seen.wait(t, map[string]int{dm: 20})
	seen.check(t, map[string]int{dm: 20})
}
