package bench

import (
	"fmt"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// change makes m's sender change its acked message msg: the k-th change
// edits it when k is even and reacts to it when odd. Each changes the
// message (new text, a first reaction), so each takes one rev that every
// other member must get as an update.
func (w *worker) change(m *member, msg wire.Message, k int) {
	f := wire.ClientFrame{Type: wire.TypeEdit, Message: msg.ID, Text: "edited " + msg.Text}
	if k%2 == 1 {
		on := true
		f = wire.ClientFrame{Type: wire.TypeReact, Message: msg.ID, Emoji: "👍", On: &on}
	}
	w.inflight.Add(1)
	// Not from the ack callback itself, which runs on the connection's
	// read loop.
	go func() {
		err := m.conn.DoAsync(f, func(a wire.ServerFrame, err error) {
			defer w.inflight.Done()
			if err != nil {
				w.fail(err)
				return
			}
			if a.Msg != nil && a.Msg.Rev > 0 {
				m.changed.Add(1)
				m.rcv.OwnUpdate(a.Msg.Conversation, a.Msg.Rev)
			}
		})
		if err != nil {
			w.inflight.Done()
			w.fail(err)
		}
	}()
}

// UpdateVerdict is the outcome of the checks on message changes.
type UpdateVerdict struct {
	Delivered  int64    `json:"delivered"`    // update frames received
	Lost       int64    `json:"lost"`         // acked changes an expecting receiver never got
	Duplicates int64    `json:"duplicates"`   // revs received twice
	OutOfOrder int64    `json:"out_of_order"` // updates not above the last rev received
	Unexpected int64    `json:"unexpected"`   // updates beyond the acked count
	Holes      int64    `json:"holes"`        // revs above a hole never filled
	Failures   []string `json:"failures,omitempty"`
}

// CheckUpdates compares the updates each receiver got with the changes each
// sender had acked (changed: sender username -> acked changes). A missing,
// duplicated or out-of-rev-order update, or a rev hole left at the end,
// fails the run.
func CheckUpdates(changed map[string]int64, receivers []ReceiverStat) UpdateVerdict {
	var v UpdateVerdict
	for _, r := range receivers {
		for _, s := range r.Expect {
			got, want := r.UpdatesFrom[s], changed[s]
			switch {
			case got < want:
				v.Lost += want - got
			case got > want:
				v.Unexpected += got - want
			}
		}
		for _, n := range r.UpdatesFrom {
			v.Delivered += n
		}
		v.Duplicates += r.UpdateDups
		v.OutOfOrder += r.UpdatesOutOfOrder
		v.Holes += r.UpdateHoles
	}
	for _, c := range []struct {
		n    int64
		what string
	}{
		{v.Lost, "acknowledged changes never arrived as updates"},
		{v.Duplicates, "duplicate updates"},
		{v.OutOfOrder, "updates out of rev order"},
		{v.Unexpected, "updates beyond the acknowledged changes"},
		{v.Holes, "revs missing below the last update received"},
	} {
		if c.n > 0 {
			v.Failures = append(v.Failures, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return v
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Updated records an update frame pushed to the connection.
func (r *Receiver) Updated(f wire.ServerFrame) {
	dup, _ := r.tracker.ObserveUpdate(f.Conversation, f.Rev)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastRev == nil {
		r.lastRev, r.updFrom = map[string]int64{}, map[string]int64{}
	}
	if f.Rev <= r.lastRev[f.Conversation] {
		if !dup {
			r.updOrder++
		}
	} else {
		r.lastRev[f.Conversation] = f.Rev
	}
	r.updFrom[f.Msg.From]++
}

// OwnUpdate records the ack of a change the connection made itself.
func (r *Receiver) OwnUpdate(conv string, rev int64) { r.tracker.ObserveUpdate(conv, rev) }

// Updates returns how many updates of sender's messages were pushed so far.
func (r *Receiver) Updates(sender string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updFrom[sender]
}

// updateStat fills in st's update counts.
func (r *Receiver) updateStat(st *ReceiverStat, ts client.TrackerStats) {
	st.UpdatesFrom = make(map[string]int64, len(r.updFrom))
	for k, v := range r.updFrom {
		st.UpdatesFrom[k] = v
	}
	st.UpdateDups, st.UpdatesOutOfOrder, st.UpdateHoles = ts.UpdateDups, r.updOrder, int64(ts.UpdatesHeld)
}
