package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// testCtx bounds a test so that a bug hangs it for seconds, not minutes.
func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func newClient(fs *fakeServer, token string) *client.Client {
	return client.New(fs.URL, client.WithHTTPClient(fs.Client()), client.WithSessionToken(token))
}

// MustDial connects to fs with a good token and closes the Conn at the end
// of the test.
func MustDial(tb testing.TB, fs *fakeServer, opts ...client.DialOption) *client.Conn {
	tb.Helper()
	c, err := newClient(fs, "good").Dial(testCtx(tb), "test-device", opts...)
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(func() {
		_ = c.Close()
		<-c.Done()
	})
	return c
}

// next receives one event or fails the test.
func next(tb testing.TB, ctx context.Context, ch <-chan wire.ServerFrame) wire.ServerFrame {
	tb.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			tb.Fatal("events channel closed")
		}
		return f
	case <-ctx.Done():
		tb.Fatal("no event")
	}
	return wire.ServerFrame{}
}

func TestDialReady(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			fs := newFakeServer(t, tlsOn)
			c := MustDial(t, fs)
			if got, want := c.User().Username, "alice"; got != want {
				t.Errorf("User().Username = %q, want %q", got, want)
			}
			if got, want := c.Node(), "node-1"; got != want {
				t.Errorf("Node() = %q, want %q", got, want)
			}
			if err := c.Err(); err != nil {
				t.Errorf("Err() on an open Conn = %v, want nil", err)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	fs := newFakeServer(t, false)

	t.Run("bad token", func(t *testing.T) {
		_, err := newClient(fs, "bad").Dial(testCtx(t), "d")
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "unauthorized" || e.Message != "bad token" {
			t.Fatalf("Dial with a bad token: err = %v, want *Error unauthorized", err)
		}
	})
	t.Run("upgrade refused", func(t *testing.T) {
		c := newClient(fs, "good")
		wsURL := strings.Replace(fs.URL, "http://", "ws://", 1) + "/v1/refused"
		_, err := c.DialURL(testCtx(t), wsURL, "d")
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != "unavailable" {
			t.Fatalf("DialURL to a refusing path: err = %v, want *Error with status 503", err)
		}
	})
	t.Run("bad scheme", func(t *testing.T) {
		if _, err := newClient(fs, "good").DialURL(testCtx(t), "ftp://x/v1/ws", "d"); err == nil {
			t.Fatal("DialURL with scheme ftp: err = nil")
		}
	})
	t.Run("cancelled while waiting for ready", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testCtx(t))
		errc := make(chan error, 1)
		go func() {
			_, err := newClient(fs, "silent").Dial(ctx, "d")
			errc <- err
		}()
		<-fs.gotAuth
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial after cancel: err = %v, want context.Canceled", err)
		}
	})
}

func TestWebSocketURL(t *testing.T) {
	tests := []struct{ base, want string }{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ws"},
		{"https://chat.example/", "wss://chat.example/v1/ws"},
		{"http://lb/prefix", "ws://lb/prefix/v1/ws"},
	}
	for _, tt := range tests {
		if got := client.New(tt.base).WebSocketURL(); got != tt.want {
			t.Errorf("New(%q).WebSocketURL() = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestSend(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	m, err := c.Send(ctx, client.SendRequest{ToUser: "bob", Text: "hi"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m.Text != "hi" || m.Conversation != "d:bob" || m.ClientMsgID == "" {
		t.Errorf("Send returned %+v, want text hi in d:bob with a client_msg_id", m)
	}
	m2, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "again", ClientMsgID: "mine"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m2.ClientMsgID != "mine" || m2.Conversation != "c1" {
		t.Errorf("Send returned %+v, want client_msg_id mine in c1", m2)
	}
	got := fs.received()
	if len(got) != 2 || got[0].Type != wire.TypeSend || got[0].ID == "" || got[0].ID == got[1].ID {
		t.Errorf("server received %+v, want two send frames with distinct ids", got)
	}
}

func TestSendErrorFrame(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	_, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "fail"})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "forbidden" || e.Status != 0 {
		t.Fatalf("Send answered by an error frame: err = %v, want *Error forbidden", err)
	}
	if got := client.ErrorCode(err); got != "forbidden" {
		t.Errorf("ErrorCode = %q, want forbidden", got)
	}
	// The connection stays usable, and an error frame without an id is an event.
	if _, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "noid"}); err != nil {
		t.Fatalf("Send after an error: %v", err)
	}
	ev := next(t, ctx, c.Events())
	if ev.Type != wire.TypeError || ev.Code != "bad_request" {
		t.Errorf("event = %+v, want an error frame without id", ev)
	}
}

