package storetest

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// testPins: pinning takes a rev once; Pins lists pinned messages in seq
// order.
func testPins(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	d := f.direct(t, alice, bob)
	ms := f.sendN(t, d.ID, alice, 3)
	pin := func(m chat.Message, on bool) chat.ChangeResult {
		return f.change(t, chat.Change{Kind: chat.ChangePin, MessageID: m.ID, UserID: bob.ID, On: on})
	}
	pin(ms[2], true)
	if r := pin(ms[0], true); !r.Changed || !r.Message.Pinned || r.Message.Rev != 2 {
		t.Errorf("pin = %+v; want pinned at rev 2", r)
	}
	if r := pin(ms[0], true); r.Changed {
		t.Errorf("pinning a pinned message changed it")
	}
	pins, err := f.s.Pins(f.ctx, d.ID)
	if err != nil || fmt.Sprint(seqs(pins)) != "[1 3]" || !pins[0].Pinned {
		t.Errorf("Pins = seqs %v, %v; want [1 3], pinned", seqs(pins), err)
	}
	if r := pin(ms[2], false); !r.Changed || r.Message.Pinned {
		t.Errorf("unpin = %+v; want changed, not pinned", r)
	}
	pins, err = f.s.Pins(f.ctx, d.ID)
	if err != nil || fmt.Sprint(seqs(pins)) != "[1]" {
		t.Errorf("Pins after unpin = seqs %v, %v; want [1]", seqs(pins), err)
	}
	if pins, err := f.s.Pins(f.ctx, "no-such-conversation"); err != nil || len(pins) != 0 {
		t.Errorf("Pins of an unknown conversation = %v, %v; want none", pins, err)
	}
}
