package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Watch logs an outage once at each end and calls onChange once when Redis
// is back, however many checks failed meanwhile.
func TestWatch(t *testing.T) {
	e := newEnv(t)
	px := testenv.StartProxy(t, e.opts.Addr)
	opts := *e.opts
	opts.Addr = px.Addr
	opts.MaxRetries = -1
	opts.DialTimeout = time.Second
	client := goredis.NewClient(&opts)
	t.Cleanup(func() { _ = client.Close() })

	var logs lockedBuffer
	var changes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		redis.Watch(ctx, client, 50*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), func(context.Context) { changes.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s; log:\n%s", what, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := changes.Load(); n != 0 {
		t.Fatalf("onChange called %d times with nothing changed", n)
	}
	px.Stop()
	waitFor("no outage logged", func() bool { return strings.Contains(logs.String(), "Redis unavailable") })
	time.Sleep(500 * time.Millisecond) // several failed checks
	px.Start()
	waitFor("onChange not called after the outage", func() bool { return changes.Load() == 1 })
	time.Sleep(300 * time.Millisecond)
	out := logs.String()
	for what, want := range map[string]int{"Redis unavailable": 1, "Redis available again": 1} {
		if got := strings.Count(out, what); got != want {
			t.Errorf("%q logged %d times, want %d:\n%s", what, got, want, out)
		}
	}
	if n := changes.Load(); n != 1 {
		t.Errorf("onChange called %d times, want 1", n)
	}
}
