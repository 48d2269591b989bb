package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// rawConn is a WebSocket with no protocol logic, for frames the client
// package would never send.
type rawConn struct {
	ws     *gws.Conn
	frames chan wire.ServerFrame
	closed chan *gws.CloseError
}

type rawEvents struct{ r *rawConn }

func (rawEvents) OnOpen(*gws.Conn)             {}
func (rawEvents) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }
func (rawEvents) OnPong(*gws.Conn, []byte)     {}
func (e rawEvents) OnClose(_ *gws.Conn, err error) {
	var ce *gws.CloseError
	errors.As(err, &ce)
	e.r.closed <- ce
}
func (e rawEvents) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f wire.ServerFrame
	if err := json.Unmarshal(m.Bytes(), &f); err == nil {
		e.r.frames <- f
	}
}

func rawDial(t *testing.T, s *testServer) *rawConn {
	t.Helper()
	return rawDialN(t, s, 64)
}

// rawDialN dials with room for n server frames not yet read.
func rawDialN(t *testing.T, s *testServer, n int) *rawConn {
	t.Helper()
	r := &rawConn{frames: make(chan wire.ServerFrame, n), closed: make(chan *gws.CloseError, 1)}
	ws, _, err := gws.NewClient(rawEvents{r}, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/ws"})
	if err != nil {
		t.Fatal(err)
	}
	r.ws = ws
	go ws.ReadLoop()
	t.Cleanup(func() { ws.NetConn().Close() })
	return r
}

func (r *rawConn) write(t *testing.T, s string) {
	t.Helper()
	if err := r.ws.WriteMessage(gws.OpcodeText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (r *rawConn) next(t *testing.T) wire.ServerFrame {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
	}
	return wire.ServerFrame{}
}

// waitClosed returns the close code the server sent, and checks that its
// reason names no socket address.
func (r *rawConn) waitClosed(t *testing.T) uint16 {
	t.Helper()
	select {
	case ce := <-r.closed:
		if ce == nil {
			return 0
		}
		if strings.Contains(string(ce.Reason), "127.0.0.1") {
			t.Errorf("close reason %q names a socket address", ce.Reason)
		}
		return ce.Code
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed within 10s")
	}
	return 0
}

func TestBadInputBeforeAuth(t *testing.T) {
	s := startServer(t, "--auth-timeout", "500ms")
	olive := user(t, s, "olive")
	auth := `{"type":"auth","id":"a","token":"` + olive.Token() + `"}`
	for _, tc := range []struct {
		name, frame, code string
		binary            bool
	}{
		{"frame before auth", `{"type":"send","id":"1","to_user":"olive","text":"hi"}`, "unauthorized", false},
		{"ping before auth", `{"type":"ping","id":"1"}`, "unauthorized", false},
		{"bad token", `{"type":"auth","id":"1","token":"sb_forged"}`, "unauthorized", false},
		{"empty token", `{"type":"auth","id":"1"}`, "unauthorized", false},
		{"malformed JSON", `{"type":"auth",`, "bad_request", false},
		{"binary frame", auth, "bad_request", true},
		{"invalid UTF-8", "{\"type\":\"auth\",\"id\":\"\xff\"}", "bad_request", false},
		{"oversized frame", `{"type":"auth","id":"1","token":"` + strings.Repeat("t", 70<<10) + `"}`, "too_large", false},
		{"device too long", `{"type":"auth","id":"1","token":"x","device":"` + strings.Repeat("d", 65) + `"}`, "bad_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawDial(t, s)
			op := gws.OpcodeText
			if tc.binary {
				op = gws.OpcodeBinary
			}
			// The bad frame and, right behind it, a good auth frame: the
			// connection must close on the first and never read the second.
			if err := r.ws.WriteMessage(op, []byte(tc.frame)); err != nil {
				t.Fatal(err)
			}
			_ = r.ws.WriteMessage(gws.OpcodeText, []byte(auth))
			f := r.next(t)
			if f.Type != "error" || f.Code != tc.code {
				t.Fatalf("got %+v; want error %s", f, tc.code)
			}
			if got := r.waitClosed(t); got != 4001 {
				t.Fatalf("close code %d; want 4001", got)
			}
			for len(r.frames) > 0 {
				if f := <-r.frames; f.Type == "ready" {
					t.Fatalf("auth after a bad first frame succeeded: %+v", f)
				}
			}
		})
	}
	t.Run("no auth in time", func(t *testing.T) {
		r := rawDial(t, s)
		r.waitClosed(t) // the read deadline passes; the server closes
	})
}

// TestSessionExpiryClosesWebSocket: an open connection is closed like a
// logout (4002) when its session expires, and the token stops working.
func TestSessionExpiryClosesWebSocket(t *testing.T) {
	s := startServer(t, "--session-ttl", "2s")
	vic := user(t, s, "vic")
	c := dial(t, vic, "web")
	select {
	case <-c.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("connection of an expired session stayed open")
	}
	var ce *client.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != 4002 {
		t.Fatalf("close = %v; want code 4002", c.Err())
	}
	_, err := vic.Dial(ctxT(t), "web")
	wantCode(t, err, "unauthorized")
}

func TestBadInputAfterAuth(t *testing.T) {
	s := startServer(t, "--max-text", "4096")
	pat, quinn := user(t, s, "pat"), user(t, s, "quinn")
	bystander := dial(t, quinn, "web")
	pc := dial(t, pat, "web")
	g, err := quinn.CreateGroup(ctxT(t), "private", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		frame string
		code  string
	}{
		{"malformed JSON", `{"type":"send",`, "bad_request"},
		{"not an object", `[1,2,3]`, "bad_request"},
		{"no type", `{"id":"x"}`, "bad_request"},
		{"unknown type", `{"type":"teleport","id":"x"}`, "bad_request"},
		{"auth twice", `{"type":"auth","id":"x","token":"t"}`, "bad_request"},
		{"text over the limit", `{"type":"send","id":"x","to_user":"quinn","text":"` + strings.Repeat("a", 4097) + `"}`, "too_large"},
		{"text at the limit is fine", `{"type":"send","id":"x","to_user":"quinn","text":"` + strings.Repeat("a", 4096) + `"}`, ""},
		{"empty text", `{"type":"send","id":"x","to_user":"quinn","text":""}`, "bad_request"},
		{"no target", `{"type":"send","id":"x","text":"hi"}`, "bad_request"},
		{"two targets", `{"type":"send","id":"x","to_user":"quinn","conversation":"` + g.ID + `","text":"hi"}`, "bad_request"},
		{"client_msg_id too long", `{"type":"send","id":"x","to_user":"quinn","text":"hi","client_msg_id":"` + strings.Repeat("c", 65) + `"}`, "bad_request"},
		{"unknown user", `{"type":"send","id":"x","to_user":"nobody-here","text":"hi"}`, "not_found"},
		{"invalid username", `{"type":"send","id":"x","to_user":"no spaces!","text":"hi"}`, "not_found"},
		{"not a member", `{"type":"send","id":"x","conversation":"` + g.ID + `","text":"hi"}`, "forbidden"},
		{"no such conversation", `{"type":"send","id":"x","conversation":"01nosuchconversation","text":"hi"}`, "not_found"},
		{"unknown media", `{"type":"send","id":"x","to_user":"quinn","media_id":"01nosuchmedia"}`, "not_found"},
		{"history of a stranger's group via sync is ignored", `{"type":"sync","id":"x","cursors":{"` + g.ID + `":0}}`, ""},
		{"negative cursor", `{"type":"sync","id":"x","cursors":{"` + "$DM" + `":-1}}`, "bad_request"},
		{"receipt bad status", `{"type":"receipt","id":"x","conversation":"` + g.ID + `","seq":1,"status":"seen"}`, "bad_request"},
		{"receipt negative seq", `{"type":"receipt","id":"x","conversation":"` + g.ID + `","seq":-1,"status":"read"}`, "bad_request"},
		{"receipt not a member", `{"type":"receipt","id":"x","conversation":"` + g.ID + `","seq":1,"status":"read"}`, "forbidden"},
		{"typing not a member", `{"type":"typing","id":"x","conversation":"` + g.ID + `"}`, "forbidden"},
		{"presence of unknown user", `{"type":"presence_subscribe","id":"x","users":["nobody-here"]}`, "not_found"},
		{"wrong field type", `{"type":"send","id":"x","to_user":"quinn","text":42}`, "bad_request"},
		{"edit with no message", `{"type":"edit","id":"x","text":"hi"}`, "bad_request"},
		{"edit of an unknown message", `{"type":"edit","id":"x","message":"01nosuchmessage","text":"hi"}`, "not_found"},
		{"react with on not a boolean", `{"type":"react","id":"x","message":"m","emoji":"x","on":"yes"}`, "bad_request"},
		{"react with no emoji", `{"type":"react","id":"x","message":"m"}`, "bad_request"},
		{"delete of an unknown message", `{"type":"delete","id":"x","message":"01nosuchmessage"}`, "not_found"},
		{"pin of an unknown message", `{"type":"pin","id":"x","message":"01nosuchmessage","on":true}`, "not_found"},
		{"reply to an unknown message", `{"type":"send","id":"x","to_user":"quinn","text":"re","reply_to":"01nosuchmessage"}`, "bad_request"},
		{"negative rev", `{"type":"sync","id":"x","cursors":{},"revs":{"` + "$DM" + `":-1}}`, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := tc.frame
			if strings.Contains(frame, "$DM") {
				m, err := pc.Send(ctxT(t), client.SendRequest{ToUser: "quinn", Text: "for the dm id"})
				if err != nil {
					t.Fatal(err)
				}
				frame = strings.ReplaceAll(frame, "$DM", m.Conversation)
			}
			if err := pc.WriteRaw([]byte(frame)); err != nil {
				t.Fatal(err)
			}
			f := nextAnswer(t, pc)
			if tc.code == "" {
				if f.Type != "ack" {
					t.Fatalf("got %+v; want ack", f)
				}
				return
			}
			if f.Type != "error" || f.Code != tc.code || f.Message == "" {
				t.Fatalf("got %+v; want error %s with a message", f, tc.code)
			}
		})
	}
	t.Run("invalid UTF-8", func(t *testing.T) {
		if err := pc.WriteRaw([]byte("{\"type\":\"send\",\"id\":\"u\",\"to_user\":\"quinn\",\"text\":\"\xff\xfe\"}")); err != nil {
			t.Fatal(err)
		}
		if f := nextAnswer(t, pc); f.Code != "bad_request" {
			t.Fatalf("got %+v", f)
		}
	})
	t.Run("oversized frame", func(t *testing.T) {
		big := `{"type":"send","id":"big","to_user":"quinn","text":"` + strings.Repeat("a", 70<<10) + `"}`
		if err := pc.WriteRaw([]byte(big)); err != nil {
			t.Fatal(err)
		}
		if f := nextAnswer(t, pc); f.Code != "too_large" {
			t.Fatalf("got %+v", f)
		}
	})
	// After all that, both connections still work.
	m, err := pc.Send(ctxT(t), client.SendRequest{ToUser: "quinn", Text: "still here"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		got := nextMessage(t, bystander)
		if got.ID == m.ID {
			break
		}
	}
	// A frame far past the limit closes only that connection.
	huge := strings.Repeat("x", 2<<20)
	// The server may close before the client has written it all, so the
	// write itself may fail: the close is what counts.
	_ = pc.WriteRaw([]byte(huge))
	select {
	case <-pc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection survived a 2 MiB frame")
	}
	if err := bystander.Ping(ctxT(t)); err != nil {
		t.Fatalf("bystander hurt: %v", err)
	}
}

// nextAnswer returns the next ack or error frame (WriteRaw's answers arrive as events).
func nextAnswer(t *testing.T, c *client.Conn) wire.ServerFrame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.Events():
			if !ok {
				t.Fatalf("connection ended: %v", c.Err())
			}
			if f.Type == "ack" || f.Type == "error" {
				return f
			}
		case <-timeout:
			t.Fatal("no ack or error within 10s")
		}
	}
}

