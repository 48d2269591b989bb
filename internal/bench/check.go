package bench

import (
	"fmt"
	"sort"
	"sync"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Receiver checks what one receiving connection gets: a client.Tracker
// finds duplicate seqs (the sender's own acked messages are fed to it too,
// so its cursor can close over them), pushed messages must come in
// strictly increasing seq order per conversation, and it counts messages
// per sender so that Check can compare them with the acks.
type Receiver struct {
	user    string
	expect  []string
	tracker client.Tracker

	mu      sync.Mutex
	lastSeq map[string]int64
	from    map[string]int64
	total   int64
	order   int64
	// updates: last rev pushed per conversation, updates by the message's
	// author (the one who changed it), updates not above the last rev
	lastRev  map[string]int64
	updFrom  map[string]int64
	updOrder int64
	dropped  bool
	dropWhy  string
}

// NewReceiver returns the checker for user's connection, which should
// receive every acked message of each sender in expect.
func NewReceiver(user string, expect []string) *Receiver {
	return &Receiver{user: user, expect: expect, lastSeq: map[string]int64{}, from: map[string]int64{}}
}

// Pushed records a message frame pushed to the connection.
func (r *Receiver) Pushed(m wire.Message) {
	r.tracker.Observe(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Seq <= r.lastSeq[m.Conversation] {
		r.order++
	} else {
		r.lastSeq[m.Conversation] = m.Seq
	}
	r.from[m.From]++
	r.total++
}

// Own records the ack of a message the connection sent itself.
func (r *Receiver) Own(m wire.Message) { r.tracker.Observe(m) }

// Dropped records that the connection ended before the run did.
func (r *Receiver) Dropped(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dropped {
		r.dropped, r.dropWhy = true, why
	}
}

// Received returns how many messages were pushed from sender so far.
func (r *Receiver) Received(sender string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.from[sender]
}

// Total returns how many messages were pushed so far.
func (r *Receiver) Total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Stat returns the receiver's counts, for Check.
func (r *Receiver) Stat() ReceiverStat {
	st := r.tracker.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	from := make(map[string]int64, len(r.from))
	for k, v := range r.from {
		from[k] = v
	}
	rs := ReceiverStat{User: r.user, Expect: r.expect, From: from, Duplicates: st.Duplicates,
		OutOfOrder: r.order, Holes: int64(st.Held), Dropped: r.dropWhy}
	r.updateStat(&rs, st)
	return rs
}

// ReceiverStat is what one receiving connection saw.
type ReceiverStat struct {
	User       string           `json:"user"`
	Expect     []string         `json:"expect"`            // senders it must hear every acked message from
	From       map[string]int64 `json:"from"`              // messages pushed, by sender
	Duplicates int64            `json:"duplicates"`        // seqs seen twice
	OutOfOrder int64            `json:"out_of_order"`      // pushed with a seq not above the last one
	Holes      int64            `json:"holes"`             // seqs above a never-filled hole at the end
	Dropped    string           `json:"dropped,omitempty"` // why the connection ended early

	UpdatesFrom       map[string]int64 `json:"updates_from,omitempty"`         // updates pushed, by the changed message's author
	UpdateDups        int64            `json:"update_duplicates,omitempty"`    // revs seen twice
	UpdatesOutOfOrder int64            `json:"updates_out_of_order,omitempty"` // pushed with a rev not above the last one
	UpdateHoles       int64            `json:"update_holes,omitempty"`         // revs above a never-filled hole at the end
}

// Verdict is the outcome of the delivery checks.
type Verdict struct {
	Lost       int64    `json:"lost"`         // acked messages an expecting receiver never got
	Duplicates int64    `json:"duplicates"`   // messages received twice
	OutOfOrder int64    `json:"out_of_order"` // messages received out of seq order
	Unexpected int64    `json:"unexpected"`   // messages beyond the acked count (sent but not acked)
	Dropped    int64    `json:"dropped"`      // receiving connections that ended early
	Failures   []string `json:"failures,omitempty"`
}

// Failed reports whether the run broke a delivery guarantee.
func (v Verdict) Failed() bool { return len(v.Failures) > 0 }

// Check compares what each receiver got with what each sender had acked
// (acked: sender username -> acked messages). A receiver missing any acked
// message of a sender it expects, a duplicate, an out-of-order delivery or
// a dropped receiving connection fails the run.
func Check(acked map[string]int64, receivers []ReceiverStat) Verdict {
	var v Verdict
	lostBy := 0
	for _, r := range receivers {
		for _, s := range r.Expect {
			got, want := r.From[s], acked[s]
			switch {
			case got < want:
				v.Lost += want - got
				lostBy++
			case got > want:
				v.Unexpected += got - want
			}
		}
		v.Duplicates += r.Duplicates
		v.OutOfOrder += r.OutOfOrder
		if r.Dropped != "" {
			v.Dropped++
		}
	}
	if v.Lost > 0 {
		v.Failures = append(v.Failures, fmt.Sprintf("%d acknowledged deliveries never arrived (%d receiver/sender pairs short)", v.Lost, lostBy))
	}
	if v.Duplicates > 0 {
		v.Failures = append(v.Failures, fmt.Sprintf("%d duplicate deliveries", v.Duplicates))
	}
	if v.OutOfOrder > 0 {
		v.Failures = append(v.Failures, fmt.Sprintf("%d deliveries out of order", v.OutOfOrder))
	}
	if v.Dropped > 0 {
		var why []string
		for _, r := range receivers {
			if r.Dropped != "" {
				why = append(why, r.Dropped)
			}
		}
		sort.Strings(why)
		v.Failures = append(v.Failures, fmt.Sprintf("%d receiving connections ended early (first: %s)", v.Dropped, why[0]))
	}
	return v
}
