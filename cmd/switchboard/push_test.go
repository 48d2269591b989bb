package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/push/pushtest"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/wire"
)

// pushArgs turn push on against a push service on the loopback.
var pushArgs = []string{"--push", "--push-allow-http", "--push-backoff", "50ms"}

// apiCall makes one JSON call with c's token and returns the status.
func apiCall(t testing.TB, base, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, base+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

func subBody(sub *pushtest.Subscription) wire.PushSubscription {
	var b wire.PushSubscription
	b.Endpoint, b.Keys.P256dh, b.Keys.Auth, b.Device = sub.Endpoint, sub.P256dh, sub.Auth, sub.Name
	return b
}

// subscribe registers sub for c on s; the push service then expects the
// node's VAPID key.
func subscribe(t testing.TB, s *testServer, ps *pushtest.Server, c *client.Client, sub *pushtest.Subscription) {
	t.Helper()
	status, body := apiCall(t, s.URL, http.MethodGet, "/v1/push/key", c.Token(), nil)
	var key wire.PushKeyResponse
	if status != 200 || json.Unmarshal(body, &key) != nil || key.PublicKey == "" {
		t.Fatalf("GET /v1/push/key = %d %s", status, body)
	}
	ps.ExpectKey(key.PublicKey)
	if status, body := apiCall(t, s.URL, http.MethodPost, "/v1/push/subscriptions", c.Token(), subBody(sub)); status != http.StatusCreated {
		t.Fatalf("POST /v1/push/subscriptions = %d %s; want 201", status, body)
	}
}

// waitPushes waits until the push service accepted n pushes and the
// outbox and queue seen by every node are empty, then returns them.
func waitPushes(t testing.TB, ps *pushtest.Server, n int, nodes ...*testServer) []pushtest.Push {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := ps.Got()
		empty := true
		for _, s := range nodes {
			empty = empty && metricValue(t, s, "switchboard_push_queue_depth") == 0 &&
				metricValue(t, s, "switchboard_push_outbox_depth") == 0
		}
		if len(got) >= n && empty {
			if errs := ps.Errors(); len(errs) > 0 {
				t.Fatalf("push service refused pushes: %v", errs)
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d pushes (queues empty: %v) after 20s; want %d; refused: %v", len(got), empty, n, ps.Errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue sums a metric's samples on a node (0 if it has none yet).
func metricValue(t testing.TB, s *testServer, name string) float64 {
	t.Helper()
	return metricAt(t, s.Metrics, name)
}

// metricAt sums a metric's samples at a metrics listener's base URL.
func metricAt(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	sum := 0.0
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			var v float64
			f := strings.Fields(line)
			fmt.Sscan(f[len(f)-1], &v)
			sum += v
		}
	}
	return sum
}

func payloads(t testing.TB, got []pushtest.Push) []chat.PushPayload {
	t.Helper()
	out := make([]chat.PushPayload, len(got))
	for i, p := range got {
		if err := json.Unmarshal(p.Payload, &out[i]); err != nil {
			t.Fatalf("push payload %q: %v", p.Payload, err)
		}
	}
	return out
}

// TestPushOfflineUser: an away user is pushed once per subscribed device,
// encrypted and signed (the push service decrypts and verifies); an
// online user is not pushed; without --push-preview there is no text.
func TestPushOfflineUser(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprint("preview=", preview), func(t *testing.T) {
			args := pushArgs
			if preview {
				args = append(append([]string(nil), pushArgs...), "--push-preview")
			}
			s := startServer(t, args...)
			ps := pushtest.NewServer(t)
			alice, bob, carol := user(t, s, "alice"), user(t, s, "bob"), user(t, s, "carol")
			subscribe(t, s, ps, alice, ps.Subscribe(t, "alice-laptop"))
			subscribe(t, s, ps, alice, ps.Subscribe(t, "alice-phone"))
			subscribe(t, s, ps, carol, ps.Subscribe(t, "carol-phone"))
			dial(t, carol, "web") // carol is online
			bc := dial(t, bob, "phone")

			toCarol, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "carol", Text: "carol is here"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "secret words"})
			if err != nil {
				t.Fatal(err)
			}
			got := waitPushes(t, ps, 2, s)
			if len(got) != 2 {
				t.Fatalf("pushes = %+v; want 2 (one per alice's device, none to carol)", got)
			}
			devices := []string{got[0].Subscription, got[1].Subscription}
			sort.Strings(devices)
			if fmt.Sprint(devices) != "[alice-laptop alice-phone]" {
				t.Errorf("pushed devices %v; want alice's two", devices)
			}
			want := chat.PushPayload{Conversation: m.Conversation, Seq: 1, From: "bob"}
			if preview {
				want.Text = "secret words"
			}
			for i, p := range payloads(t, got) {
				if p != want {
					t.Errorf("payload = %+v; want %+v", p, want)
				}
				if got[i].Topic == "" || got[i].TTL == "" || got[i].Urgency == "" {
					t.Errorf("push headers Topic %q TTL %q Urgency %q; want all set", got[i].Topic, got[i].TTL, got[i].Urgency)
				}
			}
			if toCarol.Conversation == m.Conversation {
				t.Fatal("carol and alice share a conversation")
			}
			if n := metricValue(t, s, "switchboard_pushes_sent_total"); n != 2 {
				t.Errorf("switchboard_pushes_sent_total = %v; want 2", n)
			}
		})
	}
}

