package tui_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/tui"
)

// refusedURL returns the base URL of a loopback port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// TestSessionBackoff: failed dials wait twice as long each time, with
// jitter of at most a quarter either way, and never more than the upper
// bound; the attempts are counted.
func TestSessionBackoff(t *testing.T) {
	const lo, hi = 2 * time.Millisecond, 16 * time.Millisecond
	sess := tui.NewSession(client.New(refusedURL(t), client.WithSessionToken("t")), "test", tui.WithBackoff(lo, hi))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sess.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	want := []time.Duration{2, 4, 8, 16, 16, 16, 16} // ms: doubling, then capped
	timeout := time.After(30 * time.Second)
	for i := 0; i < len(want); {
		select {
		case m := <-sess.Events():
			st, ok := m.(tui.ConnStateMsg)
			if !ok || st.State != tui.Offline {
				continue
			}
			if st.Err == nil {
				t.Fatalf("attempt %d: offline without a reason", st.Attempt)
			}
			if st.Attempt != i+1 {
				t.Fatalf("attempt = %d, want %d", st.Attempt, i+1)
			}
			w := want[i] * time.Millisecond
			if st.RetryIn < w*3/4 || st.RetryIn >= w*5/4 {
				t.Fatalf("attempt %d waits %v, want %v ± 25%%", i+1, st.RetryIn, w)
			}
			i++
		case <-timeout:
			t.Fatalf("only %d failed attempts reported", i)
		}
	}
}

// TestSessionBackoffBounds: bounds below a millisecond, or upside down,
// are raised rather than spinning.
func TestSessionBackoffBounds(t *testing.T) {
	sess := tui.NewSession(client.New(refusedURL(t), client.WithSessionToken("t")), "test", tui.WithBackoff(0, -time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sess.Run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	timeout := time.After(30 * time.Second)
	for seen := 0; seen < 3; {
		var m any
		select {
		case m = <-sess.Events():
		case <-timeout:
			t.Fatalf("only %d failed attempts reported", seen)
		}
		if st, ok := m.(tui.ConnStateMsg); ok && st.State == tui.Offline {
			if st.RetryIn < time.Millisecond*3/4 {
				t.Fatalf("waits %v; want at least about 1ms", st.RetryIn)
			}
			seen++
		}
	}
}
