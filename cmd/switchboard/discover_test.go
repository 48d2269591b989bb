package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestDiscoverDropsKilledNode: a node SIGKILLed (no deregistration) stops
// being named by discovery within the registry TTL at the default
// settings, and a client told of it dials the next node at once.
func TestDiscoverDropsKilledNode(t *testing.T) {
	dbName, _ := procDatabase(t)
	prefix := testenv.RedisPrefix(t, "127.0.0.1:6379")
	nodes := foNodes(t, 2, procDBURL("127.0.0.1:5432", dbName), "127.0.0.1:6379", prefix)
	victim, survivor := nodes[0], nodes[1] // equal load: ties go to the lower id, the victim
	api := client.New(survivor.URL)
	if _, err := api.Signup(ctxT(t), "dora", "password-dora", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Login(ctxT(t), "dora", "password-dora"); err != nil {
		t.Fatal(err)
	}
	d, err := api.Discover(ctxT(t))
	if err != nil || d.Node != victim.ID || len(d.Alternates) == 0 {
		t.Fatalf("discover before the kill = %+v, %v; want %s with alternates", d, err, victim.ID)
	}

	victim.Kill()
	killed := time.Now()
	// The victim's entry is still fresh: the client dials it, is refused,
	// and goes on to the next node without waiting.
	conn, err := api.DialDiscovered(ctxT(t), "web", 5*time.Second)
	if err != nil {
		t.Fatalf("dial after the kill: %v", err)
	}
	if conn.Node() != survivor.ID {
		t.Fatalf("connected to %s; want %s", conn.Node(), survivor.ID)
	}
	conn.Close()

	deadline := killed.Add(redis.DefaultRegistryTTL)
	for {
		d, err := api.Discover(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if d.Node == survivor.ID {
			t.Logf("discover stopped naming the killed node %s after the kill", time.Since(killed).Round(100*time.Millisecond))
			for _, a := range d.Alternates {
				if a == "ws"+strings.TrimPrefix(victim.URL, "http")+"/v1/ws" {
					t.Fatalf("discover still lists the dead node as an alternate: %+v", d)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("discover still names the killed node %s %s after the kill (registry TTL %s): %+v",
				victim.ID, time.Since(killed).Round(time.Millisecond), redis.DefaultRegistryTTL, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDialDiscoveredSkipsDeadEntry: with a registry entry for a node that
// never answers, least loaded and so named first, the Go client still
// connects, to the live node, at its first call.
func TestDialDiscoveredSkipsDeadEntry(t *testing.T) {
	pg, rd, prefix := clusterEnv(t)
	s := startServer(t, "--postgres", pg, "--redis", rd, "--redis-prefix", prefix, "--node-id", "node1")
	c := user(t, s, "eli")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ws://" + ln.Addr().String() + "/v1/ws"
	ln.Close() // nothing listens there now
	rc := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	defer rc.Close()
	reg := redis.NewRegistry(rc, prefix, time.Minute)
	if err := reg.Register(context.Background(), redis.NodeInfo{ID: "0dead", URL: dead}); err != nil {
		t.Fatal(err)
	}
	d, err := c.Discover(ctxT(t))
	if err != nil || d.WSURL != dead {
		t.Fatalf("discover = %+v, %v; want the dead entry first", d, err)
	}
	conn, err := c.DialDiscovered(ctxT(t), "web", 5*time.Second)
	if err != nil {
		t.Fatalf("DialDiscovered: %v", err)
	}
	defer conn.Close()
	if conn.Node() != "node1" {
		t.Fatalf("connected to %s; want node1", conn.Node())
	}
}
