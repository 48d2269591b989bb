package client_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lxzan/gws"

	"github.com/switchboard-chat/switchboard/wire"
)

// fakeServer speaks just enough of the WebSocket protocol to test the
// client's framing: it authenticates the token "good", then answers frames
// by fixed rules keyed on the send text (see handle).
type fakeServer struct {
	*httptest.Server
	t testing.TB

	mu      sync.Mutex
	sockets []*gws.Conn
	frames  []wire.ClientFrame // every frame after auth
	held    []heldSend         // sends waiting for "release" or a full batch
	seq     int64

	gotAuth chan struct{} // receives one value per auth frame
	gotHang chan struct{} // receives one value per "hang" send
	gotPong chan struct{} // receives one value per control pong
}

type heldSend struct {
	socket *gws.Conn
	f      wire.ClientFrame
}

func newFakeServer(tb testing.TB, tlsOn bool) *fakeServer {
	tb.Helper()
	fs := &fakeServer{
		t:       tb,
		gotAuth: make(chan struct{}, 16),
		gotHang: make(chan struct{}, 16),
		gotPong: make(chan struct{}, 16),
	}
	up := gws.NewUpgrader(fs, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ws", func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		fs.mu.Lock()
		fs.sockets = append(fs.sockets, socket)
		fs.mu.Unlock()
		go socket.ReadLoop()
	})
	mux.HandleFunc("GET /v1/refused", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	if tlsOn {
		fs.Server = httptest.NewTLSServer(mux)
	} else {
		fs.Server = httptest.NewServer(mux)
	}
	tb.Cleanup(func() {
		fs.mu.Lock()
		for _, s := range fs.sockets {
			_ = s.NetConn().Close()
		}
		fs.mu.Unlock()
		fs.Server.Close()
	})
	return fs
}

// received returns the frames received so far after auth.
func (fs *fakeServer) received() []wire.ClientFrame {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]wire.ClientFrame(nil), fs.frames...)
}

func (fs *fakeServer) write(socket *gws.Conn, f wire.ServerFrame) {
	b, err := json.Marshal(f)
	if err != nil {
		fs.t.Errorf("fake server: encode: %v", err)
		return
	}
	_ = socket.WriteMessage(gws.OpcodeText, b)
}

func (fs *fakeServer) ack(socket *gws.Conn, f wire.ClientFrame) {
	fs.mu.Lock()
	fs.seq++
	seq := fs.seq
	fs.mu.Unlock()
	conv := f.Conversation
	if conv == "" {
		conv = "d:" + f.ToUser
	}
	fs.write(socket, wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, Msg: &wire.Message{
		ID: "m" + strconv.FormatInt(seq, 10), Conversation: conv, Seq: seq, From: "alice",
		Text: f.Text, ClientMsgID: f.ClientMsgID,
	}})
}

func (fs *fakeServer) OnOpen(*gws.Conn) {}

func (fs *fakeServer) OnClose(*gws.Conn, error) {}

func (fs *fakeServer) OnPing(s *gws.Conn, p []byte) { _ = s.WritePong(p) }

func (fs *fakeServer) OnPong(*gws.Conn, []byte) { notify(fs.gotPong) }

// notify sends on ch unless its buffer is full.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (fs *fakeServer) OnMessage(socket *gws.Conn, m *gws.Message) {
	defer m.Close()
	var f wire.ClientFrame
	if err := json.Unmarshal(m.Bytes(), &f); err != nil {
		fs.t.Errorf("fake server: bad frame %q: %v", m.Bytes(), err)
		return
	}
	if _, ok := socket.Session().Load("authed"); !ok {
		notify(fs.gotAuth)
		switch {
		case f.Type != wire.TypeAuth:
			fs.t.Errorf("fake server: first frame is %q, want auth", f.Type)
		case f.Token == "silent":
			// Never answer: the client must give up with its ctx.
		case f.Token == "good":
			socket.Session().Store("authed", true)
			fs.write(socket, wire.ServerFrame{Type: wire.TypeReady, ID: f.ID,
				User: &wire.User{ID: "u1", Username: "alice", DisplayName: "Alice"}, Node: "node-1"})
		default:
			fs.write(socket, wire.ServerFrame{Type: wire.TypeError, ID: f.ID, Code: "unauthorized", Message: "bad token"})
			_ = socket.WriteClose(4001, []byte("authentication failed"))
		}
		return
	}
	fs.mu.Lock()
	fs.frames = append(fs.frames, f)
	fs.mu.Unlock()
	fs.handle(socket, f)
}

