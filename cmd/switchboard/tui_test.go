package main

// End-to-end tests of `switchboard chat`: real terminal clients in tmux
// against a real node, driven with send-keys and read with capture-pane.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/internal/tui"
	"github.com/switchboard-chat/switchboard/wire"
)

// tmuxTerm is one `switchboard chat` in a detached tmux session of its own
// tmux server (a private socket, so tests never touch another tmux).
type tmuxTerm struct {
	t    *testing.T
	sock string
	name string
}

// startChat runs `switchboard chat args...` in a 100x30 tmux session. When
// the client exits, its pane stays with the exit status, for the failure
// message. The tmux server is killed when the test ends.
func startChat(t *testing.T, name string, args ...string) *tmuxTerm {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		testenv.Need(t, "tmux: %v", err)
	}
	bin := procBinary(t)
	x := &tmuxTerm{t: t, sock: "sbtui-" + testenv.Random(t), name: name}
	quoted := []string{"env", "LANG=C.UTF-8", "TERM=xterm-256color", shellQuote(bin), "chat"}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	script := strings.Join(quoted, " ") + `; echo "[chat exited: $?]"; sleep 600`
	x.tmux("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "100", "-y", "30", "sh", "-c", script)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's last screen:\n%s", name, x.screen())
		}
		path, _ := exec.Command("tmux", "-L", x.sock, "display-message", "-p", "#{socket_path}").Output()
		_ = exec.Command("tmux", "-L", x.sock, "kill-server").Run()
		if p := strings.TrimSpace(string(path)); p != "" {
			_ = os.Remove(p)
		}
	})
	return x
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (x *tmuxTerm) tmux(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.sock}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// typeText types s literally.
func (x *tmuxTerm) typeText(s string) {
	x.t.Helper()
	x.tmux("send-keys", "-t", x.name, "-l", s)
}

// keys presses named keys (Enter, Tab, C-t, PPage, ...).
func (x *tmuxTerm) keys(keys ...string) {
	x.t.Helper()
	x.tmux(append([]string{"send-keys", "-t", x.name}, keys...)...)
}

// line types s and presses Enter.
func (x *tmuxTerm) line(s string) {
	x.t.Helper()
	x.typeText(s)
	x.keys("Enter")
}

func (x *tmuxTerm) screen() string {
	out, err := exec.Command("tmux", "-L", x.sock, "capture-pane", "-p", "-t", x.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane: %v: %s)", err, out)
	}
	return string(out)
}