// TestPushFailures: 410 removes the subscription; 500 and 503 with
// Retry-After are retried until the push goes, once.
func TestPushFailures(t *testing.T) {
	s := startServer(t, pushArgs...)
	ps := pushtest.NewServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	gone, flaky := ps.Subscribe(t, "gone"), ps.Subscribe(t, "flaky")
	subscribe(t, s, ps, alice, gone)
	subscribe(t, s, ps, alice, flaky)
	ps.Script("gone", pushtest.Reply{Status: http.StatusGone})
	ps.Script("flaky", pushtest.Reply{Status: 500}, pushtest.Reply{Status: 503, RetryAfter: "0"}, pushtest.Reply{Status: 429, RetryAfter: "1"})
	bc := dial(t, bob, "phone")
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "one"}); err != nil {
		t.Fatal(err)
	}
	got := waitPushes(t, ps, 1, s)
	if len(got) != 1 || got[0].Subscription != "flaky" {
		t.Fatalf("pushes = %+v; want one, to flaky after its retries", got)
	}
	if n := metricValue(t, s, "switchboard_push_subscriptions_removed_total"); n != 1 {
		t.Errorf("subscriptions removed = %v; want 1", n)
	}
	if n := metricValue(t, s, "switchboard_pushes_failed_total"); n != 4 {
		t.Errorf("failed pushes = %v; want 4 (410, 500, 503, 429)", n)
	}
	status, _ := apiCall(t, s.URL, http.MethodDelete, "/v1/push/subscriptions", alice.Token(), wire.PushUnsubscribe{Endpoint: gone.Endpoint})
	if status != http.StatusNotFound {
		t.Errorf("DELETE of the subscription the 410 removed = %d; want 404", status)
	}
	// A second message reaches only the subscription left.
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	if got := waitPushes(t, ps, 2, s); len(got) != 2 || got[1].Subscription != "flaky" {
		t.Errorf("pushes = %+v; want a second to flaky only", got)
	}
}

