package main

// The failover tests' traffic: every user sending, a window at a time, what
// a plan returns while it keeps itself connected, and waits for the sends to
// be acked or to end.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
)

// foTraffic runs every user's keepConnected and senderLoop.
type foTraffic struct {
	users  []*foUser
	cancel context.CancelFunc
	stop   chan struct{}
	send   sync.WaitGroup
	keep   sync.WaitGroup
}

// startFoTraffic makes each user send, window at a time, the messages its
// plan returns. Stop ends the sending; Close the reconnecting.
func startFoTraffic(t testing.TB, users []*foUser, window int, plan func(u *foUser, k int) client.SendRequest) *foTraffic {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	tr := &foTraffic{users: users, cancel: cancel, stop: make(chan struct{})}
	for _, u := range users {
		tr.keep.Add(1)
		go func() {
			defer tr.keep.Done()
			u.keepConnected(ctx)
		}()
		tr.send.Add(1)
		go func() {
			defer tr.send.Done()
			u.senderLoop(ctx, tr.stop, window, func(k int) client.SendRequest { return plan(u, k) })
		}()
	}
	t.Cleanup(tr.Close)
	return tr
}

// Acked returns how many sends have been acknowledged so far.
func (tr *foTraffic) Acked() int {
	n := 0
	for _, u := range tr.users {
		u.mu.Lock()
		n += len(u.acked)
		u.mu.Unlock()
	}
	return n
}

// waitAcked waits until n more sends than now have been acknowledged.
func (tr *foTraffic) waitAcked(t testing.TB, n int) {
	t.Helper()
	want := tr.Acked() + n
	deadline := time.Now().Add(60 * time.Second)
	for tr.Acked() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d sends acked", tr.Acked(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitResolved waits until n more sends than now have ended, acked or
// failed.
func (tr *foTraffic) waitResolved(t testing.TB, n int64) {
	t.Helper()
	sum := func() (s int64) {
		for _, u := range tr.users {
			s += u.resolved.Load()
		}
		return s
	}
	want := sum() + n
	deadline := time.Now().Add(60 * time.Second)
	for sum() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d sends ended", sum(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop stops new sends and waits until every send so far is acked.
func (tr *foTraffic) Stop(t testing.TB) {
	t.Helper()
	close(tr.stop)
	done := make(chan struct{})
	go func() {
		tr.send.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		for _, u := range tr.users {
			t.Logf("%s: %d sends in flight", u.name, u.inflight.Load())
		}
		t.Fatal("sends were still not all acked")
	}
}

// Close ends the users' reconnect loops and closes their connections.
func (tr *foTraffic) Close() {
	tr.cancel()
	tr.keep.Wait()
	tr.send.Wait()
	for _, u := range tr.users {
		_ = u.current().Close()
	}
}

// foPlan: each user sends to the next user (a direct conversation) and,
// for every third user, to the group too.
func foPlan(users []*foUser, group string) func(u *foUser, k int) client.SendRequest {
	next := map[string]string{}
	for i, u := range users {
		next[u.name] = users[(i+1)%len(users)].name
	}
	idx := map[string]int{}
	for i, u := range users {
		idx[u.name] = i
	}
	return func(u *foUser, k int) client.SendRequest {
		req := client.SendRequest{ClientMsgID: fmt.Sprintf("%s-%d", u.name, k), Text: fmt.Sprintf("%s #%d", u.name, k)}
		if group != "" && idx[u.name]%3 == 0 && k%2 == 1 {
			req.Conversation = group
		} else {
			req.ToUser = next[u.name]
		}
		return req
	}
}