// waitFor polls the screen until ok accepts it, and returns it.
func (x *tmuxTerm) waitFor(what string, ok func(string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := x.screen()
		if ok(s) {
			return s
		}
		if strings.Contains(s, "[chat exited:") || time.Now().After(deadline) {
			x.t.Fatalf("%s: waiting for %s; screen:\n%s", x.name, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the screen shows every one of texts.
func (x *tmuxTerm) waitText(texts ...string) string {
	x.t.Helper()
	return x.waitFor(fmt.Sprintf("%q", texts), func(s string) bool {
		for _, t := range texts {
			if !strings.Contains(s, t) {
				return false
			}
		}
		return true
	})
}

// save writes the screen to dir/name.txt when dir is set, for the docs.
func (x *tmuxTerm) save(dir, name string) {
	x.t.Helper()
	if dir == "" {
		return
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(x.screen(), "\n"), "\n") {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(b.String()), 0o644); err != nil {
		x.t.Fatal(err)
	}
}

// inOrder reports whether texts appear in s once each, in this order.
func inOrder(s string, texts ...string) bool {
	at := -1
	for _, t := range texts {
		if strings.Count(s, t) != 1 {
			return false
		}
		i := strings.Index(s, t)
		if i < at {
			return false
		}
		at = i
	}
	return true
}

// TestChatTerminal drives two terminal clients against one node: signup
// through the form and through flags, a direct chat with typing and
// ticks, a group with unread counts, then one client cut off behind a
// proxy while the other writes; back online, it shows what it missed in
// order and sends what was typed meanwhile. SWITCHBOARD_TEST_CAPTURES=DIR saves the screens there.
func TestChatTerminal(t *testing.T) {
	captures := os.Getenv("SWITCHBOARD_TEST_CAPTURES")
	port := testenv.FreePort(t)
	nodeArgs := []string{"--addr", "127.0.0.1:" + strconv.Itoa(port), "--data", t.TempDir(), "--max-text", "100"}
	node := startProcNode(t, "tui", nodeArgs...)
	proxy := testenv.StartProxy(t, "127.0.0.1:"+strconv.Itoa(port))

	// Alice is behind the proxy and signs up with the form.
	alice := startChat(t, "alice", "--server", "http://"+proxy.Addr, "--device", "alice-terminal")
	alice.waitText("Log in", "username:")
	alice.line("alice")
	alice.typeText("password-alice")
	alice.keys("C-t")
	alice.waitText("Sign up")
	alice.save(captures, "01-signup")
	alice.keys("Enter")
	alice.waitText("Switchboard · alice", "● connected")

	// Bob signs up with flags, as a script would.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("password-bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bob := startChat(t, "bob", "--server", "http://127.0.0.1:"+strconv.Itoa(port),
		"--user", "bob", "--password-file", pwFile, "--signup")
	bob.waitText("Switchboard · bob", "● connected")

	// A direct chat: the text arrives, the reader's open view reads it.
	alice.line("/dm bob")
	alice.waitText("@bob ● online")
	alice.line("hello bob")
	bob.waitText("alice: hello bob", "@alice ● online")
	alice.waitText("alice: hello bob ✓✓ read")

	// Typing shows on the other side while Bob types, and goes when he sends.
	bob.typeText("hi alice, typing here")
	alice.waitText("bob is typing…")
	alice.save(captures, "02-typing")
	bob.keys("Enter")
	alice.waitFor("bob's message without the typing line", func(s string) bool {
		return strings.Contains(s, "bob: hi alice, typing here") && !strings.Contains(s, "is typing")
	})
	bob.waitText("bob: hi alice, typing here ✓✓ read")

	// A group: Bob joins, then looks at the direct chat while Alice writes
	// in the group, so the group's unread count grows.
	alice.line("/create devs")
	alice.waitText("│ #devs")
	bob.line("/join devs")
	bob.waitText("│ #devs")
	bob.line("/dm alice")
	bob.waitText("│ @alice")
	alice.line("standup in 5")
	alice.line("bring coffee")
	bob.waitText("#devs               (2)")
	bob.save(captures, "03-unread")
	alice.waitText("alice: bring coffee ✓✓")
	bob.keys("Tab")
	bob.waitFor("the group opened and read", func(s string) bool {
		return strings.Contains(s, "alice: bring coffee") && !strings.Contains(s, "(2)")
	})
	alice.waitText("alice: bring coffee ✓✓ read")

	// Cut Alice off. Bob writes in the group and in the direct chat.
	proxy.Stop()
	alice.waitText("○ offline")
	alice.line("written while cut off")
	alice.waitText("alice: written while cut off … queued")
	alice.save(captures, "04-offline")
	for i := 1; i <= 3; i++ {
		bob.line(fmt.Sprintf("missed %d", i))
	}
	bob.waitText("bob: missed 3 ✓")
	bob.line("/dm alice")
	bob.waitText("│ @alice")
	bob.line("missed in private")
	bob.waitText("bob: missed in private ✓")

	// Back online: Alice syncs; the group she had open shows the missed
	// messages once each and in order, the direct chat an unread count.
	proxy.Start()
	screen := alice.waitFor("the missed messages in order", func(s string) bool {
		return strings.Contains(s, "● connected") &&
			inOrder(s, "alice: bring coffee", "bob: missed 1", "bob: missed 2", "bob: missed 3",
				"alice: written while cut off ✓✓") &&
			strings.Contains(s, "@bob                (1)")
	})
	alice.save(captures, "05-resynced")
	if strings.Contains(screen, "offline") {
		t.Errorf("still offline after the resync:\n%s", screen)
	}
	bob.keys("Tab")
	bob.waitText("│ #devs", "bob: missed 3 ✓✓ read", "alice: written while cut off")
	alice.waitText("alice: written while cut off ✓✓ read")
	bob.save(captures, "06-read-after-resync")

	// Alice opens the direct chat: the missed message is there and read.
	alice.keys("Tab")
	alice.waitFor("the direct chat opened", func(s string) bool {
		return strings.Contains(s, "bob: missed in private") && !strings.Contains(s, "(1)")
	})
	bob.line("/dm alice")
	bob.waitText("bob: missed in private ✓✓ read")

	// A text over the node's limit (--max-text 100) is refused, and says so.
	alice.line(strings.Repeat("y", 101))
	alice.waitText("✗ not sent", "not sent: too_large")
	alice.keys("Escape")

	// Restart the node on the same port and data dir: both clients notice,
	// come back with their sessions and go on.
	node.Kill()
	alice.waitText("○ offline")
	bob.waitText("○ offline")
	startProcNode(t, "tui", nodeArgs...)
	alice.waitText("● connected")
	bob.waitText("● connected")
	bob.line("after the restart")
	alice.waitText("bob: after the restart")
	bob.waitText("bob: after the restart ✓✓ read")

	// /quit ends the client cleanly.
	alice.line("/quit")
	alice.waitText("[chat exited: 0]")

	// Scroll-back: Bob's script writes 120 notes; a fresh client of Alice's
	// shows the newest page, and PgUp pages back through the history API
	// to the first message of the conversation.
	bc := client.New(node.URL)
	if _, err := bc.Login(ctxT(t), "bob", "password-bob"); err != nil {
		t.Fatal(err)
	}
	conn := dial(t, bc, "script")
	for i := 1; i <= 120; i++ {
		if _, err := conn.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprintf("note %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("password-alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again := startChat(t, "alice2", "--server", node.URL, "--user", "alice", "--password-file", pw)
	again.waitText("● connected", "bob: note 120")
	for presses := 0; ; presses++ {
		s := again.screen()
		if strings.Contains(s, "start of the conversation") {
			if !inOrder(s, "alice: hello bob", "bob: hi alice, typing here") {
				t.Fatalf("the top of the history is not the first messages:\n%s", s)
			}
			break
		}
		if presses > 60 {
			t.Fatalf("PgUp %d times did not reach the start:\n%s", presses, s)
		}
		again.keys("PPage")
		time.Sleep(100 * time.Millisecond) // polling pace, not an assertion
	}
	again.save(captures, "07-scrollback")
}

// TestChatBadInput: bad flags and files are refused with a clear message
// before any terminal is touched.
func TestChatBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "a good password\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"server without scheme", []string{"--server", "127.0.0.1:8080"}, "want a base URL"},
		{"server with another scheme", []string{"--server", "ftp://127.0.0.1"}, "want a base URL"},
		{"server without host", []string{"--server", "http://"}, "want a base URL"},
		{"arguments", []string{"alice"}, "chat takes no arguments"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"device over 64 bytes", []string{"--device", strings.Repeat("d", 65)}, "--device must be 1 to 64 bytes"},
		{"empty device", []string{"--device", ""}, "--device must be 1 to 64 bytes"},
		{"password file without user", []string{"--password-file", good}, "--password-file needs --user"},
		{"missing password file", []string{"--user", "al", "--password-file", filepath.Join(dir, "none")}, "no such file"},
		{"empty password file", []string{"--user", "al", "--password-file", write("empty", "\nsecond line\n")}, "the first line is empty"},
		{"password over 256 bytes", []string{"--user", "al", "--password-file", write("long", strings.Repeat("p", 257))}, "password over 256 bytes"},
		{"signup without password", []string{"--signup"}, "--signup needs --user and --password-file"},
		{"no terminal", []string{"--user", "al", "--password-file", write("max", strings.Repeat("p", 256))}, "chat needs a terminal"},
	}
	bin := procBinary(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"chat"}, tt.args...)...)
			cmd.Env = append(os.Environ(), "SWITCHBOARD_SERVER=", "SWITCHBOARD_USER=", "SWITCHBOARD_PASSWORD_FILE=")
			out, err := cmd.CombinedOutput() // stdin is /dev/null: no terminal
			if err == nil {
				t.Fatalf("chat %v succeeded; want an error with %q\n%s", tt.args, tt.want, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("chat %v said:\n%s\nwant %q", tt.args, out, tt.want)
			}
		})
	}

	t.Run("help lists the flags and their env twins", func(t *testing.T) {
		out, err := exec.Command(bin, "chat", "-h").CombinedOutput()
		if err != nil {
			t.Fatalf("chat -h: %v\n%s", err, out)
		}
		for _, w := range []string{"-server", "SWITCHBOARD_SERVER", "-user", "SWITCHBOARD_USER",
			"-password-file", "SWITCHBOARD_PASSWORD_FILE", "-signup", "-device"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("chat -h lacks %q:\n%s", w, out)
			}
		}
	})
}

