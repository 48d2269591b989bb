package client

import (
	"sync"

	"github.com/switchboard-chat/switchboard/wire"
)

// eventQueue holds pushed frames between the read loop, which must never
// wait, and the reader of Events. It grows as needed up to max frames; a
// goroutine feeds the channel only once Events has been called.
type eventQueue struct {
	max int

	mu    sync.Mutex
	buf   []wire.ServerFrame
	head  int  // buf[head:] waits
	ended bool // no more frames will come

	wake     chan struct{} // capacity 1: something changed
	stop     chan struct{} // closed by abandon
	stopOnce sync.Once
	start    sync.Once
	out      chan wire.ServerFrame
}

func newEventQueue(max int) *eventQueue {
	if max <= 0 {
		max = DefaultMaxQueuedEvents
	}
	return &eventQueue{
		max:  max,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		out:  make(chan wire.ServerFrame),
	}
}

// push queues f; false means the queue is full.
func (q *eventQueue) push(f wire.ServerFrame) bool {
	q.mu.Lock()
	n := len(q.buf) - q.head
	if n >= q.max {
		q.mu.Unlock()
		return false
	}
	// Reuse the consumed front once it is the larger part, so a reader that
	// keeps up but never fully drains does not grow buf forever.
	if q.head >= 64 && q.head >= n {
		copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf = q.buf[:n]
		q.head = 0
	}
	q.buf = append(q.buf, f)
	q.mu.Unlock()
	q.signal()
	return true
}

// pop takes the oldest frame; ok is false when none waits, and ended then
// tells whether one ever will.
func (q *eventQueue) pop() (f wire.ServerFrame, ok, ended bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.buf) {
		return f, false, q.ended
	}
	f = q.buf[q.head]
	q.buf[q.head] = wire.ServerFrame{}
	q.head++
	if q.head == len(q.buf) {
		q.head = 0
		if cap(q.buf) > 1024 {
			q.buf = nil // give a burst's memory back
		} else {
			q.buf = q.buf[:0]
		}
	}
	return f, true, false
}

// end marks that no more frames will be pushed.
func (q *eventQueue) end() {
	q.mu.Lock()
	q.ended = true
	q.mu.Unlock()
	q.signal()
}

// abandon stops delivery: the channel is closed, queued frames are dropped.
func (q *eventQueue) abandon() { q.stopOnce.Do(func() { close(q.stop) }) }

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// channel returns the delivery channel, starting its feeder on first use.
func (q *eventQueue) channel() <-chan wire.ServerFrame {
	q.start.Do(func() { go q.feed() })
	return q.out
}

func (q *eventQueue) feed() {
	defer close(q.out)
	for {
		f, ok, ended := q.pop()
		if !ok {
			if ended {
				return
			}
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				return
			}
		}
		select {
		case q.out <- f:
		case <-q.stop:
			return
		}
	}
}
