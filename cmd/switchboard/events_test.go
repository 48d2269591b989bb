package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// sseEvent is one Server-Sent Event as a plain client reads it.
type sseEvent struct {
	ID      string
	HasID   bool
	Frame   wire.ServerFrame
	Comment bool
}

// sseStream is a GET /v1/events response read line by line.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	lastID string
}

// openEvents opens an event stream with a request the caller shaped
// (headers, query); it fails the test unless the answer is 200.
func openEvents(t testing.TB, req *http.Request) *sseStream {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /v1/events = %d %s; want 200", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1024)}
	t.Cleanup(s.Close)
	go s.read()
	return s
}

func (s *sseStream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	var data bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := json.Unmarshal(data.Bytes(), &ev.Frame); err != nil {
					ev.Frame = wire.ServerFrame{Type: "unparsable: " + data.String()}
				}
				s.events <- ev
			}
			ev, data = sseEvent{}, bytes.Buffer{}
		case strings.HasPrefix(line, ":"):
			s.events <- sseEvent{Comment: true}
		case strings.HasPrefix(line, "id: "):
			ev.ID, ev.HasID = strings.TrimPrefix(line, "id: "), true
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		}
	}
}

// Close cuts the stream.
func (s *sseStream) Close() { s.resp.Body.Close() }

// next returns the next event whose frame has type typ, skipping others and
// comments, and remembers the last event id seen, as EventSource does.
func (s *sseStream) next(t testing.TB, typ string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended waiting for %q", typ)
			}
			if ev.HasID {
				s.lastID = ev.ID
			}
			if !ev.Comment && ev.Frame.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s", typ)
		}
	}
}

// ended waits for the stream to end and returns the frames it sent last.
func (s *sseStream) ended(t testing.TB) []wire.ServerFrame {
	t.Helper()
	var got []wire.ServerFrame
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			if !ev.Comment {
				got = append(got, ev.Frame)
			}
		case <-timeout:
			t.Fatalf("stream did not end; got %+v", got)
		}
	}
}

func eventsRequest(t testing.TB, base, query string, header http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, base+"/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return req
}

func bearer(c *client.Client) http.Header {
	return http.Header{"Authorization": {"Bearer " + c.Token()}}
}

// ticket asks for an event-stream ticket with c's token.
func ticket(t testing.TB, s *testServer, c *client.Client) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, s.URL+"/v1/events/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr wire.TicketResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusCreated || tr.Ticket == "" || tr.ExpiresIn <= 0 {
		t.Fatalf("POST /v1/events/tickets = %d %+v %v; want 201 with a ticket", resp.StatusCode, tr, err)
	}
	return tr.Ticket
}

func eventsStatus(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error.Code
}

// TestEventsStream: a stream opened with a ticket carries ready, the sync
// ack and then live messages, receipts and typing, as the WebSocket does.
func TestEventsStream(t *testing.T) {
	s := startServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	bc := dial(t, bob, "phone")

	es := openEvents(t, eventsRequest(t, s.URL, "?ticket="+ticket(t, s, alice), nil))
	if r := es.next(t, wire.TypeReady); r.Frame.User == nil || r.Frame.User.Username != "alice" {
		t.Fatalf("ready = %+v; want alice", r.Frame)
	}
	es.next(t, wire.TypeAck)

	m, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "hello stream"})
	if err != nil {
		t.Fatal(err)
	}
	ev := es.next(t, wire.TypeMessage)
	if ev.Frame.Msg == nil || ev.Frame.Msg.ID != m.ID || ev.Frame.Msg.Text != "hello stream" {
		t.Fatalf("message event = %+v; want %+v", ev.Frame.Msg, m)
	}
	if want := fmt.Sprintf("%s:1", m.Conversation); ev.ID != want {
		t.Errorf("event id = %q; want %q", ev.ID, want)
	}
	if err := bc.Typing(m.Conversation); err != nil {
		t.Fatal(err)
	}
	if ty := es.next(t, wire.TypeTyping); ty.HasID {
		t.Errorf("typing event has id %q; only message events move the cursors", ty.ID)
	}
}