// TestPushSubscriptionsAPI: validation, the per-user limit, unsubscribe,
// and that the routes need a token.
func TestPushSubscriptionsAPI(t *testing.T) {
	s := startServer(t, "--push")
	ps := pushtest.NewServer(t)
	alice := user(t, s, "alice")
	good := subBody(ps.Subscribe(t, "x"))
	good.Endpoint = "https://push.example/x"
	bad := func(f func(*wire.PushSubscription)) wire.PushSubscription { b := good; f(&b); return b }
	tests := []struct {
		name string
		body wire.PushSubscription
		want int
	}{
		{"http endpoint without --push-allow-http", bad(func(b *wire.PushSubscription) { b.Endpoint = "http://push.example/x" }), 400},
		{"no endpoint", bad(func(b *wire.PushSubscription) { b.Endpoint = "" }), 400},
		{"endpoint too long", bad(func(b *wire.PushSubscription) {
			b.Endpoint = "https://push.example/" + strings.Repeat("a", chat.MaxPushEndpoint)
		}), 400},
		{"not a url", bad(func(b *wire.PushSubscription) { b.Endpoint = "https://" }), 400},
		{"p256dh not a key", bad(func(b *wire.PushSubscription) { b.Keys.P256dh = "AAAA" }), 400},
		{"auth wrong size", bad(func(b *wire.PushSubscription) { b.Keys.Auth = "AAAA" }), 400},
		{"device too long", bad(func(b *wire.PushSubscription) { b.Device = strings.Repeat("d", 65) }), 400},
		{"good", good, 201},
		{"good again", good, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := apiCall(t, s.URL, http.MethodPost, "/v1/push/subscriptions", alice.Token(), tt.body); status != tt.want {
				t.Errorf("POST = %d %s; want %d", status, body, tt.want)
			}
		})
	}
	for i := 1; i < chat.MaxPushSubscriptions; i++ {
		b := good
		b.Endpoint = fmt.Sprintf("https://push.example/%d", i)
		if status, body := apiCall(t, s.URL, http.MethodPost, "/v1/push/subscriptions", alice.Token(), b); status != 201 {
			t.Fatalf("subscription %d = %d %s", i+1, status, body)
		}
	}
	over := good
	over.Endpoint = "https://push.example/over"
	if status, _ := apiCall(t, s.URL, http.MethodPost, "/v1/push/subscriptions", alice.Token(), over); status != http.StatusRequestEntityTooLarge {
		t.Errorf("subscription %d = %d; want 413", chat.MaxPushSubscriptions+1, status)
	}
	if status, _ := apiCall(t, s.URL, http.MethodDelete, "/v1/push/subscriptions", alice.Token(), wire.PushUnsubscribe{Endpoint: good.Endpoint}); status != 204 {
		t.Errorf("DELETE = %d; want 204", status)
	}
	if status, _ := apiCall(t, s.URL, http.MethodDelete, "/v1/push/subscriptions", alice.Token(), wire.PushUnsubscribe{Endpoint: good.Endpoint}); status != 404 {
		t.Errorf("DELETE again = %d; want 404", status)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/v1/push/key"}, {"POST", "/v1/push/subscriptions"}, {"DELETE", "/v1/push/subscriptions"}} {
		if status, _ := apiCall(t, s.URL, c.method, c.path, "", good); status != 401 {
			t.Errorf("%s %s without a token = %d; want 401", c.method, c.path, status)
		}
	}
	// Without --push the routes are not there.
	off := startServer(t)
	u := user(t, off, "alice")
	if status, _ := apiCall(t, off.URL, "GET", "/v1/push/key", u.Token(), nil); status != 404 {
		t.Errorf("GET /v1/push/key without --push = %d; want 404", status)
	}
}