// TestChatTerminalBadLogin: wrong credentials keep the form up with the
// server's reason, and a second try works.
func TestChatTerminalBadLogin(t *testing.T) {
	node := startProcNode(t, "tui-login", "--data", t.TempDir())
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("not her password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := startChat(t, "carol", "--server", node.URL, "--user", "carol", "--password-file", pw)
	x.waitText("unauthorized", "Log in")
	x.typeText("password-carol")
	x.keys("C-t", "Enter")
	x.waitText("Switchboard · carol", "● connected")
	x.line("/dm nobody")
	x.waitText(`no user "nobody"`)
	x.line("/join nosuchgroup")
	x.waitText(`no group "nosuchgroup"`)
}

// TestChatSessionResync runs the terminal client's Session in-process (so
// the race detector sees it) behind a proxy: messages sent while it is cut
// off (more than one sync answers) arrive after the reconnect, each once
// and in seq order, with the live ones before and after; a logout from
// elsewhere stops it.
func TestChatSessionResync(t *testing.T) {
	s := startServer(t)
	alice := user(t, s, "alice")
	bob := user(t, s, "bob")
	proxy := testenv.StartProxy(t, strings.TrimPrefix(s.URL, "http://"))

	sess := tui.NewSession(client.New("http://"+proxy.Addr, client.WithSessionToken(alice.Token())), "terminal")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		sess.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	var seqs []int64
	// await reads the Session's reports until ok accepts one.
	await := func(what string, ok func(tea.Msg) bool) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case m := <-sess.Events():
				if f, isFrame := m.(tui.FrameMsg); isFrame && f.Frame.Type == wire.TypeMessage {
					seqs = append(seqs, f.Frame.Msg.Seq)
				}
				if ok(m) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s within 30s; seqs so far %v", what, seqs)
			}
		}
	}
	state := func(st tui.ConnState) func(tea.Msg) bool {
		return func(m tea.Msg) bool { c, ok := m.(tui.ConnStateMsg); return ok && c.State == st }
	}
	upTo := func(seq int64) func(tea.Msg) bool {
		return func(m tea.Msg) bool {
			f, ok := m.(tui.FrameMsg)
			return ok && f.Frame.Msg != nil && f.Frame.Msg.Seq == seq
		}
	}
	await("online", state(tui.Online))

	bc := dial(t, bob, "bob")
	send := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprint("m", i)}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
	}
	send(1, 5)
	await("live messages", upTo(5))

	proxy.Stop()
	await("offline", state(tui.Offline))
	// More than one sync sends (1000 per conversation): the Session syncs
	// again from its new cursor.
	send(6, 1105)
	proxy.Start()
	await("the missed messages", upTo(1105))
	await("online again", state(tui.Online))
	send(1106, 1110)
	await("live messages after the reconnect", upTo(1110))

	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("message %d has seq %d; want 1..1110 in order, once each", i, seq)
		}
	}
	if len(seqs) != 1110 {
		t.Fatalf("got %d messages, want 1110", len(seqs))
	}

	// A logout elsewhere ends the token: the Session reports it refused
	// and stops instead of retrying forever.
	if err := alice.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var refused tui.ConnStateMsg
	await("the session refused", func(m tea.Msg) bool {
		c, ok := m.(tui.ConnStateMsg)
		refused = c
		return ok && c.State == tui.Failed
	})
	if code := client.ErrorCode(refused.Err); code != "unauthorized" {
		t.Errorf("refused with %v; want code unauthorized", refused.Err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the session was refused")
	}
}