// TestEventsAuth: a ticket is single-use, no credential or a token in the
// URL is refused, a bad Last-Event-ID is a 400.
func TestEventsAuth(t *testing.T) {
	s := startServer(t)
	alice := user(t, s, "alice")
	tk := ticket(t, s, alice)
	es := openEvents(t, eventsRequest(t, s.URL, "?ticket="+tk, nil))
	es.next(t, wire.TypeReady)

	tests := []struct {
		name   string
		query  string
		header http.Header
		status int
		code   string
	}{
		{"used ticket", "?ticket=" + tk, nil, 401, "unauthorized"},
		{"unknown ticket", "?ticket=tk_nope", nil, 401, "unauthorized"},
		{"nothing", "", nil, 401, "unauthorized"},
		{"token in the URL", "?token=" + alice.Token(), nil, 401, "unauthorized"},
		{"token as ticket", "?ticket=" + alice.Token(), nil, 401, "unauthorized"},
		{"bad last event id", "", http.Header{"Authorization": {"Bearer " + alice.Token()}, "Last-Event-Id": {"not-a-cursor"}}, 400, "bad_request"},
		{"negative cursor", "", http.Header{"Authorization": {"Bearer " + alice.Token()}, "Last-Event-Id": {"c:-1"}}, 400, "bad_request"},
		{"last event id over the limit", "", http.Header{"Authorization": {"Bearer " + alice.Token()}, "Last-Event-Id": {strings.Repeat("c:1,", 64<<10/4+1)}}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := eventsStatus(t, eventsRequest(t, s.URL, tt.query, tt.header))
			if status != tt.status || code != tt.code {
				t.Errorf("GET /v1/events%s = %d %q; want %d %q", tt.query, status, code, tt.status, tt.code)
			}
		})
	}
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, s.URL+"/v1/events/tickets", nil)
	if status, code := eventsStatus(t, req); status != 401 || code != "unauthorized" {
		t.Errorf("POST /v1/events/tickets without a token = %d %q; want 401", status, code)
	}
}

// TestEventsResume: a stream cut after the first message resumes with
// Last-Event-ID: the messages sent while it was away come from the store,
// exactly once and in order, then live ones.
func TestEventsResume(t *testing.T) {
	s := startServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	bc := dial(t, bob, "phone")
	g, err := bob.CreateGroup(ctxT(t), "team", "Team")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.JoinGroup(ctxT(t), "team"); err != nil {
		t.Fatal(err)
	}

	es := openEvents(t, eventsRequest(t, s.URL, "", bearer(alice)))
	es.next(t, wire.TypeAck)
	first, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	es.next(t, wire.TypeMessage)
	es.Close() // the cut
	es.ended(t)

	var missed []wire.Message
	for i := 0; i < 3; i++ {
		for _, req := range []client.SendRequest{{ToUser: "alice", Text: fmt.Sprint("d", i+2)}, {Conversation: g.ID, Text: fmt.Sprint("g", i+1)}} {
			m, err := bc.Send(ctxT(t), req)
			if err != nil {
				t.Fatal(err)
			}
			missed = append(missed, m)
		}
	}
	h := bearer(alice)
	h.Set("Last-Event-ID", es.lastID)
	again := openEvents(t, eventsRequest(t, s.URL, "", h))
	got := map[string][]int64{}
	for range missed {
		ev := again.next(t, wire.TypeMessage)
		got[ev.Frame.Msg.Conversation] = append(got[ev.Frame.Msg.Conversation], ev.Frame.Msg.Seq)
	}
	want := map[string][]int64{first.Conversation: {2, 3, 4}, g.ID: {1, 2, 3}}
	for conv, seqs := range want {
		if fmt.Sprint(got[conv]) != fmt.Sprint(seqs) {
			t.Errorf("resumed seqs of %s = %v; want %v", conv, got[conv], seqs)
		}
	}
	ack := again.next(t, wire.TypeAck)
	if ack.Frame.ID != "sync" || !ack.HasID || len(ack.Frame.Conversations) != 2 {
		t.Errorf("catch-up ack = %+v (id %q); want id sync, an event id and 2 conversations", ack.Frame, ack.ID)
	}
	live, err := bc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := again.next(t, wire.TypeMessage); ev.Frame.Msg.ID != live.ID {
		t.Errorf("after the catch-up got %+v; want the live message %+v", ev.Frame.Msg, live)
	}
	wantID := fmt.Sprintf("%s:4,%s:4", first.Conversation, g.ID)
	if first.Conversation > g.ID {
		wantID = fmt.Sprintf("%s:4,%s:4", g.ID, first.Conversation)
	}
	if again.lastID != wantID {
		t.Errorf("last event id = %q; want %q", again.lastID, wantID)
	}
}

