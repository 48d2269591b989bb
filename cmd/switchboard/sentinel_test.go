package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// A Sentinel failover with no outage (SENTINEL FAILOVER: the master is
// demoted, the replica promoted) is still noticed: the client of a
// redis-sentinel:// URL follows the master, and redis.Watch reports the
// change, which is what makes a node re-publish its entries.
func TestSentinelFailoverNoticed(t *testing.T) {
	master := startProcRedis(t)
	port := testenv.FreePort(t)
	replica := &procRedis{t: t, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)}}
	replica.Start()
	t.Cleanup(replica.Kill)
	s := startProcSentinel(t, master.Addr)

	client, err := newRedisClient("redis-sentinel://" + s.Addr + "/" + haMaster + "?db=0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var logs logWriter
	var changes atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		redis.Watch(ctx, client, 100*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), func(context.Context) { changes.Add(1) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	if err := client.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatalf("write through the sentinel URL: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := changes.Load(); n != 0 {
		t.Fatalf("onChange called %d times before any failover", n)
	}

	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr})
	defer sc.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The sentinel may not have discovered the replica yet.
		if err := sc.Failover(ctx, haMaster).Err(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("SENTINEL FAILOVER: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for s.master() != replica.Addr || changes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the failover: master %q (want %s), onChange called %d times; log:\n%s", s.master(), replica.Addr, changes.Load(), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Writes go to the new master.
	for {
		err := client.Set(ctx, "k", "after", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write after the failover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := replica.role(); got != "master" {
		t.Errorf("the old replica's role is %q, want master", got)
	}
	if out := logs.String(); !strings.Contains(out, "Redis server changed") && !strings.Contains(out, "Redis available again") {
		t.Errorf("the change is not in the log:\n%s", out)
	}
	t.Logf("watch log:\n%s", logs.String())
}
