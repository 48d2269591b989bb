package gateway

import "testing"

// TestQueueRoom: a full queue closes the connection as too slow when the
// writer waits on the client (its socket takes no more); a writer that has
// only not run yet gets burstQueues times the queue before the same close.
func TestQueueRoom(t *testing.T) {
	const size = 8
	for _, tc := range []struct {
		name    string
		stalled bool
		taken   int // frames queued before the close
	}{
		{"the writer waits on the client", true, size},
		{"the writer has not run yet", false, burstQueues * size},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slowClosed := 0
			g := &Gateway{cfg: Config{QueueSize: size, Metrics: &Metrics{SlowClosed: func() { slowClosed++ }}}}
			g.queues.New = func() any { return &queueBuf{} }
			// A writer holds the connection (so none starts here) and is,
			// or is not, stalled on the client.
			c := &conn{g: g, writing: true, stalled: tc.stalled}
			f := outFrame{data: []byte("{}")}
			for i := range tc.taken {
				if !c.put(f, false, false) {
					t.Fatalf("frame %d refused; want %d taken", i+1, tc.taken)
				}
			}
			if c.put(f, false, false) {
				t.Fatalf("frame %d taken; want the connection closed after %d", tc.taken+1, tc.taken)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if !c.closed || !c.closing || slowClosed != 1 {
				t.Errorf("closed %v closing %v, %d closed as slow; want the connection closing as too slow", c.closed, c.closing, slowClosed)
			}
		})
	}
}
