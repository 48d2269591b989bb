package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// floodDial is rawDial with room for every answer to a flood, authenticated
// as c.
func floodDial(t *testing.T, s *testServer, c *client.Client) *rawConn {
	t.Helper()
	fc := rawDialN(t, s, 100_000)
	fc.write(t, fmt.Sprintf(`{"type":"auth","id":"a","token":%q,"device":"flood"}`, c.Token()))
	if f := fc.next(t); f.Type != wire.TypeReady {
		t.Fatalf("first frame %+v; want ready", f)
	}
	return fc
}

func TestFrameBudget(t *testing.T) {
	s := startServer(t, "--frame-rate", "5", "--frame-burst", "20")
	pat := user(t, s, "pat")
	other := dial(t, pat, "phone") // the same user's other device
	fc := floodDial(t, s, pat)
	// The burst, then the refusals the gateway takes before it closes
	// (refusalsToClose), at once; then, if refills answered some of them,
	// one ping at a time, each after the answer to the last, so the count
	// of answers is exact. (A client that floods without pacing gets its
	// close code too: TestFloodSeesCloseCode.)
	const burst, refusals = 20, 200
	sent := 0
	ping := func() {
		// An error means the server closed; its close frame is on the way.
		_ = fc.ws.WriteMessage(gws.OpcodeText, fmt.Appendf(nil, `{"type":"ping","id":"p%d"}`, sent))
		sent++
	}
	for range burst + refusals {
		ping()
	}
	var pongs, limited int
	count := func(f wire.ServerFrame) {
		switch {
		case f.Type == wire.TypePong:
			pongs++
		case f.Type == wire.TypeError && f.Code == "rate_limited":
			limited++
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	var code uint16
	timeout := time.After(20 * time.Second)
	for closed := false; !closed; {
		select {
		case ce := <-fc.closed:
			if ce != nil {
				code = ce.Code
			}
			closed = true
		case f := <-fc.frames:
			count(f)
			if pongs+limited == sent {
				ping()
			}
		case <-timeout:
			t.Fatalf("still open after %d pings (%d answered, %d refused)", sent, pongs, limited)
		}
	}
	// Every frame before the close is in the channel by now: the read loop
	// hands them over before it reports the close.
	for len(fc.frames) > 0 {
		count(<-fc.frames)
	}
	if code != 4029 {
		t.Fatalf("close code %d; want 4029 for a client that ignores its budget", code)
	}
	if pongs < burst || pongs >= sent/2 || limited < refusals {
		t.Fatalf("%d pongs, %d refused of %d pings; want the burst of 20 (and what refilled) answered, the rest refused", pongs, limited, sent)
	}
	// The user's other connection is untouched.
	if _, err := other.Send(ctxT(t), client.SendRequest{ToUser: "pat", Text: "still here"}); err != nil {
		t.Fatal(err)
	}
}

func TestTypingFloodIsCollapsed(t *testing.T) {
	s := startServer(t)
	pat, quinn := user(t, s, "pat"), user(t, s, "quinn")
	g, err := pat.CreateGroup(ctxT(t), "flood", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quinn.JoinGroup(ctxT(t), "flood"); err != nil {
		t.Fatal(err)
	}
	qc := dial(t, quinn, "web")
	fc := floodDial(t, s, pat)
	for i := range 1000 {
		fc.write(t, fmt.Sprintf(`{"type":"typing","id":"t%d","conversation":%q}`, i, g.ID))
	}
	fc.write(t, fmt.Sprintf(`{"type":"send","id":"m","conversation":%q,"text":"done"}`, g.ID))
	typing := 0
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case f, ok := <-qc.Events():
			if !ok {
				t.Fatalf("quinn's connection ended: %v", qc.Err())
			}
			if f.Type == wire.TypeTyping {
				typing++
			}
			done = f.Type == wire.TypeMessage && f.Msg != nil && f.Msg.Text == "done"
		case <-timeout:
			t.Fatalf("the message after the flood did not arrive (%d typing frames so far)", typing)
		}
	}
	// One every 2 s per conversation: the flood takes well under a minute.
	if typing == 0 || typing > 30 {
		t.Fatalf("quinn got %d typing frames for 1000 sent; want them collapsed", typing)
	}
}

func TestPresenceSubscribeCollapsesRepeats(t *testing.T) {
	s := startServer(t)
	pat := user(t, s, "pat")
	user(t, s, "quinn")
	fc := floodDial(t, s, pat)
	names := make([]string, 999)
	for i := range names {
		names[i] = "quinn"
		if i%2 == 1 {
			names[i] = "QUINN"
		}
	}
	b, _ := json.Marshal(names)
	fc.write(t, fmt.Sprintf(`{"type":"presence_subscribe","id":"ps","users":%s}`, b))
	f := fc.next(t)
	if f.Type != wire.TypeAck || len(f.PresenceList) != 1 {
		t.Fatalf("answer %+v; want an ack with one presence", f)
	}
	for i := range 10 {
		fc.write(t, fmt.Sprintf(`{"type":"presence_subscribe","id":"p%d","users":["quinn"]}`, i))
	}
	limited := 0
	for range 10 {
		if f := fc.next(t); f.Type == wire.TypeError && f.Code == "rate_limited" {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("eleven presence subscriptions at once were all answered")
	}
}

func TestConnectionCapPerUser(t *testing.T) {
	s := startServer(t, "--max-conns-per-user", "3")
	pat := user(t, s, "pat")
	var conns []*client.Conn
	for i := range 3 {
		conns = append(conns, dial(t, pat, fmt.Sprintf("dev%d", i)))
	}
	fc := rawDial(t, s)
	fc.write(t, fmt.Sprintf(`{"type":"auth","id":"a","token":%q,"device":"fourth"}`, pat.Token()))
	if f := fc.next(t); f.Type != wire.TypeError || f.Code != "rate_limited" {
		t.Fatalf("fourth connection got %+v; want rate_limited", f)
	}
	if code := fc.waitClosed(t); code != 4029 {
		t.Fatalf("fourth connection closed with %d; want 4029", code)
	}
	// The refused one took nothing: closing one makes room for another,
	// and the three still work meanwhile.
	if _, err := conns[1].Send(ctxT(t), client.SendRequest{ToUser: "pat", Text: "me"}); err != nil {
		t.Fatal(err)
	}
	conns[0].Close()
	<-conns[0].Done()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := pat.Dial(ctxT(t), "dev4")
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after one closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFloodSeesCloseCode: a client that floods frames far past its budget,
// without waiting for any answer, still reads every answer the server
// wrote and then the 4029 close, under both engines. The server closes
// with much of the flood unread; it must drain it rather than reset the
// connection, since a reset can reach the client before the close frame
// (and the errors before it) has been read.
func TestFloodSeesCloseCode(t *testing.T) {
	for _, engine := range []string{"poll", "gws"} {
		t.Run(engine, func(t *testing.T) {
			s := startServer(t, "--frame-rate", "5", "--frame-burst", "20", "--ws-engine", engine)
			pat := user(t, s, "pat")
			fc := floodDial(t, s, pat)
			const flood, burst, refusals = 2000, 20, 200
			var werr error
			sent := 0
			for ; sent < flood; sent++ {
				if werr = fc.ws.WriteMessage(gws.OpcodeText, fmt.Appendf(nil, `{"type":"ping","id":"p%d"}`, sent)); werr != nil {
					break // the server closed; what it wrote before is still to be read
				}
			}
			var frames []wire.ServerFrame
			var ce *gws.CloseError
			timeout := time.After(20 * time.Second)
			for closed := false; !closed; {
				select {
				case ce = <-fc.closed:
					closed = true
				case f := <-fc.frames:
					frames = append(frames, f)
				case <-timeout:
					t.Fatalf("still open after %d frames sent, %d answered", sent, len(frames))
				}
			}
			// The read loop hands every frame over before it reports the close.
			for len(fc.frames) > 0 {
				frames = append(frames, <-fc.frames)
			}
			if ce == nil {
				t.Fatalf("connection ended without a close frame after %d answers to %d frames sent (write error: %v)", len(frames), sent, werr)
			}
			if ce.Code != 4029 {
				t.Fatalf("close code %d (%q); want 4029", ce.Code, ce.Reason)
			}
			// Every frame up to the one that closed is answered, in order:
			// a pong while the budget lasts, then rate_limited; the close
			// comes with the refusal after the last 200 in a row.
			pongs, run := 0, 0
			for i, f := range frames {
				if want := fmt.Sprintf("p%d", i); f.ID != want {
					t.Fatalf("answer %d is to %q; want %q (answers lost before the close)", i, f.ID, want)
				}
				switch {
				case f.Type == wire.TypePong:
					pongs++
					run = 0
				case f.Type == wire.TypeError && f.Code == "rate_limited":
					run++
				default:
					t.Fatalf("unexpected frame %+v", f)
				}
			}
			if pongs < burst || run != refusals {
				t.Fatalf("%d pongs and a last run of %d refusals in %d answers; want at least the burst of %d, then %d refusals", pongs, run, len(frames), burst, refusals)
			}
		})
	}
}