// TestEventsConnection: a stream counts as a connection: its user is
// online while it is open, one over --max-conns-per-user is refused, idle
// streams get heartbeat comments, and logging out ends the stream.
func TestEventsConnection(t *testing.T) {
	s := startServer(t, "--max-conns-per-user", "2", "--heartbeat", "200ms", "--read-timeout", "300ms", "--write-timeout", "300ms")
	alice, bob := user(t, s, "alice"), user(t, s, "bob")

	a1 := openEvents(t, eventsRequest(t, s.URL, "", bearer(alice)))
	a1.next(t, wire.TypeAck)
	u, err := bob.User(ctxT(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Online == nil || !*u.Online {
		t.Errorf("alice with an open stream: online = %v; want true", u.Online)
	}
	a2 := openEvents(t, eventsRequest(t, s.URL, "?ticket="+ticket(t, s, alice), nil))
	a2.next(t, wire.TypeAck)
	if status, code := eventsStatus(t, eventsRequest(t, s.URL, "", bearer(alice))); status != 429 || code != "rate_limited" {
		t.Errorf("third stream = %d %q; want 429 rate_limited", status, code)
	}

	// Idle: comments keep proxies from closing the stream, and the stream
	// outlives the server's read and write timeouts.
	timeout := time.After(20 * time.Second)
	for comments := 0; comments < 5; {
		select {
		case ev, ok := <-a1.events:
			if !ok {
				t.Fatal("idle stream ended")
			}
			if ev.Comment {
				comments++
			}
		case <-timeout:
			t.Fatal("fewer than 5 heartbeat comments within 20s")
		}
	}
	bc := dial(t, bob, "phone")
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "still there?"}); err != nil {
		t.Fatal(err)
	}
	a1.next(t, wire.TypeMessage)

	if err := alice.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, es := range []*sseStream{a1, a2} {
		got := es.ended(t)
		if len(got) == 0 || got[len(got)-1].Code != "unauthorized" {
			t.Errorf("last frames after logout = %+v; want an unauthorized error", got)
		}
	}
	// The streams closed: alice goes offline after the grace period.
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := bob.User(ctxT(t), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u.Online != nil && !*u.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice still online 10s after her streams closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterEvents: a ticket issued on one node opens a stream on another;
// messages sent on a third reach it over the bus; logging out on any node
// ends it; the stream resumes on another node with Last-Event-ID.
func TestClusterEvents(t *testing.T) {
	nodes := startCluster(t, 3)
	alice, bob := user(t, nodes[0], "alice"), user(t, nodes[0], "bob")
	bc := dial(t, on(bob, nodes[2]), "phone")

	es := openEvents(t, eventsRequest(t, nodes[1].URL, "?ticket="+ticket(t, nodes[0], alice), nil))
	if r := es.next(t, wire.TypeReady); r.Frame.Node != "node2" {
		t.Errorf("stream on %q; want node2", r.Frame.Node)
	}
	es.next(t, wire.TypeAck)
	m1, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "over the bus"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := es.next(t, wire.TypeMessage); ev.Frame.Msg.ID != m1.ID {
		t.Fatalf("stream got %+v; want %+v", ev.Frame.Msg, m1)
	}
	es.Close()
	es.ended(t)
	m2, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "while away"})
	if err != nil {
		t.Fatal(err)
	}
	h := bearer(alice)
	h.Set("Last-Event-ID", es.lastID)
	again := openEvents(t, eventsRequest(t, nodes[2].URL, "", h))
	if ev := again.next(t, wire.TypeMessage); ev.Frame.Msg.ID != m2.ID {
		t.Fatalf("resumed on node3 with %+v; want %+v", ev.Frame.Msg, m2)
	}
	again.next(t, wire.TypeAck)
	if err := on(alice, nodes[0]).Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := again.ended(t); len(got) == 0 || got[len(got)-1].Code != "unauthorized" {
		t.Errorf("last frames after logout on node1 = %+v; want an unauthorized error", got)
	}
}

// TestEventsDrain: a draining node ends its streams with reconnect.
func TestEventsDrain(t *testing.T) {
	s := startServer(t)
	alice := user(t, s, "alice")
	es := openEvents(t, eventsRequest(t, s.URL, "", bearer(alice)))
	es.next(t, wire.TypeAck)
	go s.Stop(t)
	if got := es.ended(t); len(got) == 0 || got[len(got)-1].Type != wire.TypeReconnect {
		t.Errorf("last frames on drain = %+v; want reconnect", got)
	}
}

// TestEventsSlowClient: a stream whose reader stops is ended, once its
// outbound queue (1024 frames) is full or a write has blocked for its
// timeout (10 s), whichever comes first, and the node goes on.
func TestEventsSlowClient(t *testing.T) {
	s := startServer(t, "--max-text", "16384")
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	req := eventsRequest(t, s.URL, "", bearer(alice))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("open stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	// Read up to the catch-up's ack, then stop reading.
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.Contains(sc.Text(), `"id":"sync"`) {
	}
	const senders = 8
	conns := make([]*client.Conn, senders)
	for i := range conns {
		conns[i] = dial(t, bob, fmt.Sprint("dev", i))
	}
	// With bob's 8 WebSockets and alice's stream open the gauge is 9; the
	// stream has ended once it is 8.
	streamOpen := func() bool { return metricValue(t, s, "switchboard_connections") > senders }
	text := strings.Repeat("x", 16000)
	deadline := time.Now().Add(2 * time.Minute)
	for round := 0; streamOpen(); round++ {
		if time.Now().After(deadline) {
			t.Fatal("the stream of a client that reads nothing was not ended within 2 minutes")
		}
		errs := make(chan error, senders)
		for _, c := range conns {
			go func() {
				for j := 0; j < 50; j++ {
					if _, err := c.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: text}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range conns {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("slow clients closed: %v (0: the write timeout came first)", metricValue(t, s, "switchboard_slow_clients_closed_total"))
	// What is left in the socket drains, then EOF.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("stream of a slow client did not end")
	}
	// Alice can open a new one.
	es := openEvents(t, eventsRequest(t, s.URL, "", bearer(alice)))
	es.next(t, wire.TypeReady)
}