func TestSendConcurrent(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := range 25 {
				text := fmt.Sprintf("g%d-%d", g, i)
				m, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: text})
				if err != nil {
					t.Errorf("Send %s: %v", text, err)
					return
				}
				if m.Text != text {
					t.Errorf("Send %s got the ack of %s", text, m.Text)
				}
			}
		})
	}
	wg.Wait()
}

func TestSendAsyncOutOfOrderAcks(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)

	type result struct {
		want string
		m    wire.Message
		err  error
	}
	results := make(chan result, 3)
	for i := range 3 {
		text := fmt.Sprintf("batch%d", i)
		err := c.SendAsync(client.SendRequest{Conversation: "c1", Text: text}, func(m wire.Message, err error) {
			results <- result{text, m, err}
		})
		if err != nil {
			t.Fatalf("SendAsync: %v", err)
		}
	}
	var order []string
	for range 3 {
		r := <-results
		if r.err != nil || r.m.Text != r.want {
			t.Errorf("SendAsync(%s) done with %+v, %v", r.want, r.m, r.err)
		}
		order = append(order, r.m.Text)
	}
	if got, want := strings.Join(order, ","), "batch2,batch1,batch0"; got != want {
		t.Errorf("acks arrived as %s, want %s (the fake answers newest first)", got, want)
	}
}

func TestSendPipelined(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs, client.OnEvent(func(*client.Conn, wire.ServerFrame) {}))

	const n = 1000
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := make(map[string]bool)
	for i := range n {
		wg.Add(1)
		id := fmt.Sprintf("cm-%d", i)
		err := c.SendAsync(client.SendRequest{Conversation: "c1", Text: "x", ClientMsgID: id}, func(m wire.Message, err error) {
			defer wg.Done()
			if err != nil || m.ClientMsgID != id {
				t.Errorf("SendAsync %s done with %+v, %v", id, m, err)
			}
			mu.Lock()
			seen[m.ClientMsgID] = true
			mu.Unlock()
		})
		if err != nil {
			t.Fatalf("SendAsync: %v", err)
		}
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d distinct acks, want %d", len(seen), n)
	}
}

func TestSendCancelled(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	hctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Send(hctx, client.SendRequest{Conversation: "c1", Text: "hang"})
		errc <- err
	}()
	<-fs.gotHang
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Send: err = %v, want context.Canceled", err)
	}
	// The late ack of "hang" comes before the ack of "release", as an event.
	m, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "release"})
	if err != nil || m.Text != "release" {
		t.Fatalf("Send after a cancelled one = %+v, %v; want the release ack", m, err)
	}
	ev := next(t, ctx, c.Events())
	if ev.Type != wire.TypeAck || ev.Msg == nil || ev.Msg.Text != "hang" {
		t.Errorf("event = %+v, want the late ack of hang", ev)
	}
}

func TestSync(t *testing.T) {
	fs := newFakeServer(t, false)
	var mu sync.Mutex
	var pushed []wire.Message
	c := MustDial(t, fs, client.OnEvent(func(_ *client.Conn, f wire.ServerFrame) {
		if f.Type == wire.TypeMessage {
			mu.Lock()
			pushed = append(pushed, *f.Msg)
			mu.Unlock()
		}
	}))
	convs, err := c.Sync(testCtx(t), map[string]int64{"c1": 5})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(convs) != 1 || convs[0].ID != "c1" || convs[0].LastSeq != 8 {
		t.Errorf("Sync conversations = %+v, want c1 at 8", convs)
	}
	mu.Lock()
	defer mu.Unlock()
	var seqs []int64
	for _, m := range pushed {
		seqs = append(seqs, m.Seq)
	}
	if fmt.Sprint(seqs) != "[6 7 8]" {
		t.Errorf("messages handed over before Sync returned: seqs %v, want [6 7 8]", seqs)
	}
}

func TestSyncEventsQueued(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)
	if _, err := c.Sync(ctx, map[string]int64{"c1": 0}); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	var tr client.Tracker
	for want := int64(1); want <= 3; want++ {
		f := next(t, ctx, c.Events())
		if f.Type != wire.TypeMessage || f.Msg.Seq != want {
			t.Fatalf("event %+v, want message %d", f, want)
		}
		if dup, gap := tr.Observe(*f.Msg); dup || gap {
			t.Errorf("Observe(seq %d) = dup %v, gap %v", want, dup, gap)
		}
	}
	if got := tr.Cursor("c1"); got != 3 {
		t.Errorf("Cursor = %d, want 3", got)
	}
}

