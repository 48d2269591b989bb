package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// recorded is one request the fake HTTP server saw.
type recorded struct {
	Method, URI, Auth, ContentType, Body string
}

// fakeHTTP answers every request with status and body, and records it.
type fakeHTTP struct {
	*httptest.Server
	mu     sync.Mutex
	last   recorded
	status int
	body   string
}

func newFakeHTTP(tb testing.TB) *fakeHTTP {
	tb.Helper()
	f := &fakeHTTP{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.last = recorded{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		status, body := f.status, f.body
		f.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	tb.Cleanup(f.Close)
	return f
}

func (f *fakeHTTP) answer(status int, body string) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

func (f *fakeHTTP) request() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func TestHTTPCalls(t *testing.T) {
	conv := wire.Conversation{ID: "c1", Kind: "group", Name: "devs", LastSeq: 3}
	tests := []struct {
		name     string
		call     func(context.Context, *client.Client) (any, error)
		status   int
		answer   string
		want     any
		method   string
		uri      string
		body     string // JSON the request must carry, "" for none
		wantType string // Content-Type the request must carry
	}{
		{
			name: "Signup",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Signup(ctx, "alice", "pw", "Alice")
			},
			status: 201, answer: `{"user":{"id":"u1","username":"alice","display_name":"Alice"}}`,
			want:   wire.User{ID: "u1", Username: "alice", DisplayName: "Alice"},
			method: "POST", uri: "/v1/users", body: `{"username":"alice","password":"pw","display_name":"Alice"}`,
			wantType: "application/json",
		},
		{
			name:   "User",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.User(ctx, "bob") },
			status: 200, answer: `{"user":{"id":"u2","username":"bob","display_name":"bob","online":true,"last_seen":7}}`,
			want:   wire.User{ID: "u2", Username: "bob", DisplayName: "bob", Online: ptr(true), LastSeen: ptr(int64(7))},
			method: "GET", uri: "/v1/users/bob",
		},
		{
			name: "CreateGroup",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.CreateGroup(ctx, "devs", "Developers")
			},
			status: 201, answer: `{"conversation":{"id":"c1","kind":"group","name":"devs","last_seq":3}}`,
			want:   conv,
			method: "POST", uri: "/v1/groups", body: `{"name":"devs","title":"Developers"}`, wantType: "application/json",
		},
		{
			name:   "JoinGroup",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.JoinGroup(ctx, "devs") },
			status: 200, answer: `{"conversation":{"id":"c1","kind":"group","name":"devs","last_seq":3}}`,
			want:   conv,
			method: "POST", uri: "/v1/groups/devs/members", body: `{}`, wantType: "application/json",
		},
		{
			name:   "LeaveGroup",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return nil, c.LeaveGroup(ctx, "devs") },
			status: 204,
			method: "DELETE", uri: "/v1/groups/devs/members/me",
		},
		{
			name:   "Members",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Members(ctx, "devs") },
			status: 200, answer: `{"members":[{"username":"alice","online":true},{"username":"bob","online":false}]}`,
			want:   []wire.Member{{Username: "alice", Online: true}, {Username: "bob"}},
			method: "GET", uri: "/v1/groups/devs/members",
		},
		{
			name:   "Conversations",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Conversations(ctx) },
			status: 200, answer: `{"conversations":[{"id":"c1","kind":"group","name":"devs","last_seq":3}]}`,
			want:   []wire.Conversation{conv},
			method: "GET", uri: "/v1/conversations",
		},
		{
			name: "Messages after",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Messages(ctx, "c/1", client.HistoryQuery{After: 10, Limit: 50})
			},
			status: 200, answer: `{"messages":[{"id":"m1","conversation":"c/1","seq":11,"from":"bob","ts":5,"text":"hi"}]}`,
			want:   []wire.Message{{ID: "m1", Conversation: "c/1", Seq: 11, From: "bob", TS: 5, Text: "hi"}},
			method: "GET", uri: "/v1/conversations/c%2F1/messages?after=10&limit=50",
		},
		{
			name: "Messages latest",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Messages(ctx, "c1", client.HistoryQuery{})
			},
			status: 200, answer: `{"messages":[]}`,
			want:   []wire.Message{},
			method: "GET", uri: "/v1/conversations/c1/messages",
		},
		{
			name: "Messages before",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.Messages(ctx, "c1", client.HistoryQuery{Before: 4})
			},
			status: 200, answer: `{"messages":[]}`,
			want:   []wire.Message{},
			method: "GET", uri: "/v1/conversations/c1/messages?before=4",
		},
		{
			name:   "Discover",
			call:   func(ctx context.Context, c *client.Client) (any, error) { return c.Discover(ctx) },
			status: 200, answer: `{"ws_url":"ws://n2/v1/ws","node":"n2"}`,
			want:   wire.DiscoverResponse{WSURL: "ws://n2/v1/ws", Node: "n2"},
			method: "GET", uri: "/v1/discover",
		},
		{
			name: "UploadMedia",
			call: func(ctx context.Context, c *client.Client) (any, error) {
				return c.UploadMedia(ctx, "image/png", strings.NewReader("PNGDATA"))
			},
			status: 201, answer: `{"media":{"id":"md1","content_type":"image/png","size":7}}`,
			want:   wire.Media{ID: "md1", ContentType: "image/png", Size: 7},
			method: "POST", uri: "/v1/media", body: "PNGDATA", wantType: "image/png",
		},
	}
	f := newFakeHTTP(t)
	c := client.New(f.URL+"/", client.WithSessionToken("tok"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.answer(tt.status, tt.answer)
			got, err := tt.call(testCtx(t), c)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, got, tt.want)
			}
			r := f.request()
			if r.Method != tt.method || r.URI != tt.uri {
				t.Errorf("request %s %s, want %s %s", r.Method, r.URI, tt.method, tt.uri)
			}
			if r.Auth != "Bearer tok" {
				t.Errorf("Authorization = %q, want Bearer tok", r.Auth)
			}
			if r.ContentType != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", r.ContentType, tt.wantType)
			}
			if r.Body != tt.body {
				t.Errorf("body = %s, want %s", r.Body, tt.body)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoginLogout(t *testing.T) {
	f := newFakeHTTP(t)
	c := client.New(f.URL)
	ctx := testCtx(t)

	f.answer(201, `{"token":"t1","user":{"id":"u1","username":"alice","display_name":""},"expires_at":99}`)
	lr, err := c.Login(ctx, "alice", "pw")
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if lr.Token != "t1" || lr.User.Username != "alice" || lr.ExpiresAt != 99 {
		t.Errorf("Login = %+v", lr)
	}
	if r := f.request(); r.Method != "POST" || r.URI != "/v1/sessions" || r.Auth != "" ||
		r.Body != `{"username":"alice","password":"pw"}` {
		t.Errorf("login request = %+v", r)
	}
	if c.Token() != "t1" {
		t.Errorf("Token() after Login = %q, want t1", c.Token())
	}

	other := c.WithToken("t2")
	f.answer(200, `{"conversations":[]}`)
	if _, err := other.Conversations(ctx); err != nil {
		t.Fatalf("Conversations: %v", err)
	}
	if r := f.request(); r.Auth != "Bearer t2" {
		t.Errorf("WithToken client sent %q, want Bearer t2", r.Auth)
	}
	if c.Token() != "t1" {
		t.Errorf("WithToken changed the original's token to %q", c.Token())
	}

	f.answer(204, "")
	if err := c.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if r := f.request(); r.Method != "DELETE" || r.URI != "/v1/sessions/current" || r.Auth != "Bearer t1" {
		t.Errorf("logout request = %+v", r)
	}
	if c.Token() != "" {
		t.Errorf("Token() after Logout = %q, want empty", c.Token())
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   client.Error
	}{
		{"wire body", 409, `{"error":{"code":"conflict","message":"username taken"}}`,
			client.Error{Status: 409, Code: "conflict", Message: "username taken"}},
		{"plain text", 502, "bad gateway\n", client.Error{Status: 502, Code: "internal", Message: "bad gateway"}},
		{"empty", 429, "", client.Error{Status: 429, Code: "rate_limited", Message: "Too Many Requests"}},
		{"json without code", 403, `{"oops":1}`, client.Error{Status: 403, Code: "forbidden", Message: `{"oops":1}`}},
	}
	f := newFakeHTTP(t)
	c := client.New(f.URL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.answer(tt.status, tt.body)
			_, err := c.Signup(testCtx(t), "alice", "pw", "")
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *client.Error", err)
			}
			if *e != tt.want {
				t.Errorf("err = %+v, want %+v", *e, tt.want)
			}
		})
	}
	t.Run("failed login keeps the token", func(t *testing.T) {
		c := client.New(f.URL, client.WithSessionToken("old"))
		f.answer(401, `{"error":{"code":"unauthorized","message":"bad credentials"}}`)
		if _, err := c.Login(testCtx(t), "alice", "wrong"); client.ErrorCode(err) != "unauthorized" {
			t.Fatalf("Login with a bad password: err = %v, want unauthorized", err)
		}
		if c.Token() != "old" {
			t.Errorf("Token() = %q, want old", c.Token())
		}
	})
	t.Run("undecodable answer", func(t *testing.T) {
		f.answer(200, "{")
		if _, err := c.Conversations(testCtx(t)); err == nil {
			t.Fatal("Conversations with a broken body: err = nil")
		}
	})
}

func TestMedia(t *testing.T) {
	f := newFakeHTTP(t)
	c := client.New(f.URL, client.WithSessionToken("tok"))
	if got, want := c.MediaURL("md 1"), f.URL+"/v1/media/md%201"; got != want {
		t.Errorf("MediaURL = %q, want %q", got, want)
	}

	f.answer(200, "BYTES")
	resp, err := c.OpenMedia(testCtx(t), "md1")
	if err != nil {
		t.Fatalf("OpenMedia: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "BYTES" {
		t.Errorf("media body = %q, want BYTES", b)
	}
	if r := f.request(); r.URI != "/v1/media/md1" || r.Auth != "Bearer tok" {
		t.Errorf("media request = %+v", r)
	}

	f.answer(403, `{"error":{"code":"forbidden","message":"not yours"}}`)
	if _, err := c.OpenMedia(testCtx(t), "md1"); client.ErrorCode(err) != "forbidden" {
		t.Errorf("OpenMedia forbidden: err = %v", err)
	}
}
