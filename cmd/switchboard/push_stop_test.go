package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/push/pushtest"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
)

// TestPushStopFinishesSends: a node told to stop (SIGTERM) while the push
// service holds its answer to a push it took lets that send finish and
// records it, so the push is not left leased to be sent again by the next
// node: the store it leaves has nothing queued.
func TestPushStopFinishesSends(t *testing.T) {
	data := t.TempDir()
	args := append([]string{"--data", data, "--push-lease", "1s"}, pushArgs...)
	n, ps, release := heldPush(t, args, "held")
	deadline := time.Now().Add(20 * time.Second)
	// The push service has the push; its answer waits. Stop the node, and
	// answer only once its sender has been told to stop.
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(n.logs.String(), "push sender stopping") {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("the sender was not stopped:\n%s", n.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not stop")
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(data, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := s.PushQueueDepth(context.Background())
	if err != nil || q != 0 {
		t.Errorf("pushes queued after the stop = %d, %v; want 0 (the one sent is recorded)", q, err)
	}
	if got := ps.Got(); len(got) != 1 {
		t.Errorf("pushes = %d; want 1", len(got))
	}
}

// TestPushResentAfterKillMidSend pins down the at-least-once window: a
// node SIGKILLed after the push service took a push but before it could
// record the send leaves the job leased; once the lease runs out the next
// node sends it again. Both copies carry the same Topic and payload, so a
// push service still holding the first for an offline device replaces it
// with the second.
func TestPushResentAfterKillMidSend(t *testing.T) {
	args := append([]string{"--data", t.TempDir(), "--push-lease", "1s"}, pushArgs...)
	n, ps, release := heldPush(t, args, "twice")
	deadline := time.Now().Add(20 * time.Second)
	n.Kill()
	release()
	startProcNode(t, "push", args...)
	for len(ps.Got()) < 2 {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("pushes = %d; want the one cut off sent again after the lease", len(ps.Got()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := ps.Got()
	if len(got) != 2 || got[0].Topic == "" || got[0].Topic != got[1].Topic || string(got[0].Payload) != string(got[1].Payload) {
		t.Errorf("pushes %+v; want the same push twice, with one Topic", got)
	}
}

// heldPush starts a push node with args, has bob send text to alice, whose
// laptop is subscribed, and returns once the push service has taken that
// push and holds its answer until release is called (at the latest when
// the test ends).
func heldPush(t *testing.T, args []string, text string) (*procNode, *pushtest.Server, func()) {
	t.Helper()
	ps := pushtest.NewServer(t)
	release := ps.Hold("laptop")
	t.Cleanup(release)
	n := startProcNode(t, "push", args...)
	srv := &testServer{URL: n.URL}
	alice, bob := user(t, srv, "alice"), user(t, srv, "bob")
	subscribe(t, srv, ps, alice, ps.Subscribe(t, "laptop"))
	bc, err := bob.Dial(ctxT(t), "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: text}); err != nil {
		t.Fatal(err)
	}
	bc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for len(ps.Got()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no push reached the push service")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n, ps, release
}
