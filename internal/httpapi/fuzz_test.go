package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/httpapi"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/node"
	"github.com/switchboard-chat/switchboard/internal/password"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
	"github.com/switchboard-chat/switchboard/wire"
)

// FuzzJSONBodies sends arbitrary bodies to every route that decodes JSON,
// through the real API on a real core and SQLite store: each answer is a
// success or a JSON error with a client error status, never a 500 or a
// crash.
func FuzzJSONBodies(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "switchboard.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	var n atomic.Int64
	presence := inmem.NewPresence("n1")
	svc := chat.NewService(chat.Config{
		Store: st, Presence: presence, Hasher: password.Argon2id{MemoryKiB: 64, Time: 1},
		Runtime: node.New(node.Config{Store: st, Presence: presence, Bus: inmem.NewBus("n1"), NodeID: "n1"}),
		NewID:   func() string { return fmt.Sprintf("01fuzz%020d", n.Add(1)) },
	})
	if _, err := svc.Signup(ctx, "alice", "password-alice", ""); err != nil {
		f.Fatal(err)
	}
	token, _, _, err := svc.Login(ctx, "alice", "password-alice")
	if err != nil {
		f.Fatal(err)
	}
	h := httpapi.NewServer(httpapi.Deps{Service: svc})
	routes := []string{"/v1/users", "/v1/sessions", "/v1/groups", "/v1/groups/crew/members"}
	for i, body := range []string{
		`{"username":"bob","password":"password-bob","display_name":"Bob"}`,
		`{"username":"alice","password":"password-alice"}`,
		`{"name":"crew","title":"The crew"}`,
		`{}`,
		`{"username":"x","unknown":1}`,
		`{"username":"bob"} {"trailing":1}`,
		"{\"username\":\"\xff\"}",
		`[]`, `null`, `"str"`, ``, `{`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := routes[int(route)%len(routes)]
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("POST %s %q: status %d %s", path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e wire.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("POST %s %q: %d with body %q; want a JSON error", path, body, w.Code, w.Body)
			}
		}
	})
}