// TestClusterPushOnce: three nodes, each running a sender on the one
// queue, push each (message, subscription) exactly once whichever node
// committed the message, all signing with the one VAPID key.
func TestClusterPushOnce(t *testing.T) {
	nodes := startCluster(t, 3, pushArgs...)
	ps := pushtest.NewServer(t)
	alice, bob := user(t, nodes[0], "alice"), user(t, nodes[0], "bob")
	subscribe(t, nodes[1], ps, alice, ps.Subscribe(t, "laptop"))
	subscribe(t, nodes[2], ps, alice, ps.Subscribe(t, "phone"))
	const perNode = 10
	for i, n := range nodes {
		bc := dial(t, on(bob, n), fmt.Sprint("dev", i))
		for j := 0; j < perNode; j++ {
			if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const want = 3 * perNode * 2
	got := waitPushes(t, ps, want, nodes...)
	seen := map[string]int{}
	for i, p := range payloads(t, got) {
		seen[fmt.Sprint(got[i].Subscription, "/", p.Seq)]++
	}
	if len(got) != want || len(seen) != want {
		t.Fatalf("%d pushes, %d distinct (subscription, seq); want %d of each", len(got), len(seen), want)
	}
	sent := 0.0
	for _, n := range nodes {
		sent += metricValue(t, n, "switchboard_pushes_sent_total")
	}
	if sent != want {
		t.Errorf("pushes sent over the nodes = %v; want %d", sent, want)
	}
}

// TestPushOutboxSurvivesKill: a node SIGKILLed after messages were
// committed but before their presence grace passed (so their pushes are
// only in the outbox, none queued yet) pushes each (message, device)
// exactly once after it restarts on the same store: SQLite and PostgreSQL.
func TestPushOutboxSurvivesKill(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			ps := pushtest.NewServer(t)
			metricsAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			args := append([]string{"--data", t.TempDir(), "--metrics-addr", metricsAddr}, pushArgs...)
			if store == "postgres" {
				args = append(args, "--postgres", testenv.Postgres(t))
			}
			// A long grace keeps the pushes in the outbox, not yet due, at
			// the kill.
			n := startProcNode(t, "push", append(args, "--presence-grace", "3s")...)
			srv := &testServer{URL: n.URL}
			alice, bob := user(t, srv, "alice"), user(t, srv, "bob")
			subscribe(t, srv, ps, alice, ps.Subscribe(t, "laptop"))
			subscribe(t, srv, ps, alice, ps.Subscribe(t, "phone"))
			bc, err := bob.Dial(ctxT(t), "phone")
			if err != nil {
				t.Fatal(err)
			}
			const msgs = 3
			for i := 0; i < msgs; i++ {
				if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "queued"}); err != nil {
					t.Fatal(err)
				}
			}
			base := "http://" + metricsAddr
			deadline := time.Now().Add(20 * time.Second)
			for metricAt(t, base, "switchboard_push_outbox_depth") != msgs {
				if time.Now().After(deadline) {
					t.Fatalf("outbox depth never reached %d", msgs)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if q := metricAt(t, base, "switchboard_push_queue_depth"); q != 0 {
				t.Fatalf("queue depth %v before the grace passed; want 0 (all in the outbox)", q)
			}
			if got := ps.Got(); len(got) != 0 {
				t.Fatalf("pushed before the kill: %+v", got)
			}
			bc.Close()
			n.Kill()

			n2 := startProcNode(t, "push", args...)
			restarted := &testServer{URL: n2.URL, Metrics: base}
			got := waitPushes(t, ps, 2*msgs, restarted)
			seen := map[string]int{}
			for i, p := range payloads(t, got) {
				seen[fmt.Sprint(got[i].Subscription, "/", p.Seq)]++
			}
			if len(got) != 2*msgs || len(seen) != 2*msgs {
				t.Fatalf("after restart: %d pushes, %d distinct; want %d each: %v", len(got), len(seen), 2*msgs, seen)
			}
		})
	}
}

