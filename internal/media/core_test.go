package media_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/blob"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpapi"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/media"
	"github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// plainHasher keeps the test fast; the real hasher is not under test here.
type plainHasher struct{}

func (plainHasher) Hash(p string) (string, error)    { return "plain:" + p, nil }
func (plainHasher) Verify(h, p string) (bool, error) { return h == "plain:"+p, nil }
func (noDeliver) Deliver(*chat.Event)                {}

type noDeliver struct{}

// TestWithCore wires the handler to the chat core as serve does: the
// core's Authenticate for tokens and the store's Media for media_id on
// send. Media sent in a group or a direct conversation becomes readable by
// its members, and only by them.
func TestWithCore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n atomic.Int64
	newID := func() string { return fmt.Sprintf("id%08d", n.Add(1)) }
	presence := inmem.NewPresence("n1")
	svc := chat.NewService(chat.Config{
		Store: st, Presence: presence, Hasher: plainHasher{}, Media: st.Media, NewID: newID,
		Runtime: node.New(node.Config{Store: st, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1"}),
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	svc.Start(runCtx, noDeliver{})
	defer svc.Stop()

	blobs, err := blob.NewDisk(filepath.Join(dir, "media"))
	if err != nil {
		t.Fatal(err)
	}
	// Mounted under the API's router, as serve does.
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{
		Service: svc,
		Media: media.NewHandler(media.Deps{
			Blobs: blobs,
			Meta:  st,
			Authenticate: func(r *http.Request) (chat.Session, error) {
				return svc.Authenticate(r.Context(), httpjson.BearerToken(r))
			},
			NewID: newID,
		}),
	}))
	defer srv.Close()
	e := &env{srv: srv, store: st, blobDir: filepath.Join(dir, "media")}

	sessions := map[string]chat.Session{}
	toks := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		if _, err := svc.Signup(ctx, name, "password-"+name, ""); err != nil {
			t.Fatalf("Signup(%s): %v", name, err)
		}
		tok, sess, _, err := svc.Login(ctx, name, "password-"+name)
		if err != nil {
			t.Fatalf("Login(%s): %v", name, err)
		}
		toks[name], sessions[name] = tok, sess
	}
	conn := func(name string) chat.ConnInfo {
		s := sessions[name]
		return chat.ConnInfo{UserID: s.UserID, Username: s.Username, ConnID: "c-" + name, Session: s.ID}
	}
	send := func(from string, req chat.SendRequest) (chat.Message, error) {
		t.Helper()
		type result struct {
			m   chat.Message
			err error
		}
		ch := make(chan result, 1)
		svc.Send(ctx, conn(from), req, func(m chat.Message, err error) { ch <- result{m, err} })
		r := <-ch
		return r.m, r.err
	}

	status, m, code := e.post(t, toks["alice"], "image/png", bytes.NewReader(pngImage(t, 40, 30)))
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %q", status, code)
	}
	g, err := svc.CreateGroup(ctx, sessions["alice"], "team", chat.GroupSettings{})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if _, err := svc.JoinGroup(ctx, sessions["bob"], "team"); err != nil {
		t.Fatalf("JoinGroup: %v", err)
	}
	fetch := func(name string) int {
		t.Helper()
		resp, _ := e.get(t, "/v1/media/"+m.ID, toks[name])
		return resp.StatusCode
	}
	if got := fetch("bob"); got != http.StatusForbidden {
		t.Errorf("bob before the send: %d, want 403", got)
	}
	if got := fetch(""); got != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", got)
	}
	if resp, _ := e.get(t, m.URL, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("signed url: %d, want 200", resp.StatusCode)
	}

	// Only the uploader may attach it.
	if _, err := send("bob", chat.SendRequest{ClientMsgID: "b1", Conversation: g.ID, MediaID: m.ID}); chat.ErrorCode(err) != chat.EForbidden {
		t.Errorf("bob attaching alice's upload: %v, want forbidden", err)
	}
	msg, err := send("alice", chat.SendRequest{ClientMsgID: "a1", Conversation: g.ID, Text: "look", MediaID: m.ID})
	if err != nil {
		t.Fatalf("Send with media: %v", err)
	}
	if msg.Media == nil || msg.Media.ID != m.ID || msg.Media.SHA256 != m.SHA256 || msg.Media.Width != 40 {
		t.Errorf("message media = %+v, want the upload %+v", msg.Media, m)
	}
	if got := fetch("bob"); got != http.StatusOK {
		t.Errorf("bob, member where it was sent: %d, want 200", got)
	}
	if got := fetch("carol"); got != http.StatusForbidden {
		t.Errorf("carol, not a member: %d, want 403", got)
	}
	if _, err := send("alice", chat.SendRequest{ClientMsgID: "a2", ToUser: "carol", MediaID: m.ID}); err != nil {
		t.Fatalf("direct send with media: %v", err)
	}
	if got := fetch("carol"); got != http.StatusOK {
		t.Errorf("carol, sent to directly: %d, want 200", got)
	}
	if got := fetch("dave"); got != http.StatusForbidden {
		t.Errorf("dave: %d, want 403", got)
	}
	if _, err := send("alice", chat.SendRequest{ClientMsgID: "a3", Conversation: g.ID, MediaID: "nosuch"}); chat.ErrorCode(err) != chat.ENotFound {
		t.Errorf("send with unknown media: %v, want not_found", err)
	}
	if err := svc.LeaveGroup(ctx, sessions["bob"], "team"); err != nil {
		t.Fatal(err)
	}
	if got := fetch("bob"); got != http.StatusForbidden {
		t.Errorf("bob after leaving: %d, want 403", got)
	}
}