// handle answers one authenticated frame.
func (fs *fakeServer) handle(socket *gws.Conn, f wire.ClientFrame) {
	switch f.Type {
	case wire.TypeSend:
		fs.handleSend(socket, f)
	case wire.TypeSync:
		// Three messages after each cursor, then the ack.
		var convs []wire.Conversation
		for conv, cur := range f.Cursors {
			for seq := cur + 1; seq <= cur+3; seq++ {
				fs.write(socket, wire.ServerFrame{Type: wire.TypeMessage,
					Msg: &wire.Message{ID: conv + "/" + strconv.FormatInt(seq, 10), Conversation: conv, Seq: seq}})
			}
			convs = append(convs, wire.Conversation{ID: conv, Kind: "group", LastSeq: cur + 3})
		}
		fs.write(socket, wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, Conversations: convs})
	case wire.TypeReceipt:
		fs.write(socket, wire.ServerFrame{Type: wire.TypeAck, ID: f.ID})
	case wire.TypePresenceSubscribe:
		var list []wire.Presence
		for _, u := range f.Users {
			list = append(list, wire.Presence{User: u, Online: u == "bob", LastSeen: 42})
		}
		fs.write(socket, wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, PresenceList: list})
	case wire.TypePing:
		// A control ping first: the client must answer it with a pong.
		_ = socket.WritePing(nil)
		fs.write(socket, wire.ServerFrame{Type: wire.TypePong, ID: f.ID})
	case wire.TypeTyping:
		fs.write(socket, wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: f.Conversation, UserName: "alice"})
	default:
		fs.write(socket, wire.ServerFrame{Type: wire.TypeError, ID: f.ID, Code: "bad_request", Message: "unknown frame type"})
	}
}

// handleSend acks a send, except for these texts:
//
//	fail     error frame with the send's id
//	noid     error frame without an id, then the ack
//	hang     no answer until a "release" send arrives
//	batch*   held until three have arrived, then acked newest first
//	kick     a reconnect push, then a close with code 4008
//	flood    five typing pushes, then the ack
//	garbage  a frame that is not JSON
func (fs *fakeServer) handleSend(socket *gws.Conn, f wire.ClientFrame) {
	switch {
	case f.Text == "fail":
		fs.write(socket, wire.ServerFrame{Type: wire.TypeError, ID: f.ID, Code: "forbidden", Message: "not a member"})
	case f.Text == "noid":
		fs.write(socket, wire.ServerFrame{Type: wire.TypeError, Code: "bad_request", Message: "something else"})
		fs.ack(socket, f)
	case f.Text == "hang":
		fs.mu.Lock()
		fs.held = append(fs.held, heldSend{socket, f})
		fs.mu.Unlock()
		notify(fs.gotHang)
	case f.Text == "release":
		fs.mu.Lock()
		held := fs.held
		fs.held = nil
		fs.mu.Unlock()
		for _, h := range held {
			fs.ack(h.socket, h.f)
		}
		fs.ack(socket, f)
	case strings.HasPrefix(f.Text, "batch"):
		fs.mu.Lock()
		fs.held = append(fs.held, heldSend{socket, f})
		var held []heldSend
		if len(fs.held) == 3 {
			held, fs.held = fs.held, nil
		}
		fs.mu.Unlock()
		for i := len(held) - 1; i >= 0; i-- {
			fs.ack(held[i].socket, held[i].f)
		}
	case f.Text == "kick":
		fs.write(socket, wire.ServerFrame{Type: wire.TypeReconnect, Reason: "draining"})
		_ = socket.WriteClose(4008, []byte("outbound queue full"))
	case f.Text == "flood":
		for range 5 {
			fs.write(socket, wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: "c1", UserName: "bob"})
		}
		fs.ack(socket, f)
	case f.Text == "garbage":
		_ = socket.WriteMessage(gws.OpcodeText, []byte("not json"))
	default:
		fs.ack(socket, f)
	}
}