// TestPushLevels: none and a mute in the future stop pushes, a mute in
// the past does not; mentions pushes only messages naming the user.
func TestPushLevels(t *testing.T) {
	s := startServer(t, pushArgs...)
	ps := pushtest.NewServer(t)
	owner := user(t, s, "owner")
	g, err := owner.CreateGroup(ctxT(t), "team", "Team")
	if err != nil {
		t.Fatal(err)
	}
	oc := dial(t, owner, "web")
	now := time.Now().UnixMilli()
	members := []struct {
		name string
		set  *wire.NotificationSetting
		want []int64 // seqs pushed
	}{
		{"plain", nil, []int64{1, 2, 3}},
		{"all", &wire.NotificationSetting{Level: "all"}, []int64{1, 2, 3}},
		{"none", &wire.NotificationSetting{Level: "none"}, nil},
		{"muted", &wire.NotificationSetting{Level: "all", MutedUntil: now + 3600_000}, nil},
		{"unmuted", &wire.NotificationSetting{Level: "all", MutedUntil: now - 1000}, []int64{1, 2, 3}},
		{"mention", &wire.NotificationSetting{Level: "mentions"}, []int64{2}},
		{"mutedmention", &wire.NotificationSetting{Level: "mentions", MutedUntil: now + 3600_000}, nil},
		{"blocker", nil, nil}, // blocks the sender
	}
	for _, m := range members {
		c := user(t, s, m.name)
		if _, err := c.JoinGroup(ctxT(t), "team"); err != nil {
			t.Fatal(err)
		}
		subscribe(t, s, ps, c, ps.Subscribe(t, m.name))
		if m.name == "blocker" {
			if status, body := apiCall(t, s.URL, http.MethodPut, "/v1/blocks/owner", c.Token(), nil); status != http.StatusNoContent {
				t.Fatalf("block: %d %s", status, body)
			}
		}
		if m.set != nil {
			status, body := apiCall(t, s.URL, http.MethodPut, "/v1/conversations/"+g.ID+"/notifications", c.Token(), m.set)
			var got wire.NotificationSetting
			if status != 200 || json.Unmarshal(body, &got) != nil || got != *m.set {
				t.Fatalf("PUT notifications for %s = %d %s; want 200 %+v", m.name, status, body, *m.set)
			}
		}
		status, body := apiCall(t, s.URL, http.MethodGet, "/v1/conversations/"+g.ID+"/notifications", c.Token(), nil)
		want := wire.NotificationSetting{Level: "all"}
		if m.set != nil {
			want = *m.set
		}
		var got wire.NotificationSetting
		if status != 200 || json.Unmarshal(body, &got) != nil || got != want {
			t.Errorf("GET notifications for %s = %d %s; want %+v", m.name, status, body, want)
		}
	}
	for _, text := range []string{"hello all", "ping @mention and @mutedmention and @none", "@mentionless is not you"} {
		if _, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, m := range members {
		total += len(m.want)
	}
	got := waitPushes(t, ps, total, s)
	bySub := map[string][]int64{}
	for i, p := range payloads(t, got) {
		bySub[got[i].Subscription] = append(bySub[got[i].Subscription], p.Seq)
	}
	for _, m := range members {
		seqs := bySub[m.name]
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		if fmt.Sprint(seqs) != fmt.Sprint(m.want) {
			t.Errorf("%s pushed seqs %v; want %v", m.name, seqs, m.want)
		}
	}

	// Bad settings, and a conversation one is not in.
	outsider := user(t, s, "outsider")
	for _, tc := range []struct {
		token string
		body  any
		want  int
	}{
		{owner.Token(), wire.NotificationSetting{Level: "loud"}, 400},
		{owner.Token(), wire.NotificationSetting{Level: ""}, 400},
		{owner.Token(), wire.NotificationSetting{Level: "all", MutedUntil: -1}, 400},
		{outsider.Token(), wire.NotificationSetting{Level: "none"}, 403},
		{"", wire.NotificationSetting{Level: "none"}, 401},
	} {
		if status, body := apiCall(t, s.URL, http.MethodPut, "/v1/conversations/"+g.ID+"/notifications", tc.token, tc.body); status != tc.want {
			t.Errorf("PUT %+v = %d %s; want %d", tc.body, status, body, tc.want)
		}
	}
	if status, _ := apiCall(t, s.URL, http.MethodPut, "/v1/conversations/nope/notifications", owner.Token(), wire.NotificationSetting{Level: "none"}); status != 404 {
		t.Errorf("PUT on an unknown conversation = %d; want 404", status)
	}
}

// TestPushRetriedSendOnce: a send retried with the same client_msg_id after
// its push went out is not pushed again.
func TestPushRetriedSendOnce(t *testing.T) {
	s := startServer(t, pushArgs...)
	ps := pushtest.NewServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	subscribe(t, s, ps, alice, ps.Subscribe(t, "laptop"))
	bc := dial(t, bob, "phone")
	first, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "once", ClientMsgID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	waitPushes(t, ps, 1, s)
	again, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "once", ClientMsgID: "c1"})
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry = %+v, %v; want the stored message %s", again, err, first.ID)
	}
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "next", ClientMsgID: "c2"}); err != nil {
		t.Fatal(err)
	}
	got := waitPushes(t, ps, 2, s)
	var seqs []int64
	for _, p := range payloads(t, got) {
		seqs = append(seqs, p.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2]" {
		t.Errorf("pushed seqs %v; want [1 2]", seqs)
	}
}

