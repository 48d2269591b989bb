package node_test

import (
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// kept is a Deliverer that keeps, for each event of one kind, what pick
// takes from it.
type kept[T any] struct {
	kind string
	pick func(*chat.Event) T

	mu  sync.Mutex
	got []T
}

func keep[T any](kind string, pick func(*chat.Event) T) *kept[T] {
	return &kept[T]{kind: kind, pick: pick}
}

func (k *kept[T]) Deliver(ev *chat.Event) {
	if ev.Kind != k.kind {
		return
	}
	v := k.pick(ev)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, v)
}

// wait returns what was kept once there are n of them, failing the test
// if that takes 10 s.
func (k *kept[T]) wait(t *testing.T, n int) []T {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		k.mu.Lock()
		got := append([]T(nil), k.got...)
		k.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d %s events delivered", len(got), n, k.kind)
		}
		time.Sleep(time.Millisecond)
	}
}
