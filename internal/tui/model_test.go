package tui_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/tui"
	"github.com/switchboard-chat/switchboard/wire"
)

// The commands Update returns are never run here: these tests check what
// the model does with each message, not the network.

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

var (
	enter    = tea.KeyMsg{Type: tea.KeyEnter}
	tab      = tea.KeyMsg{Type: tea.KeyTab}
	shiftTab = tea.KeyMsg{Type: tea.KeyShiftTab}
	ctrlT    = tea.KeyMsg{Type: tea.KeyCtrlT}
	pgUp     = tea.KeyMsg{Type: tea.KeyPgUp}
	pgDown   = tea.KeyMsg{Type: tea.KeyPgDown}
	online   = tui.ConnStateMsg{State: tui.Online}
	loggedIn = tui.AuthMsg{User: wire.User{ID: "u1", Username: "alice"}}
)

const (
	dmBob = "01dmbob0000000000000000000"
	devs  = "01devs00000000000000000000"
)

func conversations() tui.SyncedMsg {
	return tui.SyncedMsg{Conversations: []wire.Conversation{
		{ID: dmBob, Kind: "direct", Peer: "bob", LastSeq: 3, ReadSeq: 3},
		{ID: devs, Kind: "group", Name: "devs", Title: "devs", LastSeq: 2, ReadSeq: 0, Unread: 2},
	}}
}

func msg(conv string, seq int64, from, text string) tui.FrameMsg {
	return tui.FrameMsg{Frame: wire.ServerFrame{Type: wire.TypeMessage, Msg: &wire.Message{
		ID: fmt.Sprintf("m%d", seq), Conversation: conv, Seq: seq, From: from, Text: text, TS: 1}}}
}

func frame(f wire.ServerFrame) tui.FrameMsg { return tui.FrameMsg{Frame: f} }

