package gateway_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/gateway"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	runtime "github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/password"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// node is a gateway in front of a real core on a SQLite store in a temp
// dir, with two users, alice and bob.
type node struct {
	gw    *gateway.Gateway
	token string // alice's
}

func newNode(tb testing.TB) *node {
	tb.Helper()
	return newNodeWith(tb, gateway.Config{Heartbeat: time.Hour, AuthTimeout: time.Hour})
}

// newNodeWith is newNode with the gateway configured by cfg.
func newNodeWith(tb testing.TB, cfg gateway.Config) *node {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "switchboard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var n atomic.Int64
	presence := inmem.NewPresence("n1")
	svc := chat.NewService(chat.Config{
		Store: st, Presence: presence, Hasher: password.Argon2id{MemoryKiB: 64, Time: 1},
		Runtime: runtime.New(runtime.Config{Store: st, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1", PresenceGrace: time.Millisecond}),
		NewID:   func() string { return fmt.Sprintf("01fuzz%020d", n.Add(1)) },
	})
	gw := gateway.New(svc, cfg)
	runCtx, cancel := context.WithCancel(ctx)
	svc.Start(runCtx, gw)
	tb.Cleanup(func() { cancel(); svc.Stop() })
	for _, u := range []string{"alice", "bob"} {
		if _, err := svc.Signup(ctx, u, "password-"+u, ""); err != nil {
			tb.Fatal(err)
		}
	}
	token, _, _, err := svc.Login(ctx, "alice", "password-alice")
	if err != nil {
		tb.Fatal(err)
	}
	return &node{gw: gw, token: token}
}

func (n *node) conn(tb testing.TB) *gateway.TestConn {
	tb.Helper()
	c, err := gateway.NewTestConn(n.gw)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// seedFrames are client frames of every type, good and bad.
func seedFrames(token string) []string {
	return []string{
		`{"type":"auth","id":"a","token":"` + token + `","device":"web"}`,
		`{"type":"auth","id":"a","token":"sb_forged"}`,
		`{"type":"send","id":"1","to_user":"bob","text":"hi"}`,
		`{"type":"send","id":"2","to_user":"bob","text":"hi","client_msg_id":"c1"}`,
		`{"type":"send","id":"3","conversation":"01nosuch","text":"hi"}`,
		`{"type":"send","id":"4","to_user":"bob","media_id":"01nosuch"}`,
		`{"type":"sync","id":"5","cursors":{"01nosuch":0}}`,
		`{"type":"sync","id":"6"}`,
		`{"type":"receipt","id":"7","conversation":"01nosuch","seq":1,"status":"read"}`,
		`{"type":"typing","conversation":"01nosuch"}`,
		`{"type":"presence_subscribe","id":"8","users":["bob","nobody"]}`,
		`{"type":"ping","id":"9"}`,
		`{"type":"teleport"}`,
		`{"id":"x"}`,
		`[1,2,3]`,
		`{"type":"send",`,
		"{\"type\":\"send\",\"text\":\"\xff\"}",
		`null`,
		``,
	}
}

// FuzzFrameBeforeAuth: whatever a connection's first frame is, it ends
// authenticated or closing, never open and unauthenticated.
func FuzzFrameBeforeAuth(f *testing.F) {
	n := newNode(f)
	for _, s := range seedFrames(n.token) {
		f.Add(false, []byte(s))
	}
	f.Add(true, []byte(seedFrames(n.token)[0]))
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		c := n.conn(t)
		defer c.Close()
		c.Frame(binary, data)
		if !c.Authed() && !c.Closed() {
			t.Fatalf("first frame %q left the connection open without auth", data)
		}
	})
}

// FuzzFrameAfterAuth: no frame an authenticated client sends, however
// malformed, crashes the node or closes the connection (errors are
// answered with error frames).
func FuzzFrameAfterAuth(f *testing.F) {
	n := newNode(f)
	for _, s := range seedFrames(n.token) {
		f.Add(false, []byte(s))
	}
	f.Add(true, []byte(`{"type":"ping","id":"b"}`))
	c := n.conn(f)
	c.Frame(false, []byte(seedFrames(n.token)[0]))
	if !c.Authed() {
		f.Fatal("seed connection did not authenticate")
	}
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		c.Frame(binary, data)
		if c.Closed() {
			t.Fatalf("frame %q closed an authenticated connection", data)
		}
	})
}