// TestPushGivesUp: a push that keeps failing is dropped after
// --push-max-attempts, and the queue empties.
func TestPushGivesUp(t *testing.T) {
	s := startServer(t, append([]string{"--push-max-attempts", "2"}, pushArgs...)...)
	ps := pushtest.NewServer(t)
	alice, bob := user(t, s, "alice"), user(t, s, "bob")
	subscribe(t, s, ps, alice, ps.Subscribe(t, "laptop"))
	ps.Script("laptop", pushtest.Reply{Status: 500}, pushtest.Reply{Status: 502}, pushtest.Reply{Status: 503})
	bc := dial(t, bob, "phone")
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "lost"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for metricValue(t, s, "switchboard_pushes_failed_total") < 2 || metricValue(t, s, "switchboard_push_queue_depth") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the push was not given up within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metricValue(t, s, "switchboard_pushes_failed_total"); n != 2 {
		t.Errorf("failed pushes = %v; want 2 (then dropped)", n)
	}
	if got := ps.Got(); len(got) != 0 {
		t.Errorf("pushes = %+v; want none", got)
	}
	// The next push goes: the third scripted failure is still waiting.
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "later"}); err != nil {
		t.Fatal(err)
	}
	if got := waitPushes(t, ps, 1, s); len(got) != 1 {
		t.Errorf("pushes = %+v; want the later one", got)
	}
}

// TestPushThroughGoClient: the Go client's calls for push and levels reach
// the same API, and a push made through them arrives decrypted.
func TestPushThroughGoClient(t *testing.T) {
	s := startServer(t, pushArgs...)
	ps := pushtest.NewServer(t)
	owner, away := user(t, s, "owner"), user(t, s, "away")
	g, err := owner.CreateGroup(ctxT(t), "team", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := away.JoinGroup(ctxT(t), "team"); err != nil {
		t.Fatal(err)
	}
	key, err := away.PushKey(ctxT(t))
	if err != nil || key == "" {
		t.Fatalf("PushKey: %q, %v", key, err)
	}
	ps.ExpectKey(key)
	sub := ps.Subscribe(t, "away")
	var ws wire.PushSubscription
	ws.Endpoint, ws.Keys.P256dh, ws.Keys.Auth, ws.Device = sub.Endpoint, sub.P256dh, sub.Auth, "go"
	if err := away.SubscribePush(ctxT(t), ws); err != nil {
		t.Fatal(err)
	}
	set, err := away.SetNotification(ctxT(t), g.ID, "mentions", 0)
	if err != nil || set.Level != "mentions" {
		t.Fatalf("SetNotification: %+v, %v", set, err)
	}
	if got, err := away.Notification(ctxT(t), g.ID); err != nil || got != set {
		t.Fatalf("Notification: %+v, %v; want %+v", got, err, set)
	}
	_, err = away.SetNotification(ctxT(t), g.ID, "loud", 0)
	wantCode(t, err, "bad_request")
	oc := dial(t, owner, "web")
	for _, text := range []string{"not for you", "@away look"} {
		if _, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	got := waitPushes(t, ps, 1, s)
	if p := payloads(t, got); len(p) != 1 || p[0].Seq != 2 {
		t.Fatalf("pushes %+v; want the one mention (seq 2)", p)
	}
	if err := away.UnsubscribePush(ctxT(t), sub.Endpoint); err != nil {
		t.Fatal(err)
	}
	if err := away.UnsubscribePush(ctxT(t), sub.Endpoint); client.ErrorCode(err) != "not_found" {
		t.Fatalf("unsubscribing twice: %v; want not_found", err)
	}
	tk, err := away.EventsTicket(ctxT(t))
	if err != nil || tk.Ticket == "" || tk.ExpiresIn <= 0 {
		t.Fatalf("EventsTicket: %+v, %v", tk, err)
	}
}