func page(conv string, from, to int64) []wire.Message {
	var ms []wire.Message
	for s := from; s <= to; s++ {
		ms = append(ms, wire.Message{ID: fmt.Sprint(s), Conversation: conv, Seq: s, From: "bob", Text: fmt.Sprintf("line %d", s), TS: 1})
	}
	return ms
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]`)

// screen feeds msgs to a fresh 100x30 model and returns its view as text.
func screen(t *testing.T, msgs []tea.Msg) string {
	t.Helper()
	return screenSized(t, 100, 30, msgs)
}

func screenSized(t *testing.T, width, height int, msgs []tea.Msg) string {
	t.Helper()
	m := tui.New(context.Background(), tui.Config{Client: client.New("http://127.0.0.1:1"), Device: "test"})
	var model tea.Model = m
	model, _ = model.Update(tea.WindowSizeMsg{Width: width, Height: height})
	for _, in := range msgs {
		model, _ = model.Update(in)
	}
	return ansi.ReplaceAllString(model.View(), "")
}

func TestModelUpdate(t *testing.T) {
	tests := []struct {
		name    string
		msgs    []tea.Msg
		want    []string
		notWant []string
	}{
		{"login form shows both fields", nil,
			[]string{"Log in", "username:", "password:", "Ctrl+T: sign up instead"}, nil},
		{"ctrl+t switches to sign up", []tea.Msg{ctrlT},
			[]string{"Sign up", "Ctrl+T: log in instead"}, nil},
		{"password is not echoed", []tea.Msg{runes("alice"), enter, runes("s3cret-pass")},
			[]string{"username: alice", "password: ***********"}, []string{"s3cret"}},
		{"an empty password is refused before any request", []tea.Msg{runes("alice"), enter, enter},
			[]string{"enter a password"}, []string{"working"}},
		{"a complete form submits", []tea.Msg{runes("alice"), tab, runes("password1"), enter},
			[]string{"working…"}, nil},
		{"a refused login shows the server's reason", []tea.Msg{runes("alice"), tab, runes("password1"), enter,
			tui.AuthMsg{Err: &client.Error{Status: 401, Code: "unauthorized", Message: "wrong username or password"}}},
			[]string{"unauthorized: wrong username or password", "Log in"}, []string{"working"}},
		{"after login the chat screen shows", []tea.Msg{loggedIn},
			[]string{"Switchboard · alice", "none yet: /dm USER", "○ not connected", "Enter send"}, nil},
		{"connection states show in the status bar", []tea.Msg{loggedIn,
			tui.ConnStateMsg{State: tui.Offline, Err: errors.New("connection refused"), RetryIn: 500 * time.Millisecond}},
			[]string{"○ offline, reconnecting in 500ms (connection refused)"}, nil},
		{"connecting shows the attempt", []tea.Msg{loggedIn, tui.ConnStateMsg{State: tui.Connecting, Attempt: 3}},
			[]string{"connecting (attempt 3)"}, nil},
		{"a refused session says so", []tea.Msg{loggedIn,
			tui.ConnStateMsg{State: tui.Failed, Err: &client.Error{Code: "unauthorized", Message: "bad token"}}},
			[]string{"unauthorized: bad token: restart to log in again"}, nil},
		{"synced conversations list with unread counts", []tea.Msg{loggedIn, online, conversations()},
			[]string{"● connected", "@bob", "#devs", "(2)"}, []string{"(3)"}},
		{"an incoming message raises the unread count of another conversation",
			[]tea.Msg{loggedIn, online, conversations(), msg(devs, 3, "carol", "hey all")},
			[]string{"#devs               (3)"}, nil},
		{"the newest conversation moves to the top",
			[]tea.Msg{loggedIn, online, conversations(), msg(devs, 3, "carol", "hey all")},
			[]string{"Conversations            │", "#devs               (3)│", "○ @bob"}, nil},
		{"tab opens the next conversation and reads it",
			[]tea.Msg{loggedIn, online, conversations(), tab, tui.HistoryMsg{Conversation: devs, Messages: page(devs, 1, 2)}},
			[]string{"#devs", "bob: line 1", "bob: line 2", "start of the conversation"}, []string{"(2)"}},
		{"shift+tab wraps around", []tea.Msg{loggedIn, online, conversations(), shiftTab},
			[]string{"│ #devs  "}, nil},
		{"a live message shows in the open conversation",
			[]tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 1, 3)},
				msg(dmBob, 4, "bob", "are you there?")},
			[]string{"bob: line 3", "bob: are you there?"}, []string{"(1)"}},
		{"a duplicate push shows once",
			[]tea.Msg{loggedIn, online, conversations(), msg(dmBob, 4, "bob", "once only"), msg(dmBob, 4, "bob", "once only")},
			[]string{"once only"}, nil},
		{"typing shows and the message clears it",
			[]tea.Msg{loggedIn, online, conversations(),
				frame(wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: dmBob, UserName: "bob"})},
			[]string{"bob is typing…"}, nil},
		{"two typists", []tea.Msg{loggedIn, online, conversations(), shiftTab,
			frame(wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: devs, UserName: "dave"}),
			frame(wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: devs, UserName: "carol"})},
			[]string{"carol, dave are typing…"}, nil},
		{"presence shows in the list and the header",
			[]tea.Msg{loggedIn, online, conversations(),
				frame(wire.ServerFrame{Type: wire.TypePresence, UserName: "bob", Online: new(true)})},
			[]string{"● @bob", "@bob ● online"}, nil},
		{"offline presence shows last seen", []tea.Msg{loggedIn, online, conversations(),
			tui.PresenceMsg{Presence: []wire.Presence{{User: "bob", Online: false, LastSeen: time.Date(2026, 3, 4, 5, 6, 0, 0, time.Local).UnixMilli()}}}},
			[]string{"○ @bob", "○ last seen Mar 4 05:06"}, nil},
		{"a typed line is pending until acked", []tea.Msg{loggedIn, online, conversations(), runes("hello bob"), enter},
			[]string{"alice: hello bob …"}, []string{"✓"}},
		{"own message from another device: sent", []tea.Msg{loggedIn, online, conversations(), msg(dmBob, 4, "alice", "from my phone")},
			[]string{"alice: from my phone ✓"}, []string{"✓✓"}},
		{"own message: delivered", []tea.Msg{loggedIn, online, conversations(), msg(dmBob, 4, "alice", "from my phone"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: dmBob, UserName: "bob", Status: "delivered", Seq: 4})},
			[]string{"alice: from my phone ✓✓"}, []string{"read"}},
		{"own message: read", []tea.Msg{loggedIn, online, conversations(), msg(dmBob, 4, "alice", "from my phone"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: dmBob, UserName: "bob", Status: "read", Seq: 4})},
			[]string{"alice: from my phone ✓✓ read"}, nil},
		{"a receipt below the message does not tick it", []tea.Msg{loggedIn, online, conversations(), msg(dmBob, 4, "alice", "from my phone"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: dmBob, UserName: "bob", Status: "read", Seq: 3})},
			[]string{"alice: from my phone ✓ "}, []string{"✓✓"}},
		{"group: read only when every other member read", []tea.Msg{loggedIn, online, conversations(), shiftTab,
			tui.MembersMsg{Conversation: devs, Members: []wire.Member{{Username: "alice", ReadSeq: 3}, {Username: "carol"}, {Username: "dave"}}},
			msg(devs, 3, "alice", "standup?"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: devs, UserName: "carol", Status: "read", Seq: 3}),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: devs, UserName: "dave", Status: "delivered", Seq: 3})},
			[]string{"alice: standup? ✓✓"}, []string{"read"}},
		{"a failed send says why", []tea.Msg{loggedIn, online, conversations(), runes("hi"), enter,
			tui.SentMsg{ClientMsgID: "unknown", Err: &client.Error{Code: "too_large", Message: "text over 4096 bytes"}}},
			[]string{"not sent: too_large: text over 4096 bytes"}, nil},
		{"commands: unknown", []tea.Msg{loggedIn, runes("/bogus"), enter},
			[]string{"unknown command /bogus"}, nil},
		{"commands: missing argument", []tea.Msg{loggedIn, runes("/dm"), enter},
			[]string{"usage: /dm NAME"}, nil},
		{"commands: too many arguments", []tea.Msg{loggedIn, runes("/join a b"), enter},
			[]string{"usage: /join NAME"}, nil},
		{"commands: a dm to oneself", []tea.Msg{loggedIn, runes("/dm alice"), enter},
			[]string{"that is you"}, nil},
		{"commands: help", []tea.Msg{loggedIn, runes("/help"), enter},
			[]string{"/dm USER · /join GROUP · /create GROUP · /quit"}, nil},
		{"commands: /dm to an existing peer selects it", []tea.Msg{loggedIn, online, conversations(), shiftTab, runes("/dm @Bob"), enter},
			[]string{"@bob ○ offline"}, nil},
		{"opened direct conversation without messages", []tea.Msg{loggedIn, online,
			tui.OpenedMsg{Conversation: wire.Conversation{Kind: "direct", Peer: "erin"}}},
			[]string{"○ @erin", "@erin ○ offline"}, nil},
		{"opened group", []tea.Msg{loggedIn, online,
			tui.OpenedMsg{Conversation: wire.Conversation{ID: devs, Kind: "group", Name: "devs", Title: "Dev team"}}},
			[]string{"#devs Dev team"}, nil},
		{"a direct conversation opened here gets its id when the peer writes first", []tea.Msg{loggedIn, online,
			tui.OpenedMsg{Conversation: wire.Conversation{Kind: "direct", Peer: "erin"}},
			msg("01erin0000000000000000000", 1, "erin", "hi, you called?")},
			[]string{"○ @erin", "@erin ○ offline", "erin: hi, you called?"}, []string{"(1)"}},
		{"a member who left no longer holds a tick back", []tea.Msg{loggedIn, online, conversations(), shiftTab,
			tui.MembersMsg{Conversation: devs, Members: []wire.Member{{Username: "alice"}, {Username: "carol"}, {Username: "dave"}}},
			msg(devs, 3, "alice", "who is here?"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: devs, UserName: "carol", Status: "read", Seq: 3}),
			frame(wire.ServerFrame{Type: wire.TypeMember, Conversation: devs, UserName: "dave", Event: "left"})},
			[]string{"alice: who is here? ✓✓ read"}, nil},
		{"a member who joined counts for later ticks", []tea.Msg{loggedIn, online, conversations(), shiftTab,
			tui.MembersMsg{Conversation: devs, Members: []wire.Member{{Username: "alice"}, {Username: "carol"}}},
			frame(wire.ServerFrame{Type: wire.TypeMember, Conversation: devs, UserName: "dave", Event: "joined"}),
			msg(devs, 3, "alice", "welcome dave"),
			frame(wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: devs, UserName: "carol", Status: "read", Seq: 3})},
			[]string{"alice: welcome dave ✓ "}, []string{"✓✓"}},
		{"a failed open shows why", []tea.Msg{loggedIn, online, tui.OpenedMsg{Err: errors.New(`no group "x"`)}},
			[]string{`no group "x"`}, nil},
		{"sending with no conversation", []tea.Msg{loggedIn, runes("hi"), enter},
			[]string{"no conversation selected"}, nil},
		{"history pages: the newest page offers older ones",
			[]tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 51, 100)}},
			[]string{"bob: line 100"}, []string{"bob: line 51", "start of the conversation"}},
		{"history pages: PgUp at the top asks for the older page",
			[]tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 51, 100)},
				pgUp, pgUp, pgUp},
			[]string{"loading older messages…", "bob: line 51", "scrolled back"}, []string{"line 100"}},
		{"history pages: the older page joins below what is shown",
			[]tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 51, 100)},
				pgUp, pgUp, pgUp, tui.HistoryMsg{Conversation: dmBob, Before: 51, Messages: page(dmBob, 1, 50)},
				pgUp, pgUp, pgUp, pgUp, pgUp},
			[]string{"start of the conversation", "bob: line 1 "}, []string{"loading"}},
		{"PgDn returns to the newest",
			[]tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 51, 100)},
				pgUp, pgUp, pgDown, pgDown, pgDown},
			[]string{"bob: line 100"}, []string{"scrolled back"}},
		{"a server error frame is a notice",
			[]tea.Msg{loggedIn, online, frame(wire.ServerFrame{Type: wire.TypeError, Code: "rate_limited", Message: "slow down"})},
			[]string{"server: rate_limited: slow down"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := screen(t, tt.msgs)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("screen lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("screen has %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestModelInputLimit: the input line stops at 4096 characters, the
// server's limit in bytes for ASCII text.
func TestModelInputLimit(t *testing.T) {
	got := screenSized(t, 100, 200, []tea.Msg{loggedIn, online, conversations(),
		runes(strings.Repeat("x", 4096)), runes("QZ"), enter})
	if n := strings.Count(got, "x"); n != 4096 {
		t.Errorf("the sent line has %d x, want 4096", n)
	}
	if strings.Contains(got, "Q") {
		t.Errorf("characters past the limit were kept:\n%s", got)
	}
}

// TestModelTinyWindow: any window size draws without a panic, down to a
// single cell.
func TestModelTinyWindow(t *testing.T) {
	msgs := []tea.Msg{loggedIn, online, conversations(), tui.HistoryMsg{Conversation: dmBob, Messages: page(dmBob, 1, 3)},
		frame(wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: dmBob, UserName: "bob"}), pgUp, pgDown}
	for _, size := range [][2]int{{0, 0}, {1, 1}, {5, 2}, {20, 4}, {40, 6}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			if got := screenSized(t, size[0], size[1], msgs); got == "" {
				t.Error("empty screen")
			}
			if got := screenSized(t, size[0], size[1], nil); got == "" {
				t.Error("empty login screen")
			}
		})
	}
}

// TestModelTypingExpires: a typing indicator goes by itself once its
// timer fires (about 5 s), and a newer one outlives an older timer.
func TestModelTypingExpires(t *testing.T) {
	t.Parallel()
	m := tui.New(context.Background(), tui.Config{Client: client.New("http://127.0.0.1:1"), Device: "test"})
	var model tea.Model = m
	for _, in := range []tea.Msg{tea.WindowSizeMsg{Width: 100, Height: 30}, loggedIn, online, conversations()} {
		model, _ = model.Update(in)
	}
	typing := frame(wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: dmBob, UserName: "bob"})
	model, first := model.Update(typing)
	model, second := model.Update(typing)
	if first == nil || second == nil {
		t.Fatal("a typing frame returned no timer")
	}
	model, _ = model.Update(first()) // the older timer: bob typed again since
	if got := model.View(); !strings.Contains(got, "bob is typing…") {
		t.Fatalf("the older timer ended the newer indicator:\n%s", got)
	}
	model, _ = model.Update(second())
	if got := model.View(); strings.Contains(got, "is typing") {
		t.Fatalf("the indicator outlived its timer:\n%s", got)
	}
}

// TestModelQueuesWhileOffline: a line typed without a connection waits,
// goes out when the connection is back, and a refusal by the server is
// final.
func TestModelQueuesWhileOffline(t *testing.T) {
	m := tui.New(context.Background(), tui.Config{Client: client.New("http://127.0.0.1:1"), Device: "test"})
	var model tea.Model = m
	for _, in := range []tea.Msg{tea.WindowSizeMsg{Width: 100, Height: 30}, loggedIn, conversations(),
		tui.ConnStateMsg{State: tui.Offline}, runes("sent while away")} {
		model, _ = model.Update(in)
	}
	view := func() string { return ansi.ReplaceAllString(model.View(), "") }
	model, send := model.Update(enter)
	if send == nil {
		t.Fatal("Enter returned no send")
	}
	// The Session is not running: the send fails at once for want of a
	// connection, as it does while offline.
	answer, ok := send().(tui.SentMsg)
	if !ok || answer.Err == nil {
		t.Fatalf("send answered %#v; want a SentMsg with an error", answer)
	}
	model, _ = model.Update(answer)
	if got := view(); !strings.Contains(got, "alice: sent while away … queued") ||
		!strings.Contains(got, "offline: queued, sent on reconnect") {
		t.Fatalf("the line is not queued:\n%s", got)
	}
	model, resend := model.Update(online)
	if resend == nil {
		t.Fatal("coming online sent nothing")
	}
	if got := view(); !strings.Contains(got, "alice: sent while away …") || strings.Contains(got, "away … queued") ||
		!strings.Contains(got, "sending 1 queued message") {
		t.Fatalf("the line is not on its way again:\n%s", got)
	}
	model, _ = model.Update(tui.SentMsg{ClientMsgID: answer.ClientMsgID,
		Err: &client.Error{Code: "forbidden", Message: "not a member"}})
	if got := view(); !strings.Contains(got, "alice: sent while away ✗ not sent") ||
		!strings.Contains(got, "not sent: forbidden: not a member") {
		t.Fatalf("a refused line is not marked:\n%s", got)
	}
}
