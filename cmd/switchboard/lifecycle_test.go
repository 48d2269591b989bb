package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// sendMany pipelines n messages from c to the peer and waits for every ack.
func sendMany(t *testing.T, c *client.Conn, req client.SendRequest, n int) []wire.Message {
	t.Helper()
	out := make([]wire.Message, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < n; i++ {
		r := req
		r.Text = fmt.Sprintf("%s %d", req.Text, i)
		r.ClientMsgID = ""
		wg.Add(1)
		i := i
		if err := c.SendAsync(r, func(m wire.Message, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[i] = m
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return out
}

func TestSyncLargeBacklog(t *testing.T) {
	s := startServer(t)
	uma, vic := user(t, s, "uma"), user(t, s, "vic")
	uc := dial(t, uma, "web")
	other := dial(t, uma, "tablet") // the sender's other device gets every push
	// Pipelined sends from one connection keep their order.
	sent := sendMany(t, uc, client.SendRequest{ToUser: "vic", Text: "backlog"}, 1205)
	// Acks come before fan-out: wait for the fan-out to end, so that vic,
	// connecting next, has only the sync to read.
	for i := 0; i < len(sent); i++ {
		nextMessage(t, other)
	}
	for i, m := range sent {
		if m.Seq != int64(i+1) {
			t.Fatalf("pipelined send %d got seq %d", i, m.Seq)
		}
	}
	conv := sent[0].Conversation
	vc := dial(t, vic, "web")
	var tr client.Tracker
	// A sync pushes at most 1000 per conversation; the client asks again from its cursor.
	for round, want := range []int{1000, 205} {
		if _, err := vc.Sync(ctxT(t), tr.Cursors()); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < want; i++ {
			m := nextMessage(t, vc)
			if dup, gap := tr.Observe(m); dup || gap {
				t.Fatalf("round %d: seq %d dup=%v gap=%v", round, m.Seq, dup, gap)
			}
		}
		quiet(t, vc, wire.TypeMessage)
	}
	if got := tr.Cursor(conv); got != 1205 {
		t.Fatalf("cursor = %d; want 1205", got)
	}
	// History pages backwards and forwards.
	page, err := vic.Messages(ctxT(t), conv, client.HistoryQuery{Before: 101, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 50 || page[0].Seq != 51 || page[49].Seq != 100 {
		t.Fatalf("before=101 limit=50: %d messages from %d", len(page), page[0].Seq)
	}
	page, err = vic.Messages(ctxT(t), conv, client.HistoryQuery{After: 1200})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 5 || page[0].Seq != 1201 {
		t.Fatalf("after=1200: %+v", page)
	}
	page, err = vic.Messages(ctxT(t), conv, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 50 || page[49].Seq != 1205 {
		t.Fatalf("default page: %d messages ending at %d", len(page), page[len(page)-1].Seq)
	}
}

func TestPresenceAndLastSeen(t *testing.T) {
	// A grace period long enough that reconnecting within it is never late, even on a loaded machine.
	s := startServer(t, "--presence-grace", "3s")
	wes, xia := user(t, s, "wes"), user(t, s, "xia")
	wc := dial(t, wes, "web")
	ps, err := wc.PresenceSubscribe(ctxT(t), []string{"xia"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].User != "xia" || ps[0].Online || ps[0].LastSeen != 0 {
		t.Fatalf("initial presence = %+v", ps)
	}
	x1 := dial(t, xia, "phone")
	f := next(t, wc, wire.TypePresence)
	if f.UserName != "xia" || f.Online == nil || !*f.Online {
		t.Fatalf("presence = %+v", f)
	}
	// A second device and a reconnect within the grace period announce nothing.
	x2 := dial(t, xia, "laptop")
	x1.Close()
	x2.Close()
	x3 := dial(t, xia, "laptop")
	quiet(t, wc, wire.TypePresence)
	u, err := wes.User(ctxT(t), "xia")
	if err != nil {
		t.Fatal(err)
	}
	if u.Online == nil || !*u.Online {
		t.Fatalf("profile while online = %+v", u)
	}
	before := time.Now().UnixMilli()
	x3.Close()
	f = next(t, wc, wire.TypePresence)
	if f.Online == nil || *f.Online || f.LastSeen == nil || *f.LastSeen < before-1000 {
		t.Fatalf("offline presence = %+v", f)
	}
	u, err = wes.User(ctxT(t), "xia")
	if err != nil {
		t.Fatal(err)
	}
	if u.Online == nil || *u.Online || u.LastSeen == nil || *u.LastSeen != *f.LastSeen {
		t.Fatalf("profile after = %+v; want offline, last seen %d", u, *f.LastSeen)
	}
}

func TestLogoutRevokesToken(t *testing.T) {
	s := startServer(t)
	yan := user(t, s, "yan")
	other := client.New(s.URL)
	if _, err := other.Login(ctxT(t), "yan", "password-yan"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, yan, "web")
	keep := dial(t, other, "web")
	token := yan.Token()
	if err := yan.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// The logged-out session's connection is closed with a reason.
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection of a revoked session stayed open")
	}
	var ce *client.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != 4002 {
		t.Fatalf("close = %v; want code 4002", c.Err())
	}
	// The token no longer works, over HTTP or WebSocket.
	revoked := client.New(s.URL, client.WithSessionToken(token))
	_, err := revoked.Conversations(ctxT(t))
	wantCode(t, err, "unauthorized")
	_, err = revoked.Dial(ctxT(t), "web")
	wantCode(t, err, "unauthorized")
	// The user's other session is untouched.
	if err := keep.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownAsksClientsToReconnect(t *testing.T) {
	s := startServer(t)
	zed := user(t, s, "zed")
	c := dial(t, zed, "web")
	go s.Stop(t)
	f := next(t, c, wire.TypeReconnect)
	if f.Reason == "" {
		t.Fatalf("reconnect frame without a reason: %+v", f)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server kept the connection after the drain deadline")
	}
}

func TestStoreSurvivesRestart(t *testing.T) {
	s := startServer(t)
	amy, ben := user(t, s, "amy"), user(t, s, "ben")
	m, err := dial(t, amy, "web").Send(ctxT(t), client.SendRequest{ToUser: "ben", Text: "durable", ClientMsgID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop(t)
	s2 := startServer(t, "--data", s.Data)
	ben2 := client.New(s2.URL, client.WithSessionToken(ben.Token()))
	ms, err := ben2.Messages(ctxT(t), m.Conversation, client.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != m.ID {
		t.Fatalf("after restart: %+v", ms)
	}
	// Idempotency survives the restart too.
	amy2 := client.New(s2.URL, client.WithSessionToken(amy.Token()))
	again, err := dial(t, amy2, "web").Send(ctxT(t), client.SendRequest{ToUser: "ben", Text: "durable", ClientMsgID: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != m.ID {
		t.Fatalf("retry after restart stored a new message")
	}
}

// A load generator spreads connections over several source addresses: the
// client dials with the dialer it is given.
func TestDialFromAnotherSourceAddress(t *testing.T) {
	s := startServer(t)
	amy := user(t, s, "amy")
	var used atomic.Bool
	d := &net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
		Control:   func(string, string, syscall.RawConn) error { used.Store(true); return nil },
	}
	c, err := amy.Dial(ctxT(t), "web", client.WithDialer(d))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !used.Load() {
		t.Fatal("the given dialer was not used")
	}
}
