// Package testenv gives integration tests their own slice of the real
// services: a fresh PostgreSQL database, a fresh Redis key prefix, a TCP
// proxy that can cut a service off and bring it back, and a Redis Cluster
// of its own redis-server processes. A missing service skips the test, or
// fails it when the environment variable CI is set.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
)

// DefaultPostgres is the maintenance database tests create theirs from,
// unless SWITCHBOARD_TEST_POSTGRES names another.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DefaultRedis is the Redis tests use unless SWITCHBOARD_TEST_REDIS names another.
const DefaultRedis = "127.0.0.1:6379"

// Need skips the test for want of a service, or fails it in CI, where a
// missing service is an error, never a silent skip.
func Need(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("required in CI: "+format, args...)
	}
	tb.Skipf("unavailable: "+format, args...)
}

// Random returns a short random hex string for names.
func Random(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Postgres creates an empty database for one test, drops it when the test
// ends, and returns its URL.
func Postgres(tb testing.TB) string {
	tb.Helper()
	server := os.Getenv("SWITCHBOARD_TEST_POSTGRES")
	if server == "" {
		server = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		Need(tb, "PostgreSQL at %s (set SWITCHBOARD_TEST_POSTGRES): %v", server, err)
	}
	defer admin.Close(ctx)
	name := "sb_test_" + Random(tb)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("SWITCHBOARD_TEST_POSTGRES must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisAddr returns the address of the Redis tests share.
func RedisAddr() string {
	if a := os.Getenv("SWITCHBOARD_TEST_REDIS"); a != "" {
		return a
	}
	return DefaultRedis
}

// RedisPrefix returns a fresh key prefix on the Redis at addr and deletes
// its keys when the test ends.
func RedisPrefix(tb testing.TB, addr string) string {
	tb.Helper()
	rc := goredis.NewClient(&goredis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rc.Ping(ctx).Err(); err != nil {
		rc.Close()
		Need(tb, "Redis at %s (set SWITCHBOARD_TEST_REDIS): %v", addr, err)
	}
	prefix := "sbtest" + Random(tb)
	tb.Cleanup(func() {
		defer rc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rc.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan redis keys: %v", err)
		}
		for len(keys) > 0 {
			n := min(len(keys), 500)
			if err := rc.Del(ctx, keys[:n]...).Err(); err != nil {
				tb.Errorf("delete redis keys: %v", err)
				return
			}
			keys = keys[n:]
		}
	})
	return prefix
}

// Proxy forwards TCP connections from Addr to a target. Stop cuts the
// service off (no listener, every forwarded connection closed); Start
// brings it back on the same address.
type Proxy struct {
	Addr   string
	tb     testing.TB
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards to target; the
// proxy is stopped when the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{tb: tb, Addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	tb.Cleanup(func() {
		p.Stop()
		p.wg.Wait()
	})
	return p
}

// Start listens again on the proxy's address.
func (p *Proxy) Start() {
	p.tb.Helper()
	var ln net.Listener
	var err error
	for range 100 {
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		p.tb.Fatalf("proxy listen again on %s: %v", p.Addr, err)
	}
	p.serve(ln)
}

// Stop closes the listener and every forwarded connection.
func (p *Proxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
}

// track records c as open; false means the proxy is stopped.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forward(c net.Conn) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(c) || !p.track(up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
