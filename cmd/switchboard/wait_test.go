package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// A node started before its PostgreSQL and its Redis waits for them: it
// stays alive, /healthz answers 200 and /readyz 503 until both answer, and
// then it serves.
func TestStartWaitsForBackends(t *testing.T) {
	pg := newProcPG(t)
	port := testenv.FreePort(t)
	rds := &procRedis{t: t, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	t.Cleanup(rds.Kill)
	started := time.Now()
	node := startProcNode(t, "wait-n0", "--postgres", pg.URL("postgres"),
		"--redis", "redis://"+rds.Addr+"/0", "--redis-prefix", "sbwait"+testenv.Random(t))

	stillWaiting := func(phase string) {
		t.Helper()
		for range 10 {
			for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable, "/v1/discover": http.StatusServiceUnavailable} {
				if got := procStatus(node.URL + path); got != want {
					t.Fatalf("%s: GET %s = %d, want %d", phase, path, got, want)
				}
			}
			select {
			case <-node.exited:
				t.Fatalf("%s: node exited:\n%s", phase, node.logs.String())
			default:
			}
			time.Sleep(150 * time.Millisecond)
		}
	}
	stillWaiting("PostgreSQL and Redis down")

	pg.Start()
	waitLog := func(what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(node.logs.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the node's log:\n%s", what, node.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLog("PostgreSQL reachable")
	stillWaiting("Redis down")
	waitLog("waiting for Redis")

	rds.Start()
	procWaitStatus(t, node.URL+"/readyz", http.StatusOK)
	api := client.New(node.URL)
	if _, err := api.Signup(ctxT(t), "waiter", "password-waiter", ""); err != nil {
		t.Fatalf("signup once ready: %v", err)
	}
	select {
	case <-node.exited:
		t.Fatalf("node exited:\n%s", node.logs.String())
	default:
	}

	// One log line per attempt at most every 5 s (plus the first).
	logs := node.logs.String()
	waited := time.Since(started)
	for _, what := range []string{"waiting for PostgreSQL", "waiting for Redis"} {
		n := strings.Count(logs, what)
		if n < 1 || n > int(waited/(5*time.Second))+1 {
			t.Errorf("%q logged %d times in %v:\n%s", what, n, waited, logs)
		}
	}
}

// The sleeps between attempts double up to the cap, each drawn between
// half of its step and all of it.
func TestStartBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	tests := []struct {
		attempt int
		step    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{5, 3200 * time.Millisecond},
		{6, 5 * time.Second},
		{1000, 5 * time.Second},
	}
	for _, tt := range tests {
		for range 200 {
			if d := b.delay(tt.attempt); d < tt.step/2 || d > tt.step {
				t.Fatalf("delay(%d) = %v, want within [%v, %v]", tt.attempt, d, tt.step/2, tt.step)
			}
		}
	}
}

// A node whose PostgreSQL URL is wrong (not down) exits at once with the
// reason instead of waiting.
func TestStartBadPostgresURL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--postgres", "postgres://127.0.0.1:1/x?sslmode=bogus"},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve with a bad URL: err %v (ctx %v), want an error at once", err, ctx.Err())
	}
	if !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("error %q does not name the bad setting", err)
	}
}