func TestRequests(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	if err := c.Receipt(ctx, "c1", 4, "read"); err != nil {
		t.Errorf("Receipt: %v", err)
	}
	ps, err := c.PresenceSubscribe(ctx, []string{"bob", "carol"})
	if err != nil {
		t.Fatalf("PresenceSubscribe: %v", err)
	}
	if len(ps) != 2 || !ps[0].Online || ps[1].Online || ps[1].LastSeen != 42 {
		t.Errorf("PresenceSubscribe = %+v", ps)
	}
	if err := c.Typing("c1"); err != nil {
		t.Errorf("Typing: %v", err)
	}
	ev := next(t, ctx, c.Events())
	if ev.Type != wire.TypeTypingEv || ev.UserName != "alice" || ev.Conversation != "c1" {
		t.Errorf("event after Typing = %+v, want the typing echo", ev)
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	select {
	case <-fs.gotPong:
	case <-ctx.Done():
		t.Error("the client never answered the server's control ping")
	}
	_, err = c.Do(ctx, wire.ClientFrame{Type: "bogus"})
	if client.ErrorCode(err) != "bad_request" {
		t.Errorf("Do(bogus) err = %v, want bad_request", err)
	}

	got := fs.received()
	want := []string{"receipt c1 4 read", "presence_subscribe  0 ", "typing c1 0 ", "ping  0 ", "bogus  0 "}
	if len(got) != len(want) {
		t.Fatalf("server received %d frames, want %d", len(got), len(want))
	}
	for i, f := range got {
		if s := fmt.Sprintf("%s %s %d %s", f.Type, f.Conversation, f.Seq, f.Status); s != want[i] {
			t.Errorf("frame %d = %q, want %q", i, s, want[i])
		}
	}
	if got[2].ID != "" {
		t.Errorf("typing frame has id %q, want none", got[2].ID)
	}
}

func TestServerClose(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)

	_, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "kick"})
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != 4008 || ce.Reason != "outbound queue full" {
		t.Fatalf("pending Send when the server closes: err = %v, want *CloseError 4008", err)
	}
	<-c.Done()
	if !errors.As(c.Err(), &ce) {
		t.Errorf("Err() = %v, want the *CloseError", c.Err())
	}
	ev := next(t, ctx, c.Events())
	if ev.Type != wire.TypeReconnect || ev.Reason != "draining" {
		t.Errorf("event = %+v, want reconnect", ev)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("Events still open after the connection ended and was drained")
	}
	if _, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "late"}); !errors.As(err, &ce) {
		t.Errorf("Send after the end: err = %v, want the *CloseError", err)
	}
}

func TestClose(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), client.ErrClosed) {
		t.Errorf("Err() after Close = %v, want ErrClosed", c.Err())
	}
	if err := c.Ping(testCtx(t)); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Ping after Close: err = %v, want ErrClosed", err)
	}
	if err := c.SendAsync(client.SendRequest{Text: "x"}, func(wire.Message, error) {
		t.Error("done called after SendAsync returned an error")
	}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("SendAsync after Close: err = %v, want ErrClosed", err)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("Events still open after Close")
	}
	_ = c.Close() // twice is fine
}

func TestCloseFromHandler(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs, client.OnEvent(func(c *client.Conn, f wire.ServerFrame) {
		if f.Type == wire.TypeTypingEv {
			_ = c.Close()
		}
	}))
	if err := c.Typing("c1"); err != nil {
		t.Fatalf("Typing: %v", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), client.ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", c.Err())
	}
}

func TestEventOverflow(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs, client.MaxQueuedEvents(2))
	ctx := testCtx(t)

	_, err := c.Send(ctx, client.SendRequest{Conversation: "c1", Text: "flood"})
	if !errors.Is(err, client.ErrEventOverflow) {
		t.Fatalf("Send while events overflow: err = %v, want ErrEventOverflow", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), client.ErrEventOverflow) {
		t.Errorf("Err() = %v, want ErrEventOverflow", c.Err())
	}
	n := 0
	for range c.Events() {
		n++
	}
	if n != 2 {
		t.Errorf("%d events readable after overflow, want the 2 queued", n)
	}
}

func TestBadServerFrame(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	_, err := c.Send(testCtx(t), client.SendRequest{Conversation: "c1", Text: "garbage"})
	if err == nil || !strings.Contains(err.Error(), "bad frame from server") {
		t.Fatalf("Send answered with garbage: err = %v, want a bad frame error", err)
	}
	<-c.Done()
}

func TestWriteRaw(t *testing.T) {
	fs := newFakeServer(t, false)
	c := MustDial(t, fs)
	ctx := testCtx(t)
	if err := c.WriteRaw([]byte(`{"type":"receipt","id":"raw-1"}`)); err != nil {
		t.Fatalf("WriteRaw: %v", err)
	}
	// The ack names an id no request is waiting for: it is an event.
	ev := next(t, ctx, c.Events())
	if ev.Type != wire.TypeAck || ev.ID != "raw-1" {
		t.Errorf("event = %+v, want the ack of raw-1", ev)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if got := fs.received(); len(got) != 2 || got[0].ID != "raw-1" {
		t.Errorf("server received %+v, want the raw frame then the ping", got)
	}
}