func TestRateLimit(t *testing.T) {
	s := startServer(t, "--send-rate", "1", "--send-burst", "5")
	rae, sam := user(t, s, "rae"), user(t, s, "sam")
	rc := dial(t, rae, "web")
	dial(t, sam, "web")
	var ok, limited int
	for i := 0; i < 20; i++ {
		_, err := rc.Send(ctxT(t), client.SendRequest{ToUser: "sam", Text: fmt.Sprint(i)})
		switch client.ErrorCode(err) {
		case "":
			ok++
		case "rate_limited":
			limited++
		default:
			t.Fatal(err)
		}
	}
	// The burst passes (plus what refills meanwhile); the rest is refused.
	if ok < 5 || limited == 0 || ok+limited != 20 {
		t.Fatalf("ok=%d limited=%d; want the burst of 5 through and the rest limited", ok, limited)
	}
	// The limit is per user: sam can still send.
	if _, err := dial(t, sam, "web2").Send(ctxT(t), client.SendRequest{ToUser: "rae", Text: "me too"}); err != nil {
		t.Fatal(err)
	}
}

func TestBadHTTPInput(t *testing.T) {
	s := startServer(t)
	tess := user(t, s, "tess")
	tok := tess.Token()
	for _, tc := range []struct {
		name, method, path, body string
		auth                     bool
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/users", `{"username":`, false, 400, "bad_request"},
		{"unknown field", "POST", "/v1/users", `{"username":"uma","password":"longenough","admin":true}`, false, 400, "bad_request"},
		{"trailing data", "POST", "/v1/users", `{"username":"uma","password":"longenough"} {}`, false, 400, "bad_request"},
		{"invalid UTF-8", "POST", "/v1/users", "{\"username\":\"uma\",\"password\":\"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\"}", false, 400, "bad_request"},
		{"body too large", "POST", "/v1/users", `{"username":"uma","password":"` + strings.Repeat("p", 70<<10) + `"}`, false, 413, "too_large"},
		{"username too short", "POST", "/v1/users", `{"username":"ab","password":"longenough"}`, false, 400, "bad_request"},
		{"username too long", "POST", "/v1/users", `{"username":"` + strings.Repeat("a", 33) + `","password":"longenough"}`, false, 400, "bad_request"},
		{"username bad characters", "POST", "/v1/users", `{"username":"bad name!","password":"longenough"}`, false, 400, "bad_request"},
		{"username unicode", "POST", "/v1/users", `{"username":"jürgen","password":"longenough"}`, false, 400, "bad_request"},
		{"password too short", "POST", "/v1/users", `{"username":"uma","password":"short"}`, false, 400, "bad_request"},
		{"username taken, other case", "POST", "/v1/users", `{"username":"TESS","password":"longenough"}`, false, 409, "conflict"},
		{"wrong password", "POST", "/v1/sessions", `{"username":"tess","password":"wrong-password"}`, false, 401, "unauthorized"},
		{"unknown user login", "POST", "/v1/sessions", `{"username":"nobody","password":"wrong-password"}`, false, 401, "unauthorized"},
		{"no token", "GET", "/v1/conversations", ``, false, 401, "unauthorized"},
		{"bad token", "GET", "/v1/conversations", `BAD`, false, 401, "unauthorized"},
		{"unknown user profile", "GET", "/v1/users/nobody", ``, true, 404, "not_found"},
		{"group name invalid", "POST", "/v1/groups", `{"name":"a b"}`, true, 400, "bad_request"},
		{"group title too long", "POST", "/v1/groups", `{"name":"abc","title":"` + strings.Repeat("t", 129) + `"}`, true, 400, "bad_request"},
		{"join body not JSON", "POST", "/v1/groups/abc/members", `nope`, true, 400, "bad_request"},
		{"history of unknown conversation", "GET", "/v1/conversations/nope/messages", ``, true, 404, "not_found"},
		{"history bad before", "GET", "/v1/conversations/x/messages?before=abc", ``, true, 400, "bad_request"},
		{"history limit too big", "GET", "/v1/conversations/x/messages?limit=201", ``, true, 400, "bad_request"},
		{"history limit zero", "GET", "/v1/conversations/x/messages?limit=0", ``, true, 400, "bad_request"},
		{"history before and after", "GET", "/v1/conversations/x/messages?before=5&after=1", ``, true, 400, "bad_request"},
		{"unknown route", "GET", "/v1/nothing", ``, true, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *bytes.Reader
			body = bytes.NewReader([]byte(tc.body))
			if tc.method == "GET" {
				body = bytes.NewReader(nil)
			}
			req, _ := http.NewRequest(tc.method, s.URL+tc.path, body)
			if tc.auth {
				req.Header.Set("Authorization", "Bearer "+tok)
			} else if tc.body == "BAD" {
				req.Header.Set("Authorization", "Bearer sb_forged")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var eb wire.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
				t.Fatalf("status %d, body not an error JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Fatalf("got %d %+v; want %d %s", resp.StatusCode, eb, tc.status, tc.code)
			}
		})
	}
	// The node still serves.
	if _, err := tess.Conversations(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// silentEvents is a raw client that never answers the server's pings.
type silentEvents struct{ rawEvents }

func (silentEvents) OnPing(*gws.Conn, []byte) {}

func TestHeartbeat(t *testing.T) {
	s := startServer(t, "--heartbeat", "100ms")
	una := user(t, s, "una")
	// The client package answers pings: the connection outlives many
	// heartbeat intervals and keeps working.
	c := dial(t, una, "web")
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		if err := c.Ping(ctxT(t)); err != nil {
			t.Fatalf("after %d heartbeats: %v", i+1, err)
		}
	}
	// A client that authenticates and then never answers a ping is closed.
	r := &rawConn{frames: make(chan wire.ServerFrame, 64), closed: make(chan *gws.CloseError, 1)}
	ws, _, err := gws.NewClient(silentEvents{rawEvents{r}}, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/ws"})
	if err != nil {
		t.Fatal(err)
	}
	r.ws = ws
	go ws.ReadLoop()
	t.Cleanup(func() { ws.NetConn().Close() })
	r.write(t, `{"type":"auth","id":"a","token":"`+una.Token()+`"}`)
	if f := r.next(t); f.Type != "ready" {
		t.Fatalf("got %+v; want ready", f)
	}
	r.waitClosed(t)
}

func TestLoginThrottle(t *testing.T) {
	s := startServer(t)
	user(t, s, "vera") // one successful login
	c := client.New(s.URL)
	var wrong, limited int
	for i := 0; i < 15; i++ {
		_, err := c.Login(ctxT(t), "vera", "not the password")
		switch client.ErrorCode(err) {
		case "unauthorized":
			wrong++
		case "rate_limited":
			limited++
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if limited == 0 || wrong > 10 {
		t.Fatalf("wrong=%d limited=%d; want guessing slowed after about 10 attempts", wrong, limited)
	}
	// The brake is per username: others log in as usual.
	walt := user(t, s, "walt")
	// Only failures count: many good logins (devices) are never braked.
	for i := 0; i < 15; i++ {
		if _, err := walt.Login(ctxT(t), "walt", "password-walt"); err != nil {
			t.Fatalf("good login %d: %v", i, err)
		}
	}
}
