package storetest

import (
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func (f *fixture) tickets(t *testing.T) chat.TicketStore {
	t.Helper()
	ts, ok := f.s.(chat.TicketStore)
	if !ok {
		t.Fatalf("%T does not implement chat.TicketStore", f.s)
	}
	return ts
}

func (f *fixture) sessionWithHash(t *testing.T, u chat.User, hash string) chat.Session {
	t.Helper()
	s := chat.Session{ID: f.id("s"), TokenHash: hash, UserID: u.ID, Username: u.Username, CreatedAt: f.ts(), ExpiresAt: baseTS + 1e9}
	if err := f.s.CreateSession(f.ctx, s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s
}

// testTickets: a ticket is taken once, with its session; an unknown one is
// ENotFound.
func testTickets(t *testing.T, f *fixture) {
	ts := f.tickets(t)
	sess := f.sessionWithHash(t, f.user(t, "alice"), "h-alice")
	want := chat.Ticket{TokenHash: "t1", SessionID: sess.ID, ExpiresAt: baseTS + 30_000}
	if err := ts.CreateTicket(f.ctx, want, baseTS); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	got, gs, err := ts.TakeTicket(f.ctx, "t1")
	if err != nil {
		t.Fatalf("TakeTicket: %v", err)
	}
	if got != want || gs != sess {
		t.Errorf("TakeTicket = %+v, %+v; want %+v, %+v", got, gs, want, sess)
	}
	_, _, err = ts.TakeTicket(f.ctx, "t1")
	wantCode(t, "TakeTicket(taken)", err, chat.ENotFound)
	_, _, err = ts.TakeTicket(f.ctx, "never")
	wantCode(t, "TakeTicket(unknown)", err, chat.ENotFound)
	err = ts.CreateTicket(f.ctx, chat.Ticket{TokenHash: "t2", SessionID: "no-such-session", ExpiresAt: baseTS}, baseTS)
	wantCode(t, "CreateTicket(unknown session)", err, chat.ENotFound)
}

// testTicketsGoWithSession: deleting the session removes its tickets, and
// creating a ticket removes those expired before now.
func testTicketsGoWithSession(t *testing.T, f *fixture) {
	ts := f.tickets(t)
	sess := f.sessionWithHash(t, f.user(t, "alice"), "h-alice")
	for _, tk := range []chat.Ticket{
		{TokenHash: "old", SessionID: sess.ID, ExpiresAt: baseTS + 10},
		{TokenHash: "new", SessionID: sess.ID, ExpiresAt: baseTS + 100},
	} {
		if err := ts.CreateTicket(f.ctx, tk, baseTS); err != nil {
			t.Fatalf("CreateTicket(%s): %v", tk.TokenHash, err)
		}
	}
	if err := ts.CreateTicket(f.ctx, chat.Ticket{TokenHash: "later", SessionID: sess.ID, ExpiresAt: baseTS + 200}, baseTS+50); err != nil {
		t.Fatalf("CreateTicket(later): %v", err)
	}
	_, _, err := ts.TakeTicket(f.ctx, "old")
	wantCode(t, "TakeTicket(expired before a later CreateTicket)", err, chat.ENotFound)
	if err := f.s.DeleteSession(f.ctx, sess.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, _, err = ts.TakeTicket(f.ctx, "new")
	wantCode(t, "TakeTicket(session deleted)", err, chat.ENotFound)
}

// testTicketsTakenOnce: of many concurrent takers of one ticket, one wins.
func testTicketsTakenOnce(t *testing.T, f *fixture) {
	ts := f.tickets(t)
	sess := f.sessionWithHash(t, f.user(t, "alice"), "h-alice")
	if err := ts.CreateTicket(f.ctx, chat.Ticket{TokenHash: "t", SessionID: sess.ID, ExpiresAt: baseTS + 1000}, baseTS); err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := ts.TakeTicket(f.ctx, "t")
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if chat.ErrorCode(err) != chat.ENotFound {
				t.Errorf("TakeTicket: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d takers got the ticket; want 1", won)
	}
}
